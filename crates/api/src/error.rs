//! Every failure of a request: a status code and a plain-text message that names the problem.
//! Bodies are text because krkn logs them as they are.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use krkn_telemetry_model::{KeyError, Problems};

use crate::store::StoreError;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No or wrong credentials (401, with a Basic challenge).
    #[error("authentication required: {0}")]
    Unauthenticated(&'static str),
    /// The user may not do this (403).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A query parameter is missing or empty (400).
    #[error("missing query parameter `{0}`")]
    MissingParameter(&'static str),
    /// A name cannot be a storage key (400).
    #[error(transparent)]
    BadName(#[from] KeyError),
    /// The document is not valid; every problem is listed (400).
    #[error("invalid telemetry document: {0}")]
    InvalidDocument(Problems),
    /// The body is not JSON (415).
    #[error("content type {0:?} is not supported: send application/json")]
    UnsupportedMediaType(String),
    /// The run exists with other content (409).
    #[error("{0} already holds a different telemetry document; use a new request_id")]
    Conflict(String),
    /// The upload link is bad or expired (403).
    #[error("upload or download link refused: {0}")]
    BadLink(#[from] crate::signing::LinkError),
    /// The object exists and may not be replaced (412 through a link, like S3's If-None-Match).
    #[error("{0} already exists and cannot be replaced")]
    AlreadyExists(String),
    /// The request is well-formed but asks for something we refuse (400).
    #[error("{0}")]
    BadRequest(String),
    /// The body is larger than allowed (413).
    #[error("{0}")]
    TooLarge(String),
    /// Nothing under that name (404).
    #[error("not found: {0}")]
    NotFound(String),
    /// The store failed; nothing was half-written (503).
    #[error("storage unavailable: {0}")]
    Store(#[from] StoreError),
}

impl ApiError {
    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::BadLink(_) => StatusCode::FORBIDDEN,
            ApiError::AlreadyExists(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::MissingParameter(_) | ApiError::BadName(_) | ApiError::InvalidDocument(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let body = match &self {
            // One problem per line after the summary, so a human can read a long list.
            ApiError::InvalidDocument(problems) => {
                let mut text = format!(
                    "invalid telemetry document: {} problem(s)\n",
                    problems.len()
                );
                for problem in problems.iter() {
                    text.push_str(&problem.to_string());
                    text.push('\n');
                }
                text
            }
            other => format!("{other}\n"),
        };
        let mut response = (status, body).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"krkn-telemetry\", charset=\"UTF-8\""),
            );
        }
        response
    }
}

//! Every failure of a request: a status code and a plain-text message that names the problem.
//! Bodies are text because krkn logs them as they are.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use krkn_telemetry_model::{KeyError, Problems};

use crate::store::{StoreError, UploadError};

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
    /// Another request is doing the same thing right now (409: an upload of the same file).
    #[error("{0}")]
    Busy(String),
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
    /// The store failed; nothing was half-written (503). The body names the failed step but
    /// not the host's paths or the account's resource names, which only the log shows.
    #[error("storage unavailable: {0}")]
    Store(#[from] StoreError),
    /// Too many password checks at once, or too many wrong passwords (429 with
    /// `Retry-After`).
    #[error("{reason}")]
    TooManyRequests {
        /// Seconds to wait.
        retry_after: u64,
        /// Why.
        reason: String,
    },
    /// The service cannot take the request now: starting, or at its limit of requests in
    /// flight (503 with `Retry-After`).
    #[error("{reason}")]
    Unavailable {
        /// Seconds to wait.
        retry_after: u64,
        /// Why.
        reason: String,
    },
    /// The request took longer than allowed, or its body stalled (408).
    #[error("{0}")]
    Timeout(String),
    /// An admin action succeeded but its audit record could not be written (503): the text
    /// says the action stands, so that nobody repeats it blindly.
    #[error("{done}, but the audit log could not record it: {source}")]
    NotAudited {
        /// What was done (`run default/1745… deleted`).
        done: String,
        /// Why the record failed.
        source: StoreError,
    },
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
            ApiError::Conflict(_) | ApiError::Busy(_) => StatusCode::CONFLICT,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Store(_) | ApiError::NotAudited { .. } | ApiError::Unavailable { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
        }
    }

    /// A failed read of a request body: 413 past the limit, 408 when it stalled, 400 when
    /// the client broke it off.
    pub fn body(error: &(dyn std::error::Error + 'static), limit: usize) -> ApiError {
        let mut cause = Some(error);
        while let Some(current) = cause {
            if current.is::<http_body_util::LengthLimitError>() {
                return ApiError::TooLarge(format!("the body is over the limit of {limit} bytes"));
            }
            if current.is::<tower_http::timeout::TimeoutError>() {
                return ApiError::Timeout(
                    "the request body stopped arriving; send it without pauses".to_owned(),
                );
            }
            cause = current.source();
        }
        ApiError::BadRequest(format!("the request body broke off: {error}"))
    }
}

/// An upload through a link this server serves: the status of each way it can fail.
impl From<UploadError> for ApiError {
    fn from(error: UploadError) -> Self {
        match error {
            UploadError::TooLarge(_) => ApiError::TooLarge(error.to_string()),
            UploadError::NotAsSigned(text) => ApiError::BadRequest(text),
            UploadError::Exists(key) => ApiError::AlreadyExists(key),
            UploadError::Busy(_) => ApiError::Busy(error.to_string()),
            UploadError::Body(cause) => ApiError::body(&*cause, usize::MAX),
            UploadError::Store(store) => ApiError::Store(store),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let metrics = crate::metrics::metrics();
        match &self {
            ApiError::Unauthenticated(why) => metrics.auth_failure(if why.contains("wrong") {
                "wrong"
            } else if why.contains("malformed") {
                "malformed"
            } else {
                "missing"
            }),
            ApiError::TooManyRequests { .. } => metrics.refused("password_checks"),
            ApiError::Unavailable { .. } => metrics.refused("unavailable"),
            ApiError::Timeout(_) => metrics.refused("timeout"),
            ApiError::Store(_) | ApiError::NotAudited { .. } => metrics.store_error(),
            _ => {}
        }
        // A storage failure is the operator's to look at; a 503 while starting or at the
        // limit of requests in flight is the service working as meant.
        if matches!(self, ApiError::Store(_) | ApiError::NotAudited { .. }) {
            tracing::error!(error = %self, "request failed");
        } else if status.is_server_error() {
            tracing::debug!(error = %self, "request turned away");
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
            ApiError::Store(store) => format!("storage unavailable: {}\n", store.public_text()),
            ApiError::NotAudited { done, source } => format!(
                "{done} (that stands), but the audit log could not record it: {}\n",
                source.public_text()
            ),
            other => format!("{other}\n"),
        };
        let mut response = (status, body).into_response();
        if let ApiError::TooManyRequests { retry_after, .. }
        | ApiError::Unavailable { retry_after, .. } = &self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"krkn-telemetry\", charset=\"UTF-8\""),
            );
        }
        response
    }
}

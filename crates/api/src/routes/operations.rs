//! What operators and their tools ask the service: `/readyz` (can it reach its store right
//! now?) and `/metrics` for admins (the same text `serve --metrics-listen` serves without
//! credentials on an address of its own).

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::{AppState, Authenticated};
use crate::error::ApiError;

/// How long `/readyz` waits for the store before it calls it unready.
const STORE_PROBE_LIMIT: Duration = Duration::from_secs(5);

/// A user name no account can have (names are checked segments): looking it up touches the
/// user store and finds nothing.
const PROBE_USER: &str = "\u{0}readyz";

/// `GET /readyz`
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "service",
    responses(
        (status = 200, description = "Started, and the store answers: the index and the objects", body = String,
            content_type = "text/plain", example = "ready\n"),
        (status = 503, description = "Starting, or the store does not answer (the text names which part)",
            body = String, content_type = "text/plain")
    )
)]
pub async fn ready(State(state): State<AppState>) -> Response {
    if !state.readiness.is_ready() {
        return ApiError::Unavailable {
            retry_after: 1,
            reason: "starting".to_owned(),
        }
        .into_response();
    }
    let backend = &state.backend;
    let probe = async {
        backend.users.get_user(PROBE_USER).await?;
        backend.objects.list("", None, 1).await?;
        Ok::<_, crate::store::StoreError>(())
    };
    match tokio::time::timeout(STORE_PROBE_LIMIT, probe).await {
        Ok(Ok(())) => "ready\n".into_response(),
        Ok(Err(error)) => ApiError::Store(error).into_response(),
        Err(_) => ApiError::Unavailable {
            retry_after: 5,
            reason: format!(
                "the store did not answer within {} s",
                STORE_PROBE_LIMIT.as_secs()
            ),
        }
        .into_response(),
    }
}

/// `GET /metrics`
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "service",
    responses(
        (status = 200, description = "The service's metrics in the Prometheus text format (OpenMetrics)", body = String,
            content_type = "application/openmetrics-text"),
        (status = 401, description = "No or wrong credentials (WWW-Authenticate: Basic)", body = String, content_type = "text/plain"),
        (status = 403, description = "Admins only", body = String, content_type = "text/plain")
    ),
    security(("basic" = []))
)]
pub async fn metrics_for_admins(Authenticated(user): Authenticated) -> Result<Response, ApiError> {
    user.require_admin(None)?;
    Ok(metrics_text())
}

/// The metrics as a response (also what the separate metrics listener serves).
pub fn metrics_text() -> Response {
    let mut response = crate::metrics::metrics().encode().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
    );
    response
}

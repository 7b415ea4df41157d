//! What every request passes before a handler: readiness, the cap on requests in flight, the
//! request timeout, and plain-text 405s; and what every answer passes after: its metrics.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::{Semaphore, watch};

use super::AppState;
use crate::error::ApiError;

/// How long a request that arrives while the service starts waits for it to be ready.
const READY_WAIT: Duration = Duration::from_secs(5);

/// Whether the store and the first admin are ready. Until then requests wait (up to
/// `READY_WAIT`) and then get a 503 with `Retry-After`, never a 401 for a user that is
/// about to exist.
#[derive(Clone)]
pub struct Readiness(watch::Receiver<bool>);

/// Tells [`Readiness`] the service is ready.
pub struct ReadySignal(watch::Sender<bool>);

impl Readiness {
    /// Ready from the start (the Lambda, tests: everything was set up before the router).
    pub fn ready() -> Self {
        Readiness(watch::channel(true).1)
    }

    /// Not ready until the signal is given.
    pub fn starting() -> (Self, ReadySignal) {
        let (sender, receiver) = watch::channel(false);
        (Readiness(receiver), ReadySignal(sender))
    }

    /// True once ready.
    pub fn is_ready(&self) -> bool {
        *self.0.borrow()
    }

    async fn wait(&self, limit: Duration) -> bool {
        let mut receiver = self.0.clone();
        matches!(
            tokio::time::timeout(limit, receiver.wait_for(|ready| *ready)).await,
            Ok(Ok(_))
        )
    }
}

impl ReadySignal {
    /// The service is ready.
    pub fn ready(self) {
        let _ = self.0.send(true);
    }
}

/// Holds requests that arrive before the service is ready; `/healthz` answers at once.
pub(super) async fn until_ready(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if state.readiness.is_ready() || matches!(request.uri().path(), "/healthz" | "/readyz") {
        return next.run(request).await;
    }
    if state.readiness.wait(READY_WAIT).await {
        return next.run(request).await;
    }
    ApiError::Unavailable {
        retry_after: 1,
        reason: "the service is starting (setting up the store and the admin user); try again \
                 in a second"
            .to_owned(),
    }
    .into_response()
}

/// The route pattern that answered a request (`unmatched` for none), on the response: the
/// standalone server's access line names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteName(pub String);

/// Counts the answer in the metrics by method, route pattern and status, with its latency.
pub(super) async fn observe(request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched", |path| path.as_str())
        .to_owned();
    let mut response = next.run(request).await;
    crate::metrics::metrics().request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response.extensions_mut().insert(RouteName(route));
    response
}

/// The cap on requests served at once.
#[derive(Clone)]
pub(super) struct InFlight(pub(super) Arc<Semaphore>, pub(super) usize);

/// Serves a request if fewer than the cap are in flight, else a 503 with `Retry-After`.
pub(super) async fn limit_in_flight(
    State(limit): State<InFlight>,
    request: Request,
    next: Next,
) -> Response {
    match limit.0.try_acquire() {
        Ok(_permit) => next.run(request).await,
        Err(_) => ApiError::Unavailable {
            retry_after: 1,
            reason: format!(
                "the server is serving its limit of {} requests; try again in a second",
                limit.1
            ),
        }
        .into_response(),
    }
}

/// A request that takes longer than `limit` gets a 408 (uploads are not under this guard).
pub(super) async fn time_limit(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout(format!(
            "the request took longer than {} s and was stopped",
            limit.as_secs()
        ))
        .into_response(),
    }
}

/// Gives axum's empty 405s a text body naming the allowed methods (its `Allow` header).
pub(super) async fn explain_method_not_allowed(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let response = next.run(request).await;
    if response.status() != StatusCode::METHOD_NOT_ALLOWED {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let allowed = parts
        .headers
        .get(header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .replace(',', ", ");
    let text = if allowed.is_empty() {
        format!("method {method} is not allowed here\n")
    } else {
        format!("method {method} is not allowed here; use {allowed}\n")
    };
    parts.headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(text))
}

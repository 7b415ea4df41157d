//! The standalone server's request ids and access lines: every request gets an
//! `x-request-id` (the client's own when it sent a plain one, else a new UUID), echoed on the
//! response and carried by the request's span, so every log line of the request names it;
//! one `request` line per answer gives the status, the route pattern and the time taken.
//! Paths are logged without their query (a link's signature travels there).

use std::time::Duration;

use axum::http::{HeaderValue, Request, Response};
use tower_http::request_id::{MakeRequestUuid, RequestId};
use tracing::Span;

use crate::routes::guards::RouteName;

/// The header, as most proxies and tracing tools name it.
pub const REQUEST_ID: &str = "x-request-id";

/// The longest request id taken from a client.
const MAX_CLIENT_ID: usize = 128;

/// True for an id that is safe to log and echo as it is: short, and only letters, digits and
/// `-._:`.
fn plain_id(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    (1..=MAX_CLIENT_ID).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':'))
}

/// Drops a client's `x-request-id` that is not plain, so that a new one is made for it.
pub fn keep_only_plain_ids<B>(mut request: Request<B>) -> Request<B> {
    if request
        .headers()
        .get(REQUEST_ID)
        .is_some_and(|value| !plain_id(value))
    {
        request.headers_mut().remove(REQUEST_ID);
    }
    request
}

/// What makes ids for requests without one.
pub fn new_ids() -> MakeRequestUuid {
    MakeRequestUuid
}

/// The request's span: its id, method and path (no query).
pub fn span_of<B>(request: &Request<B>) -> Span {
    let id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        id,
        method = %request.method(),
        path = request.uri().path()
    )
}

/// The access line of an answer, inside the request's span.
pub fn access_line<B>(response: &Response<B>, latency: Duration, _span: &Span) {
    let route = response
        .extensions()
        .get::<RouteName>()
        .map_or("unmatched", |r| r.0.as_str());
    tracing::info!(
        status = response.status().as_u16(),
        route,
        ms = latency.as_secs_f64() * 1000.0,
        "request"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_ids_are_taken_from_clients() {
        for good in [
            "abc",
            "0f8fd0b2-6b7e-4c4f-9a55-4b1f3f0b6d7e",
            "Root=1:a.b_c",
        ] {
            let good = good.replace('=', "-");
            assert!(
                plain_id(&HeaderValue::from_str(&good).expect("value")),
                "{good}"
            );
        }
        let long = "a".repeat(MAX_CLIENT_ID + 1);
        for bad in ["", "a b", "a\tb", "x;rm", "<script>", long.as_str()] {
            assert!(
                !plain_id(&HeaderValue::from_str(bad).expect("value")),
                "{bad:?}"
            );
        }
    }
}

//! Response bodies and the small answers every handler builds (a JSON value, an API
//! `Status`, an empty upgrade body), shared by the router and the exec handler.

use std::convert::Infallible;

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, combinators::UnsyncBoxBody};
use hyper::header::CONTENT_TYPE;
use hyper::{Response, StatusCode};
use serde_json::Value;

use crate::resources;

/// Every response body: a stream of chunks, counted as they go out.
pub(crate) type Body = UnsyncBoxBody<Bytes, Infallible>;

/// A JSON response (not counted: used before the body stream exists, e.g. exec refusals).
pub(crate) fn json_response(status: StatusCode, value: &Value) -> Response<Body> {
    let bytes = Bytes::from(serde_json::to_vec(value).unwrap_or_default());
    let body = http_body_util::Full::new(bytes).boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// An empty body (a 101 Switching Protocols answer).
pub(crate) fn empty_body() -> Body {
    http_body_util::Empty::new().boxed_unsync()
}

/// A body not yet counted: the chunks a handler produces.
pub(crate) type BodyStream = futures_util::stream::BoxStream<'static, Bytes>;

/// One JSON value as a body.
pub(crate) fn once(value: &Value) -> BodyStream {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    futures_util::stream::once(async move { Bytes::from(bytes) }).boxed()
}

/// `200 OK` with a JSON value.
pub(crate) fn ok(value: &Value) -> (StatusCode, BodyStream) {
    (StatusCode::OK, once(value))
}

/// An error status with the API server's `Status` object as its body.
pub(crate) fn error(status: StatusCode, reason: &str, message: &str) -> (StatusCode, BodyStream) {
    (
        status,
        once(&resources::status(status.as_u16(), reason, message)),
    )
}

//! Running the router as an AWS Lambda behind API Gateway (REST v1 or HTTP API v2).
//!
//! lambda_http turns the event into an HTTP request whose path starts with `/<stage>` for
//! every stage but `$default`. The router knows nothing of stages, so [`handle`] strips the
//! prefix first; links and redirects are relative or built from the `Host` header plus
//! `KRKN_TELEMETRY_PUBLIC_URL`, so the stage survives in what clients see.

use axum::Router;
use axum::body::Body;
use axum::http::Uri;
use axum::response::Response;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use tower::ServiceExt;

/// The stage of the request, when API Gateway put one in front of the path.
fn stage(request: &Request) -> Option<String> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV1(context) => context.stage.clone(),
        RequestContext::ApiGatewayV2(context) => context.stage.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
    .filter(|stage| !stage.is_empty() && stage != "$default")
}

/// Removes a leading `/<stage>` from the request path, keeping the query.
pub fn strip_stage(mut request: Request) -> Request {
    let Some(stage) = stage(&request) else {
        return request;
    };
    let path = request.uri().path();
    let prefix = format!("/{stage}");
    let rest = match path.strip_prefix(&prefix) {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => return request,
    };
    let path_and_query = match request.uri().query() {
        Some(query) => format!("{rest}?{query}"),
        None => rest.to_owned(),
    };
    if let Ok(uri) = path_and_query.parse::<Uri>() {
        *request.uri_mut() = uri;
    }
    request
}

/// The settings the Lambda changes from the standalone server's: API Gateway routes by host
/// and sets `Host` itself, so links may be built from it.
pub fn behind_api_gateway(mut config: crate::ApiConfig) -> crate::ApiConfig {
    config.trust_host_header = true;
    config
}

/// The client's address as API Gateway saw it (`identity.sourceIp` on REST, `http.sourceIp`
/// on the HTTP API).
fn source_ip(request: &Request) -> Option<std::net::IpAddr> {
    let text = match request.request_context_ref()? {
        RequestContext::ApiGatewayV1(context) => context.identity.source_ip.clone(),
        RequestContext::ApiGatewayV2(context) => context.http.source_ip.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    }?;
    text.parse().ok()
}

/// Serves one Lambda request with the router.
pub async fn handle(
    router: Router,
    request: Request,
) -> Result<Response, std::convert::Infallible> {
    let client = source_ip(&request);
    let mut request = strip_stage(request).map(|body| Body::from(body.to_vec()));
    if let Some(ip) = client {
        request
            .extensions_mut()
            .insert(crate::server::ClientAddr(ip));
    }
    router.oneshot(request).await
}

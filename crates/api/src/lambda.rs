//! Running the router as an AWS Lambda behind API Gateway (REST v1 or HTTP API v2).
//!
//! The router knows nothing of stages or base paths. [`route_request`] finds the route in the
//! path API Gateway received and the [`MountPrefix`] in front of it, from the request context
//! rather than from the path's look:
//!
//! | where the client called | REST `path` / HTTP `rawPath` | prefix |
//! |---|---|---|
//! | the `execute-api` host, stage `production` | `/runs` / `/production/runs` | `/production` |
//! | the `execute-api` host, stage `$default` (HTTP API) | — / `/runs` | none |
//! | a custom domain mapped to the stage | `/runs` / `/runs` | none |
//! | a custom domain with base path `t`, `KRKN_TELEMETRY_PUBLIC_URL=https://…/t` | `/t/runs` / `/t/runs` | `/t` |
//!
//! lambda_http's own stage handling guesses from the path (it keeps a path that already
//! starts with `/<stage>/`), which turns `/api/v1/runs` into `/v1/runs` under a stage named
//! `api`; [`route_request`] undoes exactly what lambda_http added and decides itself.

use axum::Router;
use axum::body::Body;
use axum::http::Uri;
use axum::response::Response;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use tower::ServiceExt;

use crate::server::{ClientAddr, MountPrefix};

/// What the request context says about where the client called.
struct Gateway {
    /// The stage, unless it is `$default` (which never appears in a path).
    stage: Option<String>,
    /// True for a REST API (v1) event, whose `path` never holds the stage.
    rest: bool,
    /// True when the client called the API's own `execute-api` host, where the stage is the
    /// path's first segment; false on a custom domain, where it never is.
    default_host: bool,
    /// The client's address as API Gateway saw it (`identity.sourceIp` on REST,
    /// `http.sourceIp` on the HTTP API), for the password checks' per-address slowdown.
    client: Option<std::net::IpAddr>,
    /// API Gateway's id of the request, which its access log names too.
    request_id: Option<String>,
}

impl Gateway {
    fn of(request: &Request) -> Option<Gateway> {
        let (stage, domain, rest, client, request_id) = match request.request_context_ref()? {
            RequestContext::ApiGatewayV1(context) => (
                context.stage.clone(),
                context.domain_name.clone(),
                true,
                context.identity.source_ip.clone(),
                context.request_id.clone(),
            ),
            RequestContext::ApiGatewayV2(context) => (
                context.stage.clone(),
                context.domain_name.clone(),
                false,
                context.http.source_ip.clone(),
                context.request_id.clone(),
            ),
            #[allow(unreachable_patterns)]
            _ => return None,
        };
        Some(Gateway {
            stage: stage.filter(|stage| !stage.is_empty() && stage != "$default"),
            rest,
            // A console test invocation has no domain; it addresses the stage like the
            // default host does.
            default_host: domain.is_none_or(|domain| domain.contains(".execute-api.")),
            client: client.and_then(|ip| ip.parse().ok()),
            request_id,
        })
    }
}

/// `path` without the leading `prefix` segment(s): `/` for the prefix itself, `None` when
/// the path does not start with it at a segment boundary.
fn strip_segments<'p>(path: &'p str, prefix: &str) -> Option<&'p str> {
    match path.strip_prefix(prefix)? {
        "" => Some("/"),
        rest if rest.starts_with('/') => Some(rest),
        _ => None,
    }
}

/// The path as API Gateway sent it (percent-encoded as lambda_http encodes it): lambda_http
/// puts `/<stage>` in front unless the path already starts with `/<stage>/` or
/// `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH` is set; this takes off what it added.
fn sent_path<'p>(request_path: &'p str, raw: &str, stage: Option<&str>) -> &'p str {
    let Some(stage) = stage else {
        return request_path;
    };
    let added = std::env::var_os("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH").is_none()
        && !raw.starts_with(&format!("/{stage}/"));
    if !added {
        return request_path;
    }
    strip_segments(request_path, &format!("/{stage}")).unwrap_or(request_path)
}

/// The route the router must see and the prefix the client's URLs carry (table above).
/// `public_path` is the path of `KRKN_TELEMETRY_PUBLIC_URL` (a custom domain's base path),
/// empty when none.
fn route_and_prefix<'p>(
    gateway: &Gateway,
    sent: &'p str,
    public_path: &'p str,
) -> (&'p str, String) {
    if !public_path.is_empty()
        && let Some(route) = strip_segments(sent, public_path)
    {
        return (route, public_path.to_owned());
    }
    match &gateway.stage {
        Some(stage) if gateway.default_host => {
            let prefix = format!("/{stage}");
            if gateway.rest {
                (sent, prefix)
            } else {
                match strip_segments(sent, &prefix) {
                    Some(route) => (route, prefix),
                    None => (sent, String::new()),
                }
            }
        }
        _ => (sent, String::new()),
    }
}

/// Rewrites the request's path to the route and returns the prefix in front of it.
pub fn route_request(request: Request, public_path: &str) -> (Request, MountPrefix) {
    match Gateway::of(&request) {
        Some(gateway) => route_with(&gateway, request, public_path),
        None => (request, MountPrefix::default()),
    }
}

/// [`route_request`] with the request context already read.
fn route_with(
    gateway: &Gateway,
    mut request: Request,
    public_path: &str,
) -> (Request, MountPrefix) {
    let raw = request.raw_http_path().to_owned();
    let path = request.uri().path().to_owned();
    let sent = sent_path(&path, &raw, gateway.stage.as_deref());
    let (route, prefix) = route_and_prefix(gateway, sent, public_path);
    let path_and_query = match request.uri().query() {
        Some(query) => format!("{route}?{query}"),
        None => route.to_owned(),
    };
    if route != path
        && let Ok(uri) = path_and_query.parse::<Uri>()
    {
        *request.uri_mut() = uri;
    }
    (request, MountPrefix(prefix))
}

/// The settings the Lambda changes from the standalone server's: API Gateway routes by host
/// and sets `Host` itself, so links may be built from it.
pub fn behind_api_gateway(mut config: crate::ApiConfig) -> crate::ApiConfig {
    config.trust_host_header = true;
    config
}

/// Serves one Lambda request with the router; `public_path` as for [`route_request`].
pub async fn handle(
    router: Router,
    public_path: &str,
    request: Request,
) -> Result<Response, std::convert::Infallible> {
    let gateway = Gateway::of(&request);
    let (request, prefix) = match &gateway {
        Some(gateway) => route_with(gateway, request, public_path),
        None => (request, MountPrefix::default()),
    };
    let mut request = request.map(|body| Body::from(body.to_vec()));
    if let Some(ip) = gateway.as_ref().and_then(|g| g.client) {
        request.extensions_mut().insert(ClientAddr(ip));
    }
    request.extensions_mut().insert(prefix);
    let method = request.method().clone();
    // The route only: a query may hold a link's signature.
    let route = request.uri().path().to_owned();
    let started = std::time::Instant::now();
    let response = router.oneshot(request).await?;
    // One access line per request; the runtime's span adds the Lambda request id, and the
    // gateway's id ties the line to API Gateway's access log.
    tracing::info!(
        %method,
        route,
        gateway_request_id = gateway
            .as_ref()
            .and_then(|g| g.request_id.as_deref())
            .unwrap_or(""),
        status = response.status().as_u16(),
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A REST (v1) or HTTP API (v2) event for `path` on `domain` in `stage`.
    fn event(rest: bool, stage: &str, domain: &str, path: &str) -> Request {
        let text = if rest {
            serde_json::json!({
                "resource": "/{proxy+}", "path": path, "httpMethod": "GET",
                "headers": {"Host": domain}, "multiValueHeaders": {"Host": [domain]},
                "queryStringParameters": {"limit": "1"},
                "multiValueQueryStringParameters": {"limit": ["1"]},
                "requestContext": {"stage": stage, "domainName": domain, "httpMethod": "GET",
                    "path": path, "requestId": "r", "accountId": "1", "resourceId": "x",
                    "identity": {"sourceIp": "203.0.113.24"}},
                "body": null, "isBase64Encoded": false
            })
        } else {
            serde_json::json!({
                "version": "2.0", "routeKey": "$default", "rawPath": path,
                "rawQueryString": "limit=1", "headers": {"host": domain},
                "requestContext": {"stage": stage, "domainName": domain, "routeKey": "$default",
                    "requestId": "r", "accountId": "1", "apiId": "a", "time": "x", "timeEpoch": 0,
                    "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1",
                        "sourceIp": "203.0.113.24", "userAgent": "t"}},
                "isBase64Encoded": false
            })
        };
        lambda_http::request::from_str(&text.to_string()).expect("an API Gateway event")
    }

    const HOST: &str = "k7x2mq9ptd.execute-api.us-east-1.amazonaws.com";
    const CUSTOM: &str = "telemetry.example.com";

    fn routed(request: Request, public_path: &str) -> (String, String) {
        let (request, prefix) = route_request(request, public_path);
        let path_and_query = request.uri().path_and_query().map(|p| p.to_string());
        (path_and_query.unwrap_or_default(), prefix.0)
    }

    #[test]
    fn a_stage_named_like_a_route_segment_is_still_only_the_stage() {
        for stage in ["api", "v1", "files", "production"] {
            let prefixed = format!("/{stage}/api/v1/runs");
            let want = ("/api/v1/runs?limit=1".to_owned(), format!("/{stage}"));
            assert_eq!(
                routed(event(true, stage, HOST, "/api/v1/runs"), ""),
                want,
                "{stage}"
            );
            assert_eq!(
                routed(event(false, stage, HOST, &prefixed), ""),
                want,
                "{stage}"
            );
            let custom = ("/api/v1/runs?limit=1".to_owned(), String::new());
            assert_eq!(
                routed(event(true, stage, CUSTOM, "/api/v1/runs"), ""),
                custom
            );
            assert_eq!(
                routed(event(false, stage, CUSTOM, "/api/v1/runs"), ""),
                custom
            );
        }
    }

    #[test]
    fn the_default_stage_and_the_root_have_no_prefix_trouble() {
        assert_eq!(
            routed(event(false, "$default", HOST, "/healthz"), ""),
            ("/healthz?limit=1".to_owned(), String::new())
        );
        assert_eq!(
            routed(event(false, "production", HOST, "/production"), ""),
            ("/?limit=1".to_owned(), "/production".to_owned())
        );
        assert_eq!(
            routed(event(true, "production", HOST, "/"), ""),
            ("/?limit=1".to_owned(), "/production".to_owned())
        );
    }

    #[test]
    fn a_custom_domain_base_path_comes_from_the_public_url() {
        let config = crate::ApiConfig {
            public_url: Some("https://telemetry.example.com/krkn".to_owned()),
            ..Default::default()
        };
        assert_eq!(config.public_path(), "/krkn");
        for rest in [true, false] {
            assert_eq!(
                routed(event(rest, "api", CUSTOM, "/krkn/api/v1/runs"), "/krkn"),
                ("/api/v1/runs?limit=1".to_owned(), "/krkn".to_owned())
            );
        }
        // A configured public URL on the execute-api host keeps the stage rule.
        assert_eq!(
            routed(event(true, "production", HOST, "/navigate"), "/krkn"),
            ("/navigate?limit=1".to_owned(), "/production".to_owned())
        );
    }

    #[test]
    fn public_path_reads_the_path_of_the_url() {
        let path = |url: &str| {
            crate::ApiConfig {
                public_url: Some(url.to_owned()),
                ..Default::default()
            }
            .public_path()
            .to_owned()
        };
        assert_eq!(path("https://t.example.com"), "");
        assert_eq!(path("https://t.example.com/"), "");
        assert_eq!(path("https://t.example.com/a/b/"), "/a/b");
        assert_eq!(crate::ApiConfig::default().public_path(), "");
    }
}

//! Routing, answering and recording: the part of an API server's behaviour the client can
//! see (paging in [`crate::paging`], exec in [`crate::exec`]).

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;

use crate::paging::{decode_continue, list_body, parse_query};
use crate::resources::{self, ResourceType};
use crate::response::{Body, BodyStream, error, ok};
use crate::{Access, Fault, RecordedRequest, Shared, TOKEN};

/// Accepts connections until the listener fails; each connection is served on its own task.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        let shared = Arc::clone(&shared);
        let tls = tls.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, Infallible>(handle(shared, request).await) }
            });
            let builder = hyper::server::conn::http1::Builder::new();
            match tls {
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(tcp).await {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .with_upgrades()
                            .await;
                    }
                }
                None => {
                    let _ = builder
                        .serve_connection(TokioIo::new(tcp), service)
                        .with_upgrades()
                        .await;
                }
            }
        });
    }
}

/// What a path asks for.
enum Route {
    Version,
    CoreVersions,
    GroupList,
    Group(String),
    ResourceList(String, String),
    Resource(ResourceRequest),
    NotFound,
}

/// A request for objects of one resource type.
struct ResourceRequest {
    resource: Option<&'static ResourceType>,
    group: String,
    plural: String,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

fn route(path: &str) -> Route {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["version"] => Route::Version,
        ["api"] => Route::CoreVersions,
        ["apis"] => Route::GroupList,
        ["apis", group] => Route::Group((*group).to_owned()),
        ["api", "v1"] => Route::ResourceList(String::new(), "v1".into()),
        ["apis", group, version] => Route::ResourceList((*group).into(), (*version).into()),
        ["api", "v1", rest @ ..] => resource_route("", "v1", rest),
        ["apis", group, version, rest @ ..] => resource_route(group, version, rest),
        _ => Route::NotFound,
    }
}

fn resource_route(group: &str, version: &str, rest: &[&str]) -> Route {
    let (namespace, rest) = match rest {
        ["namespaces", ns, more @ ..] if !more.is_empty() => (Some((*ns).to_owned()), more),
        _ => (None, rest),
    };
    let (plural, name, subresource) = match rest {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some(*name), None),
        [plural, name, sub] => (*plural, Some(*name), Some(*sub)),
        _ => return Route::NotFound,
    };
    Route::Resource(ResourceRequest {
        resource: resources::by_path(group, version, plural),
        group: group.to_owned(),
        plural: plural.to_owned(),
        namespace,
        name: name.map(str::to_owned),
        subresource: subresource.map(str::to_owned),
    })
}

fn access_of(method: &Method, route: &Route) -> Access {
    match route {
        Route::Resource(request) => Access::Resource {
            verb: match (method, &request.name) {
                // The API server authorizes a websocket exec (a GET) as `create` on pods/exec
                // since Kubernetes 1.30; before, as `get`.
                (&Method::GET, Some(_)) if request.subresource.as_deref() == Some("exec") => {
                    "create".into()
                }
                (&Method::GET, Some(_)) => "get".into(),
                (&Method::GET, None) => "list".into(),
                (&Method::POST, _) => "create".into(),
                (other, _) => other.as_str().to_ascii_lowercase(),
            },
            group: request.group.clone(),
            resource: request.plural.clone(),
            subresource: request.subresource.clone(),
            namespace: request.namespace.clone(),
            name: request.name.clone(),
        },
        _ => Access::NonResource {
            verb: method.as_str().to_ascii_lowercase(),
        },
    }
}

async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Response<Body> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let accept = request
        .headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let authorized = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {TOKEN}"));
    let route = route(&path);
    let access = access_of(&method, &route);

    if let Route::Resource(ResourceRequest {
        plural,
        namespace: Some(namespace),
        name: Some(pod),
        subresource: Some(sub),
        ..
    }) = &route
        && plural == "pods"
        && sub == "exec"
        && authorized
    {
        let (status, response) = crate::exec::exec(
            Arc::clone(&shared),
            request,
            &namespace.clone(),
            &pod.clone(),
            &query,
        );
        record(
            &shared,
            method.as_str(),
            path,
            query,
            accept,
            access,
            status,
        );
        return response;
    }

    let fault = shared
        .faults
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .find(|rule| path.starts_with(&rule.path_prefix))
        .map(|rule| rule.fault.clone());
    let (status, body) = match fault {
        _ if !authorized => error(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized"),
        Some(Fault::Hang) => std::future::pending().await,
        Some(Fault::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            error(status, status_reason(status), "injected fault")
        }
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            answer(&shared, &method, route, &query, accept.as_deref())
        }
        None => answer(&shared, &method, route, &query, accept.as_deref()),
    };

    let counter = record(
        &shared,
        method.as_str(),
        path,
        query,
        accept,
        access,
        status,
    );
    let shared_for_count = Arc::clone(&shared);
    let counted = body.map(move |chunk: Bytes| {
        let len = chunk.len() as u64;
        counter.fetch_add(len, Ordering::Relaxed);
        shared_for_count
            .bytes_sent
            .fetch_add(len, Ordering::Relaxed);
        Ok::<_, Infallible>(Frame::data(chunk))
    });
    let mut response = Response::new(StreamBody::new(counted).boxed_unsync());
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// Records one request; returns the counter its response bytes are added to.
fn record(
    shared: &Arc<Shared>,
    method: &str,
    path: String,
    query: String,
    accept: Option<String>,
    access: Access,
    status: StatusCode,
) -> Arc<AtomicU64> {
    let counter = Arc::new(AtomicU64::new(0));
    shared
        .requests
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push((
            RecordedRequest {
                method: method.to_owned(),
                path,
                query,
                accept,
                access,
                status: status.as_u16(),
                bytes: 0,
            },
            Arc::clone(&counter),
        ));
    counter
}

fn answer(
    shared: &Arc<Shared>,
    method: &Method,
    route: Route,
    query: &str,
    accept: Option<&str>,
) -> (StatusCode, BodyStream) {
    if method != Method::GET {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "the fake API server is read-only",
        );
    }
    let cluster = &shared.cluster;
    match route {
        Route::Version => ok(&cluster.version_info()),
        Route::CoreVersions => ok(&resources::core_versions()),
        Route::GroupList => ok(&resources::group_list(&cluster.served_groups())),
        Route::Group(group) if cluster.serves(&group) => {
            let list = resources::group_list(&[group.as_str()]);
            ok(&list["groups"][0])
        }
        Route::ResourceList(group, version) if cluster.serves(&group) => {
            ok(&resources::resource_list(&group, &version, &[]))
        }
        Route::Resource(request) => resource(shared, request, query, accept),
        Route::Group(_) | Route::ResourceList(..) | Route::NotFound => not_found_page(),
    }
}

/// What a real API server answers for a path it does not serve at all.
fn not_found_page() -> (StatusCode, BodyStream) {
    error(
        StatusCode::NOT_FOUND,
        "NotFound",
        "the server could not find the requested resource",
    )
}

fn resource(
    shared: &Arc<Shared>,
    request: ResourceRequest,
    query: &str,
    accept: Option<&str>,
) -> (StatusCode, BodyStream) {
    let cluster = &shared.cluster;
    let Some(resource) = request.resource.filter(|r| cluster.serves(r.group)) else {
        return not_found_page();
    };
    if request.namespace.is_some() && !resource.namespaced {
        return not_found_page();
    }
    let metadata_only = match accept.map(partial_metadata) {
        Some(Ok(wanted)) => wanted,
        Some(Err(other)) => {
            return error(
                StatusCode::NOT_ACCEPTABLE,
                "NotAcceptable",
                &format!("the fake API server cannot answer as {other}"),
            );
        }
        None => false,
    };
    if request.subresource.as_deref() == Some("log") && resource.plural == "pods" {
        return pod_log(shared, &request, query);
    }
    if let Some(sub) = &request.subresource {
        return error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!(
                "the fake API server has no {}/{sub} subresource",
                resource.plural
            ),
        );
    }
    if let Some(name) = &request.name {
        return match cluster.get(*resource, request.namespace.as_deref(), name) {
            Some(object) if metadata_only => ok(&json!({
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": object["metadata"],
            })),
            Some(object) => ok(&object),
            None => error(
                StatusCode::NOT_FOUND,
                "NotFound",
                &format!(
                    "{}{} \"{name}\" not found",
                    resource.plural,
                    if resource.group.is_empty() {
                        String::new()
                    } else {
                        format!(".{}", resource.group)
                    }
                ),
            ),
        };
    }
    let query = match parse_query(query) {
        Ok(query) => query,
        Err(message) => return error(StatusCode::BAD_REQUEST, "BadRequest", &message),
    };
    if !query.unsupported.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!(
                "the fake API server does not support {}",
                query.unsupported.join(", ")
            ),
        );
    }
    let view = cluster.list(*resource, request.namespace.as_deref());
    let start = match query.continue_token.as_deref().map(decode_continue) {
        Some(Some(offset)) if offset <= view.len() => offset,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "continue key is not valid: the token was not issued by this server",
            );
        }
        None => 0,
    };
    let end = query.limit.map_or(view.len(), |limit| {
        view.len().min(start.saturating_add(limit))
    });
    (
        StatusCode::OK,
        list_body(Arc::clone(shared), view, start, end, metadata_only),
    )
}

/// `GET …/pods/<pod>/log`: the container's log file, as the kubelet would serve it.
fn pod_log(
    shared: &Arc<Shared>,
    request: &ResourceRequest,
    query: &str,
) -> (StatusCode, BodyStream) {
    let query = match crate::logs::parse(query) {
        Ok(query) => query,
        Err(message) => return error(StatusCode::BAD_REQUEST, "BadRequest", &message),
    };
    let (namespace, pod) = (
        request.namespace.as_deref().unwrap_or_default(),
        request.name.as_deref().unwrap_or_default(),
    );
    let logs: Vec<_> = shared
        .pod_logs
        .iter()
        .filter(|l| l.namespace == namespace && l.pod == pod)
        .collect();
    let chosen = match (&query.container, logs.as_slice()) {
        (Some(container), _) => logs.iter().find(|l| &l.container == container).copied(),
        (None, [only]) => Some(*only),
        (None, []) => None,
        (None, _) => {
            return error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &format!("a container name must be specified for pod {pod}"),
            );
        }
    };
    let Some(log) = chosen else {
        return error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("pods \"{pod}\" not found (or no log for that container)"),
        );
    };
    match crate::logs::render(&log.file, &query) {
        Ok(bytes) => (
            StatusCode::OK,
            futures_util::stream::once(async move { bytes }).boxed(),
        ),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            &e.to_string(),
        ),
    }
}

/// `Ok(true)` for a metadata-only request, `Ok(false)` for plain JSON, `Err(kind)` for a
/// representation the fake cannot produce (e.g. `Table`).
fn partial_metadata(accept: &str) -> Result<bool, String> {
    for choice in accept.split(',') {
        let mut params = choice.split(';').map(str::trim);
        let media = params.next().unwrap_or_default();
        if media != "application/json" && media != "*/*" {
            continue;
        }
        match params.find_map(|p| p.strip_prefix("as=")) {
            None => return Ok(false),
            Some("PartialObjectMetadataList" | "PartialObjectMetadata") => return Ok(true),
            Some(_) => continue,
        }
    }
    if accept.split(',').any(|c| c.contains("as=")) {
        let asked = accept
            .split(';')
            .find_map(|p| p.trim().strip_prefix("as="))
            .unwrap_or("an unknown type");
        Err(asked.to_owned())
    } else {
        Ok(false)
    }
}

/// The `reason` the API server gives with `status` (clients such as kube-rs read it, e.g.
/// `Status::is_forbidden`).
fn status_reason(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        409 => "Conflict",
        410 => "Expired",
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "InternalError",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_pick_the_representation() {
        let kube = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
        assert_eq!(partial_metadata(kube), Ok(true));
        assert_eq!(partial_metadata("application/json"), Ok(false));
        assert_eq!(
            partial_metadata("application/json;as=Table;g=meta.k8s.io;v=v1"),
            Err("Table".to_owned())
        );
        assert_eq!(
            partial_metadata("application/json;as=Table;v=v1,application/json"),
            Ok(false)
        );
    }

    #[test]
    fn paths_route_like_the_api_server() {
        assert!(matches!(route("/version"), Route::Version));
        assert!(
            matches!(route("/apis/config.openshift.io/v1"), Route::ResourceList(g, _) if g == "config.openshift.io")
        );
        let Route::Resource(r) = route("/api/v1/namespaces/shop/pods/cart-1/log") else {
            panic!("a resource route");
        };
        assert_eq!(
            (
                r.plural.as_str(),
                r.namespace.as_deref(),
                r.name.as_deref(),
                r.subresource.as_deref()
            ),
            ("pods", Some("shop"), Some("cart-1"), Some("log"))
        );
        let Route::Resource(r) = route("/api/v1/namespaces/shop") else {
            panic!("a resource route");
        };
        assert_eq!(
            (r.plural.as_str(), r.name.as_deref()),
            ("namespaces", Some("shop"))
        );
    }
}

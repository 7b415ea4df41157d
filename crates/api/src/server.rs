//! The standalone server: the router under hyper, with the limits an open network needs.
//!
//! `axum::serve` has no timeouts and no connection cap: 200 connections that never finished
//! their headers were all still open after 65 s, and 100 that sent a body and stalled held
//! 1 GB. Here every connection is bounded in time and in number:
//!
//! | limit | setting | default |
//! |---|---|---|
//! | connections open at once (more wait in the kernel's backlog) | `KRKN_TELEMETRY_MAX_CONNECTIONS` | 1024 |
//! | time to send a request's headers, and idle time between requests (keep-alive) | `KRKN_TELEMETRY_HEADER_TIMEOUT_SECS` | 10 |
//! | time a request body may go without sending anything | `KRKN_TELEMETRY_BODY_IDLE_TIMEOUT_SECS` | 30 |
//! | time to serve a request, uploads excepted | `KRKN_TELEMETRY_REQUEST_TIMEOUT_SECS` ([`ApiConfig`](crate::ApiConfig)) | 60 |
//! | requests served at once, more get a 503 | `KRKN_TELEMETRY_MAX_IN_FLIGHT` ([`ApiConfig`](crate::ApiConfig)) | 256 |
//! | time in-flight requests get to finish after SIGTERM or Ctrl-C (new requests get a 503 meanwhile) | `KRKN_TELEMETRY_SHUTDOWN_GRACE_SECS` | 30 |
//!
//! The last two live in the router, so the Lambda has them too; the rest only exist here.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::HeaderName;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::{ServiceBuilder, ServiceExt};
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::access_log;

use crate::config::env_number;

/// The client's address, put on every request by the server (and by the Lambda handler from
/// API Gateway's request context), for the password checks' per-address slowdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub std::net::IpAddr);

/// The path in front of every route in the URLs clients use (`/production` for a REST API
/// stage on its `execute-api` host, a custom domain's base path, or empty), put on a request
/// by the Lambda handler. Without it (the standalone server) the path of
/// `KRKN_TELEMETRY_PUBLIC_URL` is the prefix. URLs in responses start with it, so they work
/// where the client is, not only where the router is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountPrefix(pub String);

/// Connection limits of the standalone server (see the table above).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// Connections served at once; the next one is accepted when one closes.
    pub max_connections: usize,
    /// Time for a request's headers to arrive, counted from the end of the previous response
    /// on a kept-alive connection, so it also closes idle connections.
    pub header_timeout: Duration,
    /// Longest pause inside a request body.
    pub body_idle_timeout: Duration,
    /// Time in-flight requests get to finish once a shutdown starts.
    pub shutdown_grace: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
            body_idle_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

impl ServerLimits {
    /// The defaults, overridden by the environment variables of the table above.
    pub fn from_env() -> anyhow::Result<Self> {
        let mut limits = ServerLimits::default();
        if let Some(n) = env_number("KRKN_TELEMETRY_MAX_CONNECTIONS", 1..=1_000_000)? {
            limits.max_connections = n as usize;
        }
        if let Some(secs) = env_number("KRKN_TELEMETRY_HEADER_TIMEOUT_SECS", 1..=3600)? {
            limits.header_timeout = Duration::from_secs(secs);
        }
        if let Some(secs) = env_number("KRKN_TELEMETRY_BODY_IDLE_TIMEOUT_SECS", 1..=3600)? {
            limits.body_idle_timeout = Duration::from_secs(secs);
        }
        if let Some(secs) = env_number("KRKN_TELEMETRY_SHUTDOWN_GRACE_SECS", 0..=3600)? {
            limits.shutdown_grace = Duration::from_secs(secs);
        }
        Ok(limits)
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting and gives
/// the connections that are serving a request [`ServerLimits::shutdown_grace`] to finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
) {
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&connections).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, or a connection reset before it was taken:
                    // wait a moment rather than spin, then go on.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = connection_service(router.clone(), peer, limits.body_idle_timeout);
        let connection = graceful
            .watch(http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)));
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        });
    }
    tracing::info!(
        open = graceful.count(),
        "shutting down: waiting for requests in flight; new requests get a 503"
    );
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("every connection closed"),
        () = tokio::time::sleep(limits.shutdown_grace) => {
            tracing::warn!(grace = ?limits.shutdown_grace, "connections still open after the grace period; stopping anyway")
        }
        () = refuse_while_draining(&listener) => {}
    }
}

/// Answers every new connection's requests with a 503 (`Retry-After`, `Connection: close`)
/// while the requests in flight finish: a client learns the server is going rather than
/// finding the port closed, and a load balancer sends it elsewhere.
async fn refuse_while_draining(listener: &TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        tokio::spawn(async move {
            let refuse = hyper::service::service_fn(|_request| async {
                use axum::response::IntoResponse;
                Ok::<_, std::convert::Infallible>(
                    crate::ApiError::Unavailable {
                        retry_after: 1,
                        reason: "the server is shutting down; try again in a second".to_owned(),
                    }
                    .into_response(),
                )
            });
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(2))
                .keep_alive(false);
            let _ = http.serve_connection(TokioIo::new(stream), refuse).await;
        });
    }
}

/// The router as one connection sees it: the peer's address on every request, and a body
/// that fails once it pauses longer than `body_idle`.
fn connection_service(
    router: Router,
    peer: SocketAddr,
    body_idle: Duration,
) -> impl tower::Service<
    Request<hyper::body::Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Clone
+ Send
+ 'static {
    ServiceBuilder::new()
        .map_request(move |mut request: Request<_>| {
            request.extensions_mut().insert(ClientAddr(peer.ip()));
            access_log::keep_only_plain_ids(request)
        })
        // The trace layer wraps the body to watch it; hyper gets axum's body back.
        .map_response(|response: axum::http::Response<_>| response.map(axum::body::Body::new))
        .layer(SetRequestIdLayer::new(
            HeaderName::from_static(access_log::REQUEST_ID),
            access_log::new_ids(),
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(access_log::span_of)
                .on_request(())
                .on_response(access_log::access_line)
                .on_body_chunk(())
                .on_eos(())
                .on_failure(()),
        )
        .layer(PropagateRequestIdLayer::new(HeaderName::from_static(
            access_log::REQUEST_ID,
        )))
        .layer(RequestBodyTimeoutLayer::new(body_idle))
        .service(router.into_service().map_request(
            |request: Request<tower_http::timeout::TimeoutBody<hyper::body::Incoming>>| {
                request.map(axum::body::Body::new)
            },
        ))
}

/// The router of the separate metrics listener (`serve --metrics-listen`): `GET /metrics`
/// without credentials, for a scraper on a network the API's clients do not reach.
pub fn metrics_router() -> Router {
    Router::new().route(
        "/metrics",
        axum::routing::get(|| async { crate::routes::operations::metrics_text() }),
    )
}

/// Resolves on Ctrl-C or SIGTERM (how Kubernetes and systemd stop a process).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the server");
                std::future::pending::<()>().await
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
}

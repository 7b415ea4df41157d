//! The router: krkn's protocol plus `/healthz`. Handlers parse and check input, then call the
//! store; they never build storage keys themselves (the model's `RunKey` does).

mod artifacts;
mod files;
mod navigate;
mod telemetry;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};

use crate::auth::Authenticator;
use crate::config::ApiConfig;
use crate::store::Backend;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Documents, files, the run index and users.
    pub backend: Backend,
    /// Credential checks with their cache.
    pub auth: Arc<Authenticator>,
    /// Service settings.
    pub config: Arc<ApiConfig>,
}

impl AppState {
    /// State over a backend.
    pub fn new(backend: Backend, config: ApiConfig) -> Self {
        AppState {
            auth: Arc::new(Authenticator::new(Arc::clone(&backend.users))),
            backend,
            config: Arc::new(config),
        }
    }
}

/// Every route of the service.
pub fn router(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    // Uploads stream to disk with their own limit; everything else is bounded in memory.
    let uploads = Router::new()
        .route("/upload/{group}/{run}/{file}", put(artifacts::upload))
        .layer(DefaultBodyLimit::disable());
    Router::new()
        .route("/", get(files::root))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/telemetry", post(telemetry::post_telemetry))
        .route("/presigned-url", get(artifacts::presigned_url))
        .route("/download-url/{*path}", get(artifacts::download_url))
        .route("/download/{*path}", get(artifacts::download))
        .route("/navigate", get(navigate::navigate_root))
        .route("/navigate/{group}", get(navigate::navigate_group))
        .route("/navigate/{group}/{run}", get(navigate::navigate_run))
        .route("/files", get(files::files_root_redirect))
        .route("/files/", get(files::files_root))
        .route("/files/{group}", get(files::files_group_redirect))
        .route("/files/{group}/", get(files::files_group))
        .route("/files/{group}/{run}", get(files::files_run_redirect))
        .route("/files/{group}/{run}/", get(files::files_run))
        .layer(DefaultBodyLimit::max(limit))
        .merge(uploads)
        .with_state(state)
}

/// RFC 3339 UTC with seconds.
pub fn rfc3339(unix_seconds: i64) -> String {
    chrono::DateTime::from_timestamp(unix_seconds, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

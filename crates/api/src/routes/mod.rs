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
use crate::error::ApiError;
use crate::signing::Signer;
use crate::store::{LocalStore, StoreError};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Documents, artifacts, index and users.
    pub store: Arc<LocalStore>,
    /// Credential checks with their cache.
    pub auth: Arc<Authenticator>,
    /// Service settings.
    pub config: Arc<ApiConfig>,
    /// Signs and checks upload and download links.
    pub signer: Arc<Signer>,
}

impl AppState {
    /// State over an opened store; the link signing key is loaded from (or created in) the
    /// store's data directory.
    pub fn new(store: Arc<LocalStore>, config: ApiConfig) -> Result<Self, StoreError> {
        let signer = Signer::load_or_create(&store.data_dir().join("signing.key"))?;
        Ok(AppState {
            auth: Arc::new(Authenticator::new(Arc::clone(&store))),
            store,
            config: Arc::new(config),
            signer: Arc::new(signer),
        })
    }

    /// Runs blocking store work off the async threads.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&LocalStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || work(&store))
            .await
            .map_err(|e| ApiError::Store(StoreError::Task(e.to_string())))?
            .map_err(ApiError::from)
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

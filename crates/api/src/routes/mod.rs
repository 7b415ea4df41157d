//! The router: krkn's protocol plus `/healthz`. Handlers parse and check input, then call the
//! store; they never build storage keys themselves (the model's `RunKey` does).

mod navigate;
mod telemetry;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::auth::Authenticator;
use crate::config::ApiConfig;
use crate::error::ApiError;
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
}

impl AppState {
    /// State over an opened store.
    pub fn new(store: Arc<LocalStore>, config: ApiConfig) -> Self {
        AppState {
            auth: Arc::new(Authenticator::new(Arc::clone(&store))),
            store,
            config: Arc::new(config),
        }
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
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/telemetry", post(telemetry::post_telemetry))
        .route("/navigate", get(navigate::navigate_root))
        .route("/navigate/{group}", get(navigate::navigate_group))
        .route("/navigate/{group}/{run}", get(navigate::navigate_run))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// RFC 3339 UTC with seconds.
pub fn rfc3339(unix_seconds: i64) -> String {
    chrono::DateTime::from_timestamp(unix_seconds, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

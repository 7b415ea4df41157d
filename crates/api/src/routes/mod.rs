//! The router: krkn's protocol plus `/healthz`. Handlers parse and check input, then call the
//! store; they never build storage keys themselves (the model's `RunKey` does).

pub(crate) mod artifacts;
pub mod console;
pub(crate) mod files;
pub(crate) mod navigate;
pub mod runs;
pub(crate) mod scenarios;
pub(crate) mod telemetry;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};

use std::collections::HashMap;

use axum::http::HeaderMap;
use krkn_telemetry_model::keys::validate_segment;

use crate::auth::Authenticator;
use crate::config::ApiConfig;
use crate::error::ApiError;
use crate::store::{Backend, ListEntry};

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
        .route("/console", get(console::console_redirect))
        .route("/console/", get(console::console))
        .route("/console/assets/{name}", get(console::console_asset))
        .route("/console/{*view}", get(console::console))
        .route("/healthz", get(crate::openapi::health))
        .route("/openapi.json", get(crate::openapi::openapi_json))
        .route("/api/v1/runs", get(runs::list_runs))
        .route("/api/v1/runs/{group}/{request_id}", get(runs::get_run))
        .route("/api/v1/scenarios", get(scenarios::export_scenarios))
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
        .layer(axum::middleware::from_fn(
            console::quiet_challenge_for_console,
        ))
        .with_state(state)
}

/// One page of a folder listing, as the user may see it.
pub(crate) struct FolderPage {
    /// The listed folder's key prefix (`""`, `<group>/` or `<group>/<run>/`).
    pub prefix: String,
    /// The entries of the page.
    pub entries: Vec<ListEntry>,
    /// True when more entries follow the page.
    pub more: bool,
}

/// Authenticates a reader, checks the names, and lists one page of a folder: `?limit=`
/// (default `default_limit`, at most `max_limit`) entries after `?start_after=`. Groups the
/// user may not read are left out of the top level.
pub(crate) async fn read_folder(
    state: &AppState,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    (group, run): (Option<&str>, Option<&str>),
    (default_limit, max_limit): (usize, usize),
) -> Result<FolderPage, ApiError> {
    let user = state.auth.authenticate(headers).await?;
    if let Some(group) = group {
        validate_segment(group, "group")?;
    }
    if let Some(run) = run {
        validate_segment(run, "request id")?;
    }
    user.require_read(group)?;
    let limit = match query.get("limit") {
        None => default_limit,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max_limit).contains(n))
            .ok_or_else(|| {
                ApiError::BadRequest(format!("limit must be a number from 1 to {max_limit}"))
            })?,
    };
    let prefix = match (group, run) {
        (Some(g), Some(r)) => format!("{g}/{r}/"),
        (Some(g), None) => format!("{g}/"),
        _ => String::new(),
    };
    let start_after = query.get("start_after").cloned();
    let mut entries = state
        .backend
        .objects
        .list(&prefix, start_after, limit + 1)
        .await?;
    if group.is_none() {
        entries.retain(|e| user.may_access(&e.path));
    }
    let more = entries.len() > limit;
    entries.truncate(limit);
    Ok(FolderPage {
        prefix,
        entries,
        more,
    })
}

/// A query parameter that must be present and not empty.
pub(crate) fn required_param<'q>(
    query: &'q HashMap<String, String>,
    name: &'static str,
) -> Result<&'q str, ApiError> {
    match query.get(name).map(String::as_str) {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(ApiError::MissingParameter(name)),
    }
}

/// RFC 3339 UTC with seconds.
pub fn rfc3339(unix_seconds: i64) -> String {
    chrono::DateTime::from_timestamp(unix_seconds, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

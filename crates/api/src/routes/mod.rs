//! The router and its handlers, one file per family of routes: `telemetry` (`POST
//! /telemetry`), `artifacts` (upload and download links, uploads and downloads), `navigate`
//! (folder listings as JSON), `files` (the HTML browser), `runs` (`GET /api/v1/runs`),
//! `run_page` (one run), `run_delete` (deleting one), `audit` (the audit log), `retention` (how long runs stay), `scenarios` (the dataset export), `console` (the web console),
//! `guards` (what every request passes first), `openapi` (`/openapi.json` and `/healthz`),
//! `operations` (`/readyz`, `/metrics`). Handlers parse and check input, then call the
//! store through its traits; they never touch files or build storage keys themselves (the
//! model's `RunKey` and `ArtifactName` do). Wire types are defined here, not in the store.

pub(crate) mod artifacts;
pub(crate) mod audit;
pub mod console;
pub(crate) mod files;
pub mod guards;
pub(crate) mod navigate;
pub mod openapi;
pub mod operations;
pub mod retention;
pub(crate) mod run_delete;
pub(crate) mod run_page;
pub mod runs;
pub(crate) mod scenarios;
pub(crate) mod telemetry;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};

use std::collections::HashMap;

use krkn_telemetry_model::keys::{group_prefix, validate_segment};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::auth::{Authenticator, User};
use crate::config::ApiConfig;
use crate::error::ApiError;
use crate::server::{ClientAddr, MountPrefix};
use crate::store::{Backend, ListEntry};
use guards::{InFlight, Readiness};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Documents, files, the run index and users.
    pub backend: Backend,
    /// Credential checks with their cache and limits.
    pub auth: Arc<Authenticator>,
    /// Service settings.
    pub config: Arc<ApiConfig>,
    /// Whether the store and the first admin are ready.
    pub readiness: Readiness,
}

impl AppState {
    /// State over a backend that is ready to serve.
    pub fn new(backend: Backend, config: ApiConfig) -> Self {
        Self::with_readiness(backend, config, Readiness::ready())
    }

    /// State over a backend that is ready once `readiness` says so.
    pub fn with_readiness(backend: Backend, config: ApiConfig, readiness: Readiness) -> Self {
        AppState {
            auth: Arc::new(Authenticator::with_limits(
                Arc::clone(&backend.users),
                config.login.clone(),
            )),
            backend,
            config: Arc::new(config),
            readiness,
        }
    }
}

/// The user of a request, from its Basic credentials: an extractor, so that handlers
/// authenticate before anything reads the body.
pub struct Authenticated(pub User);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let client = parts.extensions.get::<ClientAddr>().map(|c| c.0);
        state
            .auth
            .authenticate(&parts.headers, client)
            .await
            .map(Authenticated)
    }
}

impl FromRequestParts<AppState> for MountPrefix {
    type Rejection = std::convert::Infallible;

    /// The Lambda handler's prefix, or else the path of the configured public URL.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<MountPrefix>()
            .cloned()
            .unwrap_or_else(|| MountPrefix(state.config.public_path().to_owned())))
    }
}

/// Every route of the service.
pub fn router(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    let in_flight = InFlight(
        Arc::new(tokio::sync::Semaphore::new(state.config.max_in_flight)),
        state.config.max_in_flight,
    );
    // Uploads stream to disk with their own limit and are bounded by the body's idle timeout
    // rather than the request timeout; everything else is bounded in memory and in time.
    let uploads = Router::new()
        .route("/upload/{group}/{run}/{file}", put(artifacts::upload))
        .layer(DefaultBodyLimit::disable());
    let routes = Router::new()
        .route("/", get(files::root))
        .route("/console", get(console::console_redirect))
        .route("/console/", get(console::console))
        .route("/console/assets/{name}", get(console::console_asset))
        .route("/console/{*view}", get(console::console))
        .route("/healthz", get(openapi::health))
        .route("/readyz", get(operations::ready))
        .route("/metrics", get(operations::metrics_for_admins))
        .route("/openapi.json", get(openapi::openapi_json))
        .route("/api/v1/runs", get(runs::list_runs))
        .route(
            "/api/v1/runs/{group}/{request_id}",
            get(run_page::get_run).delete(run_delete::delete_run),
        )
        .route(
            "/api/v1/runs/{group}/{request_id}/files/{file}",
            get(artifacts::stored_file),
        )
        .route("/api/v1/scenarios", get(scenarios::export_scenarios))
        .route("/api/v1/audit", get(audit::list_audit))
        .route(
            "/api/v1/retention",
            get(retention::get_retention).put(retention::put_retention),
        )
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
        .layer(axum::middleware::from_fn_with_state(
            state.config.request_timeout,
            guards::time_limit,
        ))
        .merge(uploads)
        .layer(axum::middleware::from_fn(
            console::quiet_challenge_for_console,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guards::until_ready,
        ))
        .layer(axum::middleware::from_fn_with_state(
            in_flight,
            guards::limit_in_flight,
        ))
        .layer(axum::middleware::from_fn(guards::observe))
        .with_state(state);
    // Around the whole router, where axum's 405s already carry their `Allow` header (a
    // layer on the router itself runs inside the route that adds it).
    Router::new()
        .fallback_service(routes)
        .layer(axum::middleware::from_fn(
            guards::explain_method_not_allowed,
        ))
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

/// Checks the reader and the names, and lists one page of a folder: `?limit=` (default
/// `default_limit`, at most `max_limit`) entries after `?start_after=`. Groups the user may
/// not read are left out of the top level before the page is cut, so a page is never short
/// because of them.
pub(crate) async fn read_folder(
    state: &AppState,
    user: &User,
    query: &HashMap<String, String>,
    (group, run): (Option<&str>, Option<&str>),
    (default_limit, max_limit): (usize, usize),
) -> Result<FolderPage, ApiError> {
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
    let mut entries = match (&user.groups, group) {
        // A reader of some groups: those of them that exist, in name order.
        (Some(groups), None) => {
            let mut names: Vec<&String> = groups
                .iter()
                .filter(|g| {
                    start_after
                        .as_ref()
                        .is_none_or(|after| g.as_str() > after.as_str())
                })
                .collect();
            names.sort();
            names.dedup();
            let mut found = Vec::new();
            for name in names {
                if found.len() > limit {
                    break;
                }
                // A group exists while something is filed under it (as on S3).
                let inside = state
                    .backend
                    .objects
                    .list(&group_prefix(name)?, None, 1)
                    .await?;
                if !inside.is_empty() {
                    found.push(ListEntry::folder(name.clone()));
                }
            }
            found
        }
        _ => {
            state
                .backend
                .objects
                .list(&prefix, start_after, limit + 1)
                .await?
        }
    };
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

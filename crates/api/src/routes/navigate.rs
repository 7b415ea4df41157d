//! `GET /navigate[/<group>[/<run>]]`: one folder level as `[{path, type, size, modified}]`.
//!
//! Upstream stopped at 13 entries. Here a page holds up to `limit` entries (default 1,000,
//! at most 10,000) and `start_after=<name>` continues after a name; when more entries exist,
//! the `X-Next-Start-After` header names the last one returned. Old clients that read only
//! the body still get a plain list.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::{AppState, read_folder};
use crate::error::ApiError;

const DEFAULT_PAGE: usize = 1000;
const MAX_PAGE: usize = 10_000;

/// Lists the groups.
pub async fn navigate_root(
    state: State<AppState>,
    query: Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    list(state, query, headers, None, None).await
}

/// Lists the runs of a group.
pub async fn navigate_group(
    state: State<AppState>,
    query: Query<HashMap<String, String>>,
    headers: HeaderMap,
    Path(group): Path<String>,
) -> Result<Response, ApiError> {
    list(state, query, headers, Some(group), None).await
}

/// Lists the files of a run.
pub async fn navigate_run(
    state: State<AppState>,
    query: Query<HashMap<String, String>>,
    headers: HeaderMap,
    Path((group, run)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    list(state, query, headers, Some(group), Some(run)).await
}

async fn list(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    group: Option<String>,
    run: Option<String>,
) -> Result<Response, ApiError> {
    let page = read_folder(
        &state,
        &headers,
        &query,
        (group.as_deref(), run.as_deref()),
        (DEFAULT_PAGE, MAX_PAGE),
    )
    .await?;
    let next = page
        .more
        .then(|| page.entries.last().map(|e| e.path.clone()))
        .flatten();
    let mut response = Json(page.entries).into_response();
    if let Some(next) = next.and_then(|n| n.parse().ok()) {
        response.headers_mut().insert("x-next-start-after", next);
    }
    Ok(response)
}

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
use krkn_telemetry_model::keys::validate_segment;

use super::AppState;
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
    let user = state.auth.authenticate(&headers).await?;
    if let Some(group) = &group {
        validate_segment(group, "group")?;
    }
    if let Some(run) = &run {
        validate_segment(run, "request id")?;
    }
    user.require_read(group.as_deref())?;
    let limit = match query.get("limit") {
        None => DEFAULT_PAGE,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| {
                ApiError::BadRequest(format!("limit must be a number from 1 to {MAX_PAGE}"))
            })?,
    };
    let start_after = query.get("start_after").cloned();
    let prefix = match (&group, &run) {
        (Some(g), Some(r)) => format!("{g}/{r}/"),
        (Some(g), None) => format!("{g}/"),
        _ => String::new(),
    };
    let mut entries = state
        .backend
        .objects
        .list(&prefix, start_after, limit + 1)
        .await?;
    // Groups a user may not read are not listed at all.
    if group.is_none() {
        entries.retain(|e| user.may_access(&e.path));
    }
    let more = entries.len() > limit;
    entries.truncate(limit);
    let next = more
        .then(|| entries.last().map(|e| e.path.clone()))
        .flatten();
    let mut response = Json(entries).into_response();
    if let Some(next) = next.and_then(|n| n.parse().ok()) {
        response.headers_mut().insert("x-next-start-after", next);
    }
    Ok(response)
}

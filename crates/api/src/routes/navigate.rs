//! `GET /navigate[/<group>[/<run>]]`: one folder level as `[{path, type, size, modified}]`.
//!
//! Upstream stopped at 13 entries. Here a page holds up to `limit` entries (default 1,000,
//! at most 10,000) and `start_after=<name>` continues after a name; when more entries exist,
//! the `X-Next-Start-After` header names the last one returned. Old clients that read only
//! the body still get a plain list.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};

use super::{AppState, Authenticated, read_folder};
use crate::error::ApiError;
use crate::store::{EntryKind, ListEntry};

/// One entry of a folder listing, in the shape krkn's browser expects (the wire form of the
/// store's [`ListEntry`]).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct FolderEntry {
    /// Name below the listed folder.
    path: String,
    /// `file` or `folder`.
    #[serde(rename = "type")]
    kind: EntryType,
    /// Size in bytes (0 for folders).
    size: u64,
    /// Last modification, RFC 3339 (empty for folders).
    modified: String,
}

/// What a listed name is.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EntryType {
    /// A stored file.
    File,
    /// A folder (a group, a run).
    Folder,
}

impl From<ListEntry> for FolderEntry {
    fn from(entry: ListEntry) -> Self {
        FolderEntry {
            path: entry.path,
            kind: match entry.kind {
                EntryKind::File => EntryType::File,
                EntryKind::Folder => EntryType::Folder,
            },
            size: entry.size,
            modified: entry.modified,
        }
    }
}

const DEFAULT_PAGE: usize = 1000;
/// The most entries one page may hold.
pub const MAX_PAGE: usize = 10_000;

/// Lists the groups.
#[utoipa::path(
    get,
    path = "/navigate",
    tag = "files",
    params(
        ("limit" = Option<usize>, Query, description = "Entries per page, 1 to 10,000 (default 1,000)"),
        ("start_after" = Option<String>, Query, description = "Continue after this name (the X-Next-Start-After of the previous page)"),
    ),
    responses(
        (status = 200, description = "One folder level, sorted by name; X-Next-Start-After names the last entry when more follow", body = Vec<FolderEntry>, headers(("x-next-start-after" = String, description = "Set when more entries follow"))),
        (status = 400, description = "A parameter or the body is wrong; the text names it", body = String, content_type = "text/plain"),
        (status = 401, description = "No or wrong credentials (WWW-Authenticate: Basic)", body = String, content_type = "text/plain"),
        (status = 403, description = "The user's role or groups do not allow this", body = String, content_type = "text/plain"),
        (status = 503, description = "Storage is unavailable; nothing was half-written", body = String, content_type = "text/plain")
    ),
    security(("basic" = []))
)]
pub async fn navigate_root(
    user: Authenticated,
    state: State<AppState>,
    query: Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    list(state, query, user, None, None).await
}

/// Lists the runs of a group.
#[utoipa::path(
    get,
    path = "/navigate/{group}",
    tag = "files",
    params(
        ("group" = String, Path, description = "A group"),
        ("limit" = Option<usize>, Query, description = "Entries per page, 1 to 10,000 (default 1,000)"),
        ("start_after" = Option<String>, Query, description = "Continue after this name (the X-Next-Start-After of the previous page)"),
    ),
    responses(
        (status = 200, description = "One folder level, sorted by name; X-Next-Start-After names the last entry when more follow", body = Vec<FolderEntry>, headers(("x-next-start-after" = String, description = "Set when more entries follow"))),
        (status = 400, description = "A parameter or the body is wrong; the text names it", body = String, content_type = "text/plain"),
        (status = 401, description = "No or wrong credentials (WWW-Authenticate: Basic)", body = String, content_type = "text/plain"),
        (status = 403, description = "The user's role or groups do not allow this", body = String, content_type = "text/plain"),
        (status = 503, description = "Storage is unavailable; nothing was half-written", body = String, content_type = "text/plain")
    ),
    security(("basic" = []))
)]
pub async fn navigate_group(
    user: Authenticated,
    state: State<AppState>,
    query: Query<HashMap<String, String>>,
    Path(group): Path<String>,
) -> Result<Response, ApiError> {
    list(state, query, user, Some(group), None).await
}

/// Lists the files of a run.
#[utoipa::path(
    get,
    path = "/navigate/{group}/{request_id}",
    tag = "files",
    params(
        ("group" = String, Path, description = "A group"),
        ("request_id" = String, Path, description = "A run"),
        ("limit" = Option<usize>, Query, description = "Entries per page, 1 to 10,000 (default 1,000)"),
        ("start_after" = Option<String>, Query, description = "Continue after this name (the X-Next-Start-After of the previous page)"),
    ),
    responses(
        (status = 200, description = "One folder level, sorted by name; X-Next-Start-After names the last entry when more follow", body = Vec<FolderEntry>, headers(("x-next-start-after" = String, description = "Set when more entries follow"))),
        (status = 400, description = "A parameter or the body is wrong; the text names it", body = String, content_type = "text/plain"),
        (status = 401, description = "No or wrong credentials (WWW-Authenticate: Basic)", body = String, content_type = "text/plain"),
        (status = 403, description = "The user's role or groups do not allow this", body = String, content_type = "text/plain"),
        (status = 503, description = "Storage is unavailable; nothing was half-written", body = String, content_type = "text/plain")
    ),
    security(("basic" = []))
)]
pub async fn navigate_run(
    user: Authenticated,
    state: State<AppState>,
    query: Query<HashMap<String, String>>,
    Path((group, run)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    list(state, query, user, Some(group), Some(run)).await
}

async fn list(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    Authenticated(user): Authenticated,
    group: Option<String>,
    run: Option<String>,
) -> Result<Response, ApiError> {
    let page = read_folder(
        &state,
        &user,
        &query,
        (group.as_deref(), run.as_deref()),
        (DEFAULT_PAGE, MAX_PAGE),
    )
    .await?;
    let next = page
        .more
        .then(|| page.entries.last().map(|e| e.path.clone()))
        .flatten();
    let entries: Vec<FolderEntry> = page.entries.into_iter().map(FolderEntry::from).collect();
    let mut response = Json(entries).into_response();
    if let Some(next) = next.and_then(|n| n.parse().ok()) {
        response.headers_mut().insert("x-next-start-after", next);
    }
    Ok(response)
}

//! `/files/...`: a plain HTML browser of groups, runs and files, good enough to find a run
//! krkn just printed (`{api_url}/files/<group>/<request_id>`) and download its files. Links
//! are relative, so the pages work under an API Gateway stage prefix too. The richer console
//! is [`console`]; a browser that sends no credentials gets it on these URLs.

use std::collections::HashMap;
use std::fmt::Write as _;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use krkn_telemetry_model::keys::validate_segment;

use super::{AppState, FolderPage, console, read_folder};
use crate::error::ApiError;
use crate::server::ClientAddr;
use crate::store::{EntryKind, ListEntry};

const PAGE: usize = 1000;

/// A relative redirect (keeps any stage prefix in front of the path).
fn redirect(location: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, location.to_owned())]).into_response()
}

/// `GET /` → `files/`.
#[utoipa::path(
    get,
    path = "/",
    tag = "files",
    responses((status = 302, description = "Redirects to files/"))
)]
pub async fn root() -> Response {
    redirect("files/")
}

/// `GET /files` → `files/`.
pub async fn files_root_redirect() -> Response {
    redirect("files/")
}

/// `GET /files/<group>` → `<group>/`.
pub async fn files_group_redirect(Path(group): Path<String>) -> Result<Response, ApiError> {
    validate_segment(&group, "group")?;
    Ok(redirect(&format!("{group}/")))
}

/// `GET /files/<group>/<run>` (the link krkn prints) → `<run>/`.
pub async fn files_run_redirect(
    Path((group, run)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    validate_segment(&group, "group")?;
    validate_segment(&run, "request id")?;
    Ok(redirect(&format!("{run}/")))
}

/// The groups.
#[utoipa::path(
    get,
    path = "/files/",
    tag = "files",
    params(
        ("start_after" = Option<String>, Query, description = "Continue after this name"),
    ),
    responses(
        (status = 200, description = "An HTML page: the plain listing with credentials, the console without (browsers)", body = String, content_type = "text/html"),
        (status = 400, description = "A parameter or the body is wrong; the text names it", body = String, content_type = "text/plain"),
        (status = 401, description = "No or wrong credentials (WWW-Authenticate: Basic)", body = String, content_type = "text/plain"),
        (status = 403, description = "The user's role or groups do not allow this", body = String, content_type = "text/plain"),
        (status = 503, description = "Storage is unavailable; nothing was half-written", body = String, content_type = "text/plain")
    ),
    security((), ("basic" = []))
)]
pub async fn files_root(
    state: State<AppState>,
    headers: HeaderMap,
    client: Option<Extension<ClientAddr>>,
    query: Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    page(state, headers, client, query, None, None).await
}

/// The runs of a group.
#[utoipa::path(
    get,
    path = "/files/{group}/",
    tag = "files",
    params(
        ("group" = String, Path, description = "A group"),
        ("start_after" = Option<String>, Query, description = "Continue after this name"),
    ),
    responses(
        (status = 200, description = "An HTML page: the plain listing with credentials, the console without (browsers)", body = String, content_type = "text/html"),
        (status = 400, description = "A parameter or the body is wrong; the text names it", body = String, content_type = "text/plain"),
        (status = 401, description = "No or wrong credentials (WWW-Authenticate: Basic)", body = String, content_type = "text/plain"),
        (status = 403, description = "The user's role or groups do not allow this", body = String, content_type = "text/plain"),
        (status = 503, description = "Storage is unavailable; nothing was half-written", body = String, content_type = "text/plain")
    ),
    security((), ("basic" = []))
)]
pub async fn files_group(
    state: State<AppState>,
    headers: HeaderMap,
    client: Option<Extension<ClientAddr>>,
    query: Query<HashMap<String, String>>,
    Path(group): Path<String>,
) -> Result<Response, ApiError> {
    page(state, headers, client, query, Some(group), None).await
}

/// The files of a run.
#[utoipa::path(
    get,
    path = "/files/{group}/{request_id}/",
    tag = "files",
    params(
        ("group" = String, Path, description = "A group"),
        ("request_id" = String, Path, description = "A run (the URL krkn prints, without the last slash, redirects here)"),
        ("start_after" = Option<String>, Query, description = "Continue after this name"),
    ),
    responses(
        (status = 200, description = "An HTML page: the plain listing with credentials, the console without (browsers)", body = String, content_type = "text/html"),
        (status = 400, description = "A parameter or the body is wrong; the text names it", body = String, content_type = "text/plain"),
        (status = 401, description = "No or wrong credentials (WWW-Authenticate: Basic)", body = String, content_type = "text/plain"),
        (status = 403, description = "The user's role or groups do not allow this", body = String, content_type = "text/plain"),
        (status = 503, description = "Storage is unavailable; nothing was half-written", body = String, content_type = "text/plain")
    ),
    security((), ("basic" = []))
)]
pub async fn files_run(
    state: State<AppState>,
    headers: HeaderMap,
    client: Option<Extension<ClientAddr>>,
    query: Query<HashMap<String, String>>,
    Path((group, run)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    page(state, headers, client, query, Some(group), Some(run)).await
}

async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: Option<Extension<ClientAddr>>,
    Query(query): Query<HashMap<String, String>>,
    group: Option<String>,
    run: Option<String>,
) -> Result<Response, ApiError> {
    if console::wants_console(&headers) {
        if let Some(g) = &group {
            validate_segment(g, "group")?;
        }
        if let Some(r) = &run {
            validate_segment(r, "request id")?;
        }
        let path = match (&group, &run) {
            (Some(g), Some(r)) => format!("/files/{g}/{r}/"),
            (Some(g), None) => format!("/files/{g}/"),
            _ => "/files/".to_owned(),
        };
        return Ok(console::page(&state, &path));
    }
    let FolderPage {
        prefix,
        entries,
        more,
    } = read_folder(
        &state,
        &state
            .auth
            .authenticate(&headers, client.map(|c| c.0.0))
            .await?,
        &query,
        (group.as_deref(), run.as_deref()),
        (PAGE, PAGE),
    )
    .await?;

    let title = match (&group, &run) {
        (Some(g), Some(r)) => format!("{g} / {r}"),
        (Some(g), None) => g.clone(),
        _ => "groups".to_owned(),
    };
    let depth = usize::from(group.is_some()) + usize::from(run.is_some());
    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>krkn telemetry: {t}</title>\
         <style>body{{font:15px system-ui,sans-serif;margin:2rem;max-width:70rem}}table{{border-collapse:collapse;width:100%}}\
         td,th{{padding:.35rem .6rem;border-bottom:1px solid #ddd;text-align:left}}td.n{{text-align:right}}</style></head>\
         <body><nav aria-label=\"breadcrumb\">{crumbs}</nav><h1>{t}</h1>",
        t = escape(&title),
        crumbs = breadcrumbs(&group, &run),
    );
    if entries.is_empty() {
        html.push_str("<p>Nothing here yet.</p>");
    } else {
        html.push_str("<table><thead><tr><th scope=\"col\">name</th><th scope=\"col\">size</th><th scope=\"col\">modified</th></tr></thead><tbody>");
        for entry in &entries {
            let name = escape(&entry.path);
            let link = if entry.kind == EntryKind::Folder {
                format!("{}/", entry.path)
            } else {
                download_link(&state, &prefix, entry, depth).await?
            };
            let _ = write!(
                html,
                "<tr><td><a href=\"{}\">{}{}</a></td><td class=\"n\">{}</td><td>{}</td></tr>",
                escape(&link),
                name,
                if entry.kind == EntryKind::Folder {
                    "/"
                } else {
                    ""
                },
                if entry.kind == EntryKind::Folder {
                    String::new()
                } else {
                    entry.size.to_string()
                },
                escape(&entry.modified)
            );
        }
        html.push_str("</tbody></table>");
    }
    if more && let Some(last) = entries.last() {
        let _ = write!(
            html,
            "<p><a href=\"?start_after={}\">next page</a></p>",
            escape(&last.path)
        );
    }
    html.push_str("</body></html>");
    Ok(Html(html).into_response())
}

/// A download link: relative to the current page for links this server serves
/// (`../../../download/<key>?...`), absolute for S3's.
async fn download_link(
    state: &AppState,
    prefix: &str,
    entry: &ListEntry,
    depth: usize,
) -> Result<String, ApiError> {
    let key = format!("{prefix}{}", entry.path);
    let ttl = std::time::Duration::from_secs(state.config.link_expiration_secs);
    Ok(state
        .backend
        .objects
        .download_link(&key, ttl, &"../".repeat(depth + 1))
        .await?)
}

fn breadcrumbs(group: &Option<String>, run: &Option<String>) -> String {
    match (group, run) {
        (Some(g), Some(_)) => format!(
            "<a href=\"../../\">groups</a> / <a href=\"../\">{}</a>",
            escape(g)
        ),
        (Some(_), None) => "<a href=\"../\">groups</a>".to_owned(),
        _ => String::new(),
    }
}

/// Escapes text for HTML element content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

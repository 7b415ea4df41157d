//! Files of a run: upload links (`GET /presigned-url`), the uploads themselves
//! (`PUT /upload/...`), download links (`GET /download-url/...`) and downloads.
//!
//! krkn asks for a link with `request_id=<group>/<id>&remote_filename=<name>`, gets the bare
//! URL as text, then `PUT`s the raw file to it (KRKN-PROTOCOL.md sections 1 and 7). Links
//! are signed by [`Signer`](crate::signing::Signer): one key, one expiry, and the length and
//! SHA-256 when the client announces them (`content_length=`, `sha256=`; old clients do not).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{StreamExt, TryStreamExt};
use krkn_telemetry_model::keys::download_key;
use krkn_telemetry_model::{ArtifactKind, ArtifactName, RunKey};

use super::{AppState, Authenticated, required_param};
use crate::error::ApiError;
use crate::server::MountPrefix;
use crate::signing::{LinkClaims, LinkKind};
use crate::store::served::BoxError;
use crate::store::{ObjectInfo, ServedLinks, UploadError, UploadRequest};

/// The base URL of the links this server serves itself (the embedded store's): the
/// configured public URL, or the request's own `Host` when that host is allowed (listed in
/// `KRKN_TELEMETRY_ALLOWED_HOSTS`, a loopback host, or any host on the Lambda, where API
/// Gateway sets it). A forged `Host` must not turn links into links to somewhere else. With
/// S3 the links are S3's and this is empty. The path is the request's [`MountPrefix`] (the
/// API Gateway stage), so a link reaches the router through the same door as the request.
pub(crate) fn base_url(
    state: &AppState,
    headers: &HeaderMap,
    mount: &MountPrefix,
) -> Result<String, ApiError> {
    if state.backend.served.is_none() {
        return Ok(String::new());
    }
    if let Some(url) = &state.config.public_url {
        return Ok(url.clone());
    }
    // Without a Host (HTTP/1.0), links name this machine.
    let host = headers
        .get(header::HOST)
        .map(|h| h.to_str().unwrap_or("(not text)").trim())
        .unwrap_or("127.0.0.1");
    if !(state.config.trust_host_header || host_allowed(host, &state.config.allowed_hosts)) {
        return Err(ApiError::BadRequest(format!(
            "links are not built for the host {host:?}: set KRKN_TELEMETRY_PUBLIC_URL to the \
             URL clients reach this service at, or add the host to KRKN_TELEMETRY_ALLOWED_HOSTS"
        )));
    }
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https" || *p == "http")
        .unwrap_or("http");
    Ok(format!("{scheme}://{host}{}", mount.0))
}

/// True for a `Host` value that names a loopback address or `localhost`, or that is in
/// `allowed` (exactly, or by name when the entry has no port).
fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let host = host.to_ascii_lowercase();
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host.as_str(), |(name, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                name
            } else {
                host.as_str()
            }
        }),
    };
    let loopback = name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    loopback
        || allowed
            .iter()
            .any(|entry| *entry == host || (!entry.contains(':') && entry == name))
}

/// `GET /presigned-url?request_id=<group>/<id>&remote_filename=<name>[&content_length=N][&sha256=HEX]`.
#[utoipa::path(
    get,
    path = "/presigned-url",
    tag = "krkn",
    params(
        ("request_id" = String, Query, description = "`<group>/<request_id>` of the run"),
        ("remote_filename" = String, Query, description = "The file's name in the run folder (not telemetry.json)"),
        ("content_length" = Option<u64>, Query, description = "Exact size; signed into the link when given"),
        ("sha256" = Option<String>, Query, description = "SHA-256 (64 hex digits); signed into the link when given"),
    ),
    responses(
        (status = 200, description = "The upload URL, as bare text; PUT the raw file to it", body = String, content_type = "text/plain"),
        (status = 400, description = "A parameter or the body is wrong; the text names it", body = String, content_type = "text/plain"),
        (status = 401, description = "No or wrong credentials (WWW-Authenticate: Basic)", body = String, content_type = "text/plain"),
        (status = 403, description = "The user's role or groups do not allow this", body = String, content_type = "text/plain"),
        (status = 413, description = "The body is over the limit", body = String, content_type = "text/plain"),
        (status = 503, description = "Storage is unavailable; nothing was half-written", body = String, content_type = "text/plain")
    ),
    security(("basic" = []))
)]
pub async fn presigned_url(
    Authenticated(user): Authenticated,
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    mount: MountPrefix,
) -> Result<Response, ApiError> {
    let run_path = required_param(&query, "request_id")?;
    let file = required_param(&query, "remote_filename")?;
    let run = RunKey::parse(run_path)?;
    let artifact = ArtifactName::new(file)?;
    user.require_upload(run.group())?;
    if artifact.kind() == ArtifactKind::Telemetry {
        return Err(ApiError::BadRequest(
            "telemetry.json is written only by POST /telemetry, never through an upload link"
                .to_owned(),
        ));
    }
    let length = match query.get("content_length") {
        None => None,
        Some(text) => Some(text.parse::<u64>().map_err(|_| {
            ApiError::BadRequest(format!(
                "content_length must be a number of bytes, found {text:?}"
            ))
        })?),
    };
    if length.is_some_and(|l| l > state.config.max_upload_bytes) {
        return Err(ApiError::TooLarge(format!(
            "content_length is over the upload limit of {} bytes",
            state.config.max_upload_bytes
        )));
    }
    let sha256 = match query.get("sha256") {
        None => None,
        Some(text) if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Some(text.to_ascii_lowercase())
        }
        Some(text) => {
            return Err(ApiError::BadRequest(format!(
                "sha256 must be 64 hex digits, found {text:?}"
            )));
        }
    };
    // An existing file still gets a link: krkn-lib asks for a new link when a PUT's response is
    // lost, and must be able to finish. The upload itself never replaces anything: the same
    // bytes again are a 200, other bytes a 412 (on S3 the bucket keeps every version).
    let key = run.object_key(&artifact);
    let url = state
        .backend
        .objects
        .upload_link(&UploadRequest {
            key: key.clone(),
            expires_in: Duration::from_secs(state.config.link_expiration_secs),
            length,
            sha256,
            base_url: base_url(&state, &headers, &mount)?,
        })
        .await?;
    tracing::info!(%key, user = %user.name, "upload link issued");
    Ok(url.into_response())
}

/// The links this server serves, or 404: with S3, links point at S3 and these routes do not
/// exist.
fn served(state: &AppState) -> Result<Arc<dyn ServedLinks>, ApiError> {
    state.backend.served.clone().ok_or_else(|| {
        ApiError::NotFound(
            "this deployment stores files in S3; use the link /presigned-url gave".to_owned(),
        )
    })
}

/// `PUT /upload/<group>/<run>/<file>?expires=..&sig=..`: stores the raw body, streamed to a
/// temporary file and hashed on the way, then linked into place if nothing is there yet.
#[utoipa::path(
    put,
    path = "/upload/{group}/{request_id}/{file}",
    tag = "krkn",
    params(
        ("group" = String, Path, description = "Group of the run"),
        ("request_id" = String, Path, description = "Request id of the run"),
        ("file" = String, Path, description = "File name"),
        ("expires" = i64, Query, description = "Expiry of the link, unix seconds (signed)"),
        ("len" = Option<u64>, Query, description = "Exact size the link allows (signed)"),
        ("sha256" = Option<String>, Query, description = "SHA-256 the body must have (signed)"),
        ("sig" = String, Query, description = "The link's signature"),
    ),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The raw file"),
    responses(
        (status = 200, description = "Stored (or the same bytes were already stored)", body = String, content_type = "text/plain"),
        (status = 400, description = "A parameter or the body is wrong; the text names it", body = String, content_type = "text/plain"),
        (status = 403, description = "The user's role or groups do not allow this", body = String, content_type = "text/plain"),
        (status = 404, description = "Nothing under that name", body = String, content_type = "text/plain"),
        (status = 412, description = "The file exists with other content and is never replaced", body = String, content_type = "text/plain"),
        (status = 413, description = "The body is over the limit", body = String, content_type = "text/plain"),
        (status = 503, description = "Storage is unavailable; nothing was half-written", body = String, content_type = "text/plain")
    )
)]
pub async fn upload(
    State(state): State<AppState>,
    Path((group, run, file)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let run = RunKey::new(&group, &run)?;
    let artifact = ArtifactName::new(&file)?;
    let key = run.object_key(&artifact);
    let claims = LinkClaims {
        kind: LinkKind::Upload,
        key: key.clone(),
        expires: required_param(&query, "expires")?
            .parse()
            .map_err(|_| ApiError::BadRequest("expires must be unix seconds".to_owned()))?,
        length: query
            .get("len")
            .map(|l| l.parse())
            .transpose()
            .map_err(|_| ApiError::BadRequest("len must be a number".to_owned()))?,
        sha256: query.get("sha256").cloned(),
    };
    let served = served(&state)?;
    served.verify(&claims, required_param(&query, "sig")?)?;

    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let (Some(signed), Some(declared)) = (claims.length, declared)
        && signed != declared
    {
        return Err(ApiError::BadRequest(format!(
            "the link is for {signed} bytes, the request announces {declared}"
        )));
    }
    let limit = claims
        .length
        .unwrap_or(state.config.max_upload_bytes)
        .min(state.config.max_upload_bytes);
    if declared.is_some_and(|d| d > limit) {
        return Err(UploadError::TooLarge(limit).into());
    }
    let body = body
        .into_data_stream()
        .map_err(|e| -> BoxError { Box::new(e) })
        .boxed();
    let stored = served.receive_upload(&claims, body, limit).await?;
    tracing::info!(%key, bytes = stored.size, "upload stored");
    crate::metrics::metrics().uploaded(stored.size);
    let mut response = StatusCode::OK.into_response();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", stored.sha256)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(response)
}

/// The largest object whose unknown checksum `GET …/files/F` computes by reading it.
const MAX_HASHED_PER_REQUEST: u64 = 256 * 1024 * 1024;

/// A stored file as its checksum tells it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct StoredFile {
    /// The file's name in the run folder.
    name: String,
    /// Size in bytes.
    size: u64,
    /// SHA-256, lower-case hex: recorded at upload, or read from the file when it is at
    /// most 256 MiB; `null` for a larger file whose checksum the store does not know.
    sha256: Option<String>,
}

/// `GET /api/v1/runs/<group>/<run>/files/<file>`: the size and SHA-256 of a stored file,
/// so that an uploader whose upload was refused because the file exists (412) can tell its
/// own earlier upload from other bytes.
#[utoipa::path(
    get,
    path = "/api/v1/runs/{group}/{request_id}/files/{file}",
    tag = "runs",
    params(
        ("group" = String, Path, description = "Group of the run"),
        ("request_id" = String, Path, description = "Request id of the run"),
        ("file" = String, Path, description = "File name"),
    ),
    responses(
        (status = 200, description = "Size and SHA-256 (null when unknown)", body = StoredFile),
        (status = 400, description = "A parameter or the body is wrong; the text names it", body = String, content_type = "text/plain"),
        (status = 401, description = "No or wrong credentials (WWW-Authenticate: Basic)", body = String, content_type = "text/plain"),
        (status = 403, description = "The user's role or groups do not allow this", body = String, content_type = "text/plain"),
        (status = 404, description = "Nothing under that name", body = String, content_type = "text/plain"),
        (status = 503, description = "Storage is unavailable; nothing was half-written", body = String, content_type = "text/plain")
    ),
    security(("basic" = []))
)]
pub async fn stored_file(
    Authenticated(user): Authenticated,
    State(state): State<AppState>,
    Path((group, run, file)): Path<(String, String, String)>,
) -> Result<Json<StoredFile>, ApiError> {
    let run = RunKey::new(&group, &run)?;
    let artifact = ArtifactName::new(&file)?;
    // Uploaders of the group (checking their own uploads) and readers.
    if user.require_upload(run.group()).is_err() {
        user.require_read(Some(run.group()))?;
    }
    let key = run.object_key(&artifact);
    let objects = &state.backend.objects;
    let ObjectInfo { size, mut sha256 } = objects
        .stat(&key)
        .await?
        .ok_or_else(|| ApiError::NotFound(key.clone()))?;
    // Not recorded (S3 keeps a checksum only for uploads that announced one; S3-compatible
    // servers may keep none): read it from the object, when that is quick enough.
    if sha256.is_none() && size <= MAX_HASHED_PER_REQUEST {
        sha256 = objects.hash(&key).await?;
    }
    Ok(Json(StoredFile {
        name: artifact.as_str().to_owned(),
        size,
        sha256,
    }))
}

/// `GET /download-url/<group>/<run>/<file>` (also `/<file>` and `/<group>/<file>`, as
/// upstream): `{"download_link": "<url>"}` for an existing file.
#[utoipa::path(
    get,
    path = "/download-url/{group}/{request_id}/{file}",
    tag = "files",
    params(
        ("group" = String, Path, description = "Group of the run"),
        ("request_id" = String, Path, description = "Request id of the run"),
        ("file" = String, Path, description = "File name"),
    ),
    responses(
        (status = 200, description = "`{\"download_link\": \"<URL>\"}`: a link that needs no credentials until it expires", body = Object),
        (status = 400, description = "A parameter or the body is wrong; the text names it", body = String, content_type = "text/plain"),
        (status = 401, description = "No or wrong credentials (WWW-Authenticate: Basic)", body = String, content_type = "text/plain"),
        (status = 403, description = "The user's role or groups do not allow this", body = String, content_type = "text/plain"),
        (status = 404, description = "Nothing under that name", body = String, content_type = "text/plain"),
        (status = 503, description = "Storage is unavailable; nothing was half-written", body = String, content_type = "text/plain")
    ),
    security(("basic" = []))
)]
pub async fn download_url(
    Authenticated(user): Authenticated,
    State(state): State<AppState>,
    Path(path): Path<String>,
    headers: HeaderMap,
    mount: MountPrefix,
) -> Result<Response, ApiError> {
    if path.split('/').count() > 3 {
        return Err(ApiError::BadRequest(
            "use /download-url/<group>/<run>/<file>".to_owned(),
        ));
    }
    let key = download_key(&path)?;
    // Top-level files have no group: only users who may read every group see them.
    user.require_read(Some(key.split_once('/').map_or("*", |(group, _)| group)))?;
    if !state.backend.objects.exists(&key).await? {
        return Err(ApiError::NotFound(key));
    }
    let ttl = Duration::from_secs(state.config.link_expiration_secs);
    let base = format!("{}/", base_url(&state, &headers, &mount)?);
    let link = state
        .backend
        .objects
        .download_link(&key, ttl, &base)
        .await?;
    Ok(axum::Json(serde_json::json!({ "download_link": link })).into_response())
}

/// `GET /download/<key>?expires=..&sig=..`: streams the file.
#[utoipa::path(
    get,
    path = "/download/{group}/{request_id}/{file}",
    tag = "files",
    params(
        ("group" = String, Path, description = "Group of the run"),
        ("request_id" = String, Path, description = "Request id of the run"),
        ("file" = String, Path, description = "File name"),
        ("expires" = i64, Query, description = "Expiry of the link, unix seconds (signed)"),
        ("sig" = String, Query, description = "The link's signature"),
    ),
    responses(
        (status = 200, description = "The file", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 400, description = "A parameter or the body is wrong; the text names it", body = String, content_type = "text/plain"),
        (status = 403, description = "The user's role or groups do not allow this", body = String, content_type = "text/plain"),
        (status = 404, description = "Nothing under that name", body = String, content_type = "text/plain"),
        (status = 503, description = "Storage is unavailable; nothing was half-written", body = String, content_type = "text/plain")
    )
)]
pub async fn download(
    State(state): State<AppState>,
    Path(path): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let key = download_key(&path)?;
    let claims = LinkClaims {
        kind: LinkKind::Download,
        key: key.clone(),
        expires: required_param(&query, "expires")?
            .parse()
            .map_err(|_| ApiError::BadRequest("expires must be unix seconds".to_owned()))?,
        length: None,
        sha256: None,
    };
    let served = served(&state)?;
    served.verify(&claims, required_param(&query, "sig")?)?;
    let Some(download) = served.open_download(&key).await? else {
        return Err(ApiError::NotFound(key));
    };
    let name = key.rsplit('/').next().unwrap_or("download");
    let content_type = if name.ends_with(".json") || name.ends_with(".log") {
        "application/json"
    } else {
        "application/octet-stream"
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_LENGTH, download.size.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from_stream(download.stream),
    )
        .into_response())
}

//! `GET /api/v1/runs/{group}/{request_id}`: one run at a glance: its document, its files with
//! download links, and whether its Prometheus backup is complete (from
//! `prometheus-manifest.json`, checked against the stored parts' sizes and checksums).

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use krkn_telemetry_model::BackupManifest;
use krkn_telemetry_model::keys::{ArtifactKind, ArtifactName, RunKey};
use serde::Serialize;

use super::artifacts::base_url;
use super::{AppState, Authenticated};
use crate::error::ApiError;
use crate::server::MountPrefix;
use crate::store::EntryKind;

/// Files one run page lists at most (a krkn run has a handful; parts of a large backup, tens).
const MAX_RUN_FILES: usize = 10_000;

/// One file of a run, with a link to fetch it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunFile {
    name: String,
    #[serde(flatten)]
    #[schema(inline, value_type = ArtifactKindSchema)]
    kind: ArtifactKind,
    size: u64,
    modified: String,
    download_link: String,
}

/// What kind of file it is, as the model's `ArtifactKind` serializes (`kind`, and `part` /
/// `namespace` for the kinds that have them); here only to describe it in the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ArtifactKindSchema {
    /// `telemetry`, `prometheus_part`, `prometheus_manifest`, `prometheus_window_part`,
    /// `critical_alerts`, `logs` or `other`.
    kind: String,
    /// Part number, for the kinds in parts.
    part: Option<u32>,
    /// The one namespace of a logs archive, if not all.
    namespace: Option<String>,
}

/// Whether a run's Prometheus backup is all there.
#[derive(Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct BackupState {
    /// A `prometheus-manifest.json` is stored (the collector writes it last).
    manifest: bool,
    /// Every part the manifest names is stored with its size (`null` without a manifest:
    /// krkn-lib writes none, so completeness cannot be told).
    complete: Option<bool>,
    /// `prometheus-NN.tar` parts stored.
    parts_stored: usize,
    /// Parts the manifest names.
    parts_expected: Option<usize>,
    /// Parts the manifest names that are missing, of another size, or (where the store knows
    /// it) of another SHA-256; a manifest too large to read is named here too.
    missing_or_wrong_size: Vec<String>,
    /// Bytes of the tar stream the manifest announces.
    total_bytes: Option<u64>,
}

/// `GET /api/v1/runs/{group}/{request_id}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunDetail {
    group: String,
    request_id: String,
    /// The stored telemetry document, as filed.
    #[schema(value_type = Object)]
    document: serde_json::Value,
    files: Vec<RunFile>,
    /// `null` when the run has no Prometheus backup.
    prometheus_backup: Option<BackupState>,
    files_url: String,
    /// The caller may delete the run (an admin of its group): the console offers it then.
    may_delete: bool,
}

/// `GET /api/v1/runs/{group}/{request_id}`
#[utoipa::path(
    get,
    path = "/api/v1/runs/{group}/{request_id}",
    tag = "runs",
    params(
        ("group" = String, Path, description = "Group of the run"),
        ("request_id" = String, Path, description = "Request id of the run"),
    ),
    responses(
        (status = 200, description = "The run: document, files with links, backup completeness", body = RunDetail),
        (status = 400, description = "A parameter or the body is wrong; the text names it", body = String, content_type = "text/plain"),
        (status = 401, description = "No or wrong credentials (WWW-Authenticate: Basic)", body = String, content_type = "text/plain"),
        (status = 403, description = "The user's role or groups do not allow this", body = String, content_type = "text/plain"),
        (status = 404, description = "Nothing under that name", body = String, content_type = "text/plain"),
        (status = 503, description = "Storage is unavailable; nothing was half-written", body = String, content_type = "text/plain")
    ),
    security(("basic" = []))
)]
pub async fn get_run(
    Authenticated(user): Authenticated,
    State(state): State<AppState>,
    Path((group, request_id)): Path<(String, String)>,
    headers: HeaderMap,
    mount: MountPrefix,
) -> Result<Json<RunDetail>, ApiError> {
    let key = RunKey::new(&group, &request_id)?;
    user.require_read(Some(key.group()))?;
    let objects = &state.backend.objects;
    let stored = objects
        .get(&key.telemetry_key())
        .await?
        .ok_or_else(|| ApiError::NotFound(key.telemetry_key()))?;
    let document = serde_json::from_slice(&stored)
        .map_err(|e| ApiError::BadRequest(format!("the stored document is not JSON: {e}")))?;
    let entries = objects.list(&key.prefix(), None, MAX_RUN_FILES).await?;
    let ttl = Duration::from_secs(state.config.link_expiration_secs);
    let base = format!("{}/", base_url(&state, &headers, &mount)?);
    let mut files = Vec::new();
    let mut manifest = None;
    for entry in entries.into_iter().filter(|e| e.kind == EntryKind::File) {
        // Every stored name passed the grammar when it was filed.
        let Ok(name) = ArtifactName::new(&entry.path) else {
            continue;
        };
        let object_key = key.object_key(&name);
        let kind = ArtifactKind::of(&entry.path);
        if kind == ArtifactKind::PrometheusManifest {
            // Read into memory only when the listing says it is small (an uploader can
            // store up to the upload limit under this name).
            manifest = Some(if entry.size > MAX_MANIFEST_BYTES {
                Manifest::TooLarge(entry.size)
            } else {
                objects
                    .get(&object_key)
                    .await?
                    .map_or(Manifest::TooLarge(0), Manifest::Read)
            });
        }
        files.push(RunFile {
            download_link: objects.download_link(&object_key, ttl, &base).await?,
            name: entry.path,
            kind,
            size: entry.size,
            modified: entry.modified,
        });
    }
    let prometheus_backup = match &manifest {
        Some(Manifest::Read(bytes)) => {
            let checksums = part_checksums(objects.as_ref(), &key, &files, bytes).await?;
            backup_state(&files, Some(bytes), &checksums)
        }
        Some(Manifest::TooLarge(size)) => Some(BackupState {
            manifest: true,
            complete: Some(false),
            parts_stored: files
                .iter()
                .filter(|f| matches!(f.kind, ArtifactKind::PrometheusPart { .. }))
                .count(),
            parts_expected: None,
            missing_or_wrong_size: vec![format!(
                "prometheus-manifest.json ({size} bytes, over the {MAX_MANIFEST_BYTES}-byte limit: not read)"
            )],
            total_bytes: None,
        }),
        None => backup_state(&files, None, &HashMap::new()),
    };
    Ok(Json(RunDetail {
        files_url: format!("{}/files/{}/{}/", mount.0, key.group(), key.request_id()),
        group: key.group().to_owned(),
        request_id: key.request_id().to_owned(),
        document,
        files,
        prometheus_backup,
        may_delete: user.require_admin(Some(key.group())).is_ok(),
    }))
}

/// The largest `prometheus-manifest.json` the run page reads (a real one is a few KiB).
const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;

/// A run's manifest as the run page found it.
enum Manifest {
    /// Read, small enough.
    Read(Vec<u8>),
    /// Not read: this many bytes.
    TooLarge(u64),
}

/// The stored SHA-256 of every part the manifest names, where the store knows it.
async fn part_checksums(
    objects: &dyn crate::store::ObjectStore,
    key: &RunKey,
    files: &[RunFile],
    manifest: &[u8],
) -> Result<HashMap<String, String>, ApiError> {
    let Ok(manifest) = serde_json::from_slice::<BackupManifest>(manifest) else {
        return Ok(HashMap::new());
    };
    let mut checksums = HashMap::new();
    for part in &manifest.parts {
        if !files.iter().any(|f| f.name == part.name) {
            continue;
        }
        if let Some(sha256) = objects
            .stat(&key.object_key(&ArtifactName::new(&part.name)?))
            .await?
            .and_then(|info| info.sha256)
        {
            checksums.insert(part.name.clone(), sha256);
        }
    }
    Ok(checksums)
}

/// What the stored parts and the manifest (when any) say of the backup: a part counts as
/// there when its size matches and, where both the manifest and the store know it, its
/// SHA-256 too.
fn backup_state(
    files: &[RunFile],
    manifest: Option<&[u8]>,
    checksums: &HashMap<String, String>,
) -> Option<BackupState> {
    let parts: HashMap<&str, u64> = files
        .iter()
        .filter(|f| matches!(f.kind, ArtifactKind::PrometheusPart { .. }))
        .map(|f| (f.name.as_str(), f.size))
        .collect();
    if parts.is_empty() && manifest.is_none() {
        return None;
    }
    let Some(bytes) = manifest else {
        return Some(BackupState {
            manifest: false,
            complete: None,
            parts_stored: parts.len(),
            parts_expected: None,
            missing_or_wrong_size: Vec::new(),
            total_bytes: None,
        });
    };
    // A manifest that cannot be read vouches for nothing.
    let Ok(manifest) = serde_json::from_slice::<BackupManifest>(bytes) else {
        return Some(BackupState {
            manifest: true,
            complete: Some(false),
            parts_stored: parts.len(),
            parts_expected: None,
            missing_or_wrong_size: vec!["prometheus-manifest.json (unreadable)".to_owned()],
            total_bytes: None,
        });
    };
    let missing: Vec<String> = manifest
        .parts
        .iter()
        .filter(|p| {
            let size_differs = parts.get(p.name.as_str()) != Some(&p.size);
            let checksum_differs = match (&p.sha256, checksums.get(&p.name)) {
                (Some(listed), Some(stored)) => !listed.eq_ignore_ascii_case(stored),
                _ => false,
            };
            size_differs || checksum_differs
        })
        .map(|p| p.name.clone())
        .collect();
    Some(BackupState {
        manifest: true,
        complete: Some(missing.is_empty()),
        parts_stored: parts.len(),
        parts_expected: Some(manifest.parts.len()),
        missing_or_wrong_size: missing,
        total_bytes: manifest.total_bytes,
    })
}

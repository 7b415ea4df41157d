//! `GET /api/v1/runs/{group}/{request_id}`: one run at a glance (its document, its files with
//! download links, whether its Prometheus backup is complete).
//!
//! `GET /api/v1/runs`: finding runs by what they were (group, scenario type, cluster major
//! version, cloud, outcome, run tag, filing time), newest filed first, a page at a time.
//!
//! Served from the run index only (DynamoDB queries on `gsi1`/`gsi2`, or SQLite): documents are
//! never read to answer. Paging uses an opaque cursor: base64url of the last run's filing time
//! and key, so a page boundary holds however many runs are filed meanwhile.

use std::collections::HashMap;

use axum::Json;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use base64::Engine;
use krkn_telemetry_model::keys::{ArtifactKind, RunKey, validate_segment};
use serde::Serialize;

use super::artifacts::base_url;
use super::{AppState, Authenticated};
use crate::error::ApiError;
use crate::store::{EntryKind, RunPosition, RunQuery, RunSummary};
use crate::time::rfc3339;

/// Runs per page unless `limit` says otherwise.
pub const DEFAULT_PAGE: usize = 50;
/// The most runs one page may hold.
pub const MAX_PAGE: usize = 500;

const PARAMETERS: [&str; 10] = [
    "group",
    "scenario_type",
    "major_version",
    "cloud",
    "job_status",
    "run_tag",
    "since",
    "until",
    "limit",
    "cursor",
];

/// The run filters of `GET /api/v1/runs` and `GET /api/v1/scenarios`, as the OpenAPI document
/// lists them; [`parse_query`] reads them (a test holds the two to the same names).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct RunFilters {
    /// Only this group.
    group: Option<String>,
    /// A scenario type: runs having one (the export: only the scenarios of that type).
    scenario_type: Option<String>,
    /// Cluster major version, e.g. 4.18.
    major_version: Option<String>,
    /// Cloud platform, e.g. AWS.
    cloud: Option<String>,
    /// true/passed or false/failed.
    job_status: Option<String>,
    /// Text the run tag contains.
    run_tag: Option<String>,
    /// Filed at or after: RFC 3339 or unix seconds.
    since: Option<String>,
    /// Filed at or before: RFC 3339 or unix seconds.
    until: Option<String>,
    /// Where the previous page or response ended.
    cursor: Option<String>,
}

/// A run as `GET /api/v1/runs` lists it: what its index entry says and where to look
/// further. The wire form of [`RunSummary`], so that the index can change without changing
/// the API.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ListedRun {
    /// Group of the run.
    group: String,
    /// Request id of the run.
    request_id: String,
    /// krkn's run uuid.
    run_uuid: String,
    /// The run tag krkn appended to the request id (empty when none).
    run_tag: String,
    /// When it was filed, RFC 3339.
    filed_at: String,
    /// Cluster version.
    cluster_version: String,
    /// Cluster major version (`4.18`).
    major_version: String,
    /// Cloud platform.
    cloud_infrastructure: String,
    /// Overall outcome, when the document said.
    job_status: Option<bool>,
    /// Number of scenarios.
    scenario_count: u64,
    /// Distinct scenario types, sorted.
    scenario_types: Vec<String>,
    /// Size of the stored document.
    document_bytes: u64,
    /// This run's page in the API.
    url: String,
    /// Its folder in the file browser (the URL krkn prints).
    files_url: String,
}

impl From<RunSummary> for ListedRun {
    fn from(run: RunSummary) -> Self {
        ListedRun {
            url: format!("/api/v1/runs/{}/{}", run.group, run.request_id),
            files_url: format!("/files/{}/{}/", run.group, run.request_id),
            group: run.group,
            request_id: run.request_id,
            run_uuid: run.run_uuid,
            run_tag: run.run_tag,
            filed_at: run.filed_at,
            cluster_version: run.cluster_version,
            major_version: run.major_version,
            cloud_infrastructure: run.cloud_infrastructure,
            job_status: run.job_status,
            scenario_count: run.scenario_count,
            scenario_types: run.scenario_types,
            document_bytes: run.document_bytes,
        }
    }
}

/// One page of `GET /api/v1/runs`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunList {
    runs: Vec<ListedRun>,
    /// Pass as `cursor` for the next page; absent on the last one.
    next_cursor: Option<String>,
}

/// `GET /api/v1/runs?group=&scenario_type=&major_version=&cloud=&job_status=&run_tag=&since=&until=&limit=&cursor=`
#[utoipa::path(
    get,
    path = "/api/v1/runs",
    tag = "runs",
    params(
        RunFilters,
        ("limit" = Option<usize>, Query, description = "Runs per page, 1 to 500 (default 50)"),
    ),
    responses(
        (status = 200, description = "A page of runs, newest filed first", body = RunList),
        (status = 400, description = "A parameter or the body is wrong; the text names it", body = String, content_type = "text/plain"),
        (status = 401, description = "No or wrong credentials (WWW-Authenticate: Basic)", body = String, content_type = "text/plain"),
        (status = 403, description = "The user's role or groups do not allow this", body = String, content_type = "text/plain"),
        (status = 503, description = "Storage is unavailable; nothing was half-written", body = String, content_type = "text/plain")
    ),
    security(("basic" = []))
)]
pub async fn list_runs(
    Authenticated(user): Authenticated,
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<RunList>, ApiError> {
    let mut query = parse_query(&params)?;
    user.require_read(query.group.as_deref())?;
    if query.group.is_none() {
        query.allowed_groups = user.groups.clone();
    }
    let page = state.backend.index.query_runs(&query).await?;
    let runs = page.runs.into_iter().map(ListedRun::from).collect();
    Ok(Json(RunList {
        runs,
        next_cursor: page.next.as_ref().map(encode_cursor),
    }))
}

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
    let base = format!("{}/", base_url(&state, &headers)?);
    let mut files = Vec::new();
    let mut manifest = None;
    for entry in entries.into_iter().filter(|e| e.kind == EntryKind::File) {
        let object_key = format!("{}{}", key.prefix(), entry.path);
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
        files_url: format!("/files/{}/{}/", key.group(), key.request_id()),
        group: key.group().to_owned(),
        request_id: key.request_id().to_owned(),
        document,
        files,
        prometheus_backup,
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
    let Ok(manifest) = serde_json::from_slice::<ManifestDoc>(manifest) else {
        return Ok(HashMap::new());
    };
    let mut checksums = HashMap::new();
    for part in &manifest.parts {
        if !files.iter().any(|f| f.name == part.name) {
            continue;
        }
        if let Some(sha256) = objects
            .stat(&format!("{}{}", key.prefix(), part.name))
            .await?
            .and_then(|info| info.sha256)
        {
            checksums.insert(part.name.clone(), sha256);
        }
    }
    Ok(checksums)
}

/// One part in the manifest.
#[derive(serde::Deserialize)]
struct ManifestPart {
    name: String,
    size: u64,
    sha256: Option<String>,
}

/// The part of `prometheus-manifest.json` the run page reads.
#[derive(serde::Deserialize)]
struct ManifestDoc {
    parts: Vec<ManifestPart>,
    total_bytes: Option<u64>,
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
    let Ok(manifest) = serde_json::from_slice::<ManifestDoc>(bytes) else {
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

/// Reads and checks the query parameters; every mistake is a 400 naming the parameter.
pub fn parse_query(params: &HashMap<String, String>) -> Result<RunQuery, ApiError> {
    let bad = |message: String| ApiError::BadRequest(message);
    if let Some(unknown) = params.keys().find(|k| !PARAMETERS.contains(&k.as_str())) {
        return Err(bad(format!(
            "unknown parameter {unknown:?}; the run filters are {}",
            PARAMETERS.join(", ")
        )));
    }
    let text = |name: &str| -> Result<Option<String>, ApiError> {
        match params.get(name).map(|v| v.trim()) {
            None | Some("") => Ok(None),
            Some(v) if v.len() > 256 => Err(bad(format!("{name} is longer than 256 bytes"))),
            Some(v) => Ok(Some(v.to_owned())),
        }
    };
    let group = text("group")?;
    if let Some(g) = &group {
        validate_segment(g, "group").map_err(|e| bad(e.to_string()))?;
    }
    let job_status = match text("job_status")?.as_deref() {
        None => None,
        Some("true" | "passed") => Some(true),
        Some("false" | "failed") => Some(false),
        Some(other) => {
            return Err(bad(format!(
                "job_status must be true or false (or passed, failed), found {other:?}"
            )));
        }
    };
    let limit = match text("limit")? {
        None => DEFAULT_PAGE,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => {
                return Err(bad(format!(
                    "limit must be a number from 1 to {MAX_PAGE}, found {v:?}"
                )));
            }
        },
    };
    let since = text("since")?
        .map(|v| time_bound("since", &v))
        .transpose()?;
    let until = text("until")?
        .map(|v| time_bound("until", &v))
        .transpose()?;
    if let (Some(s), Some(u)) = (&since, &until)
        && s > u
    {
        return Err(bad(format!("since ({s}) is after until ({u})")));
    }
    let after = text("cursor")?.map(|c| decode_cursor(&c)).transpose()?;
    Ok(RunQuery {
        group,
        allowed_groups: None,
        scenario_type: text("scenario_type")?,
        major_version: text("major_version")?,
        cloud: text("cloud")?,
        job_status,
        run_tag: text("run_tag")?,
        since,
        until,
        limit,
        after,
    })
}

/// A time as the index writes it (`2026-12-01T03:30:00Z`), from RFC 3339 or unix seconds.
fn time_bound(name: &str, value: &str) -> Result<String, ApiError> {
    if let Ok(seconds) = value.parse::<i64>() {
        return Ok(rfc3339(seconds));
    }
    chrono::DateTime::parse_from_rfc3339(value)
        .map(|t| rfc3339(t.timestamp()))
        .map_err(|_| {
            ApiError::BadRequest(format!(
                "{name} must be RFC 3339 (2026-12-01T03:30:00Z) or unix seconds, found {value:?}"
            ))
        })
}

/// The cursor handed out for a page that ends at `position`.
pub fn encode_cursor(position: &RunPosition) -> String {
    let json = serde_json::to_vec(position).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

fn decode_cursor(cursor: &str) -> Result<RunPosition, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<RunPosition>(&bytes).ok())
        .filter(|p| {
            validate_segment(&p.group, "group").is_ok()
                && validate_segment(&p.request_id, "request_id").is_ok()
        })
        .ok_or_else(|| {
            ApiError::BadRequest(
                "cursor is not one this server handed out (pass next_cursor unchanged)".to_owned(),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn error(pairs: &[(&str, &str)]) -> String {
        parse_query(&params(pairs))
            .expect_err("refused")
            .to_string()
    }

    #[test]
    fn filters_are_read_and_mistakes_named() {
        let query = parse_query(&params(&[
            ("group", "perf"),
            ("job_status", "failed"),
            ("since", "1764559800"),
            ("until", "2026-12-01T04:30:00+01:00"),
            ("limit", "20"),
        ]))
        .expect("valid");
        assert_eq!(query.group.as_deref(), Some("perf"));
        assert_eq!(query.job_status, Some(false));
        assert_eq!(query.since.as_deref(), Some("2025-12-01T03:30:00Z"));
        assert_eq!(query.until.as_deref(), Some("2026-12-01T03:30:00Z"));
        assert_eq!(query.limit, 20);
        assert_eq!(
            parse_query(&HashMap::new()).expect("empty").limit,
            DEFAULT_PAGE
        );

        assert!(error(&[("colour", "red")]).contains("unknown parameter \"colour\""));
        assert!(error(&[("job_status", "maybe")]).contains("job_status must be true or false"));
        assert!(error(&[("limit", "0")]).contains("limit must be a number from 1 to 500"));
        assert!(error(&[("limit", "501")]).contains("limit"));
        assert!(error(&[("since", "yesterday")]).contains("since must be RFC 3339"));
        assert!(error(&[("since", "200"), ("until", "100")]).contains("is after until"));
        assert!(error(&[("group", "../x")]).contains("group"));
        assert!(error(&[("cursor", "not-a-cursor")]).contains("cursor is not one"));
    }

    #[test]
    fn the_documented_filters_are_the_parsed_ones() {
        use utoipa::IntoParams;
        let mut documented: Vec<String> = RunFilters::into_params(|| None)
            .into_iter()
            .map(|p| p.name)
            .chain(["limit".to_owned()])
            .collect();
        documented.sort();
        let mut parsed = PARAMETERS.to_vec();
        parsed.sort();
        assert_eq!(documented, parsed);
    }

    #[test]
    fn cursors_round_trip() {
        let position = RunPosition {
            filed_at: "2026-12-01T03:30:00Z".to_owned(),
            group: "perf".to_owned(),
            request_id: "1764559800-abc-tag".to_owned(),
        };
        let cursor = encode_cursor(&position);
        let query = parse_query(&params(&[("cursor", &cursor)])).expect("valid cursor");
        assert_eq!(query.after, Some(position));
    }
}

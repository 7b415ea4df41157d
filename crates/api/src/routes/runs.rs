//! `GET /api/v1/runs`: finding runs by what they were (group, scenario type, cluster major
//! version, cloud, outcome, run tag, filing time), newest filed first, a page at a time.
//!
//! Served from the run index only (DynamoDB queries on `gsi1`/`gsi2`, or SQLite): documents are
//! never read to answer. Paging uses an opaque cursor: base64url of the last run's filing time
//! and key, so a page boundary holds however many runs are filed meanwhile.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use base64::Engine;
use krkn_telemetry_model::keys::validate_segment;
use serde::Serialize;

use super::{AppState, Authenticated};
use crate::error::ApiError;
use crate::server::MountPrefix;
use crate::store::{RunPosition, RunQuery, RunSummary};
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

impl ListedRun {
    /// The wire form of a run, its URLs under `mount` (where the client reaches the router).
    fn of(run: RunSummary, mount: &MountPrefix) -> Self {
        let prefix = &mount.0;
        ListedRun {
            url: format!("{prefix}/api/v1/runs/{}/{}", run.group, run.request_id),
            files_url: format!("{prefix}/files/{}/{}/", run.group, run.request_id),
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
    mount: MountPrefix,
) -> Result<Json<RunList>, ApiError> {
    let mut query = parse_query(&params)?;
    user.require_read(query.group.as_deref())?;
    if query.group.is_none() {
        query.allowed_groups = user.groups.clone();
    }
    let page = state.backend.index.query_runs(&query).await?;
    let runs = page
        .runs
        .into_iter()
        .map(|run| ListedRun::of(run, &mount))
        .collect();
    Ok(Json(RunList {
        runs,
        next_cursor: page.next.as_ref().map(encode_cursor),
    }))
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

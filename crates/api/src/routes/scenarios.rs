//! `GET /api/v1/scenarios?format=ndjson|csv&<run filters>`: every scenario of the matching
//! runs as one flat row joined with its run's cluster metadata, for datasets (the columns are
//! the model's `export` module; ARCHITECTURE.md lists them).
//!
//! The export streams: runs are read from the index a page at a time, their stored rows with
//! them (documents are read only for runs filed before rows were stored), and the body is
//! written in chunks through a small bounded channel, so memory stays flat however many
//! scenarios match. CSV needs its columns before the first row, and a flattened parameter
//! column may appear in any run, so a CSV export reads the index twice: once for the column
//! set (and the run keys it saw, 8 bytes each, so that a run filed between the passes cannot
//! bring a column the header lacks), once to write. NDJSON needs one pass.
//!
//! With a byte budget (`KRKN_TELEMETRY_EXPORT_MAX_BYTES`; the Lambda defaults to 4 MiB, so
//! that the base64-encoded body stays under Lambda's 6 MB payload limit), an export ends
//! before the run that would take it past the budget (counted as written, [`line_cost`]) and
//! names where to continue in the `X-Next-Cursor` header (pass it as `cursor`).

use std::borrow::Cow;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use krkn_telemetry_model::export::{self, COLUMNS, INDEX_COLUMNS};
use krkn_telemetry_model::{ChaosRunTelemetry, RunKey};
use serde_json::Value;
use serde_json::value::RawValue;

use super::runs::{RunFilters, encode_cursor, parse_query};
use super::{AppState, Authenticated};
use crate::error::ApiError;
use crate::store::{RunPosition, RunQuery, RunSummary, StoreError, StoredRow};

/// Runs read from the index per query while exporting.
const RUNS_PER_READ: usize = 100;
/// Bytes gathered before a chunk goes out.
const CHUNK_BYTES: usize = 64 * 1024;
/// Chunks in flight between the producer and the connection.
const CHUNKS_IN_FLIGHT: usize = 4;

/// The two formats of the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line (`application/x-ndjson`).
    Ndjson,
    /// RFC 4180 CSV with a header line.
    Csv,
}

impl Format {
    fn parse(value: Option<&str>) -> Result<Format, ApiError> {
        match value.map(str::trim) {
            None | Some("" | "ndjson" | "jsonl") => Ok(Format::Ndjson),
            Some("csv") => Ok(Format::Csv),
            Some(other) => Err(ApiError::BadRequest(format!(
                "format must be ndjson or csv, found {other:?}"
            ))),
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Ndjson => "application/x-ndjson",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// `GET /api/v1/scenarios`
#[utoipa::path(
    get,
    path = "/api/v1/scenarios",
    tag = "runs",
    params(
        ("format" = Option<String>, Query, description = "ndjson (default) or csv"),
        RunFilters,
    ),
    responses(
        (status = 200, description = "One row per scenario joined with its run, streamed (columns: README, Dataset export); X-Next-Cursor when a byte budget ended the response early",
            content((String = "application/x-ndjson"), (String = "text/csv")),
            headers(("x-next-cursor" = String, description = "Pass as cursor to continue"))),
        (status = 400, description = "A parameter or the body is wrong; the text names it", body = String, content_type = "text/plain"),
        (status = 401, description = "No or wrong credentials (WWW-Authenticate: Basic)", body = String, content_type = "text/plain"),
        (status = 403, description = "The user's role or groups do not allow this", body = String, content_type = "text/plain"),
        (status = 503, description = "Storage is unavailable; nothing was half-written", body = String, content_type = "text/plain")
    ),
    security(("basic" = []))
)]
pub async fn export_scenarios(
    Authenticated(user): Authenticated,
    State(state): State<AppState>,
    Query(mut params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let format = Format::parse(params.remove("format").as_deref())?;
    if params.contains_key("limit") {
        return Err(ApiError::BadRequest(
            "limit does not apply to the export: it writes every matching scenario \
             (narrow it with since/until or the other run filters)"
                .to_owned(),
        ));
    }
    let mut query = parse_query(&params)?;
    user.require_read(query.group.as_deref())?;
    if query.group.is_none() {
        query.allowed_groups = user.groups.clone();
    }
    query.limit = RUNS_PER_READ;
    let budget = state.config.export_max_bytes;

    let plan = if format == Format::Csv || budget.is_some() {
        Some(survey(&state, &query, budget).await?)
    } else {
        None
    };

    let (sender, mut receiver) =
        tokio::sync::mpsc::channel::<Result<Bytes, ApiError>>(CHUNKS_IN_FLIGHT);
    let mut response_headers = HeaderMap::new();
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Some(cursor) = plan.as_ref().and_then(|p| p.next_cursor.as_deref())
        && let Ok(value) = HeaderValue::from_str(cursor)
    {
        response_headers.insert("x-next-cursor", value);
    }
    tokio::spawn(async move {
        if let Err(error) = produce(&state, query, format, plan, &sender).await {
            tracing::error!(%error, "scenario export failed part way; the response is cut short");
            let _ = sender.send(Err(error)).await;
        }
    });
    let stream = futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx));
    Ok((response_headers, Body::from_stream(stream)).into_response())
}

/// What the first pass learnt: the columns, the runs it saw, where the export ends.
struct Plan {
    /// Data-dependent columns (`parameters.*`, `objects.*`), sorted.
    dynamic_columns: BTreeSet<String>,
    /// Hashes of the run keys the first pass saw.
    runs_seen: HashSet<u64>,
    /// The last run of this response, when the budget cut the export.
    end: Option<RunPosition>,
    /// Where the next response starts, when the budget cut the export.
    next_cursor: Option<String>,
}

fn run_hash(run: &RunSummary) -> u64 {
    let mut hasher = DefaultHasher::new();
    (&run.group, &run.request_id).hash(&mut hasher);
    hasher.finish()
}

/// What one exported line costs in a response: its bytes, plus one for every byte that JSON
/// escaping doubles when a text body travels inside the Lambda's JSON payload. (A base64
/// body, NDJSON on the Lambda, costs 4/3 of its bytes instead; the Lambda's budget leaves
/// room for that.) Counted on the NDJSON line, which is never shorter than the CSV row of
/// the same scenario's fixed columns.
fn line_cost(line: &[u8]) -> u64 {
    let escaped = line
        .iter()
        .filter(|&&b| b == b'"' || b == b'\\' || b < 0x20)
        .count();
    (line.len() + escaped) as u64
}

/// The first pass: the column set, the runs, and where the byte budget ends the export. The
/// budget counts what is written ([`line_cost`]), and a run that would take the response past
/// it goes to the next response (unless it is the first: a run is never split).
async fn survey(state: &AppState, query: &RunQuery, budget: Option<u64>) -> Result<Plan, ApiError> {
    let mut source = RowSource::new(state, query.clone());
    let mut plan = Plan {
        dynamic_columns: BTreeSet::new(),
        runs_seen: HashSet::new(),
        end: None,
        next_cursor: None,
    };
    let mut bytes = 0u64;
    let mut last: Option<RunPosition> = None;
    let mut line = Vec::new();
    while let Some(run) = source.next().await? {
        let mut run_bytes = 0u64;
        let mut columns = Vec::new();
        for row in &run.rows {
            if budget.is_some() {
                line.clear();
                write_ndjson(&mut line, &run.summary, &row.text);
                run_bytes += line_cost(&line);
            }
            for (name, _) in entries(&run.summary, &row.text)?.iter().skip(COLUMNS.len()) {
                if !plan.dynamic_columns.contains(name.as_ref()) {
                    columns.push(name.clone().into_owned());
                }
            }
        }
        if let (Some(budget), Some(end)) = (budget, &last)
            && bytes + run_bytes > budget
        {
            plan.next_cursor = Some(encode_cursor(end));
            plan.end = Some(end.clone());
            break;
        }
        bytes += run_bytes;
        plan.runs_seen.insert(run_hash(&run.summary));
        plan.dynamic_columns.extend(columns);
        last = Some(RunPosition::of(&run.summary));
    }
    Ok(plan)
}

/// The second (or only) pass: writes the rows into the channel, a chunk at a time.
async fn produce(
    state: &AppState,
    query: RunQuery,
    format: Format,
    plan: Option<Plan>,
    sender: &tokio::sync::mpsc::Sender<Result<Bytes, ApiError>>,
) -> Result<(), ApiError> {
    let dynamic: Vec<String> = plan
        .iter()
        .flat_map(|p| p.dynamic_columns.iter().cloned())
        .collect();
    let header: Vec<&str> = INDEX_COLUMNS
        .iter()
        .chain(COLUMNS.iter())
        .map(|c| c.name)
        .chain(dynamic.iter().map(String::as_str))
        .collect();
    let mut csv = (format == Format::Csv).then(|| csv::Writer::from_writer(Vec::new()));
    if let Some(writer) = csv.as_mut() {
        writer.write_record(&header).map_err(csv_error)?;
    }
    let mut ndjson = Vec::new();
    let mut source = RowSource::new(state, query);
    while let Some(run) = source.next().await? {
        let summary = &run.summary;
        if let Some(plan) = &plan
            && !plan.runs_seen.contains(&run_hash(summary))
        {
            continue;
        }
        for row in &run.rows {
            match csv.as_mut() {
                Some(writer) => write_csv(writer, &dynamic, summary, &row.text)?,
                None => write_ndjson(&mut ndjson, summary, &row.text),
            }
        }
        let chunk = match csv.as_mut() {
            Some(writer) => {
                writer.flush().map_err(|e| csv_error(e.into()))?;
                if writer.get_ref().len() >= CHUNK_BYTES {
                    let full = std::mem::replace(writer, csv::Writer::from_writer(Vec::new()));
                    Some(
                        full.into_inner()
                            .map_err(|e| csv_error(e.into_error().into()))?,
                    )
                } else {
                    None
                }
            }
            None => (ndjson.len() >= CHUNK_BYTES).then(|| std::mem::take(&mut ndjson)),
        };
        if let Some(chunk) = chunk
            && sender.send(Ok(Bytes::from(chunk))).await.is_err()
        {
            return Ok(()); // The client went away.
        }
        if plan
            .as_ref()
            .and_then(|p| p.end.as_ref())
            .is_some_and(|end| *end == RunPosition::of(summary))
        {
            break;
        }
    }
    let rest = match csv {
        Some(writer) => writer
            .into_inner()
            .map_err(|e| csv_error(e.into_error().into()))?,
        None => ndjson,
    };
    if !rest.is_empty() {
        let _ = sender.send(Ok(Bytes::from(rest))).await;
    }
    Ok(())
}

fn csv_error(error: csv::Error) -> ApiError {
    ApiError::Store(StoreError::Task(format!("writing CSV: {error}")))
}

/// The index columns of a run, in [`INDEX_COLUMNS`] order.
fn index_values(run: &RunSummary) -> [&str; 4] {
    [&run.group, &run.request_id, &run.run_tag, &run.filed_at]
}

/// A stored row's entries, in order; a row that does not read is a storage fault.
fn entries<'t>(
    run: &RunSummary,
    text: &'t str,
) -> Result<Vec<(Cow<'t, str>, &'t RawValue)>, ApiError> {
    export::row_entries(text).map_err(|e| {
        ApiError::Store(StoreError::Task(format!(
            "export row of {}/{} does not read: {e}",
            run.group, run.request_id
        )))
    })
}

/// One NDJSON line: the index columns, then the stored row's own text (already in column
/// order), so nothing is parsed.
fn write_ndjson(out: &mut Vec<u8>, run: &RunSummary, text: &str) {
    for (i, (column, value)) in INDEX_COLUMNS.iter().zip(index_values(run)).enumerate() {
        out.push(if i == 0 { b'{' } else { b',' });
        // Strings always serialize.
        let _ = serde_json::to_writer(&mut *out, column.name);
        out.push(b':');
        let _ = serde_json::to_writer(&mut *out, value);
    }
    match text.strip_prefix('{') {
        Some(rest) if rest != "}" => {
            out.push(b',');
            out.extend_from_slice(rest.as_bytes());
        }
        _ => out.push(b'}'),
    }
    out.push(b'\n');
}

/// One CSV record: the index columns, the fixed columns in order, then `dynamic` (sorted),
/// merged with the row's own data columns (sorted too).
fn write_csv(
    writer: &mut csv::Writer<Vec<u8>>,
    dynamic: &[String],
    run: &RunSummary,
    text: &str,
) -> Result<(), ApiError> {
    for value in index_values(run) {
        writer.write_field(value).map_err(csv_error)?;
    }
    let entries = entries(run, text)?;
    for (i, column) in COLUMNS.iter().enumerate() {
        // Rendered rows hold the fixed columns first, in order; look a column up only if not.
        let value = match entries.get(i) {
            Some((name, value)) if name == column.name => Some(*value),
            _ => entries
                .iter()
                .find(|(n, _)| n == column.name)
                .map(|(_, v)| *v),
        };
        let cell = value.map(export::cell_text).unwrap_or_default();
        writer.write_field(cell.as_bytes()).map_err(csv_error)?;
    }
    let mut own = entries.iter().skip(COLUMNS.len()).peekable();
    for column in dynamic {
        while own
            .next_if(|(name, _)| name.as_ref() < column.as_str())
            .is_some()
        {}
        let cell = match own.peek() {
            Some((name, value)) if name.as_ref() == column.as_str() => export::cell_text(value),
            _ => Cow::Borrowed(""),
        };
        writer.write_field(cell.as_bytes()).map_err(csv_error)?;
    }
    writer.write_record(None::<&[u8]>).map_err(csv_error)
}

/// A run and its rows (only those of the asked scenario type, when one was asked).
struct ExportRun {
    summary: RunSummary,
    rows: Vec<StoredRow>,
}

/// The matching runs with their rows, newest filed first, read a page at a time.
struct RowSource<'a> {
    state: &'a AppState,
    query: RunQuery,
    ready: VecDeque<ExportRun>,
    done: bool,
}

impl<'a> RowSource<'a> {
    fn new(state: &'a AppState, query: RunQuery) -> Self {
        RowSource {
            state,
            query,
            ready: VecDeque::new(),
            done: false,
        }
    }

    async fn next(&mut self) -> Result<Option<ExportRun>, ApiError> {
        loop {
            if let Some(run) = self.ready.pop_front() {
                return Ok(Some(run));
            }
            if self.done {
                return Ok(None);
            }
            let index = &self.state.backend.index;
            let page = index.query_runs(&self.query).await?;
            let stored = index.export_rows(&page.runs).await?;
            for (summary, rows) in page.runs.into_iter().zip(stored) {
                let mut rows = match rows {
                    Some(rows) => rows,
                    None => self.rows_from_document(&summary).await?,
                };
                if let Some(wanted) = &self.query.scenario_type {
                    rows.retain(|r| &r.scenario_type == wanted);
                }
                self.ready.push_back(ExportRun { summary, rows });
            }
            match page.next {
                Some(next) => self.query.after = Some(next),
                None => self.done = true,
            }
        }
    }

    /// Rows of a run filed before rows were stored in the index (or under an older layout).
    async fn rows_from_document(&self, run: &RunSummary) -> Result<Vec<StoredRow>, ApiError> {
        let key = RunKey::new(&run.group, &run.request_id)?;
        let bytes = self
            .state
            .backend
            .objects
            .get(&key.telemetry_key())
            .await?
            .ok_or_else(|| {
                ApiError::Store(StoreError::Task(format!(
                    "{} is indexed but its document is missing",
                    key.telemetry_key()
                )))
            })?;
        let document = ChaosRunTelemetry::from_json(&bytes).map_err(|problems| {
            ApiError::Store(StoreError::Task(format!(
                "stored document {} no longer parses: {problems}",
                key.telemetry_key()
            )))
        })?;
        Ok(export::scenario_rows(&document)
            .iter()
            .map(|row| StoredRow {
                scenario_type: row
                    .get("scenario_type")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                text: export::render_row(row),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_named() {
        assert_eq!(Format::parse(None).expect("default"), Format::Ndjson);
        assert_eq!(Format::parse(Some("csv")).expect("csv"), Format::Csv);
        let error = Format::parse(Some("xlsx"))
            .expect_err("refused")
            .to_string();
        assert!(error.contains("format must be ndjson or csv"), "{error}");
    }
}

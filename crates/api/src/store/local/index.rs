//! The run index's rows and queries: one row per run, one per scenario; pages of runs by the
//! filters of [`RunQuery`]; the stored export rows.

use rusqlite::params;
use rusqlite::types::Value;

use super::Core;
use crate::store::{RunPage, RunQuery, RunRecord, RunSummary, StoreError, StoredRow};
use krkn_telemetry_model::export::EXPORT_VERSION;

/// The columns of a listed run, in [`summary_of_row`]'s order.
const SUMMARY_COLUMNS: &str = "SELECT r.grp, r.request_id, r.run_uuid, r.run_tag, r.filed_at,
        r.cluster_version, r.major_version, r.cloud_infrastructure, r.job_status,
        r.scenario_count, r.document_bytes,
        (SELECT group_concat(t, char(10)) FROM (
            SELECT DISTINCT scenario_type AS t FROM scenarios s
            WHERE s.grp = r.grp AND s.request_id = r.request_id AND s.scenario_type != ''
            ORDER BY t))
    FROM runs r WHERE 1 = 1";

impl Core {
    /// Number of indexed runs and scenarios of a run key.
    pub(super) fn count_run(
        &self,
        group: &str,
        request_id: &str,
    ) -> Result<(u64, u64), StoreError> {
        let db = self.db.reader();
        let runs: u64 = db.query_row(
            "SELECT COUNT(*) FROM runs WHERE grp = ?1 AND request_id = ?2",
            params![group, request_id],
            |r| r.get(0),
        )?;
        let scenarios: u64 = db.query_row(
            "SELECT COUNT(*) FROM scenarios WHERE grp = ?1 AND request_id = ?2",
            params![group, request_id],
            |r| r.get(0),
        )?;
        Ok((runs, scenarios))
    }

    /// One page of runs matching `query`, newest filed first (ties: group, then request id,
    /// both descending).
    pub(super) fn select_runs(&self, query: &RunQuery) -> Result<RunPage, StoreError> {
        let (sql, values) = runs_sql(query);
        let db = self.db.reader();
        let mut statement = db.prepare_cached(&sql)?;
        let runs = statement
            .query_map(rusqlite::params_from_iter(values), summary_of_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RunPage::from_one_more(runs, query.limit))
    }

    /// The stored export rows of each run's scenarios (see
    /// [`RunIndex::export_rows`](crate::store::RunIndex::export_rows)).
    pub(super) fn read_export_rows(
        &self,
        runs: &[RunSummary],
    ) -> Result<Vec<Option<Vec<StoredRow>>>, StoreError> {
        let db = self.db.reader();
        let mut statement = db.prepare_cached(
            "SELECT scenario_type, export_version, export_row FROM scenarios
             WHERE grp = ?1 AND request_id = ?2 ORDER BY idx",
        )?;
        let mut all = Vec::with_capacity(runs.len());
        for run in runs {
            let rows = statement.query_map(params![run.group, run.request_id], |r| {
                let version: Option<i64> = r.get(1)?;
                let text: Option<String> = r.get(2)?;
                match text.filter(|_| version == Some(i64::from(EXPORT_VERSION))) {
                    Some(text) => Ok(Some(StoredRow {
                        scenario_type: r.get(0)?,
                        text,
                    })),
                    None => Ok(None),
                }
            })?;
            let rows: Vec<Option<StoredRow>> = rows.collect::<Result<_, _>>()?;
            let complete = rows.len() as u64 == run.scenario_count;
            all.push(if complete {
                rows.into_iter().collect()
            } else {
                None
            });
        }
        Ok(all)
    }
}

/// The SQL and values of a page of runs: the filters of `query` as conditions (the same
/// rules as [`RunQuery::accepts`], held to it by the store property test), newest first, one
/// run more than the page so that the caller knows whether more follow.
fn runs_sql(query: &RunQuery) -> (String, Vec<Value>) {
    let mut sql = String::from(SUMMARY_COLUMNS);
    let mut values: Vec<Value> = Vec::new();
    let mut condition = |sql_part: &str, value: Value| {
        sql.push_str(sql_part);
        values.push(value);
    };
    if let Some(group) = &query.group {
        condition(" AND r.grp = ?", Value::Text(group.clone()));
    }
    if let Some(t) = &query.scenario_type {
        condition(
            " AND EXISTS (SELECT 1 FROM scenarios s WHERE s.grp = r.grp
               AND s.request_id = r.request_id AND s.scenario_type = ?)",
            Value::Text(t.clone()),
        );
    }
    if let Some(v) = &query.major_version {
        condition(" AND r.major_version = ?", Value::Text(v.clone()));
    }
    if let Some(c) = &query.cloud {
        condition(" AND r.cloud_infrastructure = ?", Value::Text(c.clone()));
    }
    if let Some(j) = query.job_status {
        condition(" AND r.job_status = ?", Value::Integer(i64::from(j)));
    }
    if let Some(t) = &query.run_tag {
        condition(" AND instr(r.run_tag, ?) > 0", Value::Text(t.clone()));
    }
    if let Some(since) = &query.since {
        condition(" AND r.filed_at >= ?", Value::Text(since.clone()));
    }
    if let Some(until) = &query.until {
        condition(" AND r.filed_at <= ?", Value::Text(until.clone()));
    }
    if let Some(after) = &query.after {
        sql.push_str(" AND (r.filed_at, r.grp, r.request_id) < (?, ?, ?)");
        values.extend([
            Value::Text(after.filed_at.clone()),
            Value::Text(after.group.clone()),
            Value::Text(after.request_id.clone()),
        ]);
    }
    if let Some(groups) = &query.allowed_groups {
        sql.push_str(" AND r.grp IN (");
        sql.push_str(&vec!["?"; groups.len()].join(", "));
        sql.push(')');
        values.extend(groups.iter().cloned().map(Value::Text));
        if groups.is_empty() {
            sql.push_str(" AND 0");
        }
    }
    sql.push_str(" ORDER BY r.filed_at DESC, r.grp DESC, r.request_id DESC LIMIT ?");
    values.push(Value::Integer(query.limit as i64 + 1));
    (sql, values)
}

/// A listed run from a row of [`SUMMARY_COLUMNS`].
fn summary_of_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunSummary> {
    let types: Option<String> = r.get(11)?;
    Ok(RunSummary {
        group: r.get(0)?,
        request_id: r.get(1)?,
        run_uuid: r.get(2)?,
        run_tag: r.get(3)?,
        filed_at: r.get(4)?,
        cluster_version: r.get(5)?,
        major_version: r.get(6)?,
        cloud_infrastructure: r.get(7)?,
        job_status: r.get(8)?,
        scenario_count: r.get::<_, i64>(9)?.max(0) as u64,
        document_bytes: r.get::<_, i64>(10)?.max(0) as u64,
        scenario_types: types
            .map(|t| t.split('\n').map(str::to_owned).collect())
            .unwrap_or_default(),
    })
}

/// The index rows of one run, inside the caller's transaction (one row per run, one per
/// scenario; an existing run's rows are replaced).
pub(super) fn insert_run(tx: &rusqlite::Transaction<'_>, run: &RunRecord) -> rusqlite::Result<()> {
    // Cached statements: parsing the SQL on every filing was 3% of the server's time.
    tx.prepare_cached(
        "INSERT OR REPLACE INTO runs (grp, request_id, run_uuid, filed_at, cluster_version,
             cloud_infrastructure, job_status, document_sha256, document_bytes,
             major_version, run_tag, scenario_count)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        run.group,
        run.request_id,
        run.run_uuid,
        run.filed_at,
        run.cluster_version,
        run.cloud_infrastructure,
        run.job_status,
        run.document_sha256,
        run.document_bytes as i64,
        run.major_version,
        run.run_tag,
        run.scenarios.len() as i64
    ])?;
    tx.prepare_cached("DELETE FROM scenarios WHERE grp = ?1 AND request_id = ?2")?
        .execute(params![run.group, run.request_id])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO scenarios (grp, request_id, idx, scenario, scenario_type,
             exit_status, start_timestamp, end_timestamp, export_version, export_row)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for s in &run.scenarios {
        insert.execute(params![
            run.group,
            run.request_id,
            s.index,
            s.scenario,
            s.scenario_type,
            s.exit_status,
            s.start_timestamp,
            s.end_timestamp,
            EXPORT_VERSION,
            s.export_row
        ])?;
    }
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use rusqlite::Connection;

    use super::*;
    use crate::store::ScenarioRecord;

    /// A run of group `perf` with one scenario per index.
    pub(in crate::store::local) fn run_record(
        request_id: &str,
        scenario_indexes: &[u32],
    ) -> RunRecord {
        RunRecord {
            group: "perf".to_owned(),
            request_id: request_id.to_owned(),
            run_uuid: "abc".to_owned(),
            filed_at: "2026-12-01T08:00:00Z".to_owned(),
            cluster_version: "4.18.0".to_owned(),
            major_version: "4.18".to_owned(),
            run_tag: String::new(),
            cloud_infrastructure: "AWS".to_owned(),
            job_status: Some(true),
            document_sha256: "x".to_owned(),
            document_bytes: 10,
            scenarios: scenario_indexes
                .iter()
                .map(|&index| ScenarioRecord {
                    index,
                    scenario: "s.yaml".to_owned(),
                    scenario_type: "pod_disruption_scenarios".to_owned(),
                    exit_status: Some(0),
                    start_timestamp: Some(1.0),
                    end_timestamp: Some(2.0),
                    export_row: Some("[]".to_owned()),
                })
                .collect(),
        }
    }

    /// An index written before run queries existed gains their columns, filled in from what
    /// it holds, and its runs are listed.
    #[test]
    fn an_older_index_is_migrated_and_queried() {
        let dir = tempfile::tempdir().expect("temp dir");
        {
            let db = Connection::open(dir.path().join("index.sqlite")).expect("db");
            db.execute_batch(
                "CREATE TABLE runs (
                     grp TEXT NOT NULL, request_id TEXT NOT NULL, run_uuid TEXT NOT NULL,
                     filed_at TEXT NOT NULL, cluster_version TEXT NOT NULL,
                     cloud_infrastructure TEXT NOT NULL, job_status INTEGER,
                     document_sha256 TEXT NOT NULL, document_bytes INTEGER NOT NULL,
                     PRIMARY KEY (grp, request_id));
                 CREATE TABLE scenarios (
                     grp TEXT NOT NULL, request_id TEXT NOT NULL, idx INTEGER NOT NULL,
                     scenario TEXT NOT NULL, scenario_type TEXT NOT NULL, exit_status INTEGER,
                     start_timestamp REAL, end_timestamp REAL,
                     PRIMARY KEY (grp, request_id, idx));
                 INSERT INTO runs VALUES ('perf', '1764000000-abc-nightly', 'abc',
                     '2026-11-24T16:00:00Z', '4.18.0-0.nightly-2025-03-13', 'AWS', 0, 'x', 10);
                 INSERT INTO scenarios VALUES ('perf', '1764000000-abc-nightly', 0, 's.yaml',
                     'node_scenarios', 1, NULL, NULL);
                 INSERT INTO scenarios VALUES ('perf', '1764000000-abc-nightly', 1, 't.yaml',
                     'node_scenarios', 0, NULL, NULL);",
            )
            .expect("old schema");
        }
        let store = Core::open(dir.path()).expect("opens and migrates");
        let page = store
            .select_runs(&RunQuery {
                major_version: Some("4.18".to_owned()),
                scenario_type: Some("node_scenarios".to_owned()),
                run_tag: Some("night".to_owned()),
                limit: 10,
                ..RunQuery::default()
            })
            .expect("query");
        assert_eq!(page.runs.len(), 1, "{page:?}");
        let run = &page.runs[0];
        assert_eq!(run.run_tag, "nightly");
        assert_eq!(run.major_version, "4.18");
        assert_eq!(run.scenario_count, 2);
        assert_eq!(run.scenario_types, ["node_scenarios"]);
        assert_eq!(run.job_status, Some(false));
        assert!(page.next.is_none());
        // Opening again is a no-op.
        drop(store);
        Core::open(dir.path()).expect("opens again");
    }
}

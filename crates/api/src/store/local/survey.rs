//! What `fsck` reads of the index database: groups with rows, and per run key of a group its
//! run row and scenario rows.

use std::collections::BTreeMap;

use rusqlite::params;

use super::Core;
use crate::store::StoreError;
use crate::store::survey::{IndexedRun, RunEntryFacts};
use krkn_telemetry_model::export::EXPORT_VERSION;

impl Core {
    /// The groups with a run or scenario row.
    pub(super) fn read_indexed_groups(&self) -> Result<Vec<String>, StoreError> {
        let db = self.db.reader();
        let mut statement =
            db.prepare_cached("SELECT grp FROM runs UNION SELECT grp FROM scenarios ORDER BY grp")?;
        let groups = statement.query_map([], |r| r.get(0))?;
        Ok(groups.collect::<Result<_, _>>()?)
    }

    /// Every run key of `group` with rows, by request id.
    pub(super) fn read_group_survey(&self, group: &str) -> Result<Vec<IndexedRun>, StoreError> {
        let db = self.db.reader();
        let mut found: BTreeMap<String, IndexedRun> = BTreeMap::new();
        let mut runs = db.prepare_cached(
            "SELECT request_id, filed_at, document_bytes, scenario_count FROM runs WHERE grp = ?1",
        )?;
        let rows = runs.query_map(params![group], |r| {
            Ok((
                r.get::<_, String>(0)?,
                RunEntryFacts {
                    filed_at: r.get(1)?,
                    document_bytes: r.get::<_, i64>(2)?.max(0) as u64,
                    scenario_count: r.get::<_, i64>(3)?.max(0) as u64,
                    current_layout: true,
                },
            ))
        })?;
        for row in rows {
            let (request_id, entry) = row?;
            found.entry(request_id.clone()).or_default().entry = Some(entry);
        }
        let mut scenarios = db.prepare_cached(
            "SELECT request_id, COUNT(*),
                    SUM(CASE WHEN export_version IS ?2 THEN 0 ELSE 1 END)
             FROM scenarios WHERE grp = ?1 GROUP BY request_id",
        )?;
        let rows = scenarios.query_map(params![group, EXPORT_VERSION], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        for row in rows {
            let (request_id, entries, stale) = row?;
            let run = found.entry(request_id).or_default();
            run.scenario_entries = entries.max(0) as u64;
            run.stale_rows = stale.max(0) as u64;
        }
        Ok(found
            .into_iter()
            .map(|(request_id, run)| IndexedRun { request_id, ..run })
            .collect())
    }
}

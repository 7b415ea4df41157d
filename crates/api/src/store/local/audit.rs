//! The audit log in the index database: one row per admin action, numbered in the order
//! they were recorded (`seq`, never reused: AUTOINCREMENT).

use rusqlite::params;

use super::Core;
use crate::store::{AuditPage, AuditPosition, AuditQuery, AuditRecord, StoreError};

impl Core {
    /// Appends a record.
    pub(super) fn append_audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        self.db.writer().execute(
            "INSERT INTO audit (at, actor, via, source, action, target, grp, details)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                record.at,
                record.actor,
                record.via,
                record.source,
                record.action,
                record.target,
                record.group,
                record.details.to_string()
            ],
        )?;
        Ok(())
    }

    /// One page of records, newest first. A position whose id is not a sequence number was
    /// handed out by another store: nothing is before it here.
    pub(super) fn read_audit(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        let before = match &query.before {
            None => i64::MAX,
            Some(position) => match position.id.parse::<i64>() {
                Ok(seq) => seq,
                Err(_) => return Ok(AuditPage::default()),
            },
        };
        let groups = query
            .groups
            .as_ref()
            .map(|groups| serde_json::Value::from(groups.clone()).to_string());
        let db = self.db.reader();
        let mut statement = db.prepare_cached(
            "SELECT seq, at, actor, via, source, action, target, grp, details FROM audit
             WHERE seq < ?1 AND (?2 IS NULL OR grp IN (SELECT value FROM json_each(?2)))
             ORDER BY seq DESC LIMIT ?3",
        )?;
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        let rows = statement.query_map(params![before, groups, limit.saturating_add(1)], |r| {
            let details: String = r.get(8)?;
            Ok((
                r.get::<_, i64>(0)?,
                AuditRecord {
                    at: r.get(1)?,
                    actor: r.get(2)?,
                    via: r.get(3)?,
                    source: r.get(4)?,
                    action: r.get(5)?,
                    target: r.get(6)?,
                    group: r.get(7)?,
                    details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
                },
            ))
        })?;
        let mut rows: Vec<(i64, AuditRecord)> = rows.collect::<Result<_, _>>()?;
        let more = rows.len() > query.limit;
        rows.truncate(query.limit);
        let next = more
            .then(|| rows.last())
            .flatten()
            .map(|(seq, record)| AuditPosition {
                at: record.at.clone(),
                id: seq.to_string(),
            });
        Ok(AuditPage {
            records: rows.into_iter().map(|(_, record)| record).collect(),
            next,
        })
    }
}

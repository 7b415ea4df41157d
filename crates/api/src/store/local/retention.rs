//! Retention rules in the index database (`retention`: one row per group, `*` for the
//! default).

use rusqlite::{OptionalExtension, params};

use super::Core;
use crate::store::StoreError;
use crate::store::retention::{DEFAULT_RULE, RetentionRule};

impl Core {
    /// Every rule, the default first, then by group.
    pub(super) fn read_retention(&self) -> Result<Vec<RetentionRule>, StoreError> {
        let db = self.db.reader();
        let mut statement =
            db.prepare_cached("SELECT grp, days FROM retention ORDER BY grp <> ?1, grp")?;
        let rows = statement.query_map(params![DEFAULT_RULE], |r| {
            let group: String = r.get(0)?;
            Ok(RetentionRule {
                group: (group != DEFAULT_RULE).then_some(group),
                days: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Sets (`Some`) or removes (`None`) the rule of `group` (the default when `None`);
    /// returns the days it said before.
    pub(super) fn write_retention(
        &self,
        group: Option<&str>,
        days: Option<u32>,
    ) -> Result<Option<u32>, StoreError> {
        let name = group.unwrap_or(DEFAULT_RULE);
        let mut db = self.db.writer();
        let transaction = db.transaction()?;
        let before: Option<u32> = transaction
            .query_row(
                "SELECT days FROM retention WHERE grp = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()?;
        match days {
            Some(days) => transaction.execute(
                "INSERT OR REPLACE INTO retention (grp, days) VALUES (?1, ?2)",
                params![name, days],
            )?,
            None => transaction.execute("DELETE FROM retention WHERE grp = ?1", params![name])?,
        };
        transaction.commit()?;
        Ok(before)
    }
}

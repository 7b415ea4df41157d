//! Users in the index database: name, role, groups and the argon2id hash of the password.

use rusqlite::{OptionalExtension, params};

use super::Core;
use crate::store::{StoreError, UserRecord};

/// A user from a row of `name, role, groups, password_hash`.
fn user_of_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        name: r.get(0)?,
        role: r.get(1)?,
        groups: r.get(2)?,
        password_hash: r.get(3)?,
    })
}

impl Core {
    /// Reads a user (every request does: on a reading connection).
    pub(super) fn read_user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        let db = self.db.reader();
        let mut statement = db.prepare_cached(
            "SELECT name, role, groups, password_hash FROM users WHERE name = ?1",
        )?;
        Ok(statement.query_row(params![name], user_of_row).optional()?)
    }

    /// Creates or replaces a user.
    pub(super) fn write_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        self.db.writer().execute(
            "INSERT OR REPLACE INTO users VALUES (?1, ?2, ?3, ?4)",
            params![user.name, user.role, user.groups, user.password_hash],
        )?;
        Ok(())
    }

    /// Removes a user; true when one was removed.
    pub(super) fn delete_user(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self
            .db
            .writer()
            .execute("DELETE FROM users WHERE name = ?1", params![name])?
            > 0)
    }

    /// Every user, by name.
    pub(super) fn read_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let db = self.db.reader();
        let mut statement =
            db.prepare("SELECT name, role, groups, password_hash FROM users ORDER BY name")?;
        let rows = statement.query_map([], user_of_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

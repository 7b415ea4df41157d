//! The size and SHA-256 of stored objects, recorded when they are stored (uploads in the
//! `artifacts` table, documents in their run's row), so that a retried upload is decided
//! without reading the stored object.

use krkn_telemetry_model::{ArtifactKind, RunKey};
use rusqlite::{OptionalExtension, params};

use super::Core;
use super::paths::io;
use crate::store::StoreError;

impl Core {
    /// The SHA-256 recorded for `key` when its size is still `size`.
    pub(super) fn recorded_checksum(
        &self,
        key: &str,
        size: u64,
    ) -> Result<Option<String>, StoreError> {
        let db = self.db.reader();
        let recorded: Option<(i64, String)> = db
            .prepare_cached("SELECT size, sha256 FROM artifacts WHERE key = ?1")?
            .query_row(params![key], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((recorded_size, sha256)) = recorded {
            return Ok((recorded_size as u64 == size).then_some(sha256));
        }
        if let Some((run, file)) = RunKey::of_object_key(key)
            && file.kind() == ArtifactKind::Telemetry
        {
            let document: Option<(i64, String)> = db
                .prepare_cached(
                    "SELECT document_bytes, document_sha256 FROM runs WHERE grp = ?1 AND request_id = ?2",
                )?
                .query_row(params![run.group(), run.request_id()], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            return Ok(document
                .filter(|(n, _)| *n as u64 == size)
                .map(|(_, sha)| sha));
        }
        Ok(None)
    }

    /// Records the size and SHA-256 of an uploaded object.
    pub(super) fn record_checksum(
        &self,
        key: &str,
        size: u64,
        sha256: &str,
    ) -> Result<(), StoreError> {
        self.db
            .writer()
            .prepare_cached(
                "INSERT OR REPLACE INTO artifacts (key, size, sha256) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![key, size as i64, sha256])?;
        Ok(())
    }

    /// The size and SHA-256 of the object under `key`: as recorded, or read from the file
    /// once (an object stored before checksums were recorded) and recorded.
    pub(super) fn checksum_of(&self, key: &str) -> Result<Option<(u64, String)>, StoreError> {
        let Some(info) = self.stat(key)? else {
            return Ok(None);
        };
        if let Some(sha256) = info.sha256 {
            return Ok(Some((info.size, sha256)));
        }
        let Some((mut file, size)) = self.open_object(key)? else {
            return Ok(None);
        };
        let path = self.object_path(key)?;
        let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
        std::io::copy(&mut file, &mut hasher).map_err(io("read", &path))?;
        let sha256 = hex::encode(sha2::Digest::finalize(hasher));
        self.record_checksum(key, size, &sha256)?;
        Ok(Some((size, sha256)))
    }
}

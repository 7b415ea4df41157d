//! Deleting a run from the embedded store: its index rows in one transaction (the run, its
//! scenarios, the checksums recorded for its files, logged copies of its documents), then its
//! folder. The logged copies go with the rows, so that neither a read (which falls back to
//! the log) nor the recovery after a crash brings a deleted document back.

use std::fs;

use rusqlite::params;

use super::Core;
use super::paths::io;
use crate::store::StoreError;

/// The first key after every key under `prefix` (a folder prefix ending in `/`): `0` is the
/// character after `/`, so `[prefix, end)` holds exactly the keys inside the folder.
fn end_of(prefix: &str) -> String {
    let mut end = prefix.trim_end_matches('/').to_owned();
    end.push('0');
    end
}

impl Core {
    /// Removes the index rows of `group/request_id`; true when the run had a row.
    pub(super) fn remove_run_rows(
        &self,
        group: &str,
        request_id: &str,
    ) -> Result<bool, StoreError> {
        let prefix = format!("{group}/{request_id}/");
        let end = end_of(&prefix);
        let mut db = self.db.writer();
        let tx = db.transaction()?;
        let runs = tx.execute(
            "DELETE FROM runs WHERE grp = ?1 AND request_id = ?2",
            params![group, request_id],
        )?;
        tx.execute(
            "DELETE FROM scenarios WHERE grp = ?1 AND request_id = ?2",
            params![group, request_id],
        )?;
        tx.execute(
            "DELETE FROM artifacts WHERE key >= ?1 AND key < ?2",
            params![prefix, end],
        )?;
        tx.execute(
            "DELETE FROM pending_documents WHERE key >= ?1 AND key < ?2",
            params![prefix, end],
        )?;
        tx.commit()?;
        Ok(runs > 0)
    }

    /// Removes the folder of `prefix` (`group/run/`) and every file in it, then the group's
    /// folder when that is left empty (a group exists while something is filed under it, as
    /// on S3); the folders that lost entries are synced. Returns how many files went.
    pub(super) fn remove_folder(&self, prefix: &str) -> Result<usize, StoreError> {
        let dir = self.object_path(prefix.trim_end_matches('/'))?;
        let files = match fs::read_dir(&dir) {
            Ok(reader) => reader
                .filter_map(Result::ok)
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .count(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(io("list", &dir)(e)),
        };
        match fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(io("remove", &dir)(e)),
        }
        let group_dir = dir.parent().unwrap_or(&self.objects).to_owned();
        self.folder_syncs
            .sync(&group_dir)
            .map_err(io("sync", &group_dir))?;
        // A filing of the group may be creating its run folder in it right now: then the
        // folder is not empty (or it recreates it, as `folders::create_folders` does).
        if group_dir != self.objects && fs::remove_dir(&group_dir).is_ok() {
            self.folder_syncs
                .sync(&self.objects)
                .map_err(io("sync", &self.objects))?;
        }
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_of_a_folder_follows_every_key_inside_it_and_no_key_of_a_longer_name() {
        let end = end_of("perf/1-a/");
        assert_eq!(end, "perf/1-a0");
        for inside in ["perf/1-a/telemetry.json", "perf/1-a/zzz"] {
            assert!(("perf/1-a/"..end.as_str()).contains(&inside), "{inside}");
        }
        for outside in ["perf/1-ab/telemetry.json", "perf/1-a0", "perf/1-a.x/f"] {
            assert!(!("perf/1-a/"..end.as_str()).contains(&outside), "{outside}");
        }
    }
}

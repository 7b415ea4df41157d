//! Telemetry documents written through the index's log: durable once their filing returns,
//! visible only once their bytes are logged (see `document_log` for the order and why).

use std::fs;
use std::path::{Path, PathBuf};

use super::folders::{create_folders, link_new, link_new_durably};
use super::group_commit::IndexWrite;
use super::paths::io;
use super::schema::index_path;
use super::{Core, document_log, private_files};
use crate::store::{PutOutcome, StoreError};

impl Core {
    /// Writes `bytes` under `key` unless an object is already there.
    ///
    /// The bytes go to a hidden file next to the object (page cache), then into the index's
    /// log, one synced commit for every filing of that moment, and only then is the file
    /// linked under its name, so that a document is never visible before its bytes are
    /// durable (`document_log`). Should the log refuse the write, the file and its folders
    /// are synced before the link instead. A write that fails removes the folders it made.
    pub(super) fn put_document(&self, key: &str, bytes: Vec<u8>) -> Result<PutOutcome, StoreError> {
        let path = self.object_path(key)?;
        let parent = path.parent().unwrap_or(&self.objects).to_owned();
        // Folders first, then the existence check: once its folder exists, looking the
        // object up takes only that folder's (uncontended) lock; see `create_folders`.
        let changed = create_folders(&self.objects, &parent)?;
        let written = self.put_document_in(key, &path, &parent, &changed, bytes);
        if written.is_err() && !changed.is_empty() {
            private_files::remove_empty_folders(&parent, &self.objects);
        }
        written
    }

    /// [`Core::put_document`] once the folders exist; `changed` are the folders that gained
    /// an entry.
    fn put_document_in(
        &self,
        key: &str,
        path: &Path,
        parent: &Path,
        changed: &[PathBuf],
        bytes: Vec<u8>,
    ) -> Result<PutOutcome, StoreError> {
        // A folder created just now holds nothing yet (a concurrent writer of the same key
        // is caught by the log's one row per key, or by the link, which never replaces).
        if changed.is_empty() && path.exists() {
            return Ok(PutOutcome::AlreadyExists);
        }
        // The temporary file sits next to the object, under a hidden name (no key starts with
        // a dot; listings skip such names): a shared temporary folder was one directory lock
        // that every concurrent filing took twice.
        let tmp = parent.join(private_files::temp_name("."));
        let outcome = (|| {
            let file = private_files::write_new(&tmp, &bytes).map_err(io("write", &tmp))?;
            let logged = self.group_commit.write(
                &self.db,
                IndexWrite::Document {
                    key: key.to_owned(),
                    bytes,
                },
            );
            match logged {
                Ok(()) => self.link_logged(key, &tmp, path),
                // The same document is being written right now by another request.
                Err(e) if document_log::is_duplicate(&e) => Ok(PutOutcome::AlreadyExists),
                Err(e) => {
                    tracing::warn!(error = %e, key, "document not logged; syncing its file instead");
                    file.sync_all().map_err(io("sync", &tmp))?;
                    link_new_durably(&tmp, path, changed, &self.folder_syncs)
                }
            }
        })();
        let _ = fs::remove_file(&tmp);
        outcome
    }

    /// Links a logged document's file under its name; its log row is forgotten when another
    /// writer got the name first or the link failed, and synced later otherwise.
    fn link_logged(&self, key: &str, tmp: &Path, path: &Path) -> Result<PutOutcome, StoreError> {
        let writer = self.db.shared_writer();
        match link_new(tmp, path) {
            Ok(PutOutcome::Created) => {
                self.syncer
                    .nudge(&index_path(&self.data_dir), &self.objects, writer);
                Ok(PutOutcome::Created)
            }
            Ok(PutOutcome::AlreadyExists) => {
                // Filed meanwhile by a writer the log had already forgotten.
                document_log::forget(writer, key)?;
                Ok(PutOutcome::AlreadyExists)
            }
            Err(e) => {
                let _ = document_log::forget(writer, key);
                Err(e)
            }
        }
    }

    /// Syncs the files of every logged document and forgets them, now rather than when the
    /// background syncer gets to it. Returns how many there were.
    #[cfg(test)]
    pub(super) fn sync_logged_documents(&self) -> Result<usize, StoreError> {
        let reader = rusqlite::Connection::open(index_path(&self.data_dir))?;
        document_log::sync_pending(&reader, self.db.shared_writer(), &self.objects)
    }

    /// Number of documents logged and not yet known to be synced.
    #[cfg(test)]
    pub(super) fn logged_documents(&self) -> Result<u64, StoreError> {
        Ok(self
            .db
            .reader()
            .query_row("SELECT COUNT(*) FROM pending_documents", [], |r| r.get(0))?)
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;

    /// A filing leaves no temporary file beside its document.
    #[test]
    fn a_filing_leaves_only_its_document() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Core::open(dir.path()).expect("store");
        assert_eq!(
            store
                .put_document("perf/1764000002-abc/telemetry.json", b"{}".to_vec())
                .expect("write"),
            PutOutcome::Created
        );
        let names: Vec<_> = fs::read_dir(dir.path().join("objects/perf/1764000002-abc"))
            .expect("run folder")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(
            names,
            vec!["telemetry.json"],
            "the temporary file was left behind"
        );
    }

    /// A filed document is in the index's log until its file is synced, then only in its file.
    #[test]
    fn a_filed_document_is_logged_until_its_file_is_synced() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Core::open(dir.path()).expect("store");
        let key = "perf/1764000000-abc/telemetry.json";
        assert_eq!(
            store
                .put_document(key, b"{\"a\": 1}".to_vec())
                .expect("write"),
            PutOutcome::Created
        );
        assert_eq!(store.logged_documents().expect("count"), 1);
        assert_eq!(
            store.read(key).expect("read").as_deref(),
            Some(&b"{\"a\": 1}"[..])
        );
        assert_eq!(
            store.put_document(key, b"{}".to_vec()).expect("again"),
            PutOutcome::AlreadyExists
        );
        assert_eq!(store.logged_documents().expect("count"), 1, "logged twice");
        assert_eq!(store.sync_logged_documents().expect("sync"), 1);
        assert_eq!(store.logged_documents().expect("count"), 0);
        assert_eq!(store.sync_logged_documents().expect("nothing left"), 0);
    }

    /// After an unclean stop (simulated: one document's file gone, another's cut short),
    /// opening the store rewrites both from the log; a logged key that would leave the
    /// objects folder is never written.
    #[test]
    fn logged_documents_are_restored_when_the_store_opens() {
        let dir = tempfile::tempdir().expect("temp dir");
        let objects = dir.path().join("objects");
        let (gone, cut) = (
            "perf/1764000000-gone/telemetry.json",
            "perf/1764000001-cut/telemetry.json",
        );
        {
            let store = Core::open(dir.path()).expect("store");
            for key in [gone, cut] {
                store
                    .put_document(key, format!("{{\"key\": \"{key}\"}}").into_bytes())
                    .expect("write");
            }
            store
                .db
                .writer()
                .execute(
                    "INSERT INTO pending_documents (key, bytes) VALUES ('../escape.json', x'7b7d')",
                    [],
                )
                .expect("hostile row");
        }
        fs::remove_file(objects.join(gone)).expect("remove");
        fs::write(objects.join(cut), b"{\"ke").expect("cut short");

        let store = Core::open(dir.path()).expect("reopens");
        for key in [gone, cut] {
            assert_eq!(
                store.read(key).expect("read"),
                Some(format!("{{\"key\": \"{key}\"}}").into_bytes()),
                "{key}"
            );
        }
        assert!(!dir.path().join("escape.json").exists());
        assert_eq!(store.logged_documents().expect("count"), 0);
        let leftovers: Vec<_> = fs::read_dir(objects.join("perf/1764000001-cut"))
            .expect("run folder")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(leftovers, vec!["telemetry.json"]);
    }

    /// Logs a document without linking it, as a crash between the two would leave it.
    fn log_only(store: &Core, key: &str, bytes: &[u8]) {
        store
            .group_commit
            .write(
                &store.db,
                IndexWrite::Document {
                    key: key.to_owned(),
                    bytes: bytes.to_vec(),
                },
            )
            .expect("logged");
    }

    /// A crash after a document's log commit and before its link (simulated: logged, never
    /// linked): readers already get it from the log, and the next start writes its file.
    #[test]
    fn a_document_logged_but_not_linked_is_written_at_the_next_start() {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = "perf/1764000000-abc/telemetry.json";
        {
            let store = Core::open(dir.path()).expect("store");
            log_only(&store, key, b"{\"a\": 1}");
            assert!(!dir.path().join("objects").join(key).exists());
            assert_eq!(
                store.read(key).expect("read").as_deref(),
                Some(&b"{\"a\": 1}"[..])
            );
            // The syncer forgets only rows whose name exists.
            assert_eq!(store.sync_logged_documents().expect("sync"), 0);
            assert_eq!(store.logged_documents().expect("count"), 1);
            // A second writer of the same key is told it exists, not given a second row.
            assert_eq!(
                store
                    .put_document(key, b"{\"a\": 1}".to_vec())
                    .expect("write"),
                PutOutcome::AlreadyExists
            );
        }
        let store = Core::open(dir.path()).expect("reopens");
        assert_eq!(
            fs::read(dir.path().join("objects").join(key)).expect("restored"),
            b"{\"a\": 1}"
        );
        assert_eq!(store.logged_documents().expect("count"), 0);
    }

    /// Log rows are numbered once: after the log empties, new rows get new numbers, so the
    /// syncer's "forget these" can never forget a row it did not sync.
    #[test]
    fn log_numbers_are_never_reused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Core::open(dir.path()).expect("store");
        let last = |store: &Core| -> i64 {
            store
                .db
                .writer()
                .query_row(
                    "SELECT seq FROM sqlite_sequence WHERE name = 'pending_documents'",
                    [],
                    |r| r.get(0),
                )
                .expect("sequence")
        };
        store
            .put_document("perf/1764000000-a/telemetry.json", b"{}".to_vec())
            .expect("write");
        let first = last(&store);
        assert_eq!(store.sync_logged_documents().expect("sync"), 1);
        assert_eq!(store.logged_documents().expect("count"), 0);
        store
            .put_document("perf/1764000000-b/telemetry.json", b"{}".to_vec())
            .expect("write");
        assert!(last(&store) > first);
    }

    /// A log made by an older version (reusable numbers, a key twice) is brought to the new
    /// table, first row of each key kept.
    #[test]
    fn an_older_document_log_is_migrated() {
        let dir = tempfile::tempdir().expect("temp dir");
        {
            let db = Connection::open(dir.path().join("index.sqlite")).expect("db");
            db.execute_batch(
                "CREATE TABLE pending_documents (seq INTEGER PRIMARY KEY, key TEXT NOT NULL, bytes BLOB NOT NULL);
                 INSERT INTO pending_documents (key, bytes) VALUES ('perf/1764000000-a/telemetry.json', x'7b7d');
                 INSERT INTO pending_documents (key, bytes) VALUES ('perf/1764000000-a/telemetry.json', x'5b5d');",
            )
            .expect("old log");
        }
        let store = Core::open(dir.path()).expect("opens");
        let sql: String = store
            .db
            .writer()
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'pending_documents'",
                [],
                |r| r.get(0),
            )
            .expect("schema");
        assert!(
            sql.contains("AUTOINCREMENT") && sql.contains("UNIQUE"),
            "{sql}"
        );
        // Recovery wrote the first row's bytes and forgot the log.
        assert_eq!(
            store
                .read("perf/1764000000-a/telemetry.json")
                .expect("read")
                .as_deref(),
            Some(&b"{}"[..])
        );
        assert_eq!(store.logged_documents().expect("count"), 0);
    }

    /// A logged row whose key holds another whole document (the row of a writer that lost the
    /// race for the name, left by a crash) never replaces it; a torn file is rewritten.
    #[test]
    fn recovery_keeps_a_whole_document_and_rewrites_a_torn_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let objects = dir.path().join("objects");
        let (kept, torn) = (
            "perf/1764000000-kept/telemetry.json",
            "perf/1764000000-torn/telemetry.json",
        );
        {
            let store = Core::open(dir.path()).expect("store");
            for key in [kept, torn] {
                log_only(&store, key, b"{\"logged\": true}");
                fs::create_dir_all(objects.join(key).parent().expect("parent")).expect("dir");
            }
        }
        fs::write(objects.join(kept), b"{\"filed\": true}").expect("whole");
        fs::write(objects.join(torn), b"\0\0\0\0").expect("torn");
        Core::open(dir.path()).expect("reopens");
        assert_eq!(
            fs::read(objects.join(kept)).expect("kept"),
            b"{\"filed\": true}"
        );
        assert_eq!(
            fs::read(objects.join(torn)).expect("torn"),
            b"{\"logged\": true}"
        );
    }
}

//! The embedded store: objects as files under `<data>/objects/`, the run index and users in
//! SQLite at `<data>/index.sqlite`. Needs no account and nothing installed.
//!
//! Writes are atomic: an object is written to a temporary file, then hard-linked into place,
//! which fails if the object exists, so a conditional write can never overwrite. Uploaded
//! artifacts are synced before the link; documents are made durable through the index's log
//! instead (`document_log`), so that filings share one sync per group commit.

use std::fs;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::document_log::{self, Syncer};
use super::folder_sync::FolderSyncs;
use super::private_files;
use super::{
    ListEntry, ObjectInfo, ObjectStore, PutOutcome, RunIndex, RunPage, RunPosition, RunQuery,
    RunRecord, RunSummary, StoreError, StoredRow, UploadRequest, UserRecord, UserStore,
    major_version_of, run_tag_of,
};
use crate::signing::{LinkClaims, LinkKind, Signer};
use krkn_telemetry_model::export::EXPORT_VERSION;

/// The embedded store rooted at a data directory (synchronous; [`Embedded`] puts it behind
/// the async store traits).
pub struct LocalStore {
    data_dir: PathBuf,
    objects: PathBuf,
    /// The one connection that writes (SQLite allows one writer at a time); shared with the
    /// document syncer, whose deletes queue on it like any write.
    index: Arc<Mutex<Connection>>,
    /// Connections that only read (user checks on every request, run queries, exports): in
    /// WAL mode they read the last commit without waiting for the writer.
    readers: Vec<Mutex<Connection>>,
    /// Writes waiting to be committed, and whether a caller is committing a batch now
    /// (group commit; see [`LocalStore::commit`]).
    pending_writes: Mutex<CommitQueue>,
    /// Signalled after every batch: waiting callers look whether theirs was in it.
    batch_done: std::sync::Condvar,
    /// Syncs logged documents in the background (see `document_log`).
    syncer: Syncer,
    /// Folder syncs shared by concurrent writes (every new run of a group adds an entry to
    /// the same group folder).
    folder_syncs: FolderSyncs,
    signer: Signer,
}

/// Ends a batch however its commit ends: a write it did not settle (the commit panicked)
/// gets an error, and the queue is open again, so that no caller waits forever.
struct BatchEnd<'a> {
    store: &'a LocalStore,
    batch: &'a [Arc<PendingWrite>],
}

impl Drop for BatchEnd<'_> {
    fn drop(&mut self) {
        for pending in self.batch {
            let mut outcome = pending.outcome.lock().unwrap_or_else(|p| p.into_inner());
            if outcome.is_none() && std::thread::panicking() {
                *outcome = Some(Err(StoreError::Task(
                    "the index write stopped unexpectedly".to_owned(),
                )));
            }
        }
        let mut queue = self
            .store
            .pending_writes
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        queue.committing = false;
        self.store.batch_done.notify_all();
    }
}

/// What a group commit writes.
enum IndexWrite {
    /// A run's index entries.
    Run(Box<RunRecord>),
    /// A document's bytes, logged until its file is known to be on disk.
    Document { key: String, bytes: Vec<u8> },
}

/// The group commit's queue.
#[derive(Default)]
struct CommitQueue {
    writes: Vec<Arc<PendingWrite>>,
    committing: bool,
}

/// A write handed to the group commit, and what became of it.
struct PendingWrite {
    write: IndexWrite,
    outcome: Mutex<Option<Result<(), StoreError>>>,
}

impl PendingWrite {
    fn settle(&self, outcome: Result<(), StoreError>) {
        *self.outcome.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
    }

    fn take_outcome(&self) -> Option<Result<(), StoreError>> {
        self.outcome
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}

/// Reader connections of the embedded index. Every request checks its user, so with one
/// shared connection 32 clients queued on one lock behind each other's writes.
const READER_CONNECTIONS: usize = 4;

pub(super) fn io<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        action,
        path: path.display().to_string(),
        source,
    }
}

impl LocalStore {
    /// Opens (creating if needed) the store in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let objects = data_dir.join("objects");
        fs::create_dir_all(&objects).map_err(io("create", &objects))?;
        fs::create_dir_all(data_dir.join("tmp")).map_err(io("create", data_dir))?;
        let swept = sweep_stale_uploads(&data_dir.join("tmp"), STALE_UPLOAD);
        if swept > 0 {
            tracing::info!(swept, "unfinished uploads of an earlier run removed");
        }
        {
            // Documents' temporary files a crash left in run folders: a walk of every run
            // folder, so not on the start-up path.
            let objects = objects.clone();
            let _ = std::thread::Builder::new()
                .name("leftover-sweep".to_owned())
                .spawn(move || {
                    let swept = private_files::sweep_hidden_leftovers(&objects, STALE_LEFTOVER);
                    if swept > 0 {
                        tracing::info!(swept, "torn temporary files of an earlier run removed");
                    }
                });
        }
        // The index holds the users' password hashes: this user only. SQLite gives its -wal
        // and -shm files the database's mode; older stores made them 0644.
        let index_path = data_dir.join("index.sqlite");
        match private_files::create_new(&index_path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io("create", &index_path)(e)),
        }
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let file = data_dir.join(format!("index.sqlite{suffix}"));
            if let Some(mode) = private_files::make_private(&file).map_err(io("chmod", &file))? {
                tracing::warn!(file = %file.display(), mode = format!("{mode:03o}"), "the index was open to other users; made it 0600");
            }
        }
        let connection = Connection::open(&index_path)?;
        connection.execute_batch(
            // Before any table exists (a new index): freed pages go back to the file system
            // when the document log is emptied; an older index keeps its setting.
            "PRAGMA auto_vacuum = INCREMENTAL;",
        )?;
        connection.execute_batch(
            // FULL: a commit is on disk when it returns; it carries logged documents.
            // Checkpoints are the document syncer's job (a passive one after each pass),
            // not the committing writer's, so that a filing does not wait for one (at the
            // default 1,000 pages, and at 10,000, they set the p99 of 32 clients: 27 ms
            // against 9 ms without). The 100,000 pages (400 MB) are a bound for when the
            // syncer falls behind.
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA wal_autocheckpoint = 100000;
             PRAGMA journal_size_limit = 67108864;
             BEGIN;
             CREATE TABLE IF NOT EXISTS runs (
                 grp TEXT NOT NULL, request_id TEXT NOT NULL, run_uuid TEXT NOT NULL,
                 filed_at TEXT NOT NULL, cluster_version TEXT NOT NULL,
                 cloud_infrastructure TEXT NOT NULL, job_status INTEGER,
                 document_sha256 TEXT NOT NULL, document_bytes INTEGER NOT NULL,
                 PRIMARY KEY (grp, request_id));
             CREATE INDEX IF NOT EXISTS runs_by_time ON runs (filed_at);
             CREATE TABLE IF NOT EXISTS scenarios (
                 grp TEXT NOT NULL, request_id TEXT NOT NULL, idx INTEGER NOT NULL,
                 scenario TEXT NOT NULL, scenario_type TEXT NOT NULL, exit_status INTEGER,
                 start_timestamp REAL, end_timestamp REAL,
                 PRIMARY KEY (grp, request_id, idx));
             CREATE INDEX IF NOT EXISTS scenarios_by_type ON scenarios (scenario_type, start_timestamp);
             CREATE TABLE IF NOT EXISTS artifacts (
                 key TEXT PRIMARY KEY, size INTEGER NOT NULL, sha256 TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS users (
                 name TEXT PRIMARY KEY, role TEXT NOT NULL, groups TEXT NOT NULL,
                 password_hash TEXT NOT NULL);
             COMMIT;",
        )?;
        connection.execute_batch(document_log::SCHEMA)?;
        document_log::migrate(&connection)?;
        migrate_index(&connection)?;
        let index = Arc::new(Mutex::new(connection));
        let restored = document_log::recover(&index, &objects)?;
        if restored > 0 {
            tracing::warn!(
                restored,
                "documents rewritten from the index log (the store was not stopped cleanly)"
            );
        }
        let readers = (0..READER_CONNECTIONS)
            .map(|_| {
                let reader = Connection::open(data_dir.join("index.sqlite"))?;
                reader.execute_batch("PRAGMA query_only = 1;")?;
                Ok(Mutex::new(reader))
            })
            .collect::<Result<_, StoreError>>()?;
        let signer = Signer::load_or_create(&data_dir.join("signing.key"))?;
        Ok(LocalStore {
            data_dir: data_dir.to_owned(),
            objects,
            index,
            readers,
            pending_writes: Mutex::new(CommitQueue::default()),
            batch_done: std::sync::Condvar::new(),
            syncer: Syncer::default(),
            folder_syncs: FolderSyncs::default(),
            signer,
        })
    }

    /// The writing connection.
    fn index(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions); keep going.
        self.index
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A free reading connection, or, when all are taken, the next one in turn.
    fn reader(&self) -> std::sync::MutexGuard<'_, Connection> {
        for reader in &self.readers {
            if let Ok(guard) = reader.try_lock() {
                return guard;
            }
        }
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let at = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.readers.len();
        self.readers[at]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The file of an object key; refuses anything but plain relative segments.
    fn object_path(&self, key: &str) -> Result<PathBuf, StoreError> {
        plain_key_path(&self.objects, key).ok_or_else(|| StoreError::BadKey(key.to_owned()))
    }

    /// The data directory (the link signing key lives there too).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Signs and checks this store's upload and download links.
    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// Moves a finished (synced) temporary file to `key` unless an object is already there;
    /// the temporary file is removed either way. The new name is synced before this returns.
    pub fn commit_if_absent(&self, key: &str, temp: &Path) -> Result<PutOutcome, StoreError> {
        let result = (|| {
            let path = self.object_path(key)?;
            let parent = path.parent().unwrap_or(&self.objects);
            let changed = self.create_folders(parent)?;
            link_durably(temp, &path, &changed, &self.folder_syncs)
        })();
        let _ = fs::remove_file(temp);
        result
    }

    /// Creates `dir` and its missing parents. Returns every folder that gained an entry (the
    /// parent of each folder created), deepest first: their entries are only durable once
    /// they are synced.
    ///
    /// `mkdir` comes first and a lookup only when it fails: every filing of a group creates
    /// its run folder in the same group folder, and a lookup that misses there waits for
    /// that folder's lock behind the other filings' `mkdir`s (the off-CPU profile of 32
    /// concurrent filings put more time there than in fsync; BENCHMARKS.md).
    fn create_folders(&self, dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
        let mut changed = Vec::new();
        self.create_folder(dir, &mut changed)?;
        changed.reverse();
        Ok(changed)
    }

    /// One step of `create_folders`: creates `dir`, first its parent when that is missing,
    /// and records the parent of every folder it created, shallowest first.
    fn create_folder(&self, dir: &Path, changed: &mut Vec<PathBuf>) -> Result<(), StoreError> {
        if dir == self.objects {
            return Ok(());
        }
        let parent = dir.parent().unwrap_or(&self.objects);
        let mut created = fs::create_dir(dir);
        if matches!(&created, Err(e) if e.kind() == std::io::ErrorKind::NotFound) {
            self.create_folder(parent, changed)?;
            created = fs::create_dir(dir);
        }
        match created {
            Ok(()) => {
                changed.push(parent.to_owned());
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
            Err(e) => Err(io("create", dir)(e)),
        }
    }

    /// The size of an object and its SHA-256 when recorded (uploads since this version;
    /// documents from the run index).
    pub fn stat(&self, key: &str) -> Result<Option<ObjectInfo>, StoreError> {
        let path = self.object_path(key)?;
        let size = match fs::metadata(&path) {
            Ok(meta) if meta.is_file() => meta.len(),
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("stat", &path)(e)),
        };
        Ok(Some(ObjectInfo {
            size,
            sha256: self.recorded_checksum(key, size)?,
        }))
    }

    /// The SHA-256 recorded for `key` when its size is still `size`.
    pub fn recorded_checksum(&self, key: &str, size: u64) -> Result<Option<String>, StoreError> {
        let db = self.reader();
        let recorded: Option<(i64, String)> = db
            .prepare_cached("SELECT size, sha256 FROM artifacts WHERE key = ?1")?
            .query_row(params![key], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((recorded_size, sha256)) = recorded {
            return Ok((recorded_size as u64 == size).then_some(sha256));
        }
        let mut parts = key.splitn(3, '/');
        if let (Some(group), Some(run), Some("telemetry.json")) =
            (parts.next(), parts.next(), parts.next())
        {
            let document: Option<(i64, String)> = db
                .prepare_cached(
                    "SELECT document_bytes, document_sha256 FROM runs WHERE grp = ?1 AND request_id = ?2",
                )?
                .query_row(params![group, run], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            return Ok(document
                .filter(|(n, _)| *n as u64 == size)
                .map(|(_, sha)| sha));
        }
        Ok(None)
    }

    /// The size and SHA-256 of the object under `key`: as recorded, or read from the file
    /// once (an object stored before checksums were recorded) and recorded.
    pub fn checksum_of(&self, key: &str) -> Result<Option<(u64, String)>, StoreError> {
        let Some(info) = self.stat(key)? else {
            return Ok(None);
        };
        if let Some(sha256) = info.sha256 {
            return Ok(Some((info.size, sha256)));
        }
        let Some((mut file, size)) = self.open_object(key)? else {
            return Ok(None);
        };
        let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
        std::io::copy(&mut file, &mut hasher).map_err(|source| StoreError::Io {
            action: "read",
            path: key.to_owned(),
            source,
        })?;
        let sha256 = hex::encode(sha2::Digest::finalize(hasher));
        self.record_checksum(key, size, &sha256)?;
        Ok(Some((size, sha256)))
    }

    /// The temporary file of an upload of `key`: one per key (named by the key's hash),
    /// locked while it is written, so that a link replayed by many clients at once writes
    /// one temporary file, not one each. `None` while another upload of the key holds it.
    /// The lock lasts while the returned file, or a clone of it, is open.
    pub fn open_upload_temp(&self, key: &str) -> Result<Option<(PathBuf, fs::File)>, StoreError> {
        use std::os::unix::fs::MetadataExt;
        let name = format!(
            "{}.part",
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(key.as_bytes()))
        );
        let path = self.data_dir.join("tmp").join(name);
        loop {
            let file = private_files::open_or_create(&path).map_err(io("create", &path))?;
            match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => {}
                Err(rustix::io::Errno::WOULDBLOCK) => return Ok(None),
                Err(e) => return Err(io("lock", &path)(e.into())),
            }
            // A finishing upload may have removed the name between our open and our lock:
            // then the locked file is not the one under the name any more.
            let ours = file.metadata().map_err(io("stat", &path))?;
            match fs::symlink_metadata(&path) {
                Ok(named) if named.ino() == ours.ino() && named.dev() == ours.dev() => {}
                _ => continue,
            }
            file.set_len(0).map_err(io("truncate", &path))?;
            return Ok(Some((path, file)));
        }
    }

    /// Records the size and SHA-256 of an uploaded object.
    pub fn record_checksum(&self, key: &str, size: u64, sha256: &str) -> Result<(), StoreError> {
        self.index()
            .prepare_cached(
                "INSERT OR REPLACE INTO artifacts (key, size, sha256) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![key, size as i64, sha256])?;
        Ok(())
    }

    /// True when an object exists under `key`.
    pub fn contains(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.object_path(key)?.is_file())
    }

    /// Opens an object for streaming: the file and its size.
    pub fn open_object(&self, key: &str) -> Result<Option<(fs::File, u64)>, StoreError> {
        let path = self.object_path(key)?;
        match fs::File::open(&path) {
            Ok(file) => {
                let meta = file.metadata().map_err(io("stat", &path))?;
                if meta.is_dir() {
                    return Ok(None);
                }
                Ok(Some((file, meta.len())))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("open", &path)(e)),
        }
    }

    /// Writes `bytes` under `key` unless an object is already there.
    ///
    /// The bytes go to a hidden file next to the object (page cache), then into the index's
    /// log, one synced commit for every filing of that moment, and only then is the file
    /// linked under its name, so that a document is never visible before its bytes are
    /// durable (`document_log`). Should the log refuse the write, the file and its folders
    /// are synced before the link instead. A write that fails removes the folders it made.
    pub fn write_if_absent(&self, key: &str, bytes: Vec<u8>) -> Result<PutOutcome, StoreError> {
        let path = self.object_path(key)?;
        let parent = path.parent().unwrap_or(&self.objects).to_owned();
        // Folders first, then the existence check: once its folder exists, looking the
        // object up takes only that folder's (uncontended) lock; see `create_folders`.
        let changed = self.create_folders(&parent)?;
        let written = self.write_document(key, &path, &parent, &changed, bytes);
        if written.is_err() && !changed.is_empty() {
            private_files::remove_empty_folders(&parent, &self.objects);
        }
        written
    }

    /// [`LocalStore::write_if_absent`] once the folders exist; `changed` are the folders
    /// that gained an entry.
    fn write_document(
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
            match self.commit(IndexWrite::Document {
                key: key.to_owned(),
                bytes,
            }) {
                Ok(()) => match link_if_absent(&tmp, path) {
                    Ok(PutOutcome::Created) => {
                        self.syncer.nudge(
                            &self.data_dir.join("index.sqlite"),
                            &self.objects,
                            &self.index,
                        );
                        Ok(PutOutcome::Created)
                    }
                    Ok(PutOutcome::AlreadyExists) => {
                        // Filed meanwhile by a writer the log had already forgotten.
                        document_log::forget(&self.index, key)?;
                        Ok(PutOutcome::AlreadyExists)
                    }
                    Err(e) => {
                        let _ = document_log::forget(&self.index, key);
                        Err(e)
                    }
                },
                // The same document is being written right now by another request.
                Err(e) if document_log::is_duplicate(&e) => Ok(PutOutcome::AlreadyExists),
                Err(e) => {
                    tracing::warn!(error = %e, key, "document not logged; syncing its file instead");
                    file.sync_all().map_err(io("sync", &tmp))?;
                    link_durably(&tmp, path, changed, &self.folder_syncs)
                }
            }
        })();
        let _ = fs::remove_file(&tmp);
        outcome
    }

    /// Syncs the files of every logged document and forgets them, now rather than when the
    /// background syncer gets to it. Returns how many there were (for tests and tooling).
    pub fn sync_logged_documents(&self) -> Result<usize, StoreError> {
        let reader = Connection::open(self.data_dir.join("index.sqlite"))?;
        document_log::sync_pending(&reader, &self.index, &self.objects)
    }

    /// Number of documents logged and not yet known to be synced (for tests and tooling).
    pub fn logged_documents(&self) -> Result<u64, StoreError> {
        Ok(self
            .reader()
            .query_row("SELECT COUNT(*) FROM pending_documents", [], |r| r.get(0))?)
    }

    /// Reads an object; a document logged and about to be linked is read from the log.
    pub fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.object_path(key)?;
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                document_log::logged(&self.reader(), key)
            }
            Err(e) => Err(io("read", &path)(e)),
        }
    }

    /// Lists one folder level under `prefix` (`""`, `group/` or `group/run/`), sorted by name,
    /// starting after `start_after` and returning at most `limit` entries.
    pub fn list_folder(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ListEntry>, StoreError> {
        let dir = if prefix.is_empty() {
            self.objects.clone()
        } else {
            self.object_path(prefix.trim_end_matches('/'))?
        };
        let reader = match fs::read_dir(&dir) {
            Ok(reader) => reader,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io("list", &dir)(e)),
        };
        let mut entries = Vec::new();
        for entry in reader {
            let entry = entry.map_err(io("list", &dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                // A file being written (see `write_if_absent`); never a key.
                continue;
            }
            if start_after.is_some_and(|after| name.as_str() <= after) {
                continue;
            }
            let meta = entry.metadata().map_err(io("stat", &dir))?;
            entries.push(if meta.is_dir() {
                ListEntry {
                    path: name,
                    kind: "folder",
                    size: 0,
                    modified: String::new(),
                }
            } else {
                let modified = meta
                    .modified()
                    .ok()
                    .map(chrono_like_rfc3339)
                    .unwrap_or_default();
                ListEntry {
                    path: name,
                    kind: "file",
                    size: meta.len(),
                    modified,
                }
            });
        }
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        entries.truncate(limit);
        Ok(entries)
    }

    /// Adds or replaces the index entries of a run (one row per run, one per scenario).
    pub fn write_run(&self, run: RunRecord) -> Result<(), StoreError> {
        self.commit(IndexWrite::Run(Box::new(run)))
    }

    /// Makes one write to the index, committed and synced when this returns.
    ///
    /// Group commit: the write is queued. If nobody is committing, the caller takes every
    /// queued write and commits them in one transaction; otherwise it waits for the batch
    /// under way to finish and looks again: either its write was in that batch, or it
    /// commits the next one. Under load (32 clients filing at once) this writes each index
    /// page, and syncs the log, once per batch instead of once per write; and no caller waits
    /// for the writing connection once its write is settled (when callers queued on that
    /// lock instead, one could wait behind many batches that did not concern it). Should a
    /// batch fail, each of its writes is made on its own, so that every caller gets the
    /// outcome its own write would have had.
    fn commit(&self, write: IndexWrite) -> Result<(), StoreError> {
        let mine = Arc::new(PendingWrite {
            write,
            outcome: Mutex::new(None),
        });
        let mut queue = self
            .pending_writes
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        queue.writes.push(Arc::clone(&mine));
        loop {
            if let Some(outcome) = mine.take_outcome() {
                return outcome;
            }
            if queue.committing {
                queue = self
                    .batch_done
                    .wait(queue)
                    .unwrap_or_else(|p| p.into_inner());
                continue;
            }
            queue.committing = true;
            let batch = std::mem::take(&mut queue.writes);
            drop(queue);
            {
                let _ending = BatchEnd {
                    store: self,
                    batch: &batch,
                };
                self.commit_batch(&batch);
            }
            queue = self
                .pending_writes
                .lock()
                .unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Commits `batch` in one transaction, or each write alone if that fails, and settles
    /// every write's outcome.
    fn commit_batch(&self, batch: &[Arc<PendingWrite>]) {
        let mut db = self.index();
        let together = (|| {
            let tx = db.transaction()?;
            for pending in batch {
                apply(&tx, &pending.write)?;
            }
            tx.commit()
        })();
        for pending in batch {
            let outcome = match &together {
                Ok(()) => Ok(()),
                Err(_) => (|| {
                    let tx = db.transaction()?;
                    apply(&tx, &pending.write)?;
                    Ok(tx.commit()?)
                })(),
            };
            pending.settle(outcome);
        }
    }

    /// Number of indexed runs and scenarios of a run key (for tests and tooling).
    pub fn count_run(&self, group: &str, request_id: &str) -> Result<(u64, u64), StoreError> {
        let db = self.reader();
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
    pub fn select_runs(&self, query: &RunQuery) -> Result<RunPage, StoreError> {
        use rusqlite::types::Value;
        let mut sql = String::from(
            "SELECT r.grp, r.request_id, r.run_uuid, r.run_tag, r.filed_at, r.cluster_version,
                    r.major_version, r.cloud_infrastructure, r.job_status, r.scenario_count,
                    r.document_bytes,
                    (SELECT group_concat(t, char(10)) FROM (
                        SELECT DISTINCT scenario_type AS t FROM scenarios s
                        WHERE s.grp = r.grp AND s.request_id = r.request_id AND s.scenario_type != ''
                        ORDER BY t))
             FROM runs r WHERE 1 = 1",
        );
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

        let db = self.reader();
        let mut statement = db.prepare_cached(&sql)?;
        let rows = statement.query_map(rusqlite::params_from_iter(values), |r| {
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
        })?;
        let mut runs: Vec<RunSummary> = rows.collect::<Result<_, _>>()?;
        let next = (runs.len() > query.limit).then(|| {
            runs.truncate(query.limit);
            runs.last().map(|last| RunPosition {
                filed_at: last.filed_at.clone(),
                group: last.group.clone(),
                request_id: last.request_id.clone(),
            })
        });
        Ok(RunPage {
            runs,
            next: next.flatten(),
        })
    }

    /// The stored export rows of each run's scenarios (see [`RunIndex::export_rows`]).
    pub fn read_export_rows(
        &self,
        runs: &[RunSummary],
    ) -> Result<Vec<Option<Vec<StoredRow>>>, StoreError> {
        let db = self.reader();
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

    /// Reads a user.
    pub fn read_user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        let db = self.reader();
        let mut statement = db.prepare_cached(
            "SELECT name, role, groups, password_hash FROM users WHERE name = ?1",
        )?;
        Ok(statement
            .query_row(params![name], |r| {
                Ok(UserRecord {
                    name: r.get(0)?,
                    role: r.get(1)?,
                    groups: r.get(2)?,
                    password_hash: r.get(3)?,
                })
            })
            .optional()?)
    }

    /// Creates or replaces a user.
    pub fn write_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        self.index().execute(
            "INSERT OR REPLACE INTO users VALUES (?1, ?2, ?3, ?4)",
            params![user.name, user.role, user.groups, user.password_hash],
        )?;
        Ok(())
    }

    /// Removes a user; true when one was removed.
    pub fn delete_user(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self
            .index()
            .execute("DELETE FROM users WHERE name = ?1", params![name])?
            > 0)
    }

    /// Every user, by name.
    pub fn read_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let db = self.reader();
        let mut statement =
            db.prepare("SELECT name, role, groups, password_hash FROM users ORDER BY name")?;
        let rows = statement.query_map([], |r| {
            Ok(UserRecord {
                name: r.get(0)?,
                role: r.get(1)?,
                groups: r.get(2)?,
                password_hash: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// One queued write, inside the caller's transaction.
fn apply(tx: &rusqlite::Transaction<'_>, write: &IndexWrite) -> rusqlite::Result<()> {
    match write {
        IndexWrite::Run(run) => insert_run(tx, run),
        IndexWrite::Document { key, bytes } => document_log::insert(tx, key, bytes),
    }
}

/// The index rows of one run, inside the caller's transaction (one row per run, one per
/// scenario; an existing run's rows are replaced).
fn insert_run(tx: &rusqlite::Transaction<'_>, run: &RunRecord) -> rusqlite::Result<()> {
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
    {
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
                s.export_row.as_ref().map(|_| EXPORT_VERSION),
                s.export_row
            ])?;
        }
    }
    Ok(())
}

/// Brings an index written by an older version up to date: the columns and indexes the run
/// queries need, filled in from what the index already holds.
fn migrate_index(db: &Connection) -> Result<(), StoreError> {
    let columns: Vec<String> = db
        .prepare("SELECT name FROM pragma_table_info('runs')")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if !columns.iter().any(|c| c == "major_version") {
        db.execute_batch(
            "ALTER TABLE runs ADD COLUMN major_version TEXT NOT NULL DEFAULT '';
             ALTER TABLE runs ADD COLUMN run_tag TEXT NOT NULL DEFAULT '';
             ALTER TABLE runs ADD COLUMN scenario_count INTEGER NOT NULL DEFAULT 0;
             UPDATE runs SET scenario_count = (SELECT COUNT(*) FROM scenarios s
                 WHERE s.grp = runs.grp AND s.request_id = runs.request_id);",
        )?;
        let rows: Vec<(String, String, String, String)> = db
            .prepare("SELECT grp, request_id, run_uuid, cluster_version FROM runs")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<_, _>>()?;
        for (group, request_id, run_uuid, cluster_version) in rows {
            db.execute(
                "UPDATE runs SET major_version = ?3, run_tag = ?4 WHERE grp = ?1 AND request_id = ?2",
                params![
                    group,
                    request_id,
                    major_version_of(&cluster_version),
                    run_tag_of(&request_id, &run_uuid)
                ],
            )?;
        }
    }
    let scenario_columns: Vec<String> = db
        .prepare("SELECT name FROM pragma_table_info('scenarios')")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if !scenario_columns.iter().any(|c| c == "export_row") {
        // Rows of runs filed before are computed from their documents when exported.
        db.execute_batch(
            "ALTER TABLE scenarios ADD COLUMN export_version INTEGER;
             ALTER TABLE scenarios ADD COLUMN export_row TEXT;",
        )?;
    }
    db.execute_batch(
        "BEGIN;
         CREATE INDEX IF NOT EXISTS runs_by_filing ON runs (filed_at, grp, request_id);
         CREATE INDEX IF NOT EXISTS runs_by_group_filing ON runs (grp, filed_at, request_id);
         CREATE INDEX IF NOT EXISTS scenarios_by_run_type ON scenarios (grp, request_id, scenario_type);
         COMMIT;",
    )?;
    Ok(())
}

/// RFC 3339 UTC with seconds, from a file time.
fn chrono_like_rfc3339(time: SystemTime) -> String {
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    crate::routes::rfc3339(secs as i64)
}

/// The embedded store behind the async traits: every call runs on the blocking thread pool.
pub struct Embedded(pub Arc<LocalStore>);

impl Embedded {
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&LocalStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = Arc::clone(&self.0);
        tokio::task::spawn_blocking(move || work(&store))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

/// Links the synced file `temp` to `path` unless something is there, removes `temp`, and
/// syncs the folder of `path`, then `new_folders` (those that gained a folder on the way), so
/// that the name outlives a power cut before the index ever points at it. Folder syncs go
/// through `syncs`, so concurrent writes into one folder share them.
fn link_durably(
    temp: &Path,
    path: &Path,
    new_folders: &[PathBuf],
    syncs: &FolderSyncs,
) -> Result<PutOutcome, StoreError> {
    let outcome = link_if_absent(temp, path)?;
    let _ = fs::remove_file(temp);
    if outcome == PutOutcome::Created {
        sync_names(path, new_folders, syncs)?;
    }
    Ok(outcome)
}

/// Links `temp` to `path` unless something is there (a link never replaces a name).
fn link_if_absent(temp: &Path, path: &Path) -> Result<PutOutcome, StoreError> {
    match fs::hard_link(temp, path) {
        Ok(()) => Ok(PutOutcome::Created),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(PutOutcome::AlreadyExists),
        Err(e) => Err(io("link", path)(e)),
    }
}

/// Syncs the folder holding `path`, then `new_folders`, through `syncs`: the new name is
/// durable once this returns.
fn sync_names(path: &Path, new_folders: &[PathBuf], syncs: &FolderSyncs) -> Result<(), StoreError> {
    for folder in path
        .parent()
        .into_iter()
        .chain(new_folders.iter().map(PathBuf::as_path))
    {
        syncs.sync(folder).map_err(io("sync", folder))?;
    }
    Ok(())
}

/// The file of `key` under `objects`, or `None` for anything but plain relative segments that
/// do not start with a dot (no `..`, no absolute paths, no hidden temporary names).
pub(super) fn plain_key_path(objects: &Path, key: &str) -> Option<PathBuf> {
    let plain = !key.is_empty()
        && Path::new(key)
            .components()
            .all(|c| matches!(c, Component::Normal(s) if !s.to_string_lossy().starts_with('.')));
    plain.then(|| objects.join(key))
}

/// How long a document's hidden temporary file may sit in a run folder before a start
/// removes it: a live one exists for microseconds.
const STALE_LEFTOVER: Duration = Duration::from_secs(3600);

/// How long an upload's temporary file may go unwritten before a start removes it: an upload
/// in progress (even from another server on the same directory) writes to it continuously.
const STALE_UPLOAD: Duration = Duration::from_secs(24 * 3600);

/// Removes the files in `tmp` not modified for `stale` (uploads cut off by a crash or a
/// dropped connection; a finished upload is linked into place and its temporary file
/// removed). Returns how many went; what cannot be read or removed is left for next time.
fn sweep_stale_uploads(tmp: &Path, stale: Duration) -> usize {
    let Ok(entries) = fs::read_dir(tmp) else {
        return 0;
    };
    let now = SystemTime::now();
    entries
        .flatten()
        .filter(|entry| {
            entry.metadata().is_ok_and(|meta| {
                meta.is_file()
                    && meta
                        .modified()
                        .ok()
                        .and_then(|modified| now.duration_since(modified).ok())
                        .is_some_and(|age| age >= stale)
            })
        })
        .filter(|entry| fs::remove_file(entry.path()).is_ok())
        .count()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[async_trait]
impl ObjectStore for Embedded {
    async fn put_if_absent(&self, key: &str, bytes: Vec<u8>) -> Result<PutOutcome, StoreError> {
        let key = key.to_owned();
        self.run(move |s| s.write_if_absent(&key, bytes)).await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = key.to_owned();
        self.run(move |s| s.read(&key)).await
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        let key = key.to_owned();
        self.run(move |s| s.contains(&key)).await
    }

    async fn stat(&self, key: &str) -> Result<Option<ObjectInfo>, StoreError> {
        let key = key.to_owned();
        self.run(move |s| s.stat(&key)).await
    }

    async fn hash(&self, key: &str) -> Result<Option<String>, StoreError> {
        let key = key.to_owned();
        self.run(move |s| Ok(s.checksum_of(&key)?.map(|(_, sha256)| sha256)))
            .await
    }

    async fn list(
        &self,
        prefix: &str,
        start_after: Option<String>,
        limit: usize,
    ) -> Result<Vec<ListEntry>, StoreError> {
        let prefix = prefix.to_owned();
        self.run(move |s| s.list_folder(&prefix, start_after.as_deref(), limit))
            .await
    }

    async fn upload_link(&self, request: &UploadRequest) -> Result<String, StoreError> {
        let claims = LinkClaims {
            kind: LinkKind::Upload,
            key: request.key.clone(),
            expires: unix_now() + request.expires_in.as_secs() as i64,
            length: request.length,
            sha256: request.sha256.clone(),
        };
        Ok(format!(
            "{}/upload/{}?{}",
            request.base_url,
            request.key,
            claims.query(&self.0.signer)
        ))
    }

    async fn download_link(
        &self,
        key: &str,
        expires_in: Duration,
        base: &str,
    ) -> Result<String, StoreError> {
        let claims = LinkClaims {
            kind: LinkKind::Download,
            key: key.to_owned(),
            expires: unix_now() + expires_in.as_secs() as i64,
            length: None,
            sha256: None,
        };
        Ok(format!(
            "{base}download/{key}?{}",
            claims.query(&self.0.signer)
        ))
    }
}

#[async_trait]
impl RunIndex for Embedded {
    async fn index_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        let run = run.clone();
        self.run(move |s| s.write_run(run)).await
    }

    async fn run_counts(&self, group: &str, request_id: &str) -> Result<(u64, u64), StoreError> {
        let (group, request_id) = (group.to_owned(), request_id.to_owned());
        self.run(move |s| s.count_run(&group, &request_id)).await
    }

    async fn query_runs(&self, query: &RunQuery) -> Result<RunPage, StoreError> {
        let query = query.clone();
        self.run(move |s| s.select_runs(&query)).await
    }

    async fn export_rows(
        &self,
        runs: &[RunSummary],
    ) -> Result<Vec<Option<Vec<StoredRow>>>, StoreError> {
        let runs = runs.to_vec();
        self.run(move |s| s.read_export_rows(&runs)).await
    }
}

#[async_trait]
impl UserStore for Embedded {
    async fn get_user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        let name = name.to_owned();
        self.run(move |s| s.read_user(&name)).await
    }

    async fn put_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        let user = user.clone();
        self.run(move |s| s.write_user(&user)).await
    }

    async fn remove_user(&self, name: &str) -> Result<bool, StoreError> {
        let name = name.to_owned();
        self.run(move |s| s.delete_user(&name)).await
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.run(|s| s.read_users()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ScenarioRecord;

    fn run_record(request_id: &str, scenario_indexes: &[u32]) -> RunRecord {
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

    /// The folders whose entries a filing changes are the ones it syncs: the parent of every
    /// folder it had to create, and nothing when the run's folder already existed.
    #[test]
    fn created_folders_name_the_folders_to_sync() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = LocalStore::open(dir.path()).expect("store");
        let objects = dir.path().join("objects");
        let run = objects.join("perf").join("1764000000-abc");
        assert_eq!(
            store.create_folders(&run).expect("create"),
            vec![objects.join("perf"), objects.clone()]
        );
        assert!(run.is_dir());
        let second = objects.join("perf").join("1764000001-abc");
        assert_eq!(
            store.create_folders(&second).expect("create"),
            vec![objects.join("perf")]
        );
        assert!(store.create_folders(&second).expect("exists").is_empty());
        assert_eq!(
            store
                .write_if_absent("perf/1764000002-abc/telemetry.json", b"{}".to_vec())
                .expect("write"),
            PutOutcome::Created
        );
        let names: Vec<_> = fs::read_dir(objects.join("perf").join("1764000002-abc"))
            .expect("run folder")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(
            names,
            vec!["telemetry.json"],
            "the temporary file was left behind"
        );
    }

    /// Runs filed at the same moment are indexed in one transaction; a run the index refuses
    /// (two scenarios with one index break the scenarios' primary key) gets its own error and
    /// takes none of the runs batched with it down.
    #[test]
    fn runs_filed_together_are_indexed_together_and_fail_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(LocalStore::open(dir.path()).expect("store"));
        // A batch is under way (as far as the queue knows) while the eight runs arrive, so
        // they wait and are committed together once it ends.
        store.pending_writes.lock().expect("queue").committing = true;
        let mut filers = Vec::new();
        for i in 0..8u32 {
            let store = Arc::clone(&store);
            let indexes: &[u32] = if i == 5 { &[0, 0] } else { &[0, 1] };
            filers.push(std::thread::spawn(move || {
                store.write_run(run_record(&format!("1764000000-run-{i}"), indexes))
            }));
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while store.pending_writes.lock().expect("queue").writes.len() < 8 {
            assert!(std::time::Instant::now() < deadline, "filers never queued");
            std::thread::sleep(Duration::from_millis(5));
        }
        store.pending_writes.lock().expect("queue").committing = false;
        store.batch_done.notify_all();
        let outcomes: Vec<_> = filers
            .into_iter()
            .map(|f| f.join().expect("filer"))
            .collect();
        for (i, outcome) in outcomes.iter().enumerate() {
            let counts = store
                .count_run("perf", &format!("1764000000-run-{i}"))
                .expect("count");
            if i == 5 {
                let error = outcome.as_ref().expect_err("duplicate scenario index");
                assert!(
                    error.to_string().contains("UNIQUE constraint failed"),
                    "{error}"
                );
                assert_eq!(counts, (0, 0), "the refused run left rows");
            } else {
                assert!(outcome.is_ok(), "run {i}: {outcome:?}");
                assert_eq!(counts, (1, 2), "run {i}");
            }
        }
        assert!(
            store
                .pending_writes
                .lock()
                .expect("queue")
                .writes
                .is_empty()
        );
    }

    /// A start removes unfinished uploads that nobody has written to for a while, and
    /// leaves a fresh one alone.
    #[test]
    fn stale_unfinished_uploads_are_swept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let tmp = dir.path().join("tmp");
        fs::create_dir_all(&tmp).expect("tmp");
        fs::write(tmp.join("old.part"), b"cut off").expect("old");
        fs::write(tmp.join("fresh.part"), b"in progress").expect("fresh");
        std::thread::sleep(Duration::from_millis(1100));
        fs::write(tmp.join("fresh.part"), b"in progress, still").expect("fresh again");
        assert_eq!(sweep_stale_uploads(&tmp, Duration::from_secs(1)), 1);
        assert!(!tmp.join("old.part").exists());
        assert!(tmp.join("fresh.part").exists());
        assert_eq!(
            sweep_stale_uploads(&dir.path().join("missing"), Duration::ZERO),
            0
        );
    }

    /// A filed document is in the index's log until its file is synced, then only in its file.
    #[test]
    fn a_filed_document_is_logged_until_its_file_is_synced() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = LocalStore::open(dir.path()).expect("store");
        let key = "perf/1764000000-abc/telemetry.json";
        assert_eq!(
            store
                .write_if_absent(key, b"{\"a\": 1}".to_vec())
                .expect("write"),
            PutOutcome::Created
        );
        assert_eq!(store.logged_documents().expect("count"), 1);
        assert_eq!(
            store.read(key).expect("read").as_deref(),
            Some(&b"{\"a\": 1}"[..])
        );
        assert_eq!(
            store.write_if_absent(key, b"{}".to_vec()).expect("again"),
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
            let store = LocalStore::open(dir.path()).expect("store");
            for key in [gone, cut] {
                store
                    .write_if_absent(key, format!("{{\"key\": \"{key}\"}}").into_bytes())
                    .expect("write");
            }
            store
                .index()
                .execute(
                    "INSERT INTO pending_documents (key, bytes) VALUES ('../escape.json', x'7b7d')",
                    [],
                )
                .expect("hostile row");
        }
        fs::remove_file(objects.join(gone)).expect("remove");
        fs::write(objects.join(cut), b"{\"ke").expect("cut short");

        let store = LocalStore::open(dir.path()).expect("reopens");
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

    /// A crash after a document's log commit and before its link (simulated: logged, never
    /// linked): readers already get it from the log, and the next start writes its file.
    #[test]
    fn a_document_logged_but_not_linked_is_written_at_the_next_start() {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = "perf/1764000000-abc/telemetry.json";
        {
            let store = LocalStore::open(dir.path()).expect("store");
            store
                .commit(IndexWrite::Document {
                    key: key.to_owned(),
                    bytes: b"{\"a\": 1}".to_vec(),
                })
                .expect("logged");
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
                    .write_if_absent(key, b"{\"a\": 1}".to_vec())
                    .expect("write"),
                PutOutcome::AlreadyExists
            );
        }
        let store = LocalStore::open(dir.path()).expect("reopens");
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
        let store = LocalStore::open(dir.path()).expect("store");
        let last = |store: &LocalStore| -> i64 {
            store
                .index()
                .query_row(
                    "SELECT seq FROM sqlite_sequence WHERE name = 'pending_documents'",
                    [],
                    |r| r.get(0),
                )
                .expect("sequence")
        };
        store
            .write_if_absent("perf/1764000000-a/telemetry.json", b"{}".to_vec())
            .expect("write");
        let first = last(&store);
        assert_eq!(store.sync_logged_documents().expect("sync"), 1);
        assert_eq!(store.logged_documents().expect("count"), 0);
        store
            .write_if_absent("perf/1764000000-b/telemetry.json", b"{}".to_vec())
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
        let store = LocalStore::open(dir.path()).expect("opens");
        let sql: String = store
            .index()
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
            let store = LocalStore::open(dir.path()).expect("store");
            for key in [kept, torn] {
                store
                    .commit(IndexWrite::Document {
                        key: key.to_owned(),
                        bytes: b"{\"logged\": true}".to_vec(),
                    })
                    .expect("logged");
                fs::create_dir_all(objects.join(key).parent().expect("parent")).expect("dir");
            }
        }
        fs::write(objects.join(kept), b"{\"filed\": true}").expect("whole");
        fs::write(objects.join(torn), b"\0\0\0\0").expect("torn");
        LocalStore::open(dir.path()).expect("reopens");
        assert_eq!(
            fs::read(objects.join(kept)).expect("kept"),
            b"{\"filed\": true}"
        );
        assert_eq!(
            fs::read(objects.join(torn)).expect("torn"),
            b"{\"logged\": true}"
        );
    }

    /// The index (password hashes) and the signing key are this user's only, and an index
    /// left open by an older version is closed at the next start.
    #[test]
    fn the_index_and_the_key_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let mode = |name: &str| {
            fs::metadata(dir.path().join(name))
                .expect("meta")
                .permissions()
                .mode()
                & 0o777
        };
        drop(LocalStore::open(dir.path()).expect("store"));
        assert_eq!(mode("index.sqlite"), 0o600);
        assert_eq!(mode("signing.key"), 0o600);
        fs::set_permissions(
            dir.path().join("index.sqlite"),
            fs::Permissions::from_mode(0o644),
        )
        .expect("chmod");
        let store = LocalStore::open(dir.path()).expect("reopens");
        store
            .write_if_absent("perf/1764000000-a/telemetry.json", b"{}".to_vec())
            .expect("write");
        assert_eq!(mode("index.sqlite"), 0o600);
        assert_eq!(mode("index.sqlite-wal"), 0o600);
        assert_eq!(mode("objects/perf/1764000000-a/telemetry.json"), 0o600);
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
        let store = LocalStore::open(dir.path()).expect("opens and migrates");
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
        LocalStore::open(dir.path()).expect("opens again");
    }

    #[test]
    fn major_versions_and_run_tags_are_derived_as_krkn_writes_them() {
        assert_eq!(
            major_version_of("4.18.0-0.nightly-2025-03-13-035622"),
            "4.18"
        );
        assert_eq!(major_version_of("v1.31.4"), "v1.31");
        assert_eq!(major_version_of("4.19"), "4.19");
        assert_eq!(major_version_of(""), "");
        assert_eq!(run_tag_of("1764000000-abc-def-my-tag", "abc-def"), "my-tag");
        assert_eq!(run_tag_of("1764000000-abc-def", "abc-def"), "");
        assert_eq!(run_tag_of("1764000000-other", "abc-def"), "");
        assert_eq!(run_tag_of("1764000000-abc", ""), "");
    }
}

//! The embedded store's log of documents not yet known to be on disk.
//!
//! A filed document must survive a power cut once its `POST` got a 200. Syncing every
//! document file (and the folders naming it) on the request path cost three device flushes
//! per filing and capped 32 concurrent clients at 3,000 to 3,400 filings/s on the project's
//! VM (BENCHMARKS.md). Instead, the document's bytes go into the index's write-ahead log in the
//! same group commit as the index entries, which SQLite syncs once per batch; the file is
//! written through the page cache. A background thread later syncs the file system and
//! forgets the logged copies. After an unclean stop, [`recover`] rewrites every logged
//! document whose file is missing or torn, before the store serves anything.
//!
//! Order, and why it is safe at every step:
//! 1. the bytes go to a hidden temporary file next to the document (page cache);
//! 2. the log row commits (synced): from here the document survives a crash;
//! 3. the temporary file is linked under the document's name: only now is it visible, so
//!    it is never visible before its bytes are logged (a crash between 2 and 3 leaves a row
//!    whose file is missing, and recovery writes it);
//! 4. the syncer forgets a row only after a `syncfs` that began after its name existed.
//!
//! Rows are numbered with `AUTOINCREMENT`, so a number is never used twice and forgetting
//! "these rows" can never forget a newer one; a key has at most one row (`UNIQUE`), so two
//! writers of one document cannot both log it.

use std::fs;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, params};

use super::paths::{io, plain_key_path};
use super::private_files;
use crate::store::StoreError;

/// The table, created with the rest of the index.
pub(super) const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS pending_documents (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, bytes BLOB NOT NULL);";

/// Brings a log made by an older version (numbers that could be reused, several rows per
/// key) to [`SCHEMA`], keeping the first row of each key.
pub(super) fn migrate(db: &Connection) -> Result<(), StoreError> {
    let sql: String = db.query_row(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'pending_documents'",
        [],
        |r| r.get(0),
    )?;
    if sql.contains("AUTOINCREMENT") {
        return Ok(());
    }
    db.execute_batch(&format!(
        "BEGIN;
         ALTER TABLE pending_documents RENAME TO pending_documents_old;
         {SCHEMA}
         INSERT INTO pending_documents (key, bytes)
             SELECT key, bytes FROM pending_documents_old
             WHERE seq IN (SELECT MIN(seq) FROM pending_documents_old GROUP BY key)
             ORDER BY seq;
         DROP TABLE pending_documents_old;
         COMMIT;"
    ))?;
    Ok(())
}

/// True when the error is the log refusing a second row for a key: another write of the
/// same document is under way.
pub(super) fn is_duplicate(error: &StoreError) -> bool {
    matches!(error, StoreError::Index(rusqlite::Error::SqliteFailure(failure, _))
        if failure.code == rusqlite::ErrorCode::ConstraintViolation)
}

/// Forgets the row of `key` (its write lost the race for the name, or failed).
pub(super) fn forget(db: &Mutex<Connection>, key: &str) -> Result<(), StoreError> {
    db.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .prepare_cached("DELETE FROM pending_documents WHERE key = ?1")?
        .execute([key])?;
    Ok(())
}

/// The logged bytes of `key`, if any: a document between its log commit and its link.
pub(super) fn logged(db: &Connection, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
    use rusqlite::OptionalExtension;
    Ok(db
        .prepare_cached("SELECT bytes FROM pending_documents WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

/// True when `bytes` are one whole JSON value: what a file holds once it was written in
/// full, and what a file torn by a power cut (cut short, or zeros) is not.
fn is_whole_json(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok()
}

/// How long the syncer waits after a filing before syncing. Long enough for the kernel's
/// own write-back (which writes pages dirty for 30 s) to have written most of the files, so
/// that the sync itself is short: a sync 1 s after a burst of filings wrote thousands of
/// files at once, and the log commits of the filings still arriving waited behind it (p99
/// of 32 clients 21 ms against 9 ms without; BENCHMARKS.md).
const SYNC_DELAY: Duration = Duration::from_secs(30);

/// How often the syncer looks again when no filing woke it (a failed sync is retried then).
const IDLE_RECHECK: Duration = Duration::from_secs(30);

/// Logs a document's bytes inside the caller's transaction.
pub(super) fn insert(
    tx: &rusqlite::Transaction<'_>,
    key: &str,
    bytes: &[u8],
) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT INTO pending_documents (key, bytes) VALUES (?1, ?2)")?
        .execute(params![key, bytes])?;
    Ok(())
}

/// Rewrites every logged document whose file is missing or holds other bytes, syncs, and
/// forgets the log. Returns how many files were rewritten. Safe while a server runs on the
/// same directory: a live document's file already holds its bytes and is left alone.
pub(super) fn recover(db: &Mutex<Connection>, objects: &Path) -> Result<usize, StoreError> {
    let logged: Vec<(i64, String, Vec<u8>)> = {
        let db = db.lock().unwrap_or_else(PoisonError::into_inner);
        let mut select =
            db.prepare("SELECT seq, key, bytes FROM pending_documents ORDER BY seq")?;
        let rows = select.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let Some(last) = logged.last().map(|(seq, _, _)| *seq) else {
        return Ok(0);
    };
    let mut rewritten = 0;
    for (_, key, bytes) in &logged {
        let Some(path) = plain_key_path(objects, key) else {
            tracing::warn!(key = %key, "logged document with an unusable key skipped");
            continue;
        };
        match fs::read(&path) {
            Ok(current) if current == *bytes => continue,
            // Another write of the key won the name (its row is this one's, left by a
            // crash before it was forgotten): the whole document there stays.
            Ok(current) if is_whole_json(&current) => {
                tracing::warn!(key = %key, "a logged document differs from the whole one filed under its name; kept the filed one");
                continue;
            }
            _ => {}
        }
        restore(objects, &path, bytes)?;
        rewritten += 1;
    }
    sync_documents(objects, logged.iter().map(|(_, key, _)| key.as_str()))?;
    db.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .execute("DELETE FROM pending_documents WHERE seq <= ?1", [last])?;
    Ok(rewritten)
}

/// Writes `bytes` to `path` through a synced temporary file renamed over whatever is there
/// (after a power cut, a partial file of our own), then syncs the folders up to `objects`.
fn restore(objects: &Path, path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let parent = path.parent().unwrap_or(objects);
    fs::create_dir_all(parent).map_err(io("create", parent))?;
    let temp = parent.join(private_files::temp_name("."));
    private_files::write_new(&temp, bytes)
        .and_then(|f| f.sync_all())
        .map_err(io("write", &temp))?;
    fs::rename(&temp, path).map_err(io("rename", path))?;
    let mut folder = Some(parent);
    while let Some(dir) = folder {
        fs::File::open(dir)
            .and_then(|f| f.sync_all())
            .map_err(io("sync", dir))?;
        folder = (dir != objects).then(|| dir.parent()).flatten();
    }
    Ok(())
}

/// Makes the files of `keys` durable, with the folders naming them. On Linux one `syncfs`
/// of the objects' file system does it for any number of files; elsewhere each file and
/// its folder is synced.
fn sync_documents<'k>(
    objects: &Path,
    keys: impl Iterator<Item = &'k str>,
) -> Result<(), StoreError> {
    #[cfg(target_os = "linux")]
    {
        let _ = keys;
        let folder = fs::File::open(objects).map_err(io("sync", objects))?;
        rustix::fs::syncfs(&folder).map_err(|e| io("sync", objects)(e.into()))?;
    }
    #[cfg(not(target_os = "linux"))]
    for key in keys {
        if let Some(path) = plain_key_path(objects, key) {
            for file in [Some(path.as_path()), path.parent()].into_iter().flatten() {
                fs::File::open(file)
                    .and_then(|f| f.sync_all())
                    .map_err(io("sync", file))?;
            }
        }
    }
    Ok(())
}

/// The background thread that syncs logged documents and forgets them. It starts with the
/// first logged document and ends when the store is dropped.
#[derive(Default)]
pub(super) struct Syncer {
    wake: Mutex<Option<SyncSender<()>>>,
}

impl Syncer {
    /// Tells the syncer a document was logged, starting it if needed. `writer` is the
    /// store's writing connection (the syncer's deletes queue on it like any write).
    pub(super) fn nudge(&self, db_path: &Path, objects: &Path, writer: &Arc<Mutex<Connection>>) {
        let mut wake = self.wake.lock().unwrap_or_else(PoisonError::into_inner);
        if wake.is_none() {
            let (sender, receiver) = mpsc::sync_channel(1);
            let (db_path, objects, writer) =
                (db_path.to_owned(), objects.to_owned(), Arc::clone(writer));
            let started = std::thread::Builder::new()
                .name("document-sync".to_owned())
                .spawn(move || run(&db_path, &objects, &writer, &receiver));
            match started {
                Ok(_) => *wake = Some(sender),
                // The documents stay logged; the next start recovers them.
                Err(e) => tracing::warn!(error = %e, "document syncer did not start"),
            }
        }
        if let Some(sender) = wake.as_ref() {
            // Full means a wake-up is already pending, which covers this document too.
            let _ = sender.try_send(());
        }
    }
}

/// The syncer's loop: after each wake-up (or every `IDLE_RECHECK`), sync and forget what is
/// logged; once the store is gone, one last pass.
fn run(db_path: &Path, objects: &Path, writer: &Mutex<Connection>, wake: &Receiver<()>) {
    let reader = match Connection::open(db_path) {
        Ok(reader) => reader,
        Err(e) => {
            tracing::warn!(error = %e, "document syncer cannot open the index");
            return;
        }
    };
    loop {
        let store_gone = match wake.recv_timeout(IDLE_RECHECK) {
            Ok(()) => {
                std::thread::sleep(SYNC_DELAY);
                matches!(wake.try_recv(), Err(mpsc::TryRecvError::Disconnected))
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => true,
        };
        if let Err(e) = sync_pending(&reader, writer, objects) {
            tracing::warn!(error = %e, "logged documents not synced yet; will retry");
        }
        if store_gone {
            return;
        }
    }
}

/// One pass: sync the files of everything logged whose name exists, then forget those rows
/// (only those: a row whose file is not linked yet stays for the next pass), give the freed
/// pages back to the file system and fold the write-ahead log back into the database.
pub(super) fn sync_pending(
    reader: &Connection,
    writer: &Mutex<Connection>,
    objects: &Path,
) -> Result<usize, StoreError> {
    let keys: Vec<(i64, String)> = reader
        .prepare_cached("SELECT seq, key FROM pending_documents ORDER BY seq")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let linked: Vec<(i64, String)> = keys
        .into_iter()
        .filter(|(_, key)| plain_key_path(objects, key).is_some_and(|p| p.is_file()))
        .collect();
    if linked.is_empty() {
        return Ok(0);
    }
    sync_documents(objects, linked.iter().map(|(_, key)| key.as_str()))?;
    {
        let mut db = writer.lock().unwrap_or_else(PoisonError::into_inner);
        let tx = db.transaction()?;
        {
            let mut delete = tx.prepare_cached("DELETE FROM pending_documents WHERE seq = ?1")?;
            for (seq, _) in &linked {
                delete.execute([seq])?;
            }
        }
        tx.commit()?;
        // With auto_vacuum = INCREMENTAL (indexes made by this version), the pages the
        // documents held go back to the file system: after a full disk, space returns.
        db.execute_batch("PRAGMA incremental_vacuum;")?;
    }
    // Outside the writer's lock: a passive checkpoint never blocks writers.
    reader.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
    Ok(linked.len())
}

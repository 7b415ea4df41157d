//! The index database's connections: one that writes (SQLite allows one writer at a time)
//! and a few that only read.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rusqlite::Connection;

use crate::store::StoreError;

/// Reader connections of the embedded index. Every request checks its user, so with one
/// shared connection 32 clients queued on one lock behind each other's writes.
const READER_CONNECTIONS: usize = 4;

/// The writing connection and the reading ones of `<data>/index.sqlite`.
pub(super) struct Connections {
    /// The one connection that writes; shared with the document syncer, whose deletes queue
    /// on it like any write.
    writer: Arc<Mutex<Connection>>,
    /// Connections that only read (user checks on every request, run queries, exports): in
    /// WAL mode they read the last commit without waiting for the writer.
    readers: Vec<Mutex<Connection>>,
    /// The reader to wait for when all are taken, in turn.
    next: AtomicUsize,
}

impl Connections {
    /// `writer` (already set up, see `schema::open_index`) and fresh readers of `path`.
    pub(super) fn new(writer: Connection, path: &Path) -> Result<Self, StoreError> {
        let readers = (0..READER_CONNECTIONS)
            .map(|_| {
                let reader = Connection::open(path)?;
                reader.execute_batch("PRAGMA query_only = 1;")?;
                Ok(Mutex::new(reader))
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Connections {
            writer: Arc::new(Mutex::new(writer)),
            readers,
            next: AtomicUsize::new(0),
        })
    }

    /// The writing connection, shared (for the document log's syncer).
    pub(super) fn shared_writer(&self) -> &Arc<Mutex<Connection>> {
        &self.writer
    }

    /// The writing connection.
    pub(super) fn writer(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions); keep going.
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A free reading connection, or, when all are taken, the next one in turn.
    pub(super) fn reader(&self) -> MutexGuard<'_, Connection> {
        for reader in &self.readers {
            if let Ok(guard) = reader.try_lock() {
                return guard;
            }
        }
        let at = self.next.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        self.readers[at]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

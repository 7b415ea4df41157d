//! Group commit of the index: writes made at the same moment share one transaction and one
//! sync of SQLite's log.
//!
//! A write is queued. If nobody is committing, the caller takes every queued write and
//! commits them in one transaction; otherwise it waits for the batch under way to finish and
//! looks again: either its write was in that batch, or it commits the next one. Under load
//! (32 clients filing at once) this writes each index page, and syncs the log, once per batch
//! instead of once per write; and no caller waits for the writing connection once its write
//! is settled (when callers queued on that lock instead, one could wait behind many batches
//! that did not concern it). Should a batch fail, each of its writes is made on its own, so
//! that every caller gets the outcome its own write would have had.

use std::sync::{Arc, Condvar, Mutex, PoisonError};

use super::connections::Connections;
use super::{Core, document_log, index};
use crate::store::{RunRecord, StoreError};

/// What a group commit writes.
pub(super) enum IndexWrite {
    /// A run's index entries.
    Run(Box<RunRecord>),
    /// A document's bytes, logged until its file is known to be on disk.
    Document { key: String, bytes: Vec<u8> },
}

/// The queue of writes waiting to be committed, and whether a caller is committing a batch.
#[derive(Default)]
pub(super) struct GroupCommit {
    queue: Mutex<CommitQueue>,
    /// Signalled after every batch: waiting callers look whether theirs was in it.
    batch_done: Condvar,
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
        *self.outcome.lock().unwrap_or_else(PoisonError::into_inner) = Some(outcome);
    }

    fn take_outcome(&self) -> Option<Result<(), StoreError>> {
        self.outcome
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// Ends a batch however its commit ends: a write it did not settle (the commit panicked)
/// gets an error, and the queue is open again, so that no caller waits forever.
struct BatchEnd<'a> {
    commit: &'a GroupCommit,
    batch: &'a [Arc<PendingWrite>],
}

impl Drop for BatchEnd<'_> {
    fn drop(&mut self) {
        for pending in self.batch {
            let mut outcome = pending
                .outcome
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if outcome.is_none() && std::thread::panicking() {
                *outcome = Some(Err(StoreError::Task(
                    "the index write stopped unexpectedly".to_owned(),
                )));
            }
        }
        let mut queue = self
            .commit
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        queue.committing = false;
        self.commit.batch_done.notify_all();
    }
}

impl GroupCommit {
    /// Makes one write to the index through `db`'s writer, committed and synced when this
    /// returns (see the module's documentation).
    pub(super) fn write(&self, db: &Connections, write: IndexWrite) -> Result<(), StoreError> {
        let mine = Arc::new(PendingWrite {
            write,
            outcome: Mutex::new(None),
        });
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        queue.writes.push(Arc::clone(&mine));
        loop {
            if let Some(outcome) = mine.take_outcome() {
                return outcome;
            }
            if queue.committing {
                queue = self
                    .batch_done
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            queue.committing = true;
            let batch = std::mem::take(&mut queue.writes);
            drop(queue);
            {
                let _ending = BatchEnd {
                    commit: self,
                    batch: &batch,
                };
                commit_batch(db, &batch);
            }
            queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl Core {
    /// Adds or replaces the index entries of a run (one row per run, one per scenario),
    /// through the group commit.
    pub(super) fn write_run(&self, run: RunRecord) -> Result<(), StoreError> {
        self.group_commit
            .write(&self.db, IndexWrite::Run(Box::new(run)))
    }
}

/// Commits `batch` in one transaction, or each write alone if that fails, and settles
/// every write's outcome.
fn commit_batch(db: &Connections, batch: &[Arc<PendingWrite>]) {
    crate::metrics::metrics().commit_batch(batch.len());
    let mut db = db.writer();
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

/// One queued write, inside the caller's transaction.
fn apply(tx: &rusqlite::Transaction<'_>, write: &IndexWrite) -> rusqlite::Result<()> {
    match write {
        IndexWrite::Run(run) => index::insert_run(tx, run),
        IndexWrite::Document { key, bytes } => document_log::insert(tx, key, bytes),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::local::index::tests::run_record;

    /// Runs filed at the same moment are indexed in one transaction; a run the index refuses
    /// (two scenarios with one index break the scenarios' primary key) gets its own error and
    /// takes none of the runs batched with it down.
    #[test]
    fn runs_filed_together_are_indexed_together_and_fail_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(Core::open(dir.path()).expect("store"));
        let queue = || store.group_commit.queue.lock().expect("queue");
        // A batch is under way (as far as the queue knows) while the eight runs arrive, so
        // they wait and are committed together once it ends.
        queue().committing = true;
        let mut filers = Vec::new();
        for i in 0..8u32 {
            let store = Arc::clone(&store);
            let indexes: &[u32] = if i == 5 { &[0, 0] } else { &[0, 1] };
            filers.push(std::thread::spawn(move || {
                store.write_run(run_record(&format!("1764000000-run-{i}"), indexes))
            }));
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while queue().writes.len() < 8 {
            assert!(std::time::Instant::now() < deadline, "filers never queued");
            std::thread::sleep(Duration::from_millis(5));
        }
        queue().committing = false;
        store.group_commit.batch_done.notify_all();
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
        assert!(queue().writes.is_empty());
    }
}

//! Shared fsyncs of folders for the embedded store.
//!
//! A new name is durable only once the folder holding it is synced. Every new run of a group
//! adds its run folder to the same group folder, so under load many filings wait to sync that
//! one folder. A sync that starts after a caller's change makes that change durable, so one
//! sync can serve every caller that changed the folder before it started: the first caller
//! to arrive runs it, the others wait for it (group commit, as databases do for their logs).

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

/// The folders being synced, each with its queue of callers.
#[derive(Default)]
pub(super) struct FolderSyncs {
    folders: Mutex<HashMap<PathBuf, Arc<FolderSync>>>,
}

impl FolderSyncs {
    /// Makes every entry added to `folder` before this call durable.
    pub(super) fn sync(&self, folder: &Path) -> io::Result<()> {
        let shared = Arc::clone(
            lock(&self.folders)
                .entry(folder.to_owned())
                .or_insert_with(|| Arc::new(FolderSync::default())),
        );
        let result = shared.sync(|| fs::File::open(folder)?.sync_all());
        let mut folders = lock(&self.folders);
        // Only the map and this caller hold it: nobody waits on this folder any more.
        if Arc::strong_count(&shared) == 2 {
            folders.remove(folder);
        }
        result
    }
}

/// One folder's queue: callers take tickets in order; a finished sync settles every ticket
/// taken before it started.
#[derive(Default)]
struct FolderSync {
    state: Mutex<SyncState>,
    finished: Condvar,
}

#[derive(Default)]
struct SyncState {
    /// The last ticket handed out.
    issued: u64,
    /// Every ticket up to this one is durable.
    synced: u64,
    /// A sync is under way.
    running: bool,
    /// The last failed sync: the tickets it was to settle (`from` exclusive, `to` inclusive)
    /// and its error. Those callers get the error; retrying the sync could wrongly succeed,
    /// since a later open of the folder does not see an earlier write-back error.
    failure: Option<(u64, u64, io::ErrorKind, String)>,
}

impl FolderSync {
    fn sync(&self, run: impl Fn() -> io::Result<()>) -> io::Result<()> {
        let mut state = lock(&self.state);
        state.issued += 1;
        let ticket = state.issued;
        loop {
            if state.synced >= ticket {
                return Ok(());
            }
            if let Some((from, to, kind, message)) = &state.failure
                && *from < ticket
                && ticket <= *to
            {
                return Err(io::Error::new(*kind, message.clone()));
            }
            if state.running {
                state = self
                    .finished
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            state.running = true;
            let (from, to) = (state.synced, state.issued);
            drop(state);
            let result = run();
            state = lock(&self.state);
            state.running = false;
            self.finished.notify_all();
            match result {
                Ok(()) => state.synced = state.synced.max(to),
                Err(e) => {
                    state.failure = Some((from, to, e.kind(), e.to_string()));
                    return Err(e);
                }
            }
        }
    }
}

/// Locks, going on after a panic elsewhere: the guarded state stays consistent (counters only).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn one_sync_serves_every_caller_that_arrived_before_it_started() {
        let shared = Arc::new(FolderSync::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let (started, release) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
        let first = {
            let (shared, runs) = (Arc::clone(&shared), Arc::clone(&runs));
            let (started, release) = (Arc::clone(&started), Arc::clone(&release));
            std::thread::spawn(move || {
                shared.sync(|| {
                    runs.fetch_add(1, Ordering::SeqCst);
                    started.wait();
                    release.wait();
                    Ok(())
                })
            })
        };
        started.wait();
        // 15 more callers change the folder while the first sync runs.
        let waiting: Vec<_> = (0..15)
            .map(|_| {
                let (shared, runs) = (Arc::clone(&shared), Arc::clone(&runs));
                std::thread::spawn(move || {
                    shared.sync(|| {
                        runs.fetch_add(1, Ordering::SeqCst);
                        Ok(())
                    })
                })
            })
            .collect();
        while lock(&shared.state).issued < 16 {
            std::thread::sleep(Duration::from_millis(1));
        }
        release.wait();
        first.join().expect("first").expect("synced");
        for caller in waiting {
            caller.join().expect("caller").expect("synced");
        }
        // The first sync cannot count for them; one more serves all fifteen.
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_failed_sync_fails_every_caller_it_was_to_serve_and_the_next_one_retries() {
        let shared = FolderSync::default();
        let error = shared
            .sync(|| Err(io::Error::other("disk gone")))
            .expect_err("the sync failed");
        assert_eq!(error.to_string(), "disk gone");
        shared.sync(|| Ok(())).expect("a later caller syncs again");
    }

    #[test]
    fn folders_are_synced_and_forgotten_when_nobody_waits() {
        let dir = tempfile::tempdir().expect("temp dir");
        let syncs = FolderSyncs::default();
        syncs.sync(dir.path()).expect("synced");
        assert!(lock(&syncs.folders).is_empty());
        let missing = dir.path().join("missing");
        let error = syncs.sync(&missing).expect_err("no such folder");
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
    }
}

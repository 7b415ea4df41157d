//! The embedded store: objects as files under `<data>/objects/`, the run index and users in
//! SQLite at `<data>/index.sqlite`, links signed with `<data>/signing.key` and served by this
//! server. Needs no account and nothing installed.
//!
//! [`LocalStore`] implements the store traits directly; each call runs its file and database
//! work on the blocking thread pool (as `object_store`'s local backend does). The work itself
//! is on `Core`, one concern per file:
//! - `paths`: key → path, the only way a key becomes a file name;
//! - `folders` and `folder_sync`: run folders, links that never replace a name, shared
//!   folder syncs;
//! - `private_files`: files only this user may read, created without following links;
//! - `objects`: reading, streaming and listing objects;
//! - `documents` and `document_log`: documents made durable through the index's log;
//! - `uploads` and `checksums`: uploads through links, their recorded SHA-256;
//! - `connections`, `schema`, `group_commit`, `index`: the index database, its tables and
//!   migrations, group commit, the run rows and queries;
//! - `removal`: deleting a run (its rows, then its folder);
//! - `users`: users and their password hashes;
//! - `audit`: the audit log of admin actions; `retention`: how long each group's runs stay;
//! - `links`: the signing key and the links signed with it;
//! - `survey`: what `fsck` reads of the tables; `snapshot`: a consistent export of the store
//!   (online backup of the index, objects with their sums) and importing one.

mod audit;
mod checksums;
mod connections;
mod document_log;
mod documents;
mod folder_sync;
mod folders;
mod group_commit;
mod index;
mod links;
mod objects;
mod paths;
mod private_files;
mod removal;
mod retention;
mod schema;
pub mod snapshot;
mod survey;
mod uploads;
mod users;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use self::connections::Connections;
use self::document_log::Syncer;
use self::folder_sync::FolderSyncs;
use self::group_commit::GroupCommit;
use self::paths::io;
use super::served::{Download, ServedLinks, StoredUpload, UploadBody, UploadError};
use super::{
    AuditLog, AuditPage, AuditQuery, AuditRecord, IndexedRun, ListEntry, ObjectInfo, ObjectStore,
    PutOutcome, RetentionRule, RetentionStore, RunIndex, RunPage, RunQuery, RunRecord, RunSummary,
    StoreError, StoredRow, UploadRequest, UserRecord, UserStore,
};
use crate::signing::{LinkClaims, LinkError, Signer};

/// How long a document's hidden temporary file may sit in a run folder before a start
/// removes it: a live one exists for microseconds.
const STALE_LEFTOVER: Duration = Duration::from_secs(3600);

/// The embedded store rooted at a data directory. Cheap to clone (one shared `Core`).
#[derive(Clone)]
pub struct LocalStore {
    core: Arc<Core>,
}

/// The embedded store's state and its synchronous work (see the module's documentation for
/// which file does what).
struct Core {
    data_dir: PathBuf,
    objects: PathBuf,
    /// The index database.
    db: Connections,
    /// Index writes waiting to be committed together.
    group_commit: GroupCommit,
    /// Syncs logged documents in the background (see `document_log`).
    syncer: Syncer,
    /// Folder syncs shared by concurrent writes (every new run of a group adds an entry to
    /// the same group folder).
    folder_syncs: FolderSyncs,
    signer: Signer,
}

impl LocalStore {
    /// Opens (creating if needed) the store in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        Ok(LocalStore {
            core: Arc::new(Core::open(data_dir)?),
        })
    }

    /// Runs `work` on the blocking thread pool.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Core) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let core = Arc::clone(&self.core);
        tokio::task::spawn_blocking(move || work(&core))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

impl Core {
    /// Opens the store in `data_dir`: its folders, the index (migrated, documents of an
    /// unclean stop recovered) and the signing key; sweeps what a crash left.
    fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let objects = data_dir.join("objects");
        fs::create_dir_all(&objects).map_err(io("create", &objects))?;
        let tmp = data_dir.join("tmp");
        fs::create_dir_all(&tmp).map_err(io("create", data_dir))?;
        let swept = uploads::sweep_stale_uploads(&tmp, uploads::STALE_UPLOAD);
        if swept > 0 {
            tracing::info!(swept, "unfinished uploads of an earlier run removed");
        }
        sweep_leftovers_in_background(&objects);
        let writer = schema::open_index(data_dir)?;
        let db = Connections::new(writer, &schema::index_path(data_dir))?;
        let restored = document_log::recover(db.shared_writer(), &objects)?;
        if restored > 0 {
            tracing::warn!(
                restored,
                "documents rewritten from the index log (the store was not stopped cleanly)"
            );
        }
        let signer = links::load_or_create_signer(&data_dir.join("signing.key"))?;
        Ok(Core {
            data_dir: data_dir.to_owned(),
            objects,
            db,
            group_commit: GroupCommit::default(),
            syncer: Syncer::default(),
            folder_syncs: FolderSyncs::default(),
            signer,
        })
    }
}

/// Removes documents' temporary files a crash left in run folders: a walk of every run
/// folder, so on a thread of its own, not on the start-up path.
fn sweep_leftovers_in_background(objects: &Path) {
    let objects = objects.to_owned();
    let _ = std::thread::Builder::new()
        .name("leftover-sweep".to_owned())
        .spawn(move || {
            let swept = private_files::sweep_hidden_leftovers(&objects, STALE_LEFTOVER);
            if swept > 0 {
                tracing::info!(swept, "torn temporary files of an earlier run removed");
            }
        });
}

#[async_trait]
impl ObjectStore for LocalStore {
    async fn put_if_absent(&self, key: &str, bytes: Vec<u8>) -> Result<PutOutcome, StoreError> {
        let key = key.to_owned();
        self.blocking(move |s| s.put_document(&key, bytes)).await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = key.to_owned();
        self.blocking(move |s| s.read(&key)).await
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        let key = key.to_owned();
        self.blocking(move |s| s.contains(&key)).await
    }

    async fn stat(&self, key: &str) -> Result<Option<ObjectInfo>, StoreError> {
        let key = key.to_owned();
        self.blocking(move |s| s.stat(&key)).await
    }

    async fn hash(&self, key: &str) -> Result<Option<String>, StoreError> {
        let key = key.to_owned();
        self.blocking(move |s| Ok(s.checksum_of(&key)?.map(|(_, sha256)| sha256)))
            .await
    }

    async fn list(
        &self,
        prefix: &str,
        start_after: Option<String>,
        limit: usize,
    ) -> Result<Vec<ListEntry>, StoreError> {
        let prefix = prefix.to_owned();
        self.blocking(move |s| s.list_folder(&prefix, start_after.as_deref(), limit))
            .await
    }

    async fn remove_folder(&self, prefix: &str) -> Result<usize, StoreError> {
        let prefix = prefix.to_owned();
        self.blocking(move |s| s.remove_folder(&prefix)).await
    }

    async fn upload_link(&self, request: &UploadRequest) -> Result<String, StoreError> {
        Ok(links::upload_link(&self.core.signer, request))
    }

    async fn download_link(
        &self,
        key: &str,
        expires_in: Duration,
        base: &str,
    ) -> Result<String, StoreError> {
        Ok(links::download_link(
            &self.core.signer,
            key,
            expires_in,
            base,
        ))
    }
}

#[async_trait]
impl ServedLinks for LocalStore {
    fn verify(&self, claims: &LinkClaims, signature: &str) -> Result<(), LinkError> {
        self.core
            .signer
            .verify(claims, signature, crate::time::unix_now())
    }

    async fn receive_upload(
        &self,
        claims: &LinkClaims,
        body: UploadBody,
        limit: u64,
    ) -> Result<StoredUpload, UploadError> {
        self.receive(claims, body, limit).await
    }

    async fn open_download(&self, key: &str) -> Result<Option<Download>, StoreError> {
        use futures_util::StreamExt;
        let key = key.to_owned();
        let opened = self.blocking(move |s| s.open_object(&key)).await?;
        Ok(opened.map(|(file, size)| Download {
            stream: tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file)).boxed(),
            size,
        }))
    }
}

#[async_trait]
impl RunIndex for LocalStore {
    async fn index_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        let run = run.clone();
        self.blocking(move |s| s.write_run(run)).await
    }

    async fn run_counts(&self, group: &str, request_id: &str) -> Result<(u64, u64), StoreError> {
        let (group, request_id) = (group.to_owned(), request_id.to_owned());
        self.blocking(move |s| s.count_run(&group, &request_id))
            .await
    }

    async fn query_runs(&self, query: &RunQuery) -> Result<RunPage, StoreError> {
        let query = query.clone();
        self.blocking(move |s| s.select_runs(&query)).await
    }

    async fn remove_run(&self, group: &str, request_id: &str) -> Result<bool, StoreError> {
        let (group, request_id) = (group.to_owned(), request_id.to_owned());
        self.blocking(move |s| s.remove_run_rows(&group, &request_id))
            .await
    }

    async fn export_rows(
        &self,
        runs: &[RunSummary],
    ) -> Result<Vec<Option<Vec<StoredRow>>>, StoreError> {
        let runs = runs.to_vec();
        self.blocking(move |s| s.read_export_rows(&runs)).await
    }

    async fn indexed_groups(&self) -> Result<Vec<String>, StoreError> {
        self.blocking(|s| s.read_indexed_groups()).await
    }

    async fn survey_group(&self, group: &str) -> Result<Vec<IndexedRun>, StoreError> {
        let group = group.to_owned();
        self.blocking(move |s| s.read_group_survey(&group)).await
    }
}

#[async_trait]
impl UserStore for LocalStore {
    async fn get_user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        let name = name.to_owned();
        self.blocking(move |s| s.read_user(&name)).await
    }

    async fn put_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        let user = user.clone();
        self.blocking(move |s| s.write_user(&user)).await
    }

    async fn remove_user(&self, name: &str) -> Result<bool, StoreError> {
        let name = name.to_owned();
        self.blocking(move |s| s.delete_user(&name)).await
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.blocking(|s| s.read_users()).await
    }
}

#[async_trait]
impl AuditLog for LocalStore {
    async fn record(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let record = record.clone();
        self.blocking(move |s| s.append_audit(&record)).await
    }

    async fn audit_page(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        let query = query.clone();
        self.blocking(move |s| s.read_audit(&query)).await
    }
}

#[async_trait]
impl RetentionStore for LocalStore {
    async fn retention_rules(&self) -> Result<Vec<RetentionRule>, StoreError> {
        self.blocking(|s| s.read_retention()).await
    }

    async fn set_retention(
        &self,
        group: Option<&str>,
        days: Option<u32>,
    ) -> Result<Option<u32>, StoreError> {
        let group = group.map(str::to_owned);
        self.blocking(move |s| s.write_retention(group.as_deref(), days))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        drop(Core::open(dir.path()).expect("store"));
        assert_eq!(mode("index.sqlite"), 0o600);
        assert_eq!(mode("signing.key"), 0o600);
        fs::set_permissions(
            dir.path().join("index.sqlite"),
            fs::Permissions::from_mode(0o644),
        )
        .expect("chmod");
        let store = Core::open(dir.path()).expect("reopens");
        store
            .put_document("perf/1764000000-a/telemetry.json", b"{}".to_vec())
            .expect("write");
        assert_eq!(mode("index.sqlite"), 0o600);
        assert_eq!(mode("index.sqlite-wal"), 0o600);
        assert_eq!(mode("objects/perf/1764000000-a/telemetry.json"), 0o600);
    }
}

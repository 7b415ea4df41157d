//! Where documents, artifacts, the run index and users live.
//!
//! Only this module touches storage. Five small traits say what the routes need:
//! [`ObjectStore`] (documents and files, and links to them), [`RunIndex`] (one entry per run
//! and per scenario), [`UserStore`], [`AuditLog`] (admin actions) and [`RetentionStore`]; a sixth, [`ServedLinks`], is what only a store whose
//! links this server serves itself has (uploads and downloads through them). Two backends
//! implement them with one behaviour: [`local`] (files under a data directory, SQLite,
//! HMAC-signed links served by this server) and [`aws`] (S3, DynamoDB, S3 presigned links).
//! Files: [`records`] (what the stores keep), [`audit`] (the audit log's records),
//! [`retention`] (how long runs are kept), [`run_query`] (which runs to list, defined
//! once), [`served`] (uploads and downloads through served links), [`survey`] (what `fsck`
//! reads of the index), [`error`].

pub mod audit;
pub mod aws;
pub mod error;
pub mod local;
pub mod records;
pub mod retention;
pub mod run_query;
pub mod served;
pub mod survey;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use audit::{AuditPage, AuditPosition, AuditQuery, AuditRecord};
pub use aws::AwsStore;
pub use error::StoreError;
pub use local::LocalStore;
pub use records::{
    EntryKind, ListEntry, ObjectInfo, PutOutcome, RunRecord, ScenarioRecord, StoredRow,
    UploadRequest, UserRecord,
};
pub use retention::{MAX_RETENTION_DAYS, RetentionRule};
pub use run_query::{RunPage, RunPosition, RunQuery, RunSummary, run_tag_of};
pub use served::{ServedLinks, UploadError};
pub use survey::{IndexedRun, RunEntryFacts};

/// Documents and files.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// Writes `bytes` under `key` unless an object is already there (never overwrites).
    async fn put_if_absent(&self, key: &str, bytes: Vec<u8>) -> Result<PutOutcome, StoreError>;
    /// Reads an object.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// True when an object exists under `key`.
    async fn exists(&self, key: &str) -> Result<bool, StoreError>;
    /// The size of the object under `key` and its SHA-256 when the store knows it (recorded
    /// at upload; S3's checksum of an upload that announced one), without reading it.
    async fn stat(&self, key: &str) -> Result<Option<ObjectInfo>, StoreError>;
    /// The SHA-256 of the object under `key`, read from the object itself (streamed, never
    /// held whole), for when [`ObjectStore::stat`] does not know it.
    async fn hash(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// One folder level under `prefix`, sorted, after `start_after`, at most `limit` entries.
    async fn list(
        &self,
        prefix: &str,
        start_after: Option<String>,
        limit: usize,
    ) -> Result<Vec<ListEntry>, StoreError>;
    /// Removes every object in the folder `prefix` (a run's, `group/run/`), and the group's
    /// folder when it is left empty where folders are real; how many objects went. Removing
    /// a folder that is not there removes nothing.
    async fn remove_folder(&self, prefix: &str) -> Result<usize, StoreError>;
    /// A URL the client `PUT`s the file to.
    async fn upload_link(&self, request: &UploadRequest) -> Result<String, StoreError>;
    /// A URL the client `GET`s the file from; `base` prefixes links this server serves itself
    /// (an absolute URL, or a relative path from an HTML page).
    async fn download_link(
        &self,
        key: &str,
        expires_in: Duration,
        base: &str,
    ) -> Result<String, StoreError>;
}

/// One entry per filed run and one per scenario.
#[async_trait]
pub trait RunIndex: Send + Sync {
    /// Adds or replaces the entries of a run (idempotent).
    async fn index_run(&self, run: &RunRecord) -> Result<(), StoreError>;
    /// Number of run and scenario entries of a run key.
    async fn run_counts(&self, group: &str, request_id: &str) -> Result<(u64, u64), StoreError>;
    /// One page of runs matching `query`, newest filed first.
    async fn query_runs(&self, query: &RunQuery) -> Result<RunPage, StoreError>;
    /// Removes the entries of a run and of its scenarios (and what the store keeps beside
    /// them for the run's files); true when the run had an entry.
    async fn remove_run(&self, group: &str, request_id: &str) -> Result<bool, StoreError>;
    /// The stored export rows of each run's scenarios, in scenario order; `None` for a run
    /// where a row is missing or of another layout version (filed by an older release), which
    /// the caller then computes from the document.
    async fn export_rows(
        &self,
        runs: &[RunSummary],
    ) -> Result<Vec<Option<Vec<StoredRow>>>, StoreError>;
    /// The groups with entries (for `fsck`).
    async fn indexed_groups(&self) -> Result<Vec<String>, StoreError>;
    /// Every run key of `group` with entries, by request id, as the index holds them (for
    /// `fsck`).
    async fn survey_group(&self, group: &str) -> Result<Vec<IndexedRun>, StoreError>;
}

/// Users with their role, groups and password hash.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Reads a user.
    async fn get_user(&self, name: &str) -> Result<Option<UserRecord>, StoreError>;
    /// Creates or replaces a user.
    async fn put_user(&self, user: &UserRecord) -> Result<(), StoreError>;
    /// Removes a user; true when one was removed.
    async fn remove_user(&self, name: &str) -> Result<bool, StoreError>;
    /// Every user, by name.
    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError>;
}

/// Admin actions, kept for as long as the store (no expiry): who, what, when, from where.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends a record.
    async fn record(&self, record: &AuditRecord) -> Result<(), StoreError>;
    /// One page of records, newest first.
    async fn audit_page(&self, query: &AuditQuery) -> Result<AuditPage, StoreError>;
}

/// Retention rules: days per group and a default (`group = None`).
#[async_trait]
pub trait RetentionStore: Send + Sync {
    /// Every rule, the default first, then by group.
    async fn retention_rules(&self) -> Result<Vec<RetentionRule>, StoreError>;
    /// Sets (`Some`) or removes (`None`) the rule of `group` (the default when `None`);
    /// the days it said before.
    async fn set_retention(
        &self,
        group: Option<&str>,
        days: Option<u32>,
    ) -> Result<Option<u32>, StoreError>;
}

/// One backend: its faces, and the links it serves itself when it is the embedded store
/// (the upload and download routes exist only there; S3 serves its own links).
#[derive(Clone)]
pub struct Backend {
    /// Documents and files.
    pub objects: Arc<dyn ObjectStore>,
    /// The run index.
    pub index: Arc<dyn RunIndex>,
    /// Users.
    pub users: Arc<dyn UserStore>,
    /// The audit log.
    pub audit: Arc<dyn AuditLog>,
    /// Retention rules.
    pub retention: Arc<dyn RetentionStore>,
    /// Uploads and downloads through links this server serves (`None` on S3).
    pub served: Option<Arc<dyn ServedLinks>>,
}

/// What deleting a run removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeletedRun {
    /// The run had an index entry (a delete cut short by a crash leaves files without one).
    pub indexed: bool,
    /// Objects removed (the document and the run's files).
    pub objects: usize,
}

impl Backend {
    /// Deletes the run `key`: its index entries first, then its objects, so that no entry
    /// ever names a missing document; a delete cut short leaves objects without an entry,
    /// which deleting again removes. `None` when there was neither.
    pub async fn delete_run(
        &self,
        key: &krkn_telemetry_model::RunKey,
    ) -> Result<Option<DeletedRun>, StoreError> {
        let indexed = self.index.remove_run(key.group(), key.request_id()).await?;
        let objects = self.objects.remove_folder(&key.prefix()).await?;
        Ok((indexed || objects > 0).then_some(DeletedRun { indexed, objects }))
    }

    /// The embedded store as a backend.
    pub fn local(store: LocalStore) -> Self {
        let store = Arc::new(store);
        Backend {
            objects: store.clone(),
            index: store.clone(),
            users: store.clone(),
            audit: store.clone(),
            retention: store.clone(),
            served: Some(store),
        }
    }

    /// S3 + DynamoDB as a backend.
    pub fn aws(store: Arc<AwsStore>) -> Self {
        Backend {
            objects: store.clone(),
            index: store.clone(),
            users: store.clone(),
            audit: store.clone(),
            retention: store,
            served: None,
        }
    }
}

//! Where documents, artifacts, the run index and users live.
//!
//! Only this module touches storage. Three small traits say what the routes need:
//! [`ObjectStore`] (documents and files, and links to them), [`RunIndex`] (one entry per run
//! and per scenario) and [`UserStore`]. Two backends implement all three with one behaviour:
//! [`local`] (files under a data directory, SQLite, HMAC-signed links served by this
//! server) and [`aws`] (S3, DynamoDB, S3 presigned links).

pub mod aws;
mod document_log;
mod folder_sync;
pub mod local;
pub(crate) mod private_files;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

pub use aws::AwsStore;
pub use local::{Embedded, LocalStore};

/// What an upload link must bind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRequest {
    /// The object key the link may write.
    pub key: String,
    /// How long the link is valid.
    pub expires_in: Duration,
    /// Exact length, when the client announced it.
    pub length: Option<u64>,
    /// SHA-256 (hex), when the client announced it.
    pub sha256: Option<String>,
    /// Where this server is reached (`http://host:port`), for links it serves itself.
    pub base_url: String,
}

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

/// What the store knows of an object without reading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ObjectInfo {
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, lower-case hex, when known (`null`: stored by a client that announced none).
    pub sha256: Option<String>,
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
    /// The stored export rows of each run's scenarios, in scenario order; `None` for a run
    /// where a row is missing or of another layout version (filed by an older release), which
    /// the caller then computes from the document.
    async fn export_rows(
        &self,
        runs: &[RunSummary],
    ) -> Result<Vec<Option<Vec<StoredRow>>>, StoreError>;
}

/// A scenario's export row as the index holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRow {
    /// The scenario's type (for the export's `scenario_type` filter without reading the row).
    pub scenario_type: String,
    /// The row, rendered by `krkn_telemetry_model::export::render_row`.
    pub text: String,
}

/// Which runs to list (`GET /api/v1/runs`). Every filter is optional; all given ones must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunQuery {
    /// Only this group.
    pub group: Option<String>,
    /// Only these groups (the caller's access), when not all.
    pub allowed_groups: Option<Vec<String>>,
    /// Runs with at least one scenario of this type.
    pub scenario_type: Option<String>,
    /// Cluster major version, exactly (`4.18`).
    pub major_version: Option<String>,
    /// Cloud platform, exactly (`AWS`).
    pub cloud: Option<String>,
    /// Overall outcome.
    pub job_status: Option<bool>,
    /// Text the run tag contains.
    pub run_tag: Option<String>,
    /// Filed at or after (RFC 3339, seconds, `Z`).
    pub since: Option<String>,
    /// Filed at or before (RFC 3339, seconds, `Z`).
    pub until: Option<String>,
    /// Runs per page.
    pub limit: usize,
    /// Continue after this run (from the previous page's cursor).
    pub after: Option<RunPosition>,
}

/// Where a page of runs ended: the last run's filing time and key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RunPosition {
    /// `filed_at` of the run.
    pub filed_at: String,
    /// Its group.
    pub group: String,
    /// Its request id.
    pub request_id: String,
}

/// A run as listed: what its index entry says.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RunSummary {
    /// Group of the run.
    pub group: String,
    /// Request id of the run.
    pub request_id: String,
    /// krkn's run uuid.
    pub run_uuid: String,
    /// The run tag krkn appended to the request id (empty when none).
    pub run_tag: String,
    /// When it was filed, RFC 3339.
    pub filed_at: String,
    /// Cluster version.
    pub cluster_version: String,
    /// Cluster major version (`4.18`).
    pub major_version: String,
    /// Cloud platform.
    pub cloud_infrastructure: String,
    /// Overall outcome, when the document said.
    pub job_status: Option<bool>,
    /// Number of scenarios.
    pub scenario_count: u64,
    /// Distinct scenario types, sorted.
    pub scenario_types: Vec<String>,
    /// Size of the stored document.
    pub document_bytes: u64,
}

/// One page of runs and where the next one starts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunPage {
    /// The runs, newest filed first.
    pub runs: Vec<RunSummary>,
    /// Set when more runs may follow.
    pub next: Option<RunPosition>,
}

impl RunQuery {
    /// True when `run` passes every filter but the group and time ones (which the backends
    /// apply through their keys); the reference the backends' own filtering must agree with.
    pub fn accepts(&self, run: &RunSummary) -> bool {
        self.scenario_type
            .as_ref()
            .is_none_or(|t| run.scenario_types.iter().any(|x| x == t))
            && self
                .major_version
                .as_ref()
                .is_none_or(|v| &run.major_version == v)
            && self
                .cloud
                .as_ref()
                .is_none_or(|c| &run.cloud_infrastructure == c)
            && self.job_status.is_none_or(|j| run.job_status == Some(j))
            && self
                .run_tag
                .as_ref()
                .is_none_or(|t| run.run_tag.contains(t.as_str()))
    }
}

/// The major version of a cluster version: its first two numbers (`4.18.3` → `4.18`).
pub fn major_version_of(cluster_version: &str) -> String {
    let mut parts = cluster_version.trim().splitn(3, '.');
    match (parts.next(), parts.next()) {
        (Some(major), Some(minor)) if !major.is_empty() && !minor.is_empty() => {
            let minor: String = minor.chars().take_while(char::is_ascii_digit).collect();
            if minor.is_empty() {
                major.to_owned()
            } else {
                format!("{major}.{minor}")
            }
        }
        _ => cluster_version.trim().to_owned(),
    }
}

/// The run tag of a krkn request id (`<unix>-<run_uuid>-<tag>` → `<tag>`), empty when none.
pub fn run_tag_of(request_id: &str, run_uuid: &str) -> String {
    if run_uuid.is_empty() {
        return String::new();
    }
    request_id
        .find(run_uuid)
        .and_then(|at| request_id[at + run_uuid.len()..].strip_prefix('-'))
        .unwrap_or_default()
        .to_owned()
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

/// One backend: its three faces, and the embedded store when it is the embedded one (the
/// upload and download routes exist only there; S3 serves its own links).
#[derive(Clone)]
pub struct Backend {
    /// Documents and files.
    pub objects: Arc<dyn ObjectStore>,
    /// The run index.
    pub index: Arc<dyn RunIndex>,
    /// Users.
    pub users: Arc<dyn UserStore>,
    /// The embedded store, for the routes that serve its links.
    pub local: Option<Arc<LocalStore>>,
}

impl Backend {
    /// The embedded store as a backend.
    pub fn local(store: Arc<LocalStore>) -> Self {
        let embedded = Arc::new(Embedded(Arc::clone(&store)));
        Backend {
            objects: embedded.clone(),
            index: embedded.clone(),
            users: embedded,
            local: Some(store),
        }
    }

    /// S3 + DynamoDB as a backend.
    pub fn aws(store: Arc<AwsStore>) -> Self {
        Backend {
            objects: store.clone(),
            index: store.clone(),
            users: store,
            local: None,
        }
    }
}

/// A storage failure. Requests that hit one get a 503 and leave nothing half-written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// On what.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The index database failed.
    #[error("index database: {0}")]
    Index(#[from] rusqlite::Error),
    /// A key that must never reach storage (defence in depth: routes check names first).
    #[error("refused storage key {0:?}")]
    BadKey(String),
    /// A file the store relies on is open to other users (refused at start).
    #[error("{0}")]
    Insecure(String),
    /// A blocking task could not finish.
    #[error("storage task failed: {0}")]
    Task(String),
    /// S3 or DynamoDB failed.
    #[error("{service}: {message}")]
    Remote {
        /// Which service and call (`S3 PutObject`).
        service: &'static str,
        /// What it said.
        message: String,
    },
}

impl StoreError {
    /// What a client may be told: the failed step and the error's kind, without the host's
    /// paths, the stored keys or the cloud account's resource names (the log has those).
    pub fn public_text(&self) -> String {
        match self {
            StoreError::Io { action, source, .. } => format!("cannot {action} a file: {source}"),
            StoreError::Index(error) => format!("the index database failed: {error}"),
            StoreError::BadKey(_) => "a storage key was refused".to_owned(),
            StoreError::Insecure(_) => "a store file is open to other users".to_owned(),
            StoreError::Task(_) => "a storage task stopped unexpectedly".to_owned(),
            StoreError::Remote { service, .. } => {
                format!("{service} failed (the server's log has the details)")
            }
        }
    }
}

/// Result of a conditional write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The object did not exist and now holds the bytes.
    Created,
    /// An object already existed; nothing was written.
    AlreadyExists,
}

/// One entry of a folder listing, in the shape krkn's browser expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ListEntry {
    /// Name below the listed folder.
    pub path: String,
    /// `file` or `folder`.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: &'static str,
    /// Size in bytes (0 for folders).
    pub size: u64,
    /// Last modification, RFC 3339 (empty for folders).
    pub modified: String,
}

/// The index entry of one filed run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// Group of the run.
    pub group: String,
    /// Request id of the run.
    pub request_id: String,
    /// krkn's run uuid.
    pub run_uuid: String,
    /// When the run was filed, RFC 3339.
    pub filed_at: String,
    /// Cluster version from the document.
    pub cluster_version: String,
    /// Cluster major version from the document (else from the cluster version).
    pub major_version: String,
    /// The run tag at the end of the request id.
    pub run_tag: String,
    /// Cloud platform from the document.
    pub cloud_infrastructure: String,
    /// Overall outcome from the document.
    pub job_status: Option<bool>,
    /// SHA-256 of the stored document, hex.
    pub document_sha256: String,
    /// Size of the stored document in bytes.
    pub document_bytes: u64,
    /// One entry per scenario.
    pub scenarios: Vec<ScenarioRecord>,
}

impl RunRecord {
    /// Distinct scenario types, sorted.
    pub fn scenario_types(&self) -> Vec<String> {
        let mut types: Vec<String> = self
            .scenarios
            .iter()
            .map(|s| s.scenario_type.clone())
            .filter(|t| !t.is_empty())
            .collect();
        types.sort();
        types.dedup();
        types
    }
}

/// The index entry of one scenario of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioRecord {
    /// Position in the run.
    pub index: u32,
    /// Scenario file.
    pub scenario: String,
    /// Scenario type.
    pub scenario_type: String,
    /// Exit status.
    pub exit_status: Option<i64>,
    /// Start, unix seconds.
    pub start_timestamp: Option<f64>,
    /// End, unix seconds.
    pub end_timestamp: Option<f64>,
    /// The scenario's export row (`krkn_telemetry_model::export::render_row`), of layout
    /// version `krkn_telemetry_model::export::EXPORT_VERSION`; `None` when it is too long to
    /// keep in the index (the export then renders the run from its document).
    pub export_row: Option<String>,
}

/// A stored user: the password only as an argon2id PHC string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Login name.
    pub name: String,
    /// `uploader`, `reader` or `admin`.
    pub role: String,
    /// Comma-separated groups, or `*`.
    pub groups: String,
    /// argon2id PHC string.
    pub password_hash: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a client is told of a storage failure names the step, never a path or an ARN.
    #[test]
    fn public_texts_hide_paths_and_account_names() {
        let io = StoreError::Io {
            action: "create",
            path: "/srv/krkn/data/tmp/3f2a.part".to_owned(),
            source: std::io::Error::from_raw_os_error(28),
        };
        let text = io.public_text();
        assert!(
            text.starts_with("cannot create a file: No space left on device"),
            "{text}"
        );
        assert!(!text.contains("/srv"), "{text}");
        let remote = StoreError::Remote {
            service: "DynamoDB BatchWriteItem",
            message: "AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/krkn-api/fn is not authorized".to_owned(),
        };
        let text = remote.public_text();
        assert!(text.starts_with("DynamoDB BatchWriteItem failed"), "{text}");
        assert!(
            !text.contains("arn:aws") && !text.contains("123456789012"),
            "{text}"
        );
    }
}

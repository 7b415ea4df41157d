//! Where documents, artifacts, the run index and users live.
//!
//! Only this module touches storage. The embedded store ([`local`]) keeps objects as files
//! under a data directory and the index and users in SQLite; the S3 + DynamoDB store joins it
//! behind the same operations in the API issue's next step.

pub mod local;

use serde::Serialize;

pub use local::LocalStore;

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
    /// A blocking task could not finish.
    #[error("storage task failed: {0}")]
    Task(String),
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListEntry {
    /// Name below the listed folder.
    pub path: String,
    /// `file` or `folder`.
    #[serde(rename = "type")]
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

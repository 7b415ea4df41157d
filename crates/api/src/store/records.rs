//! What the stores keep: objects' facts, folder listings, the index entries of runs and
//! scenarios, users, and the request for an upload link.

use std::time::Duration;

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

/// What the store knows of an object without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, lower-case hex, when known (`null`: stored by a client that announced none).
    pub sha256: Option<String>,
}

/// Result of a conditional write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The object did not exist and now holds the bytes.
    Created,
    /// An object already existed; nothing was written.
    AlreadyExists,
}

/// One entry of a folder listing (the routes' `FolderEntry` is its wire form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    /// Name below the listed folder.
    pub path: String,
    /// A file or a folder.
    pub kind: EntryKind,
    /// Size in bytes (0 for folders).
    pub size: u64,
    /// Last modification, RFC 3339 (empty for folders).
    pub modified: String,
}

/// What a listed name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A stored object.
    File,
    /// A level of keys (a group, a run).
    Folder,
}

impl ListEntry {
    /// A folder entry (no size, no time).
    pub fn folder(path: String) -> Self {
        ListEntry {
            path,
            kind: EntryKind::Folder,
            size: 0,
            modified: String::new(),
        }
    }

    /// A file entry; `modified` is RFC 3339 (empty when unknown).
    pub fn file(path: String, size: u64, modified: String) -> Self {
        ListEntry {
            path,
            kind: EntryKind::File,
            size,
            modified,
        }
    }
}

/// A scenario's export row as the index holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRow {
    /// The scenario's type (for the export's `scenario_type` filter without reading the row).
    pub scenario_type: String,
    /// The row, rendered by `krkn_telemetry_model::export::render_row`.
    pub text: String,
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

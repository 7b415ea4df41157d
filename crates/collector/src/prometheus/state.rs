//! The resume state of a Prometheus backup: which parts are confirmed uploaded, with their
//! size and SHA-256. Written atomically (temp file, rename, fsync of the folder) after every
//! confirmed part, so a run killed at any instant leaves a state that is true.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The state file's name in the backup's folder.
pub const STATE_FILE: &str = "prometheus-backup.state.json";

/// One confirmed part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartRecord {
    /// Bytes in the part.
    pub size: u64,
    /// Lower-case hex SHA-256 of the part.
    pub sha256: String,
}

/// What a backup has done so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeState {
    /// `<group>/<request_id>` the parts go to.
    pub run: String,
    /// `namespace/pod/container:path` the stream comes from.
    pub source: String,
    /// Bytes per part.
    pub part_size: u64,
    /// Confirmed parts by number.
    pub parts: BTreeMap<u32, PartRecord>,
    /// Whether the manifest is uploaded (the backup is complete).
    pub manifest_uploaded: bool,
}

/// Why a state file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The file exists but cannot be read or parsed.
    #[error("{path}: {reason}")]
    Unreadable {
        /// The state file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The file belongs to another backup (another run, source or part size).
    #[error("{path} belongs to another backup ({found}); remove it or use another archive_path")]
    Other {
        /// The state file.
        path: PathBuf,
        /// What it describes.
        found: String,
    },
}

impl ResumeState {
    /// Loads the state in `dir` for this backup, or starts a new one.
    pub fn load(dir: &Path, run: &str, source: &str, part_size: u64) -> Result<Self, StateError> {
        let path = dir.join(STATE_FILE);
        let fresh = ResumeState {
            run: run.to_owned(),
            source: source.to_owned(),
            part_size,
            parts: BTreeMap::new(),
            manifest_uploaded: false,
        };
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(fresh),
            Err(e) => {
                return Err(StateError::Unreadable {
                    path,
                    reason: e.to_string(),
                });
            }
        };
        let state: ResumeState =
            serde_json::from_slice(&text).map_err(|e| StateError::Unreadable {
                path: path.clone(),
                reason: format!("not a backup state: {e}"),
            })?;
        if state.run != run || state.source != source || state.part_size != part_size {
            return Err(StateError::Other {
                path,
                found: format!(
                    "run {}, source {}, parts of {} bytes",
                    state.run, state.source, state.part_size
                ),
            });
        }
        Ok(state)
    }

    /// Writes the state into `dir` atomically.
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        let text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::archive::write_atomically(&dir.join(STATE_FILE), &text)
    }
}

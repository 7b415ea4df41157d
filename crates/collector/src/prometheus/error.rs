//! Why a Prometheus backup did not finish, with the context a person needs to act on it.

use super::state::StateError;
use crate::cluster::exec::StreamError;
use crate::upload::UploadError;

/// Why a backup did not finish.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The state file cannot be used.
    #[error(transparent)]
    State(#[from] StateError),
    /// The exec stream could not start or kept breaking.
    #[error("prometheus backup from {source_name}: {error}")]
    Stream {
        /// `namespace/pod/container:path`.
        source_name: String,
        /// The last stream error.
        error: StreamError,
    },
    /// The source no longer produces the parts already uploaded (Prometheus wrote since).
    #[error(
        "{name} was uploaded by an earlier run but the stream now differs at that part ({reason}): \
         the source changed, so the uploaded parts cannot be completed; start a new backup under another request id",
        name = krkn_telemetry_model::ArtifactName::prometheus_part(*.part)
    )]
    SourceChanged {
        /// The part number.
        part: u32,
        /// How it differs.
        reason: String,
    },
    /// A part could not be uploaded.
    #[error(transparent)]
    Upload(#[from] UploadError),
    /// SIGTERM or SIGINT stopped the backup; the confirmed parts are recorded.
    #[error(
        "stopped by {}: {recorded} part(s) are uploaded and recorded in the backup state{}",
        signal.name(),
        if *abandoned > 0 { format!(", {abandoned} upload(s) in flight abandoned, unfinished within the grace period or not retried after the stop (sent again on resume)") } else { String::new() }
    )]
    Interrupted {
        /// The signal.
        signal: crate::shutdown::Signal,
        /// Parts confirmed so far (by this run and earlier ones).
        recorded: usize,
        /// Uploads still running when the grace period ran out, or failed and not retried.
        abandoned: usize,
    },
    /// Local disk trouble.
    #[error("{context}: {error}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        error: std::io::Error,
    },
}

/// Wraps an I/O error with what was being done.
pub(super) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
    let context = context.into();
    move |error| BackupError::Io { context, error }
}

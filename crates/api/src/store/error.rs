//! Storage failures, and what a client may be told of them.

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

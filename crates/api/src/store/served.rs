//! What only a store whose links this server serves itself offers (the embedded store):
//! checking those links, receiving an upload, streaming a download. S3 serves its own links,
//! so the AWS backend has none of this and the routes that need it answer 404 there.

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::BoxStream;

use super::StoreError;
use crate::signing::{LinkClaims, LinkError};

/// Any error, boxed (what a request body's stream fails with).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An upload's body as it arrives.
pub type UploadBody = BoxStream<'static, Result<Bytes, BoxError>>;

/// A stored file opened for download: its bytes as a stream, and its size.
pub struct Download {
    /// The bytes, read as they are sent.
    pub stream: BoxStream<'static, std::io::Result<Bytes>>,
    /// Size in bytes (the response's `Content-Length`).
    pub size: u64,
}

/// A stored upload: what its `ETag` and log line say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUpload {
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
}

/// Why an upload was not stored; nothing is half-written in any case.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// More bytes than the link or the server allows (413).
    #[error("the body is over the limit of {0} bytes")]
    TooLarge(u64),
    /// The body is not what the link was signed for (400); the text says how.
    #[error("{0}")]
    NotAsSigned(String),
    /// Another file is stored under the key, and is never replaced (412).
    #[error("{0} already exists and cannot be replaced")]
    Exists(String),
    /// Another upload of the same key is under way (409).
    #[error("an upload of {0} is in progress; try again once it has ended")]
    Busy(String),
    /// The body broke off or stalled (its cause tells which).
    #[error("the request body broke off: {0}")]
    Body(BoxError),
    /// The store failed (503).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Links this server serves itself, and the uploads and downloads through them.
#[async_trait]
pub trait ServedLinks: Send + Sync {
    /// Checks a link's signature (constant time) and expiry.
    fn verify(&self, claims: &LinkClaims, signature: &str) -> Result<(), LinkError>;
    /// Stores `body` under `claims.key` unless a file is there: the same bytes again are a
    /// success (a retry whose answer was lost), other bytes [`UploadError::Exists`]. At most
    /// `limit` bytes; the length and SHA-256 the link was signed for, when it was.
    async fn receive_upload(
        &self,
        claims: &LinkClaims,
        body: UploadBody,
        limit: u64,
    ) -> Result<StoredUpload, UploadError>;
    /// Opens the file under `key` for download; `None` when there is none.
    async fn open_download(&self, key: &str) -> Result<Option<Download>, StoreError>;
}

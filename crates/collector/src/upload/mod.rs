//! The telemetry service's client protocol (`KRKN-PROTOCOL.md` section 1), spoken exactly as
//! krkn-lib speaks it, so it works against our API and the old Flask service alike:
//! `POST /telemetry`, `GET /presigned-url` then `PUT` to the link.
//!
//! Unlike krkn-lib (a fixed 5 s sleep, no timeouts, errors lost in threads), every call has a
//! timeout, and failures that may pass (connection errors, timeouts, 5xx, 408 and 429) are
//! retried with exponential backoff and jitter: `max_retries` retries (0 = forever, as krkn),
//! all bounded by an optional deadline. Other 4xx answers are final: retrying a refused
//! document or a wrong password cannot help; so is a certificate the client does not trust.
//! Once a stop is asked for (SIGTERM, SIGINT) no attempt starts again: a wait between
//! attempts ends at once and the exchange fails as stopped.

use std::time::Duration;

use krkn_telemetry_model::{ArtifactName, RunKey, Secret};
use tokio::time::Instant;

mod retry;

use retry::{Attempt, check, from_reqwest};

/// How to reach the service and how hard to try.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Base URL, without a trailing slash.
    pub url: String,
    /// HTTP Basic user.
    pub username: String,
    /// HTTP Basic password.
    pub password: Secret,
    /// Retries after the first attempt; 0 retries forever (krkn's meaning).
    pub max_retries: u32,
    /// No attempt starts after this instant.
    pub deadline: Option<Instant>,
    /// Timeout of one request (an upload gets more time per MiB).
    pub request_timeout: Duration,
    /// Shortest wait between attempts (doubles up to [`ApiSettings::max_backoff`]).
    pub min_backoff: Duration,
    /// Longest wait between attempts.
    pub max_backoff: Duration,
    /// The command's stop: once asked for, no new attempt starts.
    pub stop: Option<crate::shutdown::Shutdown>,
}

impl ApiSettings {
    /// Settings with the defaults for `url` and credentials.
    pub fn new(url: &str, username: &str, password: Secret) -> Self {
        ApiSettings {
            url: url.trim_end_matches('/').to_owned(),
            username: username.to_owned(),
            password,
            max_retries: 0,
            deadline: None,
            request_timeout: Duration::from_secs(60),
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            stop: None,
        }
    }
}

/// Why an exchange with the service failed for good.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The service refused the request (a 4xx other than 408/429); retrying cannot help.
    #[error("{what}: the service answered {status}: {body}")]
    Refused {
        /// What was being done.
        what: String,
        /// HTTP status.
        status: u16,
        /// The service's explanation.
        body: String,
    },
    /// Every allowed attempt failed.
    #[error("{what}: gave up after {attempts} attempt(s): {last}")]
    GaveUp {
        /// What was being done.
        what: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
    /// The deadline passed before an attempt succeeded.
    #[error("{what}: the deadline passed after {attempts} attempt(s); last failure: {last}")]
    Deadline {
        /// What was being done.
        what: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure, if any attempt finished.
        last: String,
    },
    /// The service already holds other bytes under the file's name (a 412 whose stored
    /// checksum is not this file's, or is unknown).
    #[error("{what}: {reason}")]
    Conflict {
        /// What was being done.
        what: String,
        /// What differs.
        reason: String,
    },
    /// Something on this side failed (a part file vanished).
    #[error("{what}: {reason}")]
    Local {
        /// What was being done.
        what: String,
        /// What failed.
        reason: String,
    },
    /// The service's TLS certificate does not verify against the trusted roots.
    #[error(
        "{what}: the service's TLS certificate is not trusted ({reason}); if a private or corporate CA signs it, set SSL_CERT_FILE to a PEM file holding that CA"
    )]
    Untrusted {
        /// What was being done.
        what: String,
        /// What the verification found.
        reason: String,
    },
    /// A stop (SIGTERM, SIGINT) came before the exchange succeeded; no attempt was started
    /// after it.
    #[error("{what}: stopped by {signal} after {attempts} attempt(s); last failure: {last}")]
    Stopped {
        /// What was being done.
        what: String,
        /// The signal.
        signal: &'static str,
        /// Attempts made.
        attempts: u32,
        /// The last failure, if any attempt finished.
        last: String,
    },
    /// The client could not be built.
    #[error("cannot set up the HTTP client")]
    Client(reqwest::Error),
}

/// A client for one telemetry service.
#[derive(Debug, Clone)]
pub struct TelemetryApi {
    settings: ApiSettings,
    http: reqwest::Client,
}

impl TelemetryApi {
    /// A client for `settings`.
    pub fn new(settings: ApiSettings) -> Result<Self, UploadError> {
        crate::cluster::connect::install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("krkn-telemetry/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(UploadError::Client)?;
        Ok(TelemetryApi { settings, http })
    }

    /// The link krkn prints at the end of a run: the run's folder in the file browser.
    pub fn files_link(&self, key: &RunKey) -> String {
        format!(
            "{}/files/{}/{}",
            self.settings.url,
            key.group(),
            key.request_id()
        )
    }

    /// `POST /telemetry` with the document, as krkn sends it; returns the service's answer.
    pub async fn post_telemetry(
        &self,
        key: &RunKey,
        document: bytes::Bytes,
    ) -> Result<String, UploadError> {
        let url = format!("{}/telemetry", self.settings.url);
        retry::retried(&self.settings, "sending telemetry.json", || {
            let request = self
                .http
                .post(&url)
                .basic_auth(
                    &self.settings.username,
                    Some(self.settings.password.expose()),
                )
                .query(&[
                    ("request_id", key.request_id()),
                    ("telemetry_group", key.group()),
                ])
                .header("Content-type", "application/json")
                .header("Accept", "text/plain")
                .timeout(self.settings.request_timeout)
                .body(document.clone());
            async move { check(request.send().await.map_err(from_reqwest)?).await }
        })
        .await
        .inspect(|_| {
            crate::report::sent_bytes(krkn_telemetry_model::keys::TELEMETRY_FILE, &document)
        })
    }

    /// Uploads one file of the run: asks for a link (announcing its length and SHA-256, which
    /// our service binds into the link and checks; the old Flask service ignores them), then
    /// `PUT`s the bytes to it. The pair is retried as a whole, since a link may expire while a
    /// retry waits. A file is read from disk again on every attempt, never held in memory.
    pub async fn upload(
        &self,
        key: &RunKey,
        name: &ArtifactName,
        payload: &Payload,
    ) -> Result<UploadOutcome, UploadError> {
        let link_url = format!("{}/presigned-url", self.settings.url);
        let folder = key.to_string();
        let sha256_hex = hex_digest(&payload.sha256);
        let length = payload.len.to_string();
        // A slow link gets a minute plus a second per MiB.
        let put_timeout = self.settings.request_timeout + Duration::from_secs(payload.len >> 20);
        let attempts = std::sync::atomic::AtomicU32::new(0);
        retry::retried(
            &self.settings,
            &format!("uploading {}", name.as_str()),
            || {
                let attempt = attempts.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                let link = self
                    .http
                    .get(&link_url)
                    .basic_auth(
                        &self.settings.username,
                        Some(self.settings.password.expose()),
                    )
                    .query(&[
                        ("request_id", folder.as_str()),
                        ("remote_filename", name.as_str()),
                        ("content_length", length.as_str()),
                        ("sha256", sha256_hex.as_str()),
                    ])
                    .timeout(self.settings.request_timeout);
                let http = self.http.clone();
                let stat = self
                    .http
                    .get(format!(
                        "{}/api/v1/runs/{}/{}/files/{}",
                        self.settings.url,
                        key.group(),
                        key.request_id(),
                        name.as_str()
                    ))
                    .basic_auth(
                        &self.settings.username,
                        Some(self.settings.password.expose()),
                    )
                    .timeout(self.settings.request_timeout);
                async move {
                    let link = check(link.send().await.map_err(from_reqwest)?).await?;
                    let link = link.trim();
                    if !(link.starts_with("http://") || link.starts_with("https://")) {
                        return Err(Attempt::Refused(
                            200,
                            format!("the upload link is not a URL: {link:.200}"),
                        ));
                    }
                    let mut put = http
                        .put(link)
                        .timeout(put_timeout)
                        .header(reqwest::header::CONTENT_LENGTH, payload.len)
                        .body(payload.body().await?);
                    // An S3 link names the headers it was signed with; send exactly those. Our
                    // own links check length and checksum on the server; others bind nothing.
                    let signed = signed_headers(link);
                    if signed.iter().any(|h| h == "x-amz-checksum-sha256") {
                        put = put.header("x-amz-checksum-sha256", base64_digest(&payload.sha256));
                    }
                    if signed.iter().any(|h| h == "if-none-match") {
                        put = put.header(reqwest::header::IF_NONE_MATCH, "*");
                    }
                    match check(put.send().await.map_err(from_reqwest)?).await {
                        Ok(_) => Ok(UploadOutcome::Stored),
                        // The file is there already: a retry after an attempt whose answer was
                        // lost, or a resumed run; or other bytes. Only the stored checksum tells.
                        Err(Attempt::Refused(412, _)) => {
                            let stored = check(stat.send().await.map_err(from_reqwest)?).await?;
                            same_file(&stored, payload, attempt)
                        }
                        Err(other) => Err(other),
                    }
                }
            },
        )
        .await
        .inspect(|_| crate::report::file(name.as_str(), payload.len, &payload.sha256, true))
    }
}

/// After a 412: whether the file the service holds under the name (`stored`, its answer to
/// `GET …/files/F`) is this payload. Only the same SHA-256 makes it so.
fn same_file(stored: &str, payload: &Payload, attempt: u32) -> Result<UploadOutcome, Attempt> {
    let stored: StoredFile = serde_json::from_str(stored).map_err(|e| {
        Attempt::Refused(
            200,
            format!("the stored file's description is not JSON: {e}"),
        )
    })?;
    let ours = hex_digest(&payload.sha256);
    match stored.sha256 {
        // The same SHA-256 is the same bytes.
        Some(sha) if sha.eq_ignore_ascii_case(&ours) => {
            Ok(UploadOutcome::AlreadyStored { attempt })
        }
        Some(sha) => Err(Attempt::Conflict(format!(
            "the service already holds other bytes under this name ({} bytes, \
             SHA-256 {sha}; this file: {} bytes, SHA-256 {ours}) and never \
             replaces a file: upload under another request id",
            stored.size, payload.len
        ))),
        None => Err(Attempt::Conflict(format!(
            "the service already holds a file under this name ({} bytes) whose \
             checksum it does not know, so it cannot be shown to be this one \
             ({} bytes, SHA-256 {ours})",
            stored.size, payload.len
        ))),
    }
}

/// What the service says of a stored file (`GET /api/v1/runs/G/ID/files/F`).
#[derive(Debug, serde::Deserialize)]
struct StoredFile {
    size: u64,
    sha256: Option<String>,
}

/// How an upload ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadOutcome {
    /// The bytes were stored.
    Stored,
    /// The store already had a file under that name (HTTP 412 to a no-overwrite link).
    AlreadyStored {
        /// The attempt that found it (1 when it was there before this run).
        attempt: u32,
    },
}

/// What to upload: bytes in memory or a file on disk, with its length and SHA-256.
#[derive(Debug, Clone)]
pub struct Payload {
    source: Source,
    /// Length in bytes.
    pub len: u64,
    /// SHA-256 of the content.
    pub sha256: [u8; 32],
}

#[derive(Debug, Clone)]
enum Source {
    Bytes(bytes::Bytes),
    File(std::path::PathBuf),
}

impl Payload {
    /// Bytes in memory (small files such as the alert summary).
    pub fn bytes(bytes: bytes::Bytes) -> Self {
        use sha2::Digest;
        Payload {
            len: bytes.len() as u64,
            sha256: sha2::Sha256::digest(&bytes).into(),
            source: Source::Bytes(bytes),
        }
    }

    /// A file whose length and SHA-256 were computed while it was written.
    pub fn file(path: std::path::PathBuf, len: u64, sha256: [u8; 32]) -> Self {
        Payload {
            source: Source::File(path),
            len,
            sha256,
        }
    }

    async fn body(&self) -> Result<reqwest::Body, Attempt> {
        match &self.source {
            Source::Bytes(bytes) => Ok(reqwest::Body::from(bytes.clone())),
            Source::File(path) => {
                let file = tokio::fs::File::open(path)
                    .await
                    .map_err(|e| Attempt::Local(format!("cannot read {}: {e}", path.display())))?;
                Ok(reqwest::Body::wrap_stream(
                    tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024),
                ))
            }
        }
    }
}

/// The headers an S3 presigned URL was signed with (`X-Amz-SignedHeaders=host;x-amz-…`).
fn signed_headers(link: &str) -> Vec<String> {
    let query = link.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case("X-Amz-SignedHeaders"))
        .map(|(_, v)| v.split(';').map(|h| h.to_ascii_lowercase()).collect())
        .unwrap_or_default()
}

/// Lower-case hex, as `/presigned-url?sha256=` takes it.
pub fn hex_digest(digest: &[u8; 32]) -> String {
    hex::encode(digest)
}

fn base64_digest(digest: &[u8; 32]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_headers_are_read_from_s3_links() {
        let link = "http://127.0.0.1:5000/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-SignedHeaders=content-length%3Bhost%3Bif-none-match%3Bx-amz-checksum-sha256&X-Amz-Signature=ab";
        assert_eq!(
            signed_headers(link),
            [
                "content-length",
                "host",
                "if-none-match",
                "x-amz-checksum-sha256"
            ]
        );
        assert!(signed_headers("http://127.0.0.1:8080/upload/g/r/f?exp=1&sig=x").is_empty());
    }
}

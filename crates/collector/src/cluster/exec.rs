//! The stdout of a command run through `pods/exec`, read so that a clean end and a broken
//! stream can be told apart.
//!
//! kube 5 shuts its stdout pipe only when the command ends cleanly; when the websocket breaks,
//! stdout never ends and only the status future says so (it resolves to `None`). This reader
//! watches both: it returns `Ok(0)` only after the API server's `Success` status, and an error
//! naming what happened otherwise.

use std::pin::Pin;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::api::{Api, AttachParams, AttachedProcess};
use tokio::io::AsyncReadExt;

/// Bytes of stdout kube may hold for us before it stops reading the websocket.
const STDOUT_PIPE_BYTES: usize = 1 << 20;

/// How long buffered output is drained after the stream broke.
const DRAIN: Duration = Duration::from_millis(300);

type StatusFuture = Pin<Box<dyn std::future::Future<Output = Option<Status>> + Send>>;

/// Why a command's output ended without success.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The exec could not start (pod missing, forbidden, no such container).
    #[error("cannot exec in {pod}: {source}")]
    Start {
        /// `namespace/pod`.
        pod: String,
        /// What the API server said.
        source: kube::Error,
    },
    /// The websocket broke before the command ended.
    #[error("the exec stream broke (no status from the API server)")]
    Broken,
    /// The command ended with a failure status (e.g. tar's non-zero exit).
    #[error("the command failed: {0}")]
    Failed(String),
    /// Reading the pipe failed.
    #[error("reading the exec stream: {0}")]
    Io(#[from] std::io::Error),
}

/// A running command's stdout.
pub struct ExecStream {
    // Kept alive: dropping it aborts the command's message loop.
    _process: AttachedProcess,
    stdout: Box<dyn tokio::io::AsyncRead + Send + Unpin>,
    status: StatusFuture,
    ended: Option<Option<Status>>,
}

impl ExecStream {
    /// Starts `command` in `container` of `namespace/pod`, stdout only (stderr is collected
    /// by the API server into the failure status).
    pub async fn start(
        client: &kube::Client,
        namespace: &str,
        pod: &str,
        container: &str,
        command: &[&str],
    ) -> Result<Self, StreamError> {
        let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
        let params = AttachParams::default()
            .container(container)
            .stdout(true)
            .stderr(false)
            .stdin(false)
            // kube's default pipe of 1 KiB between the websocket and us costs a task switch
            // per KiB: a 2 GiB backup then spends more time switching than copying.
            .max_stdout_buf_size(STDOUT_PIPE_BYTES);
        let mut process = pods
            .exec(pod, command.iter().copied(), &params)
            .await
            .map_err(|source| StreamError::Start {
                pod: format!("{namespace}/{pod}"),
                source,
            })?;
        let stdout = process.stdout().ok_or(StreamError::Broken)?;
        let status = process.take_status().ok_or(StreamError::Broken)?;
        Ok(ExecStream {
            _process: process,
            stdout: Box::new(stdout),
            status: Box::pin(status),
            ended: None,
        })
    }

    /// Reads into `buffer`; `Ok(0)` only at a clean end.
    pub async fn read(&mut self, buffer: &mut [u8]) -> Result<usize, StreamError> {
        loop {
            match &self.ended {
                None => {
                    tokio::select! {
                        read = self.stdout.read(buffer) => {
                            return match read? {
                                // The pipe ends after the status: learn which one it was.
                                0 => {
                                    let status = (&mut self.status).await;
                                    self.ended = Some(status);
                                    continue;
                                }
                                n => Ok(n),
                            };
                        }
                        status = &mut self.status => self.ended = Some(status),
                    }
                }
                Some(Some(status)) if status.status.as_deref() == Some("Success") => {
                    return Ok(self.stdout.read(buffer).await?);
                }
                Some(status) => {
                    // Failed or broken: hand out what arrived, then say why it ended.
                    if let Ok(Ok(n)) = tokio::time::timeout(DRAIN, self.stdout.read(buffer)).await
                        && n > 0
                    {
                        return Ok(n);
                    }
                    return Err(match status {
                        None => StreamError::Broken,
                        Some(status) => StreamError::Failed(
                            status
                                .message
                                .clone()
                                .or_else(|| status.reason.clone())
                                .unwrap_or_else(|| "no reason given".to_owned()),
                        ),
                    });
                }
            }
        }
    }

    /// Reads everything (for short outputs such as `du`).
    pub async fn read_all(mut self, limit: usize) -> Result<Vec<u8>, StreamError> {
        let mut out = Vec::new();
        let mut buffer = vec![0u8; 8192];
        loop {
            let n = self.read(&mut buffer).await?;
            if n == 0 || out.len() >= limit {
                return Ok(out);
            }
            out.extend_from_slice(&buffer[..n]);
        }
    }
}

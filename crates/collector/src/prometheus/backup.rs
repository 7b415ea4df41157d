//! The Prometheus backup as one stream: `tar cf - -C <path> .` runs in the Prometheus
//! container and its output comes out through `pods/exec` (no base64, no copy in the pod). The
//! stream is cut into parts of `archive_size` KB, each hashed (SHA-256) as it is written, and
//! each uploaded as soon as it is complete, `backup_threads` at a time. At most
//! `backup_threads + 1` parts are on disk at once: a new part waits for a slot, and a slot is
//! freed when its part's upload is confirmed and the file deleted. The parts, concatenated,
//! are the tar stream byte for byte (`cat prometheus-*.tar | tar x`, as krkn's).
//!
//! Every confirmed part is recorded in the state file (see [`super::state`]). Run again after
//! a crash, the backup streams from the source again, checks each recorded part against the
//! new stream by size and SHA-256 without writing or sending it, and uploads only the rest. If
//! the exec stream breaks, the backup restarts from the source the same way and says so. When
//! every part is in, `prometheus-manifest.json` (parts, sizes, checksums, source, times) is
//! uploaded last, so a reader can tell a complete backup from a partial one.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use krkn_telemetry_model::{ArtifactName, RunKey};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::state::{BackupState, PartRecord, StateError};
use crate::cluster::exec::{ExecStream, StreamError};
use crate::progress::Progress;
use crate::upload::{Payload, TelemetryApi, UploadError, hex_digest};

/// The manifest's file name, uploaded last.
pub const MANIFEST_FILE: &str = "prometheus-manifest.json";

/// Where the stream comes from and how it is cut and sent.
#[derive(Debug, Clone)]
pub struct BackupSettings {
    /// Namespace of the Prometheus pod.
    pub namespace: String,
    /// The Prometheus pod.
    pub pod: String,
    /// Its Prometheus container.
    pub container: String,
    /// Folder to archive inside the container (`/prometheus/wal` or `/prometheus`).
    pub path: String,
    /// Bytes per part (`archive_size` KB × 1024).
    pub part_size: u64,
    /// Parallel uploads (`backup_threads`).
    pub threads: usize,
    /// Local folder for the parts and the state file.
    pub dir: PathBuf,
    /// The run the parts belong to.
    pub key: RunKey,
    /// How many times a broken stream is restarted from the source.
    pub max_restarts: u32,
    /// The run window, recorded in the manifest when known.
    pub run_window: Option<(i64, i64)>,
}

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
        "prometheus-{part:02}.tar was uploaded by an earlier run but the stream now differs at that part ({reason}): \
         the source changed, so the uploaded parts cannot be completed; start a new backup under another request id"
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
    /// Local disk trouble.
    #[error("{context}: {error}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        error: std::io::Error,
    },
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
    let context = context.into();
    move |error| BackupError::Io { context, error }
}

/// What a backup did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackupReport {
    /// Parts in the backup.
    pub parts: u32,
    /// Bytes in the tar stream.
    pub bytes: u64,
    /// Parts this run uploaded.
    pub uploaded: u32,
    /// Parts an earlier run had uploaded (checked, not sent again).
    pub already_uploaded: u32,
    /// Times the stream was restarted from the source.
    pub restarts: u32,
    /// True when an earlier run had finished the backup.
    pub was_complete: bool,
}

/// One part in the manifest.
#[derive(Debug, Clone, Serialize)]
struct ManifestPart {
    name: String,
    size: u64,
    sha256: String,
}

/// `prometheus-manifest.json`.
#[derive(Debug, Serialize)]
struct Manifest {
    kind: &'static str,
    version: u32,
    source: ManifestSource,
    part_size: u64,
    total_bytes: u64,
    parts: Vec<ManifestPart>,
    backup_started: String,
    backup_finished: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    run_window: Option<ManifestWindow>,
    restore: &'static str,
}

#[derive(Debug, Serialize)]
struct ManifestSource {
    namespace: String,
    pod: String,
    container: String,
    path: String,
}

#[derive(Debug, Serialize)]
struct ManifestWindow {
    start: i64,
    end: i64,
}

/// `prometheus-NN.tar`, numbered as krkn numbers them (two digits, more past 99).
pub fn part_name(number: u32) -> String {
    format!("prometheus-{number:02}.tar")
}

impl BackupSettings {
    fn source_name(&self) -> String {
        format!(
            "{}/{}/{}:{}",
            self.namespace, self.pod, self.container, self.path
        )
    }
}

/// How one pass over the stream ended.
enum Pass {
    /// The stream ended cleanly; this many parts and bytes.
    Complete(u32, u64),
    /// The stream broke; restart.
    Broken(StreamError, u64),
}

/// Runs (or resumes) the backup.
pub async fn backup(
    client: &crate::cluster::Client,
    api: &TelemetryApi,
    settings: &BackupSettings,
    total_estimate: u64,
) -> Result<BackupReport, BackupError> {
    std::fs::create_dir_all(&settings.dir)
        .map_err(io(format!("cannot create {}", settings.dir.display())))?;
    let state = BackupState::load(
        &settings.dir,
        &settings.key.to_string(),
        &settings.source_name(),
        settings.part_size,
    )?;
    let mut report = BackupReport {
        already_uploaded: state.parts.len() as u32,
        ..BackupReport::default()
    };
    if state.manifest_uploaded {
        report.was_complete = true;
        report.parts = state.parts.len() as u32;
        report.bytes = state.parts.values().map(|p| p.size).sum();
        return Ok(report);
    }
    if !state.parts.is_empty() {
        tracing::info!(
            "resuming: {} part(s) were uploaded by an earlier run; they are checked against the stream, not sent again",
            state.parts.len()
        );
    }
    let state = Arc::new(Mutex::new(state));
    let started = chrono::Utc::now();
    let progress = Progress::new(
        "prometheus backup",
        total_estimate,
        total_estimate.div_ceil(settings.part_size.max(1)),
    );
    let mut attempt = 0;
    let (parts, bytes) = loop {
        match pass(client, api, settings, &state, &progress).await? {
            Pass::Complete(parts, bytes) => break (parts, bytes),
            Pass::Broken(error, at) => {
                attempt += 1;
                report.restarts = attempt;
                if attempt > settings.max_restarts {
                    return Err(BackupError::Stream {
                        source_name: settings.source_name(),
                        error,
                    });
                }
                tracing::warn!(
                    "the exec stream broke after {at} bytes ({error}); restarting the backup from the source (restart {attempt} of {}); parts already uploaded are checked, not sent again",
                    settings.max_restarts
                );
            }
        }
    };
    let manifest = {
        let state = state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let listed: Vec<ManifestPart> = (0..parts)
            .filter_map(|n| {
                state.parts.get(&n).map(|p| ManifestPart {
                    name: part_name(n),
                    size: p.size,
                    sha256: p.sha256.clone(),
                })
            })
            .collect();
        if listed.len() as u32 != parts {
            // Every part below `parts` was confirmed before the pass returned Complete.
            tracing::error!(
                "the backup state lacks parts it confirmed; the manifest lists what it has"
            );
        }
        Manifest {
            kind: "krkn-telemetry/prometheus-backup",
            version: 1,
            source: ManifestSource {
                namespace: settings.namespace.clone(),
                pod: settings.pod.clone(),
                container: settings.container.clone(),
                path: settings.path.clone(),
            },
            part_size: settings.part_size,
            total_bytes: bytes,
            parts: listed,
            backup_started: started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            backup_finished: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            run_window: settings
                .run_window
                .map(|(start, end)| ManifestWindow { start, end }),
            restore: "cat prometheus-*.tar in part order | tar x (part numbers sort numerically)",
        }
    };
    let text = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| io("cannot write the manifest")(std::io::Error::other(e)))?;
    let name = ArtifactName::new(MANIFEST_FILE)
        .map_err(|e| io("manifest name")(std::io::Error::other(e)))?;
    api.upload(&settings.key, &name, &Payload::bytes(text.into()))
        .await?;
    {
        let mut state = state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.manifest_uploaded = true;
        state
            .save(&settings.dir)
            .map_err(io("cannot save the backup state"))?;
        report.uploaded = state.parts.len() as u32 - report.already_uploaded;
    }
    report.parts = parts;
    report.bytes = bytes;
    progress.finish(&format!("{parts} parts, {bytes} bytes"));
    Ok(report)
}

/// One pass over a fresh stream: check recorded parts, write and upload the others.
async fn pass(
    client: &crate::cluster::Client,
    api: &TelemetryApi,
    settings: &BackupSettings,
    state: &Arc<Mutex<BackupState>>,
    progress: &Progress,
) -> Result<Pass, BackupError> {
    let command = ["tar", "cf", "-", "-C", settings.path.as_str(), "."];
    let mut stream = ExecStream::start(
        client,
        &settings.namespace,
        &settings.pod,
        &settings.container,
        &command,
    )
    .await
    .map_err(|error| BackupError::Stream {
        source_name: settings.source_name(),
        error,
    })?;
    let disk = Arc::new(Semaphore::new(settings.threads + 1));
    let sending = Arc::new(Semaphore::new(settings.threads));
    let mut uploads: JoinSet<Result<(), BackupError>> = JoinSet::new();
    let mut buffer = vec![0u8; 256 * 1024];
    let mut number = 0u32;
    let mut total = 0u64;
    let outcome = 'stream: loop {
        // Stop reading when an upload failed for good.
        while let Some(done) = uploads.try_join_next() {
            flatten(done)?;
        }
        let recorded = state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .parts
            .get(&number)
            .cloned();
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let (mut file, path, permit) = match &recorded {
            Some(_) => (None, None, None),
            None => {
                let permit = Arc::clone(&disk)
                    .acquire_owned()
                    .await
                    .map_err(|e| io("upload slots")(std::io::Error::other(e)))?;
                let path = settings.dir.join(format!("{}.partial", part_name(number)));
                let file = tokio::fs::File::create(&path)
                    .await
                    .map_err(io(format!("cannot create {}", path.display())))?;
                (
                    Some(tokio::io::BufWriter::with_capacity(1 << 20, file)),
                    Some(path),
                    Some(permit),
                )
            }
        };
        let mut broken = None;
        while size < settings.part_size {
            let want = (settings.part_size - size).min(buffer.len() as u64) as usize;
            match stream.read(&mut buffer[..want]).await {
                Ok(0) => break,
                Ok(n) => {
                    hasher.update(&buffer[..n]);
                    if let Some(file) = file.as_mut() {
                        file.write_all(&buffer[..n])
                            .await
                            .map_err(io("cannot write a part"))?;
                    }
                    size += n as u64;
                    progress.add(n as u64);
                }
                Err(error) => {
                    broken = Some(error);
                    break;
                }
            }
        }
        let digest: [u8; 32] = hasher.finalize().into();
        if let Some(error) = broken {
            if let Some(path) = &path {
                drop(file);
                let _ = tokio::fs::remove_file(path).await;
            }
            break 'stream Pass::Broken(error, total + size);
        }
        if let Some(record) = &recorded {
            // A part an earlier run uploaded: the new stream must hold the same bytes.
            let same = record.size == size && record.sha256 == hex_digest(&digest);
            if !same {
                let reason = if size == 0 {
                    "the stream ended before it".to_owned()
                } else {
                    format!(
                        "{size} bytes with SHA-256 {} instead of {} bytes with {}",
                        hex_digest(&digest),
                        record.size,
                        record.sha256
                    )
                };
                return Err(BackupError::SourceChanged {
                    part: number,
                    reason,
                });
            }
            total += size;
            number += 1;
            progress.item_done();
            if size < settings.part_size {
                // It was the last part.
                break 'stream Pass::Complete(number, total);
            }
            continue;
        }
        let (Some(mut writer), Some(partial), Some(permit)) = (file, path, permit) else {
            continue;
        };
        if size == 0 {
            drop(writer);
            let _ = tokio::fs::remove_file(&partial).await;
            // A stream that ends exactly at a part boundary: nothing more to send.
            let stale = state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .parts
                .keys()
                .any(|n| *n >= number);
            if stale {
                return Err(BackupError::SourceChanged {
                    part: number,
                    reason: "the stream ended before it".to_owned(),
                });
            }
            break 'stream Pass::Complete(number, total);
        }
        writer.flush().await.map_err(io("cannot write a part"))?;
        let finished = writer.into_inner();
        finished
            .sync_all()
            .await
            .map_err(io("cannot write a part"))?;
        drop(finished);
        let ready = settings.dir.join(part_name(number));
        tokio::fs::rename(&partial, &ready)
            .await
            .map_err(io(format!("cannot rename {}", partial.display())))?;
        let last = size < settings.part_size;
        let job = PartUpload {
            api: api.clone(),
            key: settings.key.clone(),
            dir: settings.dir.clone(),
            number,
            path: ready,
            size,
            digest,
            state: Arc::clone(state),
            progress: progress.clone(),
        };
        let sending = Arc::clone(&sending);
        uploads.spawn(async move {
            let _slot = sending
                .acquire_owned()
                .await
                .map_err(|e| io("upload slots")(std::io::Error::other(e)))?;
            let result = job.run().await;
            drop(permit);
            result
        });
        total += size;
        number += 1;
        if last {
            break 'stream Pass::Complete(number, total);
        }
    };
    // Every started upload finishes (or fails) before the pass ends, also on a broken stream,
    // so a restart sees every part this pass confirmed.
    let mut first_error = None;
    while let Some(done) = uploads.join_next().await {
        if let Err(error) = flatten(done) {
            first_error.get_or_insert(error);
        }
    }
    if let Some(error) = first_error {
        return Err(error);
    }
    if let Pass::Complete(..) = &outcome {
        // The stream must have ended here: a longer one means this was not the last part.
        let mut probe = [0u8; 1];
        match stream.read(&mut probe).await {
            Ok(0) => {}
            Ok(_) => {
                return Err(BackupError::SourceChanged {
                    part: number,
                    reason: "the stream goes on past the last recorded part".to_owned(),
                });
            }
            Err(error) => return Ok(Pass::Broken(error, total)),
        }
    }
    Ok(outcome)
}

fn flatten(
    done: Result<Result<(), BackupError>, tokio::task::JoinError>,
) -> Result<(), BackupError> {
    done.map_err(|e| io("an upload task stopped")(std::io::Error::other(e)))?
}

/// Uploading one finished part, then recording it and deleting its file.
struct PartUpload {
    api: TelemetryApi,
    key: RunKey,
    dir: PathBuf,
    number: u32,
    path: PathBuf,
    size: u64,
    digest: [u8; 32],
    state: Arc<Mutex<BackupState>>,
    progress: Progress,
}

impl PartUpload {
    async fn run(self) -> Result<(), BackupError> {
        let name = ArtifactName::new(&part_name(self.number))
            .map_err(|e| io("part name")(std::io::Error::other(e)))?;
        let outcome = self
            .api
            .upload(
                &self.key,
                &name,
                &Payload::file(self.path.clone(), self.size, self.digest),
            )
            .await?;
        if let crate::upload::UploadOutcome::AlreadyStored { attempt } = outcome {
            tracing::info!(
                "{} was already stored with the same SHA-256 (attempt {attempt})",
                name.as_str()
            );
        }
        {
            let mut state = self
                .state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            state.parts.insert(
                self.number,
                PartRecord {
                    size: self.size,
                    sha256: hex_digest(&self.digest),
                },
            );
            state
                .save(&self.dir)
                .map_err(io("cannot save the backup state"))?;
        }
        tokio::fs::remove_file(&self.path)
            .await
            .map_err(io(format!("cannot delete {}", self.path.display())))?;
        self.progress.item_done();
        Ok(())
    }
}

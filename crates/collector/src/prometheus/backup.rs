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

use krkn_telemetry_model::manifest::{ManifestPart, ManifestSource, ManifestWindow};
use krkn_telemetry_model::{ArtifactName, BackupManifest, RunKey};

use super::error::{BackupError, io};
use super::parts::{Finished, Part, PartUpload, SharedState, Sink, Uploads, lock};
use super::state::ResumeState;
use crate::cluster::{self, exec::ExecStream, exec::StreamError};
use crate::progress::Progress;
use crate::shutdown::Shutdown;
use crate::upload::{Payload, TelemetryApi};

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
    /// A stop was asked for; this many uploads in flight were abandoned.
    Interrupted(usize),
}

/// Runs (or resumes) the backup.
pub async fn backup(
    client: &cluster::Client,
    api: &TelemetryApi,
    settings: &BackupSettings,
    total_estimate: u64,
    shutdown: &Shutdown,
) -> Result<BackupReport, BackupError> {
    std::fs::create_dir_all(&settings.dir)
        .map_err(io(format!("cannot create {}", settings.dir.display())))?;
    let state = ResumeState::load(
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
        match pass(client, api, settings, &state, &progress, shutdown).await? {
            Pass::Complete(parts, bytes) => break (parts, bytes),
            Pass::Interrupted(abandoned) => {
                let state = lock(&state);
                state
                    .save(&settings.dir)
                    .map_err(io("cannot save the backup state"))?;
                progress.finish("stopped");
                return Err(BackupError::Interrupted {
                    signal: shutdown
                        .requested()
                        .unwrap_or(crate::shutdown::Signal::Term),
                    recorded: state.parts.len(),
                    abandoned,
                });
            }
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
    let manifest = manifest(settings, &lock(&state), parts, bytes, started);
    let text = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| io("cannot write the manifest")(std::io::Error::other(e)))?;
    api.upload(
        &settings.key,
        &ArtifactName::prometheus_manifest(),
        &Payload::bytes(text.into()),
    )
    .await?;
    {
        let mut state = lock(&state);
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

/// The manifest of a backup whose `parts` parts (`bytes` in all) are confirmed in `state`.
fn manifest(
    settings: &BackupSettings,
    state: &ResumeState,
    parts: u32,
    bytes: u64,
    started: chrono::DateTime<chrono::Utc>,
) -> BackupManifest {
    let listed: Vec<ManifestPart> = (0..parts)
        .filter_map(|n| {
            state.parts.get(&n).map(|p| ManifestPart {
                name: ArtifactName::prometheus_part(n).into(),
                size: p.size,
                sha256: Some(p.sha256.clone()),
            })
        })
        .collect();
    if listed.len() as u32 != parts {
        // Every part below `parts` was confirmed before the pass returned Complete.
        tracing::error!(
            "the backup state lacks parts it confirmed; the manifest lists what it has"
        );
    }
    BackupManifest {
        kind: BackupManifest::KIND.to_owned(),
        version: BackupManifest::VERSION,
        source: ManifestSource {
            namespace: settings.namespace.clone(),
            pod: settings.pod.clone(),
            container: settings.container.clone(),
            path: settings.path.clone(),
        },
        part_size: settings.part_size,
        total_bytes: Some(bytes),
        parts: listed,
        backup_started: started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        backup_finished: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        run_window: settings
            .run_window
            .map(|(start, end)| ManifestWindow { start, end }),
        restore: BackupManifest::RESTORE.to_owned(),
    }
}

/// `tar` of the source folder, streamed out of the container.
async fn tar_stream(
    client: &cluster::Client,
    settings: &BackupSettings,
) -> Result<ExecStream, BackupError> {
    let command = ["tar", "cf", "-", "-C", settings.path.as_str(), "."];
    ExecStream::start(
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
    })
}

/// Where part `number` goes: checked against an earlier run's record, or written once a disk
/// slot is free; `None` when a stop is asked for while waiting for the slot.
async fn next_sink(
    settings: &BackupSettings,
    state: &SharedState,
    uploads: &Uploads,
    number: u32,
    shutdown: &Shutdown,
) -> Result<Option<Sink>, BackupError> {
    let recorded = lock(state).parts.get(&number).cloned();
    if let Some(record) = recorded {
        return Ok(Some(Sink::Check(record)));
    }
    let slot = tokio::select! {
        slot = uploads.disk_slot() => slot?,
        () = shutdown.wait() => return Ok(None),
    };
    Ok(Some(Sink::write(&settings.dir, number, slot).await?))
}

/// One pass over a fresh stream: check recorded parts, write and upload the others.
async fn pass(
    client: &cluster::Client,
    api: &TelemetryApi,
    settings: &BackupSettings,
    state: &SharedState,
    progress: &Progress,
    shutdown: &Shutdown,
) -> Result<Pass, BackupError> {
    let mut stream = tar_stream(client, settings).await?;
    let mut uploads = Uploads::new(settings.threads);
    let mut buffer = vec![0u8; 256 * 1024];
    let mut number = 0u32;
    let mut total = 0u64;
    let outcome = loop {
        // Stop reading when an upload failed for good, or when a stop is asked for.
        uploads.failed()?;
        if shutdown.requested().is_some() {
            break Pass::Interrupted(0);
        }
        let Some(sink) = next_sink(settings, state, &uploads, number, shutdown).await? else {
            break Pass::Interrupted(0);
        };
        let mut part = Part::new(number, sink);
        let filled = tokio::select! {
            filled = part.fill(&mut stream, &mut buffer, settings.part_size, progress) => Some(filled?),
            () = shutdown.wait() => None,
        };
        let Some(filled) = filled else {
            // The part being read is dropped; a rerun reads it again.
            part.discard().await;
            break Pass::Interrupted(0);
        };
        if let Err(error) = filled {
            let read = part.size;
            part.discard().await;
            break Pass::Broken(error, total + read);
        }
        let (size, last) = (part.size, part.size < settings.part_size);
        match part.finish().await? {
            Finished::Checked => progress.item_done(),
            Finished::Empty => {
                // A stream that ends exactly at a part boundary: nothing more to send, unless
                // an earlier run recorded parts past it.
                if lock(state).parts.keys().any(|n| *n >= number) {
                    return Err(BackupError::SourceChanged {
                        part: number,
                        reason: "the stream ended before it".to_owned(),
                    });
                }
                break Pass::Complete(number, total);
            }
            Finished::Written(file) => uploads.spawn(PartUpload {
                api: api.clone(),
                key: settings.key.clone(),
                dir: settings.dir.clone(),
                file,
                state: Arc::clone(state),
                progress: progress.clone(),
            }),
        }
        total += size;
        number += 1;
        if last {
            break Pass::Complete(number, total);
        }
    };
    // Every started upload finishes (or fails) before the pass ends, also on a broken stream,
    // so a restart sees every part this pass confirmed; after a stop, within the grace period.
    if let Pass::Interrupted(_) = outcome {
        let abandoned = uploads.finish_within(shutdown.grace()).await?;
        return Ok(Pass::Interrupted(abandoned));
    }
    uploads.finish().await?;
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

//! The parts of one pass over the stream. Each part is filled from the stream and hashed as
//! it is read; a part an earlier run uploaded is only checked against its record, a new one
//! is written to `<name>.partial`, synced, renamed and uploaded. [`Uploads`] bounds the work:
//! at most `backup_threads` uploads at once and `backup_threads + 1` parts on disk.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use krkn_telemetry_model::{ArtifactName, RunKey};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use super::error::{BackupError, io};
use super::state::{PartRecord, ResumeState};
use crate::cluster::exec::{ExecStream, StreamError};
use crate::progress::Progress;
use crate::upload::{Payload, TelemetryApi, hex_digest};

/// The resume state, shared by the pass and its upload tasks (each records its part).
pub(super) type SharedState = Arc<Mutex<ResumeState>>;

/// The state, also after a task panicked while holding it (every write is whole).
pub(super) fn lock(state: &SharedState) -> std::sync::MutexGuard<'_, ResumeState> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Where the bytes of the part being read go.
pub(super) enum Sink {
    /// An earlier run uploaded this part: its bytes are only hashed, to compare with the
    /// record.
    Check(PartRecord),
    /// A new part: written to `<name>.partial`, holding a disk slot until its upload is
    /// confirmed.
    Write {
        writer: BufWriter<tokio::fs::File>,
        partial: PathBuf,
        slot: OwnedSemaphorePermit,
    },
}

impl Sink {
    /// A new part's file, created in `dir` under the disk slot `slot`.
    pub(super) async fn write(
        dir: &Path,
        number: u32,
        slot: OwnedSemaphorePermit,
    ) -> Result<Self, BackupError> {
        let partial = dir.join(format!("{}.partial", ArtifactName::prometheus_part(number)));
        let file = tokio::fs::File::create(&partial)
            .await
            .map_err(io(format!("cannot create {}", partial.display())))?;
        Ok(Sink::Write {
            writer: BufWriter::with_capacity(1 << 20, file),
            partial,
            slot,
        })
    }
}

/// One part as the stream fills it: its number, what it has read so far, where that goes.
pub(super) struct Part {
    number: u32,
    /// Bytes read into it so far.
    pub(super) size: u64,
    hasher: Sha256,
    sink: Sink,
}

/// A part whose bytes are all read.
pub(super) enum Finished {
    /// A recorded part the stream matched.
    Checked,
    /// A new part the stream ended before: nothing was written.
    Empty,
    /// A new part, complete on disk under its name, ready to upload.
    Written(PartFile),
}

/// A complete part on disk, holding its disk slot.
pub(super) struct PartFile {
    number: u32,
    path: PathBuf,
    size: u64,
    digest: [u8; 32],
    slot: OwnedSemaphorePermit,
}

impl Part {
    /// Part `number`, empty, its bytes going to `sink`.
    pub(super) fn new(number: u32, sink: Sink) -> Self {
        Part {
            number,
            size: 0,
            hasher: Sha256::new(),
            sink,
        }
    }

    /// Reads until the part is full or the stream ends (`Ok(Ok(()))` both), or breaks
    /// (`Ok(Err(_))`); hashes every byte and writes it when the part is new.
    pub(super) async fn fill(
        &mut self,
        stream: &mut ExecStream,
        buffer: &mut [u8],
        part_size: u64,
        progress: &Progress,
    ) -> Result<Result<(), StreamError>, BackupError> {
        while self.size < part_size {
            let want = (part_size - self.size).min(buffer.len() as u64) as usize;
            let n = match stream.read(&mut buffer[..want]).await {
                Ok(0) => break,
                Ok(n) => n,
                Err(error) => return Ok(Err(error)),
            };
            self.hasher.update(&buffer[..n]);
            if let Sink::Write { writer, .. } = &mut self.sink {
                writer
                    .write_all(&buffer[..n])
                    .await
                    .map_err(io("cannot write a part"))?;
            }
            self.size += n as u64;
            progress.add(n as u64);
        }
        Ok(Ok(()))
    }

    /// Drops what a broken stream left of a new part.
    pub(super) async fn discard(self) {
        if let Sink::Write {
            writer, partial, ..
        } = self.sink
        {
            drop(writer);
            let _ = tokio::fs::remove_file(&partial).await;
        }
    }

    /// Checks a recorded part against what the stream gave, or puts a new one in place
    /// (flushed, synced, renamed from `.partial`).
    pub(super) async fn finish(self) -> Result<Finished, BackupError> {
        let Part {
            number,
            size,
            hasher,
            sink,
        } = self;
        let digest: [u8; 32] = hasher.finalize().into();
        match sink {
            Sink::Check(record) => {
                // A part an earlier run uploaded: the new stream must hold the same bytes.
                if record.size == size && record.sha256 == hex_digest(&digest) {
                    return Ok(Finished::Checked);
                }
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
                Err(BackupError::SourceChanged {
                    part: number,
                    reason,
                })
            }
            Sink::Write {
                writer, partial, ..
            } if size == 0 => {
                drop(writer);
                let _ = tokio::fs::remove_file(&partial).await;
                Ok(Finished::Empty)
            }
            Sink::Write {
                mut writer,
                partial,
                slot,
            } => {
                writer.flush().await.map_err(io("cannot write a part"))?;
                let file = writer.into_inner();
                file.sync_all().await.map_err(io("cannot write a part"))?;
                drop(file);
                let ready = partial.with_file_name(ArtifactName::prometheus_part(number).as_str());
                tokio::fs::rename(&partial, &ready)
                    .await
                    .map_err(io(format!("cannot rename {}", partial.display())))?;
                Ok(Finished::Written(PartFile {
                    number,
                    path: ready,
                    size,
                    digest,
                    slot,
                }))
            }
        }
    }
}

/// The uploads of one pass: at most `threads` at once, and at most `threads + 1` parts on
/// disk (a slot is taken before a part is written and freed when its upload is confirmed).
pub(super) struct Uploads {
    tasks: JoinSet<Result<(), BackupError>>,
    disk: Arc<Semaphore>,
    sending: Arc<Semaphore>,
}

impl Uploads {
    /// No uploads yet; `threads` at once, `threads + 1` parts on disk.
    pub(super) fn new(threads: usize) -> Self {
        Uploads {
            tasks: JoinSet::new(),
            disk: Arc::new(Semaphore::new(threads + 1)),
            sending: Arc::new(Semaphore::new(threads)),
        }
    }

    /// Waits for room on disk for one more part.
    pub(super) async fn disk_slot(&self) -> Result<OwnedSemaphorePermit, BackupError> {
        Arc::clone(&self.disk)
            .acquire_owned()
            .await
            .map_err(|e| io("upload slots")(std::io::Error::other(e)))
    }

    /// The error of an upload that already failed, if any.
    pub(super) fn failed(&mut self) -> Result<(), BackupError> {
        while let Some(done) = self.tasks.try_join_next() {
            flatten(done)?;
        }
        Ok(())
    }

    /// Uploads a part when a sending slot is free; its disk slot is freed after.
    pub(super) fn spawn(&mut self, job: PartUpload) {
        let sending = Arc::clone(&self.sending);
        self.tasks.spawn(async move {
            let _slot = sending
                .acquire_owned()
                .await
                .map_err(|e| io("upload slots")(std::io::Error::other(e)))?;
            job.run().await
        });
    }

    /// Waits up to `grace` for the uploads in flight (after a stop was asked for), then
    /// abandons the rest: an aborted upload has not recorded its part, so a rerun sends it
    /// again. An upload that failed and was not retried because of the stop is abandoned
    /// too. Returns how many were abandoned, or the first other failure.
    pub(super) async fn finish_within(
        mut self,
        grace: std::time::Duration,
    ) -> Result<usize, BackupError> {
        let mut first_error = None;
        let mut not_retried = 0;
        let drained = tokio::time::timeout(grace, async {
            while let Some(done) = self.tasks.join_next().await {
                match flatten(done) {
                    Ok(()) => {}
                    Err(BackupError::Upload(crate::upload::UploadError::Stopped { .. })) => {
                        not_retried += 1;
                    }
                    Err(error) => {
                        first_error.get_or_insert(error);
                    }
                }
            }
        })
        .await;
        let abandoned = not_retried + if drained.is_ok() { 0 } else { self.tasks.len() };
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
        first_error.map_or(Ok(abandoned), Err)
    }

    /// Waits for every upload; the first failure, if any.
    pub(super) async fn finish(mut self) -> Result<(), BackupError> {
        let mut first_error = None;
        while let Some(done) = self.tasks.join_next().await {
            if let Err(error) = flatten(done) {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

fn flatten(
    done: Result<Result<(), BackupError>, tokio::task::JoinError>,
) -> Result<(), BackupError> {
    done.map_err(|e| io("an upload task stopped")(std::io::Error::other(e)))?
}

/// Uploading one finished part, then recording it and deleting its file.
pub(super) struct PartUpload {
    /// The service.
    pub(super) api: TelemetryApi,
    /// The run the part belongs to.
    pub(super) key: RunKey,
    /// The backup's folder, where the state is saved.
    pub(super) dir: PathBuf,
    /// The part.
    pub(super) file: PartFile,
    /// The state the confirmed part is recorded in.
    pub(super) state: SharedState,
    /// Counts the part when it is confirmed.
    pub(super) progress: Progress,
}

impl PartUpload {
    async fn run(self) -> Result<(), BackupError> {
        let PartFile {
            number,
            path,
            size,
            digest,
            slot,
        } = self.file;
        let name = ArtifactName::prometheus_part(number);
        let outcome = self
            .api
            .upload(&self.key, &name, &Payload::file(path.clone(), size, digest))
            .await?;
        if let crate::upload::UploadOutcome::AlreadyStored { attempt } = outcome {
            tracing::info!(
                "{} was already stored with the same SHA-256 (attempt {attempt})",
                name.as_str()
            );
        }
        {
            let mut state = lock(&self.state);
            state.parts.insert(
                number,
                PartRecord {
                    size,
                    sha256: hex_digest(&digest),
                },
            );
            state
                .save(&self.dir)
                .map_err(io("cannot save the backup state"))?;
        }
        tokio::fs::remove_file(&path)
            .await
            .map_err(io(format!("cannot delete {}", path.display())))?;
        self.progress.item_done();
        drop(slot);
        Ok(())
    }
}

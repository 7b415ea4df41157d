//! One logs job, as the `logs` command and `run` both do it: gather from a source, filter to
//! the run window, then write the kept files to a folder, or archive them as
//! `logs[-<namespace>]-00.tar.gz` in the run's archive folder and upload that.

use std::path::{Path, PathBuf};

use anyhow::Context;
use krkn_telemetry_model::{ArtifactName, RunKey};

use super::{Gather, GatherSummary, LogFilter, time::TimeContext};
use crate::Outcome;
use crate::archive::RunArchive;
use crate::cluster;
use crate::upload::{Payload, TelemetryApi};

/// Where the logs come from.
pub enum LogSource {
    /// An existing must-gather or inspect folder.
    MustGather(PathBuf),
    /// Container logs through the API, all namespaces or one.
    Pods(cluster::Client),
    /// `oc adm must-gather` (or `inspect ns/<namespace>`), with this `oc` and kubeconfig.
    Oc(PathBuf, crate::cluster::connect::KubeAccess),
}

/// Filtering one gather, then writing the files to a folder or archiving and uploading them.
pub struct LogsJob {
    /// Where the logs come from.
    pub source: LogSource,
    /// Filter patterns.
    pub patterns: Vec<String>,
    /// The run window, unix seconds.
    pub window: (i64, i64),
    /// Write the files here instead of uploading.
    pub output_dir: Option<PathBuf>,
    /// Names the archive `logs-<namespace>-00.tar.gz`.
    pub namespace: Option<String>,
    /// krkn's archive_path (the run's folder goes below it).
    pub archive_path: Option<PathBuf>,
    /// Where to upload, when not writing to a folder.
    pub upload: Option<(RunKey, TelemetryApi)>,
}

impl LogsJob {
    /// Filters, then writes or uploads.
    pub async fn run(self) -> anyhow::Result<Outcome> {
        // Upload mode keeps its files in the run's archive folder, as `send` does.
        let (mut archive, output_dir) = match &self.output_dir {
            Some(dir) => (None, dir.clone()),
            None => {
                let request_id = self
                    .upload
                    .as_ref()
                    .map(|(key, _)| key.request_id())
                    .unwrap_or_default();
                let archive = RunArchive::open(self.archive_path.as_deref(), request_id)
                    .context("cannot create the archive folder")?;
                let stamp = chrono::Utc::now().timestamp();
                let dir = archive.dir().join(format!("filtered-logs-{stamp}"));
                (Some(archive), dir)
            }
        };
        // What `oc` gathers goes into the run's archive folder (as krkn keeps it), or, when
        // writing to --output-dir, into a temporary folder removed afterwards.
        let scratch = match (&self.source, &archive) {
            (LogSource::Oc(..), None) => {
                Some(tempfile::tempdir().context("cannot create a temporary folder")?)
            }
            _ => None,
        };
        let oc_base = match (&archive, &scratch) {
            (Some(archive), _) => Some(archive.dir()),
            (None, Some(scratch)) => Some(scratch.path()),
            (None, None) => None,
        };
        let summary = self.filter(oc_base, &output_dir).await?;
        tracing::info!(
            "{} of {} lines kept from {} logs; {} files in {}",
            summary.stats.kept,
            summary.stats.lines,
            summary.files,
            summary.kept_files,
            output_dir.display()
        );
        match archive.as_mut() {
            Some(archive) => self.archive_and_upload(archive, &output_dir).await,
            None => {
                record_written(&output_dir)?;
                Ok(Outcome::Success)
            }
        }
    }

    /// Gathers from the source and filters every log into `output_dir`; `oc` writes its
    /// gather below `oc_base`.
    async fn filter(
        &self,
        oc_base: Option<&Path>,
        output_dir: &Path,
    ) -> anyhow::Result<GatherSummary> {
        let (start, end) = self.window;
        let gather_dir = match &self.source {
            LogSource::Pods(client) => {
                // The kubelet writes RFC 3339 times in UTC.
                let filter = LogFilter::new(
                    &self.patterns,
                    Some(start),
                    Some(end),
                    TimeContext::default(),
                )?;
                return super::pods::gather(
                    client,
                    self.namespace.as_deref(),
                    &filter,
                    start,
                    output_dir,
                )
                .await
                .context("cannot list the pods");
            }
            LogSource::MustGather(dir) => dir.clone(),
            LogSource::Oc(oc, access) => {
                let stamp = chrono::Utc::now().timestamp();
                let base = oc_base.context("no folder for the gather")?;
                let dest = base.join(format!("gathered-logs-{stamp}"));
                super::oc::gather(oc, access, self.namespace.as_deref(), &dest)
                    .await
                    .map_err(anyhow::Error::msg)?;
                dest
            }
        };
        let gather = Gather::locate(&gather_dir)
            .with_context(|| format!("cannot read the gather {}", gather_dir.display()))?;
        tracing::info!(
            "gather folder {}; times without a zone are read as {} ({})",
            gather.root.display(),
            gather.zone,
            gather.zone_source
        );
        let context = TimeContext {
            zone: gather.zone,
            ..TimeContext::default()
        };
        let filter = LogFilter::new(&self.patterns, Some(start), Some(end), context)?;
        let output = output_dir.to_owned();
        tokio::task::spawn_blocking(move || super::filter_gather(&gather, &filter, &output))
            .await
            .context("the filter stopped")?
            .map_err(Into::into)
    }

    /// Archives the kept files into the run's archive folder and uploads the archive; a
    /// failed upload keeps the archive for the next try.
    async fn archive_and_upload(
        &self,
        archive: &mut RunArchive,
        output_dir: &Path,
    ) -> anyhow::Result<Outcome> {
        let name = ArtifactName::logs(self.namespace.as_deref(), 0)?;
        let tarball = archive.dir().join(name.as_str());
        let (len, sha256) = {
            let (folder, tarball) = (output_dir.to_owned(), tarball.clone());
            tokio::task::spawn_blocking(move || super::archive_folder(&folder, &tarball))
                .await
                .context("the archiver stopped")??
        };
        let Some((key, api)) = &self.upload else {
            anyhow::bail!("no service to upload the logs to");
        };
        crate::report::run_key(key);
        match api
            .upload(key, &name, &Payload::file(tarball.clone(), len, sha256))
            .await
        {
            Ok(_) => {
                std::fs::remove_file(&tarball).ok();
                crate::report::link(api.files_link(key));
                tracing::info!("{name} ({len} bytes) uploaded to {key}");
                Ok(Outcome::Success)
            }
            Err(error) => {
                archive.keep();
                tracing::error!("{error}");
                tracing::info!(
                    "the archive is kept at {}; run the same command again to retry",
                    tarball.display()
                );
                Ok(Outcome::Failed)
            }
        }
    }
}

/// Records every file written below `dir` (names relative to it) for the command's result.
fn record_written(dir: &Path) -> anyhow::Result<()> {
    use sha2::Digest;
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder)
            .with_context(|| format!("cannot list {}", folder.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            let mut hasher = sha2::Sha256::new();
            let mut file = std::fs::File::open(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let size = std::io::copy(&mut file, &mut hasher)?;
            let name = path.strip_prefix(dir).unwrap_or(&path).to_string_lossy();
            crate::report::file(&name, size, &hasher.finalize().into(), false);
        }
    }
    Ok(())
}

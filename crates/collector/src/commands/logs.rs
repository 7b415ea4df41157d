//! `krkn-telemetry logs`: cluster logs (a must-gather folder, the pods through the API, or
//! `oc adm must-gather`) filtered to the run window, written to a folder or archived and
//! uploaded.

use anyhow::Context;
use krkn_telemetry_model::config::DEFAULT_LOG_FILTER_PATTERNS;
use krkn_telemetry_model::{ArtifactName, RunKey};

use crate::Outcome;
use crate::archive::RunArchive;
use crate::cli::LogsArgs;
use crate::logs::{self, Gather, LogFilter, time::TimeContext};
use crate::pipeline::{load_config, service_client};
use crate::upload::{Payload, TelemetryApi};
use std::path::PathBuf;

/// Filters, then writes or uploads.
pub async fn run(args: &LogsArgs) -> anyhow::Result<Outcome> {
    let (config, mut problems) = load_config(args.config.as_deref(), &args.service)?;
    if args.end < args.start {
        problems.push(
            "--end",
            format!("({}) is before --start ({})", args.end, args.start),
        );
    }
    if args.output_dir.is_none() {
        if args.request_id.is_none() {
            problems.push("--request-id", "is needed to upload (or pass --output-dir)");
        }
        if config.telemetry.api_url.is_none() {
            problems.push(
                "telemetry.api_url",
                "is needed to upload (set it in --config, pass --api-url, or pass --output-dir)",
            );
        }
    }
    if let Some(ns) = &args.namespace
        && let Err(e) = krkn_telemetry_model::keys::validate_segment(
            &logs::archive_name(Some(ns)),
            "archive name",
        )
    {
        problems.push("--namespace", e.reason);
    }
    if !problems.is_empty() {
        anyhow::bail!("{problems}");
    }
    let patterns: Vec<String> = if !args.patterns.is_empty() {
        args.patterns.clone()
    } else if args.config.is_some() {
        config.telemetry.logs_filter_patterns.clone()
    } else {
        DEFAULT_LOG_FILTER_PATTERNS
            .iter()
            .map(|p| (*p).to_owned())
            .collect()
    };

    let key = match &args.request_id {
        Some(id) if args.output_dir.is_none() => {
            Some(RunKey::new(&config.telemetry.telemetry_group, id)?)
        }
        _ => None,
    };
    let api = service_client(&config, &args.service)?;
    let source = if let Some(dir) = &args.must_gather_dir {
        LogSource::MustGather(dir.clone())
    } else if args.oc {
        let oc = logs::oc::find_oc(config.telemetry.oc_cli_path.as_deref())
            .map_err(anyhow::Error::msg)?;
        LogSource::Oc(oc, kubeconfig_path(args, &config))
    } else {
        let kubeconfig = kubeconfig_path(args, &config);
        LogSource::Pods(crate::cluster::connect(kubeconfig.as_deref()).await?)
    };
    let job = LogsJob {
        source,
        patterns,
        window: (args.start, args.end),
        output_dir: args.output_dir.clone(),
        namespace: args.namespace.clone(),
        archive_path: config.telemetry.archive_path.clone(),
        upload: key.zip(api),
    };
    job.run().await
}

fn kubeconfig_path(args: &LogsArgs, config: &krkn_telemetry_model::KrknConfig) -> Option<PathBuf> {
    args.kubeconfig.clone().or_else(|| {
        config
            .kubeconfig_path
            .as_deref()
            .map(crate::pipeline::expand_home)
    })
}

/// Where the logs come from.
pub enum LogSource {
    /// An existing must-gather or inspect folder.
    MustGather(PathBuf),
    /// Container logs through the API, all namespaces or one.
    Pods(kube::Client),
    /// `oc adm must-gather` (or `inspect ns/<namespace>`), with this `oc` and kubeconfig.
    Oc(PathBuf, Option<PathBuf>),
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
        let args = &self;
        // Upload mode keeps its files in the run's archive folder, as `send` does.
        let (mut archive, output_dir) = match &args.output_dir {
            Some(dir) => (None, dir.clone()),
            None => {
                let request_id = args
                    .upload
                    .as_ref()
                    .map(|(key, _)| key.request_id())
                    .unwrap_or_default();
                let archive = RunArchive::open(args.archive_path.as_deref(), request_id)
                    .context("cannot create the archive folder")?;
                let stamp = chrono::Utc::now().timestamp();
                let dir = archive.dir().join(format!("filtered-logs-{stamp}"));
                (Some(archive), dir)
            }
        };
        // What `oc` gathers goes into the run's archive folder (as krkn keeps it), or, when
        // writing to --output-dir, into a temporary folder removed afterwards.
        let mut scratch = None;
        let gather_dir = match &args.source {
            LogSource::MustGather(dir) => Some(dir.clone()),
            LogSource::Oc(oc, kubeconfig) => {
                let stamp = chrono::Utc::now().timestamp();
                let base = match &archive {
                    Some(archive) => archive.dir().to_owned(),
                    None => scratch
                        .insert(tempfile::tempdir().context("cannot create a temporary folder")?)
                        .path()
                        .to_owned(),
                };
                let dest = base.join(format!("gathered-logs-{stamp}"));
                logs::oc::gather(oc, kubeconfig.as_deref(), args.namespace.as_deref(), &dest)
                    .await
                    .map_err(anyhow::Error::msg)?;
                Some(dest)
            }
            LogSource::Pods(_) => None,
        };
        let summary = match (&args.source, gather_dir) {
            (LogSource::Pods(client), _) => {
                // The kubelet writes RFC 3339 times in UTC.
                let filter = LogFilter::new(
                    &args.patterns,
                    Some(args.window.0),
                    Some(args.window.1),
                    TimeContext::default(),
                )?;
                logs::pods::gather(
                    client,
                    args.namespace.as_deref(),
                    &filter,
                    args.window.0,
                    &output_dir,
                )
                .await
                .context("cannot list the pods")?
            }
            (_, Some(gather_dir)) => {
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
                let filter = LogFilter::new(
                    &args.patterns,
                    Some(args.window.0),
                    Some(args.window.1),
                    context,
                )?;
                let output = output_dir.clone();
                tokio::task::spawn_blocking(move || logs::filter_gather(&gather, &filter, &output))
                    .await
                    .context("the filter stopped")??
            }
            (_, None) => anyhow::bail!("no log source"),
        };
        eprintln!(
            "krkn-telemetry: {} of {} lines kept from {} logs; {} files in {}",
            summary.stats.kept,
            summary.stats.lines,
            summary.files,
            summary.kept_files,
            output_dir.display()
        );
        let Some(archive) = archive.as_mut() else {
            return Ok(Outcome::Success);
        };

        let name = logs::archive_name(args.namespace.as_deref());
        let tarball = archive.dir().join(&name);
        let (len, sha256) = {
            let (folder, tarball) = (output_dir.clone(), tarball.clone());
            tokio::task::spawn_blocking(move || logs::archive_folder(&folder, &tarball))
                .await
                .context("the archiver stopped")??
        };
        let Some((key, api)) = &args.upload else {
            anyhow::bail!("no service to upload the logs to");
        };
        let artifact = ArtifactName::new(&name)?;
        match api
            .upload(key, &artifact, &Payload::file(tarball.clone(), len, sha256))
            .await
        {
            Ok(_) => {
                std::fs::remove_file(&tarball).ok();
                println!("{}", api.files_link(key));
                eprintln!("krkn-telemetry: {name} ({len} bytes) uploaded to {key}");
                Ok(Outcome::Success)
            }
            Err(error) => {
                archive.keep();
                eprintln!("krkn-telemetry: error: {error}");
                eprintln!(
                    "krkn-telemetry: the archive is kept at {}; run the same command again to retry",
                    tarball.display()
                );
                Ok(Outcome::Failed)
            }
        }
    }
}

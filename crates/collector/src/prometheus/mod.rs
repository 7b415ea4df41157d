//! The Prometheus backup (`prometheus_backup`): which pod, which folder, where the parts go.
//!
//! - [`backup`]: the stream cut into checksummed parts, uploaded in parallel, resumable;
//!   `parts`: one part filled, checked or written, and uploaded; [`error`]: why it stopped.
//! - [`state`]: the resume state file.
//! - [`window`]: the run window from the HTTP API as OpenMetrics, instead of the WAL.

pub mod backup;
pub mod error;
mod parts;
pub mod state;
pub mod window;

use std::path::{Path, PathBuf};

use krkn_telemetry_model::{RunKey, TelemetryConfig};

use crate::Outcome;
use crate::upload::TelemetryApi;

pub use backup::{BackupReport, BackupSettings, backup};
pub use error::BackupError;

/// The pod krkn backs up on OpenShift.
pub const OPENSHIFT_PROMETHEUS: (&str, &str, &str) =
    ("openshift-monitoring", "prometheus-k8s-0", "prometheus");

/// The Prometheus container to back up: OpenShift's fixed pod, or the configured one on plain
/// Kubernetes (all three keys are needed there, as krkn requires).
pub fn source(
    config: &TelemetryConfig,
    openshift: bool,
    overrides: (Option<&str>, Option<&str>, Option<&str>),
) -> Result<(String, String, String), String> {
    let (namespace, pod, container) = overrides;
    if openshift && namespace.is_none() && pod.is_none() && container.is_none() {
        let (ns, pod, container) = OPENSHIFT_PROMETHEUS;
        return Ok((ns.to_owned(), pod.to_owned(), container.to_owned()));
    }
    let pick = |flag: Option<&str>, configured: &str| {
        flag.map(str::to_owned)
            .unwrap_or_else(|| configured.to_owned())
    };
    let chosen = (
        pick(namespace, &config.prometheus_namespace),
        pick(pod, &config.prometheus_pod_name),
        pick(container, &config.prometheus_container_name),
    );
    let missing: Vec<&str> = [
        ("telemetry.prometheus_namespace", &chosen.0),
        ("telemetry.prometheus_pod_name", &chosen.1),
        ("telemetry.prometheus_container_name", &chosen.2),
    ]
    .iter()
    .filter(|(_, value)| value.is_empty())
    .map(|(key, _)| *key)
    .collect();
    if missing.is_empty() {
        Ok(chosen)
    } else {
        Err(format!(
            "on plain Kubernetes the Prometheus pod must be named: set {} (or --prometheus-namespace, --prometheus-pod, --prometheus-container)",
            missing.join(", ")
        ))
    }
}

/// The folder inside the container: all of `/prometheus`, or only its WAL (krkn's default).
pub fn source_path(config: &TelemetryConfig) -> &'static str {
    if config.full_prometheus_backup {
        "/prometheus"
    } else {
        "/prometheus/wal"
    }
}

/// Where the parts and the state file live: `<archive_path>/<request_id>/`, or a fixed folder
/// under the system's temporary folder when `archive_path` is not set, so a second run finds
/// the first one's state.
pub fn backup_dir(archive_path: Option<&Path>, request_id: &str) -> PathBuf {
    match archive_path {
        Some(root) => root.join(request_id),
        None => std::env::temp_dir().join("krkn-telemetry").join(request_id),
    }
}

/// The size of the folder to back up, for the progress bar (`du -sb` in the container).
pub async fn estimate(
    client: &crate::cluster::Client,
    namespace: &str,
    pod: &str,
    container: &str,
    path: &str,
) -> Option<u64> {
    let stream = crate::cluster::exec::ExecStream::start(
        client,
        namespace,
        pod,
        container,
        &["du", "-sb", path],
    )
    .await
    .ok()?;
    let out = stream.read_all(4096).await.ok()?;
    String::from_utf8_lossy(&out)
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Pod names given on the command line, over the config's.
#[derive(Debug, Clone, Default)]
pub struct PodOverrides {
    /// Namespace of the Prometheus pod.
    pub namespace: Option<String>,
    /// The pod.
    pub pod: Option<String>,
    /// Its container.
    pub container: Option<String>,
}

/// The backup as `prometheus-backup` and `run` do it: find the pod (OpenShift's, or the
/// configured one), stream, upload, print the outcome. Failures are printed with what to do
/// next and end as [`Outcome::Failed`].
pub async fn step(
    client: &crate::cluster::Client,
    api: &TelemetryApi,
    config: &TelemetryConfig,
    key: &RunKey,
    run_window: Option<(i64, i64)>,
    overrides: &PodOverrides,
    shutdown: &crate::shutdown::Shutdown,
) -> Outcome {
    let is_openshift = match crate::cluster::openshift::detect(client).await {
        Ok(openshift) => openshift,
        Err(error) => {
            tracing::error!(
                "prometheus backup: cannot tell whether the cluster is OpenShift: {error}"
            );
            return Outcome::Failed;
        }
    };
    let chosen = source(
        config,
        is_openshift,
        (
            overrides.namespace.as_deref(),
            overrides.pod.as_deref(),
            overrides.container.as_deref(),
        ),
    );
    let (namespace, pod, container) = match chosen {
        Ok(chosen) => chosen,
        Err(reason) => {
            tracing::error!("prometheus backup: {reason}");
            return Outcome::Failed;
        }
    };
    let settings = BackupSettings {
        namespace,
        pod,
        container,
        path: source_path(config).to_owned(),
        part_size: config.archive_size.saturating_mul(1024),
        threads: config.backup_threads as usize,
        dir: backup_dir(config.archive_path.as_deref(), key.request_id()),
        key: key.clone(),
        max_restarts: 3,
        run_window,
    };
    let total = estimate(
        client,
        &settings.namespace,
        &settings.pod,
        &settings.container,
        &settings.path,
    )
    .await
    .unwrap_or(0);
    tracing::info!(
        "backing up {}/{}/{}:{} (about {:.1} MB) in parts of {} KB, {} uploads at a time; state in {}",
        settings.namespace,
        settings.pod,
        settings.container,
        settings.path,
        total as f64 / 1e6,
        config.archive_size,
        settings.threads,
        settings.dir.display()
    );
    crate::report::run_key(&settings.key);
    let result = backup(client, api, &settings, total, shutdown).await;
    report_backup(api, &settings, result)
}

/// Says how the backup ended, with what to do next, and turns it into the command's outcome.
fn report_backup(
    api: &TelemetryApi,
    settings: &BackupSettings,
    result: Result<BackupReport, BackupError>,
) -> Outcome {
    match result {
        Ok(report) if report.was_complete => {
            tracing::info!(
                "the backup of {} was already complete ({} parts, {} bytes); nothing sent",
                settings.key,
                report.parts,
                report.bytes
            );
            Outcome::Success
        }
        Ok(report) => {
            crate::report::link(api.files_link(&settings.key));
            tracing::info!(
                "prometheus backup complete: {} parts, {} bytes ({} uploaded now, {} by an earlier run, {} restart(s)), then {}",
                report.parts,
                report.bytes,
                report.uploaded,
                report.already_uploaded,
                report.restarts,
                krkn_telemetry_model::BackupManifest::FILE
            );
            Outcome::Success
        }
        Err(error @ BackupError::Interrupted { signal, .. }) => {
            tracing::warn!(
                "prometheus backup {error} ({}); resume with `krkn-telemetry prometheus-backup --config … --request-id {}`: finished parts are not sent again",
                settings.dir.display(),
                settings.key.request_id()
            );
            Outcome::Interrupted(signal)
        }
        Err(error) => {
            tracing::error!("{error}");
            tracing::info!(
                "the backup state is kept in {}; run `krkn-telemetry prometheus-backup --config … --request-id {}` to upload what is missing",
                settings.dir.display(),
                settings.key.request_id()
            );
            Outcome::Failed
        }
    }
}

/// The window export as `prometheus-backup --window` and `run` do it: `[start - margin,
/// end + margin]` from `settings` (Prometheus URL and token), uploaded into `key`.
pub async fn window_step(
    prometheus: &crate::alerts::PrometheusSettings,
    api: &TelemetryApi,
    config: &TelemetryConfig,
    key: &RunKey,
    (start, end): (i64, i64),
    margin: u64,
) -> Outcome {
    let margin = i64::try_from(margin).unwrap_or(i64::MAX);
    let window = (start.saturating_sub(margin), end.saturating_add(margin));
    let client = match crate::alerts::Prometheus::new(prometheus) {
        Ok(client) => client,
        Err(error) => {
            tracing::error!("window export: {error}");
            return Outcome::Failed;
        }
    };
    let dir = backup_dir(config.archive_path.as_deref(), key.request_id()).join("window");
    tracing::info!(
        "exporting {}..{} from {} as OpenMetrics in parts of {} KB",
        window.0,
        window.1,
        prometheus.url,
        config.archive_size
    );
    match window::export(
        &client,
        api,
        key,
        &dir,
        window,
        config.archive_size.saturating_mul(1024),
    )
    .await
    {
        Ok(report) => {
            crate::report::link(api.files_link(key));
            tracing::info!(
                "window export complete: {} metrics, {} series, {} samples in {} part(s), {} bytes, then {}",
                report.metrics,
                report.series,
                report.samples,
                report.parts,
                report.bytes,
                window::WINDOW_MANIFEST_FILE
            );
            Outcome::Success
        }
        Err(error) => {
            tracing::error!("window export: {error}");
            Outcome::Failed
        }
    }
}

//! `krkn-telemetry run`: the whole post-run pipeline as krkn's config asks. The document goes
//! first, as `send` sends it ([`prepare`], [`deliver`]); then the Prometheus backup
//! (`prometheus_backup`, the WAL or the window export) and the logs (`logs_backup`). Each
//! artifact step's failure is reported and makes the run fail; the next step still runs.

use krkn_telemetry_model::{KrknConfig, RunKey};

use super::send::{Delivery, Filing, Prepared, deliver, enabled_config, prepare};
use crate::Outcome;
use crate::cli::SendArgs;
use crate::logs::job::{LogSource, LogsJob};
use crate::settings;
use crate::shutdown::Shutdown;
use crate::upload::TelemetryApi;

/// Sends the run, then runs the artifact steps the config asks for.
pub async fn run(args: &SendArgs, shutdown: &Shutdown) -> anyhow::Result<Outcome> {
    let Some(config) = enabled_config(args)? else {
        return Ok(Outcome::Success);
    };
    let connect = !args.no_collect || artifacts_need_cluster(&config, args);
    let mut filing = match prepare(args, &config, connect).await? {
        Prepared::Ready(filing) => filing,
        Prepared::Refused => return Ok(Outcome::Failed),
    };
    let api = match deliver(args, &config, &mut filing, shutdown).await? {
        Delivery::Sent(api) => api,
        Delivery::NotSent(outcome) => return Ok(outcome),
    };
    if shutdown.requested().is_some() {
        return Ok(Outcome::Success);
    }
    let backup = prometheus_step(args, &config, &filing, &api, shutdown).await;
    if let Outcome::Interrupted(_) = backup {
        return Ok(backup);
    }
    if shutdown.requested().is_some() {
        return Ok(backup);
    }
    let logs = logs_step(args, &config, &filing, &api).await;
    Ok(if backup == Outcome::Failed || logs == Outcome::Failed {
        Outcome::Failed
    } else {
        Outcome::Success
    })
}

/// Whether an artifact step reads from the cluster: the WAL backup does, and so do the logs
/// unless they come from `--must-gather-dir`.
fn artifacts_need_cluster(config: &KrknConfig, args: &SendArgs) -> bool {
    let t = &config.telemetry;
    t.prometheus_backup || (t.logs_backup && args.must_gather_dir.is_none())
}

/// The Prometheus backup when `prometheus_backup` is set: the window export from the HTTP API
/// with `prometheus_window`, the WAL through `pods/exec` otherwise.
async fn prometheus_step(
    args: &SendArgs,
    config: &KrknConfig,
    filing: &Filing,
    api: &TelemetryApi,
    shutdown: &Shutdown,
) -> Outcome {
    let t = &config.telemetry;
    let key: &RunKey = &filing.key;
    if !t.prometheus_backup {
        return Outcome::Success;
    }
    if t.prometheus_window {
        let (Some(url), Some(window)) = (config.prometheus.url.as_deref(), filing.window) else {
            tracing::error!(
                "window export: needs performance_monitoring.prometheus_url and a run with scenario times"
            );
            return Outcome::Failed;
        };
        let settings = settings::prometheus_settings(
            url,
            &args.prometheus,
            config.prometheus.bearer_token.clone(),
        );
        return crate::prometheus::window_step(
            &settings,
            api,
            t,
            key,
            window,
            t.prometheus_window_margin,
        )
        .await;
    }
    let Some(client) = &filing.client else {
        tracing::error!("prometheus backup: no cluster to back up from");
        return Outcome::Failed;
    };
    crate::prometheus::step(
        client,
        api,
        t,
        key,
        filing.window,
        &crate::prometheus::PodOverrides::default(),
        shutdown,
    )
    .await
}

/// The logs when `logs_backup` is set: from `--must-gather-dir`, else `oc` on OpenShift when
/// it is there (krkn's way), else the pods through the API.
async fn logs_step(
    args: &SendArgs,
    config: &KrknConfig,
    filing: &Filing,
    api: &TelemetryApi,
) -> Outcome {
    let t = &config.telemetry;
    if !t.logs_backup {
        return Outcome::Success;
    }
    let source = match (&args.must_gather_dir, &filing.client) {
        (Some(dir), _) => Some(LogSource::MustGather(dir.clone())),
        (None, Some(client)) => {
            let openshift = crate::cluster::openshift::detect(client)
                .await
                .unwrap_or(false);
            match crate::logs::oc::find_oc(t.oc_cli_path.as_deref()) {
                Ok(oc) if openshift => Some(LogSource::Oc(oc, filing.access.clone())),
                _ => Some(LogSource::Pods(client.clone())),
            }
        }
        (None, None) => None,
    };
    let (source, window) = match (source, filing.window) {
        (Some(source), Some(window)) => (source, window),
        (None, _) => {
            tracing::error!("logs: no cluster to read logs from (and no --must-gather-dir)");
            return Outcome::Failed;
        }
        (Some(_), None) => {
            tracing::error!("logs: the run has no scenario times to filter by");
            return Outcome::Failed;
        }
    };
    let job = LogsJob {
        source,
        patterns: t.logs_filter_patterns.clone(),
        window,
        output_dir: None,
        namespace: None,
        archive_path: t.archive_path.clone(),
        upload: Some((filing.key.clone(), api.clone())),
    };
    match job.run().await {
        Ok(outcome) => outcome,
        Err(error) => {
            tracing::error!("logs: {error:#}");
            Outcome::Failed
        }
    }
}

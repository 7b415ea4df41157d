//! `krkn-telemetry prometheus-backup`: Prometheus's data into the run folder, resumable.

use krkn_telemetry_model::RunKey;

use crate::Outcome;
use crate::cli::PrometheusBackupArgs;
use crate::cluster;
use crate::prometheus::{self, PodOverrides};
use crate::settings::{self, load_config, service_client};
use crate::shutdown::Shutdown;

/// Finds the pod, streams, uploads, reports.
pub async fn run(args: &PrometheusBackupArgs, shutdown: &Shutdown) -> anyhow::Result<Outcome> {
    let (config, mut problems) = load_config(Some(&args.config), &args.service)?;
    if config.telemetry.api_url.is_none() {
        problems.push(
            "telemetry.api_url",
            "is needed to upload the backup (or pass --api-url)",
        );
    }
    let key = RunKey::new(&config.telemetry.telemetry_group, &args.request_id);
    if let Err(e) = &key {
        problems.push("--request-id", e.reason.clone());
    }
    if !problems.is_empty() {
        anyhow::bail!("{}: {problems}", args.config.display());
    }
    let key = key?;
    let window = args.start.zip(args.end);
    if args.window || config.telemetry.prometheus_window {
        let Some(window) = window else {
            anyhow::bail!("the window export needs the run window: pass --start and --end");
        };
        let Some(url) = args
            .prometheus_url
            .clone()
            .or_else(|| config.prometheus.url.clone())
        else {
            anyhow::bail!(
                "the window export needs Prometheus: set performance_monitoring.prometheus_url or pass --prometheus-url"
            );
        };
        let Some(api) = service_client(&config, &args.service, shutdown)? else {
            anyhow::bail!("telemetry.api_url is not set");
        };
        let settings = settings::prometheus_settings(
            &url,
            &args.prometheus,
            config.prometheus.bearer_token.clone(),
        );
        let margin = args
            .window_margin
            .unwrap_or(config.telemetry.prometheus_window_margin);
        return Ok(prometheus::window_step(
            &settings,
            &api,
            &config.telemetry,
            &key,
            window,
            margin,
        )
        .await);
    }
    let access = settings::kube_access(
        args.cluster.kubeconfig.as_deref(),
        args.cluster.context.as_deref(),
        &config,
    );
    let client = cluster::connect(&access).await?;
    let Some(api) = service_client(&config, &args.service, shutdown)? else {
        anyhow::bail!("telemetry.api_url is not set");
    };
    let overrides = PodOverrides {
        namespace: args.prometheus_namespace.clone(),
        pod: args.prometheus_pod.clone(),
        container: args.prometheus_container.clone(),
    };
    Ok(prometheus::step(
        &client,
        &api,
        &config.telemetry,
        &key,
        window,
        &overrides,
        shutdown,
    )
    .await)
}

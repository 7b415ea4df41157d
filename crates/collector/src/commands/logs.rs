//! `krkn-telemetry logs`: cluster logs (a must-gather folder, the pods through the API, or
//! `oc adm must-gather`) filtered to the run window, written to a folder or archived and
//! uploaded.

use krkn_telemetry_model::config::DEFAULT_LOG_FILTER_PATTERNS;
use krkn_telemetry_model::{ArtifactName, RunKey};

use crate::Outcome;
use crate::cli::LogsArgs;
use crate::logs::{
    self,
    job::{LogSource, LogsJob},
};
use crate::settings::{self, load_config, service_client};
use crate::shutdown::Shutdown;

/// Filters, then writes or uploads.
pub async fn run(args: &LogsArgs, shutdown: &Shutdown) -> anyhow::Result<Outcome> {
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
        && let Err(e) = ArtifactName::logs(Some(ns), 0)
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
    let api = service_client(&config, &args.service, shutdown)?;
    let access =
        settings::kube_access(args.kubeconfig.as_deref(), args.context.as_deref(), &config);
    let source = if let Some(dir) = &args.must_gather_dir {
        LogSource::MustGather(dir.clone())
    } else if args.oc {
        let oc = logs::oc::find_oc(config.telemetry.oc_cli_path.as_deref())
            .map_err(anyhow::Error::msg)?;
        LogSource::Oc(oc, access)
    } else {
        LogSource::Pods(crate::cluster::connect(&access).await?)
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

//! `krkn-telemetry alerts`: the critical alerts of a run window, as a ChaosRunAlertSummary.

use anyhow::Context;
use krkn_telemetry_model::Secret;

use crate::Outcome;
use crate::alerts::{self, AlertWindow, Prometheus};
use crate::cli::AlertsArgs;
use crate::settings::prometheus_settings;

/// Queries Prometheus and prints (or writes) the summary.
pub async fn run(args: &AlertsArgs) -> anyhow::Result<Outcome> {
    anyhow::ensure!(
        args.end >= args.start,
        "--end ({}) is before --start ({})",
        args.end,
        args.start
    );
    anyhow::ensure!(args.post_window >= 0, "--post-window must not be negative");
    let settings = prometheus_settings(&args.prometheus_url, &args.prometheus, Secret::default());
    let prometheus = Prometheus::new(&settings)?;
    let window = AlertWindow {
        start: args.start,
        end: args.end,
        post_window: args.post_window,
    };
    let (during, after) =
        alerts::critical_alerts(&prometheus, window, chrono::Utc::now().timestamp()).await?;
    for (list, when) in [(&during, "during"), (&after, "after")] {
        if list.dropped > 0 {
            tracing::warn!(
                "{} more distinct critical alerts {when} the run were left out (cap {})",
                list.dropped,
                alerts::MAX_ALERTS_PER_WINDOW
            );
        }
    }
    let summary = alerts::summary(&args.run_id, &args.scenario, &during, &after);
    alerts::write_json(&summary, args.output.as_deref()).context("cannot write the summary")?;
    tracing::info!(
        "{} critical alert(s) during the run, {} after it",
        during.alerts.len(),
        after.alerts.len()
    );
    Ok(Outcome::Success)
}

//! What the collector adds to a run document before it is filed, as krkn-lib does: the
//! cluster fields and each scenario's events, the critical alerts of the run window, and
//! `job_status`; and the run window they are read for.

use krkn_telemetry_model::{ChaosRunAlertSummary, ChaosRunTelemetry, KrknConfig};
use tokio::time::Instant;

use crate::alerts::{self, AlertWindow, Prometheus};
use crate::cli::SendArgs;
use crate::cluster::{self, CollectOptions, events::EventWindow};
use crate::settings;

/// Fills the cluster fields and, with `events_backup`, each scenario's events.
pub async fn cluster_fields(
    client: &cluster::Client,
    doc: &mut ChaosRunTelemetry,
    options: &CollectOptions,
    events_backup: bool,
) {
    let windows: Vec<Option<EventWindow>> = doc
        .scenarios
        .get()
        .map(|s| s.iter().map(EventWindow::of).collect())
        .unwrap_or_default();
    let deadline = Instant::now() + options.timeout;
    let warnings = std::sync::Mutex::new(Vec::new());
    let events = async {
        if events_backup && !windows.is_empty() {
            cluster::bounded(
                "events",
                deadline,
                cluster::events::collect(client, &windows, options.page_size),
                &warnings,
            )
            .await
        } else {
            None
        }
    };
    let (metadata, events) = tokio::join!(cluster::collect(client, options), events);
    metadata.apply_to(doc);
    if let (Some(found), Some(scenarios)) = (events, doc.scenarios.get_mut()) {
        for (scenario, events) in scenarios.iter_mut().zip(found) {
            scenario.cluster_events.set(events);
        }
    }
}

/// The critical alerts of the run's window, when Prometheus is configured; `None` otherwise
/// (or when it cannot be asked, which is a warning).
pub async fn critical_alerts(
    config: &KrknConfig,
    args: &SendArgs,
    doc: &ChaosRunTelemetry,
) -> Option<ChaosRunAlertSummary> {
    let Some(url) = config.prometheus.url.as_deref() else {
        tracing::info!(
            "no Prometheus URL (performance_monitoring.prometheus_url): critical alerts not checked"
        );
        return None;
    };
    let scenarios = doc.scenarios.get()?;
    let Some((start, end)) = run_window(doc) else {
        tracing::warn!("the run has no scenario times: critical alerts not checked");
        return None;
    };
    let settings = settings::prometheus_settings(
        url,
        &args.prometheus,
        config.prometheus.bearer_token.clone(),
    );
    let window = AlertWindow {
        start,
        end,
        post_window: args.post_window,
    };
    let outcome = match Prometheus::new(&settings) {
        Ok(prometheus) => {
            alerts::critical_alerts(&prometheus, window, chrono::Utc::now().timestamp()).await
        }
        Err(error) => Err(error),
    };
    match outcome {
        Ok((during, after)) => {
            for (list, when) in [(&during, "during"), (&after, "after")] {
                if list.dropped > 0 {
                    tracing::warn!(
                        "{} more distinct critical alerts {when} the run were left out (cap {})",
                        list.dropped,
                        alerts::MAX_ALERTS_PER_WINDOW
                    );
                }
            }
            let run_id = doc.run_uuid.get().cloned().unwrap_or_default();
            let scenario = scenarios
                .last()
                .and_then(|s| s.scenario_type.get().cloned())
                .unwrap_or_default();
            Some(alerts::summary(&run_id, &scenario, &during, &after))
        }
        Err(error) => {
            tracing::warn!("critical alerts not checked: {error}");
            None
        }
    }
}

/// krkn's rule: the job failed when a scenario exited non-zero or critical alerts fired after
/// the chaos. A document the sender already marked failed stays failed.
pub fn set_job_status(doc: &mut ChaosRunTelemetry, alerts: Option<&ChaosRunAlertSummary>) {
    let scenario_failed = doc
        .scenarios
        .get()
        .into_iter()
        .flatten()
        .any(|s| s.exit_status.get().is_some_and(|code| *code > 0));
    let alerts_after = alerts
        .and_then(|a| a.post_chaos_alerts.get())
        .is_some_and(|list| !list.is_empty());
    let marked_failed = doc.job_status.get() == Some(&false);
    doc.job_status
        .set(!(scenario_failed || alerts_after || marked_failed));
}

/// The run window: the first scenario start to the last scenario end, in whole seconds.
pub fn run_window(doc: &ChaosRunTelemetry) -> Option<(i64, i64)> {
    let scenarios = doc.scenarios.get()?;
    let starts = scenarios
        .iter()
        .filter_map(|s| s.start_timestamp.get()?.as_f64());
    let ends = scenarios
        .iter()
        .filter_map(|s| s.end_timestamp.get()?.as_f64());
    let start = starts.fold(f64::INFINITY, f64::min);
    let end = ends.fold(f64::NEG_INFINITY, f64::max);
    (start.is_finite() && end.is_finite()).then(|| (start.floor() as i64, end.ceil() as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_status_follows_exit_codes_alerts_and_the_sender() {
        let doc = |exit: i64, status: Option<bool>| {
            let mut doc: ChaosRunTelemetry = serde_json::from_value(serde_json::json!({
                "scenarios": [{"exit_status": 0}, {"exit_status": exit}]
            }))
            .expect("document");
            if let Some(status) = status {
                doc.job_status.set(status);
            }
            doc
        };
        let fired: ChaosRunAlertSummary = serde_json::from_value(serde_json::json!({
            "chaos_alerts": [], "post_chaos_alerts": [{"alertname": "etcdDown"}]
        }))
        .expect("summary");
        let quiet: ChaosRunAlertSummary = serde_json::from_value(
            serde_json::json!({"chaos_alerts": [{"alertname": "x"}], "post_chaos_alerts": []}),
        )
        .expect("summary");
        let status = |mut d: ChaosRunTelemetry, alerts: Option<&ChaosRunAlertSummary>| {
            set_job_status(&mut d, alerts);
            d.job_status.get().copied()
        };
        assert_eq!(status(doc(0, None), None), Some(true));
        assert_eq!(status(doc(0, Some(true)), Some(&quiet)), Some(true));
        assert_eq!(status(doc(2, Some(true)), None), Some(false));
        assert_eq!(status(doc(0, None), Some(&fired)), Some(false));
        assert_eq!(status(doc(0, Some(false)), None), Some(false));
    }
}

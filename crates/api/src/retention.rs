//! Enforcing the retention rules: a sweep deletes every run filed longer ago than its
//! group's rule (or the default) says, the way an admin's delete does (index entries, then
//! objects), and records each in the audit log as `run_expired`. The same sweep serves both
//! stores, so the index and the objects always go together: the embedded server runs it in
//! the background, on AWS the scheduled Lambda runs it ([`crate::lambda_sweep`]), and
//! `krkn-telemetry-api retention sweep` runs it by hand. The clock is a parameter, so tests
//! set it.

use std::collections::HashSet;
use std::time::Duration;

use krkn_telemetry_model::RunKey;

use crate::audit::Origin;
use crate::store::{Backend, RetentionRule, RunQuery, StoreError};
use crate::time::rfc3339;

/// Runs read per index page while sweeping.
const SWEEP_PAGE: usize = 500;

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Runs deleted.
    pub runs: usize,
    /// Objects deleted with them.
    pub objects: usize,
}

/// Why a sweep stopped.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The store failed; runs deleted before it are in `done`.
    #[error("retention sweep stopped after {} run(s): {source}", done.runs)]
    Store {
        /// What was deleted before.
        done: SweepReport,
        /// The failure.
        source: StoreError,
    },
}

/// Deletes every run that `rules` say has expired at `now` (unix seconds).
pub async fn sweep(backend: &Backend, now: i64) -> Result<SweepReport, SweepError> {
    let mut report = SweepReport::default();
    let rules = match backend.retention.retention_rules().await {
        Ok(rules) => rules,
        Err(source) => {
            return Err(SweepError::Store {
                done: report,
                source,
            });
        }
    };
    let own: HashSet<String> = rules.iter().filter_map(|r| r.group.clone()).collect();
    for rule in &rules {
        if let Err(source) = sweep_rule(backend, rule, &own, now, &mut report).await {
            return Err(SweepError::Store {
                done: report,
                source,
            });
        }
    }
    Ok(report)
}

/// Deletes the runs one rule says have expired (the default skips groups with a rule of
/// their own).
async fn sweep_rule(
    backend: &Backend,
    rule: &RetentionRule,
    own: &HashSet<String>,
    now: i64,
    report: &mut SweepReport,
) -> Result<(), StoreError> {
    let cutoff = now.saturating_sub(i64::from(rule.days) * 86_400);
    let mut query = RunQuery {
        group: rule.group.clone(),
        until: Some(rfc3339(cutoff)),
        limit: SWEEP_PAGE,
        ..RunQuery::default()
    };
    let origin = Origin::retention(rule.group.as_deref(), rule.days);
    loop {
        let page = backend.index.query_runs(&query).await?;
        for run in &page.runs {
            if rule.group.is_none() && own.contains(&run.group) {
                continue;
            }
            let Ok(key) = RunKey::new(&run.group, &run.request_id) else {
                continue;
            };
            if let Some(deleted) = backend.delete_run(&key).await? {
                report.runs += 1;
                report.objects += deleted.objects;
                backend
                    .audit
                    .record(&origin.run_expired(&run.group, &run.request_id, &run.filed_at))
                    .await?;
            }
        }
        match page.next {
            Some(next) => query.after = Some(next),
            None => return Ok(()),
        }
    }
}

/// Sweeps every `every` until `stop` is cancelled, logging what each sweep did; the first
/// sweep runs after `every / 10` (at most a minute), not while the server starts.
pub async fn sweep_periodically(
    backend: Backend,
    every: Duration,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut wait = (every / 10).min(Duration::from_secs(60));
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        wait = every;
        match sweep(&backend, crate::time::unix_now()).await {
            Ok(report) if report.runs > 0 => tracing::info!(
                runs = report.runs,
                objects = report.objects,
                "retention sweep deleted expired runs"
            ),
            Ok(_) => tracing::debug!("retention sweep: nothing expired"),
            Err(error) => tracing::error!("{error}"),
        }
    }
}

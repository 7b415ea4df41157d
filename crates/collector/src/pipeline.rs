//! `send` and `run`: krkn's post-run telemetry steps, in krkn's order, with krkn's names.
//!
//! 1. Read krkn's config (flags override it); `enabled: false` stops here.
//! 2. Read the run output; collect cluster metadata and, with `events_backup`, each
//!    scenario's events (concurrently, under the collection deadline; failures are warnings).
//! 3. Take the critical alerts from the run output, or ask Prometheus when it is configured.
//! 4. Set `job_status`, normalise (decode parameters, anonymise kubeconfig values), validate.
//! 5. Write `telemetry.json`, `critical-alerts-00.log` and `run-output.json` (for resending)
//!    to the archive folder; with no `api_url`, stop here.
//! 6. POST the document, upload the alert summary, print the run's link.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use krkn_telemetry_model::{
    ArtifactName, ChaosRunAlertSummary, ChaosRunOutput, ChaosRunTelemetry, Field, KrknConfig,
    Problems, RunKey, Secret, TelemetryFile, krkn_request_id,
};
use tokio::time::Instant;

use crate::Outcome;
use crate::alerts::{self, AlertWindow, Prometheus, PrometheusSettings};
use crate::archive::RunArchive;
use crate::cli::{ClusterArgs, PrometheusArgs, SendArgs, ServiceArgs};
use crate::cluster::{self, CollectOptions, events::EventWindow};
use crate::commands::logs::{LogSource, LogsJob};
use crate::upload::{ApiSettings, Payload, TelemetryApi};

/// The file name of the alert summary, as krkn-lib uploads it.
pub const ALERTS_FILE: &str = "critical-alerts-00.log";

/// The wrapper kept in the archive folder, so a failed run can be resent as it was.
pub const RESEND_FILE: &str = "run-output.json";

/// Reads a file, or standard input for `-`.
pub fn read_input(path: &Path) -> anyhow::Result<(String, Vec<u8>)> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes)
            .context("cannot read standard input")?;
        Ok(("<stdin>".to_owned(), bytes))
    } else {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        Ok((path.display().to_string(), bytes))
    }
}

/// The marker krkn logs before the run output (`logging.info("Chaos data:\n" + json)`).
pub const CHAOS_DATA_MARKER: &[u8] = b"Chaos data:";

/// The run output in `bytes`: the JSON itself, or, in krkn's report or log (`kraken.report`),
/// the JSON object after the last `Chaos data:` line.
pub fn run_output(bytes: &[u8]) -> &[u8] {
    let starts_as_json = bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{');
    if starts_as_json {
        return bytes;
    }
    let Some(marker) = bytes
        .windows(CHAOS_DATA_MARKER.len())
        .rposition(|w| w == CHAOS_DATA_MARKER)
    else {
        return bytes;
    };
    let after = &bytes[marker + CHAOS_DATA_MARKER.len()..];
    let Some(open) = after.iter().position(|b| *b == b'{') else {
        return bytes;
    };
    let json = &after[open..];
    // The object ends where a JSON value ends; log lines may follow it.
    let mut values =
        serde_json::Deserializer::from_slice(json).into_iter::<serde::de::IgnoredAny>();
    match values.next() {
        Some(Ok(_)) => &json[..values.byte_offset()],
        _ => json,
    }
}

/// Collection options from the command line.
pub fn collect_options(args: &ClusterArgs) -> anyhow::Result<CollectOptions> {
    anyhow::ensure!(
        args.timeout.is_finite() && args.timeout > 0.0,
        "--timeout must be a positive number of seconds"
    );
    Ok(CollectOptions {
        timeout: Duration::from_secs_f64(args.timeout),
        page_size: args.page_size,
        list_mode: args.object_lists,
    })
}

/// Prometheus settings from the command line and krkn's config.
pub fn prometheus_settings(url: &str, args: &PrometheusArgs, token: Secret) -> PrometheusSettings {
    PrometheusSettings {
        url: url.to_owned(),
        bearer_token: args
            .prometheus_bearer_token
            .clone()
            .map_or(token, Secret::new),
        ca_file: args.prometheus_ca.clone(),
        insecure: args.prometheus_insecure,
        timeout: Duration::from_secs(30),
    }
}

/// `~/` in krkn's `kubeconfig_path` means the home folder, as in krkn.
pub fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// Reads krkn's config (its defaults when there is none) and applies the service flags over
/// it; the problems found are returned with the config so a command can add its own and
/// report them all at once.
pub fn load_config(
    path: Option<&Path>,
    service: &ServiceArgs,
) -> anyhow::Result<(KrknConfig, Problems)> {
    let mut config = match path {
        Some(path) => KrknConfig::from_file(path)?,
        None => KrknConfig::default(),
    };
    if let Some(path) = path {
        for warning in &config.warnings {
            tracing::warn!("{}: {warning}", path.display());
        }
    }
    let t = &mut config.telemetry;
    let mut problems = Problems::default();
    if let Some(url) = &service.api_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            problems.push(
                "--api-url",
                format!("must be an http:// or https:// URL, found {url:?}"),
            );
        }
        t.api_url = Some(url.trim_end_matches('/').to_owned());
    }
    if let Some(user) = &service.username {
        t.username = Some(user.clone());
    }
    if let Some(password) = &service.password {
        t.password = Secret::new(password.clone());
    }
    if let Some(group) = &service.telemetry_group {
        if let Err(e) = krkn_telemetry_model::keys::validate_segment(group, "group") {
            problems.push("--telemetry-group", e.reason);
        }
        t.telemetry_group = group.clone();
    }
    if let Some(tag) = &service.run_tag {
        t.run_tag = tag.clone();
    }
    if let Some(path) = &service.archive_path {
        t.archive_path = Some(path.clone());
    }
    if let Some(retries) = service.max_retries {
        t.max_retries = retries;
    }
    if let Some(deadline) = service.deadline
        && !(deadline.is_finite() && deadline > 0.0)
    {
        problems.push("--deadline", "must be a positive number of seconds");
    }
    let t = &config.telemetry;
    if t.api_url.is_some() && (t.username.is_none() || t.password.is_empty()) {
        problems.push(
            "telemetry.username/password",
            "must be set when telemetry.api_url is (flags --username, --password or KRKN_TELEMETRY_PASSWORD)",
        );
    }
    Ok((config, problems))
}

/// The client for the configured service, or `None` when `api_url` is not set.
pub fn service_client(
    config: &KrknConfig,
    service: &ServiceArgs,
) -> anyhow::Result<Option<TelemetryApi>> {
    let t = &config.telemetry;
    let Some(api_url) = t.api_url.as_deref() else {
        return Ok(None);
    };
    let mut settings = ApiSettings::new(
        api_url,
        t.username.as_deref().unwrap_or_default(),
        t.password.clone(),
    );
    settings.max_retries = t.max_retries;
    settings.deadline = service
        .deadline
        .map(|s| Instant::now() + Duration::from_secs_f64(s));
    Ok(Some(TelemetryApi::new(settings)?))
}

/// `send`'s config: the service flags and its own, every problem reported at once.
fn load_send_config(args: &SendArgs) -> anyhow::Result<KrknConfig> {
    let (mut config, mut problems) = load_config(Some(&args.config), &args.service)?;
    if let Some(url) = &args.prometheus_url {
        config.prometheus.url = Some(url.clone());
    }
    if !args.cluster.timeout.is_finite() || args.cluster.timeout <= 0.0 {
        problems.push("--timeout", "must be a positive number of seconds");
    }
    if let Some(id) = &args.request_id
        && let Err(e) = krkn_telemetry_model::keys::validate_segment(id, "request id")
    {
        problems.push("--request-id", e.reason);
    }
    if !problems.is_empty() {
        anyhow::bail!("{}: {problems}", args.config.display());
    }
    Ok(config)
}

/// What `send` sent or would send; printed by `--dry-run`.
#[derive(Debug, serde::Serialize)]
struct Plan<'a> {
    api_url: Option<&'a str>,
    username: Option<&'a str>,
    password: &'a Secret,
    telemetry_group: &'a str,
    request_id: &'a str,
    archive_folder: String,
    uploads: Vec<&'a str>,
    telemetry: &'a ChaosRunTelemetry,
    critical_alerts: Option<&'a ChaosRunAlertSummary>,
}

/// `send` (and `run`, which also runs the artifact steps the config asks for).
pub async fn send(args: &SendArgs, whole_pipeline: bool) -> anyhow::Result<Outcome> {
    let config = load_send_config(args)?;
    let t = &config.telemetry;
    if !t.enabled {
        eprintln!(
            "krkn-telemetry: telemetry.enabled is false in {}: nothing built or sent",
            args.config.display()
        );
        return Ok(Outcome::Success);
    }
    let options = collect_options(&args.cluster)?;
    let (name, bytes) = read_input(&args.input)?;
    let mut file = match TelemetryFile::parse(run_output(&bytes)) {
        Ok(file) => file,
        Err(problems) => return Ok(report_problems(&name, &problems)),
    };
    let doc = &mut file.telemetry;

    let needs_cluster = !args.no_collect
        || (whole_pipeline
            && (t.prometheus_backup || (t.logs_backup && args.must_gather_dir.is_none())));
    let kubeconfig = args
        .cluster
        .kubeconfig
        .clone()
        .or_else(|| config.kubeconfig_path.as_deref().map(expand_home));
    let client = if needs_cluster {
        match cluster::connect(kubeconfig.as_deref()).await {
            Ok(client) => Some(client),
            Err(error) => {
                tracing::warn!("cluster metadata not collected: {error}");
                None
            }
        }
    } else {
        None
    };
    if let (false, Some(client)) = (args.no_collect, &client) {
        enrich(client, doc, &options, t.events_backup).await;
    }
    let window = run_window(doc);

    let mut alert_summary = match std::mem::take(&mut file.critical_alerts) {
        Field::Set(summary) => Some(summary),
        _ => None,
    };
    if alert_summary.is_none() && !args.no_collect {
        alert_summary = query_alerts(&config, args, doc).await;
    }

    set_job_status(doc, alert_summary.as_ref());
    let run_uuid = match doc.run_uuid.get().filter(|u| !u.is_empty()) {
        Some(uuid) => uuid.clone(),
        None => {
            let uuid = uuid::Uuid::new_v4().to_string();
            doc.run_uuid.set(uuid.clone());
            uuid
        }
    };
    if let Err(problems) = doc.normalize().and_then(|()| doc.validate()) {
        let problems = if file.wrapper.is_some() {
            problems.prefixed("telemetry")
        } else {
            problems
        };
        return Ok(report_problems(&name, &problems));
    }

    let request_id = match &args.request_id {
        Some(id) => id.clone(),
        None => krkn_request_id(chrono::Utc::now().timestamp(), &run_uuid, &t.run_tag),
    };
    let key = RunKey::new(&t.telemetry_group, &request_id)
        .with_context(|| format!("cannot name the run folder {request_id:?}"))?;
    let body = serde_json::to_vec(&doc).context("cannot serialize the document")?;
    let mut archive = RunArchive::open(t.archive_path.as_deref(), key.request_id())
        .context("cannot create the archive folder")?;
    archive.write(krkn_telemetry_model::keys::TELEMETRY_FILE, &body)?;
    let alerts_body = match &alert_summary {
        Some(summary) => {
            let text = serde_json::to_vec_pretty(summary)?;
            archive.write(ALERTS_FILE, &text)?;
            Some(text)
        }
        None => None,
    };
    let resend = ChaosRunOutput {
        telemetry: Field::Set(doc.clone()),
        critical_alerts: alert_summary.clone().map_or(Field::Null, Field::Set),
        ..ChaosRunOutput::default()
    };
    let resend_path = archive.write(RESEND_FILE, &serde_json::to_vec_pretty(&resend)?)?;

    if args.dry_run {
        let plan = Plan {
            api_url: t.api_url.as_deref(),
            username: t.username.as_deref(),
            password: &t.password,
            telemetry_group: key.group(),
            request_id: key.request_id(),
            archive_folder: archive.dir().display().to_string(),
            uploads: std::iter::once("telemetry.json")
                .chain(alerts_body.is_some().then_some(ALERTS_FILE))
                .collect(),
            telemetry: doc,
            critical_alerts: alert_summary.as_ref(),
        };
        crate::alerts::write_json(&plan, None)?;
        eprintln!("krkn-telemetry: dry run: nothing sent");
        return Ok(Outcome::Success);
    }

    let Some(api) = service_client(&config, &args.service)? else {
        archive.keep();
        eprintln!(
            "krkn-telemetry: telemetry.api_url is not set: the document is in {} and nothing was uploaded",
            archive.dir().display()
        );
        return Ok(Outcome::Success);
    };
    let mut result = api.post_telemetry(&key, body.into()).await.map(|_| ());
    if let (Ok(()), Some(text)) = (&result, alerts_body) {
        let name = ArtifactName::new(ALERTS_FILE)?;
        result = api
            .upload(&key, &name, &Payload::bytes(text.into()))
            .await
            .map(|_| ());
    }
    match result {
        Ok(()) => {
            println!("{}", api.files_link(&key));
            eprintln!("krkn-telemetry: run {key} sent");
            if !whole_pipeline {
                return Ok(Outcome::Success);
            }
            artifact_steps(
                args,
                &kubeconfig,
                &config,
                client.as_ref(),
                &api,
                &key,
                window,
            )
            .await
        }
        Err(error) => {
            archive.keep();
            eprintln!("krkn-telemetry: error: {error}");
            eprintln!(
                "krkn-telemetry: the run is kept in {}; resend it with:\n  krkn-telemetry send --config {} --input {} --request-id {} --no-collect",
                archive.dir().display(),
                args.config.display(),
                resend_path.display(),
                key.request_id()
            );
            Ok(Outcome::Failed)
        }
    }
}

fn report_problems(name: &str, problems: &Problems) -> Outcome {
    for problem in problems.iter() {
        eprintln!("{name}: {problem}");
    }
    eprintln!(
        "krkn-telemetry: {name}: {} problem(s); nothing sent",
        problems.len()
    );
    Outcome::Failed
}

/// Fills the cluster fields and, with `events_backup`, each scenario's events.
async fn enrich(
    client: &kube::Client,
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
async fn query_alerts(
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
    let settings = prometheus_settings(
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

/// `run`'s steps after the document is filed: the Prometheus backup and the logs, when the
/// config asks for them. Each one's failure is reported and makes the run fail; the next
/// step still runs.
async fn artifact_steps(
    args: &SendArgs,
    kubeconfig: &Option<PathBuf>,
    config: &KrknConfig,
    client: Option<&kube::Client>,
    api: &TelemetryApi,
    key: &RunKey,
    window: Option<(i64, i64)>,
) -> anyhow::Result<Outcome> {
    let t = &config.telemetry;
    let mut outcome = Outcome::Success;
    if t.prometheus_backup && t.prometheus_window {
        match (config.prometheus.url.as_deref(), window) {
            (Some(url), Some(window)) => {
                let settings = prometheus_settings(
                    url,
                    &args.prometheus,
                    config.prometheus.bearer_token.clone(),
                );
                let step = crate::prometheus::window_step(
                    &settings,
                    api,
                    t,
                    key,
                    window,
                    t.prometheus_window_margin,
                )
                .await;
                if step == Outcome::Failed {
                    outcome = Outcome::Failed;
                }
            }
            _ => {
                eprintln!(
                    "krkn-telemetry: error: window export: needs performance_monitoring.prometheus_url and a run with scenario times"
                );
                outcome = Outcome::Failed;
            }
        }
    } else if t.prometheus_backup {
        match client {
            Some(client) => {
                let step = crate::prometheus::step(
                    client,
                    api,
                    t,
                    key,
                    window,
                    &crate::prometheus::PodOverrides::default(),
                )
                .await;
                if step == Outcome::Failed {
                    outcome = Outcome::Failed;
                }
            }
            None => {
                eprintln!("krkn-telemetry: error: prometheus backup: no cluster to back up from");
                outcome = Outcome::Failed;
            }
        }
    }
    if t.logs_backup {
        let source = match (&args.must_gather_dir, client) {
            (Some(dir), _) => Some(LogSource::MustGather(dir.clone())),
            (None, Some(client)) => {
                // krkn's way on OpenShift when `oc` is there; the API otherwise.
                let openshift = crate::cluster::openshift::detect(client)
                    .await
                    .unwrap_or(false);
                match crate::logs::oc::find_oc(t.oc_cli_path.as_deref()) {
                    Ok(oc) if openshift => Some(LogSource::Oc(oc, kubeconfig.clone())),
                    _ => Some(LogSource::Pods(client.clone())),
                }
            }
            (None, None) => None,
        };
        match (source, window) {
            (Some(source), Some(window)) => {
                let job = LogsJob {
                    source,
                    patterns: t.logs_filter_patterns.clone(),
                    window,
                    output_dir: None,
                    namespace: None,
                    archive_path: t.archive_path.clone(),
                    upload: Some((key.clone(), api.clone())),
                };
                match job.run().await {
                    Ok(Outcome::Success) => {}
                    Ok(Outcome::Failed) => outcome = Outcome::Failed,
                    Err(error) => {
                        eprintln!("krkn-telemetry: error: logs: {error:#}");
                        outcome = Outcome::Failed;
                    }
                }
            }
            (None, _) => {
                eprintln!(
                    "krkn-telemetry: error: logs: no cluster to read logs from (and no --must-gather-dir)"
                );
                outcome = Outcome::Failed;
            }
            (Some(_), None) => {
                eprintln!(
                    "krkn-telemetry: error: logs: the run has no scenario times to filter by"
                );
                outcome = Outcome::Failed;
            }
        }
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_output_is_found_in_a_krkn_report() {
        let json = br#"{"telemetry": {"scenarios": []}, "critical_alerts": null}"#;
        assert_eq!(run_output(json), json);
        let mut report = b"2025-04-22 17:41:20,001 [INFO] Chaos data:\n{\"old\": 1}\n".to_vec();
        report.extend_from_slice(b"2025-04-22 17:41:23,456 [INFO] Chaos data:\n");
        report.extend_from_slice(json);
        report
            .extend_from_slice(b"\n2025-04-22 17:41:24,000 [INFO] telemetry data will be stored\n");
        assert_eq!(run_output(&report), json);
        // Neither JSON nor a report: handed on as is, so the parser explains what it sees.
        assert_eq!(run_output(b"not json"), b"not json");
    }

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

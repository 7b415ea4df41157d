//! `krkn-telemetry send`: krkn's post-run telemetry steps, in krkn's order, with krkn's names.
//! [`prepare`] and [`deliver`] are the two halves `run` shares.
//!
//! 1. Read krkn's config (flags override it); `enabled: false` stops here.
//! 2. Read the run output; collect cluster metadata and, with `events_backup`, each
//!    scenario's events (concurrently, under the collection deadline; failures are warnings).
//! 3. Take the critical alerts from the run output, or ask Prometheus when it is configured.
//! 4. Set `job_status`, normalise (decode parameters, anonymise kubeconfig values), validate.
//! 5. Write `telemetry.json`, `critical-alerts-00.log` and `run-output.json` (for resending)
//!    to the archive folder; with no `api_url`, stop here.
//! 6. POST the document, upload the alert summary, print the run's link.

use std::path::PathBuf;

use anyhow::Context;
use bytes::Bytes;
use krkn_telemetry_model::{
    ArtifactName, ChaosRunAlertSummary, ChaosRunOutput, ChaosRunTelemetry, Field, KrknConfig,
    Problems, RunKey, Secret, TelemetryFile, krkn_request_id,
};

use crate::Outcome;
use crate::archive::RunArchive;
use crate::cli::SendArgs;
use crate::cluster;
use crate::enrich;
use crate::input::{read_input, run_output};
use crate::settings;
use crate::shutdown::Shutdown;
use crate::upload::{Payload, TelemetryApi};

/// The wrapper kept in the archive folder, so a failed run can be resent as it was.
pub const RESEND_FILE: &str = "run-output.json";

/// Sends the run: [`prepare`], then [`deliver`].
pub async fn run(args: &SendArgs, shutdown: &Shutdown) -> anyhow::Result<Outcome> {
    let Some(config) = enabled_config(args)? else {
        return Ok(Outcome::Success);
    };
    let mut filing = match prepare(args, &config, !args.no_collect).await? {
        Prepared::Ready(filing) => filing,
        Prepared::Refused => return Ok(Outcome::Failed),
    };
    Ok(match deliver(args, &config, &mut filing, shutdown).await? {
        Delivery::Sent(_) => Outcome::Success,
        Delivery::NotSent(outcome) => outcome,
    })
}

/// `send`'s and `run`'s config, every problem reported at once; `None` (after saying so)
/// when `telemetry.enabled` is false and nothing is to be built.
pub(crate) fn enabled_config(args: &SendArgs) -> anyhow::Result<Option<KrknConfig>> {
    let (mut config, mut problems) = settings::load_config(Some(&args.config), &args.service)?;
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
    if !config.telemetry.enabled {
        tracing::info!(
            "telemetry.enabled is false in {}: nothing built or sent",
            args.config.display()
        );
        return Ok(None);
    }
    Ok(Some(config))
}

/// A checked run document in its archive folder, ready to deliver.
pub(crate) struct Filing {
    /// The cluster the command uses (`oc` gets it too).
    pub(crate) access: crate::cluster::connect::KubeAccess,
    /// The cluster, when the command connected and the connection worked.
    pub(crate) client: Option<cluster::Client>,
    /// The run window, for the alerts and the artifact steps.
    pub(crate) window: Option<(i64, i64)>,
    /// Where the run is filed.
    pub(crate) key: RunKey,
    /// The normalised, valid document.
    doc: ChaosRunTelemetry,
    /// Its JSON, as archived and posted.
    body: Bytes,
    /// The critical-alert summary, when there is one.
    alert_summary: Option<ChaosRunAlertSummary>,
    /// Its JSON, as archived and uploaded.
    alerts_body: Option<Bytes>,
    /// The archive folder holding all of it.
    archive: RunArchive,
    /// The archived run output to resend from.
    resend_path: PathBuf,
}

/// What [`prepare`] ended with.
pub(crate) enum Prepared {
    /// The document is checked and archived.
    Ready(Box<Filing>),
    /// The input was found wanting; every problem is printed.
    Refused,
}

/// Steps 2 to 5: reads the run output, connects to the cluster when `connect` (for the
/// metadata unless `--no-collect`, and for any later step that needs the client), fills,
/// checks and archives the document.
pub(crate) async fn prepare(
    args: &SendArgs,
    config: &KrknConfig,
    connect: bool,
) -> anyhow::Result<Prepared> {
    let t = &config.telemetry;
    let options = settings::collect_options(&args.cluster)?;
    let (name, bytes) = read_input(&args.input)?;
    let mut file = match TelemetryFile::parse(run_output(&bytes)) {
        Ok(file) => file,
        Err(problems) => return Ok(report_problems(&name, &problems)),
    };
    let doc = &mut file.telemetry;
    let access = settings::kube_access(
        args.cluster.kubeconfig.as_deref(),
        args.cluster.context.as_deref(),
        config,
    );
    let client = if connect {
        match cluster::connect(&access).await {
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
        enrich::cluster_fields(client, doc, &options, t.events_backup).await;
    }
    let window = enrich::run_window(doc);

    let mut alert_summary = match std::mem::take(&mut file.critical_alerts) {
        Field::Set(summary) => Some(summary),
        _ => None,
    };
    if alert_summary.is_none() && !args.no_collect {
        alert_summary = enrich::critical_alerts(config, args, doc).await;
    }
    enrich::set_job_status(doc, alert_summary.as_ref());
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
    crate::report::run_key(&key);
    let archived = archive(t.archive_path.as_deref(), &key, doc, alert_summary.as_ref())?;
    Ok(Prepared::Ready(Box::new(Filing {
        access,
        client,
        window,
        key,
        doc: file.telemetry,
        body: archived.body,
        alert_summary,
        alerts_body: archived.alerts_body,
        archive: archived.archive,
        resend_path: archived.resend_path,
    })))
}

/// What [`archive`] wrote.
struct Archived {
    body: Bytes,
    alerts_body: Option<Bytes>,
    archive: RunArchive,
    resend_path: PathBuf,
}

/// Step 5: the document, the alert summary and the run output to resend, in the run's
/// archive folder.
fn archive(
    archive_path: Option<&std::path::Path>,
    key: &RunKey,
    doc: &ChaosRunTelemetry,
    alert_summary: Option<&ChaosRunAlertSummary>,
) -> anyhow::Result<Archived> {
    let body = serde_json::to_vec(doc).context("cannot serialize the document")?;
    let archive = RunArchive::open(archive_path, key.request_id())
        .context("cannot create the archive folder")?;
    archive.write(krkn_telemetry_model::keys::TELEMETRY_FILE, &body)?;
    let alerts_body = match alert_summary {
        Some(summary) => {
            let text = serde_json::to_vec_pretty(summary)?;
            archive.write(ArtifactName::critical_alerts(0).as_str(), &text)?;
            Some(text.into())
        }
        None => None,
    };
    let resend = ChaosRunOutput {
        telemetry: Field::Set(doc.clone()),
        critical_alerts: alert_summary.cloned().map_or(Field::Null, Field::Set),
        ..ChaosRunOutput::default()
    };
    let resend_path = archive.write(RESEND_FILE, &serde_json::to_vec_pretty(&resend)?)?;
    Ok(Archived {
        body: body.into(),
        alerts_body,
        archive,
        resend_path,
    })
}

fn report_problems(name: &str, problems: &Problems) -> Prepared {
    for problem in problems.iter() {
        tracing::error!("{name}: {problem}");
    }
    tracing::info!("{name}: {} problem(s); nothing sent", problems.len());
    Prepared::Refused
}

/// What [`deliver`] ended with.
pub(crate) enum Delivery {
    /// The document and its alert summary are filed with this service.
    Sent(TelemetryApi),
    /// Nothing was sent: a dry run, no `api_url`, or a failed upload (already reported, the
    /// archive kept); the outcome says which.
    NotSent(Outcome),
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

/// Step 6: POSTs the document and uploads the alert summary, printing the run's link; or,
/// with `--dry-run`, prints what would be sent; or, with no `api_url`, keeps the archive.
pub(crate) async fn deliver(
    args: &SendArgs,
    config: &KrknConfig,
    filing: &mut Filing,
    shutdown: &Shutdown,
) -> anyhow::Result<Delivery> {
    let t = &config.telemetry;
    let key = &filing.key;
    let alerts_name = ArtifactName::critical_alerts(0);
    if args.dry_run {
        let plan = Plan {
            api_url: t.api_url.as_deref(),
            username: t.username.as_deref(),
            password: &t.password,
            telemetry_group: key.group(),
            request_id: key.request_id(),
            archive_folder: filing.archive.dir().display().to_string(),
            uploads: std::iter::once(krkn_telemetry_model::keys::TELEMETRY_FILE)
                .chain(filing.alerts_body.is_some().then_some(alerts_name.as_str()))
                .collect(),
            telemetry: &filing.doc,
            critical_alerts: filing.alert_summary.as_ref(),
        };
        crate::alerts::write_json(&plan, None)?;
        tracing::info!("dry run: nothing sent");
        return Ok(Delivery::NotSent(Outcome::Success));
    }
    let Some(api) = settings::service_client(config, &args.service, shutdown)? else {
        filing.archive.keep();
        tracing::info!(
            "telemetry.api_url is not set: the document is in {} and nothing was uploaded",
            filing.archive.dir().display()
        );
        return Ok(Delivery::NotSent(Outcome::Success));
    };
    let mut result = api
        .post_telemetry(key, filing.body.clone())
        .await
        .map(|_| ());
    if let (Ok(()), Some(text)) = (&result, &filing.alerts_body) {
        result = api
            .upload(key, &alerts_name, &Payload::bytes(text.clone()))
            .await
            .map(|_| ());
    }
    match result {
        Ok(()) => {
            crate::report::link(api.files_link(key));
            tracing::info!("run {key} sent");
            Ok(Delivery::Sent(api))
        }
        Err(error) => {
            filing.archive.keep();
            tracing::error!("{error}");
            tracing::info!(
                "the run is kept in {}; resend it with:\n  krkn-telemetry send --config {} --input {} --request-id {} --no-collect",
                filing.archive.dir().display(),
                args.config.display(),
                filing.resend_path.display(),
                key.request_id()
            );
            Ok(Delivery::NotSent(Outcome::Failed))
        }
    }
}

//! The commands that check and rebuild the index (`fsck`, `reindex`) with a progress bar on a
//! terminal and a summary line, `migrate`, and [`record_audit`], how every command records its admin
//! action.

use anyhow::Context;
use krkn_telemetry_api::audit::Origin;
use krkn_telemetry_api::consistency::Step;
use krkn_telemetry_api::consistency::fsck::fsck;
use krkn_telemetry_api::consistency::migrate::migrate;
use krkn_telemetry_api::consistency::reindex::reindex;
use krkn_telemetry_api::store::{AuditRecord, Backend};

/// Appends `record` to the audit log; when that fails, the error says that `done` stands.
pub(crate) async fn record_audit(
    backend: &Backend,
    record: &AuditRecord,
    done: &str,
) -> anyhow::Result<()> {
    backend
        .audit
        .record(record)
        .await
        .with_context(|| format!("{done} (that stands), but the audit log could not record it"))
}

/// A progress bar on a terminal (indicatif draws nothing elsewhere) fed by the steps of
/// `fsck` and `reindex`.
fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} runs {wide_msg}")
    {
        bar.set_style(style);
    }
    bar
}

/// Moves `bar` on by one step.
fn advance(bar: &indicatif::ProgressBar, step: Step<'_>) {
    match step {
        Step::Found(n) => bar.inc_length(n as u64),
        Step::Done(run) => {
            bar.inc(1);
            bar.set_message(run.to_owned());
        }
    }
}

/// `fsck [--repair] [--json]`.
pub(crate) async fn check_store(backend: &Backend, repair: bool, json: bool) -> anyhow::Result<()> {
    let bar = progress_bar();
    let report = fsck(backend, repair, &|step| advance(&bar, step)).await?;
    bar.finish_and_clear();
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        for f in &report.findings {
            let fixed = if f.repaired { " [repaired]" } else { "" };
            println!(
                "{}: {}/{} ({}){fixed}",
                f.problem.text(),
                f.group,
                f.request_id,
                f.detail
            );
        }
    }
    eprintln!("{}", report.summary());
    let repaired = report.findings.len() - report.unrepaired();
    if repaired > 0 {
        let details = serde_json::json!({"repaired": repaired, "left": report.unrepaired()});
        let record = Origin::command_line().index_changed("index_repaired", details);
        record_audit(backend, &record, "the repairs are done").await?;
    }
    if report.unrepaired() > 0 {
        anyhow::bail!(
            "{} problem(s) left{}",
            report.unrepaired(),
            if repair {
                ""
            } else {
                " (--repair fixes what is safe)"
            }
        );
    }
    Ok(())
}

/// `reindex [--json]`.
pub(crate) async fn rebuild_index(backend: &Backend, json: bool) -> anyhow::Result<()> {
    let bar = progress_bar();
    let report = reindex(backend, &|step| advance(&bar, step)).await?;
    bar.finish_and_clear();
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        for (run, why) in &report.unreadable {
            println!("unreadable: {run}: {why}");
        }
    }
    eprintln!("{}", report.summary());
    let details = serde_json::json!({"runs": report.runs, "removed": report.removed});
    let record = Origin::command_line().index_changed("index_rebuilt", details);
    record_audit(backend, &record, "the index is rebuilt").await?;
    if !report.unreadable.is_empty() {
        anyhow::bail!(
            "{} document(s) could not be indexed",
            report.unreadable.len()
        );
    }
    Ok(())
}

/// `migrate --from K --to K [--json]`; recorded in the target's audit log.
pub(crate) async fn move_store(
    source: &Backend,
    target: &Backend,
    json: bool,
) -> anyhow::Result<()> {
    let bar = progress_bar();
    let report = migrate(source, target, &|step| advance(&bar, step)).await;
    bar.finish_and_clear();
    let report = report?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        for (run, why) in &report.skipped {
            println!("not indexed: {run}: {why}");
        }
    }
    eprintln!("{}", report.summary());
    let details = serde_json::json!({
        "runs": report.runs,
        "objects_copied": report.objects_copied,
        "bytes_copied": report.bytes_copied,
    });
    let record = Origin::command_line().index_changed("store_migrated", details);
    record_audit(target, &record, "the migration is done").await?;
    if !report.skipped.is_empty() {
        anyhow::bail!(
            "{} run(s) could not be indexed on the target",
            report.skipped.len()
        );
    }
    Ok(())
}

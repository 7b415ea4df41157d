//! The commands that check and rebuild the index (`fsck`, `reindex`) with a progress bar on a
//! terminal and a summary line, `migrate`, `export` and `import`, `run delete`, `audit`, and [`record_audit`], how every command records its admin
//! action.

use anyhow::Context;
use krkn_telemetry_api::audit::Origin;
use krkn_telemetry_api::consistency::Step;
use krkn_telemetry_api::consistency::fsck::fsck;
use krkn_telemetry_api::consistency::migrate::migrate;
use krkn_telemetry_api::consistency::reindex::reindex;
use krkn_telemetry_api::store::AuditQuery;
use krkn_telemetry_api::store::local::snapshot::{SnapshotReport, import_into};
use krkn_telemetry_api::store::{AuditRecord, Backend, LocalStore};
use krkn_telemetry_model::RunKey;
use std::io::Write;
use std::path::PathBuf;

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

/// Prints a snapshot report: JSON, or the runs left out; then the summary line.
fn print_snapshot(report: &SnapshotReport, json: bool, done: &str) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(report)?);
    } else {
        for run in &report.left_out {
            println!("left out (deleted while exporting): {run}");
        }
    }
    eprintln!(
        "{done}: {} run(s), {} object(s), {} bytes",
        report.runs, report.objects, report.bytes
    );
    Ok(())
}

/// `export --to DIR`.
pub(crate) async fn export_store(data_dir: PathBuf, to: PathBuf, json: bool) -> anyhow::Result<()> {
    let shown = to.display().to_string();
    let report = tokio::task::spawn_blocking(move || -> anyhow::Result<SnapshotReport> {
        let store = LocalStore::open(&data_dir)?;
        Ok(store.export_to(&to)?)
    })
    .await??;
    print_snapshot(&report, json, &format!("export to {shown}"))
}

/// `import --from DIR`: the new store opens, and records the import in its audit log.
pub(crate) async fn import_store(
    from: PathBuf,
    data_dir: PathBuf,
    json: bool,
) -> anyhow::Result<()> {
    let source = from.display().to_string();
    let (report, store) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let report = import_into(&from, &data_dir)?;
        Ok((report, LocalStore::open(&data_dir)?))
    })
    .await??;
    print_snapshot(&report, json, &format!("import from {source}"))?;
    let backend = Backend::local(store);
    let details =
        serde_json::json!({"from": source, "runs": report.runs, "objects": report.objects});
    let record = Origin::command_line().index_changed("store_imported", details);
    record_audit(&backend, &record, "the import is done").await
}

/// `audit`: the newest `limit` records, as text or JSON lines.
pub(crate) async fn print_audit(backend: &Backend, limit: usize, json: bool) -> anyhow::Result<()> {
    let mut query = AuditQuery {
        before: None,
        limit: limit.min(1000),
        groups: None,
    };
    let mut left = limit;
    let mut out = std::io::stdout().lock();
    while left > 0 {
        query.limit = left.min(1000);
        let page = backend.audit.audit_page(&query).await?;
        left -= page.records.len().min(left);
        for record in &page.records {
            if json {
                serde_json::to_writer(&mut out, record)?;
                writeln!(out)?;
            } else {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    record.at,
                    record.actor,
                    record.via,
                    record.source,
                    record.action,
                    record.target,
                    record.details
                )?;
            }
        }
        match page.next {
            Some(next) if !page.records.is_empty() || left > 0 => query.before = Some(next),
            _ => break,
        }
    }
    Ok(())
}

/// `run delete GROUP/ID`: the run's index entries, then its objects (`Backend::delete_run`).
pub(crate) async fn delete_run(backend: &Backend, run: &str) -> anyhow::Result<()> {
    let (group, request_id) = run
        .split_once('/')
        .with_context(|| format!("{run:?}: name the run as GROUP/REQUEST_ID"))?;
    let key = RunKey::new(group, request_id)?;
    let Some(deleted) = backend.delete_run(&key).await? else {
        anyhow::bail!("no run {run} (never filed, or deleted already)");
    };
    let origin = Origin::command_line();
    record_audit(
        backend,
        &origin.run_deleted(key.group(), key.request_id(), &deleted),
        &format!("run {run} deleted"),
    )
    .await?;
    tracing::warn!(
        user = "(command line)",
        group = key.group(),
        request_id = key.request_id(),
        objects = deleted.objects,
        "run deleted"
    );
    eprintln!(
        "run {run} deleted: {} object(s){}",
        deleted.objects,
        if deleted.indexed {
            " and its index entries"
        } else {
            " (it had no index entries left: an earlier delete was cut short)"
        }
    );
    Ok(())
}

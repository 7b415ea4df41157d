//! `krkn-telemetry-api migrate --from local --to aws` (or back): every object copied and its
//! SHA-256 checked on the target, each run indexed on the target only after its objects are
//! there (so no entry points at a missing document, as on filing), then users, retention rules
//! and the audit log. Resumable and idempotent: an object the target already holds with the
//! same bytes is skipped, index writes replace, audit records already there are not added
//! again; an object the target holds with other bytes stops the migration, overwriting
//! nothing.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::walk::{stored_groups, stored_runs};
use super::{IndexFailure, Step, index_stored_document};
use crate::store::{AuditQuery, AuditRecord, Backend, PutOutcome, StoreError};

/// Audit records read per page.
const AUDIT_PAGE: usize = 500;

/// Why a migration stopped; what was copied before stays, and a rerun goes on from there.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// Reading the source failed.
    #[error("reading the source store failed: {0}")]
    Source(StoreError),
    /// Writing or reading the target failed.
    #[error("writing the target store failed: {0}")]
    Target(StoreError),
    /// The target holds other bytes under a key.
    #[error(
        "the target already holds {key} with other bytes (SHA-256 {found}, the source's is {expected}); nothing was overwritten"
    )]
    Conflict {
        /// The object's key.
        key: String,
        /// The source's SHA-256.
        expected: String,
        /// The target's.
        found: String,
    },
    /// The copy read back from the target is not what was sent.
    #[error("{key} on the target has SHA-256 {found} after the copy, the source's is {expected}")]
    Corrupted {
        /// The object's key.
        key: String,
        /// The source's SHA-256.
        expected: String,
        /// What the target holds.
        found: String,
    },
}

/// What a migration did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MigrateReport {
    /// Runs indexed on the target.
    pub runs: usize,
    /// Objects copied (and checked).
    pub objects_copied: usize,
    /// Objects the target held already with the same bytes.
    pub objects_present: usize,
    /// Bytes copied.
    pub bytes_copied: u64,
    /// Users written.
    pub users: usize,
    /// Retention rules written.
    pub retention_rules: usize,
    /// Audit records added (those already on the target are not counted).
    pub audit_records: usize,
    /// Runs left unindexed, as `group/request_id` and why (a document that does not parse,
    /// or one removed while the migration ran).
    pub skipped: Vec<(String, String)>,
}

impl MigrateReport {
    /// The one summary line.
    pub fn summary(&self) -> String {
        format!(
            "migrate: {} run(s) indexed, {} object(s) copied ({} bytes), {} already there, {} user(s), {} retention rule(s), {} audit record(s), {} skipped",
            self.runs,
            self.objects_copied,
            self.bytes_copied,
            self.objects_present,
            self.users,
            self.retention_rules,
            self.audit_records,
            self.skipped.len()
        )
    }
}

/// Copies everything `from` holds into `to`.
pub async fn migrate(
    from: &Backend,
    to: &Backend,
    progress: &(dyn Fn(Step<'_>) + Sync),
) -> Result<MigrateReport, MigrateError> {
    let mut report = MigrateReport::default();
    let groups = stored_groups(from.objects.as_ref())
        .await
        .map_err(MigrateError::Source)?;
    for group in &groups {
        migrate_group(from, to, group, progress, &mut report).await?;
    }
    copy_settings(from, to, &mut report).await?;
    copy_audit(from, to, &mut report).await?;
    Ok(report)
}

/// Copies one group's runs: each run's objects, then its index entries.
async fn migrate_group(
    from: &Backend,
    to: &Backend,
    group: &str,
    progress: &(dyn Fn(Step<'_>) + Sync),
    report: &mut MigrateReport,
) -> Result<(), MigrateError> {
    let filed: BTreeMap<String, String> = from
        .index
        .survey_group(group)
        .await
        .map_err(MigrateError::Source)?
        .into_iter()
        .filter_map(|run| Some((run.request_id, run.entry?.filed_at)))
        .collect();
    let runs = stored_runs(from.objects.as_ref(), group)
        .await
        .map_err(MigrateError::Source)?;
    progress(Step::Found(runs.len()));
    for run in runs {
        for file in &run.files {
            let key = format!("{group}/{}/{file}", run.request_id);
            copy_object(from, to, &key, report).await?;
        }
        let name = format!("{group}/{}", run.request_id);
        // Indexed on the target only if the source indexed it, with the source's filing time.
        if let (Some(filed_at), Some(_)) = (filed.get(&run.request_id), &run.document) {
            match index_stored_document(to, group, &run.request_id, filed_at).await {
                Ok(_) => report.runs += 1,
                Err(IndexFailure::Store(e)) => return Err(MigrateError::Target(e)),
                Err(IndexFailure::Document(why)) => report.skipped.push((name.clone(), why)),
            }
        }
        progress(Step::Done(&name));
    }
    Ok(())
}

/// Copies one object unless the target holds the same bytes, and checks the copy.
async fn copy_object(
    from: &Backend,
    to: &Backend,
    key: &str,
    report: &mut MigrateReport,
) -> Result<(), MigrateError> {
    let Some(bytes) = from.objects.get(key).await.map_err(MigrateError::Source)? else {
        // Removed since it was listed (a delete while migrating): nothing to copy.
        return Ok(());
    };
    let expected = hex::encode(Sha256::digest(&bytes));
    let size = bytes.len() as u64;
    let outcome = to
        .objects
        .put_if_absent(key, bytes)
        .await
        .map_err(MigrateError::Target)?;
    let found = to
        .objects
        .hash(key)
        .await
        .map_err(MigrateError::Target)?
        .unwrap_or_else(|| "(missing)".to_owned());
    match (outcome, found == expected) {
        (PutOutcome::Created, true) => {
            report.objects_copied += 1;
            report.bytes_copied += size;
        }
        (PutOutcome::AlreadyExists, true) => report.objects_present += 1,
        (PutOutcome::Created, false) => {
            return Err(MigrateError::Corrupted {
                key: key.to_owned(),
                expected,
                found,
            });
        }
        (PutOutcome::AlreadyExists, false) => {
            return Err(MigrateError::Conflict {
                key: key.to_owned(),
                expected,
                found,
            });
        }
    }
    Ok(())
}

/// Users (with their hashes: the same passwords work on the target) and retention rules.
async fn copy_settings(
    from: &Backend,
    to: &Backend,
    report: &mut MigrateReport,
) -> Result<(), MigrateError> {
    for user in from
        .users
        .list_users()
        .await
        .map_err(MigrateError::Source)?
    {
        to.users
            .put_user(&user)
            .await
            .map_err(MigrateError::Target)?;
        report.users += 1;
    }
    for rule in from
        .retention
        .retention_rules()
        .await
        .map_err(MigrateError::Source)?
    {
        to.retention
            .set_retention(rule.group.as_deref(), Some(rule.days))
            .await
            .map_err(MigrateError::Target)?;
        report.retention_rules += 1;
    }
    Ok(())
}

/// Every audit record, newest first.
async fn all_records(backend: &Backend) -> Result<Vec<AuditRecord>, StoreError> {
    let mut records = Vec::new();
    let mut query = AuditQuery {
        limit: AUDIT_PAGE,
        ..AuditQuery::default()
    };
    loop {
        let page = backend.audit.audit_page(&query).await?;
        records.extend(page.records);
        match page.next {
            Some(next) => query.before = Some(next),
            None => return Ok(records),
        }
    }
}

/// The audit records the target lacks, oldest first (so the target keeps their order).
async fn copy_audit(
    from: &Backend,
    to: &Backend,
    report: &mut MigrateReport,
) -> Result<(), MigrateError> {
    let there: HashSet<String> = all_records(to)
        .await
        .map_err(MigrateError::Target)?
        .iter()
        .map(record_identity)
        .collect();
    let records = all_records(from).await.map_err(MigrateError::Source)?;
    for record in records.iter().rev() {
        if !there.contains(&record_identity(record)) {
            to.audit
                .record(record)
                .await
                .map_err(MigrateError::Target)?;
            report.audit_records += 1;
        }
    }
    Ok(())
}

/// A record's fields as one text, to tell records already on the target.
fn record_identity(record: &AuditRecord) -> String {
    serde_json::to_string(record).unwrap_or_default()
}

//! `krkn-telemetry-api fsck`: where the index and the objects disagree, run by run, and with
//! `repair` the fixes that lose nothing: an entry whose document is gone is removed (the run
//! is gone already), a document without an entry and outdated entries are indexed again from
//! the document. A changed or unreadable document and files without a document are only
//! reported: which bytes are right is for a person to decide.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::walk::{StoredRun, stored_runs};
use super::{IndexFailure, Step, index_stored_document, known_groups};
use crate::store::{Backend, IndexedRun, StoreError};

/// One kind of disagreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// The run's index entry names a document that is not stored.
    EntryWithoutDocument,
    /// A stored document has no index entry: lists and exports do not show the run.
    DocumentWithoutEntry,
    /// Scenario entries are left without their run's entry or document (a delete cut short).
    ScenariosWithoutRun,
    /// The run's entries are of an older layout or incomplete (stale export rows, scenario
    /// entries missing or extra, a DynamoDB run item without the `gsi2` keys).
    OutdatedEntries,
    /// The stored document is not the size it was filed with.
    DocumentChanged,
    /// The stored document does not parse, so it cannot be indexed.
    DocumentUnreadable,
    /// A run folder holds files but no document (uploads whose filing never came).
    FilesWithoutDocument,
}

impl Problem {
    /// How the problem reads in a report line.
    pub fn text(self) -> &'static str {
        match self {
            Problem::EntryWithoutDocument => "index entry without a document",
            Problem::DocumentWithoutEntry => "document without an index entry",
            Problem::ScenariosWithoutRun => "scenario entries without their run",
            Problem::OutdatedEntries => "index entries outdated",
            Problem::DocumentChanged => "document changed since filing",
            Problem::DocumentUnreadable => "document unreadable",
            Problem::FilesWithoutDocument => "files without a document",
        }
    }
}

/// One disagreement found.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// What is wrong.
    pub problem: Problem,
    /// The run's group.
    pub group: String,
    /// The run's request id.
    pub request_id: String,
    /// The figures behind it.
    pub detail: String,
    /// True when `--repair` fixed it.
    pub repaired: bool,
}

/// What a check found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FsckReport {
    /// Groups looked at.
    pub groups: usize,
    /// Run keys looked at (in the index, the objects, or both).
    pub runs: usize,
    /// Every disagreement, by group and run.
    pub findings: Vec<Finding>,
}

impl FsckReport {
    /// Findings not repaired.
    pub fn unrepaired(&self) -> usize {
        self.findings.iter().filter(|f| !f.repaired).count()
    }

    /// The one summary line.
    pub fn summary(&self) -> String {
        let repaired = self.findings.len() - self.unrepaired();
        format!(
            "fsck: {} group(s), {} run(s) checked: {} problem(s), {} repaired, {} left",
            self.groups,
            self.runs,
            self.findings.len(),
            repaired,
            self.unrepaired()
        )
    }
}

/// Checks every group the index or the objects know, repairing what is safe when `repair`.
pub async fn fsck(
    backend: &Backend,
    repair: bool,
    progress: &(dyn Fn(Step<'_>) + Sync),
) -> Result<FsckReport, StoreError> {
    let groups = known_groups(backend).await?;
    let mut report = FsckReport {
        groups: groups.len(),
        ..FsckReport::default()
    };
    for group in &groups {
        check_group(backend, group, repair, progress, &mut report).await?;
    }
    Ok(report)
}

/// Checks one group's run keys.
async fn check_group(
    backend: &Backend,
    group: &str,
    repair: bool,
    progress: &(dyn Fn(Step<'_>) + Sync),
    report: &mut FsckReport,
) -> Result<(), StoreError> {
    let mut indexed: BTreeMap<String, IndexedRun> = backend
        .index
        .survey_group(group)
        .await?
        .into_iter()
        .map(|run| (run.request_id.clone(), run))
        .collect();
    let mut stored: BTreeMap<String, StoredRun> = stored_runs(backend.objects.as_ref(), group)
        .await?
        .into_iter()
        .map(|run| (run.request_id.clone(), run))
        .collect();
    let keys: BTreeSet<String> = indexed.keys().chain(stored.keys()).cloned().collect();
    progress(Step::Found(keys.len()));
    for request_id in keys {
        report.runs += 1;
        let index = indexed.remove(&request_id).unwrap_or_default();
        let objects = stored.remove(&request_id);
        for mut finding in findings_of(group, &request_id, &index, objects.as_ref()) {
            if repair {
                finding.repaired =
                    repair_one(backend, &mut finding, &index, objects.as_ref()).await?;
            }
            report.findings.push(finding);
        }
        progress(Step::Done(&format!("{group}/{request_id}")));
    }
    Ok(())
}

/// What is wrong with one run key.
fn findings_of(
    group: &str,
    request_id: &str,
    index: &IndexedRun,
    objects: Option<&StoredRun>,
) -> Vec<Finding> {
    let finding = |problem, detail: String| Finding {
        problem,
        group: group.to_owned(),
        request_id: request_id.to_owned(),
        detail,
        repaired: false,
    };
    let document = objects.and_then(|o| o.document.as_ref());
    let files = objects.map_or(0, |o| o.files.len());
    let mut found = Vec::new();
    match (&index.entry, document) {
        (Some(_), None) => found.push(finding(
            Problem::EntryWithoutDocument,
            format!(
                "{} scenario entries, {files} file(s) in the folder",
                index.scenario_entries
            ),
        )),
        (None, Some(document)) => found.push(finding(
            Problem::DocumentWithoutEntry,
            format!(
                "{} bytes, modified {}; {} scenario entries left",
                document.size, document.modified, index.scenario_entries
            ),
        )),
        (None, None) if index.scenario_entries > 0 => found.push(finding(
            Problem::ScenariosWithoutRun,
            format!("{} scenario entries", index.scenario_entries),
        )),
        (Some(entry), Some(document)) => {
            if entry.document_bytes != document.size {
                found.push(finding(
                    Problem::DocumentChanged,
                    format!(
                        "filed with {} bytes, stored {} bytes",
                        entry.document_bytes, document.size
                    ),
                ));
            } else if index.outdated() {
                found.push(finding(
                    Problem::OutdatedEntries,
                    format!(
                        "{} of {} scenario entries ({} expected) with stale export rows{}",
                        index.stale_rows,
                        index.scenario_entries,
                        entry.scenario_count,
                        if entry.current_layout {
                            ""
                        } else {
                            "; run entry without gsi2 keys"
                        }
                    ),
                ));
            }
        }
        (None, None) => {}
    }
    if document.is_none() && files > 0 {
        found.push(finding(
            Problem::FilesWithoutDocument,
            format!("{files} file(s)"),
        ));
    }
    found
}

/// Repairs one finding when that loses nothing; true when it did. A document that cannot be
/// indexed turns the finding into [`Problem::DocumentUnreadable`].
async fn repair_one(
    backend: &Backend,
    finding: &mut Finding,
    index: &IndexedRun,
    objects: Option<&StoredRun>,
) -> Result<bool, StoreError> {
    let (group, request_id) = (finding.group.clone(), finding.request_id.clone());
    let filed_at = match finding.problem {
        Problem::EntryWithoutDocument | Problem::ScenariosWithoutRun => {
            backend.index.remove_run(&group, &request_id).await?;
            return Ok(true);
        }
        Problem::DocumentWithoutEntry => objects
            .and_then(|o| o.document.as_ref())
            .map(|d| d.modified.clone())
            .filter(|m| !m.is_empty())
            .unwrap_or_else(crate::time::now_rfc3339),
        Problem::OutdatedEntries => index
            .entry
            .as_ref()
            .map(|e| e.filed_at.clone())
            .unwrap_or_else(crate::time::now_rfc3339),
        Problem::DocumentChanged | Problem::DocumentUnreadable | Problem::FilesWithoutDocument => {
            return Ok(false);
        }
    };
    match index_stored_document(backend, &group, &request_id, &filed_at).await {
        Ok(_) => Ok(true),
        Err(IndexFailure::Store(error)) => Err(error),
        Err(IndexFailure::Document(why)) => {
            finding.problem = Problem::DocumentUnreadable;
            finding.detail = why;
            Ok(false)
        }
    }
}

//! `krkn-telemetry-api reindex`: the index rebuilt from the stored documents. Every document
//! is read and its entries written again as filing would write them (keeping the filing time
//! the index knows, else the document's modification time), which also brings entries of an
//! older layout up to date (on DynamoDB the `gsi2` keys of runs filed before them); entries
//! whose document is gone are removed.

use std::collections::BTreeMap;

use serde::Serialize;

use super::walk::stored_runs;
use super::{IndexFailure, Step, index_stored_document, known_groups};
use crate::store::{Backend, StoreError};

/// What a rebuild did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReindexReport {
    /// Runs indexed from their documents.
    pub runs: usize,
    /// Scenario entries written with them.
    pub scenarios: usize,
    /// Run keys whose entries were removed: their document is gone.
    pub removed: usize,
    /// Documents that could not be indexed, as `group/request_id` and why.
    pub unreadable: Vec<(String, String)>,
}

impl ReindexReport {
    /// The one summary line.
    pub fn summary(&self) -> String {
        format!(
            "reindex: {} run(s) indexed ({} scenario entries), {} without a document removed, {} unreadable",
            self.runs,
            self.scenarios,
            self.removed,
            self.unreadable.len()
        )
    }
}

/// Rebuilds the index of every group from its documents.
pub async fn reindex(
    backend: &Backend,
    progress: &(dyn Fn(Step<'_>) + Sync),
) -> Result<ReindexReport, StoreError> {
    let groups = known_groups(backend).await?;
    let mut report = ReindexReport::default();
    for group in &groups {
        let mut filed: BTreeMap<String, Option<String>> = backend
            .index
            .survey_group(group)
            .await?
            .into_iter()
            .map(|run| (run.request_id, run.entry.map(|e| e.filed_at)))
            .collect();
        let runs = stored_runs(backend.objects.as_ref(), group).await?;
        progress(Step::Found(runs.len()));
        for run in runs {
            let known = filed.remove(&run.request_id).flatten();
            let key = format!("{group}/{}", run.request_id);
            if let Some(document) = &run.document {
                let filed_at = known
                    .or_else(|| Some(document.modified.clone()).filter(|m| !m.is_empty()))
                    .unwrap_or_else(crate::time::now_rfc3339);
                match index_stored_document(backend, group, &run.request_id, &filed_at).await {
                    Ok(scenarios) => {
                        report.runs += 1;
                        report.scenarios += scenarios;
                    }
                    Err(IndexFailure::Store(error)) => return Err(error),
                    Err(IndexFailure::Document(why)) => report.unreadable.push((key.clone(), why)),
                }
            } else if backend.index.remove_run(group, &run.request_id).await? {
                report.removed += 1;
            }
            progress(Step::Done(&key));
        }
        // Entries of run keys without any folder: their document is gone too.
        for request_id in filed.into_keys() {
            backend.index.remove_run(group, &request_id).await?;
            report.removed += 1;
        }
    }
    Ok(report)
}

//! Keeping the index and the objects in agreement: [`fsck`] finds where they disagree (and
//! repairs what is safe), [`reindex`] rebuilds the index from the stored documents, and
//! [`migrate`] moves everything from one store to the other. All work through the store's
//! traits only, so they behave alike on both stores; [`walk`] lists what the object store
//! holds, group by group.

pub mod fsck;
pub mod migrate;
pub mod reindex;
pub mod walk;

use std::collections::BTreeSet;

use krkn_telemetry_model::{ChaosRunTelemetry, RunKey};

use crate::indexing::run_record_filed_at;
use crate::store::{Backend, StoreError};

/// What the caller is told as the work goes on (for a progress bar).
#[derive(Debug, Clone, Copy)]
pub enum Step<'a> {
    /// This many more runs were found to look at.
    Found(usize),
    /// One run (`group/request_id`) was looked at.
    Done(&'a str),
}

/// Why a stored document could not be indexed.
#[derive(Debug, thiserror::Error)]
pub enum IndexFailure {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The document is gone since it was listed, or does not parse.
    #[error("{0}")]
    Document(String),
}

/// Every group the objects or the index know, by name.
pub(crate) async fn known_groups(backend: &Backend) -> Result<BTreeSet<String>, StoreError> {
    let mut groups: BTreeSet<String> = walk::stored_groups(backend.objects.as_ref())
        .await?
        .into_iter()
        .collect();
    groups.extend(backend.index.indexed_groups().await?);
    Ok(groups)
}

/// Writes the index entries of the stored document of `group/request_id` as filed at
/// `filed_at`; the scenario entries written.
pub(crate) async fn index_stored_document(
    backend: &Backend,
    group: &str,
    request_id: &str,
    filed_at: &str,
) -> Result<usize, IndexFailure> {
    let key = RunKey::new(group, request_id).map_err(|e| IndexFailure::Document(e.to_string()))?;
    let object_key = format!("{group}/{request_id}/telemetry.json");
    let stored = backend
        .objects
        .get(&object_key)
        .await?
        .ok_or_else(|| IndexFailure::Document(format!("{object_key} is gone")))?;
    let document = ChaosRunTelemetry::from_json(&stored)
        .map_err(|e| IndexFailure::Document(format!("{object_key} does not parse: {e}")))?;
    let record = run_record_filed_at(&key, &document, &stored, filed_at.to_owned());
    backend.index.index_run(&record).await?;
    Ok(record.scenarios.len())
}

//! What the object store holds, group by group: the groups (top-level folders) and each
//! group's run folders with their document, listed a page at a time.

use crate::store::{EntryKind, ListEntry, ObjectStore, StoreError};

/// Entries one listing asks for.
const LIST_PAGE: usize = 1000;

/// The name of a run's document in its folder.
pub const DOCUMENT: &str = "telemetry.json";

/// What one run folder holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRun {
    /// The folder's name: the run's request id.
    pub request_id: String,
    /// The document's listing entry (size, modification time), when there is one.
    pub document: Option<ListEntry>,
    /// The names of the folder's objects, the document included.
    pub files: Vec<String>,
}

/// Every entry of the folder `prefix`, in name order, a page at a time (each page after the
/// last name of the one before).
pub async fn list_all(
    objects: &dyn ObjectStore,
    prefix: &str,
) -> Result<Vec<ListEntry>, StoreError> {
    let mut all: Vec<ListEntry> = Vec::new();
    loop {
        let after = all.last().map(|e| e.path.clone());
        let page = objects.list(prefix, after, LIST_PAGE).await?;
        let full = page.len() >= LIST_PAGE;
        all.extend(page);
        if !full {
            return Ok(all);
        }
    }
}

/// The groups with objects.
pub async fn stored_groups(objects: &dyn ObjectStore) -> Result<Vec<String>, StoreError> {
    Ok(list_all(objects, "")
        .await?
        .into_iter()
        .filter(|e| e.kind == EntryKind::Folder)
        .map(|e| e.path)
        .collect())
}

/// The run folders of `group`, by name, each with its document's entry.
pub async fn stored_runs(
    objects: &dyn ObjectStore,
    group: &str,
) -> Result<Vec<StoredRun>, StoreError> {
    let mut runs = Vec::new();
    for folder in list_all(objects, &format!("{group}/")).await? {
        if folder.kind != EntryKind::Folder {
            continue;
        }
        let files = list_all(objects, &format!("{group}/{}/", folder.path)).await?;
        let document = files
            .iter()
            .find(|f| f.kind == EntryKind::File && f.path == DOCUMENT)
            .cloned();
        runs.push(StoredRun {
            request_id: folder.path,
            document,
            files: files
                .into_iter()
                .filter(|f| f.kind == EntryKind::File)
                .map(|f| f.path)
                .collect(),
        });
    }
    Ok(runs)
}

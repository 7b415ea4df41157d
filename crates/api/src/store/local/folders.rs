//! Folders and names: creating a run's folders, linking a finished file under its name
//! without ever replacing one, and syncing the folders whose entries changed.
//!
//! Writes are atomic: an object is written to a temporary file, then hard-linked into place,
//! which fails if the object exists, so a conditional write can never overwrite.

use std::fs;
use std::path::{Path, PathBuf};

use super::folder_sync::FolderSyncs;
use super::paths::io;
use crate::store::{PutOutcome, StoreError};

/// Creates `dir` and its missing parents below `objects`. Returns every folder that gained
/// an entry (the parent of each folder created), deepest first: their entries are only
/// durable once they are synced.
///
/// `mkdir` comes first and a lookup only when it fails: every filing of a group creates
/// its run folder in the same group folder, and a lookup that misses there waits for
/// that folder's lock behind the other filings' `mkdir`s (the off-CPU profile of 32
/// concurrent filings put more time there than in fsync; BENCHMARKS.md).
pub(super) fn create_folders(objects: &Path, dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let mut changed = Vec::new();
    create_folder(objects, dir, &mut changed)?;
    changed.reverse();
    Ok(changed)
}

/// One step of [`create_folders`]: creates `dir`, first its parent when that is missing,
/// and records the parent of every folder it created, shallowest first.
fn create_folder(objects: &Path, dir: &Path, changed: &mut Vec<PathBuf>) -> Result<(), StoreError> {
    if dir == objects {
        return Ok(());
    }
    let parent = dir.parent().unwrap_or(objects);
    let mut created = fs::create_dir(dir);
    if matches!(&created, Err(e) if e.kind() == std::io::ErrorKind::NotFound) {
        create_folder(objects, parent, changed)?;
        created = fs::create_dir(dir);
    }
    match created {
        Ok(()) => {
            changed.push(parent.to_owned());
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(io("create", dir)(e)),
    }
}

/// Links the synced file `temp` to `path` unless something is there, removes `temp`, and
/// syncs the folder of `path`, then `new_folders` (those that gained a folder on the way), so
/// that the name outlives a power cut before the index ever points at it. Folder syncs go
/// through `syncs`, so concurrent writes into one folder share them.
pub(super) fn link_new_durably(
    temp: &Path,
    path: &Path,
    new_folders: &[PathBuf],
    syncs: &FolderSyncs,
) -> Result<PutOutcome, StoreError> {
    let outcome = link_new(temp, path)?;
    let _ = fs::remove_file(temp);
    if outcome == PutOutcome::Created {
        sync_names(path, new_folders, syncs)?;
    }
    Ok(outcome)
}

/// Links `temp` to `path` unless something is there (a link never replaces a name).
pub(super) fn link_new(temp: &Path, path: &Path) -> Result<PutOutcome, StoreError> {
    match fs::hard_link(temp, path) {
        Ok(()) => Ok(PutOutcome::Created),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(PutOutcome::AlreadyExists),
        Err(e) => Err(io("link", path)(e)),
    }
}

/// Syncs the folder holding `path`, then `new_folders`, through `syncs`: the new name is
/// durable once this returns.
fn sync_names(path: &Path, new_folders: &[PathBuf], syncs: &FolderSyncs) -> Result<(), StoreError> {
    for folder in path
        .parent()
        .into_iter()
        .chain(new_folders.iter().map(PathBuf::as_path))
    {
        syncs.sync(folder).map_err(io("sync", folder))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The folders whose entries a filing changes are the ones it syncs: the parent of every
    /// folder it had to create, and nothing when the run's folder already existed.
    #[test]
    fn created_folders_name_the_folders_to_sync() {
        let dir = tempfile::tempdir().expect("temp dir");
        let objects = dir.path().join("objects");
        fs::create_dir(&objects).expect("objects");
        let run = objects.join("perf").join("1764000000-abc");
        assert_eq!(
            create_folders(&objects, &run).expect("create"),
            vec![objects.join("perf"), objects.clone()]
        );
        assert!(run.is_dir());
        let second = objects.join("perf").join("1764000001-abc");
        assert_eq!(
            create_folders(&objects, &second).expect("create"),
            vec![objects.join("perf")]
        );
        assert!(
            create_folders(&objects, &second)
                .expect("exists")
                .is_empty()
        );
    }

    /// A link never replaces a name: the second link of the same name changes nothing.
    #[test]
    fn a_link_never_replaces_a_name() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (first, second, name) = (
            dir.path().join("a"),
            dir.path().join("b"),
            dir.path().join("object"),
        );
        fs::write(&first, b"first").expect("write");
        fs::write(&second, b"second").expect("write");
        assert_eq!(link_new(&first, &name).expect("link"), PutOutcome::Created);
        assert_eq!(
            link_new(&second, &name).expect("link"),
            PutOutcome::AlreadyExists
        );
        assert_eq!(fs::read(&name).expect("read"), b"first");
    }
}

//! How the embedded store creates files: only for this server's user (mode 0600), never
//! through a link someone planted, under names nobody can guess.
//!
//! Before, `index.sqlite` (the password hashes) was created world-readable under umask 022,
//! temporary files were opened with truncate-and-follow-symlinks under names made of the
//! process id, a counter and the time, and nothing checked the signing key's mode.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, SystemTime};

use argon2::password_hash::rand_core::{OsRng, RngCore};

/// Creates `path`, which must not exist (not even as a dangling link), for writing by this
/// user only.
pub(super) fn create_new(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
}

/// Opens `path` for writing, creating it (for this user only) when missing, refusing a
/// symbolic link in its place; never truncates (the caller does, once it holds the lock).
pub(super) fn open_or_create(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
}

/// Opens an existing file for reading, refusing a symbolic link in its place.
pub(super) fn open_no_follow(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
}

/// Writes `bytes` to a new file at `path` (see [`create_new`]).
pub(super) fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<File> {
    let mut file = create_new(path)?;
    file.write_all(bytes)?;
    Ok(file)
}

/// A temporary file name nobody can guess or plant beforehand: `prefix`, 128 random bits,
/// `.part` (`.` as prefix hides it from listings).
pub(super) fn temp_name(prefix: &str) -> String {
    let mut random = [0u8; 16];
    OsRng.fill_bytes(&mut random);
    format!("{prefix}{}.part", hex::encode(random))
}

/// Takes group and other permissions off `path` if it exists and has any; returns the mode
/// it had then (for the log).
pub(super) fn make_private(path: &Path) -> std::io::Result<Option<u32>> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() => {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 == 0 {
                return Ok(None);
            }
            fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o700))?;
            Ok(Some(mode))
        }
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Removes `dir` and then its parents up to (not including) `root`, as long as they are
/// empty: what a failed write created is not left behind.
pub(super) fn remove_empty_folders(dir: &Path, root: &Path) {
    let mut current = Some(dir);
    while let Some(folder) = current {
        if folder == root || !folder.starts_with(root) || fs::remove_dir(folder).is_err() {
            return;
        }
        current = folder.parent();
    }
}

/// Removes the hidden `.…part` files at most two folder levels below `objects` (inside run
/// folders) that nobody wrote to for `stale`: a document's temporary file that a crash left
/// behind. Returns how many went.
pub(super) fn sweep_hidden_leftovers(objects: &Path, stale: Duration) -> usize {
    let now = SystemTime::now();
    let mut removed = 0;
    let Ok(groups) = fs::read_dir(objects) else {
        return 0;
    };
    for group in groups.flatten() {
        if !group.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Ok(runs) = fs::read_dir(group.path()) else {
            continue;
        };
        for run in runs.flatten() {
            if !run.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let Ok(files) = fs::read_dir(run.path()) else {
                continue;
            };
            for file in files.flatten() {
                let name = file.file_name();
                let name = name.to_string_lossy();
                if !(name.starts_with('.') && name.ends_with(".part")) {
                    continue;
                }
                let old = file.metadata().is_ok_and(|meta| {
                    meta.is_file()
                        && meta
                            .modified()
                            .ok()
                            .and_then(|m| now.duration_since(m).ok())
                            .is_some_and(|age| age >= stale)
                });
                if old && fs::remove_file(file.path()).is_ok() {
                    removed += 1;
                }
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_files_are_private_and_never_follow_a_planted_link() {
        let dir = tempfile::tempdir().expect("dir");
        let target = dir.path().join("victim");
        fs::write(&target, b"keep me").expect("victim");
        let planted = dir.path().join("planted.part");
        std::os::unix::fs::symlink(&target, &planted).expect("link");
        assert!(
            create_new(&planted).is_err(),
            "wrote through a planted link"
        );
        assert_eq!(fs::read(&target).expect("victim"), b"keep me");
        let fresh = dir.path().join(temp_name("."));
        write_new(&fresh, b"x").expect("new file");
        let mode = fs::metadata(&fresh).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_ne!(temp_name("."), temp_name("."));
    }

    #[test]
    fn loose_files_are_made_private() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("index.sqlite");
        fs::write(&file, b"").expect("file");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).expect("chmod");
        assert_eq!(make_private(&file).expect("chmod"), Some(0o644));
        assert_eq!(
            fs::metadata(&file).expect("meta").permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(make_private(&file).expect("again"), None);
        assert_eq!(
            make_private(&dir.path().join("missing")).expect("none"),
            None
        );
    }

    #[test]
    fn only_empty_folders_up_to_the_root_are_removed() {
        let dir = tempfile::tempdir().expect("dir");
        let root = dir.path().join("objects");
        let run = root.join("g").join("r");
        fs::create_dir_all(&run).expect("dirs");
        fs::write(root.join("g").join("other"), b"").expect("sibling");
        remove_empty_folders(&run, &root);
        assert!(!run.exists());
        assert!(root.join("g").exists(), "a folder with a file went");
        assert!(root.exists());
    }

    #[test]
    fn hidden_leftovers_in_run_folders_are_swept_when_stale() {
        let dir = tempfile::tempdir().expect("dir");
        let run = dir.path().join("g").join("r");
        fs::create_dir_all(&run).expect("dirs");
        let old = run.join(".abc.part");
        fs::write(&old, b"torn").expect("old");
        File::options()
            .write(true)
            .open(&old)
            .and_then(|f| f.set_modified(SystemTime::now() - Duration::from_secs(7200)))
            .expect("age it");
        fs::write(run.join(".fresh.part"), b"being written").expect("fresh");
        fs::write(run.join("telemetry.json"), b"{}").expect("document");
        assert_eq!(
            sweep_hidden_leftovers(dir.path(), Duration::from_secs(3600)),
            1
        );
        assert!(!old.exists());
        assert!(run.join(".fresh.part").exists());
        assert!(run.join("telemetry.json").exists());
    }
}

//! A consistent copy of the embedded store, and putting one back: `export --to DIR` takes an
//! SQLite online backup of the index (a consistent snapshot while the server runs), then
//! copies the objects, hashing each as it is copied, and writes `SHA256SUMS` (`sha256sum -c`
//! reads it); a run deleted between the snapshot and its copy is left out of the copied index
//! too, so no entry points at a missing document. `import --from DIR` checks every sum (and
//! that no file is unlisted) before it writes anything, then fills the new data directory.
//! Both write into a hidden sibling folder and rename it at the end: a copy cut short leaves
//! no half-written export or store. The signing key is not copied (links are short-lived; the
//! imported store makes a new one).

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, MAIN_DB, params};
use sha2::{Digest, Sha256};

use super::LocalStore;
use super::paths::{io, plain_key_path};
use super::private_files;
use crate::store::StoreError;

/// The list of checksums in an export.
pub const SUMS_FILE: &str = "SHA256SUMS";
/// The index's name in an export and in a data directory.
const INDEX_FILE: &str = "index.sqlite";
/// The objects' folder in an export and in a data directory.
const OBJECTS_DIR: &str = "objects";

/// What an export or an import copied.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SnapshotReport {
    /// Runs in the copied index.
    pub runs: usize,
    /// Objects copied.
    pub objects: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Runs left out: deleted between the index's snapshot and the copy of their document.
    pub left_out: Vec<String>,
}

/// Why an export or an import stopped; nothing was left half-written.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The destination holds files already.
    #[error("{0} exists and is not empty: choose a new folder")]
    NotEmpty(PathBuf),
    /// A file operation or the index failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The export's list of sums is missing or malformed.
    #[error("{path}: {problem}")]
    BadSums {
        /// The list's path.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A file is not what the list says.
    #[error("{file} has SHA-256 {found}, {SUMS_FILE} says {expected}: the export is damaged")]
    Checksum {
        /// The file, relative to the export.
        file: String,
        /// What the list says.
        expected: String,
        /// What the file hashes to.
        found: String,
    },
    /// A file of the export is not in the list.
    #[error("{0} is in the export but not in {SUMS_FILE}")]
    Unlisted(String),
}

impl From<rusqlite::Error> for SnapshotError {
    fn from(error: rusqlite::Error) -> Self {
        SnapshotError::Store(StoreError::from(error))
    }
}

/// Creates a private folder (0700) and its parents.
fn private_dir(path: &Path) -> Result<(), StoreError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(io("create", path))
}

/// The hidden sibling folder `dest` is written in before it is renamed into place.
fn staging(dest: &Path, what: &str) -> Result<PathBuf, SnapshotError> {
    match fs::read_dir(dest) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(SnapshotError::NotEmpty(dest.to_owned()));
            }
            fs::remove_dir(dest).map_err(io("remove", dest))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io("read", dest)(e).into()),
    }
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "store".to_owned());
    let staged = dest.with_file_name(format!(".{name}.{what}-{}", std::process::id()));
    if staged.exists() {
        fs::remove_dir_all(&staged).map_err(io("remove", &staged))?;
    }
    private_dir(&staged)?;
    Ok(staged)
}

/// Copies `from` to `to` (created 0600, synced), returning its SHA-256 and size.
fn copy_hashed(from: &Path, to: &Path) -> Result<(String, u64), StoreError> {
    if let Some(parent) = to.parent() {
        private_dir(parent)?;
    }
    let mut source = fs::File::open(from).map_err(io("open", from))?;
    let mut target = private_files::create_new(to).map_err(io("create", to))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = source.read(&mut buffer).map_err(io("read", from))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        target.write_all(&buffer[..n]).map_err(io("write", to))?;
        size += n as u64;
    }
    target.sync_all().map_err(io("sync", to))?;
    Ok((hex::encode(hasher.finalize()), size))
}

/// The SHA-256 of a file, streamed.
fn hash_file(path: &Path) -> Result<String, StoreError> {
    let mut file = fs::File::open(path).map_err(io("open", path))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(io("read", path))?;
    Ok(hex::encode(hasher.finalize()))
}

/// Every file under `root` as a key (`/`-separated, relative), skipping hidden names
/// (temporary files of uploads in progress), sorted.
fn object_keys(root: &Path) -> Result<Vec<String>, StoreError> {
    let mut keys = Vec::new();
    let mut folders = vec![(root.to_owned(), String::new())];
    while let Some((folder, prefix)) = folders.pop() {
        for entry in fs::read_dir(&folder).map_err(io("read", &folder))? {
            let entry = entry.map_err(io("read", &folder))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let key = format!("{prefix}{name}");
            let kind = entry.file_type().map_err(io("stat", &entry.path()))?;
            if kind.is_dir() {
                folders.push((entry.path(), format!("{key}/")));
            } else if kind.is_file() {
                keys.push(key);
            }
        }
    }
    keys.sort();
    Ok(keys)
}

impl LocalStore {
    /// Writes a consistent copy of the store to `dest` (new or empty).
    pub fn export_to(&self, dest: &Path) -> Result<SnapshotReport, SnapshotError> {
        let staged = staging(dest, "partial")?;
        let result = self.export_into(&staged);
        match result {
            Ok(report) => {
                fs::rename(&staged, dest).map_err(io("rename", &staged))?;
                Ok(report)
            }
            Err(error) => {
                let _ = fs::remove_dir_all(&staged);
                Err(error)
            }
        }
    }

    fn export_into(&self, staged: &Path) -> Result<SnapshotReport, SnapshotError> {
        let index = staged.join(INDEX_FILE);
        self.core.db.reader().backup(MAIN_DB, &index, None)?;
        let snapshot = Connection::open(&index)?;
        let runs: Vec<(String, String)> = snapshot
            .prepare("SELECT grp, request_id FROM runs ORDER BY grp, request_id")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut report = SnapshotReport::default();
        let mut sums = Vec::new();
        for key in object_keys(&self.core.objects)? {
            let from = self.core.objects.join(&key);
            let to = staged.join(OBJECTS_DIR).join(&key);
            match copy_hashed(&from, &to) {
                Ok((sha, size)) => {
                    sums.push(format!("{sha}  {OBJECTS_DIR}/{key}"));
                    report.objects += 1;
                    report.bytes += size;
                }
                // Removed since it was listed: a delete while exporting.
                Err(StoreError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(error.into()),
            }
        }
        for (group, request_id) in runs {
            let document = staged
                .join(OBJECTS_DIR)
                .join(format!("{group}/{request_id}/telemetry.json"));
            if document.exists() {
                report.runs += 1;
                continue;
            }
            for table in ["runs", "scenarios"] {
                snapshot.execute(
                    &format!("DELETE FROM {table} WHERE grp = ?1 AND request_id = ?2"),
                    params![group, request_id],
                )?;
            }
            report.left_out.push(format!("{group}/{request_id}"));
        }
        drop(snapshot);
        sums.insert(0, format!("{}  {INDEX_FILE}", hash_file(&index)?));
        let list = staged.join(SUMS_FILE);
        let mut file = private_files::create_new(&list).map_err(io("create", &list))?;
        file.write_all((sums.join("\n") + "\n").as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(io("write", &list))?;
        Ok(report)
    }
}

/// The list of sums of the export in `from`: (file, sha256), every file a plain relative path.
fn read_sums(from: &Path) -> Result<Vec<(String, String)>, SnapshotError> {
    let path = from.join(SUMS_FILE);
    let bad = |problem: String| SnapshotError::BadSums {
        path: path.clone(),
        problem,
    };
    let text = fs::read_to_string(&path).map_err(|e| bad(format!("cannot read it: {e}")))?;
    let mut sums = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let (sha, file) = line
            .split_once("  ")
            .filter(|(sha, _)| sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| bad(format!("line {} is not `<sha256>  <file>`", n + 1)))?;
        let plain = file == INDEX_FILE
            || file
                .strip_prefix("objects/")
                .is_some_and(|key| plain_key_path(Path::new(""), key).is_some());
        if !plain {
            return Err(bad(format!(
                "line {} names {file:?}, not a file of an export",
                n + 1
            )));
        }
        sums.push((file.to_owned(), sha.to_ascii_lowercase()));
    }
    if !sums.iter().any(|(file, _)| file == INDEX_FILE) {
        return Err(bad(format!("it does not list {INDEX_FILE}")));
    }
    Ok(sums)
}

/// Checks the export in `from` and makes `data_dir` (new or empty) a store holding it.
pub fn import_into(from: &Path, data_dir: &Path) -> Result<SnapshotReport, SnapshotError> {
    let sums = read_sums(from)?;
    let listed: std::collections::HashSet<&str> = sums.iter().map(|(f, _)| f.as_str()).collect();
    for key in object_keys(&from.join(OBJECTS_DIR))? {
        let file = format!("{OBJECTS_DIR}/{key}");
        if !listed.contains(file.as_str()) {
            return Err(SnapshotError::Unlisted(file));
        }
    }
    for (file, expected) in &sums {
        let found = hash_file(&from.join(file))?;
        if &found != expected {
            return Err(SnapshotError::Checksum {
                file: file.clone(),
                expected: expected.clone(),
                found,
            });
        }
    }
    let staged = staging(data_dir, "importing")?;
    let mut report = SnapshotReport::default();
    let copied: Result<(), SnapshotError> = (|| {
        for (file, expected) in &sums {
            let (sha, size) = copy_hashed(&from.join(file), &staged.join(file))?;
            if &sha != expected {
                return Err(SnapshotError::Checksum {
                    file: file.clone(),
                    expected: expected.clone(),
                    found: sha,
                });
            }
            if file != INDEX_FILE {
                report.objects += 1;
                report.bytes += size;
            }
        }
        let index = Connection::open(staged.join(INDEX_FILE))?;
        report.runs =
            index.query_row("SELECT COUNT(*) FROM runs", [], |r| r.get::<_, i64>(0))? as usize;
        Ok(())
    })();
    if let Err(error) = copied {
        let _ = fs::remove_dir_all(&staged);
        return Err(error);
    }
    fs::rename(&staged, data_dir).map_err(io("rename", &staged))?;
    Ok(report)
}

//! The local copy of what is sent: `<archive_path>/<request_id>/`, written before any upload,
//! so a failed upload leaves the files behind and can be resent.
//!
//! With `archive_path` empty (krkn's default), the folder is a private temporary one that is
//! removed after a successful upload and kept (and named in the error) after a failed one.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Where this run's files are kept.
#[derive(Debug)]
pub struct RunArchive {
    dir: PathBuf,
    /// Set for a private temporary folder, which goes away unless kept.
    temporary: Option<tempfile::TempDir>,
}

impl RunArchive {
    /// `<archive_path>/<request_id>/`, or a private temporary folder when `archive_path` is
    /// `None`.
    pub fn open(archive_path: Option<&Path>, request_id: &str) -> std::io::Result<Self> {
        match archive_path {
            Some(root) => {
                let dir = root.join(request_id);
                std::fs::create_dir_all(&dir).map_err(|e| annotate(e, &dir))?;
                Ok(RunArchive {
                    dir,
                    temporary: None,
                })
            }
            None => {
                let temp = tempfile::Builder::new()
                    .prefix(&format!("krkn-telemetry-{request_id}-"))
                    .tempdir()?;
                Ok(RunArchive {
                    dir: temp.path().to_owned(),
                    temporary: Some(temp),
                })
            }
        }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes one file of the run into the folder, atomically; returns its path.
    pub fn write(&self, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
        let path = self.dir.join(name);
        write_atomically(&path, bytes)?;
        Ok(path)
    }

    /// Keeps a temporary folder on disk (after a failure, so the files can be resent).
    pub fn keep(&mut self) {
        if let Some(temp) = self.temporary.take() {
            // `keep` only fails to persist on Windows-specific conditions; the folder stays.
            let _ = temp.keep();
        }
    }

    /// True when the folder is temporary and will be removed on drop.
    pub fn is_temporary(&self) -> bool {
        self.temporary.is_some()
    }
}

fn annotate(error: std::io::Error, path: &Path) -> std::io::Error {
    std::io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}

/// Writes `bytes` to `path` through a temporary file in the same folder, flushed and renamed,
/// so a reader sees the old file or the whole new one, never half of one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(|e| annotate(e, dir))?;
    temp.write_all(bytes).map_err(|e| annotate(e, path))?;
    temp.as_file().sync_all().map_err(|e| annotate(e, path))?;
    temp.persist(path).map_err(|e| annotate(e.error, path))?;
    if let Ok(folder) = std::fs::File::open(dir) {
        // Make the rename itself durable; not every file system lets a folder be synced.
        let _ = folder.sync_all();
    }
    Ok(())
}

//! Objects as files under `<data>/objects/`: looking them up, reading, streaming and listing
//! them.

use std::fs;
use std::path::PathBuf;
use std::time::SystemTime;

use super::paths::{io, key_path};
use super::{Core, document_log};
use crate::store::{ListEntry, ObjectInfo, StoreError};

impl Core {
    /// The file of an object key; refuses anything but plain relative segments.
    pub(super) fn object_path(&self, key: &str) -> Result<PathBuf, StoreError> {
        key_path(&self.objects, key)
    }

    /// The size of an object and its SHA-256 when recorded (uploads since this version;
    /// documents from the run index).
    pub(super) fn stat(&self, key: &str) -> Result<Option<ObjectInfo>, StoreError> {
        let path = self.object_path(key)?;
        let size = match fs::metadata(&path) {
            Ok(meta) if meta.is_file() => meta.len(),
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("stat", &path)(e)),
        };
        Ok(Some(ObjectInfo {
            size,
            sha256: self.recorded_checksum(key, size)?,
        }))
    }

    /// True when an object exists under `key`.
    pub(super) fn contains(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.object_path(key)?.is_file())
    }

    /// Opens an object for streaming: the file and its size.
    pub(super) fn open_object(&self, key: &str) -> Result<Option<(fs::File, u64)>, StoreError> {
        let path = self.object_path(key)?;
        match fs::File::open(&path) {
            Ok(file) => {
                let meta = file.metadata().map_err(io("stat", &path))?;
                if meta.is_dir() {
                    return Ok(None);
                }
                Ok(Some((file, meta.len())))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("open", &path)(e)),
        }
    }

    /// Reads an object; a document logged and about to be linked is read from the log.
    pub(super) fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.object_path(key)?;
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                document_log::logged(&self.db.reader(), key)
            }
            Err(e) => Err(io("read", &path)(e)),
        }
    }

    /// Lists one folder level under `prefix` (`""`, `group/` or `group/run/`), sorted by name,
    /// starting after `start_after` and returning at most `limit` entries.
    pub(super) fn list_folder(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ListEntry>, StoreError> {
        let dir = if prefix.is_empty() {
            self.objects.clone()
        } else {
            self.object_path(prefix.trim_end_matches('/'))?
        };
        let reader = match fs::read_dir(&dir) {
            Ok(reader) => reader,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io("list", &dir)(e)),
        };
        let mut entries = Vec::new();
        for entry in reader {
            let entry = entry.map_err(io("list", &dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                // A file being written (see `documents`); never a key.
                continue;
            }
            if start_after.is_some_and(|after| name.as_str() <= after) {
                continue;
            }
            let meta = entry.metadata().map_err(io("stat", &dir))?;
            entries.push(if meta.is_dir() {
                ListEntry::folder(name)
            } else {
                let modified = meta.modified().ok().map(file_time).unwrap_or_default();
                ListEntry::file(name, meta.len(), modified)
            });
        }
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        entries.truncate(limit);
        Ok(entries)
    }
}

/// A file's modification time as listings write it.
fn file_time(time: SystemTime) -> String {
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    crate::time::rfc3339(secs as i64)
}

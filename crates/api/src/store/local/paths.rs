//! Key → path: the only way an object key becomes a file name under `<data>/objects/`, and
//! the error of a file operation on a path.

use std::path::{Component, Path, PathBuf};

use crate::store::StoreError;

/// The file of `key` under `objects`, or `None` for anything but plain relative segments that
/// do not start with a dot (no `..`, no absolute paths, no hidden temporary names).
pub(super) fn plain_key_path(objects: &Path, key: &str) -> Option<PathBuf> {
    let plain = !key.is_empty()
        && Path::new(key)
            .components()
            .all(|c| matches!(c, Component::Normal(s) if !s.to_string_lossy().starts_with('.')));
    plain.then(|| objects.join(key))
}

/// The file of `key` under `objects`, or [`StoreError::BadKey`] (defence in depth: routes
/// check names first).
pub(super) fn key_path(objects: &Path, key: &str) -> Result<PathBuf, StoreError> {
    plain_key_path(objects, key).ok_or_else(|| StoreError::BadKey(key.to_owned()))
}

/// Turns an I/O error of `action` on `path` into a [`StoreError`].
pub(super) fn io<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        action,
        path: path.display().to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only plain segments become paths: no traversal, no absolute key, no hidden name.
    #[test]
    fn only_plain_keys_become_paths() {
        let objects = Path::new("/data/objects");
        assert_eq!(
            plain_key_path(objects, "perf/1-abc/telemetry.json"),
            Some(objects.join("perf/1-abc/telemetry.json"))
        );
        for bad in [
            "",
            "../x",
            "perf/../../etc",
            "/etc/passwd",
            "perf/.hidden",
            ".x",
        ] {
            assert_eq!(plain_key_path(objects, bad), None, "{bad:?}");
        }
    }
}

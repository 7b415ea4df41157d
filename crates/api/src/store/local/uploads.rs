//! Uploads through the embedded store's links: the body streamed to a temporary file (one
//! per key, locked while written) and hashed on the way, checked against what the link was
//! signed for, linked into place unless a file is there, its checksum recorded; and the
//! sweep of uploads a crash cut off.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::folders::{create_folders, link_new_durably};
use super::paths::io;
use super::{Core, LocalStore, private_files};
use crate::signing::LinkClaims;
use crate::store::served::{StoredUpload, UploadBody, UploadError};
use crate::store::{PutOutcome, StoreError};

/// How long an upload's temporary file may go unwritten before a start removes it: an upload
/// in progress (even from another server on the same directory) writes to it continuously.
pub(super) const STALE_UPLOAD: Duration = Duration::from_secs(24 * 3600);

impl LocalStore {
    /// [`ServedLinks::receive_upload`](crate::store::ServedLinks::receive_upload) on this
    /// store: decided without writing when the key is already stored, else streamed to the
    /// key's temporary file and linked.
    pub(super) async fn receive(
        &self,
        claims: &LinkClaims,
        body: UploadBody,
        limit: u64,
    ) -> Result<StoredUpload, UploadError> {
        let key = claims.key.clone();
        let existing = {
            let key = key.clone();
            self.blocking(move |core| core.stat(&key)).await?
        };
        if let Some(existing) = existing {
            // A retry whose answer was lost, a replayed link: decided without reading the
            // stored object when its checksum is known.
            if let (Some(want), Some(known)) = (&claims.sha256, &existing.sha256) {
                let same = want == known && claims.length.is_none_or(|l| l == existing.size);
                return if same {
                    Ok(StoredUpload {
                        size: existing.size,
                        sha256: known.clone(),
                    })
                } else {
                    Err(UploadError::Exists(key))
                };
            }
            let received = receive_body(body, None, limit).await?;
            check_claims(claims, &received)?;
            return self.same_as_stored(key, received).await;
        }

        let opened = {
            let key = key.clone();
            self.blocking(move |core| core.open_upload_temp(&key))
                .await?
        };
        let Some((temp, file)) = opened else {
            return Err(UploadError::Busy(key));
        };
        // Holds the temporary file's lock until it is linked or removed.
        let lock = file.try_clone().map_err(io("open", &temp))?;
        let written = receive_body(body, Some(tokio::fs::File::from_std(file)), limit)
            .await
            .and_then(|received| check_claims(claims, &received).map(|()| received));
        let received = match written {
            Ok(received) => received,
            Err(error) => {
                let _ = tokio::fs::remove_file(&temp).await;
                return Err(error);
            }
        };
        let linked = {
            let (key, received) = (key.clone(), received.clone());
            self.blocking(move |core| {
                let _lock = lock;
                let outcome = core.link_upload(&key, &temp)?;
                if outcome == PutOutcome::Created {
                    core.record_checksum(&key, received.size, &received.sha256)?;
                }
                Ok(outcome)
            })
            .await?
        };
        match linked {
            PutOutcome::Created => Ok(received),
            // Stored by another upload meanwhile: same bytes, same answer.
            PutOutcome::AlreadyExists => self.same_as_stored(key, received).await,
        }
    }

    /// `received` when the file stored under `key` holds the same bytes, else
    /// [`UploadError::Exists`].
    async fn same_as_stored(
        &self,
        key: String,
        received: StoredUpload,
    ) -> Result<StoredUpload, UploadError> {
        let known = {
            let key = key.clone();
            self.blocking(move |core| core.checksum_of(&key)).await?
        };
        match known {
            Some((size, sha256)) if size == received.size && sha256 == received.sha256 => {
                Ok(received)
            }
            _ => Err(UploadError::Exists(key)),
        }
    }
}

impl Core {
    /// The temporary file of an upload of `key`: one per key (named by the key's hash),
    /// locked while it is written, so that a link replayed by many clients at once writes
    /// one temporary file, not one each. `None` while another upload of the key holds it.
    /// The lock lasts while the returned file, or a clone of it, is open.
    pub(super) fn open_upload_temp(
        &self,
        key: &str,
    ) -> Result<Option<(PathBuf, fs::File)>, StoreError> {
        use std::os::unix::fs::MetadataExt;
        let name = format!("{}.part", hex::encode(Sha256::digest(key.as_bytes())));
        let path = self.data_dir.join("tmp").join(name);
        loop {
            let file = private_files::open_or_create(&path).map_err(io("create", &path))?;
            match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => {}
                Err(rustix::io::Errno::WOULDBLOCK) => return Ok(None),
                Err(e) => return Err(io("lock", &path)(e.into())),
            }
            // A finishing upload may have removed the name between our open and our lock:
            // then the locked file is not the one under the name any more.
            let ours = file.metadata().map_err(io("stat", &path))?;
            match fs::symlink_metadata(&path) {
                Ok(named) if named.ino() == ours.ino() && named.dev() == ours.dev() => {}
                _ => continue,
            }
            file.set_len(0).map_err(io("truncate", &path))?;
            return Ok(Some((path, file)));
        }
    }

    /// Moves a finished (synced) upload's temporary file to `key` unless an object is already
    /// there; the temporary file is removed either way. The new name is synced before this
    /// returns.
    pub(super) fn link_upload(&self, key: &str, temp: &Path) -> Result<PutOutcome, StoreError> {
        let result = (|| {
            let path = self.object_path(key)?;
            let parent = path.parent().unwrap_or(&self.objects);
            let changed = create_folders(&self.objects, parent)?;
            link_new_durably(temp, &path, &changed, &self.folder_syncs)
        })();
        let _ = fs::remove_file(temp);
        result
    }
}

/// Streams `body` into `file` (or only hashes it, without a file), refusing more than
/// `limit` bytes; returns size and SHA-256. The file is synced before this returns.
async fn receive_body(
    mut body: UploadBody,
    mut file: Option<tokio::fs::File>,
    limit: u64,
) -> Result<StoredUpload, UploadError> {
    let temp = Path::new("an upload's temporary file");
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(UploadError::Body)?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(UploadError::TooLarge(limit));
        }
        hasher.update(&chunk);
        if let Some(file) = file.as_mut() {
            file.write_all(&chunk).await.map_err(io("write", temp))?;
        }
    }
    if let Some(file) = file.as_mut() {
        file.sync_all().await.map_err(io("sync", temp))?;
    }
    Ok(StoredUpload {
        size,
        sha256: hex::encode(hasher.finalize()),
    })
}

/// A body that is not what the link was signed for.
fn check_claims(claims: &LinkClaims, received: &StoredUpload) -> Result<(), UploadError> {
    let StoredUpload { size, sha256 } = received;
    if let Some(signed) = claims.length.filter(|l| l != size) {
        return Err(UploadError::NotAsSigned(format!(
            "received {size} bytes, the link is for {signed}"
        )));
    }
    if let Some(signed) = claims.sha256.as_deref().filter(|s| s != sha256) {
        return Err(UploadError::NotAsSigned(format!(
            "the body's SHA-256 is {sha256}, the link is for {signed}"
        )));
    }
    Ok(())
}

/// Removes the files in `tmp` not modified for `stale` (uploads cut off by a crash or a
/// dropped connection; a finished upload is linked into place and its temporary file
/// removed). Returns how many went; what cannot be read or removed is left for next time.
pub(super) fn sweep_stale_uploads(tmp: &Path, stale: Duration) -> usize {
    let Ok(entries) = fs::read_dir(tmp) else {
        return 0;
    };
    let now = SystemTime::now();
    entries
        .flatten()
        .filter(|entry| {
            entry.metadata().is_ok_and(|meta| {
                meta.is_file()
                    && meta
                        .modified()
                        .ok()
                        .and_then(|modified| now.duration_since(modified).ok())
                        .is_some_and(|age| age >= stale)
            })
        })
        .filter(|entry| fs::remove_file(entry.path()).is_ok())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A start removes unfinished uploads that nobody has written to for a while, and
    /// leaves a fresh one alone.
    #[test]
    fn stale_unfinished_uploads_are_swept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let tmp = dir.path().join("tmp");
        fs::create_dir_all(&tmp).expect("tmp");
        fs::write(tmp.join("old.part"), b"cut off").expect("old");
        fs::write(tmp.join("fresh.part"), b"in progress").expect("fresh");
        std::thread::sleep(Duration::from_millis(1100));
        fs::write(tmp.join("fresh.part"), b"in progress, still").expect("fresh again");
        assert_eq!(sweep_stale_uploads(&tmp, Duration::from_secs(1)), 1);
        assert!(!tmp.join("old.part").exists());
        assert!(tmp.join("fresh.part").exists());
        assert_eq!(
            sweep_stale_uploads(&dir.path().join("missing"), Duration::ZERO),
            0
        );
    }

    /// A second upload of a key while the first holds its temporary file is turned away
    /// (409), and gets the file once the first is done.
    #[test]
    fn one_upload_of_a_key_at_a_time() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Core::open(dir.path()).expect("store");
        let key = "perf/1764000000-abc/prometheus-00.tar";
        let first = store.open_upload_temp(key).expect("open").expect("free");
        assert!(store.open_upload_temp(key).expect("open").is_none());
        drop(first);
        assert!(store.open_upload_temp(key).expect("open").is_some());
    }
}

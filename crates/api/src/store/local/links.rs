//! The embedded store's links: the signing key in `<data>/signing.key`, and the upload and
//! download links signed with it (the server checks them itself; see `crate::signing`).

use std::path::Path;
use std::time::Duration;

use argon2::password_hash::rand_core::{OsRng, RngCore};

use super::private_files;
use crate::signing::{LinkClaims, LinkKind, Signer};
use crate::store::{StoreError, UploadRequest};

/// Loads the signing key from `path`, creating a random one (mode 0600) on first use. A key
/// that others may read or write (any group or other permission), or a link in its place, is
/// refused: whoever reads it can sign upload links for any run.
pub(super) fn load_or_create_signer(path: &Path) -> Result<Signer, StoreError> {
    use std::os::unix::fs::PermissionsExt;
    let io = |action: &'static str| {
        move |source| StoreError::Io {
            action,
            path: path.display().to_string(),
            source,
        }
    };
    match private_files::open_no_follow(path) {
        Ok(mut file) => {
            let meta = file.metadata().map_err(io("stat"))?;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(StoreError::Insecure(format!(
                    "{} may be read or changed by other users (mode {mode:03o}); whoever \
                     reads it can sign upload links: run `chmod 600 {}` and start again",
                    path.display(),
                    path.display()
                )));
            }
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut file, &mut bytes).map_err(io("read"))?;
            let key: [u8; 32] = bytes.try_into().map_err(|_| {
                StoreError::BadKey(format!("{} must hold exactly 32 bytes", path.display()))
            })?;
            Ok(Signer::new(key))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            OsRng.fill_bytes(&mut key);
            let file = private_files::write_new(path, &key).map_err(io("create"))?;
            file.sync_all().map_err(io("sync"))?;
            Ok(Signer::new(key))
        }
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            Err(StoreError::Insecure(format!(
                "{} is a symbolic link; the signing key must be a plain file",
                path.display()
            )))
        }
        Err(e) => Err(io("read")(e)),
    }
}

/// The link a client `PUT`s `request.key` to: this server's `/upload/` route, signed.
pub(super) fn upload_link(signer: &Signer, request: &UploadRequest) -> String {
    let claims = LinkClaims {
        kind: LinkKind::Upload,
        key: request.key.clone(),
        expires: expiry(request.expires_in),
        length: request.length,
        sha256: request.sha256.clone(),
    };
    format!(
        "{}/upload/{}?{}",
        request.base_url,
        request.key,
        claims.query(signer)
    )
}

/// The link a client `GET`s `key` from: `base` then this server's `download/` route, signed.
pub(super) fn download_link(
    signer: &Signer,
    key: &str,
    expires_in: Duration,
    base: &str,
) -> String {
    let claims = LinkClaims {
        kind: LinkKind::Download,
        key: key.to_owned(),
        expires: expiry(expires_in),
        length: None,
        sha256: None,
    };
    format!("{base}download/{key}?{}", claims.query(signer))
}

/// Unix seconds `expires_in` from now.
fn expiry(expires_in: Duration) -> i64 {
    crate::time::unix_now().saturating_add(i64::try_from(expires_in.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key is created private, and refused once others may read it or when it is a link.
    #[test]
    fn a_key_others_may_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("signing.key");
        load_or_create_signer(&path).expect("created");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        load_or_create_signer(&path).expect("loads again");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let refused = load_or_create_signer(&path).err().expect("refused");
        assert!(refused.to_string().contains("chmod 600"), "{refused}");
        let link = dir.path().join("linked.key");
        std::os::unix::fs::symlink(&path, &link).expect("link");
        let refused = load_or_create_signer(&link).err().expect("refused");
        assert!(refused.to_string().contains("symbolic link"), "{refused}");
    }

    /// A link's query carries what was signed, and the signature checks out.
    #[test]
    fn an_upload_link_verifies_with_its_own_claims() {
        let signer = Signer::new([3; 32]);
        let link = upload_link(
            &signer,
            &UploadRequest {
                key: "g/r/prometheus-00.tar".to_owned(),
                expires_in: Duration::from_secs(60),
                length: Some(5),
                sha256: None,
                base_url: "http://127.0.0.1:1".to_owned(),
            },
        );
        let (path, query) = link.split_once('?').expect("query");
        assert_eq!(path, "http://127.0.0.1:1/upload/g/r/prometheus-00.tar");
        let field = |name: &str| {
            query
                .split('&')
                .find_map(|p| p.strip_prefix(&format!("{name}=")))
                .expect(name)
                .to_owned()
        };
        let claims = LinkClaims {
            kind: LinkKind::Upload,
            key: "g/r/prometheus-00.tar".to_owned(),
            expires: field("expires").parse().expect("expires"),
            length: Some(5),
            sha256: None,
        };
        assert_eq!(
            signer.verify(&claims, &field("sig"), crate::time::unix_now()),
            Ok(())
        );
    }
}

//! Upload and download links for the embedded store, signed with HMAC-SHA256 (the key
//! itself is the store's: `store/local/links.rs` keeps it in `<data>/signing.key`).
//!
//! A link names one object key, an expiry, and optionally the exact length and SHA-256 the
//! client announced; all of it is signed, so a link writes only its own key, only until it
//! expires, and only the announced bytes. The server verifies links itself (S3 does the same
//! for its own presigned URLs in the AWS store).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt::Write as _;
use subtle::ConstantTimeEq;

/// What a link allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// `PUT` the object once.
    Upload,
    /// `GET` the object.
    Download,
}

impl LinkKind {
    fn tag(self) -> &'static str {
        match self {
            LinkKind::Upload => "PUT",
            LinkKind::Download => "GET",
        }
    }
}

/// The signed facts of a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkClaims {
    /// Upload or download.
    pub kind: LinkKind,
    /// The object key.
    pub key: String,
    /// Unix seconds after which the link is refused.
    pub expires: i64,
    /// Exact body length the upload must have, when announced.
    pub length: Option<u64>,
    /// SHA-256 (hex) the upload must have, when announced.
    pub sha256: Option<String>,
}

impl LinkClaims {
    fn message(&self) -> String {
        let mut message = String::new();
        let _ = write!(
            message,
            "{}\n{}\n{}\n{}\n{}",
            self.kind.tag(),
            self.key,
            self.expires,
            self.length.map(|l| l.to_string()).unwrap_or_default(),
            self.sha256.as_deref().unwrap_or("")
        );
        message
    }

    /// The query string of a link with these claims: `expires=..&[len=..&][sha256=..&]sig=..`.
    pub fn query(&self, signer: &Signer) -> String {
        let mut query = format!("expires={}", self.expires);
        if let Some(length) = self.length {
            let _ = write!(query, "&len={length}");
        }
        if let Some(sha) = &self.sha256 {
            let _ = write!(query, "&sha256={sha}");
        }
        let _ = write!(query, "&sig={}", signer.sign(self));
        query
    }
}

/// Why a link was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The link has no valid signature for these facts.
    #[error("the link's signature does not match (was it changed, or made for another file?)")]
    BadSignature,
    /// The link expired.
    #[error("the link expired at {0} (unix seconds); ask for a new one")]
    Expired(i64),
}

/// Signs and checks links with the server's secret key.
pub struct Signer {
    key: [u8; 32],
}

impl Signer {
    /// A signer with the given key.
    pub fn new(key: [u8; 32]) -> Self {
        Signer { key }
    }

    /// The hex HMAC of the claims.
    pub fn sign(&self, claims: &LinkClaims) -> String {
        hex::encode(self.mac(claims))
    }

    fn mac(&self, claims: &LinkClaims) -> [u8; 32] {
        // HMAC accepts keys of any length; 32 bytes cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("any key length"));
        mac.update(claims.message().as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Checks a signature (constant time) and the expiry against `now`.
    pub fn verify(&self, claims: &LinkClaims, signature: &str, now: i64) -> Result<(), LinkError> {
        let given = hex::decode(signature).map_err(|_| LinkError::BadSignature)?;
        let expected = self.mac(claims);
        if given.len() != expected.len() || !bool::from(given.ct_eq(&expected)) {
            return Err(LinkError::BadSignature);
        }
        if now > claims.expires {
            return Err(LinkError::Expired(claims.expires));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> LinkClaims {
        LinkClaims {
            kind: LinkKind::Upload,
            key: "g/r/prometheus-00.tar".into(),
            expires: 100,
            length: Some(5),
            sha256: None,
        }
    }

    #[test]
    fn a_link_is_bound_to_its_key_length_kind_and_time() {
        let signer = Signer::new([7; 32]);
        let sig = signer.sign(&claims());
        assert_eq!(signer.verify(&claims(), &sig, 50), Ok(()));
        assert_eq!(
            signer.verify(&claims(), &sig, 101),
            Err(LinkError::Expired(100))
        );
        let other_key = LinkClaims {
            key: "g/r/prometheus-01.tar".into(),
            ..claims()
        };
        assert_eq!(
            signer.verify(&other_key, &sig, 50),
            Err(LinkError::BadSignature)
        );
        let other_len = LinkClaims {
            length: Some(6),
            ..claims()
        };
        assert_eq!(
            signer.verify(&other_len, &sig, 50),
            Err(LinkError::BadSignature)
        );
        let download = LinkClaims {
            kind: LinkKind::Download,
            ..claims()
        };
        assert_eq!(
            signer.verify(&download, &sig, 50),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            Signer::new([8; 32]).verify(&claims(), &sig, 50),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            signer.verify(&claims(), "zz", 50),
            Err(LinkError::BadSignature)
        );
    }
}

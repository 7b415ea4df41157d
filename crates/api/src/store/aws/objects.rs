//! Documents and files in S3: conditional writes (`If-None-Match: *`), reads, checksums,
//! folder listings and presigned links.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use base64::Engine;

use super::{AwsStore, explain, remote};
use crate::store::{ListEntry, ObjectInfo, ObjectStore, PutOutcome, StoreError, UploadRequest};

impl AwsStore {
    /// The body of the object under `key`, not read yet; `None` when there is none.
    async fn open(&self, key: &str) -> Result<Option<ByteStream>, StoreError> {
        match self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(output) => Ok(Some(output.body)),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(remote("S3 GetObject", explain(e))),
        }
    }

    /// Presigned links valid for `expires_in`, or as long as the signing credentials allow.
    fn presigning(&self, expires_in: Duration) -> Result<PresigningConfig, StoreError> {
        let lifetime = self.link_cap.map_or(expires_in, |cap| expires_in.min(cap));
        PresigningConfig::expires_in(lifetime).map_err(|e| remote("S3 presigning", e))
    }
}

#[async_trait]
impl ObjectStore for AwsStore {
    async fn put_if_absent(&self, key: &str, bytes: Vec<u8>) -> Result<PutOutcome, StoreError> {
        let result = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .if_none_match("*")
            .body(ByteStream::from(bytes))
            .send()
            .await;
        match result {
            Ok(_) => Ok(PutOutcome::Created),
            Err(e)
                if e.raw_response()
                    .is_some_and(|r| matches!(r.status().as_u16(), 409 | 412)) =>
            {
                Ok(PutOutcome::AlreadyExists)
            }
            Err(e) => Err(remote("S3 PutObject", explain(e))),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(body) = self.open(key).await? else {
            return Ok(None);
        };
        let bytes = body
            .collect()
            .await
            .map_err(|e| remote("S3 GetObject", e))?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        match self
            .s3
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
            Err(e) => Err(remote("S3 HeadObject", explain(e))),
        }
    }

    async fn stat(&self, key: &str) -> Result<Option<ObjectInfo>, StoreError> {
        match self
            .s3
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
            .send()
            .await
        {
            Ok(head) => {
                use base64::Engine;
                let sha256 = head
                    .checksum_sha256()
                    // A whole-object checksum is plain base64; a multipart one ends in `-N`.
                    .filter(|c| !c.contains('-'))
                    .and_then(|c| base64::engine::general_purpose::STANDARD.decode(c).ok())
                    .filter(|d| d.len() == 32)
                    .map(hex::encode);
                Ok(Some(ObjectInfo {
                    size: head.content_length().unwrap_or(0).max(0) as u64,
                    sha256,
                }))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(remote("S3 HeadObject", explain(e))),
        }
    }

    async fn hash(&self, key: &str) -> Result<Option<String>, StoreError> {
        use sha2::Digest;
        let Some(mut body) = self.open(key).await? else {
            return Ok(None);
        };
        let mut hasher = sha2::Sha256::new();
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| remote("S3 GetObject", explain(e)))?
        {
            hasher.update(&chunk);
        }
        Ok(Some(hex::encode(hasher.finalize())))
    }

    async fn list(
        &self,
        prefix: &str,
        start_after: Option<String>,
        limit: usize,
    ) -> Result<Vec<ListEntry>, StoreError> {
        let mut entries = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut request = self
                .s3
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .delimiter("/");
            if let Some(after) = &start_after {
                request = request.start_after(format!("{prefix}{after}"));
            }
            if let Some(token) = &token {
                request = request.continuation_token(token);
            }
            let page = request
                .send()
                .await
                .map_err(|e| remote("S3 ListObjectsV2", explain(e)))?;
            for folder in page.common_prefixes() {
                if let Some(name) = folder
                    .prefix()
                    .and_then(|p| p.strip_prefix(prefix))
                    .map(|p| p.trim_end_matches('/'))
                {
                    entries.push(ListEntry::folder(name.to_owned()));
                }
            }
            for object in page.contents() {
                if let Some(name) = object.key().and_then(|k| k.strip_prefix(prefix)) {
                    entries.push(ListEntry::file(
                        name.to_owned(),
                        object.size().unwrap_or(0).max(0) as u64,
                        object
                            .last_modified()
                            .map(|t| crate::time::rfc3339(t.secs()))
                            .unwrap_or_default(),
                    ));
                }
            }
            token = page.next_continuation_token().map(str::to_owned);
            if token.is_none() || entries.len() >= limit {
                break;
            }
        }
        if let Some(after) = &start_after {
            entries.retain(|e| e.path.as_str() > after.as_str());
        }
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        entries.truncate(limit);
        Ok(entries)
    }

    async fn remove_folder(&self, prefix: &str) -> Result<usize, StoreError> {
        self.delete_objects_under(prefix).await
    }

    async fn upload_link(&self, request: &UploadRequest) -> Result<String, StoreError> {
        let mut put = self.s3.put_object().bucket(&self.bucket).key(&request.key);
        // Old clients (krkn-lib) send none of these headers, so their links bind only the
        // host. A client that announces length and checksum also gets If-None-Match signed,
        // and must send all three.
        if let Some(length) = request.length {
            put = put.content_length(length as i64);
        }
        if let Some(hex_digest) = &request.sha256 {
            let digest = hex::decode(hex_digest).map_err(|e| remote("S3 presigning", e))?;
            put = put.checksum_sha256(base64::engine::general_purpose::STANDARD.encode(digest));
        }
        if request.length.is_some() || request.sha256.is_some() {
            put = put.if_none_match("*");
        }
        let presigned = put
            .presigned(self.presigning(request.expires_in)?)
            .await
            .map_err(|e| remote("S3 presigning", explain(e)))?;
        Ok(presigned.uri().to_owned())
    }

    async fn download_link(
        &self,
        key: &str,
        expires_in: Duration,
        _base: &str,
    ) -> Result<String, StoreError> {
        let presigned = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(self.presigning(expires_in)?)
            .await
            .map_err(|e| remote("S3 presigning", explain(e)))?;
        Ok(presigned.uri().to_owned())
    }
}

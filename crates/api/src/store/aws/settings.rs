//! Where the AWS store lives, read once from the environment.

/// Where the AWS store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    /// S3 bucket (`BUCKET_NAME`).
    pub bucket: String,
    /// DynamoDB table (`TABLE_NAME`).
    pub table: String,
    /// S3- and DynamoDB-compatible endpoint (`AWS_ENDPOINT_URL`); path-style S3 addressing.
    pub endpoint: Option<String>,
    /// An endpoint for S3 alone (`AWS_ENDPOINT_URL_S3`, the SDK's own name), overriding
    /// `endpoint` for S3.
    pub s3_endpoint: Option<String>,
    /// Fixed access keys instead of the default credential chain (tests that act as one IAM
    /// principal beside another in the same process); `None` everywhere else.
    pub keys: Option<AccessKeys>,
}

/// An access key pair. The secret never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKeys {
    /// The access key id.
    pub id: String,
    /// The secret access key.
    pub secret: String,
}

impl std::fmt::Debug for AccessKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AccessKeys {{ id: {:?}, secret: *** }}", self.id)
    }
}

impl AwsSettings {
    /// Reads `BUCKET_NAME`, `TABLE_NAME` and `AWS_ENDPOINT_URL`.
    pub fn from_env() -> Result<Self, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let mut missing = Vec::new();
        let bucket = var("BUCKET_NAME").unwrap_or_else(|| {
            missing.push("BUCKET_NAME");
            String::new()
        });
        let table = var("TABLE_NAME").unwrap_or_else(|| {
            missing.push("TABLE_NAME");
            String::new()
        });
        if !missing.is_empty() {
            return Err(format!(
                "the aws store needs {} in the environment",
                missing.join(" and ")
            ));
        }
        Ok(AwsSettings {
            bucket,
            table,
            endpoint: var("AWS_ENDPOINT_URL"),
            s3_endpoint: var("AWS_ENDPOINT_URL_S3"),
            keys: None,
        })
    }
}

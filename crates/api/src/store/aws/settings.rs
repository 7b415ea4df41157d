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
    /// How long after filing a run's index items expire (`KRKN_TELEMETRY_EXPIRE_AFTER_DAYS`,
    /// which the template sets from `ObjectExpirationDays`, the bucket's expiry rule): the
    /// items carry `expires_at` for DynamoDB TTL and queries skip them from then on, so no
    /// index item outlives its document. `None` keeps them.
    pub index_expiry: Option<std::time::Duration>,
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

/// How long a link signed with temporary credentials of unknown remaining lifetime may be
/// asked to last. A presigned link dies with the credentials that signed it, whatever expiry
/// it names, and the Lambda's role credentials carry no expiry the function can read (AWS:
/// "services that assume a role, such as the Lambda execution role, don't necessarily comply
/// with the role's session duration"); an hour is what the template allows.
pub const TEMPORARY_CREDENTIALS_LINK_CAP: std::time::Duration =
    std::time::Duration::from_secs(3600);

impl AwsSettings {
    /// The longest lifetime links may have: none beyond the configured one with long-term
    /// keys (fixed keys here, or `AWS_ACCESS_KEY_ID` without `AWS_SESSION_TOKEN`, which S3
    /// honours up to 7 days); [`TEMPORARY_CREDENTIALS_LINK_CAP`] with anything else (a role on
    /// Lambda, ECS or EC2, a session token, SSO).
    pub fn link_lifetime_cap(
        &self,
        env_key: bool,
        env_session_token: bool,
    ) -> Option<std::time::Duration> {
        let long_term = self.keys.is_some() || (env_key && !env_session_token);
        (!long_term).then_some(TEMPORARY_CREDENTIALS_LINK_CAP)
    }

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
        let index_expiry = match var("KRKN_TELEMETRY_EXPIRE_AFTER_DAYS") {
            None => None,
            Some(text) => match text.trim().parse::<u64>() {
                Ok(0) => None,
                Ok(days) if days <= 36_500 => Some(std::time::Duration::from_secs(days * 86_400)),
                _ => {
                    return Err(format!(
                        "KRKN_TELEMETRY_EXPIRE_AFTER_DAYS must be a number of days from 0 (never) \
                         to 36500, found {text:?}"
                    ));
                }
            },
        };
        Ok(AwsSettings {
            bucket,
            table,
            endpoint: var("AWS_ENDPOINT_URL"),
            s3_endpoint: var("AWS_ENDPOINT_URL_S3"),
            keys: None,
            index_expiry,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(keys: bool) -> AwsSettings {
        AwsSettings {
            bucket: "b".into(),
            table: "t".into(),
            endpoint: None,
            s3_endpoint: None,
            keys: keys.then(|| AccessKeys {
                id: "id".into(),
                secret: "secret".into(),
            }),
            index_expiry: None,
        }
    }

    #[test]
    fn only_long_term_keys_sign_links_past_an_hour() {
        let cap = Some(TEMPORARY_CREDENTIALS_LINK_CAP);
        // The Lambda: the role's keys and a session token in the environment.
        assert_eq!(settings(false).link_lifetime_cap(true, true), cap);
        // ECS, EC2, SSO: nothing in the environment, the chain finds temporary credentials.
        assert_eq!(settings(false).link_lifetime_cap(false, false), cap);
        // An IAM user's keys.
        assert_eq!(settings(false).link_lifetime_cap(true, false), None);
        assert_eq!(settings(true).link_lifetime_cap(false, false), None);
    }
}

//! Service settings, parsed once at the edge (flags and environment); the core never reads
//! environment variables.

/// Settings shared by every route.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest accepted request body in bytes (`KRKN_TELEMETRY_MAX_BODY_BYTES`, default 10 MiB).
    pub max_body_bytes: usize,
    /// Largest file accepted through an upload link (`KRKN_TELEMETRY_MAX_UPLOAD_BYTES`,
    /// default 5 GiB, S3's limit for one PUT).
    pub max_upload_bytes: u64,
    /// How long upload and download links stay valid, in seconds (`S3_LINK_EXPIRATION`,
    /// upstream's name; default 3600).
    pub link_expiration_secs: u64,
    /// Base URL put in front of links (`KRKN_TELEMETRY_PUBLIC_URL`); when unset, links are
    /// built from the request's `Host` and `X-Forwarded-Proto`.
    pub public_url: Option<String>,
    /// Bytes after which a scenario export ends at the next run boundary and hands out a
    /// cursor (`KRKN_TELEMETRY_EXPORT_MAX_BYTES`; unset or 0: no limit; the Lambda defaults
    /// to 5 MiB because API Gateway refuses responses over 6 MB).
    pub export_max_bytes: Option<u64>,
    /// A folder whose `index.html`, `console.js` and `console.css` replace the embedded
    /// console's (`KRKN_TELEMETRY_CONSOLE_DIR`; for working on the console without rebuilding).
    pub console_dir: Option<String>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            max_body_bytes: 10 * 1024 * 1024,
            max_upload_bytes: 5 * 1024 * 1024 * 1024,
            link_expiration_secs: 3600,
            public_url: None,
            export_max_bytes: None,
            console_dir: None,
        }
    }
}

impl ApiConfig {
    /// Reads the settings from the environment, falling back to the defaults.
    pub fn from_env() -> anyhow::Result<Self> {
        let mut config = ApiConfig::default();
        if let Ok(value) = std::env::var("KRKN_TELEMETRY_MAX_BODY_BYTES") {
            config.max_body_bytes = value.trim().parse().map_err(|_| {
                anyhow::anyhow!(
                    "KRKN_TELEMETRY_MAX_BODY_BYTES must be a number of bytes, found {value:?}"
                )
            })?;
        }
        if let Ok(value) = std::env::var("KRKN_TELEMETRY_MAX_UPLOAD_BYTES") {
            config.max_upload_bytes = value.trim().parse().map_err(|_| {
                anyhow::anyhow!(
                    "KRKN_TELEMETRY_MAX_UPLOAD_BYTES must be a number of bytes, found {value:?}"
                )
            })?;
        }
        if let Ok(value) = std::env::var("S3_LINK_EXPIRATION") {
            config.link_expiration_secs = value
                .trim()
                .parse()
                .ok()
                .filter(|secs| (1..=604_800).contains(secs))
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "S3_LINK_EXPIRATION must be seconds from 1 to 604800, found {value:?}"
                    )
                })?;
        }
        if let Ok(value) = std::env::var("KRKN_TELEMETRY_EXPORT_MAX_BYTES") {
            let bytes: u64 = value.trim().parse().map_err(|_| {
                anyhow::anyhow!(
                    "KRKN_TELEMETRY_EXPORT_MAX_BYTES must be a number of bytes, found {value:?}"
                )
            })?;
            config.export_max_bytes = (bytes > 0).then_some(bytes);
        }
        if let Ok(value) = std::env::var("KRKN_TELEMETRY_CONSOLE_DIR") {
            config.console_dir = Some(value).filter(|v| !v.trim().is_empty());
        }
        if let Ok(value) = std::env::var("KRKN_TELEMETRY_PUBLIC_URL") {
            let trimmed = value.trim().trim_end_matches('/');
            if !(trimmed.starts_with("http://") || trimmed.starts_with("https://")) {
                anyhow::bail!(
                    "KRKN_TELEMETRY_PUBLIC_URL must start with http:// or https://, found {value:?}"
                );
            }
            config.public_url = Some(trimmed.to_owned());
        }
        Ok(config)
    }
}

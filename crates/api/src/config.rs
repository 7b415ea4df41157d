//! Service settings, parsed once at the edge (flags and environment); the core never reads
//! environment variables.

/// Settings shared by every route.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest accepted request body in bytes (`KRKN_TELEMETRY_MAX_BODY_BYTES`, default 10 MiB).
    pub max_body_bytes: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            max_body_bytes: 10 * 1024 * 1024,
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
        Ok(config)
    }
}

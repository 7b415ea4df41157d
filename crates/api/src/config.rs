//! Service settings, parsed once at the edge (flags and environment); the core never reads
//! environment variables.

use std::ops::RangeInclusive;
use std::time::Duration;

/// The environment variable holding the password that creates or resets `admin`.
pub const ADMIN_PASSWORD_VAR: &str = "KRKN_TELEMETRY_ADMIN_PASSWORD";

/// Settings shared by every route.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest accepted request body in bytes (`KRKN_TELEMETRY_MAX_BODY_BYTES`, default 10 MiB).
    pub max_body_bytes: usize,
    /// Largest document as filed, after `parameters_base64` is decoded and the JSON indented
    /// (`KRKN_TELEMETRY_MAX_DOCUMENT_BYTES`, default 32 MiB).
    pub max_document_bytes: usize,
    /// Largest file accepted through an upload link, announced or not
    /// (`KRKN_TELEMETRY_MAX_UPLOAD_BYTES`, default 5 GiB, S3's limit for one PUT).
    pub max_upload_bytes: u64,
    /// How long upload and download links stay valid, in seconds (`S3_LINK_EXPIRATION`,
    /// upstream's name; default 3600).
    pub link_expiration_secs: u64,
    /// Base URL put in front of links (`KRKN_TELEMETRY_PUBLIC_URL`). When unset, links are
    /// built from the request's `Host`, but only for a host in [`ApiConfig::allowed_hosts`]
    /// or a loopback host, so that a forged `Host` cannot point links elsewhere.
    pub public_url: Option<String>,
    /// Host names (with or without a port) whose `Host` header links may be built from
    /// (`KRKN_TELEMETRY_ALLOWED_HOSTS`, comma-separated).
    pub allowed_hosts: Vec<String>,
    /// Build links from any `Host` (the Lambda: API Gateway sets `Host` itself).
    pub trust_host_header: bool,
    /// Bytes after which a scenario export ends at the next run boundary and hands out a
    /// cursor (`KRKN_TELEMETRY_EXPORT_MAX_BYTES`; unset or 0: no limit; the Lambda defaults
    /// to 4 MiB because Lambda refuses response payloads over 6 MB and carries the NDJSON
    /// export base64-encoded).
    pub export_max_bytes: Option<u64>,
    /// A folder whose `index.html`, `console.js` and `console.css` replace the embedded
    /// console's (`KRKN_TELEMETRY_CONSOLE_DIR`; for working on the console without rebuilding).
    pub console_dir: Option<String>,
    /// Longest time to answer a request, uploads excepted, which are bounded by the body's
    /// idle timeout instead (`KRKN_TELEMETRY_REQUEST_TIMEOUT_SECS`, default 60; 408 after).
    pub request_timeout: Duration,
    /// Requests served at once; more get a 503 with `Retry-After`
    /// (`KRKN_TELEMETRY_MAX_IN_FLIGHT`, default 256).
    pub max_in_flight: usize,
    /// How password checks are bounded.
    pub login: LoginLimits,
}

/// Bounds on password checks (argon2 costs ~19 MiB and tens of milliseconds by design).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginLimits {
    /// Password hashes computed at once (`KRKN_TELEMETRY_LOGIN_CONCURRENCY`, default the
    /// number of cores).
    pub concurrent_checks: usize,
    /// Checks that may wait for a free slot; more get a 429 at once
    /// (`KRKN_TELEMETRY_LOGIN_QUEUE`, default 64).
    pub queued_checks: usize,
    /// How long a check waits for a slot before a 429 (1 s).
    pub queue_wait: Duration,
    /// Wrong passwords a client address or a user name may send before each further attempt
    /// must wait, 1 s after the next failure and doubling up to 5 min
    /// (`KRKN_TELEMETRY_LOGIN_FREE_FAILURES`, default 10).
    pub free_failures: u32,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            concurrent_checks: std::thread::available_parallelism().map_or(2, |n| n.get()),
            queued_checks: 64,
            queue_wait: Duration::from_secs(1),
            free_failures: 10,
        }
    }
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            max_body_bytes: 10 * 1024 * 1024,
            max_document_bytes: 32 * 1024 * 1024,
            max_upload_bytes: 5 * 1024 * 1024 * 1024,
            link_expiration_secs: 3600,
            public_url: None,
            allowed_hosts: Vec::new(),
            trust_host_header: false,
            export_max_bytes: None,
            console_dir: None,
            request_timeout: Duration::from_secs(60),
            max_in_flight: 256,
            login: LoginLimits::default(),
        }
    }
}

/// Reads a whole number from the environment variable `name`, when set, and checks it lies in
/// `range`; the error names the variable and what it holds.
pub fn env_number(name: &str, range: RangeInclusive<u64>) -> anyhow::Result<Option<u64>> {
    let Ok(value) = std::env::var(name) else {
        return Ok(None);
    };
    match value.trim().parse::<u64>() {
        Ok(n) if range.contains(&n) => Ok(Some(n)),
        _ => anyhow::bail!(
            "{name} must be a whole number from {} to {}, found {value:?}",
            range.start(),
            range.end()
        ),
    }
}

impl ApiConfig {
    /// The path of `KRKN_TELEMETRY_PUBLIC_URL` without its trailing slash (`/telemetry` for
    /// `https://example.com/telemetry/`), empty when the URL has none or is not set: where a
    /// reverse proxy or a custom domain's base path puts the service.
    pub fn public_path(&self) -> &str {
        let Some(url) = self.public_url.as_deref() else {
            return "";
        };
        let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
        after_scheme
            .find('/')
            .map_or("", |slash| after_scheme[slash..].trim_end_matches('/'))
    }

    /// The console file `name` from `console_dir`, when the service was started with
    /// `KRKN_TELEMETRY_CONSOLE_DIR` (editing the console without rebuilding; development
    /// only) and the file reads; `None` otherwise, and the embedded copy is served.
    pub fn console_override(&self, name: &str) -> Option<String> {
        let dir = self.console_dir.as_ref()?;
        std::fs::read_to_string(std::path::Path::new(dir).join(name)).ok()
    }

    /// Reads the settings from the environment, falling back to the defaults.
    pub fn from_env() -> anyhow::Result<Self> {
        let mut config = ApiConfig::default();
        if let Some(n) = env_number("KRKN_TELEMETRY_MAX_BODY_BYTES", 1..=u64::from(u32::MAX))? {
            config.max_body_bytes = n as usize;
        }
        if let Some(n) = env_number("KRKN_TELEMETRY_MAX_DOCUMENT_BYTES", 1..=u64::from(u32::MAX))? {
            config.max_document_bytes = n as usize;
        }
        if let Some(n) = env_number("KRKN_TELEMETRY_MAX_UPLOAD_BYTES", 0..=u64::MAX)? {
            config.max_upload_bytes = n;
        }
        if let Some(secs) = env_number("S3_LINK_EXPIRATION", 1..=604_800)? {
            config.link_expiration_secs = secs;
        }
        if let Some(bytes) = env_number("KRKN_TELEMETRY_EXPORT_MAX_BYTES", 0..=u64::MAX)? {
            config.export_max_bytes = (bytes > 0).then_some(bytes);
        }
        if let Some(secs) = env_number("KRKN_TELEMETRY_REQUEST_TIMEOUT_SECS", 1..=86_400)? {
            config.request_timeout = Duration::from_secs(secs);
        }
        if let Some(n) = env_number("KRKN_TELEMETRY_MAX_IN_FLIGHT", 1..=1_000_000)? {
            config.max_in_flight = n as usize;
        }
        if let Some(n) = env_number("KRKN_TELEMETRY_LOGIN_CONCURRENCY", 1..=1024)? {
            config.login.concurrent_checks = n as usize;
        }
        if let Some(n) = env_number("KRKN_TELEMETRY_LOGIN_QUEUE", 0..=100_000)? {
            config.login.queued_checks = n as usize;
        }
        if let Some(n) = env_number("KRKN_TELEMETRY_LOGIN_FREE_FAILURES", 0..=1_000_000)? {
            config.login.free_failures = n as u32;
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
        if let Ok(value) = std::env::var("KRKN_TELEMETRY_ALLOWED_HOSTS") {
            for host in value.split(',').map(str::trim).filter(|h| !h.is_empty()) {
                if host.contains(['/', '@', ' ']) {
                    anyhow::bail!(
                        "KRKN_TELEMETRY_ALLOWED_HOSTS holds host names such as \
                         telemetry.example.com or telemetry.example.com:8080, found {host:?}"
                    );
                }
                config.allowed_hosts.push(host.to_ascii_lowercase());
            }
        }
        Ok(config)
    }
}

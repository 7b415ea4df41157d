//! The `telemetry` section of krkn's `config.yaml` (and the two Prometheus keys the collector
//! needs from `performance_monitoring`), read from the whole krkn config file as is.
//!
//! Every key is checked and every problem is reported at once
//! (`telemetry.api_url: must be an http:// or https:// URL; telemetry.backup_threads: must be a
//! whole number ≥ 1`). Unknown keys in the `telemetry` section are warnings: they are most
//! likely typos, but a newer krkn may add keys we do not use.

use std::fmt;
use std::path::{Path as FsPath, PathBuf};

use serde::Serialize;
use serde_norway::{Mapping, Value as Yaml};

use crate::problem::Problems;

/// The log filter patterns krkn ships in its default config (three time formats).
pub const DEFAULT_LOG_FILTER_PATTERNS: [&str; 3] = [
    r"(\w{3}\s\d{1,2}\s\d{2}:\d{2}:\d{2}\.\d+).+",
    r"kinit (\d+/\d+/\d+\s\d{2}:\d{2}:\d{2})\s+",
    r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z).+",
];

/// A password or token: shown as `***` by `Debug`, `Display` and `Serialize`, so it cannot
/// reach a log line or a dry-run print by accident. Use [`Secret::expose`] to send it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when no secret was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "" } else { "***" })
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// krkn's `telemetry:` section, with krkn's defaults for absent keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TelemetryConfig {
    /// Whether telemetry is collected at all (krkn's code defaults it to true).
    pub enabled: bool,
    /// Base URL of the telemetry service; `None` builds the document locally without sending.
    pub api_url: Option<String>,
    /// Service user name.
    pub username: Option<String>,
    /// Service password.
    pub password: Secret,
    /// Whether to back up Prometheus data.
    pub prometheus_backup: bool,
    /// Prometheus namespace on plain Kubernetes.
    pub prometheus_namespace: String,
    /// Prometheus pod on plain Kubernetes.
    pub prometheus_pod_name: String,
    /// Prometheus container on plain Kubernetes.
    pub prometheus_container_name: String,
    /// Back up all of `/prometheus` instead of only `/prometheus/wal`.
    pub full_prometheus_backup: bool,
    /// Parallel uploads (at least 1).
    pub backup_threads: u32,
    /// Local folder for archives; `None` means a private temporary folder.
    pub archive_path: Option<PathBuf>,
    /// Upload retries; 0 retries forever.
    pub max_retries: u32,
    /// Appended to the run folder name when set.
    pub run_tag: String,
    /// Size of one archive part in KB (at least 1).
    pub archive_size: u64,
    /// Group folder for the run (`default` when empty).
    pub telemetry_group: String,
    /// Whether to collect filtered cluster logs.
    pub logs_backup: bool,
    /// Regexes with one capture group holding a time; lines in the run window are kept.
    pub logs_filter_patterns: Vec<String>,
    /// Path to `oc`; `None` searches `$PATH`.
    pub oc_cli_path: Option<String>,
    /// Whether to attach cluster events to scenarios.
    pub events_backup: bool,
    /// Export the run window from Prometheus's HTTP API (OpenMetrics) instead of copying its
    /// WAL (this project's key; krkn ignores it).
    pub prometheus_window: bool,
    /// Seconds added before and after the run window by the window export.
    pub prometheus_window_margin: u64,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            enabled: true,
            api_url: None,
            username: None,
            password: Secret::default(),
            prometheus_backup: false,
            prometheus_namespace: String::new(),
            prometheus_pod_name: String::new(),
            prometheus_container_name: String::new(),
            full_prometheus_backup: false,
            backup_threads: 5,
            archive_path: None,
            max_retries: 0,
            run_tag: String::new(),
            archive_size: 500_000,
            telemetry_group: crate::keys::DEFAULT_GROUP.to_owned(),
            logs_backup: false,
            logs_filter_patterns: DEFAULT_LOG_FILTER_PATTERNS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            oc_cli_path: None,
            events_backup: true,
            prometheus_window: false,
            prometheus_window_margin: 600,
        }
    }
}

/// Where the collector finds Prometheus (`performance_monitoring` in krkn's config).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct PrometheusConfig {
    /// Prometheus base URL; found automatically on OpenShift when empty.
    pub url: Option<String>,
    /// Bearer token for Prometheus.
    pub bearer_token: Secret,
}

/// The parts of a krkn config file this project uses.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct KrknConfig {
    /// The `telemetry` section.
    pub telemetry: TelemetryConfig,
    /// `performance_monitoring.prometheus_url` and `prometheus_bearer_token`.
    pub prometheus: PrometheusConfig,
    /// `kraken.kubeconfig_path`, when set.
    pub kubeconfig_path: Option<String>,
    /// Things that are not errors but deserve a look (unknown keys, likely typos).
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// Why a config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not YAML.
    #[error("{path}: not valid YAML: {source}")]
    Syntax {
        /// The file.
        path: String,
        /// The parser's error, with line and column.
        source: serde_norway::Error,
    },
    /// The YAML is fine but values are wrong; every problem is listed.
    #[error("{path}: {problems}")]
    Invalid {
        /// The file.
        path: String,
        /// Every problem found.
        problems: Problems,
    },
}

impl KrknConfig {
    /// Reads and checks a krkn config file.
    pub fn from_file(path: &FsPath) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_yaml(&text, &path.display().to_string())
    }

    /// Reads and checks krkn config text; `origin` names it in errors.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let root: Yaml = serde_norway::from_str(text).map_err(|source| ConfigError::Syntax {
            path: origin.to_owned(),
            source,
        })?;
        let mut reader = Reader::default();
        let config = reader.config(&root);
        if reader.problems.is_empty() {
            Ok(KrknConfig {
                warnings: reader.warnings,
                ..config
            })
        } else {
            Err(ConfigError::Invalid {
                path: origin.to_owned(),
                problems: reader.problems,
            })
        }
    }
}

const TELEMETRY_KEYS: &[&str] = &[
    "enabled",
    "api_url",
    "username",
    "password",
    "prometheus_backup",
    "prometheus_namespace",
    "prometheus_pod_name",
    "prometheus_container_name",
    "full_prometheus_backup",
    "backup_threads",
    "archive_path",
    "max_retries",
    "run_tag",
    "archive_size",
    "telemetry_group",
    "logs_backup",
    "logs_filter_patterns",
    "oc_cli_path",
    "events_backup",
    "prometheus_window",
    "prometheus_window_margin",
];

#[derive(Default)]
struct Reader {
    problems: Problems,
    warnings: Vec<String>,
}

impl Reader {
    fn config(&mut self, root: &Yaml) -> KrknConfig {
        let mut config = KrknConfig::default();
        let Some(root) = self.section(Some(root), "") else {
            return config;
        };
        if let Some(telemetry) = self.section(root.get("telemetry"), "telemetry") {
            self.telemetry(telemetry, &mut config.telemetry);
        }
        if let Some(perf) =
            self.section(root.get("performance_monitoring"), "performance_monitoring")
        {
            config.prometheus.url = self.string(perf, "performance_monitoring", "prometheus_url");
            if let Some(url) = &config.prometheus.url {
                self.url(url, "performance_monitoring.prometheus_url");
            }
            config.prometheus.bearer_token = Secret::new(
                self.string(perf, "performance_monitoring", "prometheus_bearer_token")
                    .unwrap_or_default(),
            );
        }
        if let Some(kraken) = self.section(root.get("kraken"), "kraken") {
            config.kubeconfig_path = self.string(kraken, "kraken", "kubeconfig_path");
        }
        config
    }

    fn telemetry(&mut self, section: &Mapping, out: &mut TelemetryConfig) {
        const S: &str = "telemetry";
        for key in section.keys() {
            let name = key.as_str().unwrap_or("<not a string>");
            if !TELEMETRY_KEYS.contains(&name) {
                self.warnings
                    .push(format!("telemetry.{name}: unknown key, ignored"));
            }
        }
        if let Some(v) = self.boolean(section, S, "enabled") {
            out.enabled = v;
        }
        out.api_url = self
            .string(section, S, "api_url")
            .map(|u| u.trim_end_matches('/').to_owned());
        if let Some(url) = &out.api_url {
            self.url(url, "telemetry.api_url");
        }
        out.username = self.string(section, S, "username");
        out.password = Secret::new(self.string(section, S, "password").unwrap_or_default());
        if let Some(v) = self.boolean(section, S, "prometheus_backup") {
            out.prometheus_backup = v;
        }
        out.prometheus_namespace = self
            .string(section, S, "prometheus_namespace")
            .unwrap_or_default();
        out.prometheus_pod_name = self
            .string(section, S, "prometheus_pod_name")
            .unwrap_or_default();
        out.prometheus_container_name = self
            .string(section, S, "prometheus_container_name")
            .unwrap_or_default();
        if let Some(v) = self.boolean(section, S, "full_prometheus_backup") {
            out.full_prometheus_backup = v;
        }
        if let Some(v) = self.integer(section, S, "backup_threads", 1, 1024) {
            out.backup_threads = v as u32;
        }
        out.archive_path = self.string(section, S, "archive_path").map(PathBuf::from);
        if let Some(v) = self.integer(section, S, "max_retries", 0, u32::MAX as u64) {
            out.max_retries = v as u32;
        }
        out.run_tag = self.string(section, S, "run_tag").unwrap_or_default();
        if !out.run_tag.is_empty()
            && let Err(e) = crate::keys::validate_segment(&out.run_tag, "run tag")
        {
            self.problems.push("telemetry.run_tag", e.reason);
        }
        if let Some(v) = self.integer(section, S, "archive_size", 1, u64::MAX / 1024) {
            out.archive_size = v;
        }
        if let Some(group) = self.string(section, S, "telemetry_group") {
            if let Err(e) = crate::keys::validate_segment(&group, "group") {
                self.problems.push("telemetry.telemetry_group", e.reason);
            }
            out.telemetry_group = group;
        }
        if let Some(v) = self.boolean(section, S, "logs_backup") {
            out.logs_backup = v;
        }
        if let Some(patterns) = self.patterns(section) {
            out.logs_filter_patterns = patterns;
        }
        out.oc_cli_path = self.string(section, S, "oc_cli_path");
        if let Some(v) = self.boolean(section, S, "events_backup") {
            out.events_backup = v;
        }
        if let Some(v) = self.boolean(section, S, "prometheus_window") {
            out.prometheus_window = v;
        }
        if let Some(v) = self.integer(section, S, "prometheus_window_margin", 0, 7 * 24 * 3600) {
            out.prometheus_window_margin = v;
        }
    }

    fn section<'y>(&mut self, value: Option<&'y Yaml>, path: &str) -> Option<&'y Mapping> {
        match value {
            None | Some(Yaml::Null) => None,
            Some(Yaml::Mapping(map)) => Some(map),
            Some(_) => {
                let at = if path.is_empty() { "" } else { path };
                self.problems
                    .push(at, "must be a mapping of keys to values");
                None
            }
        }
    }

    /// A string value; absent, null and `""` are all "not set".
    fn string(&mut self, section: &Mapping, prefix: &str, key: &str) -> Option<String> {
        let value = match section.get(key)? {
            Yaml::Null => return None,
            Yaml::String(s) => s.clone(),
            // YAML turns unquoted `4.18` or `1234` into numbers; they are fine as text.
            Yaml::Number(n) => n.to_string(),
            Yaml::Bool(b) => b.to_string(),
            _ => {
                self.problems
                    .push(format!("{prefix}.{key}"), "must be a string");
                return None;
            }
        };
        (!value.is_empty()).then_some(value)
    }

    fn boolean(&mut self, section: &Mapping, prefix: &str, key: &str) -> Option<bool> {
        match section.get(key)? {
            Yaml::Null => None,
            Yaml::Bool(b) => Some(*b),
            // PyYAML (YAML 1.1) reads these as booleans, so krkn configs use them.
            Yaml::String(s) => match s.to_ascii_lowercase().as_str() {
                "yes" | "on" | "true" => Some(true),
                "no" | "off" | "false" => Some(false),
                _ => {
                    self.problems
                        .push(format!("{prefix}.{key}"), "must be true or false");
                    None
                }
            },
            _ => {
                self.problems
                    .push(format!("{prefix}.{key}"), "must be true or false");
                None
            }
        }
    }

    fn integer(
        &mut self,
        section: &Mapping,
        prefix: &str,
        key: &str,
        min: u64,
        max: u64,
    ) -> Option<u64> {
        let path = format!("{prefix}.{key}");
        match section.get(key)? {
            Yaml::Null => None,
            Yaml::Number(n) => match n.as_u64() {
                Some(v) if (min..=max).contains(&v) => Some(v),
                _ => {
                    self.problems.push(
                        path,
                        format!("must be a whole number from {min} to {max}, found {n}"),
                    );
                    None
                }
            },
            _ => {
                self.problems.push(path, "must be a number");
                None
            }
        }
    }

    fn url(&mut self, url: &str, path: &str) {
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
            self.problems.push(
                path,
                format!("must be an http:// or https:// URL, found {url:?}"),
            );
        }
    }

    fn patterns(&mut self, section: &Mapping) -> Option<Vec<String>> {
        const PATH: &str = "telemetry.logs_filter_patterns";
        match section.get("logs_filter_patterns")? {
            Yaml::Null => None,
            Yaml::Sequence(items) => {
                let mut patterns = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let at = format!("{PATH}[{i}]");
                    let Some(pattern) = item.as_str() else {
                        self.problems.push(at, "must be a string");
                        continue;
                    };
                    match regex::Regex::new(pattern) {
                        Err(e) => self.problems.push(at, format!("not a valid regex: {e}")),
                        Ok(re) if re.captures_len() != 2 => self.problems.push(
                            at,
                            format!(
                                "must have exactly one capture group holding the time, found {}",
                                re.captures_len() - 1
                            ),
                        ),
                        Ok(_) => patterns.push(pattern.to_owned()),
                    }
                }
                Some(patterns)
            }
            _ => {
                self.problems.push(PATH, "must be a list of regexes");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_section_gives_krkn_defaults() {
        let config = KrknConfig::from_yaml("kraken: {}\n", "t").expect("valid");
        assert_eq!(config.telemetry, TelemetryConfig::default());
        assert_eq!(config.telemetry.backup_threads, 5);
        assert_eq!(config.telemetry.logs_filter_patterns.len(), 3);
    }

    #[test]
    fn every_error_is_reported_at_once() {
        let text = "telemetry:\n  api_url: ftp://x\n  backup_threads: lots\n  archive_size: 0\n  enabled: maybe\n  logs_filter_patterns: ['(a', 'no group']\n";
        let Err(ConfigError::Invalid { problems, .. }) = KrknConfig::from_yaml(text, "c.yaml")
        else {
            panic!("expected invalid");
        };
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "telemetry.enabled",
                "telemetry.api_url",
                "telemetry.backup_threads",
                "telemetry.archive_size",
                "telemetry.logs_filter_patterns[0]",
                "telemetry.logs_filter_patterns[1]",
            ]
        );
    }

    #[test]
    fn secrets_are_masked_in_debug_output() {
        let config = KrknConfig::from_yaml(
            "telemetry:\n  password: hunter2\nperformance_monitoring:\n  prometheus_bearer_token: tok3n\n",
            "t",
        )
        .expect("valid");
        let shown = format!(
            "{config:?} {}",
            serde_json::to_string(&config).expect("json")
        );
        assert!(
            !shown.contains("hunter2") && !shown.contains("tok3n"),
            "{shown}"
        );
        assert_eq!(config.telemetry.password.expose(), "hunter2");
    }
}

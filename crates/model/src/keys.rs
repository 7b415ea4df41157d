//! Names that become storage keys: run keys (`<group>/<request_id>`) and artifact names.
//!
//! Upstream put the `request_id`, group and file names from the query string straight into S3
//! keys, so `../` or a `/` could write anywhere in the bucket. Here every name is a
//! [`segment`](validate_segment) before it can be part of a key.
//!
//! Segment grammar (groups, request ids and artifact names alike):
//!
//! ```text
//! segment = 1*255( ALPHA / DIGIT / "." / "_" / "-" )   ; at most 255 bytes
//!           and it does not start with "."              ; no ".", "..", hidden names
//!           and it does not contain ".."
//! ```
//!
//! A key is `<group>/<request_id>/<artifact>`, at most 767 bytes, well under S3's 1,024.
//! krkn's request ids (`<unix seconds>-<run_uuid>[-<run_tag>]`) pass as long as the run tag is
//! made of the same characters.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest segment in bytes.
pub const MAX_SEGMENT_BYTES: usize = 255;

/// The segment grammar as a regular expression (for OpenAPI and other documents; the length
/// limit is [`MAX_SEGMENT_BYTES`]). A test holds it to [`validate_segment`].
pub const SEGMENT_PATTERN: &str = r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$";

/// The group krkn uses when `telemetry_group` is empty.
pub const DEFAULT_GROUP: &str = "default";

/// Why a name cannot be used in a storage key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {shown}: {reason}")]
pub struct KeyError {
    /// Which name was refused (`request id`, `group`, `file name`).
    pub what: &'static str,
    /// The refused value, quoted and shortened for display.
    pub shown: String,
    /// What is wrong with it.
    pub reason: String,
}

fn shown(value: &str) -> String {
    let short: String = value.chars().take(80).collect();
    format!("{short:?}")
}

/// Checks one segment against the grammar above; `what` names it in the error.
pub fn validate_segment(value: &str, what: &'static str) -> Result<(), KeyError> {
    let fail = |reason: String| KeyError {
        what,
        shown: shown(value),
        reason,
    };
    if value.is_empty() {
        return Err(fail("must not be empty".to_owned()));
    }
    if value.len() > MAX_SEGMENT_BYTES {
        return Err(fail(format!(
            "is {} bytes long, the limit is {MAX_SEGMENT_BYTES}",
            value.len()
        )));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        let name = match bad {
            '/' => "\"/\"".to_owned(),
            '\0' => "a NUL byte".to_owned(),
            '\u{fffd}' => "a byte that is not UTF-8".to_owned(),
            c if c.is_control() => format!("the control character {:?}", c),
            c => format!("{c:?}"),
        };
        return Err(fail(format!(
            "{name} is not allowed (use letters, digits, '.', '_' and '-')"
        )));
    }
    if value.starts_with('.') {
        return Err(fail("must not start with '.'".to_owned()));
    }
    if value.contains("..") {
        return Err(fail("must not contain \"..\"".to_owned()));
    }
    Ok(())
}

/// Identifies one run in the store: `<group>/<request_id>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RunKey {
    group: String,
    request_id: String,
}

impl RunKey {
    /// Builds a run key; an empty group means [`DEFAULT_GROUP`], as in krkn.
    pub fn new(group: &str, request_id: &str) -> Result<Self, KeyError> {
        let group = if group.is_empty() {
            DEFAULT_GROUP
        } else {
            group
        };
        validate_segment(group, "group")?;
        validate_segment(request_id, "request id")?;
        Ok(RunKey {
            group: group.to_owned(),
            request_id: request_id.to_owned(),
        })
    }

    /// Parses `<group>/<request_id>`, the form `/presigned-url` receives in `request_id`.
    pub fn parse(path: &str) -> Result<Self, KeyError> {
        match path.split_once('/') {
            Some((group, request_id)) if !group.is_empty() => {
                if request_id.contains('/') {
                    return Err(KeyError {
                        what: "run path",
                        shown: shown(path),
                        reason: "must be <group>/<request_id> with exactly one \"/\"".to_owned(),
                    });
                }
                RunKey::new(group, request_id)
            }
            _ => Err(KeyError {
                what: "run path",
                shown: shown(path),
                reason: "must be <group>/<request_id>".to_owned(),
            }),
        }
    }

    /// The group (folder of runs).
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The request id (folder of one run's files).
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The key prefix of the run's files, `<group>/<request_id>/`.
    pub fn prefix(&self) -> String {
        format!("{}/{}/", self.group, self.request_id)
    }

    /// The storage key of one of the run's files.
    pub fn object_key(&self, artifact: &ArtifactName) -> String {
        format!("{}/{}/{}", self.group, self.request_id, artifact.as_str())
    }

    /// The storage key of the run document.
    pub fn telemetry_key(&self) -> String {
        format!("{}/{}/{}", self.group, self.request_id, TELEMETRY_FILE)
    }

    /// The run and the file a storage key of a run's file names (`<group>/<request_id>/<file>`),
    /// or `None` for any other key.
    pub fn of_object_key(key: &str) -> Option<(RunKey, ArtifactName)> {
        let mut parts = key.splitn(3, '/');
        let (group, request_id, file) = (parts.next()?, parts.next()?, parts.next()?);
        if group.is_empty() {
            return None;
        }
        Some((
            RunKey::new(group, request_id).ok()?,
            ArtifactName::new(file).ok()?,
        ))
    }
}

/// The key prefix of a group's runs, `<group>/`.
pub fn group_prefix(group: &str) -> Result<String, KeyError> {
    validate_segment(group, "group")?;
    Ok(format!("{group}/"))
}

/// The key of a file in upstream's download forms: `<file>`, `<group>/<file>` or
/// `<group>/<request_id>/<file>`, every segment checked.
pub fn download_key(path: &str) -> Result<String, KeyError> {
    let segments: Vec<&str> = path.split('/').collect();
    if segments.len() > 3 {
        return Err(KeyError {
            what: "file path",
            shown: shown(path),
            reason: "must be <file>, <group>/<file> or <group>/<request_id>/<file>".to_owned(),
        });
    }
    for segment in &segments {
        validate_segment(segment, "path segment")?;
    }
    Ok(segments.join("/"))
}

impl fmt::Display for RunKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.group, self.request_id)
    }
}

/// The name of the run document in a run folder.
pub const TELEMETRY_FILE: &str = "telemetry.json";

/// The name of a Prometheus backup's manifest, uploaded after its last part.
pub const PROMETHEUS_MANIFEST_FILE: &str = "prometheus-manifest.json";

/// The name of a file in a run folder, checked against the segment grammar.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ArtifactName(String);

impl ArtifactName {
    /// Checks and wraps a file name.
    pub fn new(name: &str) -> Result<Self, KeyError> {
        validate_segment(name, "file name")?;
        Ok(ArtifactName(name.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What kind of file krkn (or our collector) uploads under this name.
    pub fn kind(&self) -> ArtifactKind {
        ArtifactKind::of(&self.0)
    }

    /// `prometheus-NN.tar`, part `part` of a Prometheus backup.
    pub fn prometheus_part(part: u32) -> Self {
        ArtifactName::known(ArtifactKind::PrometheusPart { part })
    }

    /// `prometheus-manifest.json`, the manifest of a complete backup.
    pub fn prometheus_manifest() -> Self {
        ArtifactName::known(ArtifactKind::PrometheusManifest)
    }

    /// `prometheus-window-NN.om.gz`, part `part` of a window export.
    pub fn prometheus_window_part(part: u32) -> Self {
        ArtifactName::known(ArtifactKind::PrometheusWindowPart { part })
    }

    /// `critical-alerts-NN.log`, an alert summary.
    pub fn critical_alerts(part: u32) -> Self {
        ArtifactName::known(ArtifactKind::CriticalAlerts { part })
    }

    /// `logs-NN.tar.gz`, or `logs-<namespace>-NN.tar.gz`; refused when the namespace would
    /// make the name leave the segment grammar.
    pub fn logs(namespace: Option<&str>, part: u32) -> Result<Self, KeyError> {
        let kind = ArtifactKind::Logs {
            namespace: namespace.map(str::to_owned),
            part,
        };
        ArtifactName::new(&kind.file_name().unwrap_or_default())
    }

    /// The name of a kind whose name is made of fixed text and a number only, which always
    /// fits the grammar (`every_kind_round_trips_through_its_name` holds it).
    fn known(kind: ArtifactKind) -> Self {
        ArtifactName(kind.file_name().unwrap_or_default())
    }
}

impl TryFrom<String> for ArtifactName {
    type Error = KeyError;
    fn try_from(value: String) -> Result<Self, KeyError> {
        validate_segment(&value, "file name")?;
        Ok(ArtifactName(value))
    }
}

impl From<ArtifactName> for String {
    fn from(name: ArtifactName) -> String {
        name.0
    }
}

impl fmt::Display for ArtifactName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The kinds of file a run folder holds. `NN` part numbers are two or more digits, `00` first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ArtifactKind {
    /// `telemetry.json`, the run document (written only by `POST /telemetry`).
    Telemetry,
    /// `prometheus-NN.tar`: consecutive slices of one tar stream of the Prometheus data.
    PrometheusPart {
        /// Part number.
        part: u32,
    },
    /// `prometheus-manifest.json`: parts, sizes and checksums of a complete backup.
    PrometheusManifest,
    /// `prometheus-window-NN.om.gz`: the run window as OpenMetrics text.
    PrometheusWindowPart {
        /// Part number.
        part: u32,
    },
    /// `critical-alerts-NN.log`: a ChaosRunAlertSummary as JSON.
    CriticalAlerts {
        /// Part number.
        part: u32,
    },
    /// `logs-NN.tar.gz` (all namespaces) or `logs-<namespace>-NN.tar.gz`.
    Logs {
        /// The one namespace the logs came from, if not all.
        namespace: Option<String>,
        /// Part number.
        part: u32,
    },
    /// Any other file name.
    Other,
}

impl ArtifactKind {
    /// Classifies a file name.
    pub fn of(name: &str) -> ArtifactKind {
        if name == TELEMETRY_FILE {
            return ArtifactKind::Telemetry;
        }
        if name == PROMETHEUS_MANIFEST_FILE {
            return ArtifactKind::PrometheusManifest;
        }
        if let Some(part) = numbered(name, "prometheus-window-", ".om.gz") {
            return ArtifactKind::PrometheusWindowPart { part };
        }
        if let Some(part) = numbered(name, "prometheus-", ".tar") {
            return ArtifactKind::PrometheusPart { part };
        }
        if let Some(part) = numbered(name, "critical-alerts-", ".log") {
            return ArtifactKind::CriticalAlerts { part };
        }
        if let Some(middle) = name
            .strip_prefix("logs-")
            .and_then(|r| r.strip_suffix(".tar.gz"))
        {
            if let Some(part) = part_number(middle) {
                return ArtifactKind::Logs {
                    namespace: None,
                    part,
                };
            }
            if let Some((namespace, digits)) = middle.rsplit_once('-')
                && let Some(part) = part_number(digits)
                && !namespace.is_empty()
            {
                return ArtifactKind::Logs {
                    namespace: Some(namespace.to_owned()),
                    part,
                };
            }
        }
        ArtifactKind::Other
    }
}

impl ArtifactKind {
    /// The file name of this kind, the inverse of [`ArtifactKind::of`] (`None` for
    /// [`ArtifactKind::Other`]): part numbers get two digits or more, as krkn writes them, and
    /// an empty namespace names the all-namespaces logs, as `of` never yields one.
    pub fn file_name(&self) -> Option<String> {
        Some(match self {
            ArtifactKind::Telemetry => TELEMETRY_FILE.to_owned(),
            ArtifactKind::PrometheusPart { part } => format!("prometheus-{part:02}.tar"),
            ArtifactKind::PrometheusManifest => PROMETHEUS_MANIFEST_FILE.to_owned(),
            ArtifactKind::PrometheusWindowPart { part } => {
                format!("prometheus-window-{part:02}.om.gz")
            }
            ArtifactKind::CriticalAlerts { part } => format!("critical-alerts-{part:02}.log"),
            ArtifactKind::Logs { namespace, part } => match namespace.as_deref() {
                Some(ns) if !ns.is_empty() => format!("logs-{ns}-{part:02}.tar.gz"),
                _ => format!("logs-{part:02}.tar.gz"),
            },
            ArtifactKind::Other => return None,
        })
    }
}

fn numbered(name: &str, prefix: &str, suffix: &str) -> Option<u32> {
    part_number(name.strip_prefix(prefix)?.strip_suffix(suffix)?)
}

fn part_number(digits: &str) -> Option<u32> {
    if digits.len() >= 2 && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()
    } else {
        None
    }
}

/// krkn's run folder name: `<unix seconds>-<run_uuid>`, plus `-<run_tag>` when a tag is set.
pub fn krkn_request_id(unix_seconds: i64, run_uuid: &str, run_tag: &str) -> String {
    if run_tag.is_empty() {
        format!("{unix_seconds}-{run_uuid}")
    } else {
        format!("{unix_seconds}-{run_uuid}-{run_tag}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run file's key reads back as its run and file; other keys do not.
    #[test]
    fn object_keys_read_back_as_run_and_file() {
        let run = RunKey::new("perf", "1764000000-abc").expect("run");
        let (back, file) = RunKey::of_object_key(&run.telemetry_key()).expect("a run file");
        assert_eq!(back, run);
        assert_eq!(file.kind(), ArtifactKind::Telemetry);
        for other in [
            "perf/1764000000-abc",
            "perf",
            "/x/y",
            "perf/../x",
            "a/b/c/d",
        ] {
            assert!(RunKey::of_object_key(other).is_none(), "{other}");
        }
    }

    /// Group prefixes and upstream's download forms are made of checked segments only.
    #[test]
    fn prefixes_and_download_keys_are_checked_segments() {
        assert_eq!(group_prefix("perf").expect("group"), "perf/");
        assert!(group_prefix("..").is_err());
        for good in ["x.log", "perf/x.log", "perf/1-abc/telemetry.json"] {
            assert_eq!(download_key(good).expect(good), good);
        }
        for bad in ["", "perf//x", "../x", "a/b/c/d", "perf/.hidden"] {
            assert!(download_key(bad).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        /// The published pattern says yes exactly when the checker does.
        #[test]
        fn the_pattern_agrees_with_the_checker(value in "[a-z0-9._/\\-]{0,12}|\\PC{0,6}") {
            let pattern = regex::Regex::new(SEGMENT_PATTERN).expect("pattern compiles");
            let fits = value.len() <= MAX_SEGMENT_BYTES;
            proptest::prop_assert_eq!(
                pattern.is_match(&value) && fits,
                validate_segment(&value, "segment").is_ok(),
                "{:?}", value
            );
        }
    }

    fn any_kind() -> impl proptest::strategy::Strategy<Value = ArtifactKind> {
        use proptest::prelude::*;
        // Namespaces as Kubernetes allows them (DNS labels).
        let namespace = proptest::option::of("[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?");
        prop_oneof![
            Just(ArtifactKind::Telemetry),
            any::<u32>().prop_map(|part| ArtifactKind::PrometheusPart { part }),
            Just(ArtifactKind::PrometheusManifest),
            any::<u32>().prop_map(|part| ArtifactKind::PrometheusWindowPart { part }),
            any::<u32>().prop_map(|part| ArtifactKind::CriticalAlerts { part }),
            (namespace, any::<u32>())
                .prop_map(|(namespace, part)| ArtifactKind::Logs { namespace, part }),
        ]
    }

    proptest::proptest! {
        /// Formatting a kind's name and classifying it again gives the kind back, and the
        /// name is a valid segment: the collector names files the way the service reads them.
        #[test]
        fn every_kind_round_trips_through_its_name(kind in any_kind()) {
            let name = kind.file_name().expect("a named kind");
            let artifact = ArtifactName::new(&name);
            proptest::prop_assert!(artifact.is_ok(), "{:?}", name);
            proptest::prop_assert_eq!(ArtifactKind::of(&name), kind);
        }
    }

    #[test]
    fn the_collectors_names_are_krkns() {
        assert_eq!(
            ArtifactName::prometheus_part(0).as_str(),
            "prometheus-00.tar"
        );
        assert_eq!(
            ArtifactName::prometheus_part(123).as_str(),
            "prometheus-123.tar"
        );
        assert_eq!(
            ArtifactName::prometheus_manifest().as_str(),
            "prometheus-manifest.json"
        );
        assert_eq!(
            ArtifactName::prometheus_window_part(7).as_str(),
            "prometheus-window-07.om.gz"
        );
        assert_eq!(
            ArtifactName::critical_alerts(0).as_str(),
            "critical-alerts-00.log"
        );
        assert_eq!(
            ArtifactName::logs(None, 0).map(String::from),
            Ok("logs-00.tar.gz".to_owned())
        );
        assert_eq!(
            ArtifactName::logs(Some(""), 0).map(String::from),
            Ok("logs-00.tar.gz".to_owned())
        );
        assert_eq!(
            ArtifactName::logs(Some("openshift-etcd"), 0).map(String::from),
            Ok("logs-openshift-etcd-00.tar.gz".to_owned())
        );
        assert!(ArtifactName::logs(Some("a/b"), 0).is_err());
        assert_eq!(ArtifactKind::Other.file_name(), None);
    }

    #[test]
    fn real_krkn_request_ids_pass() {
        for id in [
            "1745343338-96348571-0b06-459e-b654-a1bb6fd66239",
            "1745343338-96348571-0b06-459e-b654-a1bb6fd66239-nightly_4.18",
            &krkn_request_id(
                1745343338,
                "96348571-0b06-459e-b654-a1bb6fd66239",
                "ocp-4.18-aws",
            ),
        ] {
            let key = RunKey::new("", id).expect(id);
            assert_eq!(key.group(), "default");
            assert_eq!(key.telemetry_key(), format!("default/{id}/telemetry.json"));
        }
    }

    #[test]
    fn traversal_and_separators_are_refused() {
        for bad in [
            "..", ".", "a/b", "a..b", ".hidden", "", "a\0b", "a b", "a\\b", "é",
        ] {
            let err = RunKey::new("g", bad).expect_err(bad);
            assert_eq!(err.what, "request id");
        }
        let long = "a".repeat(256);
        assert!(RunKey::new("g", &long).is_err());
        assert!(RunKey::new("g", &"a".repeat(255)).is_ok());
        let err = RunKey::new("g", "a/b").expect_err("slash");
        assert!(err.to_string().contains("\"/\" is not allowed"), "{err}");
    }

    #[test]
    fn run_path_parses_group_and_id() {
        let key = RunKey::parse("perf/1700000000-abc").expect("valid");
        assert_eq!((key.group(), key.request_id()), ("perf", "1700000000-abc"));
        assert!(RunKey::parse("perf").is_err());
        assert!(RunKey::parse("/x").is_err());
        assert!(RunKey::parse("a/b/c").is_err());
        assert!(RunKey::parse("a/../b").is_err());
    }

    #[test]
    fn artifact_kinds_are_classified() {
        use ArtifactKind::*;
        let cases = [
            ("telemetry.json", Telemetry),
            ("prometheus-00.tar", PrometheusPart { part: 0 }),
            ("prometheus-123.tar", PrometheusPart { part: 123 }),
            ("prometheus-manifest.json", PrometheusManifest),
            (
                "prometheus-window-01.om.gz",
                PrometheusWindowPart { part: 1 },
            ),
            ("critical-alerts-00.log", CriticalAlerts { part: 0 }),
            (
                "logs-00.tar.gz",
                Logs {
                    namespace: None,
                    part: 0,
                },
            ),
            (
                "logs-openshift-monitoring-02.tar.gz",
                Logs {
                    namespace: Some("openshift-monitoring".into()),
                    part: 2,
                },
            ),
            ("prometheus-1.tar", Other),
            ("logs-.tar.gz", Other),
            ("notes.txt", Other),
        ];
        for (name, kind) in cases {
            assert_eq!(ArtifactName::new(name).expect(name).kind(), kind, "{name}");
        }
    }
}

//! `prometheus-manifest.json`: what a complete Prometheus backup holds.
//!
//! The collector uploads it after the last part, so its presence says the backup finished;
//! the service's run page reads it to tell a complete backup from a partial one. Both take
//! the shape from here.
//!
//! Anyone who may upload can store a file under this name, so reading is lenient where the
//! run page does not depend on a field: the descriptive fields (`kind`, `version`, `source`,
//! `part_size`, the times, `run_window`, `restore`) fall back to their defaults when absent or
//! of another type, and only `parts` (each `name` and `size`, with an optional `sha256`) and
//! an optional `total_bytes` must be well-formed. Written by the collector, the JSON is the
//! fields in declaration order, every one set.

use serde::{Deserialize, Deserializer, Serialize};

use crate::keys::PROMETHEUS_MANIFEST_FILE;

/// The manifest of one Prometheus backup, as the collector writes it and the service reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupManifest {
    /// What the file is: [`BackupManifest::KIND`] (a reader can tell it from other JSON).
    #[serde(default, deserialize_with = "lenient")]
    pub kind: String,
    /// The layout version, [`BackupManifest::VERSION`].
    #[serde(default, deserialize_with = "lenient")]
    pub version: u32,
    /// The container and folder the tar stream came from.
    #[serde(default, deserialize_with = "lenient")]
    pub source: ManifestSource,
    /// Bytes per part (every part but the last has exactly this many).
    #[serde(default, deserialize_with = "lenient")]
    pub part_size: u64,
    /// Bytes in the whole tar stream; `None` only in manifests written by someone else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_bytes: Option<u64>,
    /// Every part in stream order: concatenated, they are the tar stream.
    pub parts: Vec<ManifestPart>,
    /// When the backup began (RFC 3339, seconds, UTC).
    #[serde(default, deserialize_with = "lenient")]
    pub backup_started: String,
    /// When the last part was confirmed (RFC 3339, seconds, UTC).
    #[serde(default, deserialize_with = "lenient")]
    pub backup_finished: String,
    /// The run window in unix seconds, when the backup knew it.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub run_window: Option<ManifestWindow>,
    /// How to restore, for a person who finds the files.
    #[serde(default, deserialize_with = "lenient")]
    pub restore: String,
}

impl BackupManifest {
    /// The manifest's file name in the run folder.
    pub const FILE: &'static str = PROMETHEUS_MANIFEST_FILE;
    /// The `kind` the collector writes.
    pub const KIND: &'static str = "krkn-telemetry/prometheus-backup";
    /// The layout version the collector writes.
    pub const VERSION: u32 = 1;
    /// The `restore` hint the collector writes.
    pub const RESTORE: &'static str =
        "cat prometheus-*.tar in part order | tar x (part numbers sort numerically)";
}

/// Where a backup's stream came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestSource {
    /// Namespace of the Prometheus pod.
    pub namespace: String,
    /// The Prometheus pod.
    pub pod: String,
    /// Its Prometheus container.
    pub container: String,
    /// The folder archived inside the container (`/prometheus/wal` or `/prometheus`).
    pub path: String,
}

/// One part of a backup, so a reader can check what the store holds against it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestPart {
    /// Its file name, `prometheus-NN.tar`.
    pub name: String,
    /// Its length in bytes.
    pub size: u64,
    /// Lower-case hex SHA-256; `None` only in manifests written by someone else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// A run window, unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestWindow {
    /// The first scenario's start.
    pub start: i64,
    /// The last scenario's end.
    pub end: i64,
}

/// A field the run page does not depend on: a value of another type counts as absent.
fn lenient<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned + Default,
{
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(T::deserialize(value).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written() -> BackupManifest {
        BackupManifest {
            kind: BackupManifest::KIND.to_owned(),
            version: BackupManifest::VERSION,
            source: ManifestSource {
                namespace: "openshift-monitoring".to_owned(),
                pod: "prometheus-k8s-0".to_owned(),
                container: "prometheus".to_owned(),
                path: "/prometheus/wal".to_owned(),
            },
            part_size: 1024,
            total_bytes: Some(1500),
            parts: vec![
                ManifestPart {
                    name: "prometheus-00.tar".to_owned(),
                    size: 1024,
                    sha256: Some("aa".to_owned()),
                },
                ManifestPart {
                    name: "prometheus-01.tar".to_owned(),
                    size: 476,
                    sha256: Some("bb".to_owned()),
                },
            ],
            backup_started: "2026-01-01T00:00:00Z".to_owned(),
            backup_finished: "2026-01-01T00:01:00Z".to_owned(),
            run_window: Some(ManifestWindow {
                start: 1767225600,
                end: 1767225660,
            }),
            restore: BackupManifest::RESTORE.to_owned(),
        }
    }

    /// The bytes the collector uploaded before the type moved here, field for field.
    #[test]
    fn the_collectors_manifest_is_written_as_before() {
        let text = serde_json::to_string_pretty(&written()).expect("serializes");
        let expected = r#"{
  "kind": "krkn-telemetry/prometheus-backup",
  "version": 1,
  "source": {
    "namespace": "openshift-monitoring",
    "pod": "prometheus-k8s-0",
    "container": "prometheus",
    "path": "/prometheus/wal"
  },
  "part_size": 1024,
  "total_bytes": 1500,
  "parts": [
    {
      "name": "prometheus-00.tar",
      "size": 1024,
      "sha256": "aa"
    },
    {
      "name": "prometheus-01.tar",
      "size": 476,
      "sha256": "bb"
    }
  ],
  "backup_started": "2026-01-01T00:00:00Z",
  "backup_finished": "2026-01-01T00:01:00Z",
  "run_window": {
    "start": 1767225600,
    "end": 1767225660
  },
  "restore": "cat prometheus-*.tar in part order | tar x (part numbers sort numerically)"
}"#;
        assert_eq!(text, expected);
        let mut without_window = written();
        without_window.run_window = None;
        let text = serde_json::to_string_pretty(&without_window).expect("serializes");
        assert!(!text.contains("run_window"), "{text}");
    }

    #[test]
    fn a_written_manifest_reads_back_the_same() {
        let text = serde_json::to_vec_pretty(&written()).expect("serializes");
        let read: BackupManifest = serde_json::from_slice(&text).expect("reads");
        assert_eq!(read, written());
    }

    /// What the run page needs is enough; the rest may be missing or odd.
    #[test]
    fn a_manifest_with_only_parts_is_read() {
        let read: BackupManifest = serde_json::from_str(
            r#"{"kind": 7, "source": "elsewhere", "run_window": "soon",
                "parts": [{"name": "prometheus-00.tar", "size": 3}], "extra": true}"#,
        )
        .expect("reads");
        assert_eq!(read.parts.len(), 1);
        assert_eq!(read.parts[0].sha256, None);
        assert_eq!(read.total_bytes, None);
        assert_eq!(read.kind, "");
        assert_eq!(read.run_window, None);
    }

    /// A manifest that cannot vouch for its parts is refused, so it counts as unreadable.
    #[test]
    fn a_manifest_with_bad_parts_is_refused() {
        for bad in [
            r#"{}"#,
            r#"{"parts": {}}"#,
            r#"{"parts": [{"name": "prometheus-00.tar"}]}"#,
            r#"{"parts": [{"name": "prometheus-00.tar", "size": -1}]}"#,
            r#"{"parts": [], "total_bytes": "many"}"#,
        ] {
            assert!(
                serde_json::from_str::<BackupManifest>(bad).is_err(),
                "{bad}"
            );
        }
    }
}

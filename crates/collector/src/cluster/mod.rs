//! Every call to the Kubernetes API (a test holds it: `kube` and `k8s_openapi` are named
//! nowhere else), so the RBAC the collector needs is read off this folder.
//!
//! Cluster metadata, collected the way krkn-lib does (`KRKN-PROTOCOL.md` section 3), but with
//! every probe running concurrently under one deadline: a probe that fails or is still running
//! at the deadline leaves its field unset and becomes a warning; the rest still arrives.
//!
//! - [`connect`]: the kube client from a kubeconfig, `KUBECONFIG` or the in-cluster account.
//! - [`pods`]: containers listed and their logs opened (`pods/log`), for the logs.
//! - [`exec`]: a command's stdout through `pods/exec`, for the Prometheus backup.
//! - [`nodes`]: node summaries, taints, node count, FIPS on plain Kubernetes.
//! - [`objects`]: object counts from metadata-only, paged lists.
//! - [`openshift`]: ClusterVersion, Infrastructure, Network, FIPS, etcd encryption, IPsec.
//! - [`events`]: cluster events inside each scenario's window.

pub mod connect;
pub mod events;
pub mod exec;
pub mod nodes;
pub mod objects;
pub mod openshift;
pub mod pods;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use krkn_telemetry_model::version::major_minor;
use krkn_telemetry_model::{ChaosRunTelemetry, Field, NodeInfo, Scalar, Taint};
use tokio::time::Instant;

pub use connect::{ConnectError, connect};
/// The Kubernetes client, named here so that code outside this module needs no `kube` path.
pub use kube::Client;
pub use objects::ListMode;

/// Everything metadata collection found. `None` means the probe failed or ran out of time (a
/// warning says which); such a field is left at its default, or at what the run document held.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterMetadata {
    /// One entry per distinct kind of node.
    pub node_summary_infos: Option<Vec<NodeInfo>>,
    /// Every taint of every node.
    pub node_taints: Option<Vec<Taint>>,
    /// Sum of the node summary counts.
    pub total_node_count: Option<i64>,
    /// Object counts by kind; a kind whose count failed is left out.
    pub kubernetes_objects_count: Option<BTreeMap<String, i64>>,
    /// Network types of the cluster (OpenShift).
    pub network_plugins: Option<Vec<String>>,
    /// The full version: OpenShift's release, or the Kubernetes git version.
    pub cluster_version: Option<String>,
    /// `major.minor` of `cluster_version`.
    pub major_version: Option<String>,
    /// Cloud platform (OpenShift's Infrastructure).
    pub cloud_infrastructure: Option<String>,
    /// `rosa`, … or `self-managed`.
    pub cloud_type: Option<String>,
    /// Whether FIPS mode is on.
    pub fips_enabled: Option<bool>,
    /// Whether etcd encryption is on.
    pub etcd_encryption_enabled: Option<bool>,
    /// Whether IPsec is on.
    pub ipsec_enabled: Option<bool>,
    /// Whether the cluster is OpenShift (`None` when detection failed).
    pub openshift: Option<bool>,
    /// One line per probe that failed or timed out.
    pub warnings: Vec<String>,
}

/// How collection runs.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// Deadline for the whole collection; every probe shares it.
    pub timeout: Duration,
    /// Page size of every list.
    pub page_size: u32,
    /// Metadata-only lists for counts (the default) or full objects (benchmark comparison).
    pub list_mode: ListMode,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            timeout: Duration::from_secs(60),
            page_size: 500,
            list_mode: ListMode::Metadata,
        }
    }
}

/// Why one probe produced nothing.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The API server answered with an error or could not be reached.
    #[error(transparent)]
    Kube(#[from] kube::Error),
    /// The answer did not hold what the probe needs.
    #[error("{0}")]
    Unexpected(String),
}

/// Runs `probe` until `deadline`; a failure or timeout becomes a warning naming the probe.
pub(crate) async fn bounded<T>(
    name: &str,
    deadline: Instant,
    probe: impl Future<Output = Result<T, ProbeError>>,
    warnings: &std::sync::Mutex<Vec<String>>,
) -> Option<T> {
    let started = Instant::now();
    let message = match tokio::time::timeout_at(deadline, probe).await {
        Ok(Ok(value)) => return Some(value),
        Ok(Err(error)) => format!("{name}: {error}"),
        Err(_) => format!(
            "{name}: no answer within the {:.0?} deadline; left at its default",
            deadline.saturating_duration_since(started)
        ),
    };
    tracing::warn!("{message}");
    warnings
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(message);
    None
}

/// Collects every metadata field the cluster can give within `options.timeout`.
pub async fn collect(client: &kube::Client, options: &CollectOptions) -> ClusterMetadata {
    let deadline = Instant::now() + options.timeout;
    let warnings = std::sync::Mutex::new(Vec::new());
    let warnings_ref = &warnings;

    let nodes = bounded(
        "nodes",
        deadline,
        nodes::summarize(client, options.page_size),
        warnings_ref,
    );
    let version = bounded(
        "version",
        deadline,
        async { Ok(client.apiserver_version().await?) },
        warnings_ref,
    );
    let counts = objects::count_kubernetes(client, options, deadline, warnings_ref);
    let flavour = async {
        let openshift = bounded(
            "openshift detection",
            deadline,
            openshift::detect(client),
            warnings_ref,
        )
        .await;
        let extra = match openshift {
            Some(true) => Some(openshift::collect(client, options, deadline, warnings_ref).await),
            _ => None,
        };
        let ipsec_kubernetes = match openshift {
            Some(false) => {
                bounded(
                    "ipsec",
                    deadline,
                    openshift::kubernetes_ipsec(client),
                    warnings_ref,
                )
                .await
            }
            _ => None,
        };
        (openshift, extra, ipsec_kubernetes)
    };
    let (nodes, version, mut counts, (openshift, extra, ipsec_kubernetes)) =
        tokio::join!(nodes, version, counts, flavour);

    let mut metadata = ClusterMetadata {
        openshift,
        ..ClusterMetadata::default()
    };
    if let Some(summary) = nodes {
        metadata.total_node_count = Some(summary.infos.iter().filter_map(|i| i.count.get()).sum());
        metadata.node_summary_infos = Some(summary.infos);
        metadata.node_taints = Some(summary.taints);
        if openshift == Some(false) {
            metadata.fips_enabled = Some(summary.fips);
        }
    }
    if let Some(version) = &version {
        metadata.cluster_version = Some(version.git_version.clone());
        metadata.major_version = Some(kubernetes_major_minor(&version.major, &version.minor));
    }
    if openshift == Some(false) {
        // Known not to be OpenShift: the OpenShift-only fields are krkn-lib's defaults, and
        // there is no etcd encryption API to ask (krkn-lib reports false too).
        metadata.cloud_infrastructure = Some("Unknown".to_owned());
        metadata.cloud_type = Some("self-managed".to_owned());
        metadata.network_plugins = Some(vec!["Unknown".to_owned()]);
        metadata.etcd_encryption_enabled = Some(false);
        metadata.ipsec_enabled = ipsec_kubernetes;
    }
    if let Some(extra) = extra {
        // On OpenShift the version is the release; the Kubernetes one would mislead.
        metadata.major_version = extra.cluster_version.as_deref().map(major_minor);
        metadata.cluster_version = extra.cluster_version;
        metadata.cloud_infrastructure = extra.cloud_infrastructure;
        metadata.cloud_type = extra.cloud_type;
        metadata.network_plugins = extra.network_plugins;
        metadata.fips_enabled = extra.fips_enabled;
        metadata.etcd_encryption_enabled = extra.etcd_encryption_enabled;
        metadata.ipsec_enabled = extra.ipsec_enabled;
        if let Some(counts) = counts.as_mut() {
            counts.extend(extra.object_counts);
        }
    }
    metadata.kubernetes_objects_count = counts;
    metadata.warnings = warnings
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    metadata
}

/// `major.minor` from `/version`'s fields (`1` and `31+` → `1.31`), by the model's rule, so
/// the service derives the same value from `cluster_version` when a sender leaves it out.
fn kubernetes_major_minor(major: &str, minor: &str) -> String {
    major_minor(&format!("{major}.{minor}"))
}

impl ClusterMetadata {
    /// Writes every collected field into `doc`; fields whose probe failed are left as the
    /// document had them (and filled with krkn-lib's defaults when absent).
    pub fn apply_to(&self, doc: &mut ChaosRunTelemetry) {
        fn put<T: Clone>(field: &mut Field<T>, value: &Option<T>) {
            if let Some(value) = value {
                field.set(value.clone());
            }
        }
        put(&mut doc.node_summary_infos, &self.node_summary_infos);
        put(&mut doc.node_taints, &self.node_taints);
        put(&mut doc.total_node_count, &self.total_node_count);
        put(
            &mut doc.kubernetes_objects_count,
            &self.kubernetes_objects_count,
        );
        put(&mut doc.network_plugins, &self.network_plugins);
        put(&mut doc.cluster_version, &self.cluster_version);
        if let Some(major) = &self.major_version {
            doc.major_version.set(Scalar::Text(major.clone()));
        }
        put(&mut doc.cloud_infrastructure, &self.cloud_infrastructure);
        put(&mut doc.cloud_type, &self.cloud_type);
        put(&mut doc.fips_enabled, &self.fips_enabled);
        put(
            &mut doc.etcd_encryption_enabled,
            &self.etcd_encryption_enabled,
        );
        put(&mut doc.ipsec_enabled, &self.ipsec_enabled);
        doc.fill_defaults();
        for flag in [
            &mut doc.fips_enabled,
            &mut doc.etcd_encryption_enabled,
            &mut doc.ipsec_enabled,
        ] {
            flag.fill_missing(|| false);
        }
        doc.total_node_count.fill_missing(|| 0);
    }

    /// True when no probe produced anything (the cluster is most likely unreachable).
    pub fn is_empty(&self) -> bool {
        let Self {
            warnings: _,
            openshift,
            node_summary_infos,
            kubernetes_objects_count,
            cluster_version,
            ..
        } = self;
        openshift.is_none()
            && node_summary_infos.is_none()
            && kubernetes_objects_count.is_none()
            && cluster_version.is_none()
    }

    /// The `collect` command's output: the cluster fields of a run document (defaults where a
    /// probe failed) plus `warnings`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut doc = ChaosRunTelemetry::default();
        self.apply_to(&mut doc);
        let cluster = serde_json::to_value(&doc).unwrap_or_default();
        let mut out = serde_json::Map::new();
        for key in CLUSTER_FIELDS {
            if let Some(value) = cluster.get(*key) {
                out.insert((*key).to_owned(), value.clone());
            }
        }
        out.insert("warnings".to_owned(), serde_json::json!(self.warnings));
        serde_json::Value::Object(out)
    }
}

/// The run document fields that metadata collection fills, in `collect`'s output order.
pub const CLUSTER_FIELDS: &[&str] = &[
    "node_summary_infos",
    "node_taints",
    "total_node_count",
    "kubernetes_objects_count",
    "network_plugins",
    "cluster_version",
    "major_version",
    "cloud_infrastructure",
    "cloud_type",
    "fips_enabled",
    "etcd_encryption_enabled",
    "ipsec_enabled",
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The collector's two sources of a version: `/version` and OpenShift's release.
    #[test]
    fn versions_become_major_dot_minor() {
        assert_eq!(kubernetes_major_minor("1", "31+"), "1.31");
        assert_eq!(kubernetes_major_minor("1", "17"), "1.17");
        assert_eq!(major_minor("4.18.0-0.nightly-2025-03-13-035622"), "4.18");
        assert_eq!(major_minor("4.4.0-0.nightly-2020-03-18-092817"), "4.4");
        assert_eq!(major_minor("4.9.1"), "4.9");
    }
}

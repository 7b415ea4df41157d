//! The run document itself (`telemetry.json`) and krkn's output wrapper around it.

use std::collections::BTreeMap;

use crate::alerts::ChaosRunAlertSummary;
use crate::cluster::{
    AlertEvaluation, HealthCheck, NodeInfo, ObjectStateCheck, ResiliencyReport, Taint, VirtCheck,
};
use crate::raw::RawJson;
use crate::scalar::Scalar;
use crate::scenario::ScenarioTelemetry;
use crate::shape::krkn_object;

krkn_object! {
    /// Everything krkn reports about one chaos run: the scenarios and the cluster they hit.
    pub struct ChaosRunTelemetry {
        /// The scenarios of the run, in the order krkn ran them.
        scenarios: Vec<ScenarioTelemetry> = "scenarios",
        /// One entry per distinct kind of node, with a count.
        node_summary_infos: Vec<NodeInfo> = "node_summary_infos",
        /// Every taint on every node.
        node_taints: Vec<Taint> = "node_taints",
        /// Object counts by kind (`Pod`, `Deployment`, ...).
        kubernetes_objects_count: BTreeMap<String, i64> = "kubernetes_objects_count",
        /// Network plugins of the cluster (default `["Unknown"]`).
        network_plugins: Vec<String> = "network_plugins",
        /// Sum of the node summary counts.
        total_node_count: i64 = "total_node_count",
        /// Cloud platform (default `Unknown`).
        cloud_infrastructure: String = "cloud_infrastructure",
        /// `self-managed`, `rosa`, ... (default `self-managed`).
        cloud_type: String = "cloud_type",
        /// Full cluster version (`4.18.0-0.nightly-...` or the Kubernetes git version).
        cluster_version: String = "cluster_version",
        /// `major.minor`, e.g. `"4.18"`; older senders put a number.
        major_version: Scalar = "major_version",
        /// krkn's uuid for the run.
        run_uuid: String = "run_uuid",
        /// When the document was made, `%Y-%m-%dT%H:%M:%SZ`.
        timestamp: String = "timestamp",
        /// Application health probes made during the run.
        health_checks: Vec<HealthCheck> = "health_checks",
        /// VMI checks made during the run.
        virt_checks: Vec<VirtCheck> = "virt_checks",
        /// VMI checks made after the run (krkn-lib 7 also folds them into `virt_checks`).
        post_virt_checks: Vec<VirtCheck> = "post_virt_checks",
        /// Kubernetes object condition checks (krkn-lib 7).
        object_state_checks: Vec<ObjectStateCheck> = "object_state_checks",
        /// False when any scenario failed or critical alerts fired after the chaos.
        job_status: bool = "job_status",
        /// CI build that ran krkn (default `manual`).
        build_url: String = "build_url",
        /// Free tag to compare similar jobs.
        tag: String = "tag",
        /// Whether FIPS mode is on.
        fips_enabled: bool = "fips_enabled",
        /// Whether etcd encryption is on.
        etcd_encryption_enabled: bool = "etcd_encryption_enabled",
        /// Whether IPsec is on.
        ipsec_enabled: bool = "ipsec_enabled",
        /// Error log entries krkn collected during the run.
        error_logs: Vec<RawJson> = "error_logs",
        /// krkn's resiliency score for the run.
        overall_resiliency_report: ResiliencyReport = "overall_resiliency_report",
        /// Prometheus alerts evaluated during the run (krkn-lib 7).
        alerts: Vec<AlertEvaluation> = "alerts",
    }
}

krkn_object! {
    /// krkn's run output file: the telemetry plus the critical alert summary.
    pub struct ChaosRunOutput {
        /// The run document (what krkn POSTs).
        telemetry: ChaosRunTelemetry = "telemetry",
        /// The critical alerts of the run, or `null`.
        critical_alerts: ChaosRunAlertSummary = "critical_alerts",
    }
}

//! The fixed columns of the export, in the order exports write them, each with its type and
//! meaning (for the README, the OpenAPI document and CSV headers).

/// One fixed column of the export: its name, JSON type and meaning (for docs and OpenAPI).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Column name, as in the CSV header and the NDJSON keys.
    pub name: &'static str,
    /// `string`, `integer`, `number` or `boolean` (every column may also be `null`).
    pub kind: &'static str,
    /// What it holds.
    pub about: &'static str,
}

const fn column(name: &'static str, kind: &'static str, about: &'static str) -> Column {
    Column { name, kind, about }
}

/// Columns the service fills from its run index; they lead every row.
pub const INDEX_COLUMNS: [Column; 4] = [
    column("group", "string", "telemetry group the run was filed under"),
    column("request_id", "string", "krkn's request id of the run"),
    column(
        "run_tag",
        "string",
        "the run tag at the end of the request id (empty when none)",
    ),
    column(
        "filed_at",
        "string",
        "when the service filed the run, RFC 3339 UTC",
    ),
];

/// Columns computed from the document, in export order (after [`INDEX_COLUMNS`]).
pub const COLUMNS: [Column; 39] = [
    column("run_uuid", "string", "krkn's uuid of the run"),
    column(
        "timestamp",
        "string",
        "when krkn wrote the document (%Y-%m-%dT%H:%M:%SZ)",
    ),
    column(
        "job_status",
        "boolean",
        "the run's outcome: false when a scenario failed or critical alerts fired",
    ),
    column(
        "tag",
        "string",
        "krkn's free tag for comparing similar jobs",
    ),
    column("build_url", "string", "CI build that ran krkn"),
    column("cluster_version", "string", "full cluster version"),
    column(
        "major_version",
        "string",
        "major.minor of the cluster (4.18)",
    ),
    column(
        "cloud_infrastructure",
        "string",
        "cloud platform (AWS, GCP, ...)",
    ),
    column("cloud_type", "string", "self-managed, rosa, ..."),
    column(
        "network_plugins",
        "string",
        "network plugins, joined with ';' (OVNKubernetes)",
    ),
    column("total_node_count", "integer", "nodes in the cluster"),
    column("nodes_master", "integer", "nodes whose type is master"),
    column("nodes_worker", "integer", "nodes whose type is worker"),
    column("nodes_infra", "integer", "nodes whose type is infra"),
    column("nodes_workload", "integer", "nodes whose type is workload"),
    column(
        "nodes_application",
        "integer",
        "nodes whose type is application",
    ),
    column(
        "nodes_other",
        "integer",
        "nodes of any other type (unknown, ...)",
    ),
    column(
        "critical_alerts",
        "integer",
        "evaluated alerts of severity critical (krkn-lib 7 `alerts`)",
    ),
    column(
        "critical_alerts_post_chaos",
        "integer",
        "of those, alerts evaluated after the chaos (phase post)",
    ),
    column(
        "resiliency_score",
        "number",
        "krkn's resiliency score of the run",
    ),
    column("scenario_count", "integer", "scenarios in the run"),
    column(
        "scenario_index",
        "integer",
        "position of the scenario in the run, from 0",
    ),
    column("scenario", "string", "the scenario file krkn ran"),
    column("scenario_type", "string", "the scenario plugin type"),
    column("start_timestamp", "number", "scenario start, unix seconds"),
    column("end_timestamp", "number", "scenario end, unix seconds"),
    column(
        "duration_seconds",
        "number",
        "end_timestamp - start_timestamp",
    ),
    column(
        "exit_status",
        "integer",
        "the scenario's exit status (0 passed)",
    ),
    column(
        "pods_recovered",
        "integer",
        "disrupted pods that became ready again",
    ),
    column("pods_unrecovered", "integer", "disrupted pods that did not"),
    column(
        "pod_recovery_seconds_mean",
        "number",
        "mean total_recovery_time of the recovered pods",
    ),
    column(
        "pod_recovery_seconds_max",
        "number",
        "largest total_recovery_time of the recovered pods",
    ),
    column(
        "pod_readiness_seconds_max",
        "number",
        "largest pod_readiness_time of the recovered pods",
    ),
    column(
        "pod_rescheduling_seconds_max",
        "number",
        "largest pod_rescheduling_time of the recovered pods",
    ),
    column(
        "vmis_recovered",
        "integer",
        "disrupted VMIs that became ready again",
    ),
    column("vmis_unrecovered", "integer", "disrupted VMIs that did not"),
    column(
        "vmi_recovery_seconds_max",
        "number",
        "largest total_recovery_time of the recovered VMIs",
    ),
    column("nodes_affected", "integer", "nodes the scenario disrupted"),
    column(
        "cluster_events",
        "integer",
        "relevant cluster events seen during the scenario",
    ),
];

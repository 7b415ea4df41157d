//! What the cluster is: node kinds, taints, health and virtualization checks, resiliency.

use std::collections::BTreeMap;

use serde_json::Number;

use crate::scalar::Scalar;
use crate::shape::krkn_object;

krkn_object! {
    /// One kind of node in the cluster, with how many nodes share it.
    pub struct NodeInfo {
        /// Number of nodes with exactly these properties.
        count: i64 = "count",
        /// CPU architecture (`amd64`, `arm64`).
        architecture: String = "architecture",
        /// Cloud instance type, or `unknown`.
        instance_type: String = "instance_type",
        /// Node role: master, worker, infra, workload, application or unknown.
        nodes_type: String = "nodes_type",
        /// Kernel version the node reports.
        kernel_version: String = "kernel_version",
        /// Kubelet version the node reports.
        kubelet_version: String = "kubelet_version",
        /// OS image the node reports.
        os_version: String = "os_version",
    }
}

krkn_object! {
    /// One taint on one node.
    pub struct Taint {
        /// Node carrying the taint.
        node_name: String = "node_name",
        /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
        effect: String = "effect",
        /// Taint key.
        key: String = "key",
        /// Taint value (`null` when the taint has none).
        value: String = "value",
    }
}

krkn_object! {
    /// One application health probe made during the run.
    pub struct HealthCheck {
        /// Probed URL.
        url: String = "url",
        /// Whether the application answered as healthy.
        status: bool = "status",
        /// HTTP status code (an int from requests, a string in krkn-lib's type hints).
        status_code: Scalar = "status_code",
        /// When the probe window started.
        start_timestamp: Scalar = "start_timestamp",
        /// When the probe window ended.
        end_timestamp: Scalar = "end_timestamp",
        /// Seconds between start and end.
        duration: Scalar = "duration",
    }
}

krkn_object! {
    /// One KubeVirt VMI access and readiness check made during or after the run.
    pub struct VirtCheck {
        /// VM name.
        vm_name: String = "vm_name",
        /// VMI IP address before the chaos.
        ip_address: String = "ip_address",
        /// VMI IP address after a restart, when it changed.
        new_ip_address: String = "new_ip_address",
        /// VMI namespace.
        namespace: String = "namespace",
        /// Node the VMI runs on.
        node_name: String = "node_name",
        /// Whether SSH access worked.
        ssh_status: bool = "ssh_status",
        /// Whether the VMI was Running with Ready=True.
        vmi_ready: bool = "vmi_ready",
        /// True only when both checks passed.
        status: bool = "status",
        /// Which check failed: `ssh_access`, `vmi_ready`, `both` or `healthy`.
        check_type: String = "check_type",
        /// When the check window started.
        start_timestamp: Scalar = "start_timestamp",
        /// When the check window ended.
        end_timestamp: Scalar = "end_timestamp",
        /// Seconds between start and end (krkn-lib may send `""`).
        duration: Scalar = "duration",
        /// When the check ran: `pre`, `during` or `post` (krkn-lib 7).
        phase: String = "phase",
    }
}

krkn_object! {
    /// One Kubernetes object condition check (krkn-lib 7's `ObjectStateCheck`).
    pub struct ObjectStateCheck {
        /// Name of the check, e.g. `etcd-pods-ready`.
        check_name: String = "check_name",
        /// Kind of the checked objects.
        kind: String = "kind",
        /// Namespace of the checked objects.
        namespace: String = "namespace",
        /// Name or regex of the checked objects.
        object_name: String = "object_name",
        /// Condition checked (`Ready`, `Available`, ...).
        condition_type: String = "condition_type",
        /// Expected condition status (`True`, `False`, `Unknown`).
        condition_status: String = "condition_status",
        /// Whether every checked object met the condition.
        passed: bool = "passed",
        /// Objects that matched and were checked.
        objects_checked: i64 = "objects_checked",
        /// Objects that failed the condition.
        objects_failed: i64 = "objects_failed",
        /// When the check period started.
        start_timestamp: Scalar = "start_timestamp",
        /// When the check period ended.
        end_timestamp: Scalar = "end_timestamp",
        /// Seconds between start and end.
        duration: Scalar = "duration",
        /// What the check found.
        message: String = "message",
        /// When the check ran: `pre`, `during` or `post`.
        phase: String = "phase",
    }
}

krkn_object! {
    /// One Prometheus alert evaluated during the run (krkn-lib 7's `Alerts`).
    pub struct AlertEvaluation {
        /// Alert name or description.
        name: String = "name",
        /// Alert severity.
        severity: String = "severity",
        /// What the alert said.
        message: String = "message",
        /// When the alert started firing.
        starts_at: String = "starts_at",
        /// Result of the evaluation.
        status: bool = "status",
        /// When it was evaluated: `pre`, `during` or `post`.
        phase: String = "phase",
    }
}

krkn_object! {
    /// krkn's overall resiliency score for the run.
    pub struct ResiliencyReport {
        /// Score per scenario name.
        scenarios: BTreeMap<String, Number> = "scenarios",
        /// Overall score across scenarios.
        resiliency_score: Number = "resiliency_score",
        /// SLOs that passed.
        passed_slos: i64 = "passed_slos",
        /// SLOs evaluated.
        total_slos: i64 = "total_slos",
    }
}

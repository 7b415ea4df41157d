//! One chaos scenario of a run and what it did to the cluster.

use serde_json::Number;

use crate::raw::RawJson;

use crate::shape::krkn_object;

krkn_object! {
    /// One scenario krkn ran: when, what, with which parameters, and how the cluster reacted.
    pub struct ScenarioTelemetry {
        /// Unix seconds when the scenario started (int or float, kept as sent).
        start_timestamp: Number = "start_timestamp",
        /// Unix seconds when the scenario ended.
        end_timestamp: Number = "end_timestamp",
        /// The scenario file krkn ran, e.g. `scenarios/network_chaos.yaml`.
        scenario: String = "scenario",
        /// The scenario plugin type, e.g. `pod_disruption_scenarios`.
        scenario_type: String = "scenario_type",
        /// The scenario's exit status; anything above 0 is a failed scenario.
        exit_status: i64 = "exit_status",
        /// Base64 of the scenario YAML; decoded into `parameters` and blanked on filing.
        parameters_base64: String = "parameters_base64",
        /// The scenario parameters as JSON (any shape; krkn sends the parsed scenario file).
        parameters: RawJson = "parameters",
        /// Pods the scenario disrupted and whether they came back.
        affected_pods: PodsStatus = "affected_pods",
        /// KubeVirt VMIs the scenario disrupted and whether they came back.
        affected_vmis: VmisStatus = "affected_vmis",
        /// Nodes the scenario disrupted, with how long each state lasted.
        affected_nodes: Vec<AffectedNode> = "affected_nodes",
        /// Cluster events with a relevant reason seen inside the scenario's window.
        cluster_events: Vec<ClusterEvent> = "cluster_events",
    }
}

krkn_object! {
    /// Pods affected by a scenario: those that recovered (with timings) and those that did not.
    pub struct PodsStatus {
        /// Pods that became ready again.
        recovered: Vec<AffectedPod> = "recovered",
        /// Pods that did not recover within the scenario's wait.
        unrecovered: Vec<AffectedPod> = "unrecovered",
        /// Why pod monitoring failed, when it did (krkn sends `null` otherwise).
        error: String = "error",
    }
}

krkn_object! {
    /// One disrupted pod and its recovery timings in seconds (`null` for unrecovered pods).
    pub struct AffectedPod {
        /// Pod name.
        pod_name: String = "pod_name",
        /// Pod namespace.
        namespace: String = "namespace",
        /// Seconds from disruption until the pod was ready again.
        total_recovery_time: Number = "total_recovery_time",
        /// Seconds from scheduling until the pod was ready.
        pod_readiness_time: Number = "pod_readiness_time",
        /// Seconds until the replacement pod was scheduled.
        pod_rescheduling_time: Number = "pod_rescheduling_time",
    }
}

krkn_object! {
    /// VMIs affected by a scenario, like [`PodsStatus`] for KubeVirt.
    pub struct VmisStatus {
        /// VMIs that became ready again.
        recovered: Vec<AffectedVmi> = "recovered",
        /// VMIs that did not recover.
        unrecovered: Vec<AffectedVmi> = "unrecovered",
        /// Why VMI monitoring failed, when it did.
        error: String = "error",
    }
}

krkn_object! {
    /// One disrupted KubeVirt VMI and its recovery timings in seconds.
    pub struct AffectedVmi {
        /// VMI name.
        vmi_name: String = "vmi_name",
        /// VMI namespace.
        namespace: String = "namespace",
        /// Seconds from disruption until the VMI was ready again.
        total_recovery_time: Number = "total_recovery_time",
        /// Seconds from scheduling until the VMI was ready.
        vmi_readiness_time: Number = "vmi_readiness_time",
        /// Seconds until the replacement VMI was scheduled.
        vmi_rescheduling_time: Number = "vmi_rescheduling_time",
    }
}

krkn_object! {
    /// One disrupted node and the seconds it spent in each state.
    pub struct AffectedNode {
        /// Node name.
        node_name: String = "node_name",
        /// Cloud provider id of the node, when known.
        node_id: String = "node_id",
        /// Seconds the node was NotReady.
        not_ready_time: Number = "not_ready_time",
        /// Seconds until the node was Ready again.
        ready_time: Number = "ready_time",
        /// Seconds the cloud instance took to stop.
        stopped_time: Number = "stopped_time",
        /// Seconds the cloud instance took to run again.
        running_time: Number = "running_time",
        /// Seconds the cloud instance took to terminate.
        terminating_time: Number = "terminating_time",
    }
}

krkn_object! {
    /// The fields of a Kubernetes Event that matter for a chaos run.
    pub struct ClusterEvent {
        /// Event name.
        name: String = "name",
        /// When the event was created, as the API server printed it.
        creation: String = "creation",
        /// The event reason (`BackOff`, `NodeNotReady`, ...); see [`crate::RELEVANT_EVENT_REASONS`].
        reason: String = "reason",
        /// The event message.
        message: String = "message",
        /// Namespace of the event.
        namespace: String = "namespace",
        /// Component that reported the event.
        source_component: String = "source_component",
        /// Kind of the object the event is about.
        involved_object_kind: String = "involved_object_kind",
        /// Name of the object the event is about.
        involved_object_name: String = "involved_object_name",
        /// Namespace of the object the event is about.
        involved_object_namespace: String = "involved_object_namespace",
        /// `Normal` or `Warning`.
        event_type: String = "type",
    }
}

/// Event reasons krkn keeps (krkn-lib's `relevant_event_reasons`); other events are noise.
pub const RELEVANT_EVENT_REASONS: &[&str] = &[
    "Failed",
    "Killing",
    "Preempting",
    "ExceededGracePeriod",
    "FailedKillPod",
    "FailedCreatePodContainer",
    "NetworkNotReady",
    "InspectFailed",
    "ErrImageNeverPull",
    "BackOff",
    "NodeNotReady",
    "NodeNotSchedulable",
    "KubeletSetupFailed",
    "FailedAttachVolume",
    "FailedMount",
    "VolumeResizeFailed",
    "FileSystemResizeFailed",
    "ImageGCFailed",
    "FailedCreatePodSandBox",
    "FailedMountOnFilesystemMismatch",
    "FailedPrepareDynamicResources",
    "InvalidDiskCapacity",
    "FreeDiskSpaceFailed",
    "Unhealthy",
    "FailedSync",
    "FailedValidation",
    "FailedPostStartHook",
    "FailedPreStopHook",
];

/// True when krkn keeps events with this reason.
pub fn is_relevant_event_reason(reason: &str) -> bool {
    RELEVANT_EVENT_REASONS.contains(&reason)
}

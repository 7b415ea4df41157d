//! Synthetic documents for benchmarks and load tests, shaped like real krkn output.

use serde_json::{Value, json};

use crate::cluster::{NodeInfo, Taint};
use crate::field::Field;
use crate::scalar::Scalar;
use crate::scenario::{
    AffectedPod, ClusterEvent, PodsStatus, RELEVANT_EVENT_REASONS, ScenarioTelemetry,
};
use crate::telemetry::ChaosRunTelemetry;

/// A run with `scenarios` scenarios of `events` cluster events and five recovered pods each,
/// plus a six-node cluster summary. Deterministic: the same arguments give the same document.
pub fn large_document(scenarios: usize, events: usize) -> ChaosRunTelemetry {
    let base = 1_745_343_338_i64;
    let scenario_list = (0..scenarios)
        .map(|i| {
            let start = base + (i as i64) * 400;
            ScenarioTelemetry {
                start_timestamp: Field::Set(start.into()),
                end_timestamp: Field::Set((start + 345).into()),
                scenario: Field::Set(format!("scenarios/pod_scenario_{i}.yaml")),
                scenario_type: Field::Set("pod_disruption_scenarios".to_owned()),
                exit_status: Field::Set(0),
                parameters_base64: Field::Set(String::new()),
                parameters: Field::Set(scenario_parameters(i).into()),
                affected_pods: Field::Set(PodsStatus {
                    recovered: Field::Set((0..5).map(|p| recovered_pod(i, p)).collect()),
                    unrecovered: Field::Set(Vec::new()),
                    error: Field::Null,
                    extra: Default::default(),
                }),
                affected_vmis: Field::Missing,
                affected_nodes: Field::Set(Vec::new()),
                cluster_events: Field::Set((0..events).map(|e| event(i, e, start)).collect()),
                extra: Default::default(),
            }
        })
        .collect();
    let mut doc = ChaosRunTelemetry {
        scenarios: Field::Set(scenario_list),
        node_summary_infos: Field::Set(vec![node_info("master", 3), node_info("worker", 3)]),
        node_taints: Field::Set(
            (0..3)
                .map(|n| Taint {
                    node_name: Field::Set(format!(
                        "cluster-qdcvv-master-{n}.c.chaos-438115.internal"
                    )),
                    effect: Field::Set("NoSchedule".to_owned()),
                    key: Field::Set("node-role.kubernetes.io/master".to_owned()),
                    value: Field::Null,
                    extra: Default::default(),
                })
                .collect(),
        ),
        kubernetes_objects_count: Field::Set(
            [
                ("ConfigMap", 530),
                ("Pod", 294),
                ("Deployment", 69),
                ("Route", 8),
                ("Build", 1),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        ),
        network_plugins: Field::Set(vec!["OVNKubernetes".to_owned()]),
        timestamp: Field::Set("2025-04-22T17:35:37Z".to_owned()),
        health_checks: Field::Null,
        total_node_count: Field::Set(6),
        cloud_infrastructure: Field::Set("GCP".to_owned()),
        cloud_type: Field::Set("self-managed".to_owned()),
        cluster_version: Field::Set("4.18.0-0.nightly-2025-03-13-035622".to_owned()),
        major_version: Field::Set(Scalar::from("4.18")),
        run_uuid: Field::Set("96348571-0b06-459e-b654-a1bb6fd66239".to_owned()),
        job_status: Field::Set(true),
        ..Default::default()
    };
    doc.extra
        .insert("failed_alerts".to_owned(), json!([]).into());
    doc
}

fn scenario_parameters(i: usize) -> Value {
    json!([{
        "config": {
            "execution_type": "parallel",
            "instance_count": 1,
            "kubeconfig_path": "/root/.kube/config",
            "label_selector": "node-role.kubernetes.io/master",
            "network_params": {"bandwidth": "10mbit", "latency": "500ms", "loss": "50%"},
            "node_interface_name": null,
            "test_duration": 300,
            "wait_duration": 60
        },
        "id": format!("network_chaos_{i}")
    }])
}

fn recovered_pod(scenario: usize, pod: usize) -> AffectedPod {
    AffectedPod {
        pod_name: Field::Set(format!("etcd-guard-{scenario}-{pod}-7d9f8b6c5d-x2k4q")),
        namespace: Field::Set("openshift-etcd".to_owned()),
        total_recovery_time: Field::Set(
            serde_json::Number::from_f64(12.5 + pod as f64).unwrap_or(0.into()),
        ),
        pod_readiness_time: Field::Set(serde_json::Number::from_f64(8.25).unwrap_or(0.into())),
        pod_rescheduling_time: Field::Set(serde_json::Number::from_f64(4.25).unwrap_or(0.into())),
        extra: Default::default(),
    }
}

fn event(scenario: usize, index: usize, start: i64) -> ClusterEvent {
    let reason = RELEVANT_EVENT_REASONS[(scenario + index) % RELEVANT_EVENT_REASONS.len()];
    ClusterEvent {
        name: Field::Set(format!(
            "etcd-guard-{scenario}-{index}.17f8a9c3b2d1e0f{index:02}"
        )),
        creation: Field::Set(format!(
            "2025-04-22 17:{:02}:{:02}+00:00",
            (start / 60) % 60,
            index % 60
        )),
        reason: Field::Set(reason.to_owned()),
        message: Field::Set(format!(
            "Readiness probe failed: Get \"https://10.0.{scenario}.{index}:9980/readyz\": dial tcp 10.0.{scenario}.{index}:9980: connect: connection refused"
        )),
        namespace: Field::Set("openshift-etcd".to_owned()),
        source_component: Field::Set("kubelet".to_owned()),
        involved_object_kind: Field::Set("Pod".to_owned()),
        involved_object_name: Field::Set(format!("etcd-guard-{scenario}-{index}")),
        involved_object_namespace: Field::Set("openshift-etcd".to_owned()),
        event_type: Field::Set("Warning".to_owned()),
        extra: Default::default(),
    }
}

fn node_info(kind: &str, count: i64) -> NodeInfo {
    NodeInfo {
        count: Field::Set(count),
        architecture: Field::Set("amd64".to_owned()),
        instance_type: Field::Set("n2-standard-4".to_owned()),
        nodes_type: Field::Set(kind.to_owned()),
        kernel_version: Field::Set("5.14.0-427.60.1.el9_4.x86_64".to_owned()),
        kubelet_version: Field::Set("v1.31.6".to_owned()),
        os_version: Field::Set("Red Hat Enterprise Linux CoreOS 418.94.202503121207-0".to_owned()),
        extra: Default::default(),
    }
}

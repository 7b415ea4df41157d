#!/usr/bin/env python3
"""Build a "rich" telemetry document with krkn-lib's own classes.

Usage: make_rich_sample.py OUT_JSON

The document is produced the same way krkn does it: a ChaosRunTelemetry()
whose attributes are assigned one by one (in the order krkn/krkn-lib assign
them), serialised with ChaosRunTelemetry.to_json().  Every field that
krkn-lib 7.0.3 defines is populated, plus the attributes krkn sets
dynamically (post_virt_checks).  After serialisation two fields unknown to
krkn-lib are injected (top-level "failed_alerts", "recovery_hints" in the
first scenario) so that a model that must preserve unknown fields can be
tested.  The result is checked to load back with ChaosRunTelemetry(json).

Run with the project venv:
    PY=$(scripts/python-venv.sh bench/python/requirements.txt)
    "$PY" scripts/make_rich_sample.py crates/model/tests/data/rich-sample.json
"""

from __future__ import annotations

import base64
import json
import sys

import yaml

from krkn_lib.models.k8s import (
    AffectedNode,
    AffectedPod,
    AffectedVMI,
    PodsStatus,
    ResiliencyReport,
    VmisStatus,
)
from krkn_lib.models.telemetry import (
    Alerts,
    ChaosRunTelemetry,
    ClusterEvent,
    HealthCheck,
    NodeInfo,
    ObjectStateCheck,
    ScenarioTelemetry,
    Taint,
    VirtCheck,
    relevant_event_reasons,
)
from krkn_lib.utils import deep_set_attribute

RUN_UUID = "3f2b8c1e-9d4a-4e7b-a1c6-5e8f0d2b7a94"

# A realistic pod-disruption scenario file with kubeconfig paths at two depths.
POD_SCENARIO_YAML = """\
- id: kill-pods
  config:
    namespace_pattern: ^openshift-etcd$
    label_selector: app=etcd
    krkn_pod_recovery_time: 120
    kill: 1
    exclude_label: ""
    kubeconfig: /home/ci/.kube/config
    duration: 60
    timeout: 180
    pod_network:
      kubeconfig: /root/.kube/config
      direction: [ingress, egress]
"""


def event(name, creation, reason, message, namespace, component, kind, obj):
    """A ClusterEvent filled like krkn-lib does from a CoreV1Event (k8s_obj)."""
    assert reason in relevant_event_reasons, reason
    e = ClusterEvent()
    e.name = name
    # str(datetime) of metadata.creation_timestamp, as ClusterEvent(k8s_obj=)
    e.creation = creation
    e.reason = reason
    e.message = message
    e.namespace = namespace
    e.source_component = component
    e.involved_object_kind = kind
    e.involved_object_name = obj
    e.involved_object_namespace = namespace
    e.type = "Warning" if reason != "Killing" else "Normal"
    return e


def scenario_pod_disruption() -> ScenarioTelemetry:
    """As krkn's AbstractScenarioPlugin.run_scenarios builds it: float
    timestamps from time.time(), parameters_base64 from
    set_parameters_base64() (kubeconfig anonymised), parameters left {}."""
    s = ScenarioTelemetry()
    s.scenario = "scenarios/openshift/etcd.yml"
    s.scenario_type = "pod_disruption_scenarios"
    s.start_timestamp = 1745343338.4127533
    # same steps as KrknTelemetryKubernetes.set_parameters_base64
    parsed = yaml.safe_load(POD_SCENARIO_YAML)
    deep_set_attribute("kubeconfig", "anonymized", parsed)
    s.parameters_base64 = base64.b64encode(
        yaml.safe_dump(parsed).encode()
    ).decode()

    pods = PodsStatus()
    pods.recovered.append(
        AffectedPod(
            pod_name="etcd-ip-10-0-142-7.us-west-2.compute.internal",
            namespace="openshift-etcd",
            total_recovery_time=14.73211479,
            pod_readiness_time=11.52003312,
            pod_rescheduling_time=3.21208167,
        )
    )
    pods.recovered.append(
        AffectedPod(
            pod_name="etcd-guard-ip-10-0-142-7.us-west-2.compute.internal",
            namespace="openshift-etcd",
            total_recovery_time=2.0,
            pod_readiness_time=2.0,
            pod_rescheduling_time=0.0,
        )
    )
    pods.unrecovered.append(
        AffectedPod(
            pod_name="etcd-ip-10-0-171-22.us-west-2.compute.internal",
            namespace="openshift-etcd",
        )
    )
    pods.error = (
        "1 pod(s) in namespace openshift-etcd did not become ready "
        "within 120 seconds"
    )
    s.affected_pods = pods
    s.cluster_events = [
        event(
            "etcd-ip-10-0-142-7.us-west-2.compute.internal.183a1f2c9b1d4e07",
            "2025-04-22 17:35:41+00:00",
            "Killing",
            "Stopping container etcd",
            "openshift-etcd",
            "kubelet",
            "Pod",
            "etcd-ip-10-0-142-7.us-west-2.compute.internal",
        ),
        event(
            "etcd-ip-10-0-142-7.us-west-2.compute.internal.183a1f2d0a7c3b11",
            "2025-04-22 17:35:44+00:00",
            "Unhealthy",
            "Readiness probe failed: Get \"https://10.0.142.7:9980/readyz\": "
            "dial tcp 10.0.142.7:9980: connect: connection refused",
            "openshift-etcd",
            "kubelet",
            "Pod",
            "etcd-ip-10-0-142-7.us-west-2.compute.internal",
        ),
        event(
            "etcd-ip-10-0-171-22.us-west-2.compute.internal.183a1f3b55e0a9c2",
            "2025-04-22 17:36:02+00:00",
            "BackOff",
            "Back-off restarting failed container etcd in pod "
            "etcd-ip-10-0-171-22.us-west-2.compute.internal_openshift-etcd"
            "(5c1d9f0e8b7a6d5c4b3a2f1e0d9c8b7a)",
            "openshift-etcd",
            "kubelet",
            "Pod",
            "etcd-ip-10-0-171-22.us-west-2.compute.internal",
        ),
    ]
    s.exit_status = 1
    s.end_timestamp = 1745343683.9051862
    return s


def scenario_vm_outage() -> ScenarioTelemetry:
    """Built through krkn-lib's own JSON constructor (the normalised form
    the telemetry service stores): int timestamps, parameters as an object,
    parameters_base64 ""."""
    return ScenarioTelemetry(
        {
            "start_timestamp": 1745343743,
            "end_timestamp": 1745343912,
            "scenario": "scenarios/kubevirt/kubevirt-vm-outage.yaml",
            "scenario_type": "kubevirt_vm_outage",
            "exit_status": 0,
            "parameters_base64": "",
            "parameters": {
                "scenarios": [
                    {
                        "name": "kubevirt outage test",
                        "scenario": "kubevirt_vm_outage",
                        "parameters": {
                            "vm_name": "rhel9-web-0",
                            "namespace": "vm-workloads",
                            "timeout": 60,
                            "kill_count": 2,
                            "disable_auto_restart": False,
                        },
                    }
                ]
            },
            "affected_pods": {"recovered": [], "unrecovered": [], "error": None},
            "affected_vmis": {
                "recovered": [
                    {
                        "vmi_name": "rhel9-web-0",
                        "namespace": "vm-workloads",
                        "total_recovery_time": 41.26034517,
                        "vmi_readiness_time": 33.0,
                        "vmi_rescheduling_time": 8.26034517,
                    }
                ],
                "unrecovered": [
                    {"vmi_name": "rhel9-web-1", "namespace": "vm-workloads"}
                ],
                "error": None,
            },
            "affected_nodes": [],
            "cluster_events": [
                {
                    "name": "virt-launcher-rhel9-web-0-x7k2p.183a1f5e77c2d810",
                    "creation": "2025-04-22 17:42:31+00:00",
                    "reason": "FailedMount",
                    "message": "MountVolume.SetUp failed for volume "
                    "\"rootdisk\" : rpc error: code = Unavailable desc = "
                    "connection error",
                    "namespace": "vm-workloads",
                    "source_component": "kubelet",
                    "involved_object_kind": "Pod",
                    "involved_object_name": "virt-launcher-rhel9-web-0-x7k2p",
                    "involved_object_namespace": "vm-workloads",
                    "type": "Warning",
                },
                {
                    "name": "virt-launcher-rhel9-web-1-q9m4z.183a1f61c0b3e452",
                    "creation": "2025-04-22 17:42:47+00:00",
                    "reason": "FailedCreatePodSandBox",
                    "message": "Failed to create pod sandbox: rpc error: code "
                    "= Unknown desc = failed to add network: timed out "
                    "waiting for OVS port binding",
                    "namespace": "vm-workloads",
                    "source_component": "kubelet",
                    "involved_object_kind": "Pod",
                    "involved_object_name": "virt-launcher-rhel9-web-1-q9m4z",
                    "involved_object_namespace": "vm-workloads",
                    "type": "Warning",
                },
                # not a relevant reason: krkn-lib's constructor drops it
                {
                    "name": "virt-launcher-rhel9-web-0-x7k2p.183a1f5e00000000",
                    "creation": "2025-04-22 17:42:30+00:00",
                    "reason": "Scheduled",
                    "message": "Successfully assigned vm-workloads/"
                    "virt-launcher-rhel9-web-0-x7k2p to ip-10-0-201-9",
                    "namespace": "vm-workloads",
                    "source_component": "default-scheduler",
                    "involved_object_kind": "Pod",
                    "involved_object_name": "virt-launcher-rhel9-web-0-x7k2p",
                    "involved_object_namespace": "vm-workloads",
                    "type": "Normal",
                },
            ],
        }
    )


def scenario_node_stop() -> ScenarioTelemetry:
    """A node scenario as krkn builds it (float timestamps), with
    affected_nodes timings accumulated through AffectedNode's setters."""
    s = ScenarioTelemetry()
    s.scenario = "scenarios/openshift/aws_node_scenarios.yml"
    s.scenario_type = "node_scenarios"
    s.start_timestamp = 1745343972.0065107
    node_yaml = {
        "node_scenarios": [
            {
                "actions": ["node_stop_start_scenario"],
                "node_name": "",
                "label_selector": "node-role.kubernetes.io/worker",
                "instance_count": 1,
                "runs": 1,
                "timeout": 360,
                "duration": 20,
                "cloud_type": "aws",
                "parallel": False,
                "kube_check": True,
                "kubeconfig": "/root/.kube/config",
            }
        ]
    }
    deep_set_attribute("kubeconfig", "anonymized", node_yaml)
    s.parameters_base64 = base64.b64encode(
        yaml.safe_dump(node_yaml).encode()
    ).decode()
    n = AffectedNode(
        node_name="ip-10-0-201-9.us-west-2.compute.internal",
        node_id="i-0a1b2c3d4e5f67890",
    )
    n.set_affected_node_status("stopped", 48.110238)
    n.set_affected_node_status("Unknown", 52.90813)
    n.set_affected_node_status("running", 37.5)
    n.set_affected_node_status("True", 95.02111)
    n.set_affected_node_status("terminated", 6.004)
    s.affected_nodes = [n]
    s.cluster_events = [
        event(
            "ip-10-0-201-9.us-west-2.compute.internal.183a1f8a01d2c3b4",
            "2025-04-22 17:46:51+00:00",
            "NodeNotReady",
            "Node ip-10-0-201-9.us-west-2.compute.internal status is now: "
            "NodeNotReady",
            "default",
            "node-controller",
            "Node",
            "ip-10-0-201-9.us-west-2.compute.internal",
        ),
        event(
            "ip-10-0-201-9.us-west-2.compute.internal.183a1f9b7e6d5c4a",
            "2025-04-22 17:48:20+00:00",
            "NodeNotSchedulable",
            "Node ip-10-0-201-9.us-west-2.compute.internal status is now: "
            "NodeNotSchedulable",
            "default",
            "kubelet",
            "Node",
            "ip-10-0-201-9.us-west-2.compute.internal",
        ),
    ]
    s.exit_status = 0
    s.end_timestamp = 1745344215.7719338
    return s


def node_info(count, itype, ntype):
    """As KrknKubernetes.get_nodes_infos assigns them."""
    n = NodeInfo()
    n.count = count
    n.instance_type = itype
    n.nodes_type = ntype
    n.architecture = "amd64"
    n.kernel_version = "5.14.0-427.65.1.el9_4.x86_64"
    n.kubelet_version = "v1.31.8"
    n.os_version = "Red Hat Enterprise Linux CoreOS 418.94.202505131347-0"
    return n


def taint(node, effect, key, value):
    t = Taint()
    t.node_name = node
    t.effect = effect
    t.key = key
    t.value = value
    return t


def build() -> ChaosRunTelemetry:
    # run_kraken.py: ChaosRunTelemetry(), run_uuid, tag, scenarios, ...
    t = ChaosRunTelemetry()
    t.timestamp = "2025-04-22T17:35:37Z"
    t.run_uuid = RUN_UUID
    t.tag = "etcd-resilience-nightly"
    t.scenarios.extend(
        [scenario_pod_disruption(), scenario_vm_outage(), scenario_node_stop()]
    )

    # health check plugins (virt plugin + http plugin), as run_kraken.py
    t.virt_checks = [
        VirtCheck(
            {
                "vm_name": "rhel9-web-0",
                "ip_address": "10.129.2.41",
                "namespace": "vm-workloads",
                "node_name": "ip-10-0-201-9.us-west-2.compute.internal",
                "ssh_status": False,
                "vmi_ready": True,
                "status": False,
                "check_type": "ssh_access",
                "start_timestamp": "2025-04-22T17:42:30.118204",
                "new_ip_address": "10.129.2.57",
                "end_timestamp": "2025-04-22T17:43:11.503988",
                "duration": 41.385784,
                "phase": "during",
            }
        ),
        VirtCheck(
            {
                "vm_name": "rhel9-web-1",
                "ip_address": "10.129.2.44",
                "namespace": "vm-workloads",
                "node_name": "ip-10-0-188-30.us-west-2.compute.internal",
                "ssh_status": False,
                "vmi_ready": False,
                "status": False,
                "check_type": "both",
                "start_timestamp": "2025-04-22T17:42:46.902117",
                "new_ip_address": "",
                "end_timestamp": "2025-04-22T17:45:12.000931",
                "duration": 145.098814,
                "phase": "pre",
            }
        ),
    ]
    # krkn sets this attribute dynamically (gather_post_virt_checks); it is
    # not a declared field of ChaosRunTelemetry in 7.0.3.
    t.post_virt_checks = [
        VirtCheck(
            {
                "vm_name": "rhel9-web-1",
                "ip_address": "10.129.2.44",
                "namespace": "vm-workloads",
                "node_name": "ip-10-0-188-30.us-west-2.compute.internal",
                "ssh_status": False,
                "vmi_ready": False,
                "status": False,
                "check_type": "both",
                "start_timestamp": "2025-04-22T17:50:03.771654",
                "new_ip_address": "",
                "duration": 0,
                "end_timestamp": "2025-04-22T17:50:03.771654",
                "phase": "post",
            }
        )
    ]
    t.health_checks = [
        # status-change record: krkn writes str(previous_status_code)
        HealthCheck(
            {
                "url": "https://console-openshift-console.apps.rosa-perf.x1y2.p1.openshiftapps.com/health",
                "status": True,
                "status_code": "200",
                "start_timestamp": "2025-04-22T17:35:38.002941",
                "end_timestamp": "2025-04-22T17:35:47.219870",
                "duration": 9.216929,
                "phase": "pre",
            }
        ),
        # final record: krkn writes the raw int status code
        HealthCheck(
            {
                "url": "https://api.rosa-perf.x1y2.p1.openshiftapps.com:6443/readyz",
                "status": False,
                "status_code": 503,
                "start_timestamp": "2025-04-22T17:35:47.219870",
                "end_timestamp": "2025-04-22T17:50:15.884512",
                "duration": 868.664642,
            }
        ),
    ]
    t.object_state_checks = [
        ObjectStateCheck(
            {
                "check_name": "etcd-pods-ready",
                "kind": "Pod",
                "namespace": "openshift-etcd",
                "object_name": "etcd-ip-.*",
                "condition_type": "Ready",
                "condition_status": "True",
                "passed": False,
                "objects_checked": 3,
                "objects_failed": 1,
                "start_timestamp": "2025-04-22T17:35:38.002941",
                "end_timestamp": "2025-04-22T17:38:03.112004",
                "duration": 145.109063,
                "message": "1/3 objects failed condition Ready=True",
                "phase": "during",
            }
        )
    ]

    # KrknTelemetryKubernetes.collect_cluster_metadata
    t.kubernetes_objects_count = {
        "Deployment": 211,
        "Pod": 342,
        "Secret": 1218,
        "ConfigMap": 697,
    }
    t.node_summary_infos = [
        node_info(3, "m6i.2xlarge", "master"),
        node_info(6, "m6i.4xlarge", "worker"),
        node_info(2, "r6i.xlarge", "infra"),
    ]
    t.cluster_version = "4.18.12"
    t.major_version = t.cluster_version[1:5]  # what the k8s path computes...
    t.node_taints = [
        taint(
            "ip-10-0-142-7.us-west-2.compute.internal",
            "NoSchedule",
            "node-role.kubernetes.io/master",
            None,
        ),
        taint(
            "ip-10-0-155-60.us-west-2.compute.internal",
            "NoSchedule",
            "node-role.kubernetes.io/infra",
            "reserved",
        ),
        taint(
            "ip-10-0-201-9.us-west-2.compute.internal",
            "NoExecute",
            "node.kubernetes.io/unreachable",
            None,
        ),
    ]
    t.build_url = "https://prow.ci.openshift.org/view/gs/origin-ci-test/logs/periodic-ci-redhat-chaos-krkn-hub-main-rosa-4.18-nightly-etcd/1914712345678901248"
    t.total_node_count = 0
    for info in t.node_summary_infos:
        t.total_node_count += info.count
    t.job_status = True
    for s in t.scenarios:
        if s.exit_status > 0:
            t.job_status = False
    t.fips_enabled = True
    t.etcd_encryption_enabled = True
    t.ipsec_enabled = False

    # KrknTelemetryOpenshift.collect_cluster_metadata
    t.cloud_infrastructure = "AWS"
    t.cloud_type = "rosa"
    t.cluster_version = "4.18.12"
    t.major_version = t.cluster_version[:4].rstrip(".")  # ...then ocp: "4.18"
    t.network_plugins = ["OVNKubernetes"]
    t.kubernetes_objects_count["VirtualMachineInstance"] = 4
    t.kubernetes_objects_count["Build"] = 17
    t.kubernetes_objects_count["Route"] = 58

    # run_kraken.py: error logs (ErrorLog.to_dict()), resiliency, alerts
    t.error_logs = [
        {
            "timestamp": "2025-04-22T17:37:38.411Z",
            "message": "1 pod(s) in namespace openshift-etcd did not become "
            "ready within 120 seconds",
        },
        {
            "timestamp": "2025-04-22T17:50:15.902Z",
            "message": "health check https://api.rosa-perf.x1y2.p1."
            "openshiftapps.com:6443/readyz failed with status 503",
        },
    ]
    t.overall_resiliency_report = ResiliencyReport(
        json_object={
            "scenarios": {
                "scenarios/openshift/etcd.yml": 62,
                "scenarios/kubevirt/kubevirt-vm-outage.yaml": 88,
                "scenarios/openshift/aws_node_scenarios.yml": 100,
            },
            "resiliency_score": 83,
            "passed_slos": 9,
            "total_slos": 11,
        }
    )
    t.alerts = [
        Alerts(
            name="etcd cluster has insufficient members",
            severity="critical",
            message="etcdInsufficientMembers firing for job etcd",
            starts_at="2025-04-22 17:36:10",
            status=False,
            phase="during",
        )
    ]
    return t


def main() -> int:
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} OUT_JSON", file=sys.stderr)
        return 2
    out_path = sys.argv[1]

    telemetry = build()
    doc = json.loads(telemetry.to_json())

    # Fields newer krkn versions send that krkn-lib 7.0.3 does not declare.
    # krkn (run_kraken.py) sets chaos_telemetry.failed_alerts to a list of
    # FailedAlert(name, severity, message, namespace, starts_at).
    doc["failed_alerts"] = [
        {
            "name": "etcd cluster has insufficient members",
            "severity": "critical",
            "message": "etcdInsufficientMembers firing for job etcd",
            "namespace": "openshift-etcd",
            "starts_at": "2025-04-22 17:36:10",
        }
    ]
    doc["scenarios"][0]["recovery_hints"] = {
        "slowest_pod": "etcd-ip-10-0-142-7.us-west-2.compute.internal",
        "suggested_timeout_seconds": 180,
        "notes": ["quorum lost for 14.7s", None],
    }

    text = json.dumps(doc, indent=2, sort_keys=False) + "\n"
    with open(out_path, "w", encoding="utf-8") as f:
        f.write(text)

    # Sanity: krkn-lib must accept its own output plus the unknown fields.
    with open(out_path, encoding="utf-8") as f:
        back = ChaosRunTelemetry(json.load(f))
    assert len(back.scenarios) == 3
    assert back.scenarios[0].parameters[0]["config"]["kubeconfig"] == "anonymized"
    assert back.scenarios[0].parameters_base64 == ""
    # a second krkn-lib round trip is stable
    again = ChaosRunTelemetry(json.loads(back.to_json()))
    assert json.loads(again.to_json()) == json.loads(back.to_json())
    print(f"wrote {out_path} ({len(text)} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

//! `krkn-telemetry collect` against the fake API server serving recorded clusters.

use std::time::{Duration, Instant};

use krkn_telemetry_fake_kube::{Access, Fault, SyntheticCluster};
use serde_json::{Value, json};

use crate::support::{cli, cluster, collect, kube, kubeconfig, text};

/// (count, nodes_type, instance_type, architecture) of every node summary entry.
fn kinds(out: &Value) -> Vec<(i64, String, String, String)> {
    out["node_summary_infos"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|n| {
            (
                n["count"].as_i64().expect("count"),
                n["nodes_type"].as_str().expect("type").to_owned(),
                n["instance_type"].as_str().expect("instance").to_owned(),
                n["architecture"].as_str().expect("arch").to_owned(),
            )
        })
        .collect()
}

fn kind(count: i64, role: &str, instance: &str, arch: &str) -> (i64, String, String, String) {
    (count, role.into(), instance.into(), arch.into())
}

#[test]
fn ocp_4_4_cluster_fields_come_out_as_the_objects_say() {
    let server = kube(cluster("ocp-4.4"));
    let out = collect(&server, &[]);
    // nodes/: three masters and three workers, all n1-standard-4 on RHCOS 44.81.
    assert_eq!(
        kinds(&out),
        [
            kind(3, "master", "n1-standard-4", "amd64"),
            kind(3, "worker", "n1-standard-4", "amd64")
        ]
    );
    let first = &out["node_summary_infos"][0];
    assert_eq!(first["kernel_version"], "4.18.0-147.20.1.el8_1.x86_64");
    assert_eq!(first["kubelet_version"], "v1.17.1+9d33dd3");
    assert_eq!(
        first["os_version"],
        "Red Hat Enterprise Linux CoreOS 44.81.202006231330-0 (Ootpa)"
    );
    assert_eq!(out["total_node_count"], 6);
    // Each master carries node-role.kubernetes.io/master:NoSchedule, with no value.
    let taints = out["node_taints"].as_array().expect("taints");
    assert_eq!(taints.len(), 3);
    for (i, taint) in taints.iter().enumerate() {
        assert_eq!(
            taint,
            &json!({"node_name": format!("ci-ln-3z9y7mt-f76d1-69jcr-master-{i}"),
                "effect": "NoSchedule", "key": "node-role.kubernetes.io/master", "value": null})
        );
    }
    // version.json: "Done applying 4.4.0-0.nightly-2020-03-18-092817".
    assert_eq!(out["cluster_version"], "4.4.0-0.nightly-2020-03-18-092817");
    assert_eq!(out["major_version"], "4.4");
    // infrastructure.json: platform AWS, no resource tags (the set mixes clusters: GCP nodes).
    assert_eq!(out["cloud_infrastructure"], "AWS");
    assert_eq!(out["cloud_type"], "self-managed");
    // network.json: OpenShiftSDN.
    assert_eq!(out["network_plugins"], json!(["OpenShiftSDN"]));
    assert_eq!(out["fips_enabled"], false);
    assert_eq!(out["warnings"], json!([]));
    // OpenShift adds Build and Route counts; no KubeVirt here, so no VMI count.
    assert_eq!(
        out["kubernetes_objects_count"],
        json!({"Build": 0, "ConfigMap": 0, "Deployment": 0, "Pod": 0, "Route": 0, "Secret": 0})
    );
}

#[test]
fn ocp_4_7_cluster_fields_come_out_as_the_objects_say() {
    let server = kube(cluster("ocp-4.7"));
    let out = collect(&server, &[]);
    // Bare-metal lab nodes: no instance-type label.
    assert_eq!(
        kinds(&out),
        [
            kind(1, "master", "unknown", "amd64"),
            kind(1, "worker", "unknown", "amd64")
        ]
    );
    assert_eq!(out["total_node_count"], 2);
    assert_eq!(
        out["node_taints"],
        json!([{"node_name": "master-0.imeixner20210707.lab.upshift.rdu2.redhat.com",
            "effect": "NoSchedule", "key": "node-role.kubernetes.io/master", "value": null}])
    );
    assert_eq!(out["cluster_version"], "4.7.16");
    assert_eq!(out["major_version"], "4.7");
    // infrastructure.json: platform None (user-provisioned, no cloud).
    assert_eq!(out["cloud_infrastructure"], "None");
    assert_eq!(out["cloud_type"], "self-managed");
    assert_eq!(out["network_plugins"], json!(["OpenShiftSDN"]));
    assert_eq!(out["warnings"], json!([]));
}

#[test]
fn plain_kubernetes_gives_the_defaults_and_the_version_string() {
    let server = kube(cluster("eks-1.31"));
    let out = collect(&server, &[]);
    // server-version.json: gitVersion v1.31.4-eks-2d5f260, minor "31+".
    assert_eq!(out["cluster_version"], "v1.31.4-eks-2d5f260");
    assert_eq!(out["major_version"], "1.31");
    // No OpenShift: krkn-lib's defaults.
    assert_eq!(out["cloud_infrastructure"], "Unknown");
    assert_eq!(out["cloud_type"], "self-managed");
    assert_eq!(out["network_plugins"], json!(["Unknown"]));
    assert_eq!(out["etcd_encryption_enabled"], false);
    assert_eq!(out["ipsec_enabled"], false);
    assert_eq!(out["fips_enabled"], false);
    // EKS nodes carry no role label.
    assert_eq!(
        kinds(&out),
        [
            kind(3, "unknown", "m5.xlarge", "amd64"),
            kind(1, "unknown", "m6g.large", "arm64")
        ]
    );
    assert_eq!(
        out["node_taints"],
        json!([
            {"node_name": "ip-10-0-33-141.us-west-2.compute.internal", "effect": "NoSchedule",
             "key": "dedicated", "value": "arm"},
            {"node_name": "ip-10-0-45-203.us-west-2.compute.internal", "effect": "NoSchedule",
             "key": "node.kubernetes.io/unschedulable", "value": null}
        ])
    );
    assert_eq!(
        out["kubernetes_objects_count"],
        json!({"ConfigMap": 5, "Deployment": 3, "Pod": 7, "Secret": 2})
    );
    assert_eq!(out["warnings"], json!([]));
    // The OpenShift group was asked for once and answered 404; nothing else of it was tried.
    let openshift: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("openshift.io"))
        .collect();
    assert_eq!(openshift.len(), 1, "{openshift:?}");
    assert_eq!(openshift[0].status, 404);
}

#[test]
fn counts_use_metadata_only_pages() {
    // 1,234 pods over 10 namespaces, counted 100 to a page.
    let mut fixture = cluster("eks-1.31");
    fixture = fixture.with_synthetic(SyntheticCluster::small(3, 1_234, 250));
    let server = kube(fixture);
    let out = collect(&server, &["--page-size", "100"]);
    assert_eq!(out["kubernetes_objects_count"]["Pod"], 7 + 1_234);
    assert_eq!(out["kubernetes_objects_count"]["ConfigMap"], 5 + 250);
    assert_eq!(out["total_node_count"], 4 + 3);
    let pod_lists: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/pods")
        .collect();
    assert_eq!(pod_lists.len(), 13, "1,241 pods in pages of 100");
    for request in &pod_lists {
        let accept = request.accept.as_deref().unwrap_or_default();
        assert!(
            accept.contains("as=PartialObjectMetadataList"),
            "a count fetched full objects: {accept}"
        );
        assert!(request.query.contains("limit=100"), "{}", request.query);
    }
    assert_eq!(
        pod_lists
            .iter()
            .filter(|r| r.query.contains("continue="))
            .count(),
        12
    );
}

#[test]
fn a_hung_probe_costs_its_deadline_and_the_rest_still_arrives() {
    let server = kube(cluster("ocp-4.4"));
    server.inject("/apis/config.openshift.io/v1/clusterversions", Fault::Hang);
    server.inject("/api/v1/secrets", Fault::Status(500));
    let started = Instant::now();
    let out = collect(&server, &["--timeout", "2"]);
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "a 2 s deadline took {took:?}"
    );
    // The hung and the failing probe are warnings, their fields defaults; the rest is there.
    let warnings: Vec<String> = serde_json::from_value(out["warnings"].clone()).expect("list");
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("cluster version: no answer within")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.starts_with("count Secret:")),
        "{warnings:?}"
    );
    assert_eq!(out["cluster_version"], "Unknown");
    assert!(out["kubernetes_objects_count"].get("Secret").is_none());
    assert_eq!(out["kubernetes_objects_count"]["Pod"], 0);
    assert_eq!(out["cloud_infrastructure"], "AWS");
    assert_eq!(out["total_node_count"], 6);
}

#[test]
fn plain_http_a_cluster_that_is_down_and_a_bad_kubeconfig() {
    let server = krkn_telemetry_fake_kube::FakeKube::builder(cluster("ocp-4.7"))
        .start()
        .expect("starts");
    assert!(server.url().starts_with("http://"));
    assert_eq!(collect(&server, &[])["cluster_version"], "4.7.16");

    // A cluster that does not answer: every probe fails fast, the defaults are printed, exit 1.
    let config = kubeconfig(&server);
    drop(server);
    let down = cli(
        &[
            "collect",
            "--kubeconfig",
            config.path.to_str().expect("utf-8"),
        ],
        None,
        &[],
    );
    assert_eq!(down.status.code(), Some(1), "{}", text(&down.stderr));
    assert!(text(&down.stderr).contains("no probe got an answer"));
    let out: Value = serde_json::from_slice(&down.stdout).expect("defaults printed");
    assert_eq!(out["cluster_version"], "Unknown");
    assert!(!out["warnings"].as_array().expect("list").is_empty());

    let missing = cli(
        &["collect", "--kubeconfig", "/nonexistent/config"],
        None,
        &[],
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("kubeconfig /nonexistent/config"),
        "{}",
        text(&missing.stderr)
    );
}

#[test]
fn output_file_and_request_attributes() {
    let server = kube(cluster("ocp-4.4"));
    let config = kubeconfig(&server);
    let output = config.dir.path().join("cluster.json");
    let out = cli(
        &[
            "collect",
            "--kubeconfig",
            config.path.to_str().expect("utf-8"),
            "--output",
            output.to_str().expect("utf-8"),
        ],
        None,
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let written: Value =
        serde_json::from_slice(&std::fs::read(&output).expect("written")).expect("JSON");
    assert_eq!(written["total_node_count"], 6);
    // Every request was a read.
    for request in server.requests() {
        match &request.access {
            Access::Resource { verb, .. } => {
                assert!(verb == "get" || verb == "list", "{request:?}")
            }
            Access::NonResource { verb } => assert_eq!(verb, "get"),
        }
    }
}

//! `infra/k8s/clusterrole.yaml` names exactly what the collector reads: every request the
//! fake API server recorded is allowed by a rule, and every rule is needed by some request
//! (but pods/exec and pods/log, which the artifact steps use).

use std::path::Path;

use krkn_telemetry_fake_kube::{Access, RecordedRequest};
use serde_json::{Value, json};

use crate::support::{cli, cluster, collect, krkn_config, kube, kubeconfig, text};

#[derive(Debug)]
struct Rule {
    groups: Vec<String>,
    resources: Vec<String>,
    names: Vec<String>,
    verbs: Vec<String>,
}

fn strings(value: &serde_norway::Value, key: &str) -> Vec<String> {
    value
        .get(key)
        .and_then(serde_norway::Value::as_sequence)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn cluster_role() -> Vec<Rule> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/k8s/clusterrole.yaml");
    let text = std::fs::read_to_string(&path).expect("clusterrole.yaml");
    let role: serde_norway::Value = serde_norway::from_str(&text).expect("YAML");
    assert_eq!(
        role.get("kind").and_then(|k| k.as_str()),
        Some("ClusterRole")
    );
    role.get("rules")
        .and_then(serde_norway::Value::as_sequence)
        .expect("rules")
        .iter()
        .map(|rule| Rule {
            groups: strings(rule, "apiGroups"),
            resources: strings(rule, "resources"),
            names: strings(rule, "resourceNames"),
            verbs: strings(rule, "verbs"),
        })
        .collect()
}

/// (group, resource[/subresource], verb, name) of a resource request.
fn attributes(request: &RecordedRequest) -> Option<(String, String, String, Option<String>)> {
    match &request.access {
        Access::Resource {
            verb,
            group,
            resource,
            subresource,
            name,
            ..
        } => {
            let resource = match subresource {
                Some(sub) => format!("{resource}/{sub}"),
                None => resource.clone(),
            };
            Some((group.clone(), resource, verb.clone(), name.clone()))
        }
        Access::NonResource { .. } => None,
    }
}

fn allows(
    rule: &Rule,
    (group, resource, verb, name): &(String, String, String, Option<String>),
) -> bool {
    rule.groups.contains(group)
        && rule.resources.contains(resource)
        && rule.verbs.contains(verb)
        && (rule.names.is_empty() || name.as_ref().is_some_and(|n| rule.names.contains(n)))
}

/// Requests of a full `send` (metadata, events) against `fixture`.
fn requests_of_a_run(fixture: &str) -> Vec<RecordedRequest> {
    let server = kube(cluster(fixture));
    collect(&server, &[]);
    let config = kubeconfig(&server);
    let dir = config.dir.path();
    let krkn = krkn_config(dir, "  events_backup: true\n", "");
    let input = dir.join("output.json");
    let seed = include_bytes!("../../../model/tests/data/seed-sample.json");
    std::fs::write(&input, seed).expect("written");
    let out = cli(
        &[
            "send",
            "--config",
            krkn.to_str().expect("utf-8"),
            "--input",
            input.to_str().expect("utf-8"),
            "--kubeconfig",
            config.path.to_str().expect("utf-8"),
            "--dry-run",
        ],
        None,
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    server.requests()
}

#[test]
fn the_cluster_role_names_exactly_what_the_collector_reads() {
    let rules = cluster_role();
    let mut requests = requests_of_a_run("ocp-4.4");
    requests.extend(requests_of_a_run("eks-1.31"));
    let mut used = vec![false; rules.len()];
    for request in &requests {
        let Some(attributes) = attributes(request) else {
            continue;
        };
        let allowing: Vec<usize> = (0..rules.len())
            .filter(|&i| allows(&rules[i], &attributes))
            .collect();
        assert!(
            !allowing.is_empty(),
            "no ClusterRole rule allows {attributes:?} ({} {}?{})",
            request.method,
            request.path,
            request.query
        );
        for i in allowing {
            used[i] = true;
        }
    }
    let unused: Vec<Value> = rules
        .iter()
        .zip(&used)
        .filter(|(rule, used)| !**used && !rule.resources.iter().any(|r| r == "pods/exec" || r == "pods/log"))
        .map(|(rule, _)| json!({"apiGroups": rule.groups, "resources": rule.resources, "verbs": rule.verbs}))
        .collect();
    assert_eq!(unused, Vec::<Value>::new(), "rules no request needed");
}

#[test]
fn the_manifests_are_the_kinds_the_readme_names() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/k8s");
    let mut kinds = Vec::new();
    for name in [
        "namespace",
        "serviceaccount",
        "clusterrole",
        "clusterrolebinding",
        "job",
        "config-secret.example",
    ] {
        let text = std::fs::read_to_string(folder.join(format!("{name}.yaml"))).expect("manifest");
        let doc: serde_norway::Value = serde_norway::from_str(&text).expect("YAML");
        kinds.push(
            doc.get("kind")
                .and_then(|k| k.as_str())
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assert_eq!(
        kinds,
        [
            "Namespace",
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
            "Job",
            "Secret"
        ]
    );
    let job: serde_norway::Value =
        serde_norway::from_str(&std::fs::read_to_string(folder.join("job.yaml")).expect("job"))
            .expect("YAML");
    let spec = &job["spec"]["template"]["spec"];
    assert_eq!(spec["serviceAccountName"].as_str(), Some("krkn-telemetry"));
    let args: Vec<&str> = spec["containers"][0]["args"]
        .as_sequence()
        .expect("args")
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert_eq!(
        &args[..3],
        ["run", "--config", "/etc/krkn-telemetry/config.yaml"]
    );
}

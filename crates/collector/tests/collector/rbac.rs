//! Least privilege, held against the requests the collector really makes (recorded by the fake
//! API server in RBAC's terms): `send` on OpenShift and EKS, `prometheus-backup` and
//! `logs --pods`. Every request is allowed by a rule of `infra/k8s` in its scope (a Role only
//! in its namespace), every rule is needed by some request, and what is granted only by an
//! optional component (`components/count-secrets`, `components/pod-logs`) is exactly what
//! that component says it is for. Without `list secrets` the run goes out without the Secret
//! count and one warning says why.

use std::path::{Path, PathBuf};

use krkn_telemetry_fake_kube::{Access, Fault, RecordedRequest};
use serde_json::{Value, json};

use crate::support::{TestApi, cli, cluster, collect, krkn_config, kube, kubeconfig, text};

/// Where a rule applies, and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Grant {
    /// `None` for a ClusterRole (bound cluster-wide), the namespace of a Role.
    namespace: Option<String>,
    /// `None` for the base (`kubectl apply -k infra/k8s`), else the component's folder.
    component: Option<String>,
}

#[derive(Debug)]
struct Rule {
    grant: Grant,
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

fn k8s() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/k8s")
}

/// Every object of the YAML files that `kustomization.yaml` in `folder` lists.
fn objects(folder: &Path) -> Vec<serde_norway::Value> {
    let text = std::fs::read_to_string(folder.join("kustomization.yaml")).expect("kustomization");
    let kustomization: serde_norway::Value = serde_norway::from_str(&text).expect("YAML");
    let mut out = Vec::new();
    for file in strings(&kustomization, "resources") {
        let text = std::fs::read_to_string(folder.join(&file)).expect("resource file");
        for doc in serde_norway::Deserializer::from_str(&text) {
            out.push(serde::Deserialize::deserialize(doc).expect("YAML object"));
        }
    }
    out
}

/// The rules of the base and of every component, each bound to the collector's account
/// (a role without such a binding grants it nothing and fails the test).
fn rules() -> Vec<Rule> {
    let mut out = Vec::new();
    let mut folders = vec![(k8s(), None)];
    for component in ["count-secrets", "pod-logs"] {
        folders.push((
            k8s().join("components").join(component),
            Some(component.to_owned()),
        ));
    }
    for (folder, component) in folders {
        let objects = objects(&folder);
        for role in objects
            .iter()
            .filter(|o| matches!(o["kind"].as_str(), Some("Role" | "ClusterRole")))
        {
            let kind = role["kind"].as_str().unwrap_or_default();
            let name = role["metadata"]["name"].as_str().expect("role name");
            let namespace = role["metadata"]["namespace"].as_str().map(str::to_owned);
            assert_eq!(
                kind == "Role",
                namespace.is_some(),
                "{name}: a Role has a namespace"
            );
            let bound = objects.iter().any(|b| {
                b["kind"].as_str() == Some(&format!("{kind}Binding"))
                    && b["roleRef"]["name"].as_str() == Some(name)
                    && b["metadata"]["namespace"].as_str() == namespace.as_deref()
                    && b["subjects"].as_sequence().is_some_and(|s| {
                        s.iter().any(|s| {
                            s["kind"].as_str() == Some("ServiceAccount")
                                && s["name"].as_str() == Some("krkn-telemetry")
                                && s["namespace"].as_str() == Some("krkn-telemetry")
                        })
                    })
            });
            assert!(
                bound,
                "{kind} {name} is not bound to krkn-telemetry/krkn-telemetry"
            );
            for rule in role["rules"].as_sequence().expect("rules") {
                out.push(Rule {
                    grant: Grant {
                        namespace: namespace.clone(),
                        component: component.clone(),
                    },
                    groups: strings(rule, "apiGroups"),
                    resources: strings(rule, "resources"),
                    names: strings(rule, "resourceNames"),
                    verbs: strings(rule, "verbs"),
                });
            }
        }
    }
    out
}

/// What a resource request needs: (group, resource[/subresource], verbs that authorize it,
/// namespace, name). A websocket exec is `create` since Kubernetes 1.30 and `get` before, so
/// both verbs are needed to run on either.
#[derive(Debug)]
struct Need {
    group: String,
    resource: String,
    verbs: Vec<String>,
    namespace: Option<String>,
    name: Option<String>,
}

fn need(request: &RecordedRequest) -> Option<Need> {
    let Access::Resource {
        verb,
        group,
        resource,
        subresource,
        namespace,
        name,
    } = &request.access
    else {
        return None;
    };
    let resource = match subresource {
        Some(sub) => format!("{resource}/{sub}"),
        None => resource.clone(),
    };
    let verbs = if resource == "pods/exec" {
        vec!["create".to_owned(), "get".to_owned()]
    } else {
        vec![verb.clone()]
    };
    Some(Need {
        group: group.clone(),
        resource,
        verbs,
        namespace: namespace.clone(),
        name: name.clone(),
    })
}

fn allows(rule: &Rule, need: &Need, verb: &str) -> bool {
    rule.groups.contains(&need.group)
        && rule.resources.contains(&need.resource)
        && rule.verbs.iter().any(|v| v == verb)
        && (rule.names.is_empty() || need.name.as_ref().is_some_and(|n| rule.names.contains(n)))
        && (rule.grant.namespace.is_none() || rule.grant.namespace == need.namespace)
}

/// Requests of a `send` (metadata, events) against `fixture`.
fn requests_of_a_send(fixture: &str) -> Vec<RecordedRequest> {
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

/// Requests of a Prometheus backup from OpenShift's prometheus-k8s-0.
fn requests_of_a_backup() -> Vec<RecordedRequest> {
    let data = crate::prometheus::prometheus_copy();
    let server = crate::prometheus::openshift_with_prometheus(data.path());
    let kube = kubeconfig(&server);
    let api = TestApi::start();
    let archive = kube.dir.path().join("archive");
    let config = crate::prometheus::config(kube.dir.path(), &api.url, &archive, data.path());
    let out = cli(
        &crate::prometheus::backup_args(&config, &kube.path),
        None,
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    server.requests()
}

/// Requests of `logs --pods`.
fn requests_of_pod_logs() -> Vec<RecordedRequest> {
    let server = crate::logs::cluster_with_the_sample_pods();
    let kube = kubeconfig(&server);
    let output = kube.dir.path().join("filtered");
    let out = cli(
        &[
            "logs",
            "--pods",
            "--kubeconfig",
            kube.path.to_str().expect("utf-8"),
            "--start",
            "1694458080",
            "--end",
            "1694458200",
            "--output-dir",
            output.to_str().expect("utf-8"),
        ],
        None,
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    server.requests()
}

#[test]
fn the_manifests_grant_exactly_what_the_collector_uses_and_no_more() {
    let rules = rules();
    let mut requests = requests_of_a_send("ocp-4.4");
    requests.extend(requests_of_a_send("eks-1.31"));
    requests.extend(requests_of_a_backup());
    requests.extend(requests_of_pod_logs());
    // (rule, verb) pairs some request needed.
    let mut used = std::collections::BTreeSet::new();
    let mut by_component: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for request in &requests {
        let Some(need) = need(request) else { continue };
        for verb in &need.verbs {
            let allowing: Vec<usize> = (0..rules.len())
                .filter(|&i| allows(&rules[i], &need, verb))
                .collect();
            assert!(
                !allowing.is_empty(),
                "no rule of infra/k8s allows {verb} {need:?} ({} {}?{})",
                request.method,
                request.path,
                request.query
            );
            let base = allowing.iter().any(|&i| rules[i].grant.component.is_none());
            for &i in &allowing {
                used.insert((i, verb.clone()));
                if let (false, Some(component)) = (base, &rules[i].grant.component) {
                    by_component
                        .entry(component.clone())
                        .or_default()
                        .insert(format!("{verb} {}", need.resource));
                }
            }
        }
    }
    let unused: Vec<Value> = rules
        .iter()
        .enumerate()
        .flat_map(|(i, rule)| rule.verbs.iter().map(move |verb| (i, rule, verb)))
        .filter(|(i, _, verb)| !used.contains(&(*i, (*verb).clone())))
        .map(|(_, rule, verb)| {
            json!({"component": rule.grant.component, "namespace": rule.grant.namespace,
                   "apiGroups": rule.groups, "resources": rule.resources, "verb": verb})
        })
        .collect();
    assert_eq!(unused, Vec::<Value>::new(), "granted, never used");
    let expected: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> = [
        ("count-secrets", "list secrets"),
        ("pod-logs", "get pods/log"),
    ]
    .into_iter()
    .map(|(c, what)| (c.to_owned(), [what.to_owned()].into()))
    .collect();
    assert_eq!(
        by_component, expected,
        "what only the optional components grant"
    );
    // The Prometheus exec is the namespaced Role's, on the one pod.
    let exec: Vec<&Rule> = rules
        .iter()
        .filter(|r| r.resources.iter().any(|x| x == "pods/exec"))
        .collect();
    assert_eq!(exec.len(), 1);
    assert_eq!(
        exec[0].grant.namespace.as_deref(),
        Some("openshift-monitoring")
    );
    assert_eq!(exec[0].names, ["prometheus-k8s-0"]);
}

#[test]
fn without_list_secrets_the_run_goes_out_without_the_secret_count_and_says_so_once() {
    let server = krkn_telemetry_fake_kube::FakeKube::builder(cluster("ocp-4.4"))
        .https()
        .fault("/api/v1/secrets", Fault::Status(403))
        .start()
        .expect("fake API server starts");
    let config = kubeconfig(&server);
    let out = cli(
        &[
            "collect",
            "--kubeconfig",
            config.path.to_str().expect("utf-8"),
        ],
        None,
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let counts = doc["kubernetes_objects_count"]
        .as_object()
        .expect("kubernetes_objects_count");
    assert!(!counts.contains_key("Secret"), "{counts:?}");
    assert!(
        counts.contains_key("ConfigMap") && counts.contains_key("Pod"),
        "{counts:?}"
    );
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("Secret")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains("components/count-secrets"),
        "the warning says how to grant it: {stderr}"
    );
}

#[test]
fn the_job_runs_the_image_as_its_user_with_bounded_volumes() {
    let job: serde_norway::Value =
        serde_norway::from_str(&std::fs::read_to_string(k8s().join("job/job.yaml")).expect("job"))
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
    // The image's USER, numeric.
    let containerfile =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Containerfile"))
            .expect("Containerfile");
    let user = containerfile
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("USER");
    let (uid, gid) = user.split_once(':').expect("uid:gid");
    assert_eq!(
        spec["securityContext"]["runAsUser"]
            .as_u64()
            .map(|u| u.to_string())
            .as_deref(),
        Some(uid)
    );
    assert_eq!(
        spec["securityContext"]["runAsGroup"]
            .as_u64()
            .map(|g| g.to_string())
            .as_deref(),
        Some(gid)
    );
    // Every writable volume is bounded; the archive holds backup_threads + 1 parts of
    // archive_size KB (of the example config) plus 256 Mi for the documents and logs.
    let volumes = spec["volumes"].as_sequence().expect("volumes");
    let limit = |name: &str| -> u64 {
        let volume = volumes
            .iter()
            .find(|v| v["name"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("volume {name}"));
        quantity(
            volume["emptyDir"]["sizeLimit"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: an emptyDir with a sizeLimit")),
        )
    };
    let secret: serde_norway::Value = serde_norway::from_str(
        &std::fs::read_to_string(k8s().join("config-secret.example.yaml")).expect("secret"),
    )
    .expect("YAML");
    let config: serde_norway::Value = serde_norway::from_str(
        secret["stringData"]["config.yaml"]
            .as_str()
            .expect("config.yaml"),
    )
    .expect("YAML");
    let threads = config["telemetry"]["backup_threads"]
        .as_u64()
        .expect("backup_threads");
    let part_kb = config["telemetry"]["archive_size"]
        .as_u64()
        .expect("archive_size");
    let needed = (threads + 1) * part_kb * 1024 + 256 * 1024 * 1024;
    assert!(
        limit("archive") >= needed,
        "archive sizeLimit {} < {needed}",
        limit("archive")
    );
    assert!(limit("tmp") > 0);
    let mounts: Vec<&str> = spec["containers"][0]["volumeMounts"]
        .as_sequence()
        .expect("mounts")
        .iter()
        .filter_map(|m| m["mountPath"].as_str())
        .collect();
    assert!(mounts.contains(&"/tmp") && mounts.contains(&"/var/lib/krkn-telemetry"));
    assert_eq!(
        config["telemetry"]["archive_path"].as_str(),
        Some("/var/lib/krkn-telemetry"),
        "the example config archives on the bounded volume"
    );
}

/// A Kubernetes quantity with a binary suffix, in bytes.
fn quantity(text: &str) -> u64 {
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let number: u64 = number.parse().expect("a number");
    number
        * match unit {
            "" => 1,
            "Ki" => 1 << 10,
            "Mi" => 1 << 20,
            "Gi" => 1 << 30,
            other => panic!("unit {other}"),
        }
}

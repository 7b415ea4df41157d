//! The resource types the fake server knows, and the discovery documents built from them.
//!
//! A real API server answers discovery (`/api`, `/apis`, `/apis/<group>/<version>`) for every
//! group it serves; clients use it to tell OpenShift from plain Kubernetes. The fake serves a
//! group only when the cluster has it (see [`crate::Cluster::served`]).

use serde_json::{Value, json};

/// One resource type: where it lives in the API and how its objects are named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResourceType {
    /// API group; empty for the core group (`/api/v1`).
    pub group: &'static str,
    /// API version within the group.
    pub version: &'static str,
    /// Plural resource name as it appears in URLs.
    pub plural: &'static str,
    /// Object kind.
    pub kind: &'static str,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
}

impl ResourceType {
    /// `v1` or `apps/v1`, as objects carry it in `apiVersion`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The URL prefix of the group version: `/api/v1` or `/apis/apps/v1`.
    pub fn group_path(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }
}

const fn rt(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
) -> ResourceType {
    ResourceType {
        group,
        version,
        plural,
        kind,
        namespaced,
    }
}

/// Every resource type the fake server can serve.
pub const RESOURCE_TYPES: &[ResourceType] = &[
    rt("", "v1", "nodes", "Node", false),
    rt("", "v1", "namespaces", "Namespace", false),
    rt("", "v1", "pods", "Pod", true),
    rt("", "v1", "secrets", "Secret", true),
    rt("", "v1", "configmaps", "ConfigMap", true),
    rt("", "v1", "events", "Event", true),
    rt("apps", "v1", "deployments", "Deployment", true),
    rt("apps", "v1", "daemonsets", "DaemonSet", true),
    rt(
        "config.openshift.io",
        "v1",
        "clusterversions",
        "ClusterVersion",
        false,
    ),
    rt(
        "config.openshift.io",
        "v1",
        "infrastructures",
        "Infrastructure",
        false,
    ),
    rt("config.openshift.io", "v1", "networks", "Network", false),
    rt(
        "config.openshift.io",
        "v1",
        "apiservers",
        "APIServer",
        false,
    ),
    rt("build.openshift.io", "v1", "builds", "Build", true),
    rt("route.openshift.io", "v1", "routes", "Route", true),
    rt(
        "kubevirt.io",
        "v1",
        "virtualmachineinstances",
        "VirtualMachineInstance",
        true,
    ),
];

/// The API groups that exist only on OpenShift.
pub const OPENSHIFT_GROUPS: &[&str] = &[
    "config.openshift.io",
    "build.openshift.io",
    "route.openshift.io",
];

/// The resource type of a kind, if the fake knows it.
pub fn by_kind(kind: &str) -> Option<&'static ResourceType> {
    RESOURCE_TYPES.iter().find(|r| r.kind == kind)
}

/// The resource type at a group, version and plural, if the fake knows it.
pub fn by_path(group: &str, version: &str, plural: &str) -> Option<&'static ResourceType> {
    RESOURCE_TYPES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// Guesses a kind from a fixture file's folder or stem, for objects saved without `kind`
/// (the insights-operator archive strips it): `nodes/x.json` is a Node, `version.json` the
/// ClusterVersion, `infrastructure.json` an Infrastructure.
pub fn guess_kind(folder: &str, stem: &str) -> Option<&'static ResourceType> {
    let named = |name: &str| {
        RESOURCE_TYPES
            .iter()
            .find(|r| r.plural == name || r.kind.eq_ignore_ascii_case(name))
    };
    match stem {
        "version" | "clusterversion" => by_kind("ClusterVersion"),
        _ => named(folder).or_else(|| named(stem)),
    }
}

/// `GET /api`: the core group's versions.
pub fn core_versions() -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}],
    })
}

/// `GET /apis`: the named groups served.
pub fn group_list(groups: &[&str]) -> Value {
    let groups: Vec<Value> = groups
        .iter()
        .map(|group| {
            let version = RESOURCE_TYPES
                .iter()
                .find(|r| r.group == *group)
                .map_or("v1", |r| r.version);
            let gv = json!({"groupVersion": format!("{group}/{version}"), "version": version});
            json!({"name": group, "versions": [gv.clone()], "preferredVersion": gv})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /api/v1` or `/apis/<group>/<version>`: the resources of one group version.
pub fn resource_list(group: &str, version: &str, extra: &[Value]) -> Value {
    let mut resources: Vec<Value> = RESOURCE_TYPES
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .map(|r| {
            json!({
                "name": r.plural,
                "singularName": r.kind.to_ascii_lowercase(),
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": ["get", "list"],
            })
        })
        .collect();
    resources.extend_from_slice(extra);
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    })
}

/// A Kubernetes `Status` error body, which clients parse to explain a failure.
pub fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    })
}

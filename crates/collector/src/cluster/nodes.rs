//! Node summaries and taints, as krkn-lib's `get_nodes_infos` makes them: one entry per
//! distinct (architecture, instance type, role, kernel, kubelet, OS image), with a count, in
//! the order the kinds first appear.

use k8s_openapi::api::core::v1::Node;
use krkn_telemetry_model::{Field, NodeInfo, Taint};
use kube::api::{Api, ListParams};

use super::ProbeError;

/// What the node list says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeSummary {
    /// One entry per distinct kind of node.
    pub infos: Vec<NodeInfo>,
    /// Every taint of every node.
    pub taints: Vec<Taint>,
    /// FIPS as plain Kubernetes shows it: a node annotated `config.openshift.io/fips: "true"`
    /// or labelled `fips-enabled: "true"`.
    pub fips: bool,
}

/// Role labels in krkn-lib's order of precedence, then `control-plane` (which modern
/// Kubernetes puts on control-plane nodes instead of `master`) as `master`.
const ROLES: &[(&str, &str)] = &[
    ("node-role.kubernetes.io/infra", "infra"),
    ("node-role.kubernetes.io/worker", "worker"),
    ("node-role.kubernetes.io/master", "master"),
    ("node-role.kubernetes.io/workload", "workload"),
    ("node-role.kubernetes.io/app", "application"),
    ("node-role.kubernetes.io/control-plane", "master"),
];

/// Lists every node (paged) and summarises them.
pub async fn summarize(client: &kube::Client, page_size: u32) -> Result<NodeSummary, ProbeError> {
    let api: Api<Node> = Api::all(client.clone());
    let mut summary = Summarizer::default();
    let mut params = ListParams::default().limit(page_size);
    loop {
        let page = api.list(&params).await?;
        for node in &page.items {
            summary.add(node);
        }
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    Ok(summary.finish())
}

/// Folds nodes into a [`NodeSummary`].
#[derive(Debug, Default)]
pub struct Summarizer {
    kinds: Vec<(NodeKind, i64)>,
    taints: Vec<Taint>,
    fips: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct NodeKind {
    architecture: String,
    instance_type: String,
    nodes_type: String,
    kernel_version: String,
    kubelet_version: String,
    os_version: String,
}

impl Summarizer {
    /// Adds one node.
    pub fn add(&mut self, node: &Node) {
        let labels = node.metadata.labels.clone().unwrap_or_default();
        let annotations = node.metadata.annotations.clone().unwrap_or_default();
        let info = node.status.as_ref().and_then(|s| s.node_info.as_ref());
        let field = |get: fn(&k8s_openapi::api::core::v1::NodeSystemInfo) -> &String| {
            info.map(get).cloned().unwrap_or_default()
        };
        let kind = NodeKind {
            architecture: field(|i| &i.architecture),
            instance_type: labels
                .get("node.k8s.io/instance-type")
                .or_else(|| labels.get("node.kubernetes.io/instance-type"))
                .cloned()
                .unwrap_or_else(|| "unknown".to_owned()),
            nodes_type: ROLES
                .iter()
                .find(|(label, _)| labels.contains_key(*label))
                .map_or("unknown", |(_, role)| role)
                .to_owned(),
            kernel_version: field(|i| &i.kernel_version),
            kubelet_version: field(|i| &i.kubelet_version),
            os_version: field(|i| &i.os_image),
        };
        match self.kinds.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, count)) => *count += 1,
            None => self.kinds.push((kind, 1)),
        }
        let name = node.metadata.name.clone().unwrap_or_default();
        for taint in node
            .spec
            .as_ref()
            .and_then(|s| s.taints.as_ref())
            .into_iter()
            .flatten()
        {
            self.taints.push(Taint {
                node_name: Field::Set(name.clone()),
                effect: Field::Set(taint.effect.clone()),
                key: Field::Set(taint.key.clone()),
                value: taint.value.clone().map_or(Field::Null, Field::Set),
                ..Taint::default()
            });
        }
        self.fips |= annotations
            .get("config.openshift.io/fips")
            .is_some_and(|v| v == "true")
            || labels.get("fips-enabled").is_some_and(|v| v == "true");
    }

    /// The summary of every node added.
    pub fn finish(self) -> NodeSummary {
        NodeSummary {
            infos: self
                .kinds
                .into_iter()
                .map(|(kind, count)| NodeInfo {
                    count: Field::Set(count),
                    architecture: Field::Set(kind.architecture),
                    instance_type: Field::Set(kind.instance_type),
                    nodes_type: Field::Set(kind.nodes_type),
                    kernel_version: Field::Set(kind.kernel_version),
                    kubelet_version: Field::Set(kind.kubelet_version),
                    os_version: Field::Set(kind.os_version),
                    ..NodeInfo::default()
                })
                .collect(),
            taints: self.taints,
            fips: self.fips,
        }
    }
}

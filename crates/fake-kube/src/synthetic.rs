//! A synthetic large cluster, generated object by object as pages are asked for, so the fake
//! server can serve 150,000 pods without holding them.
//!
//! Objects are rendered from realistic templates (`templates/*.json`, shaped like what a real
//! API server returns, `managedFields` included) by filling in placeholders. Item `i` of a kind
//! is always the same object, so paging through a list is consistent.
//!
//! Layout, for tests that count: namespaced item `i` lives in namespace `ns-{i % namespaces}`
//! (four digits), pods run on node `node-{i % nodes}` (five digits). Node `i` is a `master` for
//! `i < 3`, an `infra` node when `i % 10 == 9`, else a `worker`; its instance type is
//! `m5.xlarge` (master), `r5.xlarge` (infra) or one of `m5.2xlarge`, `m5.4xlarge`, `c5.4xlarge`
//! by `i % 3` (worker).

use serde_json::Value;

use crate::resources::ResourceType;

/// How many objects of each kind the synthetic cluster has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticCluster {
    /// Nodes (`node-00000` …).
    pub nodes: usize,
    /// Pods, spread over the namespaces.
    pub pods: usize,
    /// ConfigMaps, spread over the namespaces.
    pub config_maps: usize,
    /// Deployments, spread over the namespaces.
    pub deployments: usize,
    /// Secrets, spread over the namespaces.
    pub secrets: usize,
    /// Namespaces (`ns-0000` …) the namespaced objects are spread over.
    pub namespaces: usize,
}

impl SyntheticCluster {
    /// The large cluster the collector is measured on: 5,000 nodes, 150,000 pods, 20,000
    /// ConfigMaps, plus 10,000 Deployments and 20,000 Secrets over 500 namespaces.
    pub fn large() -> Self {
        SyntheticCluster {
            nodes: 5_000,
            pods: 150_000,
            config_maps: 20_000,
            deployments: 10_000,
            secrets: 20_000,
            namespaces: 500,
        }
    }

    /// A cluster with the given counts over 10 namespaces (for tests).
    pub fn small(nodes: usize, pods: usize, config_maps: usize) -> Self {
        SyntheticCluster {
            nodes,
            pods,
            config_maps,
            deployments: 0,
            secrets: 0,
            namespaces: 10,
        }
    }

    fn count(&self, kind: &str) -> usize {
        match kind {
            "Node" => self.nodes,
            "Pod" => self.pods,
            "ConfigMap" => self.config_maps,
            "Deployment" => self.deployments,
            "Secret" => self.secrets,
            "Namespace" if self.pods + self.config_maps + self.deployments + self.secrets > 0 => {
                self.namespaces
            }
            _ => 0,
        }
    }

    /// Number of synthetic objects of `resource` in `namespace` (or all namespaces).
    pub(crate) fn len(&self, resource: ResourceType, namespace: Option<&str>) -> usize {
        let total = self.count(resource.kind);
        match namespace {
            Some(ns) if resource.namespaced => match self.namespace_index(ns) {
                Some(k) => total / self.namespaces + usize::from(k < total % self.namespaces),
                None => 0,
            },
            _ => total,
        }
    }

    fn namespace_index(&self, namespace: &str) -> Option<usize> {
        let k: usize = namespace.strip_prefix("ns-")?.parse().ok()?;
        (k < self.namespaces && namespace == namespace_name(k)).then_some(k)
    }

    /// Writes object `index` of the list of `resource` in `namespace` as JSON.
    pub(crate) fn write(
        &self,
        resource: ResourceType,
        namespace: Option<&str>,
        index: usize,
        metadata_only: bool,
        out: &mut Vec<u8>,
    ) {
        let global = match namespace.and_then(|ns| self.namespace_index(ns)) {
            Some(k) if resource.namespaced => k + index * self.namespaces,
            _ => index,
        };
        let Some(template) = templates().get(resource.kind) else {
            return;
        };
        let vars = self.vars(resource.kind, global);
        if metadata_only {
            out.extend_from_slice(
                br#"{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":"#,
            );
            template.metadata.render(&vars, out);
            out.push(b'}');
        } else {
            template.full.render(&vars, out);
        }
    }

    /// One synthetic object by name, if it exists.
    pub(crate) fn get(
        &self,
        resource: ResourceType,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let prefix = name_prefix(resource.kind)?;
        let index: usize = name.strip_prefix(prefix)?.parse().ok()?;
        if index >= self.count(resource.kind) || self.vars(resource.kind, index).name != name {
            return None;
        }
        let vars = self.vars(resource.kind, index);
        if resource.namespaced && namespace.is_some_and(|ns| ns != vars.namespace) {
            return None;
        }
        let mut out = Vec::new();
        templates().get(resource.kind)?.full.render(&vars, &mut out);
        serde_json::from_slice(&out).ok()
    }

    fn vars(&self, kind: &str, i: usize) -> Vars {
        let prefix = name_prefix(kind).unwrap_or("object-");
        let name = match kind {
            "Node" => format!("{prefix}{i:05}"),
            "Namespace" => namespace_name(i),
            _ => format!("{prefix}{i:06}"),
        };
        let (role, instance) = if i < 3 {
            ("master", "m5.xlarge")
        } else if i % 10 == 9 {
            ("infra", "r5.xlarge")
        } else {
            ("worker", ["m5.2xlarge", "m5.4xlarge", "c5.4xlarge"][i % 3])
        };
        Vars {
            name,
            namespace: namespace_name(i % self.namespaces.max(1)),
            node: format!("node-{:05}", i % self.nodes.max(1)),
            uid: format!(
                "{:08x}-5f1e-4c2a-9d3b-{:012x}",
                kind.len() * 7919 + kind.as_bytes()[0] as usize,
                i
            ),
            index: i.to_string(),
            role,
            instance,
        }
    }
}

fn namespace_name(k: usize) -> String {
    format!("ns-{k:04}")
}

fn name_prefix(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "Node" => "node-",
        "Pod" => "pod-",
        "ConfigMap" => "config-",
        "Deployment" => "deploy-",
        "Secret" => "secret-",
        "Namespace" => "ns-",
        _ => return None,
    })
}

/// The values filled into a template for one object.
struct Vars {
    name: String,
    namespace: String,
    node: String,
    uid: String,
    index: String,
    role: &'static str,
    instance: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    Name,
    Namespace,
    Node,
    Uid,
    Index,
    Role,
    Instance,
}

const PLACEHOLDERS: [(&str, Var); 7] = [
    ("__NAME__", Var::Name),
    ("__NAMESPACE__", Var::Namespace),
    ("__NODE__", Var::Node),
    ("__UID__", Var::Uid),
    ("__INDEX__", Var::Index),
    ("__ROLE__", Var::Role),
    ("__INSTANCE__", Var::Instance),
];

/// Template text cut at its placeholders, so rendering is appending slices.
#[derive(Debug)]
struct Template {
    parts: Vec<Part>,
}

#[derive(Debug)]
enum Part {
    Text(Vec<u8>),
    Var(Var),
}

impl Template {
    fn compile(text: &str) -> Template {
        let mut parts = Vec::new();
        let mut rest = text;
        loop {
            let next = PLACEHOLDERS
                .iter()
                .filter_map(|(p, v)| rest.find(p).map(|at| (at, *p, *v)))
                .min_by_key(|(at, _, _)| *at);
            match next {
                Some((at, placeholder, var)) => {
                    parts.push(Part::Text(rest.as_bytes()[..at].to_vec()));
                    parts.push(Part::Var(var));
                    rest = &rest[at + placeholder.len()..];
                }
                None => {
                    parts.push(Part::Text(rest.as_bytes().to_vec()));
                    break;
                }
            }
        }
        Template { parts }
    }

    fn render(&self, vars: &Vars, out: &mut Vec<u8>) {
        for part in &self.parts {
            let bytes: &[u8] = match part {
                Part::Text(text) => text,
                Part::Var(Var::Name) => vars.name.as_bytes(),
                Part::Var(Var::Namespace) => vars.namespace.as_bytes(),
                Part::Var(Var::Node) => vars.node.as_bytes(),
                Part::Var(Var::Uid) => vars.uid.as_bytes(),
                Part::Var(Var::Index) => vars.index.as_bytes(),
                Part::Var(Var::Role) => vars.role.as_bytes(),
                Part::Var(Var::Instance) => vars.instance.as_bytes(),
            };
            out.extend_from_slice(bytes);
        }
    }
}

/// A kind's templates: the whole object and its `metadata` alone, both compact JSON.
#[derive(Debug)]
struct KindTemplates {
    full: Template,
    metadata: Template,
}

fn templates() -> &'static std::collections::HashMap<&'static str, KindTemplates> {
    static TEMPLATES: std::sync::OnceLock<std::collections::HashMap<&'static str, KindTemplates>> =
        std::sync::OnceLock::new();
    TEMPLATES.get_or_init(|| {
        let sources: [(&str, &str); 6] = [
            ("Node", include_str!("../templates/node.json")),
            ("Pod", include_str!("../templates/pod.json")),
            ("ConfigMap", include_str!("../templates/configmap.json")),
            ("Deployment", include_str!("../templates/deployment.json")),
            ("Secret", include_str!("../templates/secret.json")),
            ("Namespace", include_str!("../templates/namespace.json")),
        ];
        sources
            .into_iter()
            .map(|(kind, text)| {
                // The templates are part of this crate and checked by its tests.
                let value: Value = serde_json::from_str(text).unwrap_or(Value::Null);
                let full = serde_json::to_string(&value).unwrap_or_default();
                let metadata = serde_json::to_string(&value["metadata"]).unwrap_or_default();
                (
                    kind,
                    KindTemplates {
                        full: Template::compile(&full),
                        metadata: Template::compile(&metadata),
                    },
                )
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::by_kind;

    #[test]
    fn every_template_renders_valid_json_with_its_name() {
        let synthetic = SyntheticCluster::small(4, 25, 3);
        for kind in ["Node", "Pod", "ConfigMap", "Namespace"] {
            let resource = *by_kind(kind).expect("known kind");
            for metadata_only in [false, true] {
                let mut out = Vec::new();
                synthetic.write(resource, None, 1, metadata_only, &mut out);
                let value: Value = serde_json::from_slice(&out)
                    .unwrap_or_else(|e| panic!("{kind} renders JSON: {e}"));
                let name = value["metadata"]["name"].as_str().expect("a name");
                assert!(name.ends_with('1'), "{kind}: {name}");
                assert!(
                    !String::from_utf8_lossy(&out).contains("__"),
                    "{kind}: placeholder left"
                );
            }
        }
    }

    #[test]
    fn namespaced_listing_partitions_the_items() {
        let synthetic = SyntheticCluster::small(4, 25, 3);
        let pods = *by_kind("Pod").expect("known kind");
        let per_namespace: usize = (0..10)
            .map(|k| synthetic.len(pods, Some(&namespace_name(k))))
            .sum();
        assert_eq!(per_namespace, 25);
        assert_eq!(synthetic.len(pods, Some("ns-0003")), 3);
        assert_eq!(synthetic.len(pods, Some("ns-0007")), 2);
        assert_eq!(synthetic.len(pods, Some("elsewhere")), 0);
    }
}

//! The objects a fake cluster holds: recorded objects loaded from a fixture folder, plus an
//! optional synthetic bulk generated on demand.
//!
//! Fixture folders hold one JSON object (or a `…List`) per file. Objects saved without `kind`
//! (the insights-operator archive strips it) take it from their folder (`nodes/`) or file name
//! (`version.json` is the ClusterVersion, `infrastructure.json`, `network.json`). A file named
//! `server-version.json` is the body of `GET /version`; without one, the version is derived from
//! the first node's kubelet version.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};

use crate::resources::{self, OPENSHIFT_GROUPS, RESOURCE_TYPES, ResourceType};
use crate::synthetic::SyntheticCluster;

/// Why a fixture folder could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// A file or folder could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is not JSON.
    #[error("{path}: not valid JSON: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        source: serde_json::Error,
    },
    /// An object's kind is missing and cannot be guessed, or is not one the fake serves.
    #[error("{path}: {reason}")]
    Object {
        /// Where the object came from.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// A fake cluster's contents. Cheap to share: the server holds it in an `Arc`.
#[derive(Debug, Clone, Default)]
pub struct Cluster {
    /// Recorded objects per resource type, sorted by namespace then name.
    objects: HashMap<ResourceType, Vec<Arc<Value>>>,
    /// The body of `GET /version`.
    version_info: Option<Value>,
    /// Generated bulk objects, served after the recorded ones.
    synthetic: Option<Arc<SyntheticCluster>>,
    /// Named API groups served even without objects (e.g. kubevirt.io with no VMIs).
    extra_groups: BTreeSet<&'static str>,
}

/// Where the items of one list request come from.
pub(crate) struct ListView {
    /// Recorded objects that match the namespace, in order.
    pub stored: Vec<Arc<Value>>,
    /// How many synthetic objects follow them.
    pub synthetic_len: usize,
    /// Namespace filter for the synthetic objects.
    pub namespace: Option<String>,
    /// The resource listed.
    pub resource: ResourceType,
}

impl ListView {
    /// Number of items in the whole list.
    pub fn len(&self) -> usize {
        self.stored.len() + self.synthetic_len
    }
}

impl Cluster {
    /// Loads every object under `dir` (recursively).
    pub fn from_dir(dir: &Path) -> Result<Self, FixtureError> {
        let mut cluster = Cluster::default();
        let mut files = Vec::new();
        collect_json_files(dir, &mut files)?;
        files.sort();
        for path in files {
            let text = std::fs::read(&path).map_err(|source| FixtureError::Read {
                path: path.clone(),
                source,
            })?;
            let value: Value =
                serde_json::from_slice(&text).map_err(|source| FixtureError::Json {
                    path: path.clone(),
                    source,
                })?;
            if path.file_name().is_some_and(|n| n == "server-version.json") {
                cluster.version_info = Some(value);
                continue;
            }
            let folder = path
                .parent()
                .and_then(Path::file_name)
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let stem = path
                .file_stem()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let guess = resources::guess_kind(folder, stem);
            match value.get("items").and_then(Value::as_array) {
                Some(items)
                    if value
                        .get("kind")
                        .and_then(Value::as_str)
                        .is_none_or(|k| k.ends_with("List")) =>
                {
                    for item in items {
                        cluster.insert_from(item.clone(), guess, &path.display().to_string())?;
                    }
                }
                _ => cluster.insert_from(value, guess, &path.display().to_string())?,
            }
        }
        Ok(cluster)
    }

    /// An empty plain-Kubernetes cluster answering `/version` with `git_version`.
    pub fn kubernetes(git_version: &str) -> Self {
        Cluster {
            version_info: Some(version_info(git_version)),
            ..Cluster::default()
        }
    }

    /// Adds one object; its `kind` must be one the fake serves.
    pub fn insert(&mut self, object: Value) -> Result<(), FixtureError> {
        self.insert_from(object, None, "inserted object")
    }

    /// Adds generated bulk objects (see [`SyntheticCluster`]).
    pub fn with_synthetic(mut self, synthetic: SyntheticCluster) -> Self {
        self.synthetic = Some(Arc::new(synthetic));
        self
    }

    /// Serves an API group even when no object of it exists (e.g. KubeVirt with no VMIs).
    pub fn serve_group(mut self, group: &'static str) -> Self {
        self.extra_groups.insert(group);
        self
    }

    /// Sets the body of `GET /version`.
    pub fn with_version_info(mut self, info: Value) -> Self {
        self.version_info = Some(info);
        self
    }

    fn insert_from(
        &mut self,
        mut object: Value,
        guess: Option<&'static ResourceType>,
        origin: &str,
    ) -> Result<(), FixtureError> {
        let bad = |reason: String| FixtureError::Object {
            path: origin.to_owned(),
            reason,
        };
        let resource = match object.get("kind").and_then(Value::as_str) {
            Some(kind) => resources::by_kind(kind)
                .ok_or_else(|| bad(format!("kind {kind} is not one the fake server serves")))?,
            None => guess.ok_or_else(|| {
                bad("no `kind`, and none can be guessed from the folder or file name".into())
            })?,
        };
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no metadata.name".into()))?;
        if resource.namespaced && object.pointer("/metadata/namespace").is_none() {
            return Err(bad(format!(
                "{} {name} has no metadata.namespace",
                resource.kind
            )));
        }
        if let Some(map) = object.as_object_mut() {
            map.entry("kind").or_insert_with(|| json!(resource.kind));
            map.entry("apiVersion")
                .or_insert_with(|| json!(resource.api_version()));
        }
        let list = self.objects.entry(*resource).or_default();
        list.push(Arc::new(object));
        list.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
        Ok(())
    }

    /// True when the cluster has OpenShift's `ClusterVersion`.
    pub fn is_openshift(&self) -> bool {
        self.objects
            .keys()
            .any(|r| OPENSHIFT_GROUPS.contains(&r.group))
    }

    /// The named API groups served: apps always, OpenShift's when the cluster is OpenShift,
    /// any other group that has objects.
    pub fn served_groups(&self) -> Vec<&'static str> {
        let mut groups: BTreeSet<&'static str> = BTreeSet::from(["apps"]);
        if self.is_openshift() {
            groups.extend(OPENSHIFT_GROUPS);
        }
        groups.extend(
            self.objects
                .keys()
                .map(|r| r.group)
                .filter(|g| !g.is_empty()),
        );
        groups.extend(self.extra_groups.iter().copied());
        groups.into_iter().collect()
    }

    /// True when `group` is served (the core group always is).
    pub fn serves(&self, group: &str) -> bool {
        group.is_empty() || self.served_groups().contains(&group)
    }

    /// The body of `GET /version`.
    pub fn version_info(&self) -> Value {
        if let Some(info) = &self.version_info {
            return info.clone();
        }
        let kubelet = self
            .objects
            .get(&RESOURCE_TYPES[0])
            .and_then(|nodes| nodes.first())
            .and_then(|node| node.pointer("/status/nodeInfo/kubeletVersion"))
            .and_then(Value::as_str)
            .unwrap_or("v1.31.0");
        version_info(kubelet)
    }

    /// The items a list of `resource` (in `namespace`, or all) returns.
    pub(crate) fn list(&self, resource: ResourceType, namespace: Option<&str>) -> ListView {
        let stored = self
            .objects
            .get(&resource)
            .map(|all| {
                all.iter()
                    .filter(|o| namespace.is_none_or(|ns| namespace_of(o) == Some(ns)))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let synthetic_len = self
            .synthetic
            .as_ref()
            .map_or(0, |s| s.len(resource, namespace));
        ListView {
            stored,
            synthetic_len,
            namespace: namespace.map(str::to_owned),
            resource,
        }
    }

    /// Writes item `index` of a list view as JSON (full object, or `metadata` only).
    pub(crate) fn write_item(
        &self,
        view: &ListView,
        index: usize,
        metadata_only: bool,
        out: &mut Vec<u8>,
    ) {
        if let Some(object) = view.stored.get(index) {
            let value: &Value = if metadata_only {
                object.get("metadata").unwrap_or(&Value::Null)
            } else {
                object
            };
            if metadata_only {
                out.extend_from_slice(
                    br#"{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":"#,
                );
            }
            // Serializing a Value into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *out, value);
            if metadata_only {
                out.push(b'}');
            }
        } else if let Some(synthetic) = &self.synthetic {
            let index = index - view.stored.len();
            synthetic.write(
                view.resource,
                view.namespace.as_deref(),
                index,
                metadata_only,
                out,
            );
        }
    }

    /// One object by namespace and name.
    pub(crate) fn get(
        &self,
        resource: ResourceType,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let stored = self.objects.get(&resource).and_then(|all| {
            all.iter()
                .find(|o| {
                    name_of(o) == Some(name)
                        && (namespace.is_none() || namespace_of(o) == namespace)
                })
                .map(|o| (**o).clone())
        });
        stored.or_else(|| self.synthetic.as_ref()?.get(resource, namespace, name))
    }
}

fn collect_json_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), FixtureError> {
    let read = |source| FixtureError::Read {
        path: dir.to_owned(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let path = entry.map_err(read)?.path();
        if path.is_dir() {
            collect_json_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

fn namespace_of(object: &Value) -> Option<&str> {
    object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
}

fn name_of(object: &Value) -> Option<&str> {
    object.pointer("/metadata/name").and_then(Value::as_str)
}

fn sort_key(object: &Value) -> (&str, &str) {
    (
        namespace_of(object).unwrap_or_default(),
        name_of(object).unwrap_or_default(),
    )
}

/// A `/version` body for a git version such as `v1.31.4-eks-2d5f260` or `v1.17.1+9d33dd3`.
pub fn version_info(git_version: &str) -> Value {
    let numbers = git_version.trim_start_matches('v');
    let mut parts = numbers.split(['.', '-', '+']);
    let major = parts.next().unwrap_or("1");
    let minor = parts.next().unwrap_or("0");
    json!({
        "major": major,
        "minor": minor,
        "gitVersion": git_version,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.22.10",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

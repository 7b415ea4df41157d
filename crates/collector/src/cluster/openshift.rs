//! OpenShift's cluster facts (`KRKN-PROTOCOL.md` section 3): release, platform, cloud type,
//! network plugins, FIPS, etcd encryption, IPsec, and Build/Route/VMI counts. Also IPsec on
//! plain Kubernetes, which krkn-lib reads from DaemonSets.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;
use tokio::time::Instant;

use super::objects::{count, dynamic_api};
use super::{CollectOptions, ProbeError, bounded};

/// What only OpenShift can say; `None` fields failed (a warning says why).
#[derive(Debug, Default)]
pub struct OpenShiftFacts {
    /// The release, from the ClusterVersion's `Available` condition (`4.18.3`).
    pub cluster_version: Option<String>,
    /// `infrastructures/cluster` `.status.platform`.
    pub cloud_infrastructure: Option<String>,
    /// The `red-hat-clustertype` resource tag, else `self-managed`.
    pub cloud_type: Option<String>,
    /// `.status.networkType` of each Network config.
    pub network_plugins: Option<Vec<String>>,
    /// `fips: true` in the install config.
    pub fips_enabled: Option<bool>,
    /// APIServer encryption type aescbc or aesgcm.
    pub etcd_encryption_enabled: Option<bool>,
    /// The OVN IPsec DaemonSet wants pods.
    pub ipsec_enabled: Option<bool>,
    /// Build, Route and (when there are any) VirtualMachineInstance counts.
    pub object_counts: BTreeMap<String, i64>,
}

fn is_not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404)
}

/// True when the cluster serves `clusterversions.config.openshift.io`.
pub async fn detect(client: &kube::Client) -> Result<bool, ProbeError> {
    match client
        .list_api_group_resources("config.openshift.io/v1")
        .await
    {
        Ok(list) => Ok(list.resources.iter().any(|r| r.name == "clusterversions")),
        Err(error) if is_not_found(&error) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

fn config_api(client: &kube::Client, kind: &str, plural: &str) -> Api<DynamicObject> {
    dynamic_api(client, "config.openshift.io", "v1", kind, plural)
}

async fn get_json(api: &Api<DynamicObject>, name: &str) -> Result<Value, ProbeError> {
    let object = api.get(name).await?;
    serde_json::to_value(&object).map_err(|e| ProbeError::Unexpected(e.to_string()))
}

/// The release: the last word of the `Available` condition's message (`Done applying 4.7.16`).
pub fn release_from_cluster_version(cluster_version: &Value) -> Option<String> {
    cluster_version
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some("Available"))?
        .get("message")?
        .as_str()?
        .split_whitespace()
        .last()
        .map(str::to_owned)
}

/// Platform and cloud type from `infrastructures/cluster`.
pub fn platform_and_cloud_type(infrastructure: &Value) -> (Option<String>, String) {
    let platform = infrastructure
        .pointer("/status/platform")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let cloud_type = platform
        .as_deref()
        .and_then(|p| {
            infrastructure
                .pointer(&format!(
                    "/status/platformStatus/{}/resourceTags",
                    p.to_lowercase()
                ))?
                .as_array()?
                .iter()
                .find(|tag| tag.get("key").and_then(Value::as_str) == Some("red-hat-clustertype"))?
                .get("value")?
                .as_str()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "self-managed".to_owned());
    (platform, cloud_type)
}

/// `fips: true` (a YAML boolean, as the installer writes it) in an install config.
pub fn install_config_fips(install_config: &str) -> Result<bool, ProbeError> {
    let config: serde_norway::Value = serde_norway::from_str(install_config)
        .map_err(|e| ProbeError::Unexpected(format!("install-config is not YAML: {e}")))?;
    Ok(config.get("fips").and_then(serde_norway::Value::as_bool) == Some(true))
}

async fn desired_pods(api: &Api<DaemonSet>, name: &str) -> Result<Option<i32>, ProbeError> {
    match api.get_opt(name).await? {
        Some(set) => Ok(Some(set.status.map_or(0, |s| s.desired_number_scheduled))),
        None => Ok(None),
    }
}

/// The release from ClusterVersion's Available condition.
async fn release(client: &kube::Client) -> Result<String, ProbeError> {
    let version = get_json(
        &config_api(client, "ClusterVersion", "clusterversions"),
        "version",
    )
    .await?;
    release_from_cluster_version(&version).ok_or_else(|| {
        ProbeError::Unexpected("ClusterVersion has no Available condition with a message".into())
    })
}

/// The platform and cloud type from `infrastructures/cluster`.
async fn infrastructure(client: &kube::Client) -> Result<(Option<String>, String), ProbeError> {
    let infra = get_json(
        &config_api(client, "Infrastructure", "infrastructures"),
        "cluster",
    )
    .await?;
    Ok(platform_and_cloud_type(&infra))
}

/// The network types of every Network object.
async fn network_types(client: &kube::Client) -> Result<Vec<String>, ProbeError> {
    let list = config_api(client, "Network", "networks")
        .list(&ListParams::default())
        .await?;
    Ok(list
        .items
        .iter()
        .filter_map(|n| {
            n.data
                .pointer("/status/networkType")?
                .as_str()
                .map(str::to_owned)
        })
        .collect())
}

/// FIPS from the installer's config in `kube-system/cluster-config-v1`.
async fn fips(client: &kube::Client) -> Result<bool, ProbeError> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "kube-system");
    let install = api
        .get_opt("cluster-config-v1")
        .await?
        .and_then(|cm| cm.data?.remove("install-config"));
    match install {
        Some(text) => install_config_fips(&text),
        None => Ok(false),
    }
}

/// etcd encryption from `apiservers/cluster`.
async fn etcd_encryption(client: &kube::Client) -> Result<bool, ProbeError> {
    let api = config_api(client, "APIServer", "apiservers");
    // Every OpenShift cluster has `apiservers/cluster`; without one there is no
    // encryption configured to find.
    let server = match api.get_opt("cluster").await? {
        Some(server) => {
            serde_json::to_value(&server).map_err(|e| ProbeError::Unexpected(e.to_string()))?
        }
        None => return Ok(false),
    };
    let kind = server
        .pointer("/spec/encryption/type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    Ok(kind == "aescbc" || kind == "aesgcm")
}

/// IPsec on OpenShift: OVN's IPsec DaemonSet with pods wanted.
async fn ovn_ipsec(client: &kube::Client) -> Result<bool, ProbeError> {
    let api: Api<DaemonSet> = Api::namespaced(client.clone(), "openshift-ovn-kubernetes");
    // `ovn-ipsec` up to 4.14, `ovn-ipsec-host` since (krkn-lib only knows the first).
    let mut enabled = false;
    for name in ["ovn-ipsec", "ovn-ipsec-host"] {
        enabled |= desired_pods(&api, name).await?.is_some_and(|n| n > 0);
    }
    Ok(enabled)
}

/// Runs every OpenShift probe concurrently until `deadline`.
pub(crate) async fn collect(
    client: &kube::Client,
    options: &CollectOptions,
    deadline: Instant,
    warnings: &std::sync::Mutex<Vec<String>>,
) -> OpenShiftFacts {
    let (release, infrastructure, networks) = (
        release(client),
        infrastructure(client),
        network_types(client),
    );
    let (fips, etcd, ipsec) = (fips(client), etcd_encryption(client), ovn_ipsec(client));
    let (mode, size) = (options.list_mode, options.page_size);
    let builds = dynamic_api(client, "build.openshift.io", "v1", "Build", "builds");
    let routes = dynamic_api(client, "route.openshift.io", "v1", "Route", "routes");
    let vmis = dynamic_api(
        client,
        "kubevirt.io",
        "v1",
        "VirtualMachineInstance",
        "virtualmachineinstances",
    );
    let vmi_count = async {
        match count(&vmis, mode, size).await {
            // No KubeVirt on this cluster: nothing to count, nothing to warn about.
            Err(ProbeError::Kube(error)) if is_not_found(&error) => Ok(0),
            other => other,
        }
    };
    let (cluster_version, infrastructure, network_plugins, fips_enabled, etcd, ipsec, b, r, v) = tokio::join!(
        bounded("cluster version", deadline, release, warnings),
        bounded("infrastructure", deadline, infrastructure, warnings),
        bounded("network plugins", deadline, networks, warnings),
        bounded("fips", deadline, fips, warnings),
        bounded("etcd encryption", deadline, etcd, warnings),
        bounded("ipsec", deadline, ipsec, warnings),
        bounded(
            "count Build",
            deadline,
            count(&builds, mode, size),
            warnings
        ),
        bounded(
            "count Route",
            deadline,
            count(&routes, mode, size),
            warnings
        ),
        bounded(
            "count VirtualMachineInstance",
            deadline,
            vmi_count,
            warnings
        ),
    );
    let (cloud_infrastructure, cloud_type) = match infrastructure {
        Some((platform, cloud_type)) => (platform, Some(cloud_type)),
        None => (None, None),
    };
    let mut object_counts = BTreeMap::new();
    object_counts.extend(b.map(|n| ("Build".to_owned(), n)));
    object_counts.extend(r.map(|n| ("Route".to_owned(), n)));
    object_counts.extend(
        v.filter(|n| *n > 0)
            .map(|n| ("VirtualMachineInstance".to_owned(), n)),
    );
    OpenShiftFacts {
        cluster_version,
        cloud_infrastructure,
        cloud_type,
        network_plugins,
        fips_enabled,
        etcd_encryption_enabled: etcd,
        ipsec_enabled: ipsec,
        object_counts,
    }
}

/// IPsec on plain Kubernetes, as krkn-lib 6.1 reads it: a DaemonSet whose name contains
/// `ipsec` with pods wanted, or Calico's `calico-node` with `FELIX_IPSECENABLED=true`, in
/// `kube-system`, `openshift-ovn-kubernetes` or `calico-system`.
pub async fn kubernetes_ipsec(client: &kube::Client) -> Result<bool, ProbeError> {
    for namespace in ["kube-system", "openshift-ovn-kubernetes", "calico-system"] {
        let api: Api<DaemonSet> = Api::namespaced(client.clone(), namespace);
        let sets = match api.list(&ListParams::default()).await {
            Ok(sets) => sets,
            Err(error) if is_not_found(&error) => continue,
            Err(error) => return Err(error.into()),
        };
        for set in sets {
            let name = set.metadata.name.clone().unwrap_or_default();
            let desired = set
                .status
                .as_ref()
                .map_or(0, |s| s.desired_number_scheduled);
            if name.to_ascii_lowercase().contains("ipsec") && desired > 0 {
                return Ok(true);
            }
            let felix = set
                .spec
                .template
                .spec
                .as_ref()
                .into_iter()
                .flat_map(|p| &p.containers)
                .flat_map(|c| c.env.iter().flatten())
                .any(|e| e.name == "FELIX_IPSECENABLED" && e.value.as_deref() == Some("true"));
            if name == "calico-node" && felix {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rosa_is_read_from_the_resource_tags() {
        let infra = json!({"status": {"platform": "AWS", "platformStatus": {"type": "AWS",
            "aws": {"region": "us-east-1", "resourceTags": [
                {"key": "red-hat-managed", "value": "true"},
                {"key": "red-hat-clustertype", "value": "rosa"}]}}}});
        assert_eq!(
            platform_and_cloud_type(&infra),
            (Some("AWS".into()), "rosa".into())
        );
        let bare = json!({"status": {"platform": "None", "platformStatus": {"type": "None"}}});
        assert_eq!(
            platform_and_cloud_type(&bare),
            (Some("None".into()), "self-managed".into())
        );
    }

    #[test]
    fn fips_needs_a_yaml_true() {
        assert!(install_config_fips("apiVersion: v1\nfips: true\n").expect("yaml"));
        assert!(!install_config_fips("apiVersion: v1\nfips: \"true\"\n").expect("yaml"));
        assert!(!install_config_fips("apiVersion: v1\n").expect("yaml"));
        assert!(install_config_fips("fips: [").is_err());
    }
}

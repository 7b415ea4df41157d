//! Object counts. krkn-lib downloads every object to count it; we ask for metadata only
//! (`PartialObjectMetadataList`), a page at a time, which is the same count for a fraction of
//! the bytes. Each kind is its own probe: one that fails is left out of the map, not zeroed.

use std::collections::BTreeMap;
use std::fmt::Debug;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::{CollectOptions, ProbeError, bounded};

/// How lists are fetched for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ListMode {
    /// Metadata only (`PartialObjectMetadataList`): what the collector uses.
    #[default]
    Metadata,
    /// Whole objects, as krkn-lib fetches them (kept for the benchmark's comparison).
    Full,
}

/// Counts the objects of `api`, page by page.
pub async fn count<K>(api: &Api<K>, mode: ListMode, page_size: u32) -> Result<i64, ProbeError>
where
    K: kube::Resource + Clone + DeserializeOwned + Debug,
{
    let mut total = 0i64;
    let mut params = ListParams::default().limit(page_size);
    loop {
        let (items, next) = match mode {
            ListMode::Metadata => {
                let page = api.list_metadata(&params).await?;
                (page.items.len(), page.metadata.continue_)
            }
            ListMode::Full => {
                let page = api.list(&params).await?;
                (page.items.len(), page.metadata.continue_)
            }
        };
        total += i64::try_from(items).unwrap_or(i64::MAX);
        match next.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(total),
        }
    }
}

/// An `Api` over a resource that k8s-openapi has no type for (OpenShift, KubeVirt).
pub fn dynamic_api(
    client: &kube::Client,
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
) -> Api<DynamicObject> {
    let resource =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
    Api::all_with(client.clone(), &resource)
}

/// Deployment, Pod, Secret and ConfigMap counts across all namespaces; `None` when every one
/// of them failed.
pub(crate) async fn count_kubernetes(
    client: &kube::Client,
    options: &CollectOptions,
    deadline: Instant,
    warnings: &std::sync::Mutex<Vec<String>>,
) -> Option<BTreeMap<String, i64>> {
    let (mode, size) = (options.list_mode, options.page_size);
    let deployments: Api<Deployment> = Api::all(client.clone());
    let pods: Api<Pod> = Api::all(client.clone());
    let secrets: Api<Secret> = Api::all(client.clone());
    let config_maps: Api<ConfigMap> = Api::all(client.clone());
    let (d, p, s, c) = tokio::join!(
        bounded(
            "count Deployment",
            deadline,
            count(&deployments, mode, size),
            warnings
        ),
        bounded("count Pod", deadline, count(&pods, mode, size), warnings),
        bounded(
            "count Secret",
            deadline,
            secret_count(count(&secrets, mode, size)),
            warnings
        ),
        bounded(
            "count ConfigMap",
            deadline,
            count(&config_maps, mode, size),
            warnings
        ),
    );
    let counts: BTreeMap<String, i64> = [
        ("Deployment", d),
        ("Pod", p),
        ("Secret", s),
        ("ConfigMap", c),
    ]
    .into_iter()
    .filter_map(|(kind, n)| Some((kind.to_owned(), n?)))
    .collect();
    (!counts.is_empty()).then_some(counts)
}

/// The Secret count, or, when the account may not list Secrets (the least-privilege default of
/// `infra/k8s`: in RBAC terms a list, even metadata-only, reads every Secret), an error that
/// says how an operator grants it knowingly.
async fn secret_count(
    count: impl Future<Output = Result<i64, ProbeError>>,
) -> Result<i64, ProbeError> {
    match count.await {
        Err(ProbeError::Kube(kube::Error::Api(status))) if status.code == 403 => {
            Err(ProbeError::Unexpected(
                "this account may not list Secrets; the count is left out (infra/k8s/components/count-secrets grants it)".to_owned(),
            ))
        }
        other => other,
    }
}

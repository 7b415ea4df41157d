//! Pods as the logs need them: every container of every pod (or of one namespace), listed
//! page by page, and one container's log opened as a stream (`pods/log` with `sinceTime`
//! and `timestamps=true`).

use futures_util::AsyncBufRead;
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, ListParams, LogParams};

use super::ProbeError;

/// One container to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerLog {
    /// Namespace.
    pub namespace: String,
    /// Pod.
    pub pod: String,
    /// Container (init containers included).
    pub container: String,
}

/// Every container of every pod (in `namespace`, or all), listed page by page.
pub async fn containers(
    client: &Client,
    namespace: Option<&str>,
) -> Result<Vec<ContainerLog>, ProbeError> {
    let api: Api<Pod> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let mut out = Vec::new();
    let mut params = ListParams::default().limit(500);
    loop {
        let page = api.list(&params).await?;
        for pod in &page.items {
            let (Some(ns), Some(name)) = (&pod.metadata.namespace, &pod.metadata.name) else {
                continue;
            };
            let spec = pod.spec.as_ref();
            let names = spec
                .into_iter()
                .flat_map(|s| {
                    s.init_containers
                        .iter()
                        .flatten()
                        .chain(s.containers.iter())
                })
                .map(|c| c.name.clone());
            out.extend(names.map(|container| ContainerLog {
                namespace: ns.clone(),
                pod: name.clone(),
                container,
            }));
        }
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(out),
        }
    }
}

/// Opens the log of `log`'s container from `since` (unix seconds), each line with its
/// RFC 3339 time, to be read a block at a time.
pub async fn log_stream(
    client: &Client,
    log: &ContainerLog,
    since: i64,
) -> Result<impl AsyncBufRead + use<>, kube::Error> {
    let api: Api<Pod> = Api::namespaced(client.clone(), &log.namespace);
    let params = LogParams {
        container: Some(log.container.clone()),
        since_time: k8s_openapi::jiff::Timestamp::from_second(since).ok(),
        timestamps: true,
        ..LogParams::default()
    };
    api.log_stream(&log.pod, &params).await
}

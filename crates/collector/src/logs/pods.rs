//! The native log source: every container's log read through the API (`pods/log` with
//! `sinceTime` at the window's start and `timestamps=true`), no `oc` needed. Each log goes
//! through the same filter as a must-gather's and is named as `oc adm must-gather` would save
//! it (`namespaces.<ns>.pods.<pod>.<container>.<container>.logs.current.log`), so both sources
//! give the same archive. Logs are read a few at a time, in blocks, never whole.

use std::path::Path;

use futures_util::AsyncReadExt;
use futures_util::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};

use super::{FilterStats, GatherSummary, LogFilter};
use crate::cluster::ProbeError;

/// Container logs read at once.
const CONCURRENT_LOGS: usize = 6;

/// Bytes read from a log before they are filtered.
const BLOCK: usize = 1 << 20;

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

impl ContainerLog {
    /// The file name `oc adm must-gather` gives this log.
    pub fn output_name(&self) -> String {
        format!(
            "namespaces.{0}.pods.{1}.{2}.{2}.logs.current.log",
            self.namespace, self.pod, self.container
        )
    }
}

/// Every container of every pod (in `namespace`, or all), listed page by page.
pub async fn containers(
    client: &kube::Client,
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

async fn one_log(
    client: &kube::Client,
    log: &ContainerLog,
    filter: &LogFilter,
    since: i64,
    output_dir: &Path,
) -> Result<FilterStats, String> {
    let api: Api<Pod> = Api::namespaced(client.clone(), &log.namespace);
    let params = LogParams {
        container: Some(log.container.clone()),
        since_time: k8s_openapi::jiff::Timestamp::from_second(since).ok(),
        timestamps: true,
        ..LogParams::default()
    };
    let reader = api
        .log_stream(&log.pod, &params)
        .await
        .map_err(|e| format!("{}/{} {}: {e}", log.namespace, log.pod, log.container))?;
    let mut reader = Box::pin(reader);
    let mut stats = FilterStats::default();
    let mut writer: Option<tempfile::NamedTempFile> = None;
    let mut block: Vec<u8> = Vec::with_capacity(BLOCK);
    let mut kept = Vec::new();
    loop {
        let start = block.len();
        block.resize(start + BLOCK, 0);
        let n = reader
            .read(&mut block[start..])
            .await
            .map_err(|e| format!("{}/{}: {e}", log.pod, log.container))?;
        block.truncate(start + n);
        let end_of_log = n == 0;
        // Filter whole lines; the tail waits for the rest of its line.
        let cut = if end_of_log {
            block.len()
        } else {
            match memchr::memrchr(b'\n', &block) {
                Some(at) => at + 1,
                None if block.len() < 16 * BLOCK => continue,
                None => block.len(),
            }
        };
        let tail = block.split_off(cut);
        kept.clear();
        stats += filter.filter_block(&block, &mut kept);
        if !kept.is_empty() {
            if writer.is_none() {
                writer =
                    Some(tempfile::NamedTempFile::new_in(output_dir).map_err(|e| e.to_string())?);
            }
            if let Some(file) = writer.as_mut() {
                std::io::Write::write_all(file, &kept).map_err(|e| e.to_string())?;
            }
        }
        block = tail;
        if end_of_log {
            break;
        }
    }
    if let Some(file) = writer {
        file.persist(output_dir.join(log.output_name()))
            .map_err(|e| e.error.to_string())?;
    }
    Ok(stats)
}

/// Reads and filters every container log of the cluster (or `namespace`) into `output_dir`.
/// A log that cannot be read (a pod gone meanwhile) is a warning, not a failure.
pub async fn gather(
    client: &kube::Client,
    namespace: Option<&str>,
    filter: &LogFilter,
    since: i64,
    output_dir: &Path,
) -> Result<GatherSummary, ProbeError> {
    std::fs::create_dir_all(output_dir)
        .map_err(|e| ProbeError::Unexpected(format!("{}: {e}", output_dir.display())))?;
    let logs = containers(client, namespace).await?;
    let progress = crate::progress::Progress::new("reading pod logs", 0, logs.len() as u64);
    let results: Vec<Result<FilterStats, String>> = futures_util::stream::iter(logs.iter())
        .map(|log| {
            let progress = progress.clone();
            async move {
                let stats = one_log(client, log, filter, since, output_dir).await;
                if let Ok(stats) = &stats {
                    progress.add(stats.bytes);
                }
                progress.item_done();
                Ok::<_, std::convert::Infallible>(stats)
            }
        })
        .buffer_unordered(CONCURRENT_LOGS)
        .try_collect()
        .await
        .unwrap_or_default();
    let mut summary = GatherSummary {
        files: logs.len(),
        ..GatherSummary::default()
    };
    for result in results {
        match result {
            Ok(stats) => {
                summary.kept_files += usize::from(stats.kept > 0);
                summary.stats += stats;
            }
            Err(warning) => tracing::warn!("log not read: {warning}"),
        }
    }
    progress.finish(&format!(
        "{} of {} lines kept from {} container logs",
        summary.stats.kept, summary.stats.lines, summary.files
    ));
    Ok(summary)
}

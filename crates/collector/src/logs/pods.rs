//! The native log source: every container's log read through the API (listed and opened by
//! [`crate::cluster::pods`], from the window's start), no `oc` needed. Each log goes
//! through the same filter as a must-gather's and is named as `oc adm must-gather` would save
//! it (`namespaces.<ns>.pods.<pod>.<container>.<container>.logs.current.log`), so both sources
//! give the same archive. Logs are read a few at a time, in blocks, never whole.

use std::path::Path;

use futures_util::AsyncReadExt;
use futures_util::{StreamExt, TryStreamExt};

use super::{FilterStats, GatherSummary, LogFilter};
use crate::cluster::pods::{ContainerLog, containers, log_stream};
use crate::cluster::{Client, ProbeError};

/// Container logs read at once.
const CONCURRENT_LOGS: usize = 6;

/// Bytes read from a log before they are filtered.
const BLOCK: usize = 1 << 20;

/// The file name `oc adm must-gather` gives a container's log, so both sources give the
/// same archive.
pub fn output_name(log: &ContainerLog) -> String {
    format!(
        "namespaces.{0}.pods.{1}.{2}.{2}.logs.current.log",
        log.namespace, log.pod, log.container
    )
}

async fn one_log(
    client: &Client,
    log: &ContainerLog,
    filter: &LogFilter,
    since: i64,
    output_dir: &Path,
) -> Result<FilterStats, String> {
    let reader = log_stream(client, log, since)
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
        file.persist(output_dir.join(output_name(log)))
            .map_err(|e| e.error.to_string())?;
    }
    Ok(stats)
}

/// Reads and filters every container log of the cluster (or `namespace`) into `output_dir`.
/// A log that cannot be read (a pod gone meanwhile) is a warning, not a failure.
pub async fn gather(
    client: &Client,
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

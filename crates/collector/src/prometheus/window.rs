//! The window export: instead of the WAL, the run window ± a margin (10 minutes by default)
//! read from the Prometheus HTTP API, every series with its raw samples (instant queries with
//! a range selector, `{__name__="x"}[Ns]`, so values are the stored ones, not re-evaluated),
//! written as OpenMetrics text that `promtool tsdb create-blocks-from openmetrics` imports,
//! gzipped, cut into `prometheus-window-NN.om.gz` parts of `archive_size` KB (concatenated,
//! they are one gzip stream), and uploaded with their checksums, then
//! `prometheus-window-manifest.json`.
//!
//! Metric names are read four at a time; the text of each is written in name order, series by
//! series, samples oldest first, as OpenMetrics requires.

use std::io::Write;
use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use krkn_telemetry_model::{ArtifactName, RunKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::alerts::{Prometheus, PrometheusError};
use crate::upload::{Payload, TelemetryApi, UploadError, hex_digest};

/// The manifest's name, uploaded last.
pub const WINDOW_MANIFEST_FILE: &str = "prometheus-window-manifest.json";

/// Metric names read at once.
const CONCURRENT_QUERIES: usize = 4;

/// Why the export did not finish.
#[derive(Debug, thiserror::Error)]
pub enum WindowError {
    /// Prometheus did not answer as needed.
    #[error(transparent)]
    Prometheus(#[from] PrometheusError),
    /// A part could not be uploaded.
    #[error(transparent)]
    Upload(#[from] UploadError),
    /// Local disk trouble.
    #[error("window export: {0}")]
    Io(#[from] std::io::Error),
}

/// What the export did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WindowReport {
    /// Metric names exported.
    pub metrics: usize,
    /// Series exported.
    pub series: usize,
    /// Samples exported.
    pub samples: u64,
    /// Parts uploaded.
    pub parts: u32,
    /// Bytes of gzip.
    pub bytes: u64,
}

#[derive(Debug, Default, Deserialize)]
struct MatrixData {
    #[serde(default)]
    result: Vec<MatrixSeries>,
}

#[derive(Debug, Deserialize)]
struct MatrixSeries {
    metric: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<(serde_json::Number, String)>,
}

/// Escapes a label value for the text format.
fn escape(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// OpenMetrics lines of one metric's series.
fn render(name: &str, series: &[MatrixSeries], out: &mut String) -> (usize, u64) {
    let mut samples = 0u64;
    for one in series {
        let mut labels = String::new();
        for (key, value) in one.metric.iter().filter(|(k, _)| *k != "__name__") {
            if !labels.is_empty() {
                labels.push(',');
            }
            labels.push_str(key);
            labels.push_str("=\"");
            escape(value, &mut labels);
            labels.push('"');
        }
        for (time, value) in &one.values {
            out.push_str(name);
            if !labels.is_empty() {
                out.push('{');
                out.push_str(&labels);
                out.push('}');
            }
            out.push(' ');
            out.push_str(value);
            out.push(' ');
            out.push_str(&time.to_string());
            out.push('\n');
            samples += 1;
        }
    }
    (series.len(), samples)
}

/// A gzip stream written into numbered part files of `part_size` bytes each.
struct PartWriter {
    dir: PathBuf,
    part_size: u64,
    current: Option<(std::fs::File, Sha256, u64)>,
    done: Vec<(PathBuf, u64, [u8; 32])>,
}

impl PartWriter {
    fn finish_part(&mut self) -> std::io::Result<()> {
        if let Some((file, hasher, len)) = self.current.take() {
            file.sync_all()?;
            let number = self.done.len() as u32;
            self.done.push((
                self.dir
                    .join(ArtifactName::prometheus_window_part(number).as_str()),
                len,
                hasher.finalize().into(),
            ));
        }
        Ok(())
    }
}

impl Write for PartWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self
            .current
            .as_ref()
            .is_some_and(|(_, _, len)| *len >= self.part_size)
        {
            self.finish_part()?;
        }
        if self.current.is_none() {
            let path = self
                .dir
                .join(ArtifactName::prometheus_window_part(self.done.len() as u32).as_str());
            self.current = Some((std::fs::File::create(&path)?, Sha256::new(), 0));
        }
        let Some((file, hasher, len)) = self.current.as_mut() else {
            return Ok(0);
        };
        let room = (self.part_size - *len).min(buf.len() as u64) as usize;
        let n = file.write(&buf[..room])?;
        hasher.update(&buf[..n]);
        *len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.current.as_mut() {
            Some((file, _, _)) => file.flush(),
            None => Ok(()),
        }
    }
}

async fn names(
    prometheus: &Prometheus,
    start: i64,
    end: i64,
) -> Result<Vec<String>, PrometheusError> {
    let params = [("start", start.to_string()), ("end", end.to_string())];
    prometheus
        .data("/api/v1/label/__name__/values", &params)
        .await
}

async fn raw_samples(
    prometheus: &Prometheus,
    name: &str,
    start: i64,
    end: i64,
) -> Result<Vec<MatrixSeries>, PrometheusError> {
    let selector = format!(
        "{{__name__=\"{}\"}}[{}s]",
        name.replace('"', "\\\""),
        (end - start + 1).max(1)
    );
    let params = [("query", selector), ("time", end.to_string())];
    let mut result = prometheus
        .data::<MatrixData>("/api/v1/query", &params)
        .await?
        .result;
    result.sort_by(|a, b| a.metric.cmp(&b.metric));
    Ok(result)
}

/// Reads `[start, end]` from Prometheus, writes the gzip parts into `dir`, uploads them to
/// `key`, then the manifest.
pub async fn export(
    prometheus: &Prometheus,
    api: &TelemetryApi,
    key: &RunKey,
    dir: &Path,
    (start, end): (i64, i64),
    part_size: u64,
) -> Result<WindowReport, WindowError> {
    std::fs::create_dir_all(dir)?;
    let metric_names = names(prometheus, start, end).await?;
    let mut gzip = flate2::write::GzEncoder::new(
        PartWriter {
            dir: dir.to_owned(),
            part_size: part_size.max(1),
            current: None,
            done: Vec::new(),
        },
        flate2::Compression::default(),
    );
    let mut report = WindowReport {
        metrics: metric_names.len(),
        ..WindowReport::default()
    };
    let mut reads = futures_util::stream::iter(metric_names.iter().map(|name| async move {
        raw_samples(prometheus, name, start, end)
            .await
            .map(|s| (name, s))
    }))
    .buffered(CONCURRENT_QUERIES);
    let mut text = String::new();
    while let Some(read) = reads.next().await {
        let (name, series) = read?;
        text.clear();
        let (count, samples) = render(name, &series, &mut text);
        report.series += count;
        report.samples += samples;
        gzip.write_all(text.as_bytes())?;
    }
    gzip.write_all(b"# EOF\n")?;
    let mut parts = gzip.finish()?;
    parts.flush()?;
    parts.finish_part()?;
    for (number, (path, len, digest)) in parts.done.iter().enumerate() {
        let name = ArtifactName::prometheus_window_part(number as u32);
        api.upload(key, &name, &Payload::file(path.clone(), *len, *digest))
            .await?;
        std::fs::remove_file(path)?;
        report.bytes += len;
    }
    report.parts = parts.done.len() as u32;
    let manifest = serde_json::json!({
        "kind": "krkn-telemetry/prometheus-window",
        "version": 1,
        "window": {"start": start, "end": end},
        "format": "OpenMetrics text, gzip; cat the parts in number order | gunzip | promtool tsdb create-blocks-from openmetrics /dev/stdin <dir>",
        "metrics": report.metrics,
        "series": report.series,
        "samples": report.samples,
        "parts": parts.done.iter().enumerate().map(|(n, (_, len, digest))| serde_json::json!({
            "name": ArtifactName::prometheus_window_part(n as u32), "size": len, "sha256": hex_digest(digest)
        })).collect::<Vec<_>>(),
    });
    let name = ArtifactName::new(WINDOW_MANIFEST_FILE).map_err(std::io::Error::other)?;
    let bytes = serde_json::to_vec_pretty(&manifest).map_err(std::io::Error::other)?;
    api.upload(key, &name, &Payload::bytes(bytes.into()))
        .await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_are_written_as_openmetrics_lines() {
        let series: Vec<MatrixSeries> = serde_json::from_value(serde_json::json!([
            {"metric": {"__name__": "up", "job": "a\"b\\c\nd", "instance": "x"},
             "values": [[1700000000.5, "1"], [1700000001, "NaN"]]},
            {"metric": {"__name__": "up"}, "values": [[1700000002.25, "+Inf"]]}
        ]))
        .expect("series");
        let mut out = String::new();
        assert_eq!(render("up", &series, &mut out), (2, 3));
        assert_eq!(
            out,
            "up{instance=\"x\",job=\"a\\\"b\\\\c\\nd\"} 1 1700000000.5\n\
             up{instance=\"x\",job=\"a\\\"b\\\\c\\nd\"} NaN 1700000001\n\
             up +Inf 1700000002.25\n"
        );
    }
}

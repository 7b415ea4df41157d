//! `krkn-telemetry prometheus-backup --window`: the run window read from the real test
//! Prometheus, uploaded as gzipped OpenMetrics parts; imported with `promtool`, the samples
//! must be the source's.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::support::{TestApi, UPLOADER, cli, krkn_config, text};

const RUN: &str = "1700000000-prometheus-run";

/// `{labels} value ms` lines of `promtool tsdb dump`, as (labels, ms, value).
fn dumped(blocks: &Path) -> std::collections::BTreeSet<(String, i64, String)> {
    // promtool 2.42 reads a WAL folder even for imported blocks.
    std::fs::create_dir_all(blocks.join("wal")).expect("wal folder");
    let out = std::process::Command::new(promtool())
        .args(["tsdb", "dump"])
        .arg(blocks)
        .output()
        .expect("promtool runs");
    assert!(
        out.status.success(),
        "promtool tsdb dump: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
        .lines()
        .filter_map(|line| {
            let (labels, rest) = line.rsplit_once("} ")?;
            let (value, ms) = rest.split_once(' ')?;
            Some((format!("{labels}}}"), ms.parse().ok()?, canonical(value)))
        })
        .collect()
}

/// A sample value in one spelling: promtool prints Go's `%g` (`1.018573e+06`), the HTTP API
/// the shortest decimal (`1018573`), so a counter past a million differed in text alone.
fn canonical(value: &str) -> String {
    value
        .parse::<f64>()
        .map_or_else(|_| value.to_owned(), |v| format!("{v:e}"))
}

fn promtool() -> String {
    std::env::var("KRKN_TEST_PROMTOOL").unwrap_or_else(|_| {
        panic!("this test needs KRKN_TEST_PROMTOOL: run `scripts/test-services.sh start && . .tools/services.env`")
    })
}

/// The source's raw samples of `name` in `[start, end]`, in the dump's form.
fn source_samples(
    url: &str,
    name: &str,
    start: i64,
    end: i64,
) -> std::collections::BTreeSet<(String, i64, String)> {
    let answer: Value = reqwest::blocking::Client::new()
        .get(format!("{url}/api/v1/query"))
        .query(&[
            (
                "query",
                format!("{{__name__=\"{name}\"}}[{}s]", end - start + 1),
            ),
            ("time", end.to_string()),
        ])
        .send()
        .and_then(|r| r.json())
        .expect("Prometheus answers");
    let mut out = std::collections::BTreeSet::new();
    for series in answer["data"]["result"].as_array().expect("matrix") {
        let labels: Vec<String> = series["metric"]
            .as_object()
            .expect("labels")
            .iter()
            .map(|(k, v)| format!("{k}={}", Value::from(v.as_str().unwrap_or_default())))
            .collect();
        let labels = format!("{{{}}}", labels.join(", "));
        for sample in series["values"].as_array().expect("values") {
            let ms = (sample[0].as_f64().expect("time") * 1000.0).round() as i64;
            out.insert((
                labels.clone(),
                ms,
                canonical(sample[1].as_str().expect("value")),
            ));
        }
    }
    out
}

/// Runs `prometheus-backup --window` for `[start, end]` against the test Prometheus.
fn export_window(api: &TestApi, dir: &Path, url: &str, (start, end): (i64, i64)) {
    let config = krkn_config(
        dir,
        &format!(
            "  api_url: {}\n  username: {}\n  password: {}\n  archive_size: 8\n  archive_path: {}\n",
            api.url,
            UPLOADER.0,
            UPLOADER.1,
            dir.join("archive").display()
        ),
        "",
    );
    let out = cli(
        &[
            "prometheus-backup",
            "--config",
            config.to_str().expect("utf-8"),
            "--request-id",
            RUN,
            "--window",
            "--window-margin",
            "0",
            "--start",
            &start.to_string(),
            "--end",
            &end.to_string(),
            "--prometheus-url",
            url,
        ],
        None,
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

/// The stored parts, joined in number order, as one gzip stream of OpenMetrics text, checked
/// against the manifest's part count.
fn stored_window(api: &TestApi) -> Vec<u8> {
    let folder = format!("default/{RUN}/");
    let mut parts: Vec<String> = api
        .keys(&folder)
        .into_iter()
        .filter(|k| k.starts_with("prometheus-window-") && k.ends_with(".om.gz"))
        .collect();
    parts.sort_by_key(|k| {
        k.trim_start_matches("prometheus-window-")
            .trim_end_matches(".om.gz")
            .parse::<u32>()
            .unwrap_or(u32::MAX)
    });
    assert!(
        !parts.is_empty(),
        "no window parts in {:?}",
        api.keys(&folder)
    );
    let joined: Vec<u8> = parts
        .iter()
        .flat_map(|name| api.object(&format!("{folder}{name}")).expect("part"))
        .collect();
    let mut text_format = Vec::new();
    flate2::read::GzDecoder::new(joined.as_slice())
        .read_to_end(&mut text_format)
        .expect("one gzip stream");
    assert!(text_format.ends_with(b"# EOF\n"));
    let manifest: Value = serde_json::from_slice(
        &api.object(&format!("{folder}prometheus-window-manifest.json"))
            .expect("manifest"),
    )
    .expect("JSON");
    assert_eq!(
        manifest["parts"].as_array().map(Vec::len),
        Some(parts.len())
    );
    text_format
}

/// What promtool imports from `text_format`, as `dumped` reads it.
fn imported(dir: &Path, text_format: &[u8]) -> std::collections::BTreeSet<(String, i64, String)> {
    let om = dir.join("window.om");
    std::fs::write(&om, text_format).expect("written");
    let blocks = dir.join("blocks");
    let import = std::process::Command::new(promtool())
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&om)
        .arg(&blocks)
        .output()
        .expect("promtool runs");
    assert!(
        import.status.success(),
        "promtool import: {}{}",
        text(&import.stdout),
        text(&import.stderr)
    );
    dumped(&blocks)
}

#[test]
fn the_window_export_imports_with_promtool_and_matches_the_source() {
    let url = crate::support::prometheus_url();
    let since = crate::support::critical_alert_firing(&url);
    std::thread::sleep(Duration::from_secs(3));
    let end = chrono::Utc::now().timestamp() - 1;
    let start = since.min(end - 3);
    let api = TestApi::start();
    let dir = tempfile::tempdir().expect("temp dir");
    export_window(&api, dir.path(), &url, (start, end));
    let imported = imported(dir.path(), &stored_window(&api));
    for name in [
        "up",
        "ALERTS",
        "prometheus_tsdb_head_samples_appended_total",
    ] {
        let want = source_samples(&url, name, start, end);
        assert!(
            !want.is_empty(),
            "the source has {name} samples in the window"
        );
        let got: std::collections::BTreeSet<_> = imported
            .iter()
            .filter(|(labels, _, _)| labels.contains(&format!("__name__=\"{name}\"")))
            .cloned()
            .collect();
        assert_eq!(
            got, want,
            "{name}: imported samples differ from the source's"
        );
    }
}

//! `krkn-telemetry logs` on the real must-gather sample (`../shared/fixtures/must-gather`):
//! the kept lines are exactly those whose time lies in the window, the names follow
//! `KRKN-PROTOCOL.md` section 5, and the archive lands in the bucket.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::support::{TestApi, UPLOADER, cli, krkn_config, text};

fn must_gather() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/must-gather/must-gather.local.380795299248362313");
    assert!(
        path.is_dir(),
        "fixture {} is missing: the shared/ folder must sit beside the repository",
        path.display()
    );
    path
}

fn unix(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text)
        .expect("test time")
        .timestamp()
}

/// The expected output, computed another way: every `*.log` below the image folder, each line
/// kept when its first word is an RFC 3339 time (what `oc adm must-gather` puts there) within
/// `[start, end]`; output names are the path below the image folder with `/` → `.`.
fn expected(start: i64, end: i64) -> BTreeMap<String, Vec<u8>> {
    let image = std::fs::read_dir(must_gather())
        .expect("gather")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .expect("image folder");
    let mut out = BTreeMap::new();
    for (relative, bytes) in crate::support::files_below(&image) {
        if relative.extension().is_none_or(|e| e != "log") {
            continue;
        }
        let mut kept = Vec::new();
        for line in bytes.split_inclusive(|b| *b == b'\n') {
            let first = line.split(|b| *b == b' ').next().unwrap_or_default();
            let Ok(first) = std::str::from_utf8(first) else {
                continue;
            };
            if let Ok(at) = chrono::DateTime::parse_from_rfc3339(first)
                && (start..=end).contains(&at.timestamp())
            {
                kept.extend_from_slice(line);
            }
        }
        if !kept.is_empty() {
            let name = relative.to_str().expect("utf-8").replace('/', ".");
            out.insert(name, kept);
        }
    }
    out
}

fn written(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("output folder")
        .filter_map(Result::ok)
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("file"),
            )
        })
        .collect()
}

fn filter_to_folder(start: i64, end: i64) -> (tempfile::TempDir, BTreeMap<String, Vec<u8>>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = dir.path().join("filtered");
    let out = cli(
        &[
            "logs",
            "--must-gather-dir",
            must_gather().to_str().expect("utf-8"),
            "--start",
            &start.to_string(),
            "--end",
            &end.to_string(),
            "--output-dir",
            output.to_str().expect("utf-8"),
        ],
        None,
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let files = if output.exists() {
        written(&output)
    } else {
        BTreeMap::new()
    };
    (dir, files)
}

#[test]
fn the_must_gather_sample_keeps_exactly_the_lines_of_each_window() {
    let windows = [
        // Prometheus starting up: its first lines only.
        ("2023-09-11T18:49:17Z", "2023-09-11T18:49:18Z"),
        // Both pods' logs overlap here.
        ("2023-09-11T18:48:00Z", "2023-09-11T18:50:00Z"),
        // Everything.
        ("2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z"),
        // Before any line.
        ("2023-09-01T00:00:00Z", "2023-09-01T01:00:00Z"),
    ];
    for (from, to) in windows {
        let (start, end) = (unix(from), unix(to));
        let (_dir, got) = filter_to_folder(start, end);
        let want = expected(start, end);
        let names = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
        assert_eq!(names(&got), names(&want), "files for {from}..{to}");
        for (name, bytes) in &want {
            assert!(
                got[name] == *bytes,
                "{name} for {from}..{to}: {} lines kept, {} expected",
                got[name].split(|b| *b == b'\n').count(),
                bytes.split(|b| *b == b'\n').count()
            );
        }
    }
    // The names are the paths below the gather folder, `/` turned into `.`.
    let (_dir, all) = filter_to_folder(unix("2000-01-01T00:00:00Z"), unix("2100-01-01T00:00:00Z"));
    assert_eq!(
        all.keys().collect::<Vec<_>>(),
        [
            "namespaces.openshift-monitoring.pods.openshift-state-metrics-78df59b4d5-mjvhd.openshift-state-metrics.openshift-state-metrics.logs.current.log",
            "namespaces.openshift-monitoring.pods.prometheus-k8s-0.prometheus.prometheus.logs.current.log",
        ]
    );
}

#[test]
fn bytes_that_are_not_utf8_and_lines_without_a_time_are_survived() {
    let dir = tempfile::tempdir().expect("temp dir");
    let gather = dir.path().join("must-gather.local.1/image");
    let logs = gather.join("namespaces/ns/pods/p/c/c/logs");
    std::fs::create_dir_all(&logs).expect("folders");
    std::fs::write(
        gather.join("timestamp"),
        "2023-09-13 15:41:24.795009033 +0200 CEST m=+0.1\n",
    )
    .expect("timestamp");
    let mut log = Vec::new();
    log.extend_from_slice(b"2023-09-15T09:20:36.1Z \xff\xfe\xfd binary noise in the window\n");
    log.extend_from_slice(b"\tat a.stack.trace(line without a time)\n");
    log.extend_from_slice(b"2023-09-15T09:21:00.1Z after the window\n");
    // No zone: read in the gather's zone (+02:00), so 11:20:40 there is 09:20:40 UTC (kept)
    // and 09:20:40 there is 07:20:40 UTC (dropped).
    log.extend_from_slice(b"2023-09-15 11:20:40.123 local time in the window\n");
    log.extend_from_slice(b"2023-09-15 09:20:40.123 local time before the window\n");
    std::fs::write(logs.join("current.log"), &log).expect("log");
    std::fs::write(logs.join("previous.log"), b"no times here at all\n").expect("log");
    let output = dir.path().join("out");
    let out = cli(
        &[
            "logs",
            "--must-gather-dir",
            dir.path()
                .join("must-gather.local.1")
                .to_str()
                .expect("utf-8"),
            "--start",
            &unix("2023-09-15T09:20:30Z").to_string(),
            "--end",
            &unix("2023-09-15T09:20:50Z").to_string(),
            "--pattern",
            r"(\d{4}-\d\d-\d\dT\S+Z) ",
            "--pattern",
            r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) ",
            "--output-dir",
            output.to_str().expect("utf-8"),
        ],
        None,
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let files = written(&output);
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        ["namespaces.ns.pods.p.c.c.logs.current.log"],
        "a log with no kept line leaves no file"
    );
    let mut want = Vec::new();
    want.extend_from_slice(b"2023-09-15T09:20:36.1Z \xff\xfe\xfd binary noise in the window\n");
    want.extend_from_slice(b"2023-09-15 11:20:40.123 local time in the window\n");
    let got = &files["namespaces.ns.pods.p.c.c.logs.current.log"];
    assert_eq!(got, &want, "{}", String::from_utf8_lossy(got));
}

#[test]
fn logs_are_archived_and_uploaded_as_krkn_names_them() {
    let api = TestApi::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = krkn_config(
        dir.path(),
        &format!(
            "  api_url: {}\n  username: {}\n  password: {}\n  archive_path: {}\n",
            api.url,
            UPLOADER.0,
            UPLOADER.1,
            dir.path().join("archive").display()
        ),
        "",
    );
    let (start, end) = (unix("2023-09-11T18:48:00Z"), unix("2023-09-11T18:50:00Z"));
    let gather = must_gather();
    for (namespace, name) in [
        (None, "logs-00.tar.gz"),
        (
            Some("openshift-monitoring"),
            "logs-openshift-monitoring-00.tar.gz",
        ),
    ] {
        let (start_text, end_text) = (start.to_string(), end.to_string());
        let mut args = vec![
            "logs",
            "--must-gather-dir",
            gather.to_str().expect("utf-8"),
            "--start",
            &start_text,
            "--end",
            &end_text,
            "--config",
            config.to_str().expect("utf-8"),
            "--request-id",
            "1694775636-logs-run",
        ];
        if let Some(ns) = namespace {
            args.extend(["--namespace", ns]);
        }
        let out = cli(&args, None, &[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(
            text(&out.stdout).trim(),
            format!("{}/files/default/1694775636-logs-run", api.url)
        );
        let stored = api
            .object(&format!("default/1694775636-logs-run/{name}"))
            .unwrap_or_else(|| panic!("{name} in the bucket"));
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(stored.as_slice()));
        let mut unpacked = BTreeMap::new();
        for entry in archive.entries().expect("a tar") {
            let mut entry = entry.expect("an entry");
            let name = entry.path().expect("a name").to_string_lossy().into_owned();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).expect("bytes");
            unpacked.insert(name, bytes);
        }
        assert_eq!(
            unpacked,
            expected(start, end),
            "{name}: flat, one file per kept log"
        );
    }
}

#[test]
fn bad_windows_patterns_and_missing_upload_settings_are_refused() {
    let dir = must_gather();
    let dir = dir.to_str().expect("utf-8");
    let out = cli(
        &[
            "logs",
            "--must-gather-dir",
            dir,
            "--start",
            "20",
            "--end",
            "10",
            "--pattern",
            "(a)(b)",
            "--output-dir",
            "/tmp/x",
        ],
        None,
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--end: (10) is before --start (20)"),
        "{}",
        text(&out.stderr)
    );

    let out = cli(
        &[
            "logs",
            "--must-gather-dir",
            dir,
            "--start",
            "10",
            "--end",
            "20",
            "--pattern",
            "(a)(b)",
            "--output-dir",
            "/tmp/x",
        ],
        None,
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("exactly one capture group"),
        "{}",
        text(&out.stderr)
    );

    let out = cli(
        &[
            "logs",
            "--must-gather-dir",
            dir,
            "--start",
            "10",
            "--end",
            "20",
        ],
        None,
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("--request-id") && stderr.contains("telemetry.api_url"),
        "{stderr}"
    );
}

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
    let output = ["--output-dir", "/tmp/x"];
    let two_groups = ["--pattern", "(a)(b)"];
    // (window, extra arguments, what stderr must say)
    let cases: [(&str, &str, &[&str], &[&str]); 3] = [
        (
            "20",
            "10",
            &[&two_groups[..], &output].concat(),
            &["--end: (10) is before --start (20)"],
        ),
        (
            "10",
            "20",
            &[&two_groups[..], &output].concat(),
            &["exactly one capture group"],
        ),
        ("10", "20", &[], &["--request-id", "telemetry.api_url"]),
    ];
    for (start, end, extra, says) in cases {
        let mut args = vec![
            "logs",
            "--must-gather-dir",
            dir,
            "--start",
            start,
            "--end",
            end,
        ];
        args.extend_from_slice(extra);
        let out = cli(&args, None, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(
            says.iter().all(|s| stderr.contains(s)),
            "{args:?}: {stderr}"
        );
    }
}

/// The must-gather sample's two containers, as pods of a fake cluster whose `pods/log`
/// serves their saved logs.
pub(crate) fn cluster_with_the_sample_pods() -> krkn_telemetry_fake_kube::FakeKube {
    let image = std::fs::read_dir(must_gather())
        .expect("gather")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .expect("image folder");
    let mut cluster = crate::support::cluster("ocp-4.4");
    let mut builder_logs = Vec::new();
    for (pod, container) in [
        ("prometheus-k8s-0", "prometheus"),
        (
            "openshift-state-metrics-78df59b4d5-mjvhd",
            "openshift-state-metrics",
        ),
    ] {
        cluster
            .insert(serde_json::json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod, "namespace": "openshift-monitoring"},
                "spec": {"containers": [{"name": container, "image": "registry.example/x"}]}
            }))
            .expect("pod");
        builder_logs.push(krkn_telemetry_fake_kube::PodLog {
            namespace: "openshift-monitoring".into(),
            pod: pod.into(),
            container: container.into(),
            file: image.join(format!(
                "namespaces/openshift-monitoring/pods/{pod}/{container}/{container}/logs/current.log"
            )),
        });
    }
    let mut builder = krkn_telemetry_fake_kube::FakeKube::builder(cluster).https();
    for log in builder_logs {
        builder = builder.pod_log(log);
    }
    builder.start().expect("fake API server starts")
}

#[test]
fn pod_logs_read_through_the_api_keep_the_same_lines_under_the_same_names() {
    let server = cluster_with_the_sample_pods();
    let kube = crate::support::kubeconfig(&server);
    let (start, end) = (unix("2023-09-11T18:48:00Z"), unix("2023-09-11T18:50:00Z"));
    let output = kube.dir.path().join("filtered");
    let out = cli(
        &[
            "logs",
            "--pods",
            "--kubeconfig",
            kube.path.to_str().expect("utf-8"),
            "--start",
            &start.to_string(),
            "--end",
            &end.to_string(),
            "--output-dir",
            output.to_str().expect("utf-8"),
            "--output",
            "json",
        ],
        None,
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(written(&output), expected(start, end));
    // The JSON result lists each written file with its size and SHA-256, not uploaded.
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON result");
    let listed: BTreeMap<String, (u64, String)> = result["files"]
        .as_array()
        .expect("files")
        .iter()
        .inspect(|f| assert_eq!(f["uploaded"], false))
        .map(|f| {
            (
                f["name"].as_str().unwrap_or_default().to_owned(),
                (
                    f["size"].as_u64().unwrap_or(0),
                    f["sha256"].as_str().unwrap_or_default().to_owned(),
                ),
            )
        })
        .collect();
    let on_disk: BTreeMap<String, (u64, String)> = written(&output)
        .into_iter()
        .map(|(name, bytes)| {
            let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
            (name, (bytes.len() as u64, digest))
        })
        .collect();
    assert_eq!(listed, on_disk);
    // Each log was asked from the window's start, with times.
    let logs: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/log"))
        .collect();
    assert_eq!(logs.len(), 2);
    for request in logs {
        assert!(
            request.query.contains("sinceTime=2023-09-11T18%3A48%3A00Z")
                && request.query.contains("timestamps=true"),
            "{}",
            request.query
        );
    }
}

#[test]
fn the_oc_source_runs_oc_adm_must_gather_and_filters_what_it_wrote() {
    // `oc` cannot be installed here (it is not in the package registries), so a stand-in
    // records its arguments and writes the real must-gather sample where --dest-dir says.
    let dir = tempfile::tempdir().expect("temp dir");
    let oc = dir.path().join("oc");
    let recorded = dir.path().join("oc-args");
    std::fs::write(
        &oc,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > {}\nwhile [ \"$1\" != --dest-dir ]; do shift; done\ncp -r {} \"$2/\"\n",
            recorded.display(),
            must_gather().display()
        ),
    )
    .expect("stand-in");
    std::fs::set_permissions(&oc, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let config = krkn_config(
        dir.path(),
        &format!("  oc_cli_path: {}\n", oc.display()),
        "",
    );
    let (start, end) = (unix("2023-09-11T18:48:00Z"), unix("2023-09-11T18:50:00Z"));
    let output = dir.path().join("filtered");
    for namespace in [None, Some("openshift-monitoring")] {
        let (start_text, end_text) = (start.to_string(), end.to_string());
        let mut args = vec![
            "logs",
            "--oc",
            "--config",
            config.to_str().expect("utf-8"),
            "--kubeconfig",
            "/etc/cluster/kubeconfig",
            "--start",
            &start_text,
            "--end",
            &end_text,
            "--output-dir",
            output.to_str().expect("utf-8"),
        ];
        if let Some(ns) = namespace {
            args.extend(["--namespace", ns]);
        }
        let _ = std::fs::remove_dir_all(&output);
        let out = cli(&args, None, &[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let oc_args = std::fs::read_to_string(&recorded).expect("oc ran");
        let oc_args: Vec<&str> = oc_args.lines().collect();
        let head: Vec<&str> = match namespace {
            None => vec!["adm", "must-gather", "--dest-dir"],
            Some(_) => vec!["adm", "inspect", "ns/openshift-monitoring", "--dest-dir"],
        };
        assert_eq!(&oc_args[..head.len()], head.as_slice());
        assert_eq!(
            &oc_args[head.len() + 1..],
            ["--kubeconfig", "/etc/cluster/kubeconfig"]
        );
        let files = written(&output);
        for (name, bytes) in expected(start, end) {
            assert_eq!(files.get(&name), Some(&bytes), "{name}");
        }
    }

    let missing = krkn_config(dir.path(), "  oc_cli_path: /nonexistent/oc\n", "");
    let out = cli(
        &[
            "logs",
            "--oc",
            "--config",
            missing.to_str().expect("utf-8"),
            "--start",
            "1",
            "--end",
            "2",
            "--output-dir",
            "/tmp/x",
        ],
        None,
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("/nonexistent/oc is not an executable file"),
        "{}",
        text(&out.stderr)
    );
}

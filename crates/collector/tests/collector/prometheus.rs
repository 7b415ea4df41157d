//! `krkn-telemetry prometheus-backup`: the data of the real test Prometheus streamed with tar
//! through the fake API server's `pods/exec`, cut into parts, uploaded through our API into
//! moto; the parts joined and untarred must be the source, byte for byte. Also: a flaky
//! upload endpoint, a run killed with SIGKILL and resumed, a broken exec stream, a source
//! that changed under a resumed backup.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use krkn_telemetry_fake_kube::{ExecFault, ExecMount, FakeKube};
use serde_json::Value;

use crate::support::{TestApi, UPLOADER, cli, cluster, krkn_config, kubeconfig, moto_url, text};

pub(crate) const RUN: &str = "1700000000-prometheus-run";

/// A still copy of the test Prometheus's data folder (it keeps writing; the backup of a
/// moving folder is not what these tests check).
pub(crate) fn prometheus_copy() -> tempfile::TempDir {
    let data = std::env::var("KRKN_TEST_PROMETHEUS_DATA").unwrap_or_else(|_| {
        panic!(
            "this test needs KRKN_TEST_PROMETHEUS_DATA: run `scripts/test-services.sh start && . .tools/services.env` (make test does both)"
        )
    });
    let copy = tempfile::tempdir().expect("temp dir");
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{data}/."))
        .arg(copy.path())
        .status()
        .expect("cp runs");
    assert!(status.success(), "cannot copy {data}");
    copy
}

/// A fake OpenShift cluster (ocp-4.4) whose prometheus-k8s-0 serves `data` as /prometheus.
pub(crate) fn openshift_with_prometheus(data: &Path) -> FakeKube {
    FakeKube::builder(cluster("ocp-4.4"))
        .https()
        .exec_mount(ExecMount {
            namespace: "openshift-monitoring".into(),
            pod: "prometheus-k8s-0".into(),
            container: "prometheus".into(),
            container_path: "/prometheus".into(),
            host_dir: data.to_owned(),
        })
        .start()
        .expect("fake API server starts")
}

/// Part size in KB for about 30 parts of `data` (the test Prometheus's folder grows while it
/// runs, so a fixed size would make these tests slower the later they run).
pub(crate) fn part_kb(data: &Path) -> u64 {
    let mut total = 0u64;
    let mut stack = vec![data.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)
            .expect("folder")
            .filter_map(Result::ok)
        {
            let meta = entry.metadata().expect("metadata");
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                total += meta.len();
            }
        }
    }
    (total / 30 / 1024).max(1)
}

pub(crate) fn config(dir: &Path, api: &str, archive: &Path, data: &Path) -> PathBuf {
    krkn_config(
        dir,
        &format!(
            "  api_url: {api}\n  username: {}\n  password: {}\n  archive_size: {}\n  backup_threads: 3\n  full_prometheus_backup: true\n  max_retries: 0\n  archive_path: {}\n",
            UPLOADER.0,
            UPLOADER.1,
            part_kb(data),
            archive.display()
        ),
        "",
    )
}

/// A still Prometheus folder served by a fake OpenShift cluster, our API (its S3 behind
/// `s3_proxy` when given) and a krkn config for about 30 parts.
pub(crate) struct Setup {
    pub(crate) data: tempfile::TempDir,
    pub(crate) server: FakeKube,
    pub(crate) kube: crate::support::Kubeconfig,
    pub(crate) api: TestApi,
    pub(crate) archive: PathBuf,
    pub(crate) config: PathBuf,
}

impl Setup {
    pub(crate) fn new(s3_proxy: Option<String>) -> Setup {
        let data = prometheus_copy();
        let server = openshift_with_prometheus(data.path());
        let kube = kubeconfig(&server);
        let api = TestApi::start_with_s3(s3_proxy);
        let archive = kube.dir.path().join("archive");
        let config = config(kube.dir.path(), &api.url, &archive, data.path());
        Setup {
            data,
            server,
            kube,
            api,
            archive,
            config,
        }
    }

    pub(crate) fn backup(&self) -> std::process::Output {
        cli(&backup_args(&self.config, &self.kube.path), None, &[])
    }
}

pub(crate) fn backup_args<'a>(config: &'a Path, kubeconfig: &'a Path) -> Vec<&'a str> {
    vec![
        "prometheus-backup",
        "--config",
        config.to_str().expect("utf-8"),
        "--request-id",
        RUN,
        "--kubeconfig",
        kubeconfig.to_str().expect("utf-8"),
        "--deadline",
        "240",
    ]
}

/// The parts in the bucket, in number order, and the manifest.
pub(crate) fn stored_backup(api: &TestApi, run: &str) -> (Vec<(String, Vec<u8>)>, Value) {
    let folder = format!("default/{run}/");
    let mut parts: Vec<(u32, String)> = api
        .keys(&folder)
        .into_iter()
        .filter_map(|name| {
            let number = name
                .strip_prefix("prometheus-")?
                .strip_suffix(".tar")?
                .parse()
                .ok()?;
            Some((number, name))
        })
        .collect();
    parts.sort();
    let parts = parts
        .into_iter()
        .map(|(_, name)| {
            let bytes = api.object(&format!("{folder}{name}")).expect("part");
            (name, bytes)
        })
        .collect();
    let manifest = api
        .object(&format!("{folder}prometheus-manifest.json"))
        .expect("the manifest is uploaded");
    (
        parts,
        serde_json::from_slice(&manifest).expect("JSON manifest"),
    )
}

/// Joins the parts, untars them, and compares every file with `source`.
pub(crate) fn assert_restores(parts: &[(String, Vec<u8>)], manifest: &Value, source: &Path) {
    let listed = manifest["parts"].as_array().expect("parts");
    assert_eq!(listed.len(), parts.len(), "the manifest lists every part");
    for ((name, bytes), entry) in parts.iter().zip(listed) {
        assert_eq!(entry["name"], name.as_str());
        assert_eq!(entry["size"], bytes.len() as u64);
        let digest = <sha2::Sha256 as sha2::Digest>::digest(bytes);
        assert_eq!(entry["sha256"], hex::encode(digest), "{name}: checksum");
    }
    let stream: Vec<u8> = parts.iter().flat_map(|(_, b)| b.iter().copied()).collect();
    assert_eq!(manifest["total_bytes"], stream.len() as u64);
    let mut archive = tar::Archive::new(stream.as_slice());
    let mut restored = BTreeMap::new();
    for entry in archive.entries().expect("a tar") {
        let mut entry = entry.expect("an entry");
        if entry.header().entry_type().is_file() {
            let name = entry
                .path()
                .expect("a path")
                .to_string_lossy()
                .trim_start_matches("./")
                .to_owned();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).expect("bytes");
            restored.insert(name, bytes);
        }
    }
    let original: BTreeMap<String, Vec<u8>> = crate::support::files_below(source)
        .into_iter()
        .map(|(path, bytes)| (path.to_string_lossy().into_owned(), bytes))
        .collect();
    assert_eq!(
        restored.keys().collect::<Vec<_>>(),
        original.keys().collect::<Vec<_>>(),
        "the same files"
    );
    assert!(restored == original, "the same bytes");
}

#[test]
fn the_parts_rebuild_the_prometheus_folder_byte_for_byte() {
    let setup = Setup::new(None);
    let mut args = backup_args(&setup.config, &setup.kube.path);
    args.extend(["--output", "json"]);
    let out = cli(&args, None, &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("prometheus backup complete"), "{stderr}");
    let (parts, manifest) = stored_backup(&setup.api, RUN);
    // The JSON result lists every part and the manifest as stored, in upload order.
    let result: Value = serde_json::from_slice(&out.stdout).expect("one JSON result");
    assert_eq!(
        (result["status"].as_str(), result["request_id"].as_str()),
        (Some("success"), Some(RUN))
    );
    let mut listed: Vec<(String, u64, String)> = result["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap_or_default().to_owned(),
                f["size"].as_u64().unwrap_or(0),
                f["sha256"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        listed.last().map(|f| f.0.as_str()),
        Some("prometheus-manifest.json"),
        "the manifest goes last"
    );
    listed.pop();
    listed.sort();
    let expected: Vec<(String, u64, String)> = parts
        .iter()
        .map(|(name, bytes)| {
            (
                name.clone(),
                bytes.len() as u64,
                hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes)),
            )
        })
        .collect();
    assert_eq!(listed, expected);
    assert!(
        parts.len() >= 10,
        "about 30 parts of the Prometheus folder: {} parts",
        parts.len()
    );
    assert_eq!(parts[0].0, "prometheus-00.tar");
    assert_eq!(manifest["source"]["pod"], "prometheus-k8s-0");
    assert_eq!(manifest["source"]["path"], "/prometheus");
    assert_restores(&parts, &manifest, setup.data.path());
    // Every part was deleted once confirmed; only the state is left.
    let left: Vec<String> = std::fs::read_dir(setup.archive.join(RUN))
        .expect("backup folder")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["prometheus-backup.state.json"]);
    // Run again: the backup is complete, nothing is sent.
    let again = setup.backup();
    assert_eq!(again.status.code(), Some(0));
    assert!(
        text(&again.stderr).contains("already complete"),
        "{}",
        text(&again.stderr)
    );
}

/// A proxy in front of moto. PUTs (the uploads) are where the faults are: `drop_percent` of
/// them get a 503 or a connection reset after the request reached moto (the answer is lost),
/// in a fixed pseudo-random order; `delay` slows every PUT. It counts the PUTs per object.
pub(crate) struct S3Proxy {
    pub(crate) url: String,
    pub(crate) puts: Arc<Mutex<HashMap<String, u32>>>,
    pub(crate) faults: Arc<AtomicU64>,
    _runtime: tokio::runtime::Runtime,
}

#[derive(Clone)]
struct ProxyState {
    upstream: String,
    drop_percent: u64,
    delay: Duration,
    sequence: Arc<AtomicU64>,
    faults: Arc<AtomicU64>,
    puts: Arc<Mutex<HashMap<String, u32>>>,
}

async fn s3_proxy_handler(State(state): State<ProxyState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let is_put = parts.method == "PUT";
    let mut fault = 0;
    if is_put {
        if let Some(name) = path.rsplit('/').next() {
            *state
                .puts
                .lock()
                .expect("lock")
                .entry(name.to_owned())
                .or_default() += 1;
        }
        tokio::time::sleep(state.delay).await;
        // A fixed pseudo-random sequence (splitmix64), so a failure is reproducible.
        let mut x = state
            .sequence
            .fetch_add(1, Ordering::SeqCst)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        let roll = (x ^ (x >> 31)) % 100;
        if roll < state.drop_percent / 2 {
            fault = 1;
        } else if roll < state.drop_percent {
            fault = 2;
        }
    }
    if fault == 1 {
        state.faults.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::SERVICE_UNAVAILABLE, "injected 503").into_response();
    }
    let answer = match crate::support::forward(&state.upstream, &parts, bytes).await {
        Ok(answer) => answer,
        Err(error) => return (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    };
    if fault == 2 {
        // The upload landed, but the answer never arrives: the connection is reset.
        state.faults.fetch_add(1, Ordering::SeqCst);
        let broken = futures_util::stream::once(async {
            Err::<bytes::Bytes, std::io::Error>(std::io::Error::other("injected reset"))
        });
        return Response::builder()
            .status(StatusCode::OK)
            .header("content-length", "100")
            .body(axum::body::Body::from_stream(broken))
            .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response());
    }
    answer
}

pub(crate) fn s3_proxy(drop_percent: u64, delay: Duration) -> S3Proxy {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let puts = Arc::new(Mutex::new(HashMap::new()));
    let faults = Arc::new(AtomicU64::new(0));
    let state = ProxyState {
        upstream: moto_url(),
        drop_percent,
        delay,
        sequence: Arc::new(AtomicU64::new(0)),
        faults: Arc::clone(&faults),
        puts: Arc::clone(&puts),
    };
    let url = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let app = axum::Router::new()
            .fallback(s3_proxy_handler)
            .with_state(state);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        url
    });
    S3Proxy {
        url,
        puts,
        faults,
        _runtime: runtime,
    }
}

#[test]
fn an_upload_endpoint_dropping_30_percent_still_gets_every_part_intact() {
    let proxy = s3_proxy(30, Duration::ZERO);
    let setup = Setup::new(Some(proxy.url.clone()));
    let out = setup.backup();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let faults = proxy.faults.load(Ordering::SeqCst);
    assert!(
        faults >= 2,
        "the proxy must have failed some uploads ({faults})"
    );
    assert!(stderr.contains("retrying in"), "{stderr}");
    let (parts, manifest) = stored_backup(&setup.api, RUN);
    assert_restores(&parts, &manifest, setup.data.path());
}

#[test]
fn a_broken_exec_stream_restarts_from_the_source_and_says_so() {
    let setup = Setup::new(None);
    // The backup's first exec is `du` (the size estimate); the tar stream is the second.
    setup.server.inject_exec_fault(ExecFault::BreakAfter(
        part_kb(setup.data.path()) * 1024 * 5 / 2,
    ));
    setup
        .server
        .inject_exec_fault(ExecFault::BreakAfter(u64::MAX));
    let out = setup.backup();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("the exec stream broke after"), "{stderr}");
    assert!(
        stderr.contains("restarting the backup from the source"),
        "{stderr}"
    );
    assert!(stderr.contains("1 restart(s)"), "{stderr}");
    let (parts, manifest) = stored_backup(&setup.api, RUN);
    assert_restores(&parts, &manifest, setup.data.path());
}

#[test]
fn a_source_that_changed_under_a_resumed_backup_is_refused() {
    let setup = Setup::new(None);
    // An earlier run's state claims part 00 had other bytes.
    std::fs::create_dir_all(setup.archive.join(RUN)).expect("folder");
    let state = serde_json::json!({
        "run": format!("default/{RUN}"),
        "source": "openshift-monitoring/prometheus-k8s-0/prometheus:/prometheus",
        "part_size": part_kb(setup.data.path()) * 1024,
        "parts": {"0": {"size": part_kb(setup.data.path()) * 1024, "sha256": "00".repeat(32)}},
        "manifest_uploaded": false
    });
    std::fs::write(
        setup.archive.join(RUN).join("prometheus-backup.state.json"),
        state.to_string(),
    )
    .expect("state");
    let out = setup.backup();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the source changed"), "{stderr}");
    assert!(
        setup.api.keys(&format!("default/{RUN}/")).is_empty(),
        "nothing was sent"
    );
}

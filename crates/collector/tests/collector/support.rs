//! What the collector tests share: fixtures, the fake API server, the real services started by
//! `scripts/test-services.sh`, our telemetry API on moto, and running the binary.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use krkn_telemetry_api::auth::new_user;
use krkn_telemetry_api::store::aws::AwsSettings;
use krkn_telemetry_api::store::{AwsStore, Backend};
use krkn_telemetry_api::{ApiConfig, AppState, router};
use krkn_telemetry_fake_kube::{Cluster, FakeKube};

/// A cluster fixture: `ocp-4.4` and `ocp-4.7` from `../shared/fixtures/clusters`, `eks-1.31`
/// from the fake server's own fixtures.
pub fn fixture(name: &str) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = if name.starts_with("ocp-") {
        manifest
            .join("../../../shared/fixtures/clusters")
            .join(name)
    } else {
        manifest.join("../fake-kube/fixtures").join(name)
    };
    assert!(
        path.is_dir(),
        "fixture {} is missing: the shared/ folder must sit beside the repository",
        path.display()
    );
    path
}

/// The objects of a fixture.
pub fn cluster(name: &str) -> Cluster {
    Cluster::from_dir(&fixture(name)).unwrap_or_else(|e| panic!("fixture {name} loads: {e}"))
}

/// A fake API server over `cluster` (HTTPS with its own CA, as a real cluster).
pub fn kube(cluster: Cluster) -> FakeKube {
    FakeKube::builder(cluster)
        .https()
        .start()
        .expect("fake API server starts")
}

/// A temporary folder holding a kubeconfig for `server`.
pub struct Kubeconfig {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

pub fn kubeconfig(server: &FakeKube) -> Kubeconfig {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kubeconfig");
    server.write_kubeconfig(&path).expect("kubeconfig written");
    Kubeconfig { dir, path }
}

/// Runs `krkn-telemetry` with `args`, `stdin` and extra environment variables.
pub fn cli(args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_krkn-telemetry"));
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Never pick up the developer's cluster or credentials.
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("RUST_LOG");
    // Every setting the collector reads from the environment starts so.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("KRKN_TELEMETRY_") {
            command.env_remove(key);
        }
    }
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("binary starts");
    if let Some(bytes) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(bytes)
            .expect("write stdin");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("binary ends")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `krkn-telemetry collect` against `server`; fails the test unless it exits 0 with JSON.
pub fn collect(server: &FakeKube, extra: &[&str]) -> serde_json::Value {
    let config = kubeconfig(server);
    let path = config.path.to_str().expect("utf-8 path");
    let mut args = vec!["collect", "--kubeconfig", path];
    args.extend_from_slice(extra);
    let out = cli(&args, None, &[]);
    assert!(
        out.status.success(),
        "collect failed ({}): {}",
        out.status,
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("collect prints JSON ({e}): {}", text(&out.stdout)))
}

fn service(variable: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| {
        panic!(
            "this test needs {variable}: run `scripts/test-services.sh start && . .tools/services.env` \
             (make test does both), then run the tests again"
        )
    })
}

/// The real Prometheus of the test services.
pub fn prometheus_url() -> String {
    service("KRKN_TEST_PROMETHEUS_URL")
}

/// The moto server of the test services.
pub fn moto_url() -> String {
    service("KRKN_TEST_MOTO_URL")
}

/// The uploader every test API has.
pub const UPLOADER: (&str, &str) = ("collector", "collector-password");

/// Our telemetry API on S3 + DynamoDB (moto), serving on a free loopback port from its own
/// thread, so the test can block on the collector binary meanwhile.
pub struct TestApi {
    pub url: String,
    pub backend: Backend,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl TestApi {
    pub fn start() -> TestApi {
        Self::start_with_s3(None)
    }

    /// The API on moto, its S3 traffic (and so its upload links) sent to `s3_endpoint` (a
    /// proxy in front of moto) when given.
    pub fn start_with_s3(s3_endpoint: Option<String>) -> TestApi {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "collector-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let settings = AwsSettings {
            bucket: name.clone(),
            table: name,
            endpoint: Some(moto_url()),
            s3_endpoint,
            keys: None,
            index_expiry: None,
        };
        let runtime = Arc::new(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime"),
        );
        let (url, backend) = runtime.block_on(async {
            let store = Arc::new(AwsStore::connect(&settings).await);
            store.init().await.expect("bucket and table on moto");
            let backend = Backend::aws(store);
            let user = new_user(UPLOADER.0, "uploader", "*", UPLOADER.1).expect("user");
            backend.users.put_user(&user).await.expect("user saved");
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind loopback");
            let url = format!("http://{}", listener.local_addr().expect("address"));
            let app = router(AppState::new(backend.clone(), ApiConfig::default()));
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            (url, backend)
        });
        TestApi {
            url,
            backend,
            runtime,
        }
    }

    /// The bytes stored under `key`, if any.
    pub fn object(&self, key: &str) -> Option<Vec<u8>> {
        let objects = Arc::clone(&self.backend.objects);
        self.runtime
            .block_on(async move { objects.get(key).await.expect("S3 answers") })
    }

    /// (run items, scenario items) indexed for a run.
    pub fn index_counts(&self, group: &str, request_id: &str) -> (u64, u64) {
        let index = Arc::clone(&self.backend.index);
        self.runtime.block_on(async move {
            index
                .run_counts(group, request_id)
                .await
                .expect("DynamoDB answers")
        })
    }

    /// Every key stored under `prefix` (one folder level).
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        let objects = Arc::clone(&self.backend.objects);
        self.runtime.block_on(async move {
            objects
                .list(prefix, None, usize::MAX)
                .await
                .expect("S3 answers")
                .into_iter()
                .map(|entry| entry.path)
                .collect()
        })
    }
}

/// A krkn config.yaml with the given `telemetry:` lines (indented by the caller's text).
pub fn krkn_config(dir: &Path, telemetry: &str, extra: &str) -> PathBuf {
    let path = dir.join("config.yaml");
    let text = format!(
        "kraken:\n  distribution: openshift\n  kubeconfig_path: ~/.kube/config\n  exit_on_failure: false\n{extra}telemetry:\n{telemetry}"
    );
    std::fs::write(&path, text).expect("config written");
    path
}

/// Forwards a request a test proxy received to `upstream` and relays the answer (status,
/// headers, body). The proxies of the fault tests sit on this.
pub async fn forward(
    upstream: &str,
    parts: &axum::http::request::Parts,
    body: bytes::Bytes,
) -> Result<axum::response::Response, reqwest::Error> {
    let target = format!(
        "{upstream}{}",
        parts.uri.path_and_query().map_or("", |p| p.as_str())
    );
    let mut forwarded = reqwest::Client::new()
        .request(parts.method.clone(), target)
        .body(body);
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            forwarded = forwarded.header(name, value);
        }
    }
    let answer = forwarded.send().await?;
    let status = axum::http::StatusCode::from_u16(answer.status().as_u16())
        .unwrap_or(axum::http::StatusCode::BAD_GATEWAY);
    let mut response = axum::response::Response::builder().status(status);
    for (name, value) in answer.headers() {
        if name != "content-length" && name != "transfer-encoding" {
            response = response.header(name, value);
        }
    }
    let body = answer.bytes().await?;
    Ok(response
        .body(axum::body::Body::from(body))
        .unwrap_or_else(|_| axum::response::Response::new(axum::body::Body::empty())))
}

/// Every file below `root`, by its path relative to `root`.
pub fn files_below(root: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)
            .expect("folder")
            .filter_map(Result::ok)
        {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path.strip_prefix(root).expect("below the root").to_owned();
                out.insert(relative, std::fs::read(&path).expect("file"));
            }
        }
    }
    out
}

/// Waits until the test Prometheus fires `KrknTestCriticalAlert` (its rules evaluate every
/// second, but a fresh server needs a moment); returns the unix second it was seen.
pub fn critical_alert_firing(url: &str) -> i64 {
    let client = reqwest::blocking::Client::new();
    for _ in 0..120 {
        let answer: serde_json::Value = client
            .get(format!("{url}/api/v1/query"))
            .query(&[(
                "query",
                r#"ALERTS{alertname="KrknTestCriticalAlert",alertstate="firing"}"#,
            )])
            .send()
            .and_then(|r| r.json())
            .unwrap_or(serde_json::Value::Null);
        if answer["data"]["result"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
        {
            return chrono::Utc::now().timestamp();
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    panic!("KrknTestCriticalAlert never fired in the test Prometheus at {url}");
}

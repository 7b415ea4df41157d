//! `spawn_app`: a router over a fresh embedded store with one user of each role.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use http_body_util::BodyExt;
use krkn_telemetry_api::auth::new_user;
use krkn_telemetry_api::store::LocalStore;
use krkn_telemetry_api::{ApiConfig, AppState, router};
use tower::ServiceExt;

pub const SEED: &[u8] = include_bytes!("../../../model/tests/data/seed-sample.json");
pub const RUN_ID: &str = "1745343338-96348571-0b06-459e-b654-a1bb6fd66239";

/// A router, its store and its data directory (removed on drop).
pub struct TestApp {
    pub router: Router,
    pub store: Arc<LocalStore>,
    pub dir: tempfile::TempDir,
}

pub fn spawn_app() -> TestApp {
    spawn_app_with(ApiConfig::default())
}

pub fn spawn_app_with(config: ApiConfig) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(LocalStore::open(dir.path()).expect("store opens"));
    for (name, role, groups) in [
        ("admin", "admin", "*"),
        ("uploader", "uploader", "*"),
        ("reader", "reader", "*"),
        ("perf-uploader", "uploader", "perf"),
    ] {
        store
            .put_user(&new_user(name, role, groups, &password(name)).expect("user"))
            .expect("saved");
    }
    TestApp {
        router: router(AppState::new(Arc::clone(&store), config).expect("state")),
        store,
        dir,
    }
}

pub fn password(user: &str) -> String {
    format!("{user}-password")
}

pub fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// A real HTTP server on a free loopback port over a fresh store; returns its base URL.
pub async fn spawn_server(config: ApiConfig) -> (String, TestApp) {
    let app = spawn_app_with(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let address = listener.local_addr().expect("address");
    let router = app.router.clone();
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("server runs");
    });
    (format!("http://{address}"), app)
}

/// A response: status, headers, body as text.
pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl TestApp {
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// `POST /telemetry` as krkn sends it (Basic auth, JSON, query parameters).
    pub async fn post_telemetry(&self, user: &str, query: &str, body: &[u8]) -> Reply {
        let request = Request::post(format!("/telemetry?{query}"))
            .header("Authorization", basic(user, &password(user)))
            .header("Content-type", "application/json")
            .header("Accept", "text/plain")
            .body(Body::from(body.to_vec()))
            .expect("request");
        self.send(request).await
    }

    pub async fn get(&self, user: &str, path: &str) -> Reply {
        let request = Request::get(path)
            .header("Authorization", basic(user, &password(user)))
            .body(Body::empty())
            .expect("request");
        self.send(request).await
    }

    /// Every object file under the data directory, as (relative path, bytes).
    pub fn objects(&self) -> Vec<(String, Vec<u8>)> {
        let root = self.dir.path().join("objects");
        let mut out = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("read dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let rel = path
                        .strip_prefix(&root)
                        .expect("under root")
                        .to_string_lossy()
                        .into_owned();
                    out.push((rel, std::fs::read(&path).expect("read")));
                }
            }
        }
        out.sort();
        out
    }
}

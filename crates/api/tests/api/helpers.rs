//! `spawn_app`: a router over a fresh embedded store with one user of each role.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use http_body_util::BodyExt;
use krkn_telemetry_api::auth::new_user;
use std::sync::atomic::{AtomicUsize, Ordering};

use krkn_telemetry_api::store::aws::{AccessKeys, AwsSettings};
use krkn_telemetry_api::store::{AwsStore, Backend, EntryKind, LocalStore};
use krkn_telemetry_api::{ApiConfig, AppState, router};
use tower::ServiceExt;

pub const SEED: &[u8] = include_bytes!("../../../model/tests/data/seed-sample.json");
pub const RUN_ID: &str = "1745343338-96348571-0b06-459e-b654-a1bb6fd66239";

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The embedded store in a temporary directory.
    Local,
    /// S3 + DynamoDB on the shared moto server (`scripts/test-services.sh start`).
    Moto,
    /// S3 + DynamoDB on the IAM-enforced moto, provisioned by an admin principal and used as
    /// the Lambda's principal, which holds exactly the function's policy.
    MotoIam,
}

/// A router over a fresh store with one user of each role.
pub struct TestApp {
    pub router: Router,
    pub backend: Backend,
    /// The embedded store's data directory (removed on drop; unused on moto).
    pub dir: tempfile::TempDir,
    /// Where the bucket and table are, on moto (with the admin's keys on the IAM-enforced
    /// one, for tests that reach past the store).
    pub aws: Option<AwsSettings>,
}

pub fn spawn_app() -> TestApp {
    spawn_app_with(ApiConfig::default())
}

pub fn spawn_app_with(config: ApiConfig) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = Backend::local(LocalStore::open(dir.path()).expect("store opens"));
    // Callers may be inside a runtime or not: the users are saved on a thread of their own.
    let users = Arc::clone(&backend.users);
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        for (name, role, groups) in USERS {
            let user = new_user(name, role, groups, &password(name)).expect("user");
            runtime.block_on(users.put_user(&user)).expect("saved");
        }
    })
    .join()
    .expect("users saved");
    TestApp {
        router: router(AppState::new(backend.clone(), config)),
        backend,
        dir,
        aws: None,
    }
}

/// The moto server's address, or a failure that says how to start it.
pub fn moto_url() -> String {
    std::env::var("KRKN_TEST_MOTO_URL").unwrap_or_else(|_| {
        panic!(
            "this test needs the moto server: run `scripts/test-services.sh start && . .tools/services.env` \
             (make test does both), then run the tests again"
        )
    })
}

/// Settings for a fresh bucket and table on moto, unique to this test.
pub fn moto_settings() -> AwsSettings {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "krkn-test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    AwsSettings {
        bucket: name.clone(),
        table: name,
        endpoint: Some(moto_url()),
        s3_endpoint: None,
        keys: None,
        index_expiry: None,
    }
}

/// A variable the IAM-enforced moto's setup wrote, or a failure that says how to get it.
fn iam_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "this test needs the IAM-enforced moto ({name} is unset): run \
             `scripts/test-services.sh start && . .tools/services.env` (make test does both)"
        )
    })
}

/// A fresh bucket and table on the IAM-enforced moto, named as the function's test policy
/// expects (`krkn-iam-*`), with the admin's keys and with the function's.
pub fn moto_iam_settings() -> (AwsSettings, AwsSettings) {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "krkn-iam-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let settings = |id: &str, secret: &str| AwsSettings {
        bucket: name.clone(),
        table: name.clone(),
        endpoint: Some(iam_env("KRKN_TEST_MOTO_IAM_URL")),
        s3_endpoint: None,
        keys: Some(AccessKeys {
            id: iam_env(id),
            secret: iam_env(secret),
        }),
        index_expiry: None,
    };
    (
        settings("KRKN_TEST_IAM_ADMIN_KEY", "KRKN_TEST_IAM_ADMIN_SECRET"),
        settings(
            "KRKN_TEST_IAM_FUNCTION_KEY",
            "KRKN_TEST_IAM_FUNCTION_SECRET",
        ),
    )
}

pub async fn spawn(kind: Kind) -> TestApp {
    spawn_with(kind, ApiConfig::default()).await
}

pub async fn spawn_with(kind: Kind, config: ApiConfig) -> TestApp {
    match kind {
        Kind::Local => spawn_app_with(config),
        Kind::Moto => {
            let settings = moto_settings();
            let store = Arc::new(AwsStore::connect(&settings).await);
            store.init().await.expect("bucket and table on moto");
            aws_app(Backend::aws(store), settings, config).await
        }
        Kind::MotoIam => {
            let (admin, function) = moto_iam_settings();
            AwsStore::connect(&admin)
                .await
                .init()
                .await
                .expect("bucket and table on the IAM-enforced moto, as its admin");
            let store = Arc::new(AwsStore::connect(&function).await);
            aws_app(Backend::aws(store), admin, config).await
        }
    }
}

/// A test app over an AWS backend, with the test users saved through it.
pub async fn aws_app(backend: Backend, settings: AwsSettings, config: ApiConfig) -> TestApp {
    for (name, role, groups) in USERS {
        backend
            .users
            .put_user(&new_user(name, role, groups, &password(name)).expect("user"))
            .await
            .expect("saved");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    TestApp {
        router: router(AppState::new(backend.clone(), config)),
        backend,
        dir,
        aws: Some(settings),
    }
}

/// The users every test app has: name, role, groups.
pub const USERS: [(&str, &str, &str); 4] = [
    ("admin", "admin", "*"),
    ("uploader", "uploader", "*"),
    ("reader", "reader", "*"),
    ("perf-uploader", "uploader", "perf"),
];

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
pub async fn spawn_server(kind: Kind, config: ApiConfig) -> (String, TestApp) {
    let app = spawn_with(kind, config).await;
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

    /// Files the seed document as `group/request_id` (as the uploader); it must succeed.
    pub async fn file_seed(&self, group: &str, request_id: &str) {
        let query = format!("request_id={request_id}&telemetry_group={group}");
        let filed = self.post_telemetry("uploader", &query, SEED).await;
        assert_eq!(filed.status, StatusCode::OK, "{}", filed.body);
    }

    pub async fn get(&self, user: &str, path: &str) -> Reply {
        let request = Request::get(path)
            .header("Authorization", basic(user, &password(user)))
            .body(Body::empty())
            .expect("request");
        self.send(request).await
    }

    /// Every stored object as (key, bytes), walked through the store itself, sorted.
    pub async fn objects(&self) -> Vec<(String, Vec<u8>)> {
        let objects = &self.backend.objects;
        let mut out = Vec::new();
        let mut folders = vec![String::new()];
        while let Some(prefix) = folders.pop() {
            for entry in objects.list(&prefix, None, usize::MAX).await.expect("list") {
                let key = format!("{prefix}{}", entry.path);
                if entry.kind == EntryKind::Folder {
                    folders.push(format!("{key}/"));
                } else {
                    let bytes = objects
                        .get(&key)
                        .await
                        .expect("get")
                        .expect("listed object exists");
                    out.push((key, bytes));
                }
            }
        }
        out.sort();
        out
    }

    /// Index entries of a run: (runs, scenarios).
    pub async fn run_counts(&self, group: &str, request_id: &str) -> (u64, u64) {
        self.backend
            .index
            .run_counts(group, request_id)
            .await
            .expect("counts")
    }
}

/// A DynamoDB client on the table of `settings` (as the IAM-enforced moto's admin when it has
/// keys), for tests that reach past the store to make an index as an older release or a cut
/// short delete left it.
pub async fn table_client(settings: &AwsSettings) -> aws_sdk_dynamodb::Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(krkn_telemetry_api::store::aws::http_client())
        .endpoint_url(settings.endpoint.as_deref().expect("moto"));
    if let Some(keys) = &settings.keys {
        loader = loader.credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            &keys.id,
            &keys.secret,
            None,
            None,
            "test admin",
        ));
    }
    aws_sdk_dynamodb::Client::new(&loader.load().await)
}

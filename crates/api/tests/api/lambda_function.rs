//! The Lambda binary (`krkn-telemetry-lambda`) as AWS runs it, for the tests in
//! [`crate::lambda_runtime`]: cargo-lambda's Lambda Runtime API emulator (`cargo lambda watch
//! --only-lambda-apis`) and the function polling it, with the store prepared and the users
//! added as the deploy guide says (`krkn-telemetry-api init` / `user add` before the function
//! starts; on the AWS store the function acts as the IAM principal holding exactly the
//! template's policy); and the sample events of `events/` and events made from them.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use base64::Engine as _;
use krkn_telemetry_api::store::aws::AwsSettings;
use serde_json::{Value, json};

use crate::api_gateway::{
    ClientResponse, LAMBDA_PAYLOAD_LIMIT, client_response, template_binary_media_types,
};
use crate::helpers::{Kind, RUN_ID, moto_iam_settings};
use crate::process::free_port;

/// The password of `admin` the sample events carry (events/README.md).
const PASSWORD: &str = "krkn-events-password";
/// What the operator runs to add the user the events sign in as.
const ADD_ADMIN: &[&str] = &["user", "add", "admin", "--role", "admin"];
/// The run the POST events file.
pub const NEW_RUN: &str = "1745343999-0f8fd0b2-6b7e-4c4f-9a55-4b1f3f0b6d7e";

/// Which store the function runs on.
#[derive(Clone, Copy, Debug)]
pub enum Store {
    /// The embedded store in a folder (what `make watch` runs); files pass through the function.
    Local,
    /// S3 + DynamoDB on the IAM-enforced moto, as the function's IAM principal.
    MotoIam,
}

/// The function under the emulator; both processes end with it.
pub struct Function {
    emulator: Child,
    function: Child,
    invoke_url: String,
    http: reqwest::Client,
    log: PathBuf,
    /// Secrets that must never appear in the function's log.
    secrets: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Drop for Function {
    fn drop(&mut self) {
        for child in [&mut self.function, &mut self.emulator] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn cargo_lambda() -> String {
    std::env::var("KRKN_TEST_CARGO_LAMBDA").unwrap_or_else(|_| {
        panic!(
            "this test needs cargo-lambda's Lambda Runtime API emulator: run \
             `scripts/test-services.sh start && . .tools/services.env` (make test does both), \
             then run the tests again"
        )
    })
}

/// Runs `krkn-telemetry-api` with `args` on the store of `kind` (in `dir`, or `aws` as its
/// admin), the password on standard input, as an operator would after deploy.
fn operator(kind: Kind, dir: &Path, args: &[&str], aws: &Option<AwsSettings>) {
    let output = crate::cli::run(kind, dir, args, PASSWORD, aws);
    assert!(
        output.status.success(),
        "krkn-telemetry-api {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Waits until the emulator listens on `port`: a function started before gives up at once
/// (connection refused).
fn wait_for_emulator(emulator: &mut Child, port: u16, within: Duration) {
    let deadline = Instant::now() + within;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = emulator.try_wait() {
            panic!("cargo-lambda's emulator exited while starting: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "the emulator did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The environment that points the function at the bucket and table of `settings`, with its
/// keys.
fn aws_env(settings: &AwsSettings) -> Vec<(String, String)> {
    let keys = settings.keys.as_ref().expect("IAM keys");
    vec![
        ("BUCKET_NAME".to_owned(), settings.bucket.clone()),
        ("TABLE_NAME".to_owned(), settings.table.clone()),
        (
            "AWS_ENDPOINT_URL".to_owned(),
            settings.endpoint.clone().expect("moto"),
        ),
        ("AWS_ACCESS_KEY_ID".to_owned(), keys.id.clone()),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), keys.secret.clone()),
    ]
}

impl Function {
    /// Prepares the store and its users, starts the emulator and the function.
    pub async fn start(store: Store) -> Function {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut function_env: Vec<(String, String)> = Vec::new();
        let mut secrets = vec![
            PASSWORD.to_owned(),
            base64::engine::general_purpose::STANDARD.encode(format!("admin:{PASSWORD}")),
        ];
        match store {
            Store::Local => {
                let data = dir.path().join("data");
                operator(Kind::Local, &data, ADD_ADMIN, &None);
                let data = data.to_str().expect("UTF-8 path").to_owned();
                function_env.push(("KRKN_TELEMETRY_DATA_DIR".into(), data));
            }
            Store::MotoIam => {
                let (admin, function) = moto_iam_settings();
                let admin = Some(admin);
                operator(Kind::MotoIam, dir.path(), &["init"], &admin);
                operator(Kind::MotoIam, dir.path(), ADD_ADMIN, &admin);
                secrets.push(function.keys.as_ref().expect("keys").secret.clone());
                function_env = aws_env(&function);
            }
        }
        Function::launch(dir, function_env, secrets)
    }

    /// Starts the function as the retention sweep (`KRKN_TELEMETRY_LAMBDA_TASK`, as the
    /// template's `RetentionSweepFunction`) on the bucket and table of `aws`, as the function's
    /// IAM principal.
    pub fn start_sweep(aws: &AwsSettings) -> Function {
        let (_, function) = moto_iam_settings();
        let principal = AwsSettings {
            keys: function.keys,
            ..aws.clone()
        };
        let mut function_env = aws_env(&principal);
        function_env.push((
            "KRKN_TELEMETRY_LAMBDA_TASK".to_owned(),
            "retention-sweep".to_owned(),
        ));
        let secret = principal.keys.as_ref().expect("keys").secret.clone();
        Function::launch(
            tempfile::tempdir().expect("temp dir"),
            function_env,
            vec![secret],
        )
    }

    /// Starts cargo-lambda's emulator on a free port and the function under it with `env`.
    fn launch(
        dir: tempfile::TempDir,
        env: Vec<(String, String)>,
        secrets: Vec<String>,
    ) -> Function {
        let port = free_port();
        let log = dir.path().join("function.log");
        let emulator_log = File::create(dir.path().join("emulator.log")).expect("log file");
        // --ignore-changes: the emulator must not reload on files other tests write.
        let mut emulator = Command::new(cargo_lambda())
            .args(["lambda", "watch", "--only-lambda-apis", "--ignore-changes"])
            .args(["-A", "127.0.0.1", "-P"])
            .arg(port.to_string())
            .arg("--manifest-path")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml"))
            .stdout(emulator_log.try_clone().expect("log file"))
            .stderr(emulator_log)
            .spawn()
            .expect("cargo-lambda starts");
        wait_for_emulator(&mut emulator, port, Duration::from_secs(30));
        let function_log = File::create(&log).expect("log file");
        let function = Command::new(env!("CARGO_BIN_EXE_krkn-telemetry-lambda"))
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{port}/.rt"),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", "_")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env_remove("KRKN_TELEMETRY_ADMIN_PASSWORD")
            .stdout(function_log.try_clone().expect("log file"))
            .stderr(function_log)
            .spawn()
            .expect("krkn-telemetry-lambda starts");
        Function {
            emulator,
            function,
            invoke_url: format!("http://127.0.0.1:{port}/2015-03-31/functions/_/invocations"),
            // A fresh connection per invocation, as API Gateway's own are to Lambda: a pooled
            // one timed out (ETIMEDOUT) under the full suite's load.
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .expect("HTTP client"),
            log,
            secrets,
            _dir: dir,
        }
    }

    /// Invokes the function with `event`: its response and the payload's size in bytes. A
    /// failed exchange is tried again (every request of the protocol is idempotent: krkn
    /// retries too); the third failure ends the test with the emulator's and the function's
    /// logs.
    pub async fn invoke(&self, event: &Value) -> (Value, usize) {
        let mut attempts = 0;
        let started = Instant::now();
        let answer = loop {
            attempts += 1;
            match self
                .http
                .post(&self.invoke_url)
                .timeout(Duration::from_secs(60))
                .json(event)
                .send()
                .await
            {
                Ok(answer) => break answer,
                Err(e) if attempts < 3 => {
                    eprintln!(
                        "invocation {attempts} failed after {:?}: {e:?}",
                        started.elapsed()
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!(
                    "the emulator did not answer after {:?}: {e:?}\nemulator log:\n{}\n\
                     function log:\n{}",
                    started.elapsed(),
                    std::fs::read_to_string(self.log.with_file_name("emulator.log"))
                        .unwrap_or_default(),
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                ),
            }
        };
        let bytes = answer.bytes().await.expect("payload");
        let response = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "the function's answer is not a proxy response ({e}): {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(500)])
            )
        });
        (response, bytes.len())
    }

    /// The client's view of the function's answer to `event`, after the payload limit check.
    pub async fn call(&self, name: &str, event: &Value) -> ClientResponse {
        let (response, payload) = self.invoke(event).await;
        assert!(
            payload <= LAMBDA_PAYLOAD_LIMIT,
            "{name}: a {payload}-byte response payload is over Lambda's 6 MB limit"
        );
        client_response(event, &response, &template_binary_media_types())
    }
}

pub fn events_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events"))
}

/// Every sample event with its expected status, by file name.
pub fn sample_events() -> Vec<(String, Value, u16)> {
    let dir = events_dir();
    let expected: BTreeMap<String, u16> = serde_json::from_str(
        &std::fs::read_to_string(dir.join("expected.json")).expect("expected.json"),
    )
    .expect("expected.json is JSON");
    expected
        .into_iter()
        .map(|(name, status)| {
            let text = std::fs::read_to_string(dir.join(&name)).expect("event file");
            (
                name,
                serde_json::from_str(&text).expect("event JSON"),
                status,
            )
        })
        .collect()
}

/// The seeded run of events/README.md, filed through the function.
pub async fn seed(function: &Function) {
    let text = std::fs::read_to_string(events_dir().join("v1-post-telemetry.json")).expect("event");
    let event: Value = serde_json::from_str(&text.replace(NEW_RUN, RUN_ID)).expect("JSON");
    let client = function.call("seed", &event).await;
    assert_eq!(
        client.status,
        200,
        "{}",
        String::from_utf8_lossy(&client.body)
    );
}

/// The function's log: one JSON object per line (`AWS_LAMBDA_LOG_FORMAT=JSON`), an access
/// line per request carrying the Lambda and the API Gateway request ids, and no secret.
/// The function's log so far, after checking that it holds no secret.
pub fn log_without_secrets(function: &Function) -> String {
    let log = std::fs::read_to_string(&function.log).expect("function log");
    for secret in &function.secrets {
        assert!(
            !log.contains(secret.as_str()),
            "a secret is in the function's log:\n{log}"
        );
    }
    log
}

pub fn check_log(function: &Function) {
    let log = log_without_secrets(function);
    let mut requests = 0;
    for line in log.lines() {
        let entry: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a log line is not JSON ({e}): {line}"));
        if entry["fields"]["message"] == "request" {
            requests += 1;
            assert!(
                entry["span"]["requestId"]
                    .as_str()
                    .is_some_and(|id| !id.is_empty()),
                "an access line without the Lambda request id: {line}"
            );
            assert!(
                entry["fields"]["gateway_request_id"]
                    .as_str()
                    .is_some_and(|id| !id.is_empty()),
                "an access line without API Gateway's request id: {line}"
            );
        }
    }
    assert!(
        requests > 0,
        "no access lines in the function's log:\n{log}"
    );
}

/// A GET or PUT event of either format for `path_and_query` on the seeded run's host,
/// made from the sample `runs-list` event of that format.
pub fn request_event(rest: bool, method: &str, link_path: &str, body: Option<&[u8]>) -> Value {
    let file = if rest {
        "v1-runs-list.json"
    } else {
        "v2-runs-list.json"
    };
    let mut event: Value =
        serde_json::from_str(&std::fs::read_to_string(events_dir().join(file)).expect("event"))
            .expect("JSON");
    let url = reqwest::Url::parse(&format!("https://h{link_path}")).expect("link path");
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let path = url.path().to_owned();
    let encoded = body.map(|b| base64::engine::general_purpose::STANDARD.encode(b));
    if rest {
        // The REST event's path has no stage; the request context's path has it.
        let route = path.strip_prefix("/production").unwrap_or(&path).to_owned();
        event["path"] = json!(route);
        event["httpMethod"] = json!(method);
        event["requestContext"]["httpMethod"] = json!(method);
        event["requestContext"]["path"] = json!(path);
        event["pathParameters"] = json!({"proxy": route.trim_start_matches('/')});
        let single: serde_json::Map<String, Value> =
            pairs.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        let multi: serde_json::Map<String, Value> =
            pairs.iter().map(|(k, v)| (k.clone(), json!([v]))).collect();
        event["queryStringParameters"] = Value::Object(single);
        event["multiValueQueryStringParameters"] = Value::Object(multi);
        if let Some(body) = body {
            for (name, value) in [
                ("Content-Type", "application/octet-stream".to_owned()),
                ("Content-Length", body.len().to_string()),
            ] {
                event["headers"][name] = json!(value);
                event["multiValueHeaders"][name] = json!([value]);
            }
        }
    } else {
        event["rawPath"] = json!(path);
        event["requestContext"]["http"]["path"] = json!(path);
        event["requestContext"]["http"]["method"] = json!(method);
        event["rawQueryString"] = json!(url.query().unwrap_or(""));
        let single: serde_json::Map<String, Value> =
            pairs.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        event["queryStringParameters"] = Value::Object(single);
        if let Some(body) = body {
            event["headers"]["content-type"] = json!("application/octet-stream");
            event["headers"]["content-length"] = json!(body.len().to_string());
        }
    }
    // API Gateway hands a binary body to the function base64-encoded (the REST API under
    // BinaryMediaTypes */*, the HTTP API for any type it does not know as text).
    event["body"] = json!(encoded);
    event["isBase64Encoded"] = json!(encoded.is_some());
    event
}

/// The path (and query) of `link` on the API's host, stage included.
pub fn link_path(link: &str) -> String {
    let host = "https://k7x2mq9ptd.execute-api.us-east-1.amazonaws.com";
    link.trim()
        .strip_prefix(host)
        .unwrap_or_else(|| panic!("the link {link} is not on {host}"))
        .to_owned()
}

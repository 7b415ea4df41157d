//! `krkn-telemetry-lambda`: the service as an AWS Lambda function (API Gateway proxy events),
//! or, with `KRKN_TELEMETRY_LAMBDA_TASK=retention-sweep`, the scheduled retention sweep
//! (EventBridge events; `lambda_sweep`).
//!
//! Store selection by environment: `BUCKET_NAME` + `TABLE_NAME` select S3 + DynamoDB (what
//! `infra/template.yaml` deploys); without them, `KRKN_TELEMETRY_DATA_DIR` (default
//! `/tmp/krkn-telemetry`) holds the embedded store, which is what `make watch` uses locally.
//!
//! The function never creates or changes users: a password in its environment would sit in
//! plain text in the function's configuration, and a reset on every cold start would undo
//! every change made since. Users are added once after deploy with
//! `krkn-telemetry-api user add --store aws` (README, "Deploy to AWS").

use krkn_telemetry_api::lambda_sweep::{LambdaTask, TASK_VAR, sweep_event};
use krkn_telemetry_api::startup::{
    ADMIN_PASSWORD_VAR, LogStyle, StoreChoice, init_tracing, open_store,
};
use krkn_telemetry_api::{ApiConfig, AppState, lambda, router};
use lambda_http::{Error, LambdaEvent, Request, service_fn};

// The system allocator, not mimalloc: glibc hands the ~19 MiB argon2 block of a password check
// back to the OS when it is freed, mimalloc kept it (idle RSS 39 MiB against 16 MiB measured),
// and the server's throughput did not depend on the allocator (BENCHMARKS.md).

/// The scenario export budget of a Lambda response unless configured: Lambda refuses a
/// response payload over 6 MB (6,291,456 bytes), and the NDJSON export travels base64-encoded
/// in it (4/3 of its bytes: 5.33 MiB for 4 MiB) beside the status and headers.
const LAMBDA_EXPORT_MAX_BYTES: u64 = 4 * 1024 * 1024;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing(LogStyle::Lambda);
    let task = LambdaTask::from_var(std::env::var(TASK_VAR).ok().as_deref())?;
    if task == LambdaTask::RetentionSweep {
        let backend = open_store(&StoreChoice::from_lambda_env()?).await?.backend;
        return lambda_http::lambda_runtime::run(service_fn(
            move |event: LambdaEvent<serde_json::Value>| {
                let backend = backend.clone();
                async move {
                    sweep_event(&backend, &event.payload)
                        .await
                        .map_err(Error::from)
                }
            },
        ))
        .await;
    }
    let mut config = lambda::behind_api_gateway(ApiConfig::from_env()?);
    if std::env::var_os("KRKN_TELEMETRY_EXPORT_MAX_BYTES").is_none() {
        // Lambda refuses a payload over 6 MB; exports continue by cursor instead.
        config.export_max_bytes = Some(LAMBDA_EXPORT_MAX_BYTES);
    }
    if std::env::var_os(ADMIN_PASSWORD_VAR).is_some() {
        tracing::warn!(
            "{ADMIN_PASSWORD_VAR} is ignored by the Lambda: add users once with \
             `krkn-telemetry-api user add NAME --role admin --store aws`, and remove the \
             variable from the function's configuration"
        );
    }
    let backend = open_store(&StoreChoice::from_lambda_env()?).await?.backend;
    let public_path: std::sync::Arc<str> = config.public_path().into();
    let app = router(AppState::new(backend, config));
    lambda_http::run(service_fn(move |request: Request| {
        let app = app.clone();
        let public_path = public_path.clone();
        async move { lambda::handle(app, &public_path, request).await }
    }))
    .await
}

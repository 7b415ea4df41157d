//! `krkn-telemetry-lambda`: the service as an AWS Lambda function (API Gateway proxy events).
//!
//! Store selection by environment: `BUCKET_NAME` + `TABLE_NAME` select S3 + DynamoDB (what
//! `infra/template.yaml` deploys); without them, `KRKN_TELEMETRY_DATA_DIR` (default
//! `/tmp/krkn-telemetry`) holds the embedded store, which is what `make watch` uses locally.

use krkn_telemetry_api::startup::{
    LogStyle, StoreChoice, admin_password_from_env, bootstrap_admin, init_tracing, open_store,
};
use krkn_telemetry_api::{ApiConfig, AppState, lambda, router};
use lambda_http::{Error, Request, service_fn};

// The system allocator, not mimalloc: glibc hands the ~19 MiB argon2 block of a password check
// back to the OS when it is freed, mimalloc kept it (idle RSS 39 MiB against 16 MiB measured),
// and the server's throughput did not depend on the allocator (BENCHMARKS.md).

/// The scenario export budget of a Lambda response unless configured.
const LAMBDA_EXPORT_MAX_BYTES: u64 = 5 * 1024 * 1024;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing(LogStyle::Lambda);
    let mut config = lambda::behind_api_gateway(ApiConfig::from_env()?);
    if std::env::var_os("KRKN_TELEMETRY_EXPORT_MAX_BYTES").is_none() {
        // API Gateway refuses a response over 6 MB; exports continue by cursor instead.
        config.export_max_bytes = Some(LAMBDA_EXPORT_MAX_BYTES);
    }
    let backend = open_store(&StoreChoice::from_lambda_env()?).await?.backend;
    // Nobody reads a Lambda's terminal: no generated password here.
    let password = admin_password_from_env()?;
    bootstrap_admin(backend.users.as_ref(), password.as_deref(), false).await?;
    let app = router(AppState::new(backend, config));
    lambda_http::run(service_fn(move |request: Request| {
        lambda::handle(app.clone(), request)
    }))
    .await
}

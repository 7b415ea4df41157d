//! `krkn-telemetry-lambda`: the service as an AWS Lambda function (API Gateway proxy events).
//!
//! Store selection by environment: `BUCKET_NAME` + `TABLE_NAME` select S3 + DynamoDB (the
//! AWS store, the API issue's next step); `KRKN_TELEMETRY_DATA_DIR` selects the embedded store,
//! which is what `cargo lambda watch` uses locally (`make watch`).

use std::sync::Arc;

use krkn_telemetry_api::store::LocalStore;
use krkn_telemetry_api::{ApiConfig, AppState, lambda, router};
use lambda_http::{Error, Request, service_fn};

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .without_time()
        .with_ansi(false)
        .init();
    let config = ApiConfig::from_env()?;
    let data_dir = match (
        std::env::var("BUCKET_NAME"),
        std::env::var("KRKN_TELEMETRY_DATA_DIR"),
    ) {
        (_, Ok(dir)) => dir,
        (Ok(_), Err(_)) => {
            return Err(
                "BUCKET_NAME is set, but the S3 + DynamoDB store is not built yet; \
                        set KRKN_TELEMETRY_DATA_DIR to use the embedded store"
                    .into(),
            );
        }
        (Err(_), Err(_)) => "/tmp/krkn-telemetry".to_owned(),
    };
    let store = Arc::new(LocalStore::open(std::path::Path::new(&data_dir))?);
    let password = std::env::var("KRKN_TELEMETRY_ADMIN_PASSWORD").ok();
    krkn_telemetry_api::auth::ensure_admin(&store, password.as_deref(), false)?;
    let app = router(AppState::new(store, config)?);
    lambda_http::run(service_fn(move |request: Request| {
        lambda::handle(app.clone(), request)
    }))
    .await
}

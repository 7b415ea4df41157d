//! What both binaries (`krkn-telemetry-api serve` and `krkn-telemetry-lambda`) do before they
//! serve: logging, choosing and opening the store, and making sure someone can log in. One
//! place, so that the server and the Lambda cannot start differently by accident.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::auth::{AdminBootstrap, ensure_admin};
use crate::store::aws::AwsSettings;
use crate::store::{AwsStore, Backend, LocalStore, StoreError};

pub use crate::config::ADMIN_PASSWORD_VAR;

/// Where log lines go and how they look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStyle {
    /// A terminal or a service manager: stderr, with times.
    Server,
    /// The same, one JSON object per line (`--log-format json`), the request's span (its
    /// `x-request-id`) in every line of a request.
    ServerJson,
    /// Lambda: stdout (CloudWatch), which adds the time; no colours.
    Lambda,
}

/// Starts logging. The server: `RUST_LOG` (default `info`) to stderr. The Lambda:
/// lambda_http's own subscriber, which honours Lambda's logging controls
/// (`AWS_LAMBDA_LOG_FORMAT=JSON` for one JSON object per line, `AWS_LAMBDA_LOG_LEVEL` before
/// `RUST_LOG`) and writes to stdout (CloudWatch adds the time); every line written while an
/// invocation runs carries its request id (the runtime's span).
pub fn init_tracing(style: LogStyle) {
    match style {
        LogStyle::Server => {
            let filter = tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(std::io::stderr)
                .init()
        }
        LogStyle::ServerJson => {
            let filter = tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
            tracing_subscriber::fmt()
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .with_env_filter(filter)
                .with_writer(std::io::stderr)
                .init()
        }
        LogStyle::Lambda => lambda_http::tracing::init_default_subscriber(),
    }
}

/// Which store to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreChoice {
    /// The embedded store in a data directory.
    Local(PathBuf),
    /// S3 + DynamoDB.
    Aws(AwsSettings),
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The embedded store did not open.
    #[error("cannot open the store in {dir}: {source}")]
    LocalStore {
        /// Its data directory.
        dir: String,
        /// Why.
        source: StoreError,
    },
    /// The settings are incomplete or wrong; the text names the setting.
    #[error("{0}")]
    Settings(String),
    /// `admin` could not be set up.
    #[error("cannot set up the admin user: {0}")]
    Admin(String),
}

impl StoreChoice {
    /// The Lambda's choice: `BUCKET_NAME` (with `TABLE_NAME`) selects S3 + DynamoDB, what
    /// `infra/template.yaml` deploys; without it, `KRKN_TELEMETRY_DATA_DIR` (default
    /// `/tmp/krkn-telemetry`) holds the embedded store (`make watch`).
    pub fn from_lambda_env() -> Result<Self, StartupError> {
        if std::env::var_os("BUCKET_NAME").is_some() {
            return Ok(StoreChoice::Aws(
                AwsSettings::from_env().map_err(StartupError::Settings)?,
            ));
        }
        let dir = std::env::var("KRKN_TELEMETRY_DATA_DIR")
            .unwrap_or_else(|_| "/tmp/krkn-telemetry".to_owned());
        Ok(StoreChoice::Local(PathBuf::from(dir)))
    }
}

/// An opened store: the backend the router uses, and the AWS store itself when it is one
/// (for `init`).
pub struct OpenedStore {
    /// The store's faces.
    pub backend: Backend,
    /// S3 + DynamoDB, when chosen.
    pub aws: Option<Arc<AwsStore>>,
}

/// Opens the chosen store.
pub async fn open_store(choice: &StoreChoice) -> Result<OpenedStore, StartupError> {
    match choice {
        StoreChoice::Local(dir) => {
            let store = open_local(dir)?;
            Ok(OpenedStore {
                backend: Backend::local(store),
                aws: None,
            })
        }
        StoreChoice::Aws(settings) => {
            let aws = Arc::new(AwsStore::connect(settings).await);
            Ok(OpenedStore {
                backend: Backend::aws(Arc::clone(&aws)),
                aws: Some(aws),
            })
        }
    }
}

fn open_local(dir: &Path) -> Result<LocalStore, StartupError> {
    LocalStore::open(dir).map_err(|source| StartupError::LocalStore {
        dir: dir.display().to_string(),
        source,
    })
}

/// The admin password from [`ADMIN_PASSWORD_VAR`] (unset or empty: none), refused now when
/// too short, before the slow hash runs.
pub fn admin_password_from_env() -> Result<Option<String>, StartupError> {
    let password = std::env::var(ADMIN_PASSWORD_VAR)
        .ok()
        .filter(|p| !p.is_empty());
    if password.as_ref().is_some_and(|p| p.chars().count() < 8) {
        return Err(StartupError::Settings(format!(
            "{ADMIN_PASSWORD_VAR} must have at least 8 characters"
        )));
    }
    Ok(password)
}

/// Makes sure `admin` can log in (see [`ensure_admin`]; `generate` only where someone reads
/// the terminal) and says what was done: a set password in the log, a generated one on the
/// terminal only, once, never in the log.
pub async fn bootstrap_admin(
    backend: &Backend,
    password: Option<&str>,
    generate: bool,
) -> Result<(), StartupError> {
    match ensure_admin(
        backend.users.as_ref(),
        backend.audit.as_ref(),
        password,
        generate,
    )
    .await
    .map_err(StartupError::Admin)?
    {
        AdminBootstrap::SetFromEnvironment => {
            tracing::info!("user admin set from {ADMIN_PASSWORD_VAR}")
        }
        AdminBootstrap::Generated(password) => eprintln!(
            "created user admin with password {password} (shown once; change it with \
             `krkn-telemetry-api user add admin --role admin`)"
        ),
        AdminBootstrap::Unchanged => {}
    }
    Ok(())
}

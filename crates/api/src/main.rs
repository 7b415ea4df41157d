//! `krkn-telemetry-api`: serve the API (embedded store or S3 + DynamoDB), create the AWS
//! resources for local setups, and manage users.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use krkn_telemetry_api::auth::{AdminBootstrap, ensure_admin, new_user};
use krkn_telemetry_api::routes::guards::Readiness;
use krkn_telemetry_api::server::{ServerLimits, serve, shutdown_signal};
use krkn_telemetry_api::store::aws::AwsSettings;
use krkn_telemetry_api::store::{AwsStore, Backend, LocalStore};
use krkn_telemetry_api::{ApiConfig, AppState, router};

// The system allocator, not mimalloc: glibc hands the ~19 MiB argon2 block of a password check
// back to the OS when it is freed, mimalloc kept it (idle RSS 39 MiB against 16 MiB measured),
// and the server's throughput did not depend on the allocator (BENCHMARKS.md).

/// The krkn telemetry service.
#[derive(Debug, Parser)]
#[command(name = "krkn-telemetry-api", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the data lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StoreKind {
    /// A local directory plus an embedded SQLite index (no account needed).
    Local,
    /// S3 (BUCKET_NAME) and DynamoDB (TABLE_NAME); AWS_ENDPOINT_URL for compatible servers.
    Aws,
}

#[derive(Debug, clap::Args)]
struct StoreArgs {
    /// Storage backend.
    #[arg(long, value_enum, default_value = "local", global = true)]
    store: StoreKind,
    /// Data directory of the local store.
    #[arg(
        long,
        default_value = "./data",
        env = "KRKN_TELEMETRY_DATA_DIR",
        global = true
    )]
    data_dir: PathBuf,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API over HTTP.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Create the bucket and the table (aws store; in AWS the SAM template does this).
    Init {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        action: UserAction,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
enum UserAction {
    /// Add or replace a user; the password is read from standard input.
    Add {
        /// Login name.
        name: String,
        /// uploader (send telemetry), reader (browse, download) or admin (everything).
        #[arg(long)]
        role: String,
        /// Groups the user may touch, comma-separated, or '*' for all.
        #[arg(long, default_value = "*")]
        groups: String,
    },
    /// Remove a user.
    Remove {
        /// Login name.
        name: String,
    },
    /// List users (never their passwords).
    List,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { 2 } else { 0 });
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("krkn-telemetry-api: error: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("krkn-telemetry-api: error: {error:#}");
            ExitCode::from(1)
        }
    }
}

async fn open(store: &StoreArgs) -> anyhow::Result<(Backend, Option<Arc<AwsStore>>)> {
    match store.store {
        StoreKind::Local => {
            let opened = LocalStore::open(&store.data_dir).with_context(|| {
                format!("cannot open the store in {}", store.data_dir.display())
            })?;
            Ok((Backend::local(opened), None))
        }
        StoreKind::Aws => {
            let settings = AwsSettings::from_env().map_err(anyhow::Error::msg)?;
            let aws = Arc::new(AwsStore::connect(&settings).await);
            Ok((Backend::aws(Arc::clone(&aws)), Some(aws)))
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { listen, store } => {
            let (backend, _) = open(&store).await?;
            let config = ApiConfig::from_env()?;
            let password = std::env::var("KRKN_TELEMETRY_ADMIN_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty());
            if let Some(password) = &password {
                // Refuse a bad password now; the slow hash itself runs once the server is up.
                if password.chars().count() < 8 {
                    anyhow::bail!("KRKN_TELEMETRY_ADMIN_PASSWORD must have at least 8 characters");
                }
            }
            let limits = ServerLimits::from_env()?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            let address = listener.local_addr()?;
            tracing::info!("serving on http://{address} (console: http://{address}/console/)");
            // argon2 costs tens of milliseconds and ~19 MiB on purpose: do it off the start-up
            // path. Requests that arrive before it is done wait for it (or get a 503 with
            // Retry-After), never a 401 for the admin about to exist.
            let (readiness, ready) = Readiness::starting();
            let users = backend.clone();
            tokio::spawn(async move {
                if let Err(error) = bootstrap_admin(&users, password.as_deref()).await {
                    tracing::error!("cannot set up the admin user: {error:#}");
                }
                ready.ready();
            });
            let state = AppState::with_readiness(backend, config, readiness);
            serve(listener, router(state), limits, shutdown_signal()).await;
            Ok(())
        }
        Command::Init { store } => {
            if store.store != StoreKind::Aws {
                anyhow::bail!(
                    "init creates AWS resources: use --store aws (the local store creates itself)"
                );
            }
            let (_, aws) = open(&store).await?;
            let aws = aws.context("the aws store did not open")?;
            for line in aws.init().await? {
                eprintln!("{line}");
            }
            Ok(())
        }
        Command::User { action, store } => {
            let (backend, _) = open(&store).await?;
            let users = &backend.users;
            match action {
                UserAction::Add { name, role, groups } => {
                    let mut password = String::new();
                    std::io::stdin()
                        .read_to_string(&mut password)
                        .context("cannot read the password from standard input")?;
                    let password = password.trim_end_matches(['\r', '\n']);
                    let record =
                        new_user(&name, &role, &groups, password).map_err(anyhow::Error::msg)?;
                    users.put_user(&record).await?;
                    eprintln!("user {name} saved (role {role}, groups {groups})");
                }
                UserAction::Remove { name } => {
                    if !users.remove_user(&name).await? {
                        anyhow::bail!("no user named {name}");
                    }
                    eprintln!("user {name} removed");
                }
                UserAction::List => {
                    for user in users.list_users().await? {
                        println!("{}\t{}\t{}", user.name, user.role, user.groups);
                    }
                }
            }
            Ok(())
        }
    }
}

/// On first start, or when `KRKN_TELEMETRY_ADMIN_PASSWORD` is set, makes sure `admin` exists.
async fn bootstrap_admin(backend: &Backend, password: Option<&str>) -> anyhow::Result<()> {
    match ensure_admin(backend.users.as_ref(), password, true)
        .await
        .map_err(anyhow::Error::msg)?
    {
        AdminBootstrap::SetFromEnvironment => {
            tracing::info!("user admin set from KRKN_TELEMETRY_ADMIN_PASSWORD")
        }
        // Printed once, on the terminal only; it is not logged.
        AdminBootstrap::Generated(password) => eprintln!(
            "created user admin with password {password} (shown once; change it with \
             `krkn-telemetry-api user add admin --role admin`)"
        ),
        AdminBootstrap::Unchanged => {}
    }
    Ok(())
}

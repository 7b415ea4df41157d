//! `krkn-telemetry-api`: serve the API on the embedded store, and manage its users.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use krkn_telemetry_api::auth::{AdminBootstrap, ensure_admin, new_user};
use krkn_telemetry_api::store::LocalStore;
use krkn_telemetry_api::{ApiConfig, AppState, router};

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The krkn telemetry service.
#[derive(Debug, Parser)]
#[command(name = "krkn-telemetry-api", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the data lives.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum StoreKind {
    /// A local directory plus an embedded SQLite index (no account needed).
    Local,
}

#[derive(Debug, clap::Args)]
struct StoreArgs {
    /// Storage backend.
    #[arg(long, value_enum, default_value = "local")]
    store: StoreKind,
    /// Data directory of the local store.
    #[arg(long, default_value = "./data", env = "KRKN_TELEMETRY_DATA_DIR")]
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
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("krkn-telemetry-api: error: {error:#}");
            ExitCode::from(1)
        }
    }
}

fn open(store: &StoreArgs) -> anyhow::Result<Arc<LocalStore>> {
    let StoreKind::Local = store.store;
    let opened = LocalStore::open(&store.data_dir)
        .with_context(|| format!("cannot open the store in {}", store.data_dir.display()))?;
    Ok(Arc::new(opened))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { listen, store } => {
            let store = open(&store)?;
            bootstrap_admin(&store)?;
            let state = AppState::new(store, ApiConfig::from_env()?)?;
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(listen)
                    .await
                    .with_context(|| format!("cannot listen on {listen}"))?;
                tracing::info!("serving on http://{}", listener.local_addr()?);
                axum::serve(listener, router(state))
                    .with_graceful_shutdown(async {
                        let _ = tokio::signal::ctrl_c().await;
                    })
                    .await
                    .context("server failed")
            })
        }
        Command::User { action, store } => {
            let store = open(&store)?;
            match action {
                UserAction::Add { name, role, groups } => {
                    let mut password = String::new();
                    std::io::stdin()
                        .read_to_string(&mut password)
                        .context("cannot read the password from standard input")?;
                    let password = password.trim_end_matches(['\r', '\n']);
                    let record =
                        new_user(&name, &role, &groups, password).map_err(anyhow::Error::msg)?;
                    store.put_user(&record)?;
                    eprintln!("user {name} saved (role {role}, groups {groups})");
                }
                UserAction::Remove { name } => {
                    if !store.remove_user(&name)? {
                        anyhow::bail!("no user named {name}");
                    }
                    eprintln!("user {name} removed");
                }
                UserAction::List => {
                    for user in store.list_users()? {
                        println!("{}\t{}\t{}", user.name, user.role, user.groups);
                    }
                }
            }
            Ok(())
        }
    }
}

/// On first start, or when `KRKN_TELEMETRY_ADMIN_PASSWORD` is set, makes sure `admin` exists.
fn bootstrap_admin(store: &LocalStore) -> anyhow::Result<()> {
    let password = std::env::var("KRKN_TELEMETRY_ADMIN_PASSWORD").ok();
    match ensure_admin(store, password.as_deref(), true).map_err(anyhow::Error::msg)? {
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

//! `krkn-telemetry-api`: serve the API (embedded store or S3 + DynamoDB), create the AWS
//! resources for local setups, manage users, delete runs, and read the audit log.
//! `maintenance`: the commands that check and rebuild the index (`fsck`, `reindex`), and how
//! every command records its admin action.

mod maintenance;

use maintenance::{
    check_store, delete_run, export_store, import_store, move_store, print_audit, rebuild_index,
    record_audit,
};

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use krkn_telemetry_api::audit::Origin;
use krkn_telemetry_api::auth::new_user;
use krkn_telemetry_api::retention::{sweep, sweep_periodically};
use krkn_telemetry_api::routes::guards::Readiness;
use krkn_telemetry_api::routes::retention::check_change_parts;
use krkn_telemetry_api::server::{ServerLimits, metrics_router, serve, shutdown_signal};
use krkn_telemetry_api::startup::{
    LogStyle, OpenedStore, StoreChoice, admin_password_from_env, bootstrap_admin, init_tracing,
    open_store,
};
use krkn_telemetry_api::store::aws::AwsSettings;
use krkn_telemetry_api::{ApiConfig, AppState, router};
use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

// The system allocator, not mimalloc: glibc hands the ~19 MiB argon2 block of a password check
// back to the OS when it is freed, mimalloc kept it (idle RSS 39 MiB against 16 MiB measured),
// and the server's throughput did not depend on the allocator (BENCHMARKS.md).

/// The krkn telemetry service.
#[derive(Debug, Parser)]
#[command(name = "krkn-telemetry-api", version, about)]
struct Cli {
    /// How log lines look: text, or one JSON object per line.
    #[arg(
        long,
        value_enum,
        default_value = "text",
        env = "KRKN_TELEMETRY_LOG_FORMAT",
        global = true
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// The log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// Lines for people.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
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
        /// Also serve `/metrics` (Prometheus text, no credentials) on this address, e.g.
        /// `0.0.0.0:9464` for a scraper in the pod network. The API's own `/metrics` needs an
        /// admin.
        #[arg(long, env = "KRKN_TELEMETRY_METRICS_LISTEN")]
        metrics_listen: Option<SocketAddr>,
        /// Seconds between retention sweeps (deleting runs past their group's retention);
        /// 0 turns the sweep off (for a store another process sweeps).
        #[arg(
            long,
            default_value_t = 3600,
            env = "KRKN_TELEMETRY_RETENTION_SWEEP_SECS"
        )]
        retention_sweep_secs: u64,
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
    /// Manage filed runs.
    Run {
        #[command(subcommand)]
        action: RunAction,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// How long runs are kept: days per group and a default; `sweep` deletes what expired.
    Retention {
        #[command(subcommand)]
        action: RetentionAction,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Check that the index and the stored objects agree: index entries without a document,
    /// documents without an entry, scenario entries without their run, outdated entries
    /// (stale export rows, DynamoDB items without the gsi2 keys), changed or unreadable
    /// documents, files without a document. One line per problem on stdout, a summary on
    /// stderr; exits 1 while a problem is left.
    Fsck {
        /// Fix what loses nothing: remove entries whose document is gone, index documents
        /// without an entry and outdated entries again from their document.
        #[arg(long)]
        repair: bool,
        /// The report as one JSON object on stdout.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Copy every run, user, retention rule and audit record from one store to the other
    /// (--data-dir for the local one, BUCKET_NAME/TABLE_NAME for aws): each object's SHA-256
    /// checked on the target, each run indexed after its objects; resumable, and a rerun
    /// copies nothing twice. Stops, overwriting nothing, where the target holds other bytes.
    Migrate {
        /// The store to copy from.
        #[arg(long, value_enum)]
        from: StoreKind,
        /// The store to copy to.
        #[arg(long, value_enum)]
        to: StoreKind,
        /// The report as one JSON object on stdout.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Write a consistent copy of the embedded store (--data-dir) to a new folder: an online
    /// backup of the index, every object, and SHA256SUMS (`sha256sum -c SHA256SUMS` checks
    /// it). Safe while the server runs.
    Export {
        /// The folder to write (new, or empty).
        #[arg(long)]
        to: PathBuf,
        /// The report as one JSON object on stdout.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Make --data-dir (new, or empty) a store holding an export, after checking every sum.
    Import {
        /// The export's folder.
        #[arg(long)]
        from: PathBuf,
        /// The report as one JSON object on stdout.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Rebuild the index from the stored documents (keeping the filing times it knows), and
    /// remove entries whose document is gone.
    Reindex {
        /// The report as one JSON object on stdout.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Read the audit log of admin actions (run deleted, user added, changed or removed,
    /// retention changed, index repaired or rebuilt): newest first, one tab-separated line
    /// per record (time, actor, via, source, action, target, details as JSON), or JSON lines
    /// with --json.
    Audit {
        /// At most this many records.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// One JSON object per record instead of tab-separated text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
enum RunAction {
    /// Delete a run: its index entries, then its document and every file. A run that is not
    /// there (never filed, or deleted already) is an error.
    Delete {
        /// The run, as GROUP/REQUEST_ID.
        run: String,
    },
}

#[derive(Debug, Subcommand)]
enum RetentionAction {
    /// The rules: `default <days>` and `<group> <days>` lines.
    List,
    /// Keep the runs of a group (or, without --group, of every group without a rule) DAYS
    /// days after filing.
    Set {
        /// Days, 1 to 36500.
        days: u32,
        /// The group; the default when absent.
        #[arg(long)]
        group: Option<String>,
    },
    /// Remove a rule: the group falls back to the default, the default to keeping forever.
    Unset {
        /// The group; the default when absent.
        #[arg(long)]
        group: Option<String>,
    },
    /// Delete every run past its retention now (what `serve` does every hour, and on AWS the
    /// template's scheduled RetentionSweepFunction).
    Sweep {
        /// The time to sweep at, RFC 3339 (default: now). For rehearsals and tests.
        #[arg(long, hide = true)]
        now: Option<String>,
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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { 2 } else { 0 });
        }
    };
    init_tracing(match cli.log_format {
        LogFormat::Text => LogStyle::Server,
        LogFormat::Json => LogStyle::ServerJson,
    });
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

/// Opens the store the flags choose.
async fn open(store: &StoreArgs) -> anyhow::Result<OpenedStore> {
    let choice = match store.store {
        StoreKind::Local => StoreChoice::Local(store.data_dir.clone()),
        StoreKind::Aws => StoreChoice::Aws(AwsSettings::from_env().map_err(anyhow::Error::msg)?),
    };
    Ok(open_store(&choice).await?)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            listen,
            metrics_listen,
            retention_sweep_secs,
            store,
        } => serve_api(listen, metrics_listen, retention_sweep_secs, store).await,
        Command::Retention { action, store } => manage_retention(action, &store).await,
        Command::Fsck {
            repair,
            json,
            store,
        } => check_store(&open(&store).await?.backend, repair, json).await,
        Command::Migrate {
            from,
            to,
            json,
            store,
        } => {
            if from == to {
                anyhow::bail!("--from and --to name the same store ({from:?}): nothing to move");
            }
            let side = |kind| StoreArgs {
                store: kind,
                data_dir: store.data_dir.clone(),
            };
            let source = open(&side(from)).await?.backend;
            let target = open(&side(to)).await?.backend;
            move_store(&source, &target, json).await
        }
        Command::Export { to, json, store } => {
            if store.store != StoreKind::Local {
                anyhow::bail!("export copies the embedded store: use migrate for the aws store");
            }
            export_store(store.data_dir, to, json).await
        }
        Command::Import { from, json, store } => {
            if store.store != StoreKind::Local {
                anyhow::bail!("import fills an embedded store: use migrate for the aws store");
            }
            import_store(from, store.data_dir, json).await
        }
        Command::Reindex { json, store } => rebuild_index(&open(&store).await?.backend, json).await,
        Command::Init { store } => {
            if store.store != StoreKind::Aws {
                anyhow::bail!(
                    "init creates AWS resources: use --store aws (the local store creates itself)"
                );
            }
            let aws = open(&store)
                .await?
                .aws
                .context("the aws store did not open")?;
            for line in aws.init().await? {
                eprintln!("{line}");
            }
            Ok(())
        }
        Command::User { action, store } => manage_users(action, store).await,
        Command::Run {
            action: RunAction::Delete { run },
            store,
        } => delete_run(&open(&store).await?.backend, &run).await,
        Command::Audit { limit, json, store } => {
            print_audit(&open(&store).await?.backend, limit, json).await
        }
    }
}

/// `serve`: the API on `listen` (and the metrics alone on `metrics_listen`) until SIGTERM or
/// Ctrl-C, then a graceful stop of both.
async fn serve_api(
    listen: SocketAddr,
    metrics_listen: Option<SocketAddr>,
    retention_sweep_secs: u64,
    store: StoreArgs,
) -> anyhow::Result<()> {
    let backend = open(&store).await?.backend;
    let config = ApiConfig::from_env()?;
    // Refused now when too short; the slow hash itself runs once the server is up.
    let password = admin_password_from_env()?;
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
        if let Err(error) = bootstrap_admin(&users, password.as_deref(), true).await {
            tracing::error!("{error}");
        }
        ready.ready();
    });
    let state = AppState::with_readiness(backend, config, readiness);
    let stop = tokio_util::sync::CancellationToken::new();
    let metrics = match metrics_listen {
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen on {address} for metrics"))?;
            tracing::info!("metrics on http://{}/metrics", listener.local_addr()?);
            Some(tokio::spawn(serve(
                listener,
                metrics_router(),
                limits.clone(),
                stop.clone().cancelled_owned(),
            )))
        }
        None => None,
    };
    if retention_sweep_secs > 0 {
        tokio::spawn(sweep_periodically(
            state.backend.clone(),
            std::time::Duration::from_secs(retention_sweep_secs),
            stop.clone(),
        ));
    }
    let signal = stop.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        signal.cancel();
    });
    serve(listener, router(state), limits, stop.cancelled_owned()).await;
    if let Some(metrics) = metrics {
        let _ = metrics.await;
    }
    Ok(())
}

/// `user add|remove|list`; additions, changes and removals go to the audit log.
async fn manage_users(action: UserAction, store: StoreArgs) -> anyhow::Result<()> {
    let backend = open(&store).await?.backend;
    let users = &backend.users;
    let origin = Origin::command_line();
    match action {
        UserAction::Add { name, role, groups } => {
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .context("cannot read the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            let record = new_user(&name, &role, &groups, password).map_err(anyhow::Error::msg)?;
            let before = users.get_user(&name).await?;
            users.put_user(&record).await?;
            let done = format!("user {name} saved (role {role}, groups {groups})");
            record_audit(
                &backend,
                &origin.user_saved(before.as_ref(), &record),
                &done,
            )
            .await?;
            eprintln!("{done}");
        }
        UserAction::Remove { name } => {
            let Some(before) = users.get_user(&name).await? else {
                anyhow::bail!("no user named {name}");
            };
            if !users.remove_user(&name).await? {
                anyhow::bail!("no user named {name}");
            }
            let done = format!("user {name} removed");
            record_audit(&backend, &origin.user_removed(&before), &done).await?;
            eprintln!("{done}");
        }
        UserAction::List => {
            for user in users.list_users().await? {
                println!("{}\t{}\t{}", user.name, user.role, user.groups);
            }
        }
    }
    Ok(())
}

/// `retention list|set|unset|sweep`; changes go to the audit log.
async fn manage_retention(action: RetentionAction, store: &StoreArgs) -> anyhow::Result<()> {
    let backend = open(store).await?.backend;
    let origin = Origin::command_line();
    let (group, days) = match action {
        RetentionAction::List => {
            for rule in backend.retention.retention_rules().await? {
                println!(
                    "{}\t{}",
                    rule.group.as_deref().unwrap_or("default"),
                    rule.days
                );
            }
            return Ok(());
        }
        RetentionAction::Sweep { now } => {
            let now = match now {
                None => krkn_telemetry_api::time::unix_now(),
                Some(text) => chrono::DateTime::parse_from_rfc3339(&text)
                    .with_context(|| format!("--now {text:?} is not RFC 3339"))?
                    .timestamp(),
            };
            let report = sweep(&backend, now).await?;
            eprintln!(
                "retention sweep: {} run(s) deleted ({} object(s))",
                report.runs, report.objects
            );
            return Ok(());
        }
        RetentionAction::Set { days, group } => (group, Some(days)),
        RetentionAction::Unset { group } => (group, None),
    };
    check_change_parts(group.as_deref(), days).map_err(anyhow::Error::msg)?;
    let before = backend
        .retention
        .set_retention(group.as_deref(), days)
        .await?;
    let name = group.as_deref().unwrap_or("the default");
    let done = match days {
        Some(days) => format!("retention of {name} set to {days} days"),
        None => format!("retention of {name} removed"),
    };
    record_audit(
        &backend,
        &origin.retention_changed(group.as_deref(), before, days),
        &done,
    )
    .await?;
    eprintln!("{done}");
    Ok(())
}

//! One module per subcommand; each returns an [`Outcome`](crate::Outcome) or an error.

mod alerts;
mod collect;
mod logs;
mod prometheus_backup;
mod run;
mod send;
mod validate;

use crate::Outcome;
use crate::cli::{Cli, Command};

/// Runs the chosen subcommand; the async ones on a tokio runtime made here.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    if let Command::Validate(args) = &cli.command {
        // No runtime needed to read a file.
        return validate::run(args);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match &cli.command {
            Command::Validate(args) => validate::run(args),
            Command::Collect(args) => collect::run(args).await,
            Command::Alerts(args) => alerts::run(args).await,
            Command::Send(args) => send::run(args).await,
            Command::Run(args) => run::run(args).await,
            Command::Logs(args) => logs::run(args).await,
            Command::PrometheusBackup(args) => prometheus_backup::run(args).await,
        }
    })
}

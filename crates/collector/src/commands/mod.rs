//! One module per subcommand; each returns an [`Outcome`](crate::Outcome) or an error.

mod alerts;
mod collect;
mod logs;
mod prometheus_backup;
mod run;
mod send;
mod validate;

use std::time::Duration;

use clap::CommandFactory;

use crate::Outcome;
use crate::cli::{Cli, Command};
use crate::report::{self, OutputFormat};
use crate::shutdown::Shutdown;

/// The subcommand's name and the result format it asked for.
fn result_format(command: &Command) -> (&'static str, OutputFormat) {
    match command {
        Command::Send(args) => ("send", args.output),
        Command::Run(args) => ("run", args.output),
        Command::Logs(args) => ("logs", args.output),
        Command::PrometheusBackup(args) => ("prometheus-backup", args.output),
        Command::Validate(_) => ("validate", OutputFormat::Text),
        Command::Collect(_) => ("collect", OutputFormat::Text),
        Command::Alerts(_) => ("alerts", OutputFormat::Text),
        Command::Completions(_) => ("completions", OutputFormat::Text),
        Command::Man => ("man", OutputFormat::Text),
    }
}

/// Runs the chosen subcommand; the async ones on a tokio runtime made here, stopping cleanly
/// on SIGTERM and SIGINT (see [`crate::shutdown`]).
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let (name, format) = result_format(&cli.command);
    report::start(name, format);
    match &cli.command {
        // No runtime needed for these.
        Command::Validate(args) => return validate::run(args),
        Command::Completions(args) => {
            let mut command = Cli::command();
            clap_complete::generate(
                args.shell,
                &mut command,
                "krkn-telemetry",
                &mut std::io::stdout(),
            );
            return Ok(Outcome::Success);
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            return Ok(Outcome::Success);
        }
        _ => {}
    }
    anyhow::ensure!(
        cli.grace_period.is_finite() && cli.grace_period >= 0.0,
        "--grace-period must be a number of seconds, 0 or more"
    );
    let grace = Duration::from_secs_f64(cli.grace_period);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let shutdown = Shutdown::listen(grace)?;
        let command = async {
            match &cli.command {
                Command::Validate(args) => validate::run(args),
                Command::Completions(_) | Command::Man => Ok(Outcome::Success),
                Command::Collect(args) => collect::run(args).await,
                Command::Alerts(args) => alerts::run(args).await,
                Command::Send(args) => send::run(args, &shutdown).await,
                Command::Run(args) => run::run(args, &shutdown).await,
                Command::Logs(args) => logs::run(args, &shutdown).await,
                Command::PrometheusBackup(args) => prometheus_backup::run(args, &shutdown).await,
            }
        };
        // A step that does not watch for the stop itself still gets only the grace period.
        let deadline = async {
            shutdown.wait().await;
            tokio::time::sleep(grace).await;
        };
        let outcome = tokio::select! {
            outcome = command => outcome?,
            () = deadline => {
                let signal = shutdown.requested().map_or("a signal", |s| s.name());
                tracing::warn!(
                    "stopped by {signal}: the work in flight did not finish within the {grace:.0?} grace period; the archive folder keeps what was written, run the same command again to finish"
                );
                return Ok(Outcome::Interrupted(shutdown.requested().unwrap_or(crate::shutdown::Signal::Term)));
            }
        };
        Ok(interrupted(&shutdown, outcome))
    })
}

/// `outcome`, unless a signal stopped the command: then the signal's exit status, whatever
/// the step that was running made of it.
fn interrupted(shutdown: &Shutdown, outcome: Outcome) -> Outcome {
    match (shutdown.requested(), outcome) {
        (Some(signal), Outcome::Success | Outcome::Failed) => {
            tracing::warn!(
                "stopped by {}: the work in flight finished ({}); steps not started were skipped, run the same command again for them",
                signal.name(),
                if outcome == Outcome::Success {
                    "successfully"
                } else {
                    "with errors, reported above"
                }
            );
            Outcome::Interrupted(signal)
        }
        (_, outcome) => outcome,
    }
}

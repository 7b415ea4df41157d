//! `krkn-telemetry`: the collector and uploader that runs after a krkn chaos run.
//!
//! `main` only maps outcomes to exit codes, ripgrep style: 0 success, 1 the input was checked
//! and found wanting (or could not be delivered), 2 usage, configuration or I/O error, 143/130
//! stopped by SIGTERM/SIGINT (resumable). A closed stdout (`| head`) is a clean exit.

use std::io::ErrorKind;
use std::process::ExitCode;

use clap::Parser;
use krkn_telemetry_collector::{Outcome, cli, commands};

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // clap prints help and version to stdout with exit 0, usage errors with exit 2.
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { 2 } else { 0 });
        }
    };
    init_logging();
    match commands::run(cli) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
        Ok(Outcome::Interrupted(signal)) => ExitCode::from(signal.exit_code()),
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("krkn-telemetry: error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Warnings and progress go to stderr as `krkn-telemetry: warning: …`; `RUST_LOG` widens it.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("krkn_telemetry_collector=info,warn")
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .with_ansi(false)
        .try_init();
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        let kind = cause
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            .or_else(|| cause.downcast_ref::<serde_json::Error>()?.io_error_kind());
        kind == Some(ErrorKind::BrokenPipe)
    })
}

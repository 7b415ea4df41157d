//! `krkn-telemetry`: the collector and uploader that runs after a krkn chaos run.
//!
//! `main` only maps outcomes to exit codes, ripgrep style: 0 success, 1 the input was checked
//! and found wanting, 2 usage or I/O error. A closed stdout (`| head`) is a clean exit.

mod cli;
mod commands;

use std::io::ErrorKind;
use std::process::ExitCode;

use clap::Parser;

/// How a command ended, beyond plain success.
pub enum Outcome {
    /// Everything checked out.
    Success,
    /// The command ran and found problems in its input (exit 1).
    Failed,
}

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // clap prints help and version to stdout with exit 0, usage errors with exit 2.
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { 2 } else { 0 });
        }
    };
    match commands::run(cli) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("krkn-telemetry: error: {error:#}");
            ExitCode::from(2)
        }
    }
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

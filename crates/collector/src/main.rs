//! `krkn-telemetry`: the collector and uploader that runs after a krkn chaos run.
//!
//! `main` only maps outcomes to exit codes, ripgrep style: 0 success, 1 the input was checked
//! and found wanting (or could not be delivered), 2 usage, configuration or I/O error, 143/130
//! stopped by SIGTERM/SIGINT (resumable). A closed stdout (`| head`) is a clean exit.

use std::io::ErrorKind;
use std::process::ExitCode;

use clap::Parser;
use krkn_telemetry_collector::{Outcome, cli, commands, logging, progress, report};

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // clap prints help and version to stdout with exit 0, usage errors with exit 2.
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { 2 } else { 0 });
        }
    };
    logging::init(cli.log_format, cli.verbosity());
    progress::show_bars(!cli.quiet && cli.log_format == logging::LogFormat::Text);
    let result = commands::run(cli);
    let code = match &result {
        Ok(Outcome::Success) => 0,
        Ok(Outcome::Failed) => 1,
        Ok(Outcome::Interrupted(signal)) => signal.exit_code(),
        Err(error) if is_broken_pipe(error) => return ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            2
        }
    };
    report::finish(&result, code);
    ExitCode::from(code)
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

//! The command line, as operators script against it. Names here are an interface: keep them.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Collects, checks and uploads krkn chaos-run telemetry.
#[derive(Debug, Parser)]
#[command(name = "krkn-telemetry", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a telemetry document and print every problem with its JSON path.
    ///
    /// Reads the object krkn POSTs, or krkn's output file ({"telemetry": ..., "critical_alerts": ...}).
    /// Exit status: 0 valid, 1 problems found, 2 usage or I/O error.
    Validate(ValidateArgs),
}

/// Arguments of `validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The document to check; `-` reads standard input.
    #[arg(value_name = "FILE|-")]
    pub input: PathBuf,

    /// Print the document as the service would file it: defaults filled, parameters_base64
    /// decoded into parameters, kubeconfig values anonymised.
    #[arg(long)]
    pub normalize: bool,

    /// Print problems as a JSON list of {"path", "message"} instead of lines.
    #[arg(long)]
    pub json: bool,
}

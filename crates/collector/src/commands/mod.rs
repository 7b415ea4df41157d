//! One module per subcommand; each returns an [`Outcome`](crate::Outcome) or an error.

mod validate;

use crate::Outcome;
use crate::cli::{Cli, Command};

/// Runs the chosen subcommand.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Validate(args) => validate::run(&args),
    }
}

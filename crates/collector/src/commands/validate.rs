//! `krkn-telemetry validate FILE|-`: check a document, print every problem, optionally print
//! the normalised document.

use std::io::Write;

use krkn_telemetry_model::{Problems, TelemetryFile};

use crate::Outcome;
use crate::cli::ValidateArgs;

/// Reads the input, checks it, and prints problems (stdout) and a summary (stderr).
pub fn run(args: &ValidateArgs) -> anyhow::Result<Outcome> {
    let (name, bytes) = crate::input::read_input(&args.input)?;
    let mut stdout = std::io::stdout().lock();
    match check(&bytes, args.normalize) {
        Ok(file) => {
            if args.normalize {
                serde_json::to_writer_pretty(&mut stdout, &file.to_value())?;
                writeln!(stdout)?;
            } else if args.json {
                writeln!(stdout, "[]")?;
            }
            eprintln!("{name}: valid");
            Ok(Outcome::Success)
        }
        Err(problems) => {
            if args.json {
                serde_json::to_writer_pretty(&mut stdout, &problems)?;
                writeln!(stdout)?;
            } else {
                for problem in problems.iter() {
                    writeln!(stdout, "{problem}")?;
                }
            }
            let count = problems.len();
            eprintln!(
                "{name}: {count} problem{} found",
                if count == 1 { "" } else { "s" }
            );
            Ok(Outcome::Failed)
        }
    }
}

/// Parses and validates; with `normalize`, normalises first, as the service does on filing.
fn check(bytes: &[u8], normalize: bool) -> Result<TelemetryFile, Problems> {
    let mut file = TelemetryFile::parse(bytes)?;
    let prefix = file.telemetry_path();
    let reroot = |problems: Problems| {
        if prefix.is_empty() {
            problems
        } else {
            problems.prefixed(prefix)
        }
    };
    if normalize {
        file.telemetry.normalize().map_err(reroot)?;
    }
    file.telemetry.validate().map_err(reroot)?;
    Ok(file)
}

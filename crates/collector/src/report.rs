//! What a command did, as `--output json` prints it on stdout when the command ends: the run
//! (group, request id, link), every file uploaded or written (name, size, SHA-256) and every
//! warning, with the status and exit code. Steps record into one sheet for the process (a
//! command runs once per process); in text mode the link is printed as it is known, as krkn
//! prints it.

use std::sync::Mutex;

use krkn_telemetry_model::RunKey;
use serde::Serialize;

use crate::Outcome;

/// How a command's result is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// The run's link on stdout, as krkn prints it; messages on stderr.
    #[default]
    Text,
    /// One JSON object on stdout at the end (see the README's "Machine-readable results").
    Json,
}

/// One file the command uploaded or wrote.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileEntry {
    /// Its name in the run folder (or below the output folder).
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// SHA-256, hex.
    pub sha256: String,
    /// True when it is in the service, false when it was only written locally.
    pub uploaded: bool,
}

#[derive(Debug, Default, Serialize)]
struct Sheet {
    #[serde(skip)]
    format: OutputFormat,
    command: &'static str,
    status: &'static str,
    exit_code: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    group: Option<String>,
    request_id: Option<String>,
    link: Option<String>,
    files: Vec<FileEntry>,
    warnings: Vec<String>,
}

static SHEET: Mutex<Option<Sheet>> = Mutex::new(None);

fn with_sheet<T>(f: impl FnOnce(&mut Sheet) -> T) -> T {
    let mut sheet = SHEET
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    f(sheet.get_or_insert_with(Sheet::default))
}

/// Starts the sheet of `command`, printed as `format` says.
pub fn start(command: &'static str, format: OutputFormat) {
    with_sheet(|sheet| {
        sheet.command = command;
        sheet.format = format;
    });
}

/// The run the command works on.
pub fn run_key(key: &RunKey) {
    with_sheet(|sheet| {
        sheet.group = Some(key.group().to_owned());
        sheet.request_id = Some(key.request_id().to_owned());
    });
}

/// The run's link in the service: printed now in text mode, kept for the JSON otherwise.
pub fn link(url: String) {
    let text = with_sheet(|sheet| {
        let text = sheet.format == OutputFormat::Text;
        sheet.link = Some(url.clone());
        text
    });
    if text {
        println!("{url}");
    }
}

/// A file uploaded (or, with `uploaded` false, written locally).
pub fn file(name: &str, size: u64, sha256: &[u8; 32], uploaded: bool) {
    let entry = FileEntry {
        name: name.to_owned(),
        size,
        sha256: hex::encode(sha256),
        uploaded,
    };
    with_sheet(|sheet| sheet.files.push(entry));
}

/// Bytes uploaded under `name` (hashed here).
pub fn sent_bytes(name: &str, bytes: &[u8]) {
    use sha2::Digest;
    file(
        name,
        bytes.len() as u64,
        &sha2::Sha256::digest(bytes).into(),
        true,
    );
}

/// A warning the command logged.
pub fn warning(message: String) {
    with_sheet(|sheet| sheet.warnings.push(message));
}

/// Prints the sheet when JSON was asked for: `result` is what the command returned, `exit_code`
/// what the process exits with.
pub fn finish(result: &anyhow::Result<Outcome>, exit_code: u8) {
    let json = with_sheet(|sheet| {
        if sheet.format != OutputFormat::Json {
            return None;
        }
        sheet.exit_code = exit_code;
        sheet.status = match result {
            Ok(Outcome::Success) => "success",
            Ok(Outcome::Failed) => "failed",
            Ok(Outcome::Interrupted(_)) => "interrupted",
            Err(_) => "error",
        };
        sheet.error = result.as_ref().err().map(|e| format!("{e:#}"));
        serde_json::to_string_pretty(sheet).ok()
    });
    if let Some(json) = json {
        println!("{json}");
    }
}

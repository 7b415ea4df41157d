//! `krkn-telemetry`, the collector and uploader that runs after a krkn chaos run: it gathers
//! what krkn-lib gathers (cluster metadata, events, critical alerts), checks the document with
//! the shared model, and sends it to a krkn telemetry service with retries and a local copy.
//!
//! Modules:
//! - [`cli`]: the command line (an interface operators script against).
//! - [`commands`]: one module per subcommand; `send` and `run` share its `prepare` and
//!   `deliver` steps.
//! - [`settings`]: krkn's config with the flags over it, the service client, the kubeconfig,
//!   the Prometheus and collection settings, parsed once for every command.
//! - [`input`]: reading a document or krkn's run output from a file or standard input.
//! - [`enrich`]: what the collector adds to a run document (cluster fields, events, alerts,
//!   `job_status`).
//! - [`cluster`]: every Kubernetes API call: the metadata probes (concurrent, each under the
//!   deadline), the pods and their logs, `pods/exec`.
//! - [`alerts`]: critical alerts from Prometheus.
//! - [`upload`]: the service's protocol (POST, presigned link, PUT) with retries.
//! - [`archive`]: the local copy written before any upload.
//! - [`logs`]: cluster logs filtered to the run window, archived and uploaded.
//! - [`progress`]: progress bars on a terminal, periodic lines otherwise.
//! - [`logging`]: log lines as text or JSON, kept clear of the progress bars.
//! - [`report`]: the command's result for `--output json`.
//! - [`prometheus`]: the Prometheus backup, streamed, checksummed, resumable.
//! - [`shutdown`]: SIGTERM and SIGINT: no new work, a grace period, then a resumable exit.

pub mod alerts;
pub mod archive;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod enrich;
pub mod input;
pub mod logging;
pub mod logs;
pub mod progress;
pub mod prometheus;
pub mod report;
pub mod settings;
pub mod shutdown;
pub mod upload;

/// How a command ended, beyond plain success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything checked out.
    Success,
    /// The command ran and found problems in its input, or could not deliver (exit 1).
    Failed,
    /// A signal stopped the command after what was in flight (exit 128 + its number).
    Interrupted(shutdown::Signal),
}

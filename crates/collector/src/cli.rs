//! The command line, as operators script against it. Names here are an interface: keep them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::cluster::ListMode;
use crate::logging::LogFormat;
use crate::report::OutputFormat;

/// Collects, checks and uploads krkn chaos-run telemetry.
///
/// Run it after a krkn run, in the cluster (see infra/k8s/) or beside it. It speaks the
/// protocol of the krkn telemetry service, ours or the original Flask one.
#[derive(Debug, Parser)]
#[command(
    name = "krkn-telemetry",
    version,
    about,
    long_about,
    max_term_width = 100
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,

    /// Seconds that work in flight (part uploads) may take after SIGTERM or SIGINT before it
    /// is abandoned; the command then exits 143/130 and a rerun resumes. Kubernetes waits 30 s
    /// (terminationGracePeriodSeconds) before it kills the pod.
    #[arg(
        long,
        global = true,
        env = "KRKN_TELEMETRY_GRACE_PERIOD",
        value_name = "SECONDS",
        default_value_t = 20.0
    )]
    pub grace_period: f64,

    /// How log lines on stderr are written.
    #[arg(
        long,
        global = true,
        env = "KRKN_TELEMETRY_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text
    )]
    pub log_format: LogFormat,

    /// Only warnings and errors on stderr, no progress bars.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// More detail on stderr (-v debug, -vv trace); RUST_LOG is used when neither -q nor -v is.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl Cli {
    /// -1 for `-q`, 0 by default, the number of `-v` otherwise.
    pub fn verbosity(&self) -> i8 {
        if self.quiet {
            -1
        } else {
            i8::try_from(self.verbose).unwrap_or(i8::MAX)
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a telemetry document and print every problem with its JSON path.
    ///
    /// Reads the object krkn POSTs, or krkn's output file ({"telemetry": ..., "critical_alerts": ...}).
    /// Exit status: 0 valid, 1 problems found, 2 usage or I/O error.
    Validate(ValidateArgs),

    /// Gather cluster metadata and print it as the cluster fields of a run document.
    ///
    /// Probes (nodes, object counts, version, OpenShift facts) run concurrently under one
    /// deadline; a probe that fails or runs out of time leaves its field at the default and is
    /// listed under "warnings". Exit status: 0 collected (warnings or not), 1 no probe got an
    /// answer (the defaults are still printed), 2 no cluster configured.
    Collect(CollectArgs),

    /// Query Prometheus for critical alerts during and after a run window.
    ///
    /// Writes a ChaosRunAlertSummary (the content of critical-alerts-00.log).
    Alerts(AlertsArgs),

    /// Send krkn's run output to the telemetry service, with cluster metadata and alerts.
    ///
    /// Reads krkn's config.yaml as is. With `enabled: false` nothing is built; with no
    /// `api_url` the document is built and written to the archive folder only. Exit status:
    /// 0 sent (or written), 1 the document is invalid or the upload failed, 2 usage or config.
    Send(SendArgs),

    /// The whole post-run pipeline as krkn's config asks: metadata, events, alerts, send, then
    /// the Prometheus backup (prometheus_backup) and the logs (logs_backup, from
    /// --must-gather-dir).
    Run(SendArgs),

    /// Filter cluster logs to the run window and upload them (or write them to a folder).
    ///
    /// Reads a must-gather or `oc adm inspect` folder (--must-gather-dir), the pods' logs
    /// through the API (--pods), or runs `oc adm must-gather` (--oc); keeps each line whose
    /// time, captured by
    /// the first matching pattern, lies in [--start, --end]. With --output-dir the filtered
    /// files are written there; otherwise they are archived as logs-00.tar.gz (or
    /// logs-<namespace>-00.tar.gz) and uploaded with the service settings of --config.
    Logs(LogsArgs),

    /// Back up Prometheus's data into the run folder as prometheus-NN.tar parts.
    ///
    /// Streams `tar` of /prometheus/wal (all of /prometheus with full_prometheus_backup) out of
    /// the Prometheus container through the API server, cut into archive_size KB parts, each
    /// uploaded with its SHA-256 as soon as it is complete (backup_threads at a time), then
    /// prometheus-manifest.json. Run it again after a crash to upload only what is missing.
    PrometheusBackup(PrometheusBackupArgs),

    /// Print a shell completion script: `source <(krkn-telemetry completions bash)`.
    Completions(CompletionsArgs),

    /// Print the manual page (roff): `krkn-telemetry man | man -l -`.
    Man,
}

/// Arguments of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Arguments of `prometheus-backup`.
#[derive(Debug, Args)]
pub struct PrometheusBackupArgs {
    /// krkn's config.yaml (telemetry section: service, archive_size, backup_threads, ...).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,

    /// The run folder the parts go to.
    #[arg(long, value_name = "ID")]
    pub request_id: String,

    /// Cluster access.
    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Namespace of the Prometheus pod (overrides telemetry.prometheus_namespace; on
    /// OpenShift the default is openshift-monitoring).
    #[arg(long, value_name = "NAMESPACE")]
    pub prometheus_namespace: Option<String>,

    /// The Prometheus pod (overrides telemetry.prometheus_pod_name; OpenShift: prometheus-k8s-0).
    #[arg(long, value_name = "POD")]
    pub prometheus_pod: Option<String>,

    /// Its container (overrides telemetry.prometheus_container_name; OpenShift: prometheus).
    #[arg(long, value_name = "CONTAINER")]
    pub prometheus_container: Option<String>,

    /// Export the run window (--start/--end ± --window-margin) from Prometheus's HTTP API as
    /// OpenMetrics (prometheus-window-NN.om.gz) instead of copying the WAL
    /// (telemetry.prometheus_window in the config).
    #[arg(long, requires = "start")]
    pub window: bool,

    /// Seconds added before and after the run window (default:
    /// telemetry.prometheus_window_margin, 600).
    #[arg(long, value_name = "SECONDS")]
    pub window_margin: Option<u64>,

    /// Prometheus base URL for --window (overrides performance_monitoring.prometheus_url).
    #[arg(long, value_name = "URL", env = "KRKN_TELEMETRY_PROMETHEUS_URL")]
    pub prometheus_url: Option<String>,

    /// Prometheus access for --window.
    #[command(flatten)]
    pub prometheus: PrometheusArgs,

    /// Start of the run window (unix seconds), recorded in the manifest.
    #[arg(long, value_name = "UNIX", requires = "end")]
    pub start: Option<i64>,

    /// End of the run window (unix seconds), recorded in the manifest.
    #[arg(long, value_name = "UNIX", requires = "start")]
    pub end: Option<i64>,

    /// Where and how to upload.
    #[command(flatten)]
    pub service: ServiceArgs,

    /// `json`: one JSON result on stdout at the end (files, sizes, SHA-256s, warnings).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text, env = "KRKN_TELEMETRY_OUTPUT")]
    pub output: OutputFormat,
}

/// Arguments of `logs`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true)))]
pub struct LogsArgs {
    /// A must-gather or `oc adm inspect` folder (any level down to the one with `timestamp`).
    #[arg(long, value_name = "DIR", group = "source")]
    pub must_gather_dir: Option<PathBuf>,

    /// Read the pods' logs through the API instead (all namespaces, or --namespace).
    #[arg(long, group = "source")]
    pub pods: bool,

    /// Run `oc adm must-gather` (`oc adm inspect ns/<namespace>` with --namespace) instead;
    /// `oc` is telemetry.oc_cli_path or found on $PATH.
    #[arg(long, group = "source")]
    pub oc: bool,

    /// Kubeconfig for --pods and --oc (default: kraken.kubeconfig_path of --config,
    /// KUBECONFIG, ~/.kube/config, the in-cluster account).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context for --pods and --oc (default: its current context).
    #[arg(long, value_name = "NAME", env = "KRKN_TELEMETRY_CONTEXT")]
    pub context: Option<String>,

    /// Start of the run window (unix seconds).
    #[arg(long, value_name = "UNIX")]
    pub start: i64,

    /// End of the run window (unix seconds).
    #[arg(long, value_name = "UNIX")]
    pub end: i64,

    /// A regex whose one capture group holds a line's time; repeat for several (default:
    /// telemetry.logs_filter_patterns of --config, else krkn's three).
    #[arg(long = "pattern", value_name = "REGEX")]
    pub patterns: Vec<String>,

    /// Write the filtered files here instead of archiving and uploading them.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,

    /// krkn's config.yaml: patterns, the service to upload to, the archive folder.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The run folder to upload into (needed without --output-dir).
    #[arg(long, value_name = "ID")]
    pub request_id: Option<String>,

    /// The namespace the logs are of: the archive is named logs-<namespace>-00.tar.gz.
    #[arg(long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// Where and how to upload.
    #[command(flatten)]
    pub service: ServiceArgs,

    /// `json`: one JSON result on stdout at the end (files, sizes, SHA-256s, warnings).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text, env = "KRKN_TELEMETRY_OUTPUT")]
    pub output: OutputFormat,
}

/// Arguments of `validate`.
#[derive(Debug, Args)]
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

/// How to reach the cluster and how long to wait for it.
#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// Kubeconfig to use (default: KUBECONFIG, ~/.kube/config, then the in-cluster account).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use (default: its current context).
    #[arg(long, value_name = "NAME", env = "KRKN_TELEMETRY_CONTEXT")]
    pub context: Option<String>,

    /// Deadline for metadata collection, in seconds; every probe shares it.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub timeout: f64,

    /// Page size of Kubernetes lists.
    #[arg(long, value_name = "N", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
    pub page_size: u32,

    /// How object counts are listed (full objects only for benchmark comparisons).
    #[arg(long, value_enum, default_value_t = ListMode::Metadata, hide = true)]
    pub object_lists: ListMode,
}

/// Arguments of `collect`.
#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Cluster access.
    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Write the JSON here instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// How to reach Prometheus.
#[derive(Debug, Clone, Args)]
pub struct PrometheusArgs {
    /// Bearer token for Prometheus (overrides performance_monitoring.prometheus_bearer_token).
    #[arg(
        long,
        env = "KRKN_TELEMETRY_PROMETHEUS_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub prometheus_bearer_token: Option<String>,

    /// Extra CA certificates (PEM) to trust for Prometheus.
    #[arg(long, value_name = "FILE", env = "KRKN_TELEMETRY_PROMETHEUS_CA")]
    pub prometheus_ca: Option<PathBuf>,

    /// Do not verify Prometheus's TLS certificate (what krkn does).
    #[arg(long, env = "KRKN_TELEMETRY_PROMETHEUS_INSECURE")]
    pub prometheus_insecure: bool,
}

/// Arguments of `alerts`.
#[derive(Debug, Args)]
pub struct AlertsArgs {
    /// Prometheus base URL.
    #[arg(long, value_name = "URL", env = "KRKN_TELEMETRY_PROMETHEUS_URL")]
    pub prometheus_url: String,

    /// Start of the run window (unix seconds).
    #[arg(long, value_name = "UNIX", allow_negative_numbers = false)]
    pub start: i64,

    /// End of the run window (unix seconds).
    #[arg(long, value_name = "UNIX")]
    pub end: i64,

    /// Prometheus access.
    #[command(flatten)]
    pub prometheus: PrometheusArgs,

    /// Seconds after the run's end that count as "after the run".
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub post_window: i64,

    /// The summary's run_id (krkn puts the run uuid there).
    #[arg(long, value_name = "ID", default_value = "")]
    pub run_id: String,

    /// The summary's scenario (krkn puts the scenario type there).
    #[arg(long, value_name = "NAME", default_value = "")]
    pub scenario: String,

    /// Write the JSON here instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// The telemetry service and the local archive; flags override krkn's config.yaml.
#[derive(Debug, Clone, Default, Args)]
pub struct ServiceArgs {
    /// Telemetry service URL (overrides telemetry.api_url).
    #[arg(long, value_name = "URL", env = "KRKN_TELEMETRY_API_URL")]
    pub api_url: Option<String>,

    /// Service user (overrides telemetry.username).
    #[arg(long, value_name = "NAME", env = "KRKN_TELEMETRY_USERNAME")]
    pub username: Option<String>,

    /// Service password (overrides telemetry.password).
    #[arg(
        long,
        env = "KRKN_TELEMETRY_PASSWORD",
        hide_env_values = true,
        value_name = "PASSWORD"
    )]
    pub password: Option<String>,

    /// Group folder (overrides telemetry.telemetry_group).
    #[arg(long, value_name = "GROUP", env = "KRKN_TELEMETRY_GROUP")]
    pub telemetry_group: Option<String>,

    /// Tag appended to the run folder name (overrides telemetry.run_tag).
    #[arg(long, value_name = "TAG", env = "KRKN_TELEMETRY_RUN_TAG")]
    pub run_tag: Option<String>,

    /// Where the sent files are kept (overrides telemetry.archive_path).
    #[arg(long, value_name = "DIR", env = "KRKN_TELEMETRY_ARCHIVE_PATH")]
    pub archive_path: Option<PathBuf>,

    /// Retries per upload, 0 = forever (overrides telemetry.max_retries).
    #[arg(long, value_name = "N", env = "KRKN_TELEMETRY_MAX_RETRIES")]
    pub max_retries: Option<u32>,

    /// Give up on uploads after this many seconds, whatever max_retries says.
    #[arg(long, value_name = "SECONDS", env = "KRKN_TELEMETRY_DEADLINE")]
    pub deadline: Option<f64>,
}

/// Arguments of `send` and `run`; flags override krkn's config.yaml.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// krkn's config.yaml (its `telemetry` section, Prometheus keys and kubeconfig path).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,

    /// krkn's run output: the JSON (wrapper or bare document), or krkn's report or log
    /// (`kraken.report`), whose last `Chaos data:` JSON is used; `-` reads standard input.
    #[arg(long, value_name = "FILE|-")]
    pub input: PathBuf,

    /// Run folder name (default: `<unix seconds>-<run_uuid>[-<run_tag>]`, as krkn names it).
    #[arg(long, value_name = "ID")]
    pub request_id: Option<String>,

    /// Cluster access.
    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// For `run` with telemetry.logs_backup: the must-gather folder whose logs are filtered
    /// to the run window and uploaded.
    #[arg(long, value_name = "DIR")]
    pub must_gather_dir: Option<PathBuf>,

    /// Do not collect cluster metadata or events: send the document as it is (to resend an
    /// archived one).
    #[arg(long)]
    pub no_collect: bool,

    /// Print what would be sent, with passwords and tokens masked, and send nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Where and how to upload.
    #[command(flatten)]
    pub service: ServiceArgs,

    /// Prometheus base URL (overrides performance_monitoring.prometheus_url).
    #[arg(long, value_name = "URL", env = "KRKN_TELEMETRY_PROMETHEUS_URL")]
    pub prometheus_url: Option<String>,

    /// Prometheus access.
    #[command(flatten)]
    pub prometheus: PrometheusArgs,

    /// Seconds after the run's end that count as "after the run".
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub post_window: i64,

    /// `json`: one JSON result on stdout at the end (request id, link, files, warnings).
    /// --dry-run prints its plan instead.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text, env = "KRKN_TELEMETRY_OUTPUT")]
    pub output: OutputFormat,
}

//! The krkn chaos-run telemetry model, shared by the API and the collector.
//!
//! Only this crate knows the JSON shape of a telemetry document. It reads what every krkn-lib
//! version sends (ints or floats, strings or numbers, `null`s, fields it has never heard of) and
//! writes it back unchanged, so the service never loses a byte of a newer sender's data.
//!
//! Modules:
//! - [`telemetry`], [`scenario`], [`cluster`], [`alerts`]: the document types.
//! - [`field`]: [`Field`], the absent / `null` / set tri-state every field uses.
//! - [`scalar`]: [`Scalar`], a value sent as a string or a number.
//! - [`raw`]: [`RawJson`], opaque values (parameters, unknown fields) kept as their text.
//! - [`parse`]: reading bytes, with every type error explained; [`TelemetryFile`] for files
//!   that may be krkn's output wrapper.
//! - [`validate`]: the filing rules and their [`Limits`], all problems reported at once.
//! - [`parameters`]: `parameters_base64` decoding, kubeconfig anonymising, normalisation;
//!   [`alias_budget`]: the bound on what YAML aliases may expand to.
//! - [`problem`]: [`Problem`] and [`Problems`], each with a JSON path.
//! - [`keys`]: [`RunKey`] and [`ArtifactName`], the only way a name becomes a storage key;
//!   [`ArtifactKind`] formats and parses the names of a run's files.
//! - [`manifest`]: [`BackupManifest`], `prometheus-manifest.json` as written and read.
//! - [`version`]: [`version::major_minor`], `major_version` from a cluster version.
//! - [`config`]: the `telemetry` section of krkn's `config.yaml`.
//! - [`schema`]: JSON Schemas generated from the types; [`shape`]: the JSON kinds each field
//!   accepts, which the parser's error messages name.
//! - [`export`]: the flat one-row-per-scenario view for datasets, and its documented columns.
//! - [`samples`]: synthetic documents for benchmarks and load tests.
//!
//! ```
//! use krkn_telemetry_model::ChaosRunTelemetry;
//!
//! let body = br#"{"scenarios": [{"start_timestamp": 1, "end_timestamp": 2,
//!     "scenario": "s.yaml", "scenario_type": "", "exit_status": 0, "parameters": {}}]}"#;
//! let doc = ChaosRunTelemetry::from_json(body).expect("well-formed");
//! let problems = doc.validate().expect_err("empty scenario_type");
//! assert_eq!(problems.to_string(), "scenarios[0].scenario_type: must not be empty");
//! ```

pub mod alerts;
pub mod alias_budget;
pub mod cluster;
pub mod config;
pub mod export;
pub mod field;
pub mod keys;
pub mod manifest;
pub mod parameters;
pub mod parse;
pub mod problem;
pub mod raw;
pub mod samples;
pub mod scalar;
pub mod scenario;
pub mod schema;
pub mod shape;
pub mod telemetry;
pub mod validate;
pub mod version;

pub use alerts::{ChaosRunAlert, ChaosRunAlertSummary};
pub use cluster::{
    AlertEvaluation, HealthCheck, NodeInfo, ObjectStateCheck, ResiliencyReport, Taint, VirtCheck,
};
pub use config::{ConfigError, KrknConfig, PrometheusConfig, Secret, TelemetryConfig};
pub use field::Field;
pub use keys::{ArtifactKind, ArtifactName, KeyError, RunKey, krkn_request_id};
pub use manifest::BackupManifest;
pub use parse::{TelemetryFile, parse_json};
pub use problem::{Problem, Problems};
pub use raw::RawJson;
pub use scalar::Scalar;
pub use scenario::{
    AffectedNode, AffectedPod, AffectedVmi, ClusterEvent, PodsStatus, RELEVANT_EVENT_REASONS,
    ScenarioTelemetry, VmisStatus, is_relevant_event_reason,
};
pub use telemetry::{ChaosRunOutput, ChaosRunTelemetry};
pub use validate::Limits;

/// Unknown keys of an object, kept verbatim as JSON text.
pub type Extra = std::collections::BTreeMap<String, RawJson>;

//! The krkn telemetry ingestion service.
//!
//! One axum [`Router`](axum::Router) holds every route ([`routes`]); it runs as a standalone
//! server (`krkn-telemetry-api serve`) and as an AWS Lambda (`krkn-telemetry-lambda`), both
//! started by [`startup`]. Modules:
//! - [`config`]: settings read once from the environment and flags.
//! - [`startup`]: logging, store choice and the first admin, shared by both binaries.
//! - [`audit`]: the admin actions recorded in the audit log, and their origin.
//! - [`auth`]: users, roles, argon2id password hashes, HTTP Basic, the bounded password
//!   checks and the throttle of wrong passwords.
//! - [`store`]: where documents, files, the run index and users live (embedded or AWS); the
//!   only module that touches storage.
//! - [`signing`]: HMAC-signed upload and download links of the embedded store.
//! - [`routes`]: krkn's protocol (`POST /telemetry`, `/presigned-url`, `/upload`,
//!   `/download-url`, `/download`, `/navigate`), the file browser (`/files`), the runs API
//!   (`/api/v1/runs`, one run and its files), the dataset export (`/api/v1/scenarios`), the
//!   web console (`/console/`), `/healthz`, `/openapi.json` (generated from the handlers'
//!   annotations, `routes::openapi`), and the guards every request passes first.
//! - [`lambda`]: the router behind API Gateway (stage prefix stripped); [`lambda_sweep`]: the
//!   same binary as the scheduled retention sweep.
//! - [`server`]: the standalone server: hyper with timeouts, a connection cap and a clean
//!   stop on SIGTERM; [`access_log`]: its request ids and access lines.
//! - [`consistency`]: `fsck` (where the index and the objects disagree) and `reindex`.
//! - [`indexing`]: a document's index entries, for filing and for rebuilding the index.
//! - [`error`]: every failure as a status code and a message that names the problem.
//! - [`retention`]: the sweep that deletes runs past their group's retention.
//! - [`metrics`]: the Prometheus metrics (`/metrics`, `serve --metrics-listen`).
//! - [`time`]: the clock and the one time format (RFC 3339, seconds, `Z`).

pub mod access_log;
pub mod audit;
pub mod auth;
pub mod config;
pub mod consistency;
pub mod error;
pub mod indexing;
pub mod lambda;
pub mod lambda_sweep;
pub mod metrics;
pub mod retention;
pub mod routes;
pub mod server;
pub mod signing;
pub mod startup;
pub mod store;
pub mod time;

pub use config::ApiConfig;
pub use error::ApiError;
pub use routes::{AppState, openapi, router};

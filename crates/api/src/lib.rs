//! The krkn telemetry ingestion service.
//!
//! One axum [`Router`](axum::Router) holds every route ([`routes`]); it runs as a standalone
//! server (`krkn-telemetry-api serve`) and as an AWS Lambda (`krkn-telemetry-lambda`). Modules:
//! - [`config`]: settings read once from the environment and flags.
//! - [`auth`]: users, roles, argon2id password hashes, HTTP Basic.
//! - [`store`]: where documents, files, the run index and users live (embedded or AWS).
//! - [`signing`]: HMAC-signed upload and download links of the embedded store.
//! - [`routes`]: krkn's protocol (`POST /telemetry`, upload and download links,
//!   `/navigate`, `/files`) plus `/healthz`.
//! - [`openapi`]: the OpenAPI document, generated from the handlers' annotations.
//! - [`lambda`]: the router behind API Gateway (stage prefix stripped).
//! - [`server`]: the standalone server: hyper with timeouts, a connection cap and a clean
//!   stop on SIGTERM.
//! - [`error`]: every failure as a status code and a message that names the problem.
//! - [`time`]: the clock and the one time format (RFC 3339, seconds, `Z`).

pub mod auth;
pub mod config;
pub mod error;
pub mod lambda;
pub mod openapi;
pub mod routes;
pub mod server;
pub mod signing;
pub mod store;
pub mod time;

pub use config::ApiConfig;
pub use error::ApiError;
pub use routes::{AppState, router};

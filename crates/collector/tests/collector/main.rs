//! The collector's integration tests, one binary: the real `krkn-telemetry` binary against the
//! fake API server (recorded clusters), the real Prometheus and our API on moto
//! (`scripts/test-services.sh`, which `make test` runs).

mod alerts;
mod collect;
mod image;
mod layout;
mod logs;
mod operator;
mod pipeline;
mod prometheus;
mod prometheus_stops;
mod prometheus_window;
mod rbac;
mod send;
mod support;
mod trust;
mod uploads;
mod validate;

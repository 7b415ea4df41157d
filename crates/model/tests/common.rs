//! Shared test inputs: the seed sample and the richer krkn-lib-made document.
#![allow(dead_code)]

use serde_json::Value;

/// The inner object of the sample output in the seed docs (what krkn POSTs).
pub const SEED: &str = include_str!("data/seed-sample.json");
/// The seed's whole sample output, with the `{"telemetry", "critical_alerts"}` wrapper.
pub const SEED_OUTPUT: &str = include_str!("data/seed-output.json");
/// A document built with krkn-lib 7.0.3's own classes using every field, plus unknown fields.
pub const RICH: &str = include_str!("data/rich-sample.json");

/// Parses test JSON that is known to be valid.
pub fn value(text: &str) -> Value {
    serde_json::from_str(text).expect("test data is JSON")
}

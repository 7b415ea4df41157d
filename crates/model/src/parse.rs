//! Reading documents from bytes, with every type error explained.
//!
//! The fast path is one `serde_json::from_slice` into the typed model. Only when that fails is
//! the input parsed again as a `Value` and walked by [`Shape`] to report every mismatch with its
//! path, so valid documents never pay for the diagnosis.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::alerts::ChaosRunAlertSummary;
use crate::field::Field;
use crate::problem::{Path, Problems};
use crate::shape::Shape;
use crate::telemetry::{ChaosRunOutput, ChaosRunTelemetry};

/// Parses `bytes` as a `T`, or explains every problem that prevents it.
///
/// serde_json, not a SIMD parser: sonic-rs 0.5 measured no faster on these documents (the cost
/// is in building owned strings, not in scanning), and it overflows the stack on deeply nested
/// input of the wrong type (a 1 MB body of `[`), while this parser faces the network.
/// serde_json stops at 128 levels on every path.
///
/// The input is checked as UTF-8 once, up front (std's check has a fast path for ASCII), so
/// that serde_json can read it as `&str` and skip its per-string UTF-8 validation, which
/// was 15% of the parse in a callgrind profile.
pub fn parse_json<T: DeserializeOwned + Shape>(bytes: &[u8]) -> Result<T, Problems> {
    let parsed = match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    };
    parsed.map_err(|error| diagnose::<T>(bytes, &error.to_string()))
}

/// Like [`parse_json`] for a value already parsed into a `serde_json::Value`.
pub fn from_value<T: DeserializeOwned + Shape>(value: Value) -> Result<T, Problems> {
    match T::deserialize(&value) {
        Ok(typed) => Ok(typed),
        Err(error) => {
            let mut problems = Problems::default();
            T::check(&value, &Path::ROOT, &mut problems);
            if problems.is_empty() {
                problems.push("", error.to_string());
            }
            Err(problems)
        }
    }
}

fn diagnose<T: Shape>(bytes: &[u8], error: &str) -> Problems {
    let mut problems = Problems::default();
    match serde_json::from_slice::<Value>(bytes) {
        Err(syntax) => problems.push("", format!("not valid JSON: {syntax}")),
        Ok(value) => {
            T::check(&value, &Path::ROOT, &mut problems);
            if problems.is_empty() {
                // The shape is right but serde still refused it: a duplicate key or a number
                // out of range. serde's message names the key and the position.
                problems.push("", error.to_owned());
            }
        }
    }
    problems
}

impl ChaosRunTelemetry {
    /// Parses a telemetry document (the object krkn POSTs), explaining every type error.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Problems> {
        parse_json(bytes)
    }

    /// The document as compact JSON.
    pub fn to_json(&self) -> Vec<u8> {
        self.to_json_with_capacity(0)
    }

    /// The document as compact JSON, written into a buffer of `capacity` bytes reserved up
    /// front. Callers that hold the bytes the document was parsed from pass their length:
    /// growing the buffer by doubling costs a quarter of parse + validate + serialize on a
    /// 23 MB document (reallocations, copies and page faults; measured in BENCHMARKS.md).
    pub fn to_json_with_capacity(&self, capacity: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(capacity);
        // Serializing plain data with string keys into memory cannot fail.
        match serde_json::to_writer(&mut out, self) {
            Ok(()) => out,
            Err(_) => Vec::new(),
        }
    }
}

/// A telemetry document read from a file: either the bare object krkn POSTs, or krkn's output
/// wrapper `{"telemetry": ..., "critical_alerts": ...}`.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetryFile {
    /// The run document.
    pub telemetry: ChaosRunTelemetry,
    /// The alert summary, when the file was a wrapper that had one.
    pub critical_alerts: Field<ChaosRunAlertSummary>,
    /// The wrapper object when there was one (its other fields are kept in it).
    pub wrapper: Option<ChaosRunOutput>,
}

impl TelemetryFile {
    /// Reads either form. A wrapper is recognised by a `telemetry` key and no `scenarios` key.
    pub fn parse(bytes: &[u8]) -> Result<Self, Problems> {
        let mut telemetry = ChaosRunTelemetry::from_json(bytes)?;
        if !telemetry.scenarios.is_missing() || !telemetry.extra.contains_key("telemetry") {
            return Ok(TelemetryFile {
                telemetry,
                critical_alerts: Field::Missing,
                wrapper: None,
            });
        }
        // It was a wrapper: the typed pass put its keys into `extra`; read them properly now.
        let fields = std::mem::take(&mut telemetry.extra);
        // Read the wrapper again from its keys; paths start at the wrapper, the file's root.
        let wrapper_bytes = serde_json::to_vec(&fields).unwrap_or_default();
        let mut output: ChaosRunOutput = parse_json(&wrapper_bytes)?;
        let inner = match std::mem::take(&mut output.telemetry) {
            Field::Set(inner) => inner,
            _ => {
                let mut problems = Problems::default();
                problems.push("telemetry", "must be the run document, not null");
                return Err(problems);
            }
        };
        let critical_alerts = std::mem::take(&mut output.critical_alerts);
        Ok(TelemetryFile {
            telemetry: inner,
            critical_alerts,
            wrapper: Some(output),
        })
    }

    /// Where the run document sits in the file, for error paths (`telemetry` or the root).
    pub fn telemetry_path(&self) -> &'static str {
        if self.wrapper.is_some() {
            "telemetry"
        } else {
            ""
        }
    }

    /// Rebuilds the file in its original form (wrapper or bare).
    pub fn to_value(&self) -> Value {
        match &self.wrapper {
            None => serde_json::to_value(&self.telemetry).unwrap_or(Value::Null),
            Some(wrapper) => {
                let mut output = wrapper.clone();
                output.telemetry = Field::Set(self.telemetry.clone());
                output.critical_alerts = self.critical_alerts.clone();
                serde_json::to_value(&output).unwrap_or(Value::Null)
            }
        }
    }
}

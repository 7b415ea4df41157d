//! JSON Schemas generated from the model types, so the committed `schema/` files can never
//! disagree with the code (a test regenerates them and fails when they are stale).

use serde_json::Value;

use crate::alerts::ChaosRunAlertSummary;
use crate::telemetry::ChaosRunTelemetry;

/// The JSON Schema of a telemetry document (`schema/chaos-run-telemetry.schema.json`).
pub fn telemetry_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(ChaosRunTelemetry)).unwrap_or(Value::Null)
}

/// The JSON Schema of a critical-alerts file (`schema/chaos-run-alert-summary.schema.json`).
pub fn alert_summary_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(ChaosRunAlertSummary)).unwrap_or(Value::Null)
}

/// Every committed schema: file name under `schema/` and its content.
pub fn all_schemas() -> Vec<(&'static str, Value)> {
    vec![
        ("chaos-run-telemetry.schema.json", telemetry_schema()),
        (
            "chaos-run-alert-summary.schema.json",
            alert_summary_schema(),
        ),
    ]
}

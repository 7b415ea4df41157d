//! `document`: arbitrary bytes as the body krkn POSTs.
//!
//! Parsing faces the network, so whatever arrives must be answered with a document or with
//! `Problems`, never a panic. A document that parses must also come out as it went in: the
//! bytes it serializes to parse again and serialize to the same bytes, before and after
//! `normalize`, compact or pretty. The same holds for `TelemetryFile`, which also reads krkn's
//! output wrapper `{"telemetry": ..., "critical_alerts": ...}`. And after `normalize`, no
//! scenario's `parameters` may hold a `kubeconfig` other than `"anonymized"`: credentials must
//! never reach the store, whatever the sender did.
//!
//! The findings of the first run (FUZZING.md) are fixed and checked here: F1 (parameters
//! holding a number out of f64's range kept their kubeconfig: now refused) and F2 (a
//! `kubeconfig` key written with an escape was not anonymised). What remains stepped around
//! unless the `strict` feature is on (`cargo fuzz run --features strict document`): F1b, an
//! unknown field holding such a number reads as `null` in `TelemetryFile::to_value`.
#![no_main]

use krkn_telemetry_model::{ChaosRunTelemetry, TelemetryFile};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// With the `strict` feature, the known findings fail the run like any other.
const STRICT: bool = cfg!(feature = "strict");

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = ChaosRunTelemetry::from_json(data) {
        // Errors are answers, not failures: only panics count.
        let _ = doc.validate();
        roundtrip(&doc, "as parsed");

        let mut normalized = doc.clone();
        let accepted = doc.validate().is_ok() && normalized.normalize().is_ok();
        let _ = normalized.validate();
        roundtrip(&normalized, "normalized");
        // What the service would file: no kubeconfig may be left in it.
        if accepted {
            assert_anonymized(&normalized);
        }
    }

    // F1b: a document a `Value` cannot hold comes out of `to_value` as `null`.
    let value_can_hold_it = STRICT || serde_json::from_slice::<Value>(data).is_ok();
    if value_can_hold_it && let Ok(file) = TelemetryFile::parse(data) {
        let _ = file.telemetry.validate();
        let value = file.to_value();
        let bytes = serde_json::to_vec(&value).expect("a JSON value serializes");
        let again = TelemetryFile::parse(&bytes).unwrap_or_else(|problems| {
            panic!(
                "TelemetryFile: its own output does not parse: {problems}\n{}",
                String::from_utf8_lossy(&bytes)
            )
        });
        assert_eq!(
            again.wrapper.is_some(),
            file.wrapper.is_some(),
            "TelemetryFile: the wrapper form changed"
        );
        assert_eq!(again.to_value(), value, "TelemetryFile: the file changed");
    }
});

/// Serializes `doc`, parses the result and serializes that: both must give the same bytes.
fn roundtrip(doc: &ChaosRunTelemetry, stage: &str) {
    let first = serde_json::to_vec(doc).expect("a parsed document serializes");
    assert!(
        doc.to_json() == first,
        "{stage}: to_json differs from serde_json::to_vec"
    );
    let again = parse_own(&first, stage, "compact");
    let second = serde_json::to_vec(&again).expect("a parsed document serializes");
    assert!(
        first == second,
        "{stage}: serialize -> parse -> serialize changed the bytes\nfirst:  {}\nsecond: {}",
        String::from_utf8_lossy(&first),
        String::from_utf8_lossy(&second)
    );
    assert!(
        again == *doc,
        "{stage}: the document parsed back is not equal"
    );

    let mut pretty = Vec::new();
    serde_json::to_writer_pretty(&mut pretty, doc).expect("a parsed document serializes");
    let from_pretty = parse_own(&pretty, stage, "pretty");
    let compact = serde_json::to_vec(&from_pretty).expect("a parsed document serializes");
    assert!(
        first == compact,
        "{stage}: the pretty form parses back to other bytes\ncompact: {}\npretty:  {}",
        String::from_utf8_lossy(&first),
        String::from_utf8_lossy(&compact)
    );
}

fn parse_own(bytes: &[u8], stage: &str, form: &str) -> ChaosRunTelemetry {
    ChaosRunTelemetry::from_json(bytes).unwrap_or_else(|problems| {
        panic!(
            "{stage}: its own {form} output does not parse: {problems}\n{}",
            String::from_utf8_lossy(bytes)
        )
    })
}

/// Every `kubeconfig` key in the parameters of a normalized document holds `"anonymized"`.
fn assert_anonymized(doc: &ChaosRunTelemetry) {
    for (i, scenario) in doc.scenarios.get().into_iter().flatten().enumerate() {
        let Some(raw) = scenario.parameters.get() else {
            continue;
        };
        let text = raw.text();
        let parameters = match serde_json::from_str::<Value>(text) {
            Ok(parameters) => parameters,
            Err(error) => panic!(
                "scenarios[{i}].parameters of an accepted document do not parse: {error}\n{text}"
            ),
        };
        if let Some(leak) = kubeconfig_leak(&parameters) {
            panic!("scenarios[{i}].parameters keep a kubeconfig after normalize: {leak}\n{text}");
        }
    }
}

fn kubeconfig_leak(value: &Value) -> Option<&Value> {
    match value {
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            if key == "kubeconfig" && item.as_str() != Some("anonymized") {
                Some(item)
            } else {
                kubeconfig_leak(item)
            }
        }),
        Value::Array(items) => items.iter().find_map(kubeconfig_leak),
        _ => None,
    }
}

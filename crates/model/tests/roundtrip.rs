//! A real krkn document goes in and comes out unchanged.

mod common;

use common::{RICH, SEED, SEED_OUTPUT, value};
use krkn_telemetry_model::{ChaosRunTelemetry, Field, Scalar, TelemetryFile};
use serde_json::json;

fn round_trip(text: &str) -> serde_json::Value {
    let doc = ChaosRunTelemetry::from_json(text.as_bytes()).expect("parses");
    doc.validate().expect("valid");
    serde_json::to_value(&doc).expect("serializes")
}

#[test]
fn seed_sample_round_trips_unchanged() {
    assert_eq!(round_trip(SEED), value(SEED));
}

#[test]
fn rich_sample_round_trips_unchanged() {
    assert_eq!(round_trip(RICH), value(RICH));
}

#[test]
fn rich_sample_uses_every_known_field() {
    let doc = ChaosRunTelemetry::from_json(RICH.as_bytes()).expect("parses");
    let raw = value(RICH);
    for key in ChaosRunTelemetry::KEYS {
        assert!(raw.get(key).is_some(), "rich sample lacks top-level {key}");
    }
    let first = &raw["scenarios"][0];
    for key in krkn_telemetry_model::ScenarioTelemetry::KEYS {
        assert!(
            first.get(key).is_some(),
            "rich sample's scenario lacks {key}"
        );
    }
    assert!(
        doc.extra.contains_key("failed_alerts"),
        "top-level unknown field kept"
    );
    let scenario = &doc.scenarios.get().expect("scenarios")[0];
    assert!(
        scenario.extra.contains_key("recovery_hints"),
        "scenario unknown field kept"
    );
}

#[test]
fn unknown_fields_survive_at_every_level() {
    let mut doc = value(SEED);
    doc["brand_new_top"] = json!({"nested": [1, 2.5, null]});
    doc["scenarios"][0]["brand_new_in_scenario"] = json!("x");
    doc["scenarios"][0]["affected_pods"]["brand_new_in_pods"] = json!(true);
    doc["node_summary_infos"][0]["brand_new_in_node"] = json!(7);
    let text = doc.to_string();
    assert_eq!(round_trip(&text), doc);
}

#[test]
fn int_and_float_timestamps_keep_their_form() {
    let mut doc = value(SEED);
    doc["scenarios"][0]["start_timestamp"] = json!(1745343338.25);
    doc["scenarios"][0]["end_timestamp"] = json!(1745343683);
    let out = round_trip(&doc.to_string());
    assert_eq!(out["scenarios"][0]["start_timestamp"], json!(1745343338.25));
    assert!(out["scenarios"][0]["end_timestamp"].is_u64());
}

#[test]
fn major_version_as_string_or_number_is_kept() {
    for version in [json!("4.18"), json!(4.18), json!(4)] {
        let mut doc = value(SEED);
        doc["major_version"] = version.clone();
        assert_eq!(round_trip(&doc.to_string())["major_version"], version);
    }
}

#[test]
fn nulls_stay_null_and_absent_stays_absent() {
    let doc = ChaosRunTelemetry::from_json(SEED.as_bytes()).expect("parses");
    assert_eq!(doc.health_checks, Field::Null);
    assert_eq!(doc.build_url, Field::Missing);
    let out = serde_json::to_value(&doc).expect("serializes");
    assert!(out["health_checks"].is_null());
    assert!(out.get("build_url").is_none());
}

#[test]
fn wrapper_and_bare_forms_give_the_same_document() {
    let wrapped = TelemetryFile::parse(SEED_OUTPUT.as_bytes()).expect("wrapper parses");
    let bare = TelemetryFile::parse(SEED.as_bytes()).expect("bare parses");
    assert_eq!(wrapped.telemetry, bare.telemetry);
    assert_eq!(wrapped.telemetry_path(), "telemetry");
    assert_eq!(wrapped.critical_alerts, Field::Null);
    assert_eq!(wrapped.to_value(), value(SEED_OUTPUT));
    assert_eq!(bare.to_value(), value(SEED));
}

#[test]
fn normalize_fills_krkn_lib_defaults() {
    let mut doc = ChaosRunTelemetry::from_json(SEED.as_bytes()).expect("parses");
    doc.normalize().expect("normalizes");
    assert_eq!(doc.build_url.get().map(String::as_str), Some("manual"));
    assert_eq!(doc.fips_enabled.get(), Some(&false));
    assert_eq!(doc.virt_checks, Field::Null);
    assert_eq!(doc.tag.get().map(String::as_str), Some(""));
    // Values the sender gave are untouched.
    assert_eq!(doc.major_version.get(), Some(&Scalar::from("4.18")));
    assert_eq!(
        doc.cloud_infrastructure.get().map(String::as_str),
        Some("GCP")
    );
    let scenario = &doc.scenarios.get().expect("scenarios")[0];
    assert!(scenario.affected_vmis.get().is_some());
    doc.validate().expect("still valid");
}

#[test]
fn normalize_decodes_parameters_base64_and_anonymizes_kubeconfig() {
    let yaml = "- config:\n    kubeconfig: |\n      apiVersion: v1\n      users: [{name: admin, user: {token: s3cret}}]\n    namespace: openshift-etcd\n  id: kill-pods\n";
    let encoded = base64_encode(yaml.as_bytes());
    let mut raw = value(SEED);
    raw["scenarios"][0]["parameters_base64"] = json!(encoded);
    raw["scenarios"][0]["parameters"] = json!({});
    let mut doc = ChaosRunTelemetry::from_json(raw.to_string().as_bytes()).expect("parses");
    doc.normalize().expect("decodes");
    let scenario = &doc.scenarios.get().expect("scenarios")[0];
    assert_eq!(
        scenario.parameters_base64.get().map(String::as_str),
        Some("")
    );
    let params = scenario.parameters.get().expect("parameters").to_value();
    assert_eq!(params[0]["id"], "kill-pods");
    assert_eq!(params[0]["config"]["kubeconfig"], "anonymized");
    assert!(
        !serde_json::to_string(&doc)
            .expect("json")
            .contains("s3cret")
    );
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn seed_sample_matches_the_seed_docs() {
    // The committed copy must be the sample from the user-facing docs in ../shared.
    let docs_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/seed/telemetry-docs.md"
    );
    let docs = std::fs::read_to_string(docs_path).unwrap_or_else(|e| {
        panic!("cannot read {docs_path} ({e}): the shared/ folder must sit beside the repository")
    });
    let start = docs.find("```json").expect("docs have a json block") + "```json".len();
    let end = start + docs[start..].find("```").expect("json block ends");
    assert_eq!(value(&docs[start..end]), value(SEED_OUTPUT));
}

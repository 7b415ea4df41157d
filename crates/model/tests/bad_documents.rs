//! A table of broken documents, each with the path (and words) of the problem it must produce.
//!
//! Each case starts from the seed sample and breaks one thing, so the expected problem is the
//! only one; the last tests check that several problems are all reported at once.

mod common;

use common::{SEED, value};
use krkn_telemetry_model::{ChaosRunTelemetry, Problems};
use serde_json::{Value, json};

/// Parses, normalises (as the service does) and validates; returns every problem.
fn problems_of(bytes: &[u8]) -> Problems {
    let mut doc = match ChaosRunTelemetry::from_json(bytes) {
        Ok(doc) => doc,
        Err(problems) => return problems,
    };
    let mut all = doc.validate().err().unwrap_or_default();
    if let Err(more) = doc.normalize() {
        for p in more {
            if !all.0.contains(&p) {
                all.0.push(p);
            }
        }
    }
    all
}

enum Input {
    /// Raw bytes, for syntax errors.
    Raw(&'static [u8]),
    /// Bytes made at run time (large or deep inputs).
    Made(fn() -> Vec<u8>),
    /// The seed sample with one change.
    Patch(fn(&mut Value)),
}

struct Case {
    name: &'static str,
    input: Input,
    path: &'static str,
    message: &'static str,
}

fn scenario(doc: &mut Value) -> &mut Value {
    &mut doc["scenarios"][0]
}

/// Every bad document, with the path and message its problem must have: one table read top
/// to bottom, better whole than split (the order groups the cases by field).
fn cases() -> Vec<Case> {
    use Input::*;
    fn case(name: &'static str, input: Input, path: &'static str, message: &'static str) -> Case {
        Case {
            name,
            input,
            path,
            message,
        }
    }
    vec![
        // --- not JSON, or not an object ---
        case("empty body", Raw(b""), "", "not valid JSON: EOF"),
        case(
            "truncated",
            Raw(b"{\"scenarios\": [{\"start_timestamp\": 1"),
            "",
            "not valid JSON",
        ),
        case(
            "trailing garbage",
            Raw(b"{\"scenarios\": []} x"),
            "",
            "not valid JSON: trailing characters",
        ),
        case("a list", Raw(b"[]"), "", "expected an object, found a list"),
        case(
            "a string",
            Raw(b"\"telemetry\""),
            "",
            "expected an object, found the string",
        ),
        case(
            "null document",
            Raw(b"null"),
            "",
            "expected an object, found null",
        ),
        case("deep nesting", Raw(DEEP), "", "recursion limit exceeded"),
        // A megabyte of nesting where a string or a scenario is expected: some fast parsers
        // overflow the stack here (sonic-rs 0.5 does); ours must answer with an error.
        case(
            "deep nesting in a string field",
            Made(|| deep_in("{\"tag\": ", "}")),
            "",
            "recursion limit exceeded",
        ),
        case(
            "deep nesting in scenarios",
            Made(|| deep_in("{\"scenarios\": [", "]}")),
            "",
            "recursion limit exceeded",
        ),
        // Opaque values are skipped without serde_json's depth limit: they get their own.
        case(
            "deep nesting in an opaque value",
            Made(|| {
                let deep = format!("{}{}", "[".repeat(110), "]".repeat(110));
                format!("{{\"scenarios\": [], \"error_logs\": [{deep}]}}").into_bytes()
            }),
            "",
            "nested more than 100 levels",
        ),
        case(
            "duplicate key",
            Raw(b"{\"scenarios\": [], \"scenarios\": []}"),
            "",
            "duplicate field `scenarios`",
        ),
        case(
            "invalid utf-8",
            Raw(b"{\"tag\": \"\xff\"}"),
            "",
            "not valid JSON",
        ),
        // --- top level ---
        case(
            "scenarios missing",
            Patch(|d| {
                d.as_object_mut().expect("an object").remove("scenarios");
            }),
            "scenarios",
            "is missing",
        ),
        case(
            "scenarios null",
            Patch(|d| d["scenarios"] = Value::Null),
            "scenarios",
            "not null",
        ),
        case(
            "scenarios an object",
            Patch(|d| d["scenarios"] = json!({})),
            "scenarios",
            "expected a list, found an object",
        ),
        case(
            "scenario not an object",
            Patch(|d| d["scenarios"][0] = json!("x")),
            "scenarios[0]",
            "expected an object",
        ),
        case(
            "node count a string",
            Patch(|d| d["node_summary_infos"][1]["count"] = json!("3")),
            "node_summary_infos[1].count",
            "expected an integer, found the string \"3\"",
        ),
        case(
            "node count negative",
            Patch(|d| d["node_summary_infos"][0]["count"] = json!(-1)),
            "node_summary_infos[0].count",
            "must not be negative",
        ),
        case(
            "taint key a number",
            Patch(|d| d["node_taints"][2]["key"] = json!(5)),
            "node_taints[2].key",
            "expected a string, found the number 5",
        ),
        case(
            "object count float",
            Patch(|d| d["kubernetes_objects_count"]["Pod"] = json!(2.5)),
            "kubernetes_objects_count.Pod",
            "expected an integer",
        ),
        case(
            "object count negative",
            Patch(|d| d["kubernetes_objects_count"]["Pod"] = json!(-4)),
            "kubernetes_objects_count.Pod",
            "must not be negative",
        ),
        case(
            "object counts a list",
            Patch(|d| d["kubernetes_objects_count"] = json!([1])),
            "kubernetes_objects_count",
            "expected an object",
        ),
        case(
            "network plugins a string",
            Patch(|d| d["network_plugins"] = json!("OVN")),
            "network_plugins",
            "expected a list",
        ),
        case(
            "network plugin a number",
            Patch(|d| d["network_plugins"][0] = json!(1)),
            "network_plugins[0]",
            "expected a string",
        ),
        case(
            "total nodes negative",
            Patch(|d| d["total_node_count"] = json!(-6)),
            "total_node_count",
            "must not be negative",
        ),
        case(
            "total nodes a bool",
            Patch(|d| d["total_node_count"] = json!(true)),
            "total_node_count",
            "expected an integer, found the boolean true",
        ),
        case(
            "job status a string",
            Patch(|d| d["job_status"] = json!("yes")),
            "job_status",
            "expected true or false",
        ),
        case(
            "major version a list",
            Patch(|d| d["major_version"] = json!([4, 18])),
            "major_version",
            "expected a string or a number",
        ),
        case(
            "timestamp format",
            Patch(|d| d["timestamp"] = json!("22/04/2025 17:35")),
            "timestamp",
            "must be a UTC time",
        ),
        case(
            "health check status a string",
            Patch(|d| d["health_checks"] = json!([{"url": "http://a", "status": "up"}])),
            "health_checks[0].status",
            "expected true or false",
        ),
        case(
            "virt check duration negative",
            Patch(|d| d["virt_checks"] = json!([{"vm_name": "vm", "duration": -2}])),
            "virt_checks[0].duration",
            "must not be negative",
        ),
        case(
            "cluster version too long",
            Patch(|d| d["cluster_version"] = json!("4".repeat(2000))),
            "cluster_version",
            "more than the limit of 1024",
        ),
        case(
            "slos inconsistent",
            Patch(|d| d["overall_resiliency_report"] = json!({"passed_slos": 5, "total_slos": 3})),
            "overall_resiliency_report.passed_slos",
            "must not exceed total_slos",
        ),
        case(
            "error logs an object",
            Patch(|d| d["error_logs"] = json!({})),
            "error_logs",
            "expected a list",
        ),
        // --- scenario fields: the upstream rule ---
        case(
            "scenario empty",
            Patch(|d| scenario(d)["scenario"] = json!("")),
            "scenarios[0].scenario",
            "must not be empty",
        ),
        case(
            "scenario_type empty",
            Patch(|d| scenario(d)["scenario_type"] = json!("")),
            "scenarios[0].scenario_type",
            "must not be empty",
        ),
        case(
            "scenario_type null",
            Patch(|d| scenario(d)["scenario_type"] = Value::Null),
            "scenarios[0].scenario_type",
            "must not be null",
        ),
        case(
            "scenario_type missing",
            Patch(|d| {
                scenario(d)
                    .as_object_mut()
                    .expect("an object")
                    .remove("scenario_type");
            }),
            "scenarios[0].scenario_type",
            "is missing",
        ),
        case(
            "exit status null",
            Patch(|d| scenario(d)["exit_status"] = Value::Null),
            "scenarios[0].exit_status",
            "must not be null",
        ),
        case(
            "exit status a string",
            Patch(|d| scenario(d)["exit_status"] = json!("0")),
            "scenarios[0].exit_status",
            "expected an integer",
        ),
        case(
            "start missing",
            Patch(|d| {
                scenario(d)
                    .as_object_mut()
                    .expect("an object")
                    .remove("start_timestamp");
            }),
            "scenarios[0].start_timestamp",
            "is missing",
        ),
        case(
            "start a string",
            Patch(|d| scenario(d)["start_timestamp"] = json!("1745343338")),
            "scenarios[0].start_timestamp",
            "expected a number",
        ),
        case(
            "parameters null",
            Patch(|d| scenario(d)["parameters"] = Value::Null),
            "scenarios[0].parameters",
            "must not be null",
        ),
        case(
            "parameters empty string",
            Patch(|d| scenario(d)["parameters"] = json!("")),
            "scenarios[0].parameters",
            "must not be empty",
        ),
        // --- scenario semantics ---
        case(
            "end before start",
            Patch(|d| scenario(d)["end_timestamp"] = json!(1745343000)),
            "scenarios[0].end_timestamp",
            "must not be before start_timestamp",
        ),
        case(
            "start negative",
            Patch(|d| scenario(d)["start_timestamp"] = json!(-5)),
            "scenarios[0].start_timestamp",
            "not negative",
        ),
        case(
            "milliseconds",
            Patch(|d| {
                scenario(d)["start_timestamp"] = json!(1745343338000_i64);
                scenario(d)["end_timestamp"] = json!(1745343683000_i64);
            }),
            "scenarios[0].start_timestamp",
            "not milliseconds",
        ),
        case(
            "bad base64",
            Patch(|d| scenario(d)["parameters_base64"] = json!("%%%not base64%%%")),
            "scenarios[0].parameters_base64",
            "invalid parameters format: not base64",
        ),
        case(
            "bad yaml",
            Patch(|d| scenario(d)["parameters_base64"] = json!("a2V5OiBbdW5jbG9zZWQ=")),
            "scenarios[0].parameters_base64",
            "invalid parameters format: not YAML",
        ),
        case(
            "scalar yaml",
            Patch(|d| scenario(d)["parameters_base64"] = json!("aGVsbG8=")),
            "scenarios[0].parameters_base64",
            "expected a mapping or a list",
        ),
        case(
            "recovered pods an object",
            Patch(|d| scenario(d)["affected_pods"]["recovered"] = json!({})),
            "scenarios[0].affected_pods.recovered",
            "expected a list",
        ),
        case(
            "recovery time negative",
            Patch(|d| {
                scenario(d)["affected_pods"]["recovered"] =
                    json!([{"pod_name": "p", "namespace": "n", "total_recovery_time": -1.5}])
            }),
            "scenarios[0].affected_pods.recovered[0].total_recovery_time",
            "must not be negative",
        ),
        case(
            "recovery time a string",
            Patch(|d| {
                scenario(d)["affected_pods"]["unrecovered"] =
                    json!([{"pod_name": "p", "total_recovery_time": "slow"}])
            }),
            "scenarios[0].affected_pods.unrecovered[0].total_recovery_time",
            "expected a number",
        ),
        case(
            "affected node time negative",
            Patch(|d| {
                scenario(d)["affected_nodes"] = json!([{"node_name": "n", "ready_time": -3}])
            }),
            "scenarios[0].affected_nodes[0].ready_time",
            "must not be negative",
        ),
        case(
            "event reason a number",
            Patch(|d| scenario(d)["cluster_events"] = json!([{"name": "e", "reason": 7}])),
            "scenarios[0].cluster_events[0].reason",
            "expected a string",
        ),
        case(
            "event type a list",
            Patch(|d| scenario(d)["cluster_events"] = json!([{"type": []}])),
            "scenarios[0].cluster_events[0].type",
            "expected a string, found a list",
        ),
        case(
            "event message too long",
            Patch(|d| scenario(d)["cluster_events"] = json!([{"message": "m".repeat(70_000)}])),
            "scenarios[0].cluster_events[0].message",
            "more than the limit of 65536",
        ),
        case(
            "vmis a string",
            Patch(|d| scenario(d)["affected_vmis"] = json!("none")),
            "scenarios[0].affected_vmis",
            "expected an object",
        ),
    ]
}

/// 129 nested lists: past serde_json's recursion limit of 128.
const DEEP: &[u8] = &{
    let mut bytes = [b'['; 258];
    let mut i = 129;
    while i < 258 {
        bytes[i] = b']';
        i += 1;
    }
    bytes
};

fn deep_in(before: &str, after: &str) -> Vec<u8> {
    let depth = 500_000;
    format!("{before}{}{}{after}", "[".repeat(depth), "]".repeat(depth)).into_bytes()
}

#[test]
fn every_bad_document_yields_its_path() {
    let cases = cases();
    assert!(cases.len() >= 40, "the table must hold at least 40 cases");
    let mut failures = Vec::new();
    for case in &cases {
        let bytes = match &case.input {
            Input::Raw(bytes) => bytes.to_vec(),
            Input::Made(make) => make(),
            Input::Patch(patch) => {
                let mut doc = value(SEED);
                patch(&mut doc);
                serde_json::to_vec(&doc).expect("serializes")
            }
        };
        let problems = problems_of(&bytes);
        let hit = problems
            .iter()
            .any(|p| p.path == case.path && p.message.contains(case.message));
        if !hit {
            failures.push(format!(
                "{}: wanted `{}: …{}…`, got [{}]",
                case.name, case.path, case.message, problems
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let mut doc = value(SEED);
    doc["scenarios"][0]["scenario_type"] = json!("");
    doc["scenarios"][0]["end_timestamp"] = json!(1);
    doc["total_node_count"] = json!(-1);
    doc["scenarios"] = json!([doc["scenarios"][0].clone(), doc["scenarios"][0].clone()]);
    let problems = problems_of(&serde_json::to_vec(&doc).expect("json"));
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "scenarios[0].scenario_type",
            "scenarios[0].end_timestamp",
            "scenarios[1].scenario_type",
            "scenarios[1].end_timestamp",
            "total_node_count",
        ]
    );
}

#[test]
fn every_type_error_is_reported_at_once() {
    let mut doc = value(SEED);
    doc["job_status"] = json!("true");
    doc["node_taints"][0]["effect"] = json!(1);
    doc["scenarios"][0]["exit_status"] = json!("0");
    doc["scenarios"][0]["affected_pods"]["recovered"] = json!("none");
    let problems = problems_of(&serde_json::to_vec(&doc).expect("json"));
    let mut paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "job_status",
            "node_taints[0].effect",
            "scenarios[0].affected_pods.recovered",
            "scenarios[0].exit_status",
        ]
    );
}

#[test]
fn parameters_base64_makes_parameters_optional() {
    let mut doc = value(SEED);
    doc["scenarios"][0]["parameters"] = Value::Null;
    doc["scenarios"][0]["parameters_base64"] = json!("a2V5OiB2YWx1ZQo="); // "key: value\n"
    assert!(problems_of(&serde_json::to_vec(&doc).expect("json")).is_empty());
}

//! `krkn-telemetry validate`: exit codes, problem lines with paths, stdin, `--normalize`.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use crate::support::{cli, text};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../model/tests/data")
        .join(name)
}

fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    cli(args, stdin, &[])
}

#[test]
fn valid_documents_exit_zero() {
    for name in ["seed-sample.json", "seed-output.json", "rich-sample.json"] {
        let path = data(name);
        let out = run(&["validate", path.to_str().expect("utf-8 path")], None);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out.stderr));
        assert!(out.stdout.is_empty(), "nothing on stdout for a valid file");
        assert!(text(&out.stderr).contains("valid"));
    }
}

#[test]
fn problems_are_printed_with_paths_and_exit_one() {
    let doc = br#"{"scenarios": [{"start_timestamp": 10, "end_timestamp": 5, "scenario": "",
        "scenario_type": "pod", "exit_status": 0, "parameters": {}}], "total_node_count": -2}"#;
    let out = run(&["validate", "-"], Some(doc));
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "scenarios[0].scenario: must not be empty",
            "scenarios[0].end_timestamp: must not be before start_timestamp (5 < 10)",
            "total_node_count: must not be negative, found -2",
        ]
    );
    assert!(text(&out.stderr).contains("<stdin>: 3 problems found"));
}

#[test]
fn wrapper_problems_are_reported_inside_telemetry() {
    let doc = br#"{"telemetry": {"scenarios": [{"start_timestamp": 1, "end_timestamp": 2,
        "scenario": "s", "scenario_type": "", "exit_status": 0, "parameters": {}}]},
        "critical_alerts": null}"#;
    let out = run(&["validate", "-"], Some(doc));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout).trim(),
        "telemetry.scenarios[0].scenario_type: must not be empty"
    );
}

#[test]
fn json_output_lists_problems() {
    let out = run(&["validate", "--json", "-"], Some(b"[1]"));
    assert_eq!(out.status.code(), Some(1));
    let problems: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    assert_eq!(problems[0]["path"], "");
    assert_eq!(problems[0]["message"], "expected an object, found a list");
}

#[test]
fn missing_file_and_bad_usage_exit_two() {
    let out = run(&["validate", "/nonexistent/telemetry.json"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot read /nonexistent/telemetry.json"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&["validate"], None);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["frobnicate"], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn normalize_prints_the_filed_form() {
    let path = data("rich-sample.json");
    let out = run(
        &["validate", "--normalize", path.to_str().expect("utf-8")],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON document");
    for scenario in doc["scenarios"].as_array().expect("scenarios") {
        assert_eq!(scenario["parameters_base64"], "");
        assert!(!scenario["parameters"].is_null());
    }
    assert!(!text(&out.stdout).contains("\"kubeconfig\": \"apiVersion"));
    // Unknown fields survive normalisation too.
    assert!(doc.get("failed_alerts").is_some());

    let seed = data("seed-sample.json");
    let out = run(
        &["validate", "--normalize", seed.to_str().expect("utf-8")],
        None,
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON document");
    assert_eq!(doc["build_url"], "manual");
    assert_eq!(doc["fips_enabled"], false);
}

#[test]
fn closed_stdout_is_a_clean_exit() {
    // `| head -c0`: the reader goes away; the writer must not report an error.
    let seed = data("rich-sample.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_krkn-telemetry"))
        .args(["validate", "--normalize", seed.to_str().expect("utf-8")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("ends");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

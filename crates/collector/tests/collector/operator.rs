//! The command line as operators script it: settings from the environment, `--context`,
//! `--output json` results that match what was stored byte for byte, `--log-format json`,
//! `-q`, shell completions and the man page generated from the clap definitions.

use std::path::Path;

use serde_json::Value;
use sha2::Digest;

use crate::support::{TestApi, UPLOADER, cli, cluster, kube, text};

const SEED: &[u8] = include_bytes!("../../../model/tests/data/seed-sample.json");

/// A krkn config with an empty telemetry section: everything else comes from flags or the
/// environment.
fn bare_config(dir: &Path) -> String {
    let path = dir.join("config.yaml");
    std::fs::write(
        &path,
        "kraken:\n  distribution: kubernetes\ntelemetry:\n  enabled: True\n  max_retries: 2\n",
    )
    .expect("config");
    path.to_str().expect("utf-8").to_owned()
}

fn input(dir: &Path) -> String {
    let path = dir.join("output.json");
    std::fs::write(&path, SEED).expect("input");
    path.to_str().expect("utf-8").to_owned()
}

fn json(stdout: &[u8]) -> Value {
    serde_json::from_slice(stdout)
        .unwrap_or_else(|e| panic!("stdout is one JSON result ({e}): {}", text(stdout)))
}

#[test]
fn connection_settings_come_from_the_environment_and_the_json_result_matches_the_store() {
    let api = TestApi::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = bare_config(dir.path());
    let input = input(dir.path());
    let archive = dir.path().join("archive");
    let out = cli(
        &[
            "send",
            "--config",
            &config,
            "--input",
            &input,
            "--no-collect",
            "--archive-path",
            archive.to_str().expect("utf-8"),
            "--output",
            "json",
        ],
        None,
        &[
            ("KRKN_TELEMETRY_API_URL", &api.url),
            ("KRKN_TELEMETRY_USERNAME", UPLOADER.0),
            ("KRKN_TELEMETRY_PASSWORD", UPLOADER.1),
            ("KRKN_TELEMETRY_GROUP", "from-env"),
            ("KRKN_TELEMETRY_RUN_TAG", "envtag"),
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let result = json(&out.stdout);
    assert_eq!(result["command"], "send");
    assert_eq!(result["status"], "success");
    assert_eq!(result["exit_code"], 0);
    assert_eq!(result["group"], "from-env");
    let request_id = result["request_id"].as_str().expect("request_id");
    assert!(request_id.ends_with("-envtag"), "{request_id}");
    assert_eq!(
        result["link"],
        format!("{}/files/from-env/{request_id}", api.url)
    );
    assert!(
        api.object(&format!("from-env/{request_id}/telemetry.json"))
            .is_some(),
        "filed under the group and tag from the environment"
    );
    // The bytes POSTed, as the archive keeps them.
    let stored = std::fs::read(archive.join(request_id).join("telemetry.json")).expect("archived");
    let files = result["files"].as_array().expect("files");
    assert_eq!(files.len(), 1, "{result}");
    assert_eq!(files[0]["name"], "telemetry.json");
    assert_eq!(files[0]["size"], stored.len() as u64);
    assert_eq!(
        files[0]["sha256"],
        hex::encode(sha2::Sha256::digest(&stored))
    );
    assert_eq!(files[0]["uploaded"], true);
    assert!(result["warnings"].is_array());
}

#[test]
fn a_failed_send_says_so_in_its_json_result() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = bare_config(dir.path());
    let input = input(dir.path());
    let out = cli(
        &[
            "send",
            "--config",
            &config,
            "--input",
            &input,
            "--no-collect",
            "--api-url",
            "http://127.0.0.1:9",
            "--username",
            "someone",
            "--password",
            "secret",
            "--deadline",
            "2",
            "--archive-path",
            dir.path().join("archive").to_str().expect("utf-8"),
            "--output",
            "json",
        ],
        None,
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let result = json(&out.stdout);
    assert_eq!(result["status"], "failed");
    assert_eq!(result["exit_code"], 1);
    assert_eq!(result["files"], serde_json::json!([]), "nothing was stored");
    assert!(result["link"].is_null());
}

#[test]
fn context_picks_the_cluster_and_the_current_context_is_not_used() {
    let server = kube(cluster("eks-1.31"));
    // The current context points at a closed port; only `--context fake-kube` works.
    let yaml = server
        .kubeconfig_yaml()
        .replace(
            "clusters:\n",
            "clusters:\n- name: closed\n  cluster:\n    server: https://127.0.0.1:9\n",
        )
        .replace(
            "contexts:\n",
            "contexts:\n- name: closed\n  context:\n    cluster: closed\n    user: fake-kube-user\n",
        )
        .replace("current-context: fake-kube", "current-context: closed");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, yaml).expect("kubeconfig");
    let path = path.to_str().expect("utf-8");

    let wrong = cli(
        &["collect", "--kubeconfig", path, "--timeout", "5"],
        None,
        &[],
    );
    assert_eq!(
        wrong.status.code(),
        Some(1),
        "the closed cluster gives nothing"
    );
    let right = cli(
        &["collect", "--kubeconfig", path, "--context", "fake-kube"],
        None,
        &[],
    );
    assert_eq!(right.status.code(), Some(0), "{}", text(&right.stderr));
    let from_env = cli(
        &["collect", "--kubeconfig", path],
        None,
        &[("KRKN_TELEMETRY_CONTEXT", "fake-kube")],
    );
    assert_eq!(
        from_env.status.code(),
        Some(0),
        "{}",
        text(&from_env.stderr)
    );
    let doc = json(&right.stdout);
    assert!(doc["total_node_count"].as_u64().unwrap_or(0) > 0, "{doc}");
    let missing = cli(
        &["collect", "--kubeconfig", path, "--context", "nope"],
        None,
        &[],
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("nope"),
        "{}",
        text(&missing.stderr)
    );
}

#[test]
fn json_logs_are_one_object_per_line_and_quiet_keeps_only_warnings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = bare_config(dir.path());
    let input = input(dir.path());
    let api = TestApi::start();
    let args = [
        "send",
        "--config",
        config.as_str(),
        "--input",
        input.as_str(),
        "--no-collect",
        "--api-url",
        api.url.as_str(),
        "--username",
        UPLOADER.0,
    ];
    let env = [("KRKN_TELEMETRY_PASSWORD", UPLOADER.1)];
    // No cluster: a warning; the rest is info.
    let json_args = [
        "--log-format",
        "json",
        "send",
        "--config",
        config.as_str(),
        "--input",
        input.as_str(),
        "--kubeconfig",
        "/nonexistent/kubeconfig",
        "--api-url",
        api.url.as_str(),
        "--username",
        UPLOADER.0,
        "--request-id",
        "1700000000-json-logs",
    ];
    let logged = cli(&json_args, None, &env);
    assert_eq!(logged.status.code(), Some(0), "{}", text(&logged.stderr));
    let lines: Vec<Value> = text(&logged.stderr)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let levels: Vec<&str> = lines.iter().filter_map(|l| l["level"].as_str()).collect();
    assert!(
        levels.contains(&"WARN") && levels.contains(&"INFO"),
        "{lines:?}"
    );
    for line in &lines {
        assert!(
            line["message"].is_string() && line["timestamp"].is_string(),
            "{line}"
        );
    }
    let mut normal_args = args.to_vec();
    normal_args.extend(["--request-id", "1700000000-normal"]);
    let normal = cli(&normal_args, None, &env);
    assert_eq!(normal.status.code(), Some(0), "{}", text(&normal.stderr));
    assert!(
        text(&normal.stderr).contains("krkn-telemetry: run default/"),
        "{}",
        text(&normal.stderr)
    );
    let mut quiet_args = vec!["-q"];
    quiet_args.extend_from_slice(&args);
    quiet_args.extend(["--request-id", "1700000000-quiet"]);
    let quiet = cli(&quiet_args, None, &env);
    assert_eq!(quiet.status.code(), Some(0), "{}", text(&quiet.stderr));
    assert_eq!(text(&quiet.stderr), "", "-q prints no info lines");
    assert!(
        text(&quiet.stdout).starts_with(&api.url),
        "the link still goes to stdout"
    );
}

#[test]
fn completions_and_the_man_page_come_from_the_command_line_definitions() {
    let bash = cli(&["completions", "bash"], None, &[]);
    assert_eq!(bash.status.code(), Some(0));
    let script = text(&bash.stdout);
    for word in [
        "prometheus-backup",
        "--grace-period",
        "--context",
        "--output",
    ] {
        assert!(script.contains(word), "bash completion lacks {word}");
    }
    let checked = std::process::Command::new("bash")
        .args(["-n", "-c", &script])
        .status()
        .expect("bash runs");
    assert!(checked.success(), "the bash completion script parses");
    for shell in ["zsh", "fish"] {
        let out = cli(&["completions", shell], None, &[]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        assert!(text(&out.stdout).contains("prometheus-backup"), "{shell}");
    }

    let man = cli(&["man"], None, &[]);
    assert_eq!(man.status.code(), Some(0));
    let page = text(&man.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH krkn-telemetry"),
        "{page:.200}"
    );
    for word in ["prometheus\\-backup", "grace\\-period", "log\\-format"] {
        assert!(page.contains(word), "man page lacks {word}");
    }
}

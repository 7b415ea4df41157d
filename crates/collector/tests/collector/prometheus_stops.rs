//! A backup stopped from outside: killed (SIGKILL) or stopped (SIGTERM) mid-upload, then run
//! again. Finished parts are never sent twice, and the resumed backup restores byte for byte.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::prometheus::{RUN, Setup, assert_restores, backup_args, s3_proxy, stored_backup};
use crate::support::text;

/// Waits until the backup state records `at_least` parts; fails if `child` ends first.
fn wait_for_recorded_parts(
    child: &mut std::process::Child,
    state_file: &Path,
    at_least: usize,
) -> usize {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let parts = std::fs::read(state_file)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| v["parts"].as_object().map(|p| p.len()))
            .unwrap_or(0);
        if parts >= at_least {
            return parts;
        }
        assert!(
            Instant::now() < deadline,
            "no part was confirmed within 2 minutes"
        );
        assert!(
            child.try_wait().expect("wait").is_none(),
            "the backup ended before it was stopped"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigterm_mid_backup_lets_uploads_finish_exits_143_and_a_rerun_resumes() {
    let proxy = s3_proxy(0, Duration::from_millis(400));
    let setup = Setup::new(Some(proxy.url.clone()));
    let state_file = setup.archive.join(RUN).join("prometheus-backup.state.json");
    let mut args = backup_args(&setup.config, &setup.kube.path);
    args.extend(["--grace-period", "10"]);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_krkn-telemetry"))
        .args(&args)
        .env("KUBECONFIG", "/nonexistent")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    let at_term = wait_for_recorded_parts(&mut child, &state_file, 3);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let out = child.wait_with_output().expect("ends");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("stopped by SIGTERM") && last.contains("resume with") && last.contains(RUN),
        "one closing line says what is done and how to resume: {stderr}"
    );
    println!("after SIGTERM: {last}");
    assert!(
        !stderr.contains("abandoned"),
        "uploads in flight finished within the grace period: {stderr}"
    );
    let state: Value =
        serde_json::from_slice(&std::fs::read(&state_file).expect("state")).expect("JSON");
    assert_eq!(state["manifest_uploaded"], false, "stopped before the end");
    let finished: Vec<String> = state["parts"]
        .as_object()
        .expect("parts")
        .keys()
        .map(|n| format!("prometheus-{:02}.tar", n.parse::<u32>().expect("number")))
        .collect();
    assert!(
        finished.len() >= at_term,
        "the state keeps every confirmed part"
    );
    assert!(
        last.contains(&format!("{} part(s) are uploaded", finished.len())),
        "the line counts the recorded parts: {last}"
    );

    let out = setup.backup();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("resuming"), "{stderr}");
    let puts = proxy.puts.lock().expect("lock").clone();
    for name in &finished {
        assert_eq!(
            puts.get(name),
            Some(&1),
            "{name} was uploaded again: {puts:?}"
        );
    }
    let (parts, manifest) = stored_backup(&setup.api, RUN);
    assert!(
        parts.len() > finished.len(),
        "the resumed run sent the rest"
    );
    assert_restores(&parts, &manifest, setup.data.path());
}

#[test]
fn a_run_killed_mid_upload_resumes_without_sending_finished_parts_again() {
    let proxy = s3_proxy(0, Duration::from_millis(400));
    let setup = Setup::new(Some(proxy.url.clone()));
    let state_file = setup.archive.join(RUN).join("prometheus-backup.state.json");

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_krkn-telemetry"))
        .args(backup_args(&setup.config, &setup.kube.path))
        .env("KUBECONFIG", "/nonexistent")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starts");
    let recorded = wait_for_recorded_parts(&mut child, &state_file, 3);
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let state: Value =
        serde_json::from_slice(&std::fs::read(&state_file).expect("state")).expect("JSON");
    let finished: Vec<String> = state["parts"]
        .as_object()
        .expect("parts")
        .keys()
        .map(|n| format!("prometheus-{:02}.tar", n.parse::<u32>().expect("number")))
        .collect();
    assert!(finished.len() >= recorded);
    assert_eq!(state["manifest_uploaded"], false, "killed before the end");

    let out = setup.backup();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("resuming"), "{stderr}");
    let puts = proxy.puts.lock().expect("lock").clone();
    for name in &finished {
        assert_eq!(
            puts.get(name),
            Some(&1),
            "{name} was uploaded again: {puts:?}"
        );
    }
    let (parts, manifest) = stored_backup(&setup.api, RUN);
    assert!(
        parts.len() > finished.len(),
        "the resumed run sent the rest"
    );
    assert_restores(&parts, &manifest, setup.data.path());
}

/// `text` without ANSI control sequences (CSI: `ESC [` … a final letter), cut into the pieces
/// a terminal shows as lines: at `\n`, and at `\r`, which returns to the line's start.
fn screen_lines(text: &str) -> Vec<String> {
    let mut plain = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain.split(['\n', '\r']).map(str::to_owned).collect()
}

#[test]
fn on_a_terminal_log_lines_are_never_drawn_into_the_progress_bar() {
    // Uploads that fail now and then: retry warnings arrive while the bar is drawn.
    let proxy = s3_proxy(30, Duration::from_millis(100));
    let setup = Setup::new(Some(proxy.url.clone()));
    let command: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_krkn-telemetry"))
        .chain(backup_args(&setup.config, &setup.kube.path))
        .map(|word| format!("'{word}'"))
        .collect();
    // `script` runs it on a pseudo-terminal and copies what the terminal got to stdout.
    let out = std::process::Command::new("script")
        .args(["-q", "-e", "-c", &command.join(" "), "/dev/null"])
        .env("TERM", "xterm-256color")
        .env("KUBECONFIG", "/nonexistent")
        .output()
        .expect("script (util-linux) runs");
    let screen = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{screen}");
    assert!(
        screen.contains("ETA"),
        "a progress bar was drawn on the terminal: {screen}"
    );
    let lines = screen_lines(&screen);
    let logged: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("krkn-telemetry: "))
        .collect();
    assert!(
        logged.iter().any(|l| l.contains("retrying in")),
        "retries were logged while the bar ran: {screen}"
    );
    for line in logged {
        assert!(
            line.starts_with("krkn-telemetry: "),
            "a log line shares its terminal line with the bar: {line:?}"
        );
    }
}

#[test]
fn sigint_during_a_step_that_hangs_exits_130_after_the_grace_period() {
    // Every node list hangs: `collect` waits for its 60 s deadline unless stopped.
    let server = krkn_telemetry_fake_kube::FakeKube::builder(crate::support::cluster("eks-1.31"))
        .https()
        .fault("/api/v1/nodes", krkn_telemetry_fake_kube::Fault::Hang)
        .start()
        .expect("fake API server starts");
    let kube = crate::support::kubeconfig(&server);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_krkn-telemetry"))
        .args(["collect", "--grace-period", "1", "--kubeconfig"])
        .arg(&kube.path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    // A hung request is recorded only when answered: signal once the collector has
    // talked to the server (the other lists answer) and had time to reach the nodes.
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.requests().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the collector never reached the API server"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let out = child.wait_with_output().expect("ends");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr
            .lines()
            .last()
            .is_some_and(|l| l.contains("stopped by SIGINT")),
        "{stderr}"
    );
}

#[test]
fn sigterm_while_waiting_to_retry_an_upload_starts_no_new_attempt() {
    // Nothing listens on the port: every attempt fails and, with max_retries 0 (krkn's
    // "forever"), `send` would wait and retry without end.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", closed.local_addr().expect("address"));
    drop(closed);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        "kraken:\n  distribution: kubernetes\ntelemetry:\n  enabled: True\n  max_retries: 0\n",
    )
    .expect("config");
    let input = dir.path().join("output.json");
    std::fs::write(
        &input,
        include_bytes!("../../../model/tests/data/seed-sample.json"),
    )
    .expect("input");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_krkn-telemetry"))
        .args(["send", "--no-collect", "--username", "u", "--api-url", &url])
        .arg("--config")
        .arg(&config)
        .arg("--input")
        .arg(&input)
        .arg("--archive-path")
        .arg(dir.path().join("archive"))
        .env("KRKN_TELEMETRY_PASSWORD", "p")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let read = std::io::BufRead::read_line(&mut stderr, &mut line).expect("stderr reads");
        assert!(read > 0, "ended before retrying: {seen}");
        seen.push_str(&line);
        if line.contains("attempt 2 failed") {
            break;
        }
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    std::io::Read::read_to_string(&mut stderr, &mut seen).expect("stderr reads");
    let status = child.wait().expect("ends");
    assert_eq!(status.code(), Some(143), "{seen}");
    assert!(
        !seen.contains("attempt 3 failed"),
        "an attempt started after the signal: {seen}"
    );
    assert!(
        seen.contains("sending telemetry.json: stopped by SIGTERM after 2 attempt(s)"),
        "{seen}"
    );
    assert!(
        !seen.contains("did not finish within"),
        "the wait ended with the signal, not the grace period: {seen}"
    );
}

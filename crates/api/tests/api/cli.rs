//! The `krkn-telemetry-api` binary as operators use it: `user add|list|remove` on both
//! backends, `init`, and a server whose logs never show a password.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use krkn_telemetry_api::store::aws::AwsSettings;

use crate::helpers::*;

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_krkn-telemetry-api"))
}

/// Runs the binary with `args` and the store flags of `kind`, feeding `stdin` (the Lambda
/// tests prepare the function's store with it too, as the deploy guide does).
pub(crate) fn run(
    kind: Kind,
    dir: &std::path::Path,
    args: &[&str],
    stdin: &str,
    aws: &Option<AwsSettings>,
) -> Output {
    let mut command = binary();
    command.args(args);
    match kind {
        Kind::Local => {
            command.arg("--data-dir").arg(dir);
        }
        Kind::Moto | Kind::MotoIam => {
            let settings = aws.as_ref().expect("aws settings");
            command
                .args(["--store", "aws"])
                .env("BUCKET_NAME", &settings.bucket)
                .env("TABLE_NAME", &settings.table)
                .env(
                    "AWS_ENDPOINT_URL",
                    settings.endpoint.as_deref().expect("moto"),
                );
            // On the IAM-enforced moto the operator acts as its admin.
            if let Some(keys) = &settings.keys {
                command
                    .env("AWS_ACCESS_KEY_ID", &keys.id)
                    .env("AWS_SECRET_ACCESS_KEY", &keys.secret);
            }
        }
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("binary ends")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn user_commands_manage_users(kind: Kind) {
    let dir = tempfile::tempdir().expect("dir");
    let aws = match kind {
        Kind::Local => None,
        Kind::Moto => Some(moto_settings()),
        Kind::MotoIam => Some(moto_iam_settings().0),
    };
    if aws.is_some() {
        let out = run(kind, dir.path(), &["init"], "", &aws);
        assert!(out.status.success(), "init: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("created table"),
            "{}",
            text(&out.stderr)
        );
    }
    let out = run(
        kind,
        dir.path(),
        &[
            "user", "add", "ci-bot", "--role", "uploader", "--groups", "perf,ci",
        ],
        "s3cret-passw0rd\n",
        &aws,
    );
    assert!(out.status.success(), "user add: {}", text(&out.stderr));

    let out = run(kind, dir.path(), &["user", "list"], "", &aws);
    assert!(out.status.success(), "user list: {}", text(&out.stderr));
    let listing = text(&out.stdout);
    assert!(listing.contains("ci-bot\tuploader\tperf,ci"), "{listing}");
    assert!(
        !listing.contains("s3cret") && !listing.contains("argon2"),
        "no password or hash is listed: {listing}"
    );

    let out = run(
        kind,
        dir.path(),
        &["user", "add", "bad", "--role", "superuser"],
        "long-enough-password",
        &aws,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("unknown role"),
        "{}",
        text(&out.stderr)
    );

    let out = run(kind, dir.path(), &["user", "remove", "ci-bot"], "", &aws);
    assert!(out.status.success(), "user remove: {}", text(&out.stderr));
    let out = run(kind, dir.path(), &["user", "remove", "ci-bot"], "", &aws);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no user named ci-bot"),
        "{}",
        text(&out.stderr)
    );
}

on_both_backends!(user_commands_manage_users);

#[tokio::test]
async fn server_logs_never_show_passwords() {
    let dir = tempfile::tempdir().expect("dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let admin_password = "admin-pw-never-logged";
    let mut child = binary()
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.path())
        .env("KRKN_TELEMETRY_ADMIN_PASSWORD", admin_password)
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("server starts");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let started = Instant::now();
    // The admin is set up just after the server starts listening: wait until it can log in.
    loop {
        let navigate = client
            .get(format!("{base}/navigate"))
            .basic_auth("admin", Some(admin_password))
            .send()
            .await;
        if navigate.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let wrong_password = "wrong-pw-never-logged";
    for password in [admin_password, wrong_password] {
        let _ = client
            .post(format!(
                "{base}/telemetry?request_id={RUN_ID}&telemetry_group=default"
            ))
            .basic_auth("admin", Some(password))
            .header("Content-Type", "application/json")
            .body(SEED)
            .send()
            .await
            .expect("answers");
    }
    let _ = child.kill();
    let out = child.wait_with_output().expect("server output");
    let logs = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        logs.contains("telemetry filed"),
        "the server logged its work: {logs}"
    );
    for secret in [admin_password, wrong_password] {
        assert!(
            !logs.contains(secret),
            "{secret} appears in the logs:\n{logs}"
        );
    }
}

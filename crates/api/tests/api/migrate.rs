//! `migrate` from the embedded store to S3 + DynamoDB (moto, and the IAM-enforced moto as the
//! function's principal) and back into a fresh embedded store: byte-identical objects,
//! identical `/api/v1/runs` answers, the same users, rules and audit records; a rerun copies
//! nothing twice; a target holding other bytes stops it, overwriting nothing.

use axum::http::StatusCode;
use krkn_telemetry_api::audit::Origin;
use krkn_telemetry_api::consistency::migrate::{MigrateError, migrate};
use serde_json::Value;

use crate::helpers::*;

const B: &str = "1745343501-61e27384-95a6-47b8-ec9d-aebfc0d1e2f3";
const C: &str = "1745343502-72f38495-a6b7-48c9-fdae-bfc0d1e2f304";
const ALERTS: &[u8] = b"2025-04-22T17:40:00Z critical KubeAPIDown\n";

/// The runs pages the admin gets for a few filters.
pub(crate) async fn answers(app: &TestApp) -> Vec<Value> {
    let mut pages = Vec::new();
    for query in [
        "",
        "?group=perf",
        "?limit=1",
        "?group=default&job_status=true",
    ] {
        let page = app.get("admin", &format!("/api/v1/runs{query}")).await;
        assert_eq!(page.status, StatusCode::OK, "{query}: {}", page.body);
        let page: Value = serde_json::from_str(&page.body).expect("JSON");
        pages.push(page["runs"].clone());
    }
    pages
}

/// An embedded store with three runs in two groups, an uploaded file, a rule and records.
pub(crate) async fn source() -> TestApp {
    let app = spawn(Kind::Local).await;
    for (group, id) in [("default", RUN_ID), ("perf", B), ("perf", C)] {
        app.file_seed(group, id).await;
    }
    app.backend
        .objects
        .put_if_absent(
            &format!("default/{RUN_ID}/critical-alerts-00.log"),
            ALERTS.to_vec(),
        )
        .await
        .expect("an uploaded file");
    let before = app
        .backend
        .retention
        .set_retention(Some("perf"), Some(30))
        .await
        .expect("a rule");
    let record = Origin::command_line().retention_changed(Some("perf"), before, Some(30));
    app.backend.audit.record(&record).await.expect("recorded");
    app
}

async fn a_store_moves_to_aws_and_back_byte_for_byte(middle: Kind) {
    let local = source().await;
    let aws = spawn(middle).await;
    let report = migrate(&local.backend, &aws.backend, &|_| {})
        .await
        .expect("local to aws");
    assert_eq!(
        (report.runs, report.objects_copied, report.objects_present),
        (3, 4, 0),
        "{report:?}"
    );
    assert_eq!(report.bytes_copied, {
        let objects = local.objects().await;
        objects.iter().map(|(_, b)| b.len() as u64).sum::<u64>()
    });
    let again = migrate(&local.backend, &aws.backend, &|_| {})
        .await
        .expect("a rerun");
    assert_eq!(
        (
            again.runs,
            again.objects_copied,
            again.objects_present,
            again.audit_records
        ),
        (3, 0, 4, 0),
        "a rerun copies nothing twice: {again:?}"
    );
    assert_eq!(aws.objects().await, local.objects().await);
    assert_eq!(answers(&aws).await, answers(&local).await);

    let back = spawn(Kind::Local).await;
    let report = migrate(&aws.backend, &back.backend, &|_| {})
        .await
        .expect("aws to local");
    assert_eq!((report.runs, report.objects_copied), (3, 4), "{report:?}");
    assert_eq!(back.objects().await, local.objects().await);
    assert_eq!(answers(&back).await, answers(&local).await);
    for (a, b) in [(&local, &back), (&local, &aws)] {
        assert_eq!(
            a.backend.users.list_users().await.expect("users"),
            b.backend.users.list_users().await.expect("users"),
            "the same users with the same hashes"
        );
        assert_eq!(
            a.backend.retention.retention_rules().await.expect("rules"),
            b.backend.retention.retention_rules().await.expect("rules")
        );
    }
    let audit = back.get("admin", "/api/v1/audit").await.body;
    assert!(audit.contains("retention_changed"), "{audit}");
}

#[tokio::test]
async fn a_store_moves_to_moto_and_back_byte_for_byte() {
    a_store_moves_to_aws_and_back_byte_for_byte(Kind::Moto).await;
}

#[tokio::test]
async fn a_store_moves_to_the_iam_enforced_moto_as_the_function_role_and_back() {
    a_store_moves_to_aws_and_back_byte_for_byte(Kind::MotoIam).await;
}

#[tokio::test]
async fn a_target_with_other_bytes_stops_the_move_and_keeps_them() {
    let local = source().await;
    let target = spawn(Kind::Local).await;
    let key = format!("perf/{B}/telemetry.json");
    target
        .backend
        .objects
        .put_if_absent(&key, b"{\"other\": true}".to_vec())
        .await
        .expect("other bytes");
    let error = migrate(&local.backend, &target.backend, &|_| {})
        .await
        .expect_err("a conflict");
    assert!(matches!(error, MigrateError::Conflict { .. }), "{error}");
    let text = error.to_string();
    assert!(
        text.contains(&key) && text.contains("nothing was overwritten"),
        "{text}"
    );
    assert_eq!(
        target.backend.objects.get(&key).await.expect("read"),
        Some(b"{\"other\": true}".to_vec())
    );
    assert_eq!(target.run_counts("perf", B).await, (0, 0));
}

#[tokio::test]
async fn the_command_moves_a_data_dir_to_aws() {
    let local = source().await;
    let aws = spawn(Kind::Moto).await;
    let data_dir = local.dir.path().to_str().expect("UTF-8 path").to_owned();
    let cli = |args: &[&str]| {
        let out = crate::cli::run(Kind::Moto, local.dir.path(), args, "", &aws.aws);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let migrate_args = [
        "migrate",
        "--from",
        "local",
        "--to",
        "aws",
        "--data-dir",
        &data_dir,
    ];
    let (code, stderr) = cli(&migrate_args);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("3 run(s) indexed, 4 object(s) copied"),
        "{stderr}"
    );
    let (code, stderr) = cli(&migrate_args);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("0 object(s) copied (0 bytes), 4 already there"),
        "{stderr}"
    );
    let (code, stderr) = cli(&["migrate", "--from", "aws", "--to", "aws"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("nothing to move"), "{stderr}");
    assert_eq!(answers(&aws).await, answers(&local).await);
    let audit = aws.get("admin", "/api/v1/audit").await.body;
    assert!(audit.contains("store_migrated"), "{audit}");
}

//! Retention on both backends, with a clock the test sets: admins set days per group and a
//! default through the API and the command line (admins of some groups only their groups'),
//! and a sweep at a later time deletes exactly the runs past their rule, index entries and
//! objects together, each in the audit log.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use krkn_telemetry_api::auth::new_user;
use krkn_telemetry_api::retention::sweep;
use krkn_telemetry_api::time::{rfc3339, unix_now};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::lambda_function::{Function, log_without_secrets};

const PERF_ID: &str = "1745343500-6a1f4e2b-0c7d-4e8f-9a1b-2c3d4e5f6a7b";
const DAY: i64 = 86_400;

async fn put(app: &TestApp, user: &str, body: &str) -> Reply {
    let request = Request::put("/api/v1/retention")
        .header("Authorization", basic(user, &password(user)))
        .header("Content-Type", "application/json")
        .body(Body::from(body.to_owned()))
        .expect("request");
    app.send(request).await
}

/// Files `default/RUN_ID` and `perf/PERF_ID` now.
async fn file_two_runs(app: &TestApp) {
    for (group, id) in [("default", RUN_ID), ("perf", PERF_ID)] {
        app.file_seed(group, id).await;
    }
}

/// The runs the admin lists, as `group/id`.
async fn listed(app: &TestApp) -> Vec<String> {
    let page = app.get("admin", "/api/v1/runs").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let page: Value = serde_json::from_str(&page.body).expect("JSON");
    let mut runs: Vec<String> = page["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["group"].as_str().unwrap_or(""),
                r["request_id"].as_str().unwrap_or("")
            )
        })
        .collect();
    runs.sort();
    runs
}

/// Changes the caller may not make, or that are not valid, are refused naming why.
async fn refusals_name_the_problem(app: &TestApp) {
    for (user, body, status, text) in [
        (
            "perf-admin",
            r#"{"days": 1}"#,
            StatusCode::FORBIDDEN,
            "admins of every group only",
        ),
        (
            "perf-admin",
            r#"{"group": "lab", "days": 1}"#,
            StatusCode::FORBIDDEN,
            "no access to group lab",
        ),
        (
            "reader",
            r#"{"group": "perf", "days": 1}"#,
            StatusCode::FORBIDDEN,
            "admins only",
        ),
        (
            "admin",
            r#"{"group": "perf", "days": 0}"#,
            StatusCode::BAD_REQUEST,
            "days must be from 1 to 36500",
        ),
        (
            "admin",
            r#"{"group": "perf", "days": 36501}"#,
            StatusCode::BAD_REQUEST,
            "found 36501",
        ),
        (
            "admin",
            r#"{"group": "../x", "days": 5}"#,
            StatusCode::BAD_REQUEST,
            "group",
        ),
        (
            "admin",
            r#"{"group": "perf", "dayz": 5}"#,
            StatusCode::BAD_REQUEST,
            "unknown field `dayz`",
        ),
        (
            "admin",
            "not json",
            StatusCode::BAD_REQUEST,
            "the body must be",
        ),
    ] {
        let refused = put(app, user, body).await;
        assert_eq!(refused.status, status, "{user} {body}: {}", refused.body);
        assert!(
            refused.body.contains(text),
            "{user} {body}: {}",
            refused.body
        );
    }
}

async fn admins_set_rules_and_only_their_groups_ones(kind: Kind) {
    let app = spawn(kind).await;
    let set = put(&app, "admin", r#"{"days": 30}"#).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    let set = put(&app, "admin", r#"{"group": "perf", "days": 7}"#).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    let set = put(&app, "admin", r#"{"group": "lab", "days": 90}"#).await;
    let rules: Value = serde_json::from_str(&set.body).expect("JSON");
    assert_eq!(
        rules,
        json!({"default_days": 30, "groups": [{"group": "lab", "days": 90}, {"group": "perf", "days": 7}]})
    );
    let perf_admin =
        new_user("perf-admin", "admin", "perf", &password("perf-admin")).expect("user");
    app.backend
        .users
        .put_user(&perf_admin)
        .await
        .expect("saved");
    let seen = app.get("perf-admin", "/api/v1/retention").await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
    let seen: Value = serde_json::from_str(&seen.body).expect("JSON");
    assert_eq!(
        seen,
        json!({"default_days": 30, "groups": [{"group": "perf", "days": 7}]})
    );
    refusals_name_the_problem(&app).await;
    // The perf admin may change perf's rule, and removing it falls back to the default.
    let removed = put(&app, "perf-admin", r#"{"group": "perf", "days": null}"#).await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    let rules = app
        .backend
        .retention
        .retention_rules()
        .await
        .expect("rules");
    assert_eq!(rules.len(), 2, "{rules:?}");
    let audit = app.get("admin", "/api/v1/audit").await;
    let audit: Value = serde_json::from_str(&audit.body).expect("JSON");
    let changes: Vec<(Value, Value, Value, Value)> = audit["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| {
            (
                r["actor"].clone(),
                r["target"].clone(),
                r["details"]["before"].clone(),
                r["details"]["days"].clone(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            (json!("perf-admin"), json!("perf"), json!(7), Value::Null),
            (json!("admin"), json!("lab"), Value::Null, json!(90)),
            (json!("admin"), json!("perf"), Value::Null, json!(7)),
            (json!("admin"), json!("default"), Value::Null, json!(30)),
        ],
        "refused changes leave no record"
    );
}

async fn a_sweep_deletes_exactly_the_runs_past_their_rule(kind: Kind) {
    let app = spawn(kind).await;
    file_two_runs(&app).await;
    let now = unix_now();
    // Without a rule nothing ever expires.
    assert_eq!(
        sweep(&app.backend, now + 10_000 * DAY)
            .await
            .expect("sweep")
            .runs,
        0
    );
    app.backend
        .retention
        .set_retention(None, Some(30))
        .await
        .expect("default");
    app.backend
        .retention
        .set_retention(Some("perf"), Some(7))
        .await
        .expect("perf");
    let both = vec![format!("default/{RUN_ID}"), format!("perf/{PERF_ID}")];
    assert_eq!(
        sweep(&app.backend, now + 6 * DAY)
            .await
            .expect("sweep")
            .runs,
        0
    );
    assert_eq!(listed(&app).await, both);

    let report = sweep(&app.backend, now + 8 * DAY).await.expect("sweep");
    assert_eq!((report.runs, report.objects), (1, 1), "perf's run only");
    assert_eq!(listed(&app).await, vec![format!("default/{RUN_ID}")]);
    assert_eq!(app.run_counts("perf", PERF_ID).await, (0, 0));
    assert!(
        app.objects()
            .await
            .iter()
            .all(|(k, _)| !k.starts_with("perf/"))
    );

    // The default applies to groups without a rule, perf's shorter rule does not touch it.
    assert_eq!(
        sweep(&app.backend, now + 29 * DAY)
            .await
            .expect("sweep")
            .runs,
        0
    );
    let report = sweep(&app.backend, now + 31 * DAY).await.expect("sweep");
    assert_eq!(report.runs, 1);
    assert!(listed(&app).await.is_empty());
    assert!(
        app.objects().await.is_empty(),
        "index and objects go together"
    );
    assert_eq!(
        sweep(&app.backend, now + 31 * DAY)
            .await
            .expect("sweep again")
            .runs,
        0
    );

    let audit = app.get("admin", "/api/v1/audit").await;
    let audit: Value = serde_json::from_str(&audit.body).expect("JSON");
    let expired: Vec<(String, String, String)> = audit["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| {
            let text = |k: &str| r[k].as_str().unwrap_or("").to_owned();
            (text("action"), text("actor"), text("target"))
        })
        .collect();
    assert_eq!(
        expired,
        [
            (
                "run_expired".to_owned(),
                "retention default: 30 days".to_owned(),
                format!("default/{RUN_ID}")
            ),
            (
                "run_expired".to_owned(),
                "retention perf: 7 days".to_owned(),
                format!("perf/{PERF_ID}")
            ),
        ]
    );
}

async fn the_retention_commands_set_list_and_sweep(kind: Kind) {
    let app = spawn(kind).await;
    file_two_runs(&app).await;
    let cli = |args: &[&str]| {
        let out = crate::cli::run(kind, app.dir.path(), args, "", &app.aws);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, _, stderr) = cli(&["retention", "set", "30"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("retention of the default set to 30 days"),
        "{stderr}"
    );
    let (code, _, stderr) = cli(&["retention", "set", "--group", "perf", "7"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stdout, _) = cli(&["retention", "list"]);
    assert_eq!((code, stdout.as_str()), (Some(0), "default\t30\nperf\t7\n"));
    let (code, _, stderr) = cli(&["retention", "set", "--group", "perf", "0"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("days must be from 1 to 36500"), "{stderr}");
    let later = krkn_telemetry_api::time::rfc3339(unix_now() + 8 * DAY);
    let (code, _, stderr) = cli(&["retention", "sweep", "--now", &later]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("retention sweep: 1 run(s) deleted (1 object(s))"),
        "{stderr}"
    );
    assert_eq!(listed(&app).await, vec![format!("default/{RUN_ID}")]);
    let (code, _, stderr) = cli(&["retention", "unset"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (_, stdout, _) = cli(&["retention", "list"]);
    assert_eq!(stdout, "perf\t7\n");
}

on_both_backends!(
    admins_set_rules_and_only_their_groups_ones,
    a_sweep_deletes_exactly_the_runs_past_their_rule,
    the_retention_commands_set_list_and_sweep,
);

/// An EventBridge scheduled event due at `at` (unix seconds), as the schedule sends it.
fn scheduled_event(at: i64) -> Value {
    json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": rfc3339(at),
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/krkn-telemetry-sweep"],
        "detail": {}
    })
}

/// On AWS the sweep is the Lambda binary under the Runtime API, started by a schedule, as
/// the function's IAM principal: it judges expiry at the event's time, deletes the expired
/// run's index items and objects, records it, and names a bad event.
#[tokio::test]
async fn the_scheduled_function_sweeps_as_the_function_role() {
    let app = spawn(Kind::MotoIam).await;
    file_two_runs(&app).await;
    app.backend
        .retention
        .set_retention(Some("perf"), Some(7))
        .await
        .expect("perf's rule");
    let function = Function::start_sweep(app.aws.as_ref().expect("moto settings"));
    let now = unix_now();
    let (early, _) = function.invoke(&scheduled_event(now + 6 * DAY)).await;
    assert_eq!(early["runs_deleted"], json!(0), "{early}");
    let (due, _) = function.invoke(&scheduled_event(now + 8 * DAY)).await;
    assert_eq!(due["runs_deleted"], json!(1), "{due}");
    assert!(
        due["objects_deleted"].as_u64().is_some_and(|n| n >= 1),
        "{due}"
    );
    assert_eq!(due["as_of"], json!(rfc3339(now + 8 * DAY)), "{due}");
    assert_eq!(listed(&app).await, [format!("default/{RUN_ID}")]);
    assert_eq!(app.run_counts("perf", PERF_ID).await, (0, 0));
    assert!(
        app.objects()
            .await
            .iter()
            .all(|(k, _)| !k.starts_with("perf/")),
        "the expired run's objects are gone"
    );
    let audit = app.get("admin", "/api/v1/audit").await;
    assert!(
        audit.body.contains("run_expired") && audit.body.contains("retention sweep"),
        "{}",
        audit.body
    );
    let (bad, _) = function.invoke(&json!({"time": "yesterday"})).await;
    assert!(
        bad.to_string()
            .contains(r#"\"yesterday\" is not an RFC 3339 time"#),
        "{bad}"
    );
    let log = log_without_secrets(&function);
    assert!(log.contains("retention sweep done"), "{log}");
}

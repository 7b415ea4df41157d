//! The audit log on both backends: user additions, changes and removals at the command line,
//! run deletes through the API and at the command line, and the admin set at start-up are
//! recorded with who, how, from where and when; admins read them newest first a page at a
//! time (an admin of some groups only those groups' records); no record holds a password or
//! a hash; an action whose record cannot be written stands, and says so.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use krkn_telemetry_api::auth::{AdminBootstrap, ensure_admin, new_user};
use krkn_telemetry_api::server::ClientAddr;
use serde_json::Value;

use crate::helpers::*;

const PERF_ID: &str = "1745343500-6a1f4e2b-0c7d-4e8f-9a1b-2c3d4e5f6a7b";
const NEW_PASSWORD: &str = "operator-first-password";
const CHANGED_PASSWORD: &str = "operator-second-password";

/// `DELETE` of a run by `user`, as from `client`.
async fn delete_from(app: &TestApp, user: &str, run: &str, client: [u8; 4]) -> Reply {
    let mut request = Request::delete(format!("/api/v1/runs/{run}"))
        .header("Authorization", basic(user, &password(user)))
        .body(Body::empty())
        .expect("request");
    request
        .extensions_mut()
        .insert(ClientAddr(std::net::IpAddr::from(client)));
    app.send(request).await
}

/// Every record `user` reads, following the cursors with pages of `limit`; also how many
/// pages that took.
async fn read_all(app: &TestApp, user: &str, limit: usize) -> (Vec<Value>, usize) {
    let mut records = Vec::new();
    let mut pages = 0;
    let mut cursor = String::new();
    loop {
        let path = if cursor.is_empty() {
            format!("/api/v1/audit?limit={limit}")
        } else {
            format!("/api/v1/audit?limit={limit}&cursor={cursor}")
        };
        let page = app.get(user, &path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let page: Value = serde_json::from_str(&page.body).expect("JSON");
        pages += 1;
        let batch = page["records"].as_array().expect("records");
        assert!(batch.len() <= limit, "a page holds at most limit records");
        records.extend(batch.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => return (records, pages),
        }
        assert!(pages < 100, "the cursors never end");
    }
}

/// The bytes the store keeps for the audit log: its table's rows, or its items.
async fn stored_audit_bytes(app: &TestApp) -> String {
    match &app.aws {
        None => {
            let db = rusqlite::Connection::open(app.dir.path().join("index.sqlite")).expect("db");
            let mut statement = db
                .prepare("SELECT at, actor, via, source, action, target, grp, details FROM audit")
                .expect("the audit table");
            let rows = statement
                .query_map([], |r| {
                    let mut text = String::new();
                    for i in 0..8 {
                        text.push_str(&r.get::<_, Option<String>>(i)?.unwrap_or_default());
                        text.push('\t');
                    }
                    Ok(text)
                })
                .expect("rows");
            rows.map(|r| r.expect("row")).collect::<Vec<_>>().join("\n")
        }
        Some(settings) => {
            let table = crate::helpers::table_client(settings).await;
            let items = table
                .query()
                .table_name(&settings.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(
                    ":pk",
                    aws_sdk_dynamodb::types::AttributeValue::S("AUDIT".into()),
                )
                .send()
                .await
                .expect("query");
            format!("{:?}", items.items())
        }
    }
}

/// Runs `args` of `krkn-telemetry-api` on the app's store; it must succeed.
fn cli(app: &TestApp, kind: Kind, args: &[&str], stdin: &str) -> std::process::Output {
    let out = crate::cli::run(kind, app.dir.path(), args, stdin, &app.aws);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{args:?}: {stderr}");
    out
}

/// Adds and changes a user at the command line, deletes a perf run through the API (and is
/// refused another as a reader), deletes a default run at the command line and removes the
/// user; returns the user's last password hash.
async fn do_admin_actions(app: &TestApp, kind: Kind) -> String {
    cli(
        app,
        kind,
        &[
            "user", "add", "operator", "--role", "reader", "--groups", "default",
        ],
        NEW_PASSWORD,
    );
    cli(
        app,
        kind,
        &[
            "user", "add", "operator", "--role", "admin", "--groups", "perf",
        ],
        CHANGED_PASSWORD,
    );
    let hash = app
        .backend
        .users
        .get_user("operator")
        .await
        .expect("read")
        .expect("saved")
        .password_hash;
    let filed = app
        .post_telemetry(
            "perf-uploader",
            &format!("request_id={PERF_ID}&telemetry_group=perf"),
            SEED,
        )
        .await;
    assert_eq!(filed.status, StatusCode::OK, "{}", filed.body);
    let filed = app
        .post_telemetry(
            "uploader",
            &format!("request_id={RUN_ID}&telemetry_group=default"),
            SEED,
        )
        .await;
    assert_eq!(filed.status, StatusCode::OK, "{}", filed.body);
    let deleted = delete_from(app, "admin", &format!("perf/{PERF_ID}"), [203, 0, 113, 7]).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    // A refused delete is no admin action: it leaves no record.
    let refused = delete_from(
        app,
        "reader",
        &format!("default/{RUN_ID}"),
        [203, 0, 113, 8],
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    cli(
        app,
        kind,
        &["run", "delete", &format!("default/{RUN_ID}")],
        "",
    );
    cli(app, kind, &["user", "remove", "operator"], "");

    hash
}

/// Reads the records (in pages of 2, then in one) and checks what each says.
async fn the_records_say_who_what_when_and_where(app: &TestApp) -> Vec<Value> {
    let (records, pages) = read_all(app, "admin", 2).await;
    assert_eq!(pages, 3, "5 records in pages of 2");
    let actions: Vec<&str> = records
        .iter()
        .map(|r| r["action"].as_str().expect("action"))
        .collect();
    assert_eq!(
        actions,
        [
            "user_removed",
            "run_deleted",
            "run_deleted",
            "user_changed",
            "user_added"
        ],
        "newest first: {records:#?}"
    );
    let host = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    let [removed, cli_delete, api_delete, changed, added] = &records[..] else {
        unreachable!()
    };
    assert_eq!(api_delete["actor"], "admin");
    assert_eq!(api_delete["via"], "api");
    assert_eq!(api_delete["source"], "203.0.113.7");
    assert_eq!(api_delete["target"], format!("perf/{PERF_ID}"));
    assert_eq!(api_delete["group"], "perf");
    assert_eq!(api_delete["details"]["objects_removed"], 1);
    assert_eq!(api_delete["details"]["index_entries_removed"], true);
    assert_eq!(cli_delete["via"], "command line");
    assert_eq!(cli_delete["source"], host.as_str());
    assert_eq!(cli_delete["target"], format!("default/{RUN_ID}"));
    assert!(
        !cli_delete["actor"].as_str().expect("actor").is_empty(),
        "the account that ran the command"
    );
    assert_eq!(added["target"], "operator");
    assert_eq!(added["group"], Value::Null, "user records have no group");
    assert_eq!(added["details"]["role"], "reader");
    assert_eq!(added["details"]["groups"], "default");
    assert_eq!(changed["details"]["role"], "admin");
    assert_eq!(changed["details"]["before"]["role"], "reader");
    assert_eq!(changed["details"]["password_changed"], true);
    assert_eq!(removed["details"]["groups"], "perf");
    let times: Vec<&str> = records
        .iter()
        .map(|r| r["at"].as_str().expect("at"))
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    for at in &times {
        assert!(
            chrono::DateTime::parse_from_rfc3339(at).is_ok() && at.len() == 24,
            "RFC 3339 with milliseconds: {at}"
        );
    }
    // One page of everything reads the same records.
    assert_eq!(read_all(app, "admin", 1000).await, (records.clone(), 1));

    records
}

async fn admin_actions_are_recorded_with_who_what_when_and_where(kind: Kind) {
    let app = spawn(kind).await;
    let hash = do_admin_actions(&app, kind).await;
    let records = the_records_say_who_what_when_and_where(&app).await;
    // No record holds a password or a hash.
    let stored = stored_audit_bytes(&app).await;
    assert!(
        stored.contains("operator"),
        "the records are read: {stored}"
    );
    for secret in [NEW_PASSWORD, CHANGED_PASSWORD, &hash, "$argon2"] {
        assert!(!stored.contains(secret), "{secret:?} is in the audit log");
    }

    // Only admins read it; an admin of some groups reads those groups' records only.
    for user in ["reader", "uploader"] {
        let refused = app.get(user, "/api/v1/audit").await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    }
    let perf_admin =
        new_user("perf-admin", "admin", "perf", &password("perf-admin")).expect("user");
    app.backend
        .users
        .put_user(&perf_admin)
        .await
        .expect("saved");
    let (seen, _) = read_all(&app, "perf-admin", 1).await;
    assert_eq!(seen, vec![records[2].clone()], "perf's record only");
    let bad = app.get("admin", "/api/v1/audit?cursor=xyz").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("cursor is not one"), "{}", bad.body);

    // The command line reads it too, newest first.
    let out = cli(&app, kind, &["audit", "--limit", "2"], "");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].contains("\tuser_removed\toperator\t"), "{stdout}");
    assert!(lines[1].contains("\trun_deleted\tdefault/"), "{stdout}");
    let out = cli(&app, kind, &["audit", "--json"], "");
    let parsed: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(parsed, records);
}

async fn the_admin_set_at_start_up_is_recorded_once_per_change(kind: Kind) {
    let app = spawn(kind).await;
    let (users, audit) = (app.backend.users.as_ref(), app.backend.audit.as_ref());
    // The test app's admin has `admin-password`: the same password changes nothing.
    let same = password("admin");
    assert_eq!(
        ensure_admin(users, audit, Some(&same), false)
            .await
            .expect("bootstrap"),
        AdminBootstrap::Unchanged
    );
    assert!(read_all(&app, "admin", 10).await.0.is_empty());
    let next = "admin-second-password";
    assert_eq!(
        ensure_admin(users, audit, Some(next), false)
            .await
            .expect("bootstrap"),
        AdminBootstrap::SetFromEnvironment
    );
    let changed = app
        .send(
            Request::get("/api/v1/audit")
                .header("Authorization", basic("admin", next))
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    let changed: Value = serde_json::from_str(&changed.body).expect("JSON");
    let records = changed["records"].as_array().expect("records");
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["action"], "user_changed");
    assert_eq!(records[0]["actor"], "KRKN_TELEMETRY_ADMIN_PASSWORD");
    assert_eq!(records[0]["via"], "start-up");
    assert_eq!(records[0]["details"]["password_changed"], true);
    assert!(!stored_audit_bytes(&app).await.contains(next));
}

on_both_backends!(
    admin_actions_are_recorded_with_who_what_when_and_where,
    the_admin_set_at_start_up_is_recorded_once_per_change,
);

/// When the record cannot be written the run is deleted all the same, and the answer says
/// both: that the delete stands and that the log lacks it.
#[tokio::test]
async fn a_delete_whose_record_fails_stands_and_says_so() {
    let app = spawn(Kind::Local).await;
    let filed = app
        .post_telemetry(
            "uploader",
            &format!("request_id={RUN_ID}&telemetry_group=default"),
            SEED,
        )
        .await;
    assert_eq!(filed.status, StatusCode::OK, "{}", filed.body);
    let db = rusqlite::Connection::open(app.dir.path().join("index.sqlite")).expect("db");
    db.execute_batch("DROP TABLE audit")
        .expect("the audit log is gone");
    let deleted = delete_from(&app, "admin", &format!("default/{RUN_ID}"), [127, 0, 0, 1]).await;
    assert_eq!(deleted.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        deleted.body.starts_with(&format!(
            "run default/{RUN_ID} deleted (that stands), but the audit log could not record it: the index database failed"
        )),
        "{}",
        deleted.body
    );
    assert_eq!(app.run_counts("default", RUN_ID).await, (0, 0));
    assert!(app.objects().await.is_empty(), "the run is gone");
}

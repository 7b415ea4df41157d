//! `fsck` and `reindex` on both backends: an index damaged the ways a year of operation
//! damages it (a document removed behind the index's back, an entry lost, rows of an older
//! release, a delete cut short after the run's entry, on DynamoDB a run item from before the
//! `gsi2` keys, files uploaded for a filing that never came, a document that does not parse)
//! is reported run by run, repaired where that loses nothing, and rebuilt from the documents.

use aws_sdk_dynamodb::types::AttributeValue;
use axum::http::StatusCode;
use krkn_telemetry_api::consistency::Step;
use krkn_telemetry_api::consistency::fsck::{FsckReport, Problem, fsck};
use krkn_telemetry_api::consistency::reindex::reindex;
use serde_json::Value;

use crate::helpers::*;

const B: &str = "1745343401-0b8c1d2e-3f40-4152-8637-48596a7b8c9d";
const C: &str = "1745343402-1c9d2e3f-4051-4263-9748-596a7b8c9dae";
const D: &str = "1745343403-2dae3f40-5162-4374-a859-6a7b8c9daebf";
const E: &str = "1745343404-3ebf4051-6273-4485-b96a-7b8c9daebfc0";
const F: &str = "1745343405-4fc05162-7384-4596-ca7b-8c9daebfc0d1";
const G: &str = "1745343406-50d16273-8495-46a7-db8c-9daebfc0d1e2";

/// The runs page of `query` as the admin sees it (JSON).
async fn runs_page(app: &TestApp, query: &str) -> Value {
    let page = app.get("admin", &format!("/api/v1/runs{query}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    serde_json::from_str(&page.body).expect("JSON")
}

/// The ids a runs page lists.
fn ids(page: &Value) -> Vec<String> {
    let mut ids: Vec<String> = page["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| r["request_id"].as_str().unwrap_or("").to_owned())
        .collect();
    ids.sort();
    ids
}

/// Makes the export rows of `group/id` those of an older release.
async fn age_export_rows(app: &TestApp, group: &str, id: &str) {
    match &app.aws {
        None => {
            let db = rusqlite::Connection::open(app.dir.path().join("index.sqlite")).expect("db");
            let changed = db
                .execute(
                    "UPDATE scenarios SET export_version = export_version - 1
                     WHERE grp = ?1 AND request_id = ?2",
                    [group, id],
                )
                .expect("update");
            assert!(changed > 0);
        }
        Some(settings) => {
            let table = table_client(settings).await;
            let (_, scenarios) = app.run_counts(group, id).await;
            for index in 0..scenarios {
                table
                    .update_item()
                    .table_name(&settings.table)
                    .key("pk", AttributeValue::S(format!("GROUP#{group}")))
                    .key(
                        "sk",
                        AttributeValue::S(format!("RUN#{id}#SCENARIO#{index:04}")),
                    )
                    .update_expression("SET export_version = :old")
                    .expression_attribute_values(":old", AttributeValue::N("0".into()))
                    .send()
                    .await
                    .expect("update");
            }
        }
    }
}

/// Removes only the run's own entry of `group/id`, as a delete cut short after it does.
async fn drop_run_entry(app: &TestApp, group: &str, id: &str) {
    match &app.aws {
        None => {
            let db = rusqlite::Connection::open(app.dir.path().join("index.sqlite")).expect("db");
            let changed = db
                .execute(
                    "DELETE FROM runs WHERE grp = ?1 AND request_id = ?2",
                    [group, id],
                )
                .expect("delete");
            assert_eq!(changed, 1);
        }
        Some(settings) => {
            table_client(settings)
                .await
                .delete_item()
                .table_name(&settings.table)
                .key("pk", AttributeValue::S(format!("GROUP#{group}")))
                .key("sk", AttributeValue::S(format!("RUN#{id}")))
                .send()
                .await
                .expect("delete");
        }
    }
}

/// Makes the run item of `group/id` one from before the `gsi2` keys (DynamoDB only).
async fn strip_gsi2(settings: &krkn_telemetry_api::store::aws::AwsSettings, group: &str, id: &str) {
    table_client(settings)
        .await
        .update_item()
        .table_name(&settings.table)
        .key("pk", AttributeValue::S(format!("GROUP#{group}")))
        .key("sk", AttributeValue::S(format!("RUN#{id}")))
        .update_expression("REMOVE gsi2pk, gsi2sk")
        .send()
        .await
        .expect("update");
}

/// The findings of `report` as (problem, group/id, repaired), sorted.
fn findings(report: &FsckReport) -> Vec<(Problem, String, bool)> {
    let mut found: Vec<(Problem, String, bool)> = report
        .findings
        .iter()
        .map(|f| {
            (
                f.problem,
                format!("{}/{}", f.group, f.request_id),
                f.repaired,
            )
        })
        .collect();
    found.sort_by(|a, b| {
        a.1.cmp(&b.1)
            .then(format!("{:?}", a.0).cmp(&format!("{:?}", b.0)))
    });
    found
}

/// Damages the index of a store holding runs RUN_ID, B (default), C, D (perf) and, on
/// DynamoDB, E (default), the ways `fsck` must find; what each should be reported as.
async fn damage(app: &TestApp) -> Vec<(Problem, String, bool)> {
    if app.aws.is_none() {
        // As once the background sync has run: the index's log of recent documents forgets
        // them (else opening the store again, as the commands do, writes back a document
        // removed within the last moments, which is what that log is for).
        let db = rusqlite::Connection::open(app.dir.path().join("index.sqlite")).expect("db");
        db.execute("DELETE FROM pending_documents", [])
            .expect("forget");
    }
    let objects = &app.backend.objects;
    objects
        .remove_folder(&format!("default/{RUN_ID}/"))
        .await
        .expect("document removed behind the index's back");
    app.backend
        .index
        .remove_run("default", B)
        .await
        .expect("entry lost");
    age_export_rows(app, "perf", C).await;
    drop_run_entry(app, "perf", D).await;
    objects
        .remove_folder(&format!("perf/{D}/"))
        .await
        .expect("the cut short delete's objects");
    objects
        .put_if_absent(&format!("lab/{F}/prometheus-00.tar"), b"part".to_vec())
        .await
        .expect("an upload without a filing");
    objects
        .put_if_absent(&format!("lab/{G}/telemetry.json"), b"{not json".to_vec())
        .await
        .expect("an unreadable document");
    let mut expected = vec![
        (
            Problem::EntryWithoutDocument,
            format!("default/{RUN_ID}"),
            false,
        ),
        (Problem::DocumentWithoutEntry, format!("default/{B}"), false),
        (Problem::FilesWithoutDocument, format!("lab/{F}"), false),
        (Problem::DocumentWithoutEntry, format!("lab/{G}"), false),
        (Problem::OutdatedEntries, format!("perf/{C}"), false),
        (Problem::ScenariosWithoutRun, format!("perf/{D}"), false),
    ];
    if let Some(settings) = &app.aws {
        strip_gsi2(settings, "default", E).await;
        expected.push((Problem::OutdatedEntries, format!("default/{E}"), false));
    }
    expected.sort_by(|a, b| {
        a.1.cmp(&b.1)
            .then(format!("{:?}", a.0).cmp(&format!("{:?}", b.0)))
    });
    expected
}

/// Files the runs `damage` expects.
async fn file_runs(app: &TestApp) {
    for (group, id) in [
        ("default", RUN_ID),
        ("default", B),
        ("perf", C),
        ("perf", D),
    ] {
        app.file_seed(group, id).await;
    }
    if app.aws.is_some() {
        app.file_seed("default", E).await;
    }
}

async fn fsck_reports_each_disagreement_and_repairs_what_is_safe(kind: Kind) {
    let app = spawn(kind).await;
    file_runs(&app).await;
    let clean = fsck(&app.backend, false, &|_| {}).await.expect("fsck");
    assert!(clean.findings.is_empty(), "{:?}", clean.findings);
    assert_eq!(clean.runs, if app.aws.is_some() { 5 } else { 4 });

    let expected = damage(&app).await;
    let found = fsck(&app.backend, false, &|_| {}).await.expect("fsck");
    assert_eq!(findings(&found), expected, "{:#?}", found.findings);
    let (_, scenarios) = app.run_counts("perf", D).await;
    assert!(scenarios > 0, "a check alone changes nothing");

    let steps = std::sync::Mutex::new((0usize, 0usize));
    let repaired = fsck(&app.backend, true, &|step| {
        let mut steps = steps.lock().expect("lock");
        match step {
            Step::Found(n) => steps.0 += n,
            Step::Done(_) => steps.1 += 1,
        }
    })
    .await
    .expect("fsck --repair");
    let (found_steps, done_steps) = *steps.lock().expect("lock");
    assert_eq!((found_steps, done_steps), (repaired.runs, repaired.runs));
    let safe = |(problem, run, _): &(Problem, String, bool)| {
        let fixed = !matches!(problem, Problem::FilesWithoutDocument) && !run.ends_with(G);
        let problem = if run.ends_with(G) {
            Problem::DocumentUnreadable
        } else {
            *problem
        };
        (problem, run.clone(), fixed)
    };
    let mut after_repair: Vec<_> = expected.iter().map(safe).collect();
    after_repair.sort_by(|a, b| {
        a.1.cmp(&b.1)
            .then(format!("{:?}", a.0).cmp(&format!("{:?}", b.0)))
    });
    assert_eq!(
        findings(&repaired),
        after_repair,
        "{:#?}",
        repaired.findings
    );

    // What is left is what a person must decide about.
    let left = fsck(&app.backend, false, &|_| {}).await.expect("fsck");
    assert_eq!(
        findings(&left),
        [
            (Problem::FilesWithoutDocument, format!("lab/{F}"), false),
            (Problem::DocumentWithoutEntry, format!("lab/{G}"), false),
        ]
    );
    assert_eq!(app.run_counts("default", RUN_ID).await, (0, 0));
    assert_eq!(app.run_counts("perf", D).await, (0, 0));
    let (runs, scenarios) = app.run_counts("default", B).await;
    assert_eq!(runs, 1);
    assert!(scenarios > 0);
    let mut default_ids = vec![B.to_owned()];
    if app.aws.is_some() {
        default_ids.push(E.to_owned());
    }
    default_ids.sort();
    assert_eq!(ids(&runs_page(&app, "?group=default").await), default_ids);
    assert_eq!(ids(&runs_page(&app, "?group=perf").await), [C]);
}

async fn reindex_rebuilds_the_index_from_the_documents(kind: Kind) {
    let app = spawn(kind).await;
    file_runs(&app).await;
    let before = runs_page(&app, "").await;
    let export_before = app.get("admin", "/api/v1/scenarios").await.body;
    damage(&app).await;
    let report = reindex(&app.backend, &|_| {}).await.expect("reindex");
    let kept = if app.aws.is_some() { 3 } else { 2 };
    assert_eq!((report.runs, report.removed), (kept, 2), "{report:?}");
    assert_eq!(report.unreadable.len(), 1, "{report:?}");
    assert!(
        report.unreadable[0].1.contains("does not parse"),
        "{report:?}"
    );
    let after = runs_page(&app, "").await;
    let gone = [RUN_ID, D];
    let mut expected: Vec<Value> = before["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .filter(|r| !gone.contains(&r["request_id"].as_str().unwrap_or("")))
        .cloned()
        .collect();
    let mut rebuilt: Vec<Value> = after["runs"].as_array().expect("runs").clone();
    // B's entry was lost: its filing time is now its document's, within the second it was
    // filed in or the next.
    for list in [&mut expected, &mut rebuilt] {
        for run in list.iter_mut() {
            if run["request_id"] == B {
                run["filed_at"] = Value::Null;
            }
        }
        list.sort_by_key(|r| r["request_id"].as_str().unwrap_or("").to_owned());
    }
    assert_eq!(rebuilt, expected);
    let export_after = app.get("admin", "/api/v1/scenarios").await.body;
    let rows = |text: &str| {
        text.lines()
            .filter(|l| !l.contains(RUN_ID) && !l.contains(D))
            .count()
    };
    assert_eq!(rows(&export_after), rows(&export_before));
    let (runs, scenarios) = app.run_counts("perf", C).await;
    assert_eq!(runs, 1);
    let left = fsck(&app.backend, false, &|_| {}).await.expect("fsck");
    assert_eq!(left.findings.len(), 2, "{:#?}", left.findings);
    assert!(scenarios > 0);
}

async fn the_commands_report_repair_and_record(kind: Kind) {
    let app = spawn(kind).await;
    file_runs(&app).await;
    damage(&app).await;
    let cli = |args: &[&str]| {
        let out = crate::cli::run(kind, app.dir.path(), args, "", &app.aws);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = cli(&["fsck"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stdout.contains(&format!(
            "index entry without a document: default/{RUN_ID} ("
        )),
        "{stdout}"
    );
    assert!(stderr.contains("--repair fixes what is safe"), "{stderr}");
    let (code, stdout, stderr) = cli(&["fsck", "--repair", "--json"]);
    assert_eq!(code, Some(1), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert!(
        report["findings"].as_array().is_some_and(|f| f.len() >= 6),
        "{report}"
    );
    assert!(stderr.contains("2 left"), "{stderr}");
    let (code, _, stderr) = cli(&["reindex"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("1 unreadable"), "{stderr}");
    assert!(
        stderr.contains("1 document(s) could not be indexed"),
        "{stderr}"
    );
    let audit = app.get("admin", "/api/v1/audit").await.body;
    assert!(
        audit.contains("index_repaired") && audit.contains("index_rebuilt"),
        "{audit}"
    );
}

on_both_backends!(
    fsck_reports_each_disagreement_and_repairs_what_is_safe,
    reindex_rebuilds_the_index_from_the_documents,
    the_commands_report_repair_and_record,
);

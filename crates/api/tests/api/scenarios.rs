//! `GET /api/v1/scenarios` on both backends: one row per scenario joined with its run, the
//! run filters, CSV against NDJSON, continuing by cursor under a byte budget, rows of runs
//! filed before rows were stored, and who may export what.

use std::collections::{BTreeMap, BTreeSet};

use axum::http::StatusCode;
use krkn_telemetry_api::ApiConfig;
use krkn_telemetry_api::auth::new_user;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::runs::{SPECS, document, file_all, request_id};

/// Scenarios the eight runs of `runs::SPECS` hold, plus the two of the lab run.
const SCENARIOS: usize = 10 + 2;
const LAB_RUN: &str = "1764100000-11111111-2222-4333-8444-555555555555-lab";

/// A run with recovered and unrecovered pods, a VMI and its own parameters (two scenarios).
fn lab_document() -> Vec<u8> {
    let mut doc: Value = serde_json::from_slice(&document(0, &SPECS[0])).expect("JSON");
    let mut scenario = doc["scenarios"][0].clone();
    scenario["scenario_type"] = json!("pod_disruption_scenarios");
    scenario["start_timestamp"] = json!(1_764_100_000);
    scenario["end_timestamp"] = json!(1_764_100_090.5);
    scenario["exit_status"] = json!(1);
    scenario["parameters"] =
        json!([{"config": {"namespace_pattern": "^openshift-etcd$", "kill": 2}}]);
    scenario["affected_pods"] = json!({
        "recovered": [
            {"pod_name": "etcd-0", "namespace": "openshift-etcd", "total_recovery_time": 10.0,
             "pod_readiness_time": 7.5, "pod_rescheduling_time": 2.5},
            {"pod_name": "etcd-1", "namespace": "openshift-etcd", "total_recovery_time": 20.0,
             "pod_readiness_time": 15.0, "pod_rescheduling_time": 5.0}],
        "unrecovered": [{"pod_name": "etcd-2", "namespace": "openshift-etcd"}]});
    scenario["affected_vmis"] = json!({
        "recovered": [{"vmi_name": "vm-a", "namespace": "vms", "total_recovery_time": 42.0}],
        "unrecovered": []});
    let mut second = doc["scenarios"][0].clone();
    second["scenario_type"] = json!("node_scenarios");
    doc["scenarios"] = json!([scenario, second]);
    doc["run_uuid"] = json!("11111111-2222-4333-8444-555555555555");
    doc["node_summary_infos"] = json!([
        {"count": 3, "nodes_type": "master"}, {"count": 5, "nodes_type": "worker"},
        {"count": 2, "nodes_type": "infra"}, {"count": 1, "nodes_type": "unknown"}]);
    doc["total_node_count"] = json!(11);
    doc["alerts"] = json!([
        {"name": "etcdMembersDown", "severity": "critical", "phase": "post", "status": false},
        {"name": "KubeAPIErrors", "severity": "critical", "phase": "during", "status": false},
        {"name": "PodCrashLooping", "severity": "warning", "phase": "post", "status": false}]);
    serde_json::to_vec(&doc).expect("JSON")
}

async fn file_lab(app: &TestApp) {
    let reply = app
        .post_telemetry(
            "uploader",
            &format!("request_id={LAB_RUN}&telemetry_group=lab"),
            &lab_document(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

/// The rows of an NDJSON export, each with its keys in the order they were written.
fn ndjson_rows(body: &str) -> Vec<Vec<(String, Value)>> {
    body.lines()
        .map(|line| {
            // serde_json's Map sorts keys; read the order from the text instead.
            let mut keys = Vec::new();
            let mut stream =
                serde_json::Deserializer::from_str(line).into_iter::<BTreeMap<String, Value>>();
            let map = stream.next().expect("a row").expect("row is JSON");
            let mut rest = line;
            while let Some(at) = rest.find("\":") {
                let start = rest[..at].rfind(['{', ',']).expect("key start") + 2;
                let key = &rest[start..at];
                if map.contains_key(key) && !keys.contains(&key.to_owned()) {
                    keys.push(key.to_owned());
                }
                rest = &rest[at + 2..];
            }
            keys.into_iter()
                .map(|k| {
                    let v = map[&k].clone();
                    (k, v)
                })
                .collect()
        })
        .collect()
}

fn as_map(row: &[(String, Value)]) -> BTreeMap<String, Value> {
    row.iter().cloned().collect()
}

async fn export(app: &TestApp, user: &str, query: &str) -> Reply {
    let reply = app.get(user, &format!("/api/v1/scenarios?{query}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.body);
    reply
}

async fn rows_join_each_scenario_with_its_run(kind: Kind) {
    let app = spawn(kind).await;
    file_all(&app).await;
    file_lab(&app).await;
    let reply = export(&app, "reader", "").await;
    assert_eq!(reply.headers["content-type"], "application/x-ndjson");
    let rows = ndjson_rows(&reply.body);
    assert_eq!(rows.len(), SCENARIOS, "one row per scenario");

    // Columns in the documented order: the index's, the document's, then the data's.
    let first: Vec<&str> = rows[0].iter().take(6).map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        first,
        [
            "group",
            "request_id",
            "run_tag",
            "filed_at",
            "run_uuid",
            "timestamp"
        ]
    );

    // The lab run's first scenario, every figure worked out from the document by hand.
    let lab: Vec<BTreeMap<String, Value>> = rows
        .iter()
        .map(|r| as_map(r))
        .filter(|r| r["request_id"] == LAB_RUN)
        .collect();
    assert_eq!(lab.len(), 2);
    let row = &lab[0];
    for (column, expected) in [
        ("group", json!("lab")),
        ("run_tag", json!("lab")),
        ("run_uuid", json!("11111111-2222-4333-8444-555555555555")),
        ("scenario_count", json!(2)),
        ("scenario_index", json!(0)),
        ("scenario_type", json!("pod_disruption_scenarios")),
        ("exit_status", json!(1)),
        ("duration_seconds", json!(90.5)),
        ("pods_recovered", json!(2)),
        ("pods_unrecovered", json!(1)),
        ("pod_recovery_seconds_mean", json!(15.0)),
        ("pod_recovery_seconds_max", json!(20.0)),
        ("pod_readiness_seconds_max", json!(15.0)),
        ("pod_rescheduling_seconds_max", json!(5.0)),
        ("vmis_recovered", json!(1)),
        ("vmis_unrecovered", json!(0)),
        ("vmi_recovery_seconds_max", json!(42.0)),
        ("nodes_master", json!(3)),
        ("nodes_worker", json!(5)),
        ("nodes_infra", json!(2)),
        ("nodes_other", json!(1)),
        ("total_node_count", json!(11)),
        ("critical_alerts", json!(2)),
        ("critical_alerts_post_chaos", json!(1)),
        ("cloud_infrastructure", json!("GCP")),
        ("major_version", json!("4.18")),
        ("network_plugins", json!("OVNKubernetes")),
        ("objects.Pod", json!(294)),
        ("objects.ConfigMap", json!(530)),
        (
            "parameters.0.config.namespace_pattern",
            json!("^openshift-etcd$"),
        ),
        ("parameters.0.config.kill", json!(2)),
    ] {
        assert_eq!(row.get(column), Some(&expected), "column {column}");
    }
    assert_eq!(lab[1]["scenario_index"], json!(1));
    assert_eq!(lab[1]["scenario_type"], json!("node_scenarios"));
    assert_eq!(lab[1]["pods_recovered"], json!(0));
    assert_eq!(lab[1]["pod_recovery_seconds_max"], Value::Null);

    // The seed's own scenario in the runs of runs::SPECS: its duration and parameters.
    let seed: Value = serde_json::from_slice(SEED).expect("seed");
    let scenario = &seed["scenarios"][0];
    let duration = scenario["end_timestamp"].as_f64().expect("end")
        - scenario["start_timestamp"].as_f64().expect("start");
    let a = as_map(
        rows.iter()
            .find(|r| as_map(r)["request_id"] == request_id(0, &SPECS[0]))
            .expect("run a"),
    );
    assert_eq!(a["duration_seconds"].as_f64(), Some(duration));
    assert_eq!(
        a["parameters.0.config.network_params.latency"],
        scenario["parameters"][0]["config"]["network_params"]["latency"]
    );
    assert_eq!(a["job_status"], json!(true));
    assert_eq!(a["filed_at"].as_str().map(str::len), Some(20));
}

async fn run_filters_select_the_rows(kind: Kind) {
    let app = spawn(kind).await;
    file_all(&app).await;
    file_lab(&app).await;
    let cases: [(&str, usize, Option<&str>); 6] = [
        // Only the scenarios of the type, not every scenario of runs having one.
        ("scenario_type=node_scenarios", 4, Some("node_scenarios")),
        ("group=perf&job_status=false", 2, None),
        ("group=lab", 2, None),
        ("cloud=AWS&major_version=4.19", 4, None),
        ("run_tag=nightly", 3, None),
        ("until=2000-01-01T00:00:00Z", 0, None),
    ];
    for (query, count, only_type) in cases {
        let rows = ndjson_rows(&export(&app, "reader", query).await.body);
        assert_eq!(rows.len(), count, "{query}");
        if let Some(wanted) = only_type {
            assert!(
                rows.iter().all(|r| as_map(r)["scenario_type"] == wanted),
                "{query}"
            );
        }
    }
}

/// Cell text of an NDJSON value, as the CSV writes it.
fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

async fn csv_holds_what_ndjson_holds(kind: Kind) {
    let app = spawn(kind).await;
    file_all(&app).await;
    file_lab(&app).await;
    let ndjson: Vec<BTreeMap<String, Value>> = ndjson_rows(&export(&app, "reader", "").await.body)
        .iter()
        .map(|r| as_map(r))
        .collect();
    let reply = export(&app, "reader", "format=csv").await;
    assert_eq!(reply.headers["content-type"], "text/csv; charset=utf-8");
    let mut reader = csv::Reader::from_reader(reply.body.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    // Every column any row has, once.
    let all: BTreeSet<&String> = ndjson.iter().flat_map(|r| r.keys()).collect();
    assert_eq!(header.iter().collect::<BTreeSet<_>>(), all);
    assert_eq!(header.len(), all.len(), "no column twice");
    assert!(header.iter().any(|h| h == "parameters.0.config.kill"));
    let records: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .expect("well-formed CSV");
    assert_eq!(records.len(), ndjson.len());
    for (record, row) in records.iter().zip(&ndjson) {
        for (name, text) in header.iter().zip(record.iter()) {
            assert_eq!(
                text,
                cell(row.get(name)),
                "{} column {name}",
                row["request_id"]
            );
        }
    }
}

/// Follows `X-Next-Cursor` until the export ends; the bodies of every response.
async fn all_responses(app: &TestApp, query: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let full = match &cursor {
            Some(c) => format!("{query}&cursor={c}"),
            None => query.to_owned(),
        };
        let reply = export(app, "reader", &full).await;
        bodies.push(reply.body);
        match reply.headers.get("x-next-cursor") {
            Some(next) => cursor = Some(next.to_str().expect("ASCII").to_owned()),
            None => return bodies,
        }
    }
    panic!("the export never ended");
}

async fn a_byte_budget_splits_the_export_at_run_boundaries(kind: Kind) {
    // A budget of one byte: every response holds exactly one run.
    let config = ApiConfig {
        export_max_bytes: Some(1),
        ..ApiConfig::default()
    };
    let app = spawn_with(kind, config).await;
    file_all(&app).await;
    file_lab(&app).await;
    let bodies = all_responses(&app, "format=ndjson").await;
    assert_eq!(bodies.len(), 9, "one response per run");
    let mut joined = Vec::new();
    for body in &bodies {
        let rows = ndjson_rows(body);
        let runs: BTreeSet<String> = rows
            .iter()
            .map(|r| cell(as_map(r).get("request_id")))
            .collect();
        assert_eq!(runs.len(), 1, "a response ends at a run boundary");
        joined.extend(rows);
    }
    // In the order the runs are listed (newest filed first), each run's scenarios in order.
    let listing = app.get("reader", "/api/v1/runs?limit=500").await;
    let listing: Value = serde_json::from_str(&listing.body).expect("JSON");
    let whole: Vec<(String, String)> = listing["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .flat_map(|run| {
            let id = cell(run.get("request_id"));
            let count = run["scenario_count"].as_u64().expect("count");
            (0..count).map(move |i| (id.clone(), i.to_string()))
        })
        .collect();
    let key = |r: &Vec<(String, Value)>| {
        let m = as_map(r);
        (cell(m.get("request_id")), cell(m.get("scenario_index")))
    };
    assert_eq!(
        joined.iter().map(key).collect::<Vec<_>>(),
        whole,
        "the responses together are the whole export, in order"
    );

    // CSV pages are whole CSV files, each with its header.
    let csv_bodies = all_responses(&app, "format=csv&group=lab").await;
    assert_eq!(csv_bodies.len(), 1);
    let rows: usize = all_responses(&app, "format=csv")
        .await
        .iter()
        .map(|body| {
            assert!(body.starts_with("group,request_id,run_tag,filed_at,"));
            csv::Reader::from_reader(body.as_bytes()).records().count()
        })
        .sum();
    assert_eq!(rows, SCENARIOS);
}

/// Removes the stored export rows of the lab run, as an index written by an older release
/// would have none.
async fn forget_export_rows(app: &TestApp) {
    match &app.aws {
        None => {
            let db = rusqlite::Connection::open(app.dir.path().join("index.sqlite")).expect("db");
            let changed = db
                .execute(
                    "UPDATE scenarios SET export_row = NULL, export_version = NULL
                     WHERE request_id = ?1",
                    [LAB_RUN],
                )
                .expect("update");
            assert_eq!(changed, 2);
        }
        Some(settings) => {
            let table = crate::helpers::table_client(settings).await;
            let dynamo = table;
            for index in 0..2 {
                dynamo
                    .update_item()
                    .table_name(&settings.table)
                    .key(
                        "pk",
                        aws_sdk_dynamodb::types::AttributeValue::S("GROUP#lab".to_owned()),
                    )
                    .key(
                        "sk",
                        aws_sdk_dynamodb::types::AttributeValue::S(format!(
                            "RUN#{LAB_RUN}#SCENARIO#{index:04}"
                        )),
                    )
                    .update_expression("REMOVE export_row, export_version")
                    .send()
                    .await
                    .expect("update");
            }
        }
    }
}

async fn runs_filed_before_rows_were_stored_are_read_from_their_documents(kind: Kind) {
    let app = spawn(kind).await;
    file_all(&app).await;
    file_lab(&app).await;
    let before = export(&app, "reader", "format=csv").await.body;
    forget_export_rows(&app).await;
    let after = export(&app, "reader", "format=csv").await.body;
    assert_eq!(after, before, "the same export, from the document");
    assert!(after.contains(LAB_RUN));
}

async fn exports_obey_access_and_name_mistakes(kind: Kind) {
    let app = spawn(kind).await;
    file_all(&app).await;
    file_lab(&app).await;
    app.backend
        .users
        .put_user(
            &new_user("perf-reader", "reader", "perf", &password("perf-reader")).expect("user"),
        )
        .await
        .expect("saved");
    let rows = ndjson_rows(&export(&app, "perf-reader", "").await.body);
    assert_eq!(rows.len(), 4, "only perf's four scenarios");
    assert!(rows.iter().all(|r| as_map(r)["group"] == "perf"));

    for (user, query, status, says) in [
        (
            "perf-reader",
            "group=lab",
            StatusCode::FORBIDDEN,
            "no access to group lab",
        ),
        ("uploader", "", StatusCode::FORBIDDEN, "forbidden"),
        (
            "nobody",
            "",
            StatusCode::UNAUTHORIZED,
            "authentication required",
        ),
        (
            "reader",
            "format=xlsx",
            StatusCode::BAD_REQUEST,
            "format must be ndjson or csv",
        ),
        (
            "reader",
            "limit=10",
            StatusCode::BAD_REQUEST,
            "limit does not apply to the export",
        ),
        (
            "reader",
            "colour=red",
            StatusCode::BAD_REQUEST,
            "unknown parameter \"colour\"",
        ),
        (
            "reader",
            "since=soon",
            StatusCode::BAD_REQUEST,
            "since must be RFC 3339",
        ),
    ] {
        let reply = app.get(user, &format!("/api/v1/scenarios?{query}")).await;
        assert_eq!(reply.status, status, "{user} {query}: {}", reply.body);
        assert!(reply.body.contains(says), "{user} {query}: {}", reply.body);
    }
}

on_both_backends!(
    rows_join_each_scenario_with_its_run,
    run_filters_select_the_rows,
    csv_holds_what_ndjson_holds,
    a_byte_budget_splits_the_export_at_run_boundaries,
    runs_filed_before_rows_were_stored_are_read_from_their_documents,
    exports_obey_access_and_name_mistakes,
);

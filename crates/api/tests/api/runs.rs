//! `GET /api/v1/runs` on both backends: every filter, paging through cursors, and who may see
//! what. Runs are filed through `POST /telemetry` as krkn files them, so the index entries the
//! queries read are the real ones.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use krkn_telemetry_api::auth::new_user;
use serde_json::Value;

use crate::helpers::*;

/// One filed run: its name in the assertions and what its document says.
pub(crate) struct Spec {
    pub(crate) name: &'static str,
    pub(crate) group: &'static str,
    pub(crate) scenario_types: &'static [&'static str],
    pub(crate) major_version: &'static str,
    pub(crate) cloud: &'static str,
    pub(crate) job_status: bool,
    pub(crate) run_tag: Option<&'static str>,
}

pub(crate) const SPECS: [Spec; 8] = [
    Spec {
        name: "a",
        group: "default",
        scenario_types: &["pod_disruption_scenarios"],
        major_version: "4.18",
        cloud: "GCP",
        job_status: true,
        run_tag: None,
    },
    Spec {
        name: "b",
        group: "default",
        scenario_types: &["network_chaos_ng_scenarios"],
        major_version: "4.18",
        cloud: "AWS",
        job_status: false,
        run_tag: Some("nightly-net"),
    },
    Spec {
        name: "c",
        group: "default",
        scenario_types: &["node_scenarios", "pod_disruption_scenarios"],
        major_version: "4.19",
        cloud: "AWS",
        job_status: true,
        run_tag: None,
    },
    Spec {
        name: "d",
        group: "perf",
        scenario_types: &["network_chaos_ng_scenarios"],
        major_version: "4.19",
        cloud: "AWS",
        job_status: false,
        run_tag: Some("weekly-net"),
    },
    Spec {
        name: "e",
        group: "perf",
        scenario_types: &["pod_disruption_scenarios"],
        major_version: "4.18",
        cloud: "GCP",
        job_status: true,
        run_tag: Some("nightly"),
    },
    Spec {
        name: "f",
        group: "perf",
        scenario_types: &["node_scenarios"],
        major_version: "4.17",
        cloud: "Azure",
        job_status: false,
        run_tag: None,
    },
    Spec {
        name: "g",
        group: "default",
        scenario_types: &["network_chaos_ng_scenarios", "node_scenarios"],
        major_version: "4.19",
        cloud: "GCP",
        job_status: false,
        run_tag: None,
    },
    Spec {
        name: "h",
        group: "perf",
        scenario_types: &["pod_disruption_scenarios"],
        major_version: "4.19",
        cloud: "AWS",
        job_status: true,
        run_tag: Some("nightly"),
    },
];

pub(crate) fn uuid_of(index: usize) -> String {
    format!("00000000-0000-4000-8000-{index:012}")
}

pub(crate) fn request_id(index: usize, spec: &Spec) -> String {
    let base = format!("{}-{}", 1_764_000_000 + index, uuid_of(index));
    match spec.run_tag {
        Some(tag) => format!("{base}-{tag}"),
        None => base,
    }
}

/// The seed document, reshaped as `spec` says (one scenario per type).
pub(crate) fn document(index: usize, spec: &Spec) -> Vec<u8> {
    let mut doc: Value = serde_json::from_slice(SEED).expect("seed parses");
    // The seed is the inner document; krkn also sends it inside {"telemetry": …}.
    let telemetry = match doc.get("telemetry") {
        Some(_) => &mut doc["telemetry"],
        None => &mut doc,
    };
    let template = telemetry["scenarios"][0].clone();
    telemetry["scenarios"] = spec
        .scenario_types
        .iter()
        .map(|t| {
            let mut scenario = template.clone();
            scenario["scenario_type"] = Value::from(*t);
            scenario
        })
        .collect();
    telemetry["major_version"] = Value::from(spec.major_version);
    telemetry["cloud_infrastructure"] = Value::from(spec.cloud);
    telemetry["job_status"] = Value::from(spec.job_status);
    telemetry["run_uuid"] = Value::from(uuid_of(index));
    serde_json::to_vec(&doc).expect("serializes")
}

pub(crate) async fn file_all(app: &TestApp) {
    for (index, spec) in SPECS.iter().enumerate() {
        let query = format!(
            "request_id={}&telemetry_group={}",
            request_id(index, spec),
            spec.group
        );
        let reply = app
            .post_telemetry("uploader", &query, &document(index, spec))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{}: {}",
            spec.name,
            reply.body
        );
    }
}

/// The listing's JSON for `query` as `user`, which must answer 200.
async fn list(app: &TestApp, user: &str, query: &str) -> Value {
    let reply = app.get(user, &format!("/api/v1/runs?{query}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.body);
    serde_json::from_str(&reply.body).expect("JSON")
}

/// The names of the runs a listing holds.
fn names(listing: &Value) -> BTreeSet<&'static str> {
    listing["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|run| {
            let id = run["request_id"].as_str().expect("request_id");
            SPECS
                .iter()
                .enumerate()
                .find(|(i, spec)| request_id(*i, spec) == id)
                .map(|(_, spec)| spec.name)
                .unwrap_or_else(|| panic!("unknown run {id}"))
        })
        .collect()
}

fn set(names: &[&'static str]) -> BTreeSet<&'static str> {
    names.iter().copied().collect()
}

async fn every_filter_selects_its_runs(kind: Kind) {
    let app = spawn(kind).await;
    file_all(&app).await;
    let cases: [(&str, &[&str]); 14] = [
        ("", &["a", "b", "c", "d", "e", "f", "g", "h"]),
        ("group=perf", &["d", "e", "f", "h"]),
        ("scenario_type=node_scenarios", &["c", "f", "g"]),
        (
            "scenario_type=network_chaos_ng_scenarios&group=default",
            &["b", "g"],
        ),
        ("major_version=4.19", &["c", "d", "g", "h"]),
        ("cloud=AWS", &["b", "c", "d", "h"]),
        ("job_status=false", &["b", "d", "f", "g"]),
        ("job_status=passed&group=perf", &["e", "h"]),
        ("run_tag=nightly", &["b", "e", "h"]),
        ("run_tag=net&job_status=false", &["b", "d"]),
        (
            "major_version=4.18&cloud=GCP&scenario_type=pod_disruption_scenarios",
            &["a", "e"],
        ),
        (
            "since=2000-01-01T00:00:00Z",
            &["a", "b", "c", "d", "e", "f", "g", "h"],
        ),
        ("until=2000-01-01T00:00:00Z", &[]),
        ("cloud=OpenStack", &[]),
    ];
    for (query, expected) in cases {
        let listing = list(&app, "reader", query).await;
        assert_eq!(names(&listing), set(expected), "{query}");
    }

    // What a listed run says, from its index entry.
    let listing = list(&app, "reader", "run_tag=weekly").await;
    let run = &listing["runs"][0];
    assert_eq!(run["group"], "perf");
    assert_eq!(run["run_tag"], "weekly-net");
    assert_eq!(run["major_version"], "4.19");
    assert_eq!(run["cloud_infrastructure"], "AWS");
    assert_eq!(run["job_status"], false);
    assert_eq!(run["scenario_count"], 1);
    assert_eq!(
        run["scenario_types"],
        serde_json::json!(["network_chaos_ng_scenarios"])
    );
    let id = request_id(3, &SPECS[3]);
    assert_eq!(run["url"], format!("/api/v1/runs/perf/{id}"));
    assert_eq!(run["files_url"], format!("/files/perf/{id}/"));
    assert!(listing["next_cursor"].is_null());
    let two_types = list(&app, "reader", "group=default&major_version=4.19&cloud=AWS").await;
    assert_eq!(
        two_types["runs"][0]["scenario_types"],
        serde_json::json!(["node_scenarios", "pod_disruption_scenarios"])
    );
}

async fn pages_follow_cursors_without_gaps_or_repeats(kind: Kind) {
    let app = spawn(kind).await;
    file_all(&app).await;
    for filter in ["", "group=perf&", "job_status=false&"] {
        let whole = list(&app, "reader", &format!("{filter}limit=500")).await;
        let whole_ids: Vec<Value> = whole["runs"]
            .as_array()
            .expect("runs")
            .iter()
            .map(|r| r["request_id"].clone())
            .collect();
        let times: Vec<&str> = whole["runs"]
            .as_array()
            .expect("runs")
            .iter()
            .map(|r| r["filed_at"].as_str().expect("filed_at"))
            .collect();
        assert!(
            times.windows(2).all(|w| w[0] >= w[1]),
            "newest first: {times:?}"
        );

        let mut paged = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10 {
            let query = match &cursor {
                Some(c) => format!("{filter}limit=3&cursor={c}"),
                None => format!("{filter}limit=3"),
            };
            let page = list(&app, "reader", &query).await;
            let runs = page["runs"].as_array().expect("runs");
            assert!(runs.len() <= 3);
            paged.extend(runs.iter().map(|r| r["request_id"].clone()));
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(
            paged, whole_ids,
            "pages of 3 with {filter:?} give the whole listing"
        );
    }
}

async fn readers_see_only_their_groups(kind: Kind) {
    let app = spawn(kind).await;
    file_all(&app).await;
    app.backend
        .users
        .put_user(
            &new_user("perf-reader", "reader", "perf", &password("perf-reader")).expect("user"),
        )
        .await
        .expect("saved");
    let mine = list(&app, "perf-reader", "").await;
    assert_eq!(names(&mine), set(&["d", "e", "f", "h"]));
    let mine = list(&app, "perf-reader", "cloud=AWS").await;
    assert_eq!(names(&mine), set(&["d", "h"]));

    let reply = app.get("perf-reader", "/api/v1/runs?group=default").await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    assert!(
        reply.body.contains("no access to group default"),
        "{}",
        reply.body
    );
    let reply = app.get("uploader", "/api/v1/runs").await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    let reply = app.get("nobody", "/api/v1/runs").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

async fn bad_queries_are_refused_with_the_reason(kind: Kind) {
    let app = spawn(kind).await;
    for (query, says) in [
        ("colour=red", "unknown parameter \"colour\""),
        ("job_status=maybe", "job_status must be true or false"),
        ("limit=100000", "limit must be a number from 1 to 500"),
        ("since=last%20week", "since must be RFC 3339"),
        ("cursor=AAAA", "cursor is not one this server handed out"),
    ] {
        let reply = app.get("reader", &format!("/api/v1/runs?{query}")).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            reply.body
        );
        assert!(reply.body.contains(says), "{query}: {}", reply.body);
    }
}

on_both_backends!(
    every_filter_selects_its_runs,
    pages_follow_cursors_without_gaps_or_repeats,
    readers_see_only_their_groups,
    bad_queries_are_refused_with_the_reason,
);

/// Fetches a download link: through the router for the embedded store's own links, over HTTP
/// for S3's (moto).
async fn fetch(app: &TestApp, link: &str) -> Vec<u8> {
    if link.contains("/download/") && !link.contains("X-Amz-") {
        let path = &link[link.find("/download/").expect("download path")..];
        let reply = app.get("reader", path).await;
        assert_eq!(reply.status, StatusCode::OK, "{link}: {}", reply.body);
        return reply.body.into_bytes();
    }
    let response = reqwest::get(link).await.expect("link answers");
    assert_eq!(response.status().as_u16(), 200, "{link}");
    response.bytes().await.expect("body").to_vec()
}

/// One run page, built up file by file and checked after each: better whole, since each step's
/// expectation depends on what the earlier ones stored.
async fn a_run_page_shows_document_files_and_backup_completeness(kind: Kind) {
    let app = spawn(kind).await;
    file_all(&app).await;
    let id = request_id(0, &SPECS[0]);
    let objects = &app.backend.objects;
    let part0 = b"first slice of the tar stream".to_vec();
    let part1 = b"second".to_vec();
    for (name, bytes) in [("prometheus-00.tar", &part0), ("prometheus-01.tar", &part1)] {
        objects
            .put_if_absent(&format!("default/{id}/{name}"), bytes.clone())
            .await
            .expect("stored");
    }
    let manifest = |parts: &[(&str, usize)]| {
        let parts: Vec<Value> = parts
            .iter()
            .map(|(name, size)| serde_json::json!({"name": name, "size": size, "sha256": "00"}))
            .collect();
        serde_json::to_vec(
            &serde_json::json!({"kind": "prometheus-backup", "version": 1,
            "parts": parts, "total_bytes": 35}),
        )
        .expect("JSON")
    };
    objects
        .put_if_absent(
            &format!("default/{id}/prometheus-manifest.json"),
            manifest(&[
                ("prometheus-00.tar", part0.len()),
                ("prometheus-01.tar", part1.len()),
            ]),
        )
        .await
        .expect("stored");

    let reply = app
        .get("reader", &format!("/api/v1/runs/default/{id}"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let page: Value = serde_json::from_str(&reply.body).expect("JSON");
    assert_eq!(page["document"]["run_uuid"], uuid_of(0));
    assert_eq!(page["document"]["cloud_infrastructure"], "GCP");
    let files = page["files"].as_array().expect("files");
    let names: Vec<&str> = files
        .iter()
        .map(|f| f["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "prometheus-00.tar",
            "prometheus-01.tar",
            "prometheus-manifest.json",
            "telemetry.json"
        ]
    );
    assert_eq!(files[1]["kind"], "prometheus_part");
    assert_eq!(files[1]["part"], 1);
    assert_eq!(files[1]["size"], part1.len());
    assert_eq!(files[3]["kind"], "telemetry");
    let backup = &page["prometheus_backup"];
    assert_eq!(backup["complete"], true, "{backup}");
    assert_eq!(backup["parts_stored"], 2);
    assert_eq!(backup["parts_expected"], 2);
    assert_eq!(backup["total_bytes"], 35);
    let link = files[0]["download_link"].as_str().expect("link");
    assert_eq!(
        fetch(&app, link).await,
        part0,
        "the download link serves the part"
    );

    // Another run whose manifest names a part that never arrived.
    let other = request_id(6, &SPECS[6]);
    objects
        .put_if_absent(&format!("default/{other}/prometheus-00.tar"), part0.clone())
        .await
        .expect("stored");
    objects
        .put_if_absent(
            &format!("default/{other}/prometheus-manifest.json"),
            manifest(&[("prometheus-00.tar", part0.len()), ("prometheus-01.tar", 6)]),
        )
        .await
        .expect("stored");
    let page: Value = serde_json::from_str(
        &app.get("reader", &format!("/api/v1/runs/default/{other}"))
            .await
            .body,
    )
    .expect("JSON");
    assert_eq!(page["prometheus_backup"]["complete"], false);
    assert_eq!(
        page["prometheus_backup"]["missing_or_wrong_size"],
        serde_json::json!(["prometheus-01.tar"])
    );
    // A run without a backup says so with null.
    let plain = request_id(2, &SPECS[2]);
    let page: Value = serde_json::from_str(
        &app.get("reader", &format!("/api/v1/runs/default/{plain}"))
            .await
            .body,
    )
    .expect("JSON");
    assert!(page["prometheus_backup"].is_null(), "{page}");

    let reply = app
        .get("reader", "/api/v1/runs/default/1764000000-missing")
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
    let reply = app.get("reader", "/api/v1/runs/default/..").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    let reply = app
        .get("uploader", &format!("/api/v1/runs/default/{id}"))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
}

on_both_backends_through_links!(a_run_page_shows_document_files_and_backup_completeness);

//! The run filters are defined once (`RunQuery::accepts`); both backends must list exactly
//! the runs that definition accepts, in page order, for random runs and random filters
//! (SQL on the embedded store, DynamoDB key conditions and filter expressions on moto).

use std::sync::Arc;

use krkn_telemetry_api::store::{
    AwsStore, LocalStore, RunIndex, RunPage, RunQuery, RunRecord, RunSummary, ScenarioRecord,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::helpers::moto_settings;

const GROUPS: [&str; 3] = ["perf", "ci", "lab"];
const TIMES: [&str; 4] = [
    "2026-11-30T23:59:59Z",
    "2026-12-01T08:00:00Z",
    "2026-12-01T08:00:01Z",
    "2026-12-02T00:00:00Z",
];
const TYPES: [&str; 3] = ["pod_disruption_scenarios", "node_scenarios", ""];
const MAJORS: [&str; 3] = ["4.18", "4.19", ""];
const CLOUDS: [&str; 3] = ["AWS", "GCP", ""];
const TAGS: [&str; 4] = ["", "nightly", "night-2", "x"];

/// A run from indexes into the value lists above (`n` makes its request id unique).
fn run(
    n: usize,
    picks: (usize, usize, usize, usize, usize, Option<bool>),
    types: Vec<usize>,
) -> RunRecord {
    let (group, time, major, cloud, tag, job_status) = picks;
    let run_uuid = format!("uuid{n}");
    let tag = TAGS[tag];
    let request_id = if tag.is_empty() {
        format!("1764000000-{run_uuid}")
    } else {
        format!("1764000000-{run_uuid}-{tag}")
    };
    RunRecord {
        group: GROUPS[group].to_owned(),
        request_id,
        run_uuid,
        filed_at: TIMES[time].to_owned(),
        cluster_version: format!("{}.0", MAJORS[major]),
        major_version: MAJORS[major].to_owned(),
        run_tag: tag.to_owned(),
        cloud_infrastructure: CLOUDS[cloud].to_owned(),
        job_status,
        document_sha256: "0".repeat(64),
        document_bytes: 100 + n as u64,
        scenarios: types
            .into_iter()
            .enumerate()
            .map(|(index, t)| ScenarioRecord {
                index: index as u32,
                scenario: format!("scenario-{index}.yaml"),
                scenario_type: TYPES[t].to_owned(),
                exit_status: Some(0),
                start_timestamp: Some(1.0),
                end_timestamp: Some(2.0),
                export_row: None,
            })
            .collect(),
    }
}

/// The run as a listing shows it.
fn summary(run: &RunRecord) -> RunSummary {
    RunSummary {
        group: run.group.clone(),
        request_id: run.request_id.clone(),
        run_uuid: run.run_uuid.clone(),
        run_tag: run.run_tag.clone(),
        filed_at: run.filed_at.clone(),
        cluster_version: run.cluster_version.clone(),
        major_version: run.major_version.clone(),
        cloud_infrastructure: run.cloud_infrastructure.clone(),
        job_status: run.job_status,
        scenario_count: run.scenarios.len() as u64,
        scenario_types: run.scenario_types(),
        document_bytes: run.document_bytes,
    }
}

fn runs() -> impl Strategy<Value = Vec<RunRecord>> {
    let one = (
        (
            0..GROUPS.len(),
            0..TIMES.len(),
            0..MAJORS.len(),
            0..CLOUDS.len(),
            0..TAGS.len(),
        ),
        proptest::option::of(any::<bool>()),
        proptest::collection::vec(0..TYPES.len(), 0..3),
    );
    proptest::collection::vec(one, 0..16).prop_map(|picked| {
        picked
            .into_iter()
            .enumerate()
            .map(|(n, ((g, t, m, c, tag), job, types))| run(n, (g, t, m, c, tag, job), types))
            .collect()
    })
}

fn some_of(values: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
    proptest::option::of(proptest::sample::select(values).prop_map(str::to_owned))
}

fn queries() -> impl Strategy<Value = RunQuery> {
    let groups: &'static [&'static str] = &["perf", "ci", "lab", "other"];
    let time_range = (some_of(&TIMES), some_of(&TIMES)).prop_map(|(a, b)| match (a, b) {
        (Some(a), Some(b)) if a > b => (Some(b), Some(a)),
        range => range,
    });
    (
        (
            some_of(groups),
            proptest::option::of(proptest::sample::subsequence(groups.to_vec(), 0..=3)),
            some_of(&[
                "pod_disruption_scenarios",
                "node_scenarios",
                "other_scenarios",
            ]),
            some_of(&["4.18", "4.19", "4.2"]),
            some_of(&["AWS", "GCP", "aws"]),
        ),
        (
            proptest::option::of(any::<bool>()),
            some_of(&["night", "ly", "nightly", "2", "zz"]),
            time_range,
            1usize..6,
        ),
    )
        .prop_map(
            |(
                (group, allowed, scenario_type, major_version, cloud),
                (job_status, run_tag, (since, until), limit),
            )| {
                RunQuery {
                    group,
                    allowed_groups: allowed
                        .map(|groups| groups.into_iter().map(str::to_owned).collect()),
                    scenario_type,
                    major_version,
                    cloud,
                    job_status,
                    run_tag,
                    since,
                    until,
                    limit,
                    after: None,
                }
            },
        )
}

/// Every run `index` lists for `query`, following the cursors page by page (at most one
/// page per run, plus one, so a cursor that never ends fails instead of hanging).
async fn every_page(index: &dyn RunIndex, query: &RunQuery, runs: usize) -> Vec<RunSummary> {
    let mut query = query.clone();
    let mut listed = Vec::new();
    for _ in 0..=runs + 1 {
        let page: RunPage = index.query_runs(&query).await.expect("query");
        assert!(page.runs.len() <= query.limit, "a page over its limit");
        listed.extend(page.runs);
        match page.next {
            Some(next) => query.after = Some(next),
            None => return listed,
        }
    }
    panic!("the cursor never ended for {query:?}");
}

/// Indexes `runs` into `index`, then checks every query against the reference.
async fn holds_to_the_reference(
    index: &dyn RunIndex,
    runs: &[RunRecord],
    queries: &[RunQuery],
    backend: &str,
) -> Result<(), TestCaseError> {
    for run in runs {
        index.index_run(run).await.expect("indexed");
    }
    let summaries: Vec<RunSummary> = runs.iter().map(summary).collect();
    for query in queries {
        let everything = RunQuery {
            limit: summaries.len(),
            ..query.clone()
        };
        let expected = everything.reference_page(&summaries).runs;
        let listed = every_page(index, query, summaries.len()).await;
        prop_assert_eq!(&listed, &expected, "{} for {:?}", backend, query);
    }
    Ok(())
}

/// The embedded store's first page is the reference's exactly (where the next page starts
/// included); across pages, it lists what the reference accepts.
#[test]
fn the_embedded_index_lists_what_the_filters_accept() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut runner = TestRunner::new(Config {
        cases: 64,
        ..Config::default()
    });
    let strategy = (runs(), proptest::collection::vec(queries(), 1..8));
    runner
        .run(&strategy, |(runs, queries)| {
            runtime.block_on(async {
                let dir = tempfile::tempdir().expect("temp dir");
                let store = LocalStore::open(dir.path()).expect("store");
                holds_to_the_reference(&store, &runs, &queries, "embedded").await?;
                let summaries: Vec<RunSummary> = runs.iter().map(summary).collect();
                for query in &queries {
                    let page = store.query_runs(query).await.expect("query");
                    prop_assert_eq!(page, query.reference_page(&summaries));
                }
                Ok(())
            })
        })
        .expect("the embedded index agrees with RunQuery::accepts");
}

/// DynamoDB (on moto) lists what the reference accepts, in the same order, across pages
/// (its pages may end early: at most 8 reads each).
#[test]
fn the_dynamodb_index_lists_what_the_filters_accept() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut runner = TestRunner::new(Config {
        cases: 32,
        ..Config::default()
    });
    let strategy = (runs(), proptest::collection::vec(queries(), 1..8));
    runner
        .run(&strategy, |(runs, queries)| {
            runtime.block_on(async {
                let store = Arc::new(AwsStore::connect(&moto_settings()).await);
                store.init().await.expect("bucket and table on moto");
                holds_to_the_reference(store.as_ref(), &runs, &queries, "dynamodb").await
            })
        })
        .expect("the DynamoDB index agrees with RunQuery::accepts");
}

//! The flat view of a run for datasets: one row per scenario, joined with its run's cluster
//! metadata, the shape an ML pipeline (pandas, chaos-ai) reads without knowing krkn's nesting.
//!
//! A row is a JSON object from column name to a scalar (string, number, boolean or `null`).
//! [`COLUMNS`] names the fixed columns, in the order exports write them, each with its type
//! and meaning; two families of columns depend on the data and follow, sorted by name:
//! - `parameters.<path>`: the scenario's parameters flattened, objects by key and lists by
//!   position (`parameters.0.config.namespace`). A scenario whose parameters would flatten to
//!   more than [`MAX_PARAMETER_COLUMNS`] columns gets one `parameters` column with the whole
//!   value as JSON text instead.
//! - `objects.<Kind>`: the cluster's object counts (`objects.Pod`).
//!
//! The columns the service adds from its index (group, request id, run tag, filing time) are in
//! [`INDEX_COLUMNS`]; they come first. Rows carry [`EXPORT_VERSION`]: when the columns change,
//! the version goes up, and rows stored under an older version are recomputed from the document.

mod columns;
mod row_text;

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

pub use columns::{COLUMNS, Column, INDEX_COLUMNS};
pub use row_text::{cell_text, is_dynamic_column, render_row, row_entries};

use crate::field::Field;
use crate::scenario::ScenarioTelemetry;
use crate::telemetry::ChaosRunTelemetry;

/// Version of the row layout; bump it whenever a column is added, removed or changes meaning.
pub const EXPORT_VERSION: u32 = 2;

/// Flattened parameter columns one scenario may have before they are kept as one JSON column.
pub const MAX_PARAMETER_COLUMNS: usize = 256;

/// Prefix of the flattened parameter columns.
pub const PARAMETERS_PREFIX: &str = "parameters.";

/// Prefix of the object count columns.
pub const OBJECTS_PREFIX: &str = "objects.";

/// A row: column name to scalar value.
pub type Row = Map<String, Value>;

/// The export rows of a (normalised) document, one per scenario, in scenario order.
pub fn scenario_rows(document: &ChaosRunTelemetry) -> Vec<Row> {
    let run = run_columns(document);
    let scenarios = document.scenarios.get().map(Vec::as_slice).unwrap_or(&[]);
    scenarios
        .iter()
        .enumerate()
        .map(|(index, scenario)| {
            let mut row = run.clone();
            scenario_columns(index, scenario, &mut row);
            row
        })
        .collect()
}

fn text(field: &Field<String>) -> Value {
    field
        .get()
        .map_or(Value::Null, |s| Value::String(s.clone()))
}

fn float(value: f64) -> Value {
    Number::from_f64(value).map_or(Value::Null, Value::Number)
}

fn number(field: &Field<Number>) -> Value {
    field
        .get()
        .map_or(Value::Null, |n| Value::Number(n.clone()))
}

fn count(n: usize) -> Value {
    Value::from(n as u64)
}

fn run_columns(doc: &ChaosRunTelemetry) -> Row {
    let mut row = Row::new();
    let mut put = |name: &str, value: Value| {
        row.insert(name.to_owned(), value);
    };
    put("run_uuid", text(&doc.run_uuid));
    put("timestamp", text(&doc.timestamp));
    put(
        "job_status",
        doc.job_status
            .get()
            .map_or(Value::Null, |b| Value::Bool(*b)),
    );
    put("tag", text(&doc.tag));
    put("build_url", text(&doc.build_url));
    put("cluster_version", text(&doc.cluster_version));
    put(
        "major_version",
        doc.major_version
            .get()
            .map_or(Value::Null, |v| Value::String(v.to_text())),
    );
    put("cloud_infrastructure", text(&doc.cloud_infrastructure));
    put("cloud_type", text(&doc.cloud_type));
    put(
        "network_plugins",
        doc.network_plugins
            .get()
            .map_or(Value::Null, |p| Value::String(p.join(";"))),
    );
    put(
        "total_node_count",
        doc.total_node_count
            .get()
            .map_or(Value::Null, |n| Value::from(*n)),
    );
    let nodes = nodes_by_role(doc);
    for kind in NODE_ROLES {
        put(
            &format!("nodes_{kind}"),
            Value::from(nodes.get(kind).copied().unwrap_or(0)),
        );
    }
    let (critical, critical_post_chaos) = critical_alerts(doc);
    put("critical_alerts", count(critical));
    put("critical_alerts_post_chaos", count(critical_post_chaos));
    put(
        "resiliency_score",
        doc.overall_resiliency_report
            .get()
            .map_or(Value::Null, |r| number(&r.resiliency_score)),
    );
    put(
        "scenario_count",
        count(doc.scenarios.get().map_or(0, Vec::len)),
    );
    for (kind, n) in doc.kubernetes_objects_count.get().into_iter().flatten() {
        put(&format!("{OBJECTS_PREFIX}{kind}"), Value::from(*n));
    }
    row
}

/// The node roles that get a `nodes_<role>` column; any other role counts as `other`.
const NODE_ROLES: [&str; 6] = [
    "master",
    "worker",
    "infra",
    "workload",
    "application",
    "other",
];

/// Nodes per role, from the document's node summaries.
fn nodes_by_role(doc: &ChaosRunTelemetry) -> BTreeMap<&str, i64> {
    let mut nodes: BTreeMap<&str, i64> = BTreeMap::new();
    for info in doc
        .node_summary_infos
        .get()
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let kind = info
            .nodes_type
            .get()
            .map(String::as_str)
            .filter(|t| {
                matches!(
                    *t,
                    "master" | "worker" | "infra" | "workload" | "application"
                )
            })
            .unwrap_or("other");
        *nodes.entry(kind).or_default() += info.count.get().copied().unwrap_or(0).max(0);
    }
    nodes
}

/// Critical alerts, and those of them that fired after the chaos (`phase: post`).
fn critical_alerts(doc: &ChaosRunTelemetry) -> (usize, usize) {
    let critical: Vec<_> = doc
        .alerts
        .get()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .filter(|a| {
            a.severity
                .get()
                .is_some_and(|s| s.eq_ignore_ascii_case("critical"))
        })
        .collect();
    let post_chaos = critical
        .iter()
        .filter(|a| a.phase.get().is_some_and(|p| p == "post"))
        .count();
    (critical.len(), post_chaos)
}

/// Largest and mean of some timings, ignoring the missing ones.
fn stats(values: impl Iterator<Item = Option<f64>>) -> (Value, Value) {
    let (mut n, mut sum, mut max) = (0u32, 0.0, f64::MIN);
    for v in values.flatten() {
        n += 1;
        sum += v;
        max = max.max(v);
    }
    if n == 0 {
        (Value::Null, Value::Null)
    } else {
        (float(max), float(sum / f64::from(n)))
    }
}

fn seconds(field: &Field<Number>) -> Option<f64> {
    field.get().and_then(Number::as_f64)
}

fn scenario_columns(index: usize, s: &ScenarioTelemetry, row: &mut Row) {
    let mut put = |name: &str, value: Value| {
        row.insert(name.to_owned(), value);
    };
    put("scenario_index", count(index));
    put("scenario", text(&s.scenario));
    put("scenario_type", text(&s.scenario_type));
    put("start_timestamp", number(&s.start_timestamp));
    put("end_timestamp", number(&s.end_timestamp));
    put(
        "duration_seconds",
        match (seconds(&s.start_timestamp), seconds(&s.end_timestamp)) {
            (Some(start), Some(end)) => float(end - start),
            _ => Value::Null,
        },
    );
    put(
        "exit_status",
        s.exit_status.get().map_or(Value::Null, |e| Value::from(*e)),
    );
    let pods = s.affected_pods.get();
    let recovered = pods
        .and_then(|p| p.recovered.get())
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let unrecovered = pods.and_then(|p| p.unrecovered.get()).map_or(0, Vec::len);
    put("pods_recovered", count(recovered.len()));
    put("pods_unrecovered", count(unrecovered));
    let (recovery_max, recovery_mean) =
        stats(recovered.iter().map(|p| seconds(&p.total_recovery_time)));
    put("pod_recovery_seconds_mean", recovery_mean);
    put("pod_recovery_seconds_max", recovery_max);
    put(
        "pod_readiness_seconds_max",
        stats(recovered.iter().map(|p| seconds(&p.pod_readiness_time))).0,
    );
    put(
        "pod_rescheduling_seconds_max",
        stats(recovered.iter().map(|p| seconds(&p.pod_rescheduling_time))).0,
    );
    let vmis = s.affected_vmis.get();
    let vmis_recovered = vmis
        .and_then(|v| v.recovered.get())
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    put("vmis_recovered", count(vmis_recovered.len()));
    put(
        "vmis_unrecovered",
        count(vmis.and_then(|v| v.unrecovered.get()).map_or(0, Vec::len)),
    );
    put(
        "vmi_recovery_seconds_max",
        stats(
            vmis_recovered
                .iter()
                .map(|v| seconds(&v.total_recovery_time)),
        )
        .0,
    );
    put(
        "nodes_affected",
        count(s.affected_nodes.get().map_or(0, Vec::len)),
    );
    put(
        "cluster_events",
        count(s.cluster_events.get().map_or(0, Vec::len)),
    );
    if let Some(parameters) = s.parameters.get() {
        let value = parameters.to_value();
        let mut flat = Vec::new();
        flatten(&value, &mut String::from("parameters"), &mut flat);
        if flat.len() > MAX_PARAMETER_COLUMNS {
            put("parameters", Value::String(parameters.text().to_owned()));
        } else {
            for (name, value) in flat {
                put(&name, value);
            }
        }
    }
}

/// Collects the scalar leaves of `value` under `path` (`a.b.0.c`); empty lists and objects
/// are leaves too (as JSON text), so that "set but empty" is not lost.
fn flatten(value: &Value, path: &mut String, out: &mut Vec<(String, Value)>) {
    let mut descend = |key: &str, child: &Value, path: &mut String| {
        let len = path.len();
        path.push('.');
        path.push_str(key);
        flatten(child, path, out);
        path.truncate(len);
    };
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                descend(key, child, path);
            }
        }
        Value::Array(list) if !list.is_empty() => {
            for (i, child) in list.iter().enumerate() {
                descend(&i.to_string(), child, path);
            }
        }
        Value::Object(_) | Value::Array(_) => {
            out.push((path.clone(), Value::String(value.to_string())))
        }
        Value::Null if path == "parameters" => {}
        scalar => out.push((path.clone(), scalar.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(json: &str) -> ChaosRunTelemetry {
        let mut doc = ChaosRunTelemetry::from_json(json.as_bytes()).expect("parses");
        doc.normalize().expect("normalises");
        doc
    }

    #[test]
    fn a_scenario_becomes_a_flat_row_with_its_run() {
        let doc = document(
            r#"{"run_uuid": "u1", "job_status": false, "cluster_version": "4.18.3",
                "major_version": 4.18, "cloud_infrastructure": "AWS",
                "network_plugins": ["OVNKubernetes", "Multus"], "total_node_count": 6,
                "node_summary_infos": [
                    {"count": 3, "nodes_type": "master"}, {"count": 2, "nodes_type": "worker"},
                    {"count": 1, "nodes_type": "unknown"}],
                "kubernetes_objects_count": {"Pod": 300, "Deployment": 40},
                "alerts": [{"name": "etcdDown", "severity": "critical", "phase": "post"},
                           {"name": "KubeAPI", "severity": "Critical", "phase": "during"},
                           {"name": "x", "severity": "warning", "phase": "post"}],
                "overall_resiliency_report": {"resiliency_score": 87.5},
                "scenarios": [{"scenario": "pods.yaml", "scenario_type": "pod_disruption_scenarios",
                    "start_timestamp": 100, "end_timestamp": 160.5, "exit_status": 0,
                    "parameters": [{"config": {"namespace": "etcd", "kill": 1}}],
                    "affected_pods": {"recovered": [
                        {"pod_name": "a", "total_recovery_time": 4.0, "pod_readiness_time": 3.0},
                        {"pod_name": "b", "total_recovery_time": 8.0, "pod_rescheduling_time": 1.5}],
                        "unrecovered": [{"pod_name": "c"}]},
                    "affected_nodes": [{"node_name": "n1"}],
                    "cluster_events": [{"reason": "Killing"}, {"reason": "Failed"}]}]}"#,
        );
        let rows = scenario_rows(&doc);
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        let expect = [
            ("run_uuid", Value::from("u1")),
            ("job_status", Value::from(false)),
            ("major_version", Value::from("4.18")),
            ("network_plugins", Value::from("OVNKubernetes;Multus")),
            ("nodes_master", Value::from(3)),
            ("nodes_worker", Value::from(2)),
            ("nodes_infra", Value::from(0)),
            ("nodes_other", Value::from(1)),
            ("critical_alerts", Value::from(2)),
            ("critical_alerts_post_chaos", Value::from(1)),
            ("resiliency_score", Value::from(87.5)),
            ("scenario_count", Value::from(1)),
            ("scenario_index", Value::from(0)),
            ("duration_seconds", Value::from(60.5)),
            ("pods_recovered", Value::from(2)),
            ("pods_unrecovered", Value::from(1)),
            ("pod_recovery_seconds_mean", Value::from(6.0)),
            ("pod_recovery_seconds_max", Value::from(8.0)),
            ("pod_readiness_seconds_max", Value::from(3.0)),
            ("pod_rescheduling_seconds_max", Value::from(1.5)),
            ("vmis_recovered", Value::from(0)),
            ("vmi_recovery_seconds_max", Value::Null),
            ("nodes_affected", Value::from(1)),
            ("cluster_events", Value::from(2)),
            ("parameters.0.config.namespace", Value::from("etcd")),
            ("parameters.0.config.kill", Value::from(1)),
            ("objects.Pod", Value::from(300)),
            ("objects.Deployment", Value::from(40)),
        ];
        for (name, value) in expect {
            assert_eq!(row.get(name), Some(&value), "column {name}");
        }
        for name in row.keys() {
            assert!(
                COLUMNS.iter().any(|c| c.name == name) || is_dynamic_column(name),
                "{name} is neither a documented column nor a dynamic one"
            );
        }
        for c in COLUMNS {
            assert!(
                row.contains_key(c.name),
                "row lacks documented column {}",
                c.name
            );
        }
    }

    /// The README's column table is the users' reference; it must name every column.
    #[test]
    fn the_readme_documents_every_column() {
        let readme = include_str!("../../../../README.md");
        for c in INDEX_COLUMNS.iter().chain(COLUMNS.iter()) {
            let line = format!("| `{}` | {} |", c.name, c.kind);
            assert!(readme.contains(&line), "README.md lacks the row {line:?}");
        }
    }

    #[test]
    fn rendered_rows_keep_the_column_order_and_read_back() {
        let doc = document(
            r#"{"run_uuid": "u\"1", "kubernetes_objects_count": {"Pod": 3},
                "scenarios": [{"scenario_type": "t", "start_timestamp": 1, "end_timestamp": 2.5,
                "parameters": {"zeta": "a\\b", "alpha": null, "tab\tkey": true}}]}"#,
        );
        let row = &scenario_rows(&doc)[0];
        let text = render_row(row);
        let entries = row_entries(&text).expect("reads back");
        let names: Vec<&str> = entries.iter().map(|(k, _)| k.as_ref()).collect();
        let fixed: Vec<&str> = COLUMNS.iter().map(|c| c.name).collect();
        assert_eq!(
            &names[..COLUMNS.len()],
            &fixed[..],
            "fixed columns first, in order"
        );
        assert_eq!(
            &names[COLUMNS.len()..],
            [
                "objects.Pod",
                "parameters.alpha",
                "parameters.tab\tkey",
                "parameters.zeta"
            ],
            "then the data's columns, sorted"
        );
        let back: Row = serde_json::from_str(&text).expect("JSON");
        assert_eq!(&back, row, "the text holds the row");
        let cell = |name: &str| {
            let (_, value) = entries.iter().find(|(k, _)| k == name).expect(name);
            cell_text(value).into_owned()
        };
        assert_eq!(cell("run_uuid"), "u\"1");
        assert_eq!(cell("parameters.zeta"), "a\\b");
        assert_eq!(cell("parameters.alpha"), "");
        assert_eq!(cell("parameters.tab\tkey"), "true");
        assert_eq!(cell("duration_seconds"), "1.5");
        assert_eq!(cell("tag"), "");
    }

    #[test]
    fn large_parameters_stay_one_json_column() {
        let list: Vec<String> = (0..=MAX_PARAMETER_COLUMNS).map(|i| i.to_string()).collect();
        let doc = document(&format!(
            r#"{{"scenarios": [{{"scenario_type": "t", "parameters": {{"items": {}}}}}]}}"#,
            serde_json::to_string(&list).expect("json")
        ));
        let row = &scenario_rows(&doc)[0];
        assert!(!row.keys().any(|k| k.starts_with(PARAMETERS_PREFIX)));
        let whole: Value =
            serde_json::from_str(row["parameters"].as_str().expect("text")).expect("JSON text");
        assert_eq!(whole["items"].as_array().map(Vec::len), Some(list.len()));
    }

    #[test]
    fn empty_containers_and_nulls_are_kept_as_leaves() {
        let doc = document(
            r#"{"scenarios": [{"scenario_type": "t", "parameters": {"a": {}, "b": [], "c": null}}]}"#,
        );
        let row = &scenario_rows(&doc)[0];
        assert_eq!(row["parameters.a"], Value::from("{}"));
        assert_eq!(row["parameters.b"], Value::from("[]"));
        assert_eq!(row["parameters.c"], Value::Null);
    }
}

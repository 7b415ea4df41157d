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

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value};

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

/// One fixed column of the export: its name, JSON type and meaning (for docs and OpenAPI).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Column name, as in the CSV header and the NDJSON keys.
    pub name: &'static str,
    /// `string`, `integer`, `number` or `boolean` (every column may also be `null`).
    pub kind: &'static str,
    /// What it holds.
    pub about: &'static str,
}

const fn column(name: &'static str, kind: &'static str, about: &'static str) -> Column {
    Column { name, kind, about }
}

/// Columns the service fills from its run index; they lead every row.
pub const INDEX_COLUMNS: [Column; 4] = [
    column("group", "string", "telemetry group the run was filed under"),
    column("request_id", "string", "krkn's request id of the run"),
    column(
        "run_tag",
        "string",
        "the run tag at the end of the request id (empty when none)",
    ),
    column(
        "filed_at",
        "string",
        "when the service filed the run, RFC 3339 UTC",
    ),
];

/// Columns computed from the document, in export order (after [`INDEX_COLUMNS`]).
pub const COLUMNS: [Column; 39] = [
    column("run_uuid", "string", "krkn's uuid of the run"),
    column(
        "timestamp",
        "string",
        "when krkn wrote the document (%Y-%m-%dT%H:%M:%SZ)",
    ),
    column(
        "job_status",
        "boolean",
        "the run's outcome: false when a scenario failed or critical alerts fired",
    ),
    column(
        "tag",
        "string",
        "krkn's free tag for comparing similar jobs",
    ),
    column("build_url", "string", "CI build that ran krkn"),
    column("cluster_version", "string", "full cluster version"),
    column(
        "major_version",
        "string",
        "major.minor of the cluster (4.18)",
    ),
    column(
        "cloud_infrastructure",
        "string",
        "cloud platform (AWS, GCP, ...)",
    ),
    column("cloud_type", "string", "self-managed, rosa, ..."),
    column(
        "network_plugins",
        "string",
        "network plugins, joined with ';' (OVNKubernetes)",
    ),
    column("total_node_count", "integer", "nodes in the cluster"),
    column("nodes_master", "integer", "nodes whose type is master"),
    column("nodes_worker", "integer", "nodes whose type is worker"),
    column("nodes_infra", "integer", "nodes whose type is infra"),
    column("nodes_workload", "integer", "nodes whose type is workload"),
    column(
        "nodes_application",
        "integer",
        "nodes whose type is application",
    ),
    column(
        "nodes_other",
        "integer",
        "nodes of any other type (unknown, ...)",
    ),
    column(
        "critical_alerts",
        "integer",
        "evaluated alerts of severity critical (krkn-lib 7 `alerts`)",
    ),
    column(
        "critical_alerts_post_chaos",
        "integer",
        "of those, alerts evaluated after the chaos (phase post)",
    ),
    column(
        "resiliency_score",
        "number",
        "krkn's resiliency score of the run",
    ),
    column("scenario_count", "integer", "scenarios in the run"),
    column(
        "scenario_index",
        "integer",
        "position of the scenario in the run, from 0",
    ),
    column("scenario", "string", "the scenario file krkn ran"),
    column("scenario_type", "string", "the scenario plugin type"),
    column("start_timestamp", "number", "scenario start, unix seconds"),
    column("end_timestamp", "number", "scenario end, unix seconds"),
    column(
        "duration_seconds",
        "number",
        "end_timestamp - start_timestamp",
    ),
    column(
        "exit_status",
        "integer",
        "the scenario's exit status (0 passed)",
    ),
    column(
        "pods_recovered",
        "integer",
        "disrupted pods that became ready again",
    ),
    column("pods_unrecovered", "integer", "disrupted pods that did not"),
    column(
        "pod_recovery_seconds_mean",
        "number",
        "mean total_recovery_time of the recovered pods",
    ),
    column(
        "pod_recovery_seconds_max",
        "number",
        "largest total_recovery_time of the recovered pods",
    ),
    column(
        "pod_readiness_seconds_max",
        "number",
        "largest pod_readiness_time of the recovered pods",
    ),
    column(
        "pod_rescheduling_seconds_max",
        "number",
        "largest pod_rescheduling_time of the recovered pods",
    ),
    column(
        "vmis_recovered",
        "integer",
        "disrupted VMIs that became ready again",
    ),
    column("vmis_unrecovered", "integer", "disrupted VMIs that did not"),
    column(
        "vmi_recovery_seconds_max",
        "number",
        "largest total_recovery_time of the recovered VMIs",
    ),
    column("nodes_affected", "integer", "nodes the scenario disrupted"),
    column(
        "cluster_events",
        "integer",
        "relevant cluster events seen during the scenario",
    ),
];

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
    for kind in [
        "master",
        "worker",
        "infra",
        "workload",
        "application",
        "other",
    ] {
        put(
            &format!("nodes_{kind}"),
            Value::from(nodes.get(kind).copied().unwrap_or(0)),
        );
    }
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
    put("critical_alerts", count(critical.len()));
    put(
        "critical_alerts_post_chaos",
        count(
            critical
                .iter()
                .filter(|a| a.phase.get().is_some_and(|p| p == "post"))
                .count(),
        ),
    );
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

/// A row as the JSON text the index stores: the fixed columns in [`COLUMNS`] order (each one
/// present, `null` when unknown), then the data's columns sorted by name. Exports copy this
/// text as it is (NDJSON) or walk it in order (CSV) without building a tree.
pub fn render_row(row: &Row) -> String {
    let mut out = Vec::with_capacity(2048);
    out.push(b'{');
    let mut first = true;
    let mut field = |out: &mut Vec<u8>, name: &str, value: &Value| {
        if !first {
            out.push(b',');
        }
        first = false;
        // Strings and values always serialize.
        let _ = serde_json::to_writer(&mut *out, name);
        out.push(b':');
        let _ = serde_json::to_writer(&mut *out, value);
    };
    for column in COLUMNS {
        field(
            &mut out,
            column.name,
            row.get(column.name).unwrap_or(&Value::Null),
        );
    }
    for (name, value) in row {
        if is_dynamic_column(name) {
            field(&mut out, name, value);
        }
    }
    out.push(b'}');
    String::from_utf8(out).unwrap_or_default()
}

/// The entries of a rendered row in their order, keys and values borrowed from the text
/// (a key is copied only when it holds an escape).
pub fn row_entries(text: &str) -> Result<Vec<(Cow<'_, str>, &RawValue)>, serde_json::Error> {
    struct Entries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);
    struct Key<'a>(Cow<'a, str>);
    impl<'de> Deserialize<'de> for Key<'de> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct KeyVisitor;
            impl<'de> Visitor<'de> for KeyVisitor {
                type Value = Key<'de>;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a column name")
                }
                fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Borrowed(v)))
                }
                fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Owned(v.to_owned())))
                }
            }
            deserializer.deserialize_str(KeyVisitor)
        }
    }
    impl<'de> Deserialize<'de> for Entries<'de> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct EntriesVisitor;
            impl<'de> Visitor<'de> for EntriesVisitor {
                type Value = Entries<'de>;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("an export row (a JSON object)")
                }
                fn visit_map<A: MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Entries<'de>, A::Error> {
                    let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(64));
                    while let Some((Key(key), value)) =
                        map.next_entry::<Key<'de>, &'de RawValue>()?
                    {
                        entries.push((key, value));
                    }
                    Ok(Entries(entries))
                }
            }
            deserializer.deserialize_map(EntriesVisitor)
        }
    }
    serde_json::from_str::<Entries<'_>>(text).map(|e| e.0)
}

/// The text of a scalar cell for CSV: strings unquoted, `null` empty, numbers and booleans as
/// written.
pub fn cell_text(value: &RawValue) -> Cow<'_, str> {
    let raw = value.get();
    match raw.as_bytes().first() {
        Some(b'"') if !raw.contains('\\') => Cow::Borrowed(&raw[1..raw.len() - 1]),
        Some(b'"') => serde_json::from_str::<String>(raw).map_or(Cow::Borrowed(""), Cow::Owned),
        _ if raw == "null" => Cow::Borrowed(""),
        _ => Cow::Borrowed(raw),
    }
}

/// True for the columns that depend on the data (`parameters.*`, `objects.*`, `parameters`).
pub fn is_dynamic_column(name: &str) -> bool {
    name.starts_with(PARAMETERS_PREFIX) || name.starts_with(OBJECTS_PREFIX) || name == "parameters"
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
        let readme = include_str!("../../../README.md");
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

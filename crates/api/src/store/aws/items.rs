//! How runs, scenarios and users are written as DynamoDB items, and read back (the table's
//! layout is in the module documentation of `aws` and in ARCHITECTURE.md).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use krkn_telemetry_model::export::EXPORT_VERSION;

use crate::store::{RunPosition, RunRecord, RunSummary, ScenarioRecord};

/// An item: attribute names and values.
pub(super) type Item = HashMap<String, AttributeValue>;

/// A string value.
pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A string attribute of `item`, empty when absent.
pub(super) fn text(item: &Item, name: &str) -> String {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

/// A number attribute of `item`, 0 when absent.
pub(super) fn number(item: &Item, name: &str) -> u64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0)
}

/// The partition of a group's runs and scenarios (`pk`).
pub(super) fn group_partition(group: &str) -> String {
    format!("GROUP#{group}")
}

/// The sort key of a run's item (`sk`).
pub(super) fn run_sort_key(request_id: &str) -> String {
    format!("RUN#{request_id}")
}

/// What the sort keys of a run's scenario items start with.
pub(super) fn scenario_prefix(request_id: &str) -> String {
    format!("RUN#{request_id}#SCENARIO#")
}

/// The sort key of a run in `gsi1` (all runs: time, group, request id) or, for one group,
/// in `gsi2` (time, request id). Every one starts with the filing time.
pub(super) fn time_sort_key(
    one_group: bool,
    filed_at: &str,
    group: &str,
    request_id: &str,
) -> String {
    if one_group {
        format!("{filed_at}#{request_id}")
    } else {
        format!("{filed_at}#{group}/{request_id}")
    }
}

/// The item of one scenario of `run`.
pub(super) fn scenario_item(run: &RunRecord, scenario: &ScenarioRecord) -> Item {
    let mut item = HashMap::from([
        ("pk".to_owned(), s(group_partition(&run.group))),
        (
            "sk".to_owned(),
            s(format!(
                "{}{:04}",
                scenario_prefix(&run.request_id),
                scenario.index
            )),
        ),
        ("scenario".to_owned(), s(&scenario.scenario)),
        ("scenario_type".to_owned(), s(&scenario.scenario_type)),
    ]);
    // The layout version even without a row (one too long to keep): the entry is current,
    // and `fsck` does not call it stale.
    item.insert(
        "export_version".to_owned(),
        AttributeValue::N(EXPORT_VERSION.to_string()),
    );
    if let Some(row) = &scenario.export_row {
        item.insert("export_row".to_owned(), s(row));
    }
    let numbers = [
        ("exit_status", scenario.exit_status.map(|n| n.to_string())),
        (
            "start_timestamp",
            scenario.start_timestamp.map(|n| n.to_string()),
        ),
        (
            "end_timestamp",
            scenario.end_timestamp.map(|n| n.to_string()),
        ),
    ];
    for (name, value) in numbers {
        if let Some(value) = value {
            item.insert(name.to_owned(), AttributeValue::N(value));
        }
    }
    item
}

/// The attribute DynamoDB's TTL reads (unix seconds); queries skip items past it.
pub(super) const EXPIRES_AT: &str = "expires_at";

/// Marks `item` of a run filed at `filed_at` to expire `after` that (see
/// `AwsSettings::index_expiry`). S3 expires an object `after` its creation rounded up to the
/// next midnight UTC, and the document is written before the run is filed, so the item
/// never expires later than its document.
pub(super) fn expire(item: &mut Item, filed_at: &str, after: Option<Duration>) {
    let Some(after) = after else {
        return;
    };
    let filed = chrono::DateTime::parse_from_rfc3339(filed_at)
        .map(|t| t.timestamp())
        .unwrap_or_else(|_| crate::time::unix_now());
    let at = filed.saturating_add(after.as_secs() as i64);
    item.insert(EXPIRES_AT.to_owned(), AttributeValue::N(at.to_string()));
}

/// The item of `run` itself, with its keys in both time indexes.
pub(super) fn run_item(run: &RunRecord) -> Item {
    let pk = group_partition(&run.group);
    let mut item = HashMap::from([
        ("pk".to_owned(), s(&pk)),
        ("sk".to_owned(), s(run_sort_key(&run.request_id))),
        ("gsi1pk".to_owned(), s("RUNS")),
        (
            "gsi1sk".to_owned(),
            s(time_sort_key(
                false,
                &run.filed_at,
                &run.group,
                &run.request_id,
            )),
        ),
        ("gsi2pk".to_owned(), s(&pk)),
        (
            "gsi2sk".to_owned(),
            s(time_sort_key(
                true,
                &run.filed_at,
                &run.group,
                &run.request_id,
            )),
        ),
        ("group".to_owned(), s(&run.group)),
        ("request_id".to_owned(), s(&run.request_id)),
        ("run_uuid".to_owned(), s(&run.run_uuid)),
        ("run_tag".to_owned(), s(&run.run_tag)),
        ("major_version".to_owned(), s(&run.major_version)),
        ("filed_at".to_owned(), s(&run.filed_at)),
        ("cluster_version".to_owned(), s(&run.cluster_version)),
        (
            "cloud_infrastructure".to_owned(),
            s(&run.cloud_infrastructure),
        ),
        ("document_sha256".to_owned(), s(&run.document_sha256)),
        (
            "document_bytes".to_owned(),
            AttributeValue::N(run.document_bytes.to_string()),
        ),
        (
            "scenario_count".to_owned(),
            AttributeValue::N(run.scenarios.len().to_string()),
        ),
    ]);
    if let Some(status) = run.job_status {
        item.insert("job_status".to_owned(), AttributeValue::Bool(status));
    }
    let types = run.scenario_types();
    // A string set cannot be empty: a run without scenarios has none.
    if !types.is_empty() {
        item.insert("scenario_types".to_owned(), AttributeValue::Ss(types));
    }
    item
}

/// A listed run from its index item.
pub(super) fn run_summary(item: &Item) -> RunSummary {
    let mut scenario_types: Vec<String> = item
        .get("scenario_types")
        .and_then(|v| v.as_ss().ok())
        .cloned()
        .unwrap_or_default();
    scenario_types.sort();
    RunSummary {
        group: text(item, "group"),
        request_id: text(item, "request_id"),
        run_uuid: text(item, "run_uuid"),
        run_tag: text(item, "run_tag"),
        filed_at: text(item, "filed_at"),
        cluster_version: text(item, "cluster_version"),
        major_version: text(item, "major_version"),
        cloud_infrastructure: text(item, "cloud_infrastructure"),
        job_status: item
            .get("job_status")
            .and_then(|v| v.as_bool().ok())
            .copied(),
        scenario_count: number(item, "scenario_count"),
        scenario_types,
        document_bytes: number(item, "document_bytes"),
    }
}

/// Where a DynamoDB page stopped, as a run position (`pk`, `sk` and the filing time).
pub(super) fn position_of_key(key: &Item) -> Option<RunPosition> {
    let group = text(key, "pk").strip_prefix("GROUP#")?.to_owned();
    let request_id = text(key, "sk").strip_prefix("RUN#")?.to_owned();
    let sort = key
        .get("gsi2sk")
        .or_else(|| key.get("gsi1sk"))
        .and_then(|v| v.as_s().ok())?;
    let filed_at = sort.split_once('#')?.0.to_owned();
    Some(RunPosition {
        filed_at,
        group,
        request_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run's item reads back as the run it was written from, and its index keys give its
    /// position back.
    #[test]
    fn a_run_item_reads_back_as_its_run() {
        let run = RunRecord {
            group: "perf".to_owned(),
            request_id: "1764000000-abc-nightly".to_owned(),
            run_uuid: "abc".to_owned(),
            filed_at: "2026-12-01T08:00:00Z".to_owned(),
            cluster_version: "4.18.0".to_owned(),
            major_version: "4.18".to_owned(),
            run_tag: "nightly".to_owned(),
            cloud_infrastructure: "AWS".to_owned(),
            job_status: Some(false),
            document_sha256: "x".to_owned(),
            document_bytes: 10,
            scenarios: vec![ScenarioRecord {
                index: 0,
                scenario: "s.yaml".to_owned(),
                scenario_type: "node_scenarios".to_owned(),
                exit_status: Some(1),
                start_timestamp: Some(1.5),
                end_timestamp: None,
                export_row: None,
            }],
        };
        let item = run_item(&run);
        let summary = run_summary(&item);
        assert_eq!(summary.request_id, run.request_id);
        assert_eq!(summary.scenario_types, ["node_scenarios"]);
        assert_eq!(summary.scenario_count, 1);
        assert_eq!(summary.job_status, Some(false));
        assert_eq!(position_of_key(&item), Some(RunPosition::of(&summary)));
        let scenario = scenario_item(&run, &run.scenarios[0]);
        assert_eq!(
            text(&scenario, "sk"),
            "RUN#1764000000-abc-nightly#SCENARIO#0000"
        );
        assert!(!scenario.contains_key("end_timestamp"));
        assert!(!scenario.contains_key("export_row"));
    }
}

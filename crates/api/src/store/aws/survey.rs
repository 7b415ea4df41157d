//! What `fsck` reads of the table: the groups with run items (`gsi1`), and a group's
//! partition item by item (`Query` on `pk = GROUP#<group>`: each run item followed by its
//! scenario items). Only `Query`, which the function's policy grants; no `Scan`. Items past
//! their `expires_at` are skipped, as every list skips them.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::types::AttributeValue;
use krkn_telemetry_model::export::EXPORT_VERSION;

use super::items::{EXPIRES_AT, Item, group_partition, number, s, text};
use super::{AwsStore, explain, remote};
use crate::store::StoreError;
use crate::store::survey::{IndexedRun, RunEntryFacts};

/// True when the item's `expires_at` has passed.
fn expired(item: &Item, now: i64) -> bool {
    item.get(EXPIRES_AT)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<i64>().ok())
        .is_some_and(|at| at <= now)
}

impl AwsStore {
    /// The groups with at least one run item.
    pub(super) async fn groups_of_run_items(&self) -> Result<Vec<String>, StoreError> {
        let now = crate::time::unix_now();
        let mut groups = BTreeSet::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .dynamo
                .query()
                .table_name(&self.table)
                .index_name("gsi1")
                .key_condition_expression("gsi1pk = :runs")
                .expression_attribute_values(":runs", s("RUNS"))
                .projection_expression("#group, #expires")
                .expression_attribute_names("#group", "group")
                .expression_attribute_names("#expires", EXPIRES_AT)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| remote("DynamoDB Query", explain(e)))?;
            for item in page.items() {
                if !expired(item, now) {
                    groups.insert(text(item, "group"));
                }
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        groups.remove("");
        Ok(groups.into_iter().collect())
    }

    /// Every run key of `group` with items, by request id.
    pub(super) async fn survey_partition(
        &self,
        group: &str,
    ) -> Result<Vec<IndexedRun>, StoreError> {
        let now = crate::time::unix_now();
        let current = EXPORT_VERSION.to_string();
        let mut found: BTreeMap<String, IndexedRun> = BTreeMap::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .dynamo
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :runs)")
                .expression_attribute_values(":pk", s(group_partition(group)))
                .expression_attribute_values(":runs", s("RUN#"))
                .projection_expression(
                    "sk, filed_at, document_bytes, scenario_count, gsi2pk, export_version, #expires",
                )
                .expression_attribute_names("#expires", EXPIRES_AT)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| remote("DynamoDB Query", explain(e)))?;
            for item in page.items() {
                if expired(item, now) {
                    continue;
                }
                let sort_key = text(item, "sk");
                let Some(rest) = sort_key.strip_prefix("RUN#") else {
                    continue;
                };
                match rest.split_once("#SCENARIO#") {
                    Some((request_id, _)) => {
                        let run = found.entry(request_id.to_owned()).or_default();
                        run.scenario_entries += 1;
                        let fresh = matches!(item.get("export_version"),
                            Some(AttributeValue::N(v)) if *v == current);
                        if !fresh {
                            run.stale_rows += 1;
                        }
                    }
                    None => {
                        found.entry(rest.to_owned()).or_default().entry = Some(RunEntryFacts {
                            filed_at: text(item, "filed_at"),
                            document_bytes: number(item, "document_bytes"),
                            scenario_count: number(item, "scenario_count"),
                            current_layout: item.contains_key("gsi2pk"),
                        });
                    }
                }
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        Ok(found
            .into_iter()
            .map(|(request_id, run)| IndexedRun { request_id, ..run })
            .collect())
    }
}

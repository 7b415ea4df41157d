//! The run index in DynamoDB: a run's items (scenarios first, the run item last, so that a
//! run item means the run is fully indexed), counts, stored export rows, and pages of runs
//! as `Query` calls on `gsi1` or `gsi2` (never a `Scan`).

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use futures_util::StreamExt;
use krkn_telemetry_model::export::EXPORT_VERSION;

use super::items::{
    EXPIRES_AT, Item, expire, group_partition, position_of_key, run_item, run_sort_key,
    run_summary, s, scenario_item, scenario_prefix, time_sort_key,
};
use super::{AwsStore, explain, remote};
use crate::store::{
    IndexedRun, RunIndex, RunPage, RunPosition, RunQuery, RunRecord, RunSummary, StoreError,
    StoredRow,
};

/// DynamoDB reads one run query may make before it returns a shorter page and a cursor.
const QUERY_READS_PER_PAGE: usize = 8;

/// Items one `BatchWriteItem` may carry.
pub(super) const BATCH_WRITE_ITEMS: usize = 25;

/// Attempts at the items a `BatchWriteItem` left unprocessed (throttling) before giving up.
const BATCH_WRITE_ATTEMPTS: usize = 8;

#[async_trait]
impl RunIndex for AwsStore {
    async fn index_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        let scenario_items: Vec<WriteRequest> = run
            .scenarios
            .iter()
            .map(|scenario| {
                let mut item = scenario_item(run, scenario);
                expire(&mut item, &run.filed_at, self.index_expiry);
                PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map(|put| WriteRequest::builder().put_request(put).build())
                    .map_err(|e| remote("DynamoDB", e))
            })
            .collect::<Result<_, _>>()?;
        for chunk in scenario_items.chunks(BATCH_WRITE_ITEMS) {
            self.batch_write(chunk.to_vec()).await?;
        }
        self.dynamo
            .put_item()
            .table_name(&self.table)
            .set_item(Some({
                let mut item = run_item(run);
                expire(&mut item, &run.filed_at, self.index_expiry);
                item
            }))
            .send()
            .await
            .map_err(|e| remote("DynamoDB PutItem", explain(e)))?;
        Ok(())
    }

    async fn run_counts(&self, group: &str, request_id: &str) -> Result<(u64, u64), StoreError> {
        let pk = group_partition(group);
        let run = self
            .dynamo
            .get_item()
            .table_name(&self.table)
            .key("pk", s(&pk))
            .key("sk", s(run_sort_key(request_id)))
            .send()
            .await
            .map_err(|e| remote("DynamoDB GetItem", explain(e)))?;
        let mut scenarios = 0u64;
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .dynamo
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", s(&pk))
                .expression_attribute_values(":prefix", s(scenario_prefix(request_id)))
                .set_exclusive_start_key(start)
                .select(aws_sdk_dynamodb::types::Select::Count)
                .send()
                .await
                .map_err(|e| remote("DynamoDB Query", explain(e)))?;
            scenarios += page.count().max(0) as u64;
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        Ok((u64::from(run.item.is_some()), scenarios))
    }

    async fn remove_run(&self, group: &str, request_id: &str) -> Result<bool, StoreError> {
        self.delete_run_items(group, request_id).await
    }

    async fn indexed_groups(&self) -> Result<Vec<String>, StoreError> {
        self.groups_of_run_items().await
    }

    async fn survey_group(&self, group: &str) -> Result<Vec<IndexedRun>, StoreError> {
        self.survey_partition(group).await
    }

    async fn export_rows(
        &self,
        runs: &[RunSummary],
    ) -> Result<Vec<Option<Vec<StoredRow>>>, StoreError> {
        // One Query per run (its scenario items share its partition), eight at a time, in order.
        let queries: Vec<_> = runs.iter().map(|run| self.run_export_rows(run)).collect();
        futures_util::stream::iter(queries)
            .buffered(8)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }

    async fn query_runs(&self, query: &RunQuery) -> Result<RunPage, StoreError> {
        // No group the caller may see, or the group asked for is not one of them.
        if let Some(allowed) = &query.allowed_groups
            && (allowed.is_empty() || query.group.as_ref().is_some_and(|g| !allowed.contains(g)))
        {
            return Ok(RunPage::default());
        }
        let plan = RunsQuery::new(query);
        let mut start = query.after.as_ref().map(|after| plan.start_key(after));
        let mut runs = Vec::new();
        // Sparse filters over many runs: stop after a bounded number of reads and hand out a
        // cursor, rather than hold the request.
        for _read in 0..QUERY_READS_PER_PAGE {
            let page = self
                .dynamo
                .query()
                .table_name(&self.table)
                .index_name(plan.index)
                .key_condition_expression(&plan.key_condition)
                .set_filter_expression(plan.filter.clone())
                .set_expression_attribute_names(Some(plan.names.clone()))
                .set_expression_attribute_values(Some(plan.values.clone()))
                .scan_index_forward(false)
                .limit(query.limit.clamp(25, 1000) as i32)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| remote("DynamoDB Query", explain(e)))?;
            for item in page.items() {
                runs.push(run_summary(item));
                if runs.len() == query.limit {
                    let next = runs.last().map(RunPosition::of);
                    return Ok(RunPage { runs, next });
                }
            }
            match page.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(RunPage { runs, next: None }),
            }
        }
        // Out of reads: continue from the last item read (a run, matched or not).
        let next = start.as_ref().and_then(position_of_key);
        Ok(RunPage { runs, next })
    }
}

impl AwsStore {
    /// Writes (puts or deletes) `requests` with `BatchWriteItem`, retrying what DynamoDB leaves unprocessed.
    pub(super) async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        let mut pending = HashMap::from([(self.table.clone(), requests)]);
        for _attempt in 0..BATCH_WRITE_ATTEMPTS {
            let output = self
                .dynamo
                .batch_write_item()
                .set_request_items(Some(pending))
                .send()
                .await
                .map_err(|e| remote("DynamoDB BatchWriteItem", explain(e)))?;
            pending = output.unprocessed_items.unwrap_or_default();
            if pending.values().all(Vec::is_empty) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(remote(
            "DynamoDB BatchWriteItem",
            "items stayed unprocessed after 8 attempts",
        ))
    }

    /// The export rows of one run's scenario items, `None` when one lacks a current row.
    async fn run_export_rows(
        &self,
        run: &RunSummary,
    ) -> Result<Option<Vec<StoredRow>>, StoreError> {
        let mut rows = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .dynamo
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", s(group_partition(&run.group)))
                .expression_attribute_values(":prefix", s(scenario_prefix(&run.request_id)))
                .projection_expression("scenario_type, export_version, export_row")
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| remote("DynamoDB Query", explain(e)))?;
            for item in page.items() {
                match stored_row(item) {
                    Some(row) => rows.push(row),
                    None => return Ok(None),
                }
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        Ok((rows.len() as u64 == run.scenario_count).then_some(rows))
    }
}

/// The export row of a scenario item, `None` without one of the current layout version.
fn stored_row(item: &Item) -> Option<StoredRow> {
    let current = matches!(item.get("export_version"),
        Some(AttributeValue::N(v)) if v == &EXPORT_VERSION.to_string());
    match item.get("export_row") {
        Some(AttributeValue::S(text)) if current => Some(StoredRow {
            scenario_type: match item.get("scenario_type") {
                Some(AttributeValue::S(t)) => t.clone(),
                _ => String::new(),
            },
            text: text.clone(),
        }),
        _ => None,
    }
}

/// A [`RunQuery`] as a DynamoDB `Query`: the index, the key condition (partition and time
/// range) and the other filters as a filter expression — the same rules as
/// [`RunQuery::accepts`], held to it by the store property test.
struct RunsQuery {
    /// `gsi2` for one group (asked for, or the only one the caller may see), else `gsi1`.
    index: &'static str,
    /// The index's partition value.
    partition: String,
    /// True on `gsi2`, whose sort keys omit the group.
    one_group: bool,
    key_condition: String,
    filter: Option<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl RunsQuery {
    fn new(query: &RunQuery) -> Self {
        let single_group = query.group.clone().or_else(|| match &query.allowed_groups {
            Some(groups) if groups.len() == 1 => Some(groups[0].clone()),
            _ => None,
        });
        let (index, partition) = match &single_group {
            Some(group) => ("gsi2", group_partition(group)),
            None => ("gsi1", "RUNS".to_owned()),
        };
        let mut plan = RunsQuery {
            index,
            partition,
            one_group: single_group.is_some(),
            key_condition: "#pk = :pk".to_owned(),
            filter: None,
            names: HashMap::from([("#pk".to_owned(), format!("{index}pk"))]),
            values: HashMap::new(),
        };
        plan.values.insert(":pk".to_owned(), s(&plan.partition));
        plan.add_time_range(query);
        plan.add_filters(query, single_group.is_none());
        plan
    }

    /// The filing-time range, in the key condition: every sort key starts with the time.
    fn add_time_range(&mut self, query: &RunQuery) {
        // Times are compared as text; `until` covers every key of its second.
        let until = |until: &String| s(format!("{until}#\u{10FFFF}"));
        match (&query.since, &query.until) {
            (Some(since), Some(to)) => {
                self.key_condition
                    .push_str(" AND #sk BETWEEN :since AND :until");
                self.values.insert(":since".to_owned(), s(since));
                self.values.insert(":until".to_owned(), until(to));
            }
            (Some(since), None) => {
                self.key_condition.push_str(" AND #sk >= :since");
                self.values.insert(":since".to_owned(), s(since));
            }
            (None, Some(to)) => {
                self.key_condition.push_str(" AND #sk <= :until");
                self.values.insert(":until".to_owned(), until(to));
            }
            (None, None) => {}
        }
        // DynamoDB refuses names the expressions do not use.
        if self.key_condition.contains("#sk") {
            self.names
                .insert("#sk".to_owned(), format!("{}sk", self.index));
        }
    }

    /// Every other filter, in the filter expression; the caller's groups too when the
    /// index holds more than one.
    fn add_filters(&mut self, query: &RunQuery, many_groups: bool) {
        let mut filters: Vec<String> = Vec::new();
        let mut text_filter = |expression: &str, placeholder: &str, value: &Option<String>| {
            if let Some(value) = value {
                filters.push(expression.to_owned());
                self.values.insert(placeholder.to_owned(), s(value));
            }
        };
        text_filter(
            "contains(scenario_types, :scenario_type)",
            ":scenario_type",
            &query.scenario_type,
        );
        text_filter(
            "major_version = :major_version",
            ":major_version",
            &query.major_version,
        );
        text_filter("cloud_infrastructure = :cloud", ":cloud", &query.cloud);
        text_filter("contains(run_tag, :run_tag)", ":run_tag", &query.run_tag);
        if let Some(j) = query.job_status {
            filters.push("job_status = :job_status".to_owned());
            self.values
                .insert(":job_status".to_owned(), AttributeValue::Bool(j));
        }
        if let (true, Some(groups)) = (many_groups, &query.allowed_groups) {
            let placeholders: Vec<String> = (0..groups.len()).map(|i| format!(":g{i}")).collect();
            for (placeholder, group) in placeholders.iter().zip(groups) {
                self.values.insert(placeholder.clone(), s(group));
            }
            self.names.insert("#group".to_owned(), "group".to_owned());
            filters.push(format!("#group IN ({})", placeholders.join(", ")));
        }
        // DynamoDB deletes expired items some time after `expires_at`; until then they are
        // skipped here, so a list never names a document S3 has expired.
        filters.push(format!(
            "(attribute_not_exists({EXPIRES_AT}) OR {EXPIRES_AT} > :now)"
        ));
        self.values.insert(
            ":now".to_owned(),
            AttributeValue::N(crate::time::unix_now().to_string()),
        );
        self.filter = Some(filters.join(" AND "));
    }

    /// The key to continue after `after` (the table's keys and the index's).
    fn start_key(&self, after: &RunPosition) -> Item {
        HashMap::from([
            ("pk".to_owned(), s(group_partition(&after.group))),
            ("sk".to_owned(), s(run_sort_key(&after.request_id))),
            (format!("{}pk", self.index), s(&self.partition)),
            (
                format!("{}sk", self.index),
                s(time_sort_key(
                    self.one_group,
                    &after.filed_at,
                    &after.group,
                    &after.request_id,
                )),
            ),
        ])
    }
}

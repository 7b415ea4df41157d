//! Retention rules in the table: `pk = RETENTION, sk = <group>` (`*` for the default),
//! `days`.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::items::{Item, s};
use super::{AwsStore, explain, remote};
use crate::store::retention::{DEFAULT_RULE, RetentionRule};
use crate::store::{RetentionStore, StoreError};

/// The partition of every rule.
const PARTITION: &str = "RETENTION";

/// The days of an item, when it has a readable number.
fn days_of(item: &Item) -> Option<u32> {
    item.get("days")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
}

#[async_trait]
impl RetentionStore for AwsStore {
    async fn retention_rules(&self) -> Result<Vec<RetentionRule>, StoreError> {
        let mut rules = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .dynamo
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(PARTITION))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| remote("DynamoDB Query", explain(e)))?;
            for item in page.items() {
                let (Some(AttributeValue::S(name)), Some(days)) = (item.get("sk"), days_of(item))
                else {
                    continue;
                };
                rules.push(RetentionRule {
                    group: (name != DEFAULT_RULE).then(|| name.clone()),
                    days,
                });
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        // The default first, then by group, as on the embedded store.
        rules.sort_by(|a, b| (a.group.is_some(), &a.group).cmp(&(b.group.is_some(), &b.group)));
        Ok(rules)
    }

    async fn set_retention(
        &self,
        group: Option<&str>,
        days: Option<u32>,
    ) -> Result<Option<u32>, StoreError> {
        let name = group.unwrap_or(DEFAULT_RULE);
        let before = match days {
            Some(days) => {
                self.dynamo
                    .put_item()
                    .table_name(&self.table)
                    .item("pk", s(PARTITION))
                    .item("sk", s(name))
                    .item("days", AttributeValue::N(days.to_string()))
                    .return_values(ReturnValue::AllOld)
                    .send()
                    .await
                    .map_err(|e| remote("DynamoDB PutItem", explain(e)))?
                    .attributes
            }
            None => {
                self.dynamo
                    .delete_item()
                    .table_name(&self.table)
                    .key("pk", s(PARTITION))
                    .key("sk", s(name))
                    .return_values(ReturnValue::AllOld)
                    .send()
                    .await
                    .map_err(|e| remote("DynamoDB DeleteItem", explain(e)))?
                    .attributes
            }
        };
        Ok(before.as_ref().and_then(days_of))
    }
}

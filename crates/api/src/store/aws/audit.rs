//! The audit log in the table: `pk = AUDIT, sk = <at>#<uuid>`, read newest first by a
//! `Query` in reverse order. Records never expire (no `expires_at`).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::items::{Item, s, text};
use super::{AwsStore, explain, remote};
use crate::store::{AuditLog, AuditPage, AuditPosition, AuditQuery, AuditRecord, StoreError};

/// The partition of every record.
const PARTITION: &str = "AUDIT";

/// Queries one page may make when a limited admin's groups are rare among the records: the
/// page then ends early, with a cursor.
const MAX_QUERIES_PER_PAGE: usize = 10;

/// A record from its item.
fn record_from(item: &Item) -> AuditRecord {
    AuditRecord {
        at: text(item, "at"),
        actor: text(item, "actor"),
        via: text(item, "via"),
        source: text(item, "source"),
        action: text(item, "action"),
        target: text(item, "target"),
        group: item.get("grp").and_then(|v| v.as_s().ok()).cloned(),
        details: serde_json::from_str(&text(item, "details")).unwrap_or(serde_json::Value::Null),
    }
}

/// The position of an item (its sort key, split).
fn position_of(item: &Item) -> Option<AuditPosition> {
    AuditPosition::from_text(&text(item, "sk"))
}

#[async_trait]
impl AuditLog for AwsStore {
    async fn record(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let position = AuditPosition {
            at: record.at.clone(),
            id: uuid::Uuid::new_v4().to_string(),
        };
        let mut put = self
            .dynamo
            .put_item()
            .table_name(&self.table)
            .item("pk", s(PARTITION))
            .item("sk", s(position.to_text()))
            .item("at", s(&record.at))
            .item("actor", s(&record.actor))
            .item("via", s(&record.via))
            .item("source", s(&record.source))
            .item("action", s(&record.action))
            .item("target", s(&record.target))
            .item("details", s(record.details.to_string()));
        if let Some(group) = &record.group {
            put = put.item("grp", s(group));
        }
        put.send()
            .await
            .map_err(|e| remote("DynamoDB PutItem", explain(e)))?;
        Ok(())
    }

    async fn audit_page(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        let mut start: Option<HashMap<String, AttributeValue>> =
            query.before.as_ref().map(|position| {
                HashMap::from([
                    ("pk".to_owned(), s(PARTITION)),
                    ("sk".to_owned(), s(position.to_text())),
                ])
            });
        let mut records = Vec::new();
        let mut last = None;
        for _ in 0..MAX_QUERIES_PER_PAGE {
            let wanted = query.limit - records.len();
            let page = self
                .dynamo
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(PARTITION))
                .scan_index_forward(false)
                .limit(i32::try_from(wanted + 1).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| remote("DynamoDB Query", explain(e)))?;
            for item in page.items() {
                let record = record_from(item);
                if query.shows(&record) {
                    if records.len() == query.limit {
                        // One more shown record than asked for: there is a next page, and
                        // it starts after the last one returned (or skipped).
                        return Ok(AuditPage {
                            records,
                            next: last,
                        });
                    }
                    records.push(record);
                }
                last = position_of(item);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(AuditPage {
                    records,
                    next: None,
                });
            }
        }
        // The query budget is spent before the page is full: the client asks again from here.
        Ok(AuditPage {
            records,
            next: last,
        })
    }
}

//! Deleting a run from S3 + DynamoDB: the run's item first (a run item means the run is
//! fully indexed, so a list stops naming it at once), then its scenario items, then its
//! objects. A delete cut short leaves scenario items or objects without a run item, which
//! deleting again removes.

use aws_sdk_dynamodb::types::{DeleteRequest, ReturnValue, WriteRequest};
use futures_util::StreamExt;

use super::index::BATCH_WRITE_ITEMS;
use super::items::{Item, group_partition, run_sort_key, s, scenario_prefix};
use super::{AwsStore, explain, remote};
use crate::store::StoreError;

/// Keys one listing returns at most (S3's own maximum).
const LIST_KEYS: i32 = 1000;

/// `DeleteObject` calls in flight at once.
const DELETES_AT_ONCE: usize = 16;

impl AwsStore {
    /// Deletes the run item and the scenario items of `group/request_id`; true when the run
    /// item was there.
    pub(super) async fn delete_run_items(
        &self,
        group: &str,
        request_id: &str,
    ) -> Result<bool, StoreError> {
        let pk = group_partition(group);
        let removed = self
            .dynamo
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(&pk))
            .key("sk", s(run_sort_key(request_id)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| remote("DynamoDB DeleteItem", explain(e)))?;
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .dynamo
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", s(&pk))
                .expression_attribute_values(":prefix", s(scenario_prefix(request_id)))
                .projection_expression("pk, sk")
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| remote("DynamoDB Query", explain(e)))?;
            let deletes = page
                .items()
                .iter()
                .map(|item| {
                    DeleteRequest::builder()
                        .set_key(Some(item.clone()))
                        .build()
                        .map(|delete| WriteRequest::builder().delete_request(delete).build())
                        .map_err(|e| remote("DynamoDB", e))
                })
                .collect::<Result<Vec<_>, _>>()?;
            for chunk in deletes.chunks(BATCH_WRITE_ITEMS) {
                self.batch_write(chunk.to_vec()).await?;
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        Ok(removed.attributes.is_some_and(|a| !a.is_empty()))
    }

    /// Deletes every object whose key starts with `prefix`; how many were deleted. One
    /// `DeleteObject` per key, a few at a time: IAM authorises each key alike either way, and
    /// moto (the tests' S3) checks a batch `DeleteObjects` against the bucket instead of the
    /// keys, which a policy granting `s3:DeleteObject` on `bucket/*` alone then refuses.
    pub(super) async fn delete_objects_under(&self, prefix: &str) -> Result<usize, StoreError> {
        let mut deleted = 0;
        loop {
            // Always the first page: what was listed is deleted before the next listing.
            let page = self
                .s3
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .max_keys(LIST_KEYS)
                .send()
                .await
                .map_err(|e| remote("S3 ListObjectsV2", explain(e)))?;
            let keys: Vec<String> = page
                .contents()
                .iter()
                .filter_map(|o| o.key())
                .map(str::to_owned)
                .collect();
            if keys.is_empty() {
                return Ok(deleted);
            }
            let results: Vec<Result<(), StoreError>> = futures_util::stream::iter(keys)
                .map(|key| async move {
                    self.s3
                        .delete_object()
                        .bucket(&self.bucket)
                        .key(&key)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| remote("S3 DeleteObject", format!("{key}: {}", explain(e))))
                })
                .buffer_unordered(DELETES_AT_ONCE)
                .collect()
                .await;
            for result in results {
                result?;
                deleted += 1;
            }
            if !page.is_truncated().unwrap_or(false) {
                return Ok(deleted);
            }
        }
    }
}

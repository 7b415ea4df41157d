//! Creating the bucket and the table (local and test setups; in AWS the SAM template does
//! it), and bringing a table made by an older version up to date.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};

use super::items::EXPIRES_AT;
use super::{AwsStore, explain, remote};
use crate::store::StoreError;

impl AwsStore {
    /// Creates the bucket and the table (local and test setups; in AWS the SAM template does
    /// it). Existing ones are left as they are.
    pub async fn init(&self) -> Result<Vec<String>, StoreError> {
        let mut done = Vec::new();
        // S3 in us-east-1 answers 200 to creating a bucket you already own, so ask first.
        if self
            .s3
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .is_ok()
        {
            done.push(format!("bucket {} exists", self.bucket));
        } else {
            self.create_bucket(&mut done).await?;
        }
        self.create_table(&mut done).await?;
        self.enable_time_to_live(&mut done).await?;
        Ok(done)
    }

    /// Turns on DynamoDB's TTL on `expires_at` (what `AwsSettings::index_expiry` writes;
    /// items without it never expire), as the template does.
    async fn enable_time_to_live(&self, done: &mut Vec<String>) -> Result<(), StoreError> {
        let described = self
            .dynamo
            .describe_time_to_live()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|e| remote("DynamoDB DescribeTimeToLive", explain(e)))?;
        let enabled = described
            .time_to_live_description()
            .is_some_and(|d| d.attribute_name() == Some(EXPIRES_AT));
        if enabled {
            done.push(format!("time to live on {EXPIRES_AT} exists"));
            return Ok(());
        }
        let specification = aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
            .attribute_name(EXPIRES_AT)
            .enabled(true)
            .build()
            .map_err(|e| remote("DynamoDB", e))?;
        self.dynamo
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(specification)
            .send()
            .await
            .map_err(|e| remote("DynamoDB UpdateTimeToLive", explain(e)))?;
        done.push(format!("enabled time to live on {EXPIRES_AT}"));
        Ok(())
    }

    async fn create_bucket(&self, done: &mut Vec<String>) -> Result<(), StoreError> {
        match self.s3.create_bucket().bucket(&self.bucket).send().await {
            Ok(_) => done.push(format!("created bucket {}", self.bucket)),
            Err(e)
                if e.as_service_error().is_some_and(|s| {
                    s.is_bucket_already_owned_by_you() || s.is_bucket_already_exists()
                }) =>
            {
                done.push(format!("bucket {} exists", self.bucket));
            }
            Err(e) => return Err(remote("S3 CreateBucket", explain(e))),
        }
        Ok(())
    }

    async fn create_table(&self, done: &mut Vec<String>) -> Result<(), StoreError> {
        let gsi = |n: u8| {
            GlobalSecondaryIndex::builder()
                .index_name(format!("gsi{n}"))
                .key_schema(key_element(&format!("gsi{n}pk"), KeyType::Hash)?)
                .key_schema(key_element(&format!("gsi{n}sk"), KeyType::Range)?)
                .projection(all_attributes())
                .build()
                .map_err(|e| remote("DynamoDB", e))
        };
        let created = self
            .dynamo
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key_element("pk", KeyType::Hash)?)
            .key_schema(key_element("sk", KeyType::Range)?)
            .attribute_definitions(string_attribute("pk")?)
            .attribute_definitions(string_attribute("sk")?)
            .attribute_definitions(string_attribute("gsi1pk")?)
            .attribute_definitions(string_attribute("gsi1sk")?)
            .attribute_definitions(string_attribute("gsi2pk")?)
            .attribute_definitions(string_attribute("gsi2sk")?)
            .global_secondary_indexes(gsi(1)?)
            .global_secondary_indexes(gsi(2)?)
            .send()
            .await;
        match created {
            Ok(_) => done.push(format!("created table {}", self.table)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_in_use_exception()) =>
            {
                done.push(format!("table {} exists", self.table));
                self.add_group_index(done).await?;
            }
            Err(e) => return Err(remote("DynamoDB CreateTable", explain(e))),
        }
        Ok(())
    }

    /// Adds the group index `gsi2` to a table created before run queries, when it lacks it.
    async fn add_group_index(&self, done: &mut Vec<String>) -> Result<(), StoreError> {
        // Tables created before run queries lack the group index: add it.
        let described = self
            .dynamo
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|e| remote("DynamoDB DescribeTable", explain(e)))?;
        let has_gsi2 = described
            .table()
            .map(|t| t.global_secondary_indexes())
            .is_some_and(|indexes| indexes.iter().any(|i| i.index_name() == Some("gsi2")));
        if !has_gsi2 {
            let create = aws_sdk_dynamodb::types::CreateGlobalSecondaryIndexAction::builder()
                .index_name("gsi2")
                .key_schema(key_element("gsi2pk", KeyType::Hash)?)
                .key_schema(key_element("gsi2sk", KeyType::Range)?)
                .projection(all_attributes())
                .build()
                .map_err(|e| remote("DynamoDB", e))?;
            self.dynamo
                .update_table()
                .table_name(&self.table)
                .attribute_definitions(string_attribute("gsi2pk")?)
                .attribute_definitions(string_attribute("gsi2sk")?)
                .global_secondary_index_updates(
                    aws_sdk_dynamodb::types::GlobalSecondaryIndexUpdate::builder()
                        .create(create)
                        .build(),
                )
                .send()
                .await
                .map_err(|e| remote("DynamoDB UpdateTable", explain(e)))?;
            done.push(format!(
                "added index gsi2 to table {} (runs filed before are listed by group \
                 once filed again)",
                self.table
            ));
        }
        Ok(())
    }
}

/// A key of the table or an index.
fn key_element(name: &str, kind: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|e| remote("DynamoDB", e))
}

/// A string attribute that a key names.
fn string_attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| remote("DynamoDB", e))
}

/// An index holds whole items (queries answer from it without reading the table).
fn all_attributes() -> Projection {
    Projection::builder()
        .projection_type(ProjectionType::All)
        .build()
}

//! The AWS store: documents and files in S3, the run index and users in one DynamoDB table.
//!
//! Table layout (also in ARCHITECTURE.md): runs `pk = GROUP#<group>, sk = RUN#<request_id>`;
//! scenarios `sk = RUN#<request_id>#SCENARIO#<0000>`; users `pk = USERS, sk = <name>`; GSI
//! `gsi1` lists runs by time (`gsi1pk = RUNS, gsi1sk = <filed time>#<group>/<request_id>`),
//! `gsi2` a group's runs by time (`gsi2pk = GROUP#<group>, gsi2sk = <filed time>#<request_id>`).
//! Run queries are DynamoDB `Query` calls on one of the two, newest first, with the other
//! filters as a filter expression; never a `Scan`.
//! `AWS_ENDPOINT_URL` points both clients at S3- and DynamoDB-compatible servers (moto).

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, PutRequest, ScalarAttributeType, WriteRequest,
};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use base64::Engine;
use futures_util::StreamExt;
use krkn_telemetry_model::export::EXPORT_VERSION;

use super::{
    ListEntry, ObjectInfo, ObjectStore, PutOutcome, RunIndex, RunPage, RunPosition, RunQuery,
    RunRecord, RunSummary, StoreError, StoredRow, UploadRequest, UserRecord, UserStore,
};

/// The HTTPS client of every SDK call (and of credential providers): hyper with rustls on
/// ring, the crypto the rest of the project uses, instead of the SDK's default aws-lc.
pub fn http_client() -> aws_sdk_s3::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// Where the AWS store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    /// S3 bucket (`BUCKET_NAME`).
    pub bucket: String,
    /// DynamoDB table (`TABLE_NAME`).
    pub table: String,
    /// S3- and DynamoDB-compatible endpoint (`AWS_ENDPOINT_URL`); path-style S3 addressing.
    pub endpoint: Option<String>,
    /// An endpoint for S3 alone (`AWS_ENDPOINT_URL_S3`, the SDK's own name), overriding
    /// `endpoint` for S3.
    pub s3_endpoint: Option<String>,
}

impl AwsSettings {
    /// Reads `BUCKET_NAME`, `TABLE_NAME` and `AWS_ENDPOINT_URL`.
    pub fn from_env() -> Result<Self, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let mut missing = Vec::new();
        let bucket = var("BUCKET_NAME").unwrap_or_else(|| {
            missing.push("BUCKET_NAME");
            String::new()
        });
        let table = var("TABLE_NAME").unwrap_or_else(|| {
            missing.push("TABLE_NAME");
            String::new()
        });
        if !missing.is_empty() {
            return Err(format!(
                "the aws store needs {} in the environment",
                missing.join(" and ")
            ));
        }
        Ok(AwsSettings {
            bucket,
            table,
            endpoint: var("AWS_ENDPOINT_URL"),
            s3_endpoint: var("AWS_ENDPOINT_URL_S3"),
        })
    }
}

/// S3 + DynamoDB.
pub struct AwsStore {
    s3: aws_sdk_s3::Client,
    dynamo: aws_sdk_dynamodb::Client,
    bucket: String,
    table: String,
}

fn remote(service: &'static str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Remote {
        service,
        message: error.to_string(),
    }
}

/// The full message of an SDK error (its `Display` is often just "service error").
fn explain<E: std::error::Error>(error: E) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl AwsStore {
    /// The body of the object under `key`, not read yet; `None` when there is none.
    async fn open(&self, key: &str) -> Result<Option<ByteStream>, StoreError> {
        match self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(output) => Ok(Some(output.body)),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(remote("S3 GetObject", explain(e))),
        }
    }

    /// Clients from the default AWS configuration chain, pointed at `settings`.
    pub async fn connect(settings: &AwsSettings) -> Self {
        let mut loader =
            aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http_client());
        if let Some(endpoint) = &settings.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let shared = loader.load().await;
        let mut s3_config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(settings.endpoint.is_some() || settings.s3_endpoint.is_some());
        if let Some(endpoint) = &settings.s3_endpoint {
            s3_config = s3_config.endpoint_url(endpoint);
        }
        let s3_config = s3_config.build();
        AwsStore {
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            dynamo: aws_sdk_dynamodb::Client::new(&shared),
            bucket: settings.bucket.clone(),
            table: settings.table.clone(),
        }
    }

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
        Ok(done)
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
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(|e| remote("DynamoDB", e))
        };
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| remote("DynamoDB", e))
        };
        let gsi = |n: u8| {
            GlobalSecondaryIndex::builder()
                .index_name(format!("gsi{n}"))
                .key_schema(key(&format!("gsi{n}pk"), KeyType::Hash)?)
                .key_schema(key(&format!("gsi{n}sk"), KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(|e| remote("DynamoDB", e))
        };
        let created = self
            .dynamo
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .attribute_definitions(attribute("pk")?)
            .attribute_definitions(attribute("sk")?)
            .attribute_definitions(attribute("gsi1pk")?)
            .attribute_definitions(attribute("gsi1sk")?)
            .attribute_definitions(attribute("gsi2pk")?)
            .attribute_definitions(attribute("gsi2sk")?)
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
                    let create =
                        aws_sdk_dynamodb::types::CreateGlobalSecondaryIndexAction::builder()
                            .index_name("gsi2")
                            .key_schema(key("gsi2pk", KeyType::Hash)?)
                            .key_schema(key("gsi2sk", KeyType::Range)?)
                            .projection(
                                Projection::builder()
                                    .projection_type(ProjectionType::All)
                                    .build(),
                            )
                            .build()
                            .map_err(|e| remote("DynamoDB", e))?;
                    self.dynamo
                        .update_table()
                        .table_name(&self.table)
                        .attribute_definitions(attribute("gsi2pk")?)
                        .attribute_definitions(attribute("gsi2sk")?)
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
            }
            Err(e) => return Err(remote("DynamoDB CreateTable", explain(e))),
        }
        Ok(())
    }

    fn presigning(expires_in: Duration) -> Result<PresigningConfig, StoreError> {
        PresigningConfig::expires_in(expires_in).map_err(|e| remote("S3 presigning", e))
    }
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn text(item: &HashMap<String, AttributeValue>, name: &str) -> String {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

#[async_trait]
impl ObjectStore for AwsStore {
    async fn put_if_absent(&self, key: &str, bytes: Vec<u8>) -> Result<PutOutcome, StoreError> {
        let result = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .if_none_match("*")
            .body(ByteStream::from(bytes))
            .send()
            .await;
        match result {
            Ok(_) => Ok(PutOutcome::Created),
            Err(e)
                if e.raw_response()
                    .is_some_and(|r| matches!(r.status().as_u16(), 409 | 412)) =>
            {
                Ok(PutOutcome::AlreadyExists)
            }
            Err(e) => Err(remote("S3 PutObject", explain(e))),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(body) = self.open(key).await? else {
            return Ok(None);
        };
        let bytes = body
            .collect()
            .await
            .map_err(|e| remote("S3 GetObject", e))?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        match self
            .s3
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
            Err(e) => Err(remote("S3 HeadObject", explain(e))),
        }
    }

    async fn stat(&self, key: &str) -> Result<Option<ObjectInfo>, StoreError> {
        match self
            .s3
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
            .send()
            .await
        {
            Ok(head) => {
                use base64::Engine;
                let sha256 = head
                    .checksum_sha256()
                    // A whole-object checksum is plain base64; a multipart one ends in `-N`.
                    .filter(|c| !c.contains('-'))
                    .and_then(|c| base64::engine::general_purpose::STANDARD.decode(c).ok())
                    .filter(|d| d.len() == 32)
                    .map(hex::encode);
                Ok(Some(ObjectInfo {
                    size: head.content_length().unwrap_or(0).max(0) as u64,
                    sha256,
                }))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(remote("S3 HeadObject", explain(e))),
        }
    }

    async fn hash(&self, key: &str) -> Result<Option<String>, StoreError> {
        use sha2::Digest;
        let Some(mut body) = self.open(key).await? else {
            return Ok(None);
        };
        let mut hasher = sha2::Sha256::new();
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| remote("S3 GetObject", explain(e)))?
        {
            hasher.update(&chunk);
        }
        Ok(Some(hex::encode(hasher.finalize())))
    }

    async fn list(
        &self,
        prefix: &str,
        start_after: Option<String>,
        limit: usize,
    ) -> Result<Vec<ListEntry>, StoreError> {
        let mut entries = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut request = self
                .s3
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .delimiter("/");
            if let Some(after) = &start_after {
                request = request.start_after(format!("{prefix}{after}"));
            }
            if let Some(token) = &token {
                request = request.continuation_token(token);
            }
            let page = request
                .send()
                .await
                .map_err(|e| remote("S3 ListObjectsV2", explain(e)))?;
            for folder in page.common_prefixes() {
                if let Some(name) = folder
                    .prefix()
                    .and_then(|p| p.strip_prefix(prefix))
                    .map(|p| p.trim_end_matches('/'))
                {
                    entries.push(ListEntry::folder(name.to_owned()));
                }
            }
            for object in page.contents() {
                if let Some(name) = object.key().and_then(|k| k.strip_prefix(prefix)) {
                    entries.push(ListEntry::file(
                        name.to_owned(),
                        object.size().unwrap_or(0).max(0) as u64,
                        object
                            .last_modified()
                            .map(|t| crate::time::rfc3339(t.secs()))
                            .unwrap_or_default(),
                    ));
                }
            }
            token = page.next_continuation_token().map(str::to_owned);
            if token.is_none() || entries.len() >= limit {
                break;
            }
        }
        if let Some(after) = &start_after {
            entries.retain(|e| e.path.as_str() > after.as_str());
        }
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        entries.truncate(limit);
        Ok(entries)
    }

    async fn upload_link(&self, request: &UploadRequest) -> Result<String, StoreError> {
        let mut put = self.s3.put_object().bucket(&self.bucket).key(&request.key);
        // Old clients (krkn-lib) send none of these headers, so their links bind only the
        // host. A client that announces length and checksum also gets If-None-Match signed,
        // and must send all three.
        if let Some(length) = request.length {
            put = put.content_length(length as i64);
        }
        if let Some(hex_digest) = &request.sha256 {
            let digest = hex::decode(hex_digest).map_err(|e| remote("S3 presigning", e))?;
            put = put.checksum_sha256(base64::engine::general_purpose::STANDARD.encode(digest));
        }
        if request.length.is_some() || request.sha256.is_some() {
            put = put.if_none_match("*");
        }
        let presigned = put
            .presigned(Self::presigning(request.expires_in)?)
            .await
            .map_err(|e| remote("S3 presigning", explain(e)))?;
        Ok(presigned.uri().to_owned())
    }

    async fn download_link(
        &self,
        key: &str,
        expires_in: Duration,
        _base: &str,
    ) -> Result<String, StoreError> {
        let presigned = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(Self::presigning(expires_in)?)
            .await
            .map_err(|e| remote("S3 presigning", explain(e)))?;
        Ok(presigned.uri().to_owned())
    }
}

impl AwsStore {
    /// The export rows of one run's scenario items, `None` when one lacks a current row.
    async fn run_export_rows(
        &self,
        run: &RunSummary,
    ) -> Result<Option<Vec<StoredRow>>, StoreError> {
        let pk = format!("GROUP#{}", run.group);
        let mut rows = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let page = self
                .dynamo
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", s(&pk))
                .expression_attribute_values(
                    ":prefix",
                    s(format!("RUN#{}#SCENARIO#", run.request_id)),
                )
                .projection_expression("scenario_type, export_version, export_row")
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| remote("DynamoDB Query", explain(e)))?;
            for item in page.items() {
                let current = matches!(item.get("export_version"),
                    Some(AttributeValue::N(v)) if v == &EXPORT_VERSION.to_string());
                match item.get("export_row") {
                    Some(AttributeValue::S(text)) if current => rows.push(StoredRow {
                        scenario_type: match item.get("scenario_type") {
                            Some(AttributeValue::S(t)) => t.clone(),
                            _ => String::new(),
                        },
                        text: text.clone(),
                    }),
                    _ => return Ok(None),
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

#[async_trait]
impl RunIndex for AwsStore {
    async fn index_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        let pk = format!("GROUP#{}", run.group);
        let run_sk = format!("RUN#{}", run.request_id);
        // Scenarios first, the run item last: a run item means the run is fully indexed.
        let scenario_items: Vec<WriteRequest> = run
            .scenarios
            .iter()
            .map(|scenario| {
                let mut item = HashMap::from([
                    ("pk".to_owned(), s(&pk)),
                    (
                        "sk".to_owned(),
                        s(format!("{run_sk}#SCENARIO#{:04}", scenario.index)),
                    ),
                    ("scenario".to_owned(), s(&scenario.scenario)),
                    ("scenario_type".to_owned(), s(&scenario.scenario_type)),
                ]);
                if let Some(row) = &scenario.export_row {
                    item.insert(
                        "export_version".to_owned(),
                        AttributeValue::N(EXPORT_VERSION.to_string()),
                    );
                    item.insert("export_row".to_owned(), s(row));
                }
                if let Some(exit) = scenario.exit_status {
                    item.insert(
                        "exit_status".to_owned(),
                        AttributeValue::N(exit.to_string()),
                    );
                }
                if let Some(start) = scenario.start_timestamp {
                    item.insert(
                        "start_timestamp".to_owned(),
                        AttributeValue::N(start.to_string()),
                    );
                }
                if let Some(end) = scenario.end_timestamp {
                    item.insert(
                        "end_timestamp".to_owned(),
                        AttributeValue::N(end.to_string()),
                    );
                }
                PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map(|put| WriteRequest::builder().put_request(put).build())
                    .map_err(|e| remote("DynamoDB", e))
            })
            .collect::<Result<_, _>>()?;
        for chunk in scenario_items.chunks(25) {
            let mut pending = HashMap::from([(self.table.clone(), chunk.to_vec())]);
            for _attempt in 0..8 {
                let output = self
                    .dynamo
                    .batch_write_item()
                    .set_request_items(Some(pending))
                    .send()
                    .await
                    .map_err(|e| remote("DynamoDB BatchWriteItem", explain(e)))?;
                pending = output.unprocessed_items.unwrap_or_default();
                if pending.values().all(Vec::is_empty) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if !pending.values().all(Vec::is_empty) {
                return Err(remote(
                    "DynamoDB BatchWriteItem",
                    "items stayed unprocessed after 8 attempts",
                ));
            }
        }
        let mut item = HashMap::from([
            ("pk".to_owned(), s(&pk)),
            ("sk".to_owned(), s(&run_sk)),
            ("gsi1pk".to_owned(), s("RUNS")),
            (
                "gsi1sk".to_owned(),
                s(format!("{}#{}/{}", run.filed_at, run.group, run.request_id)),
            ),
            ("gsi2pk".to_owned(), s(&pk)),
            (
                "gsi2sk".to_owned(),
                s(format!("{}#{}", run.filed_at, run.request_id)),
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
        self.dynamo
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| remote("DynamoDB PutItem", explain(e)))?;
        Ok(())
    }

    async fn run_counts(&self, group: &str, request_id: &str) -> Result<(u64, u64), StoreError> {
        let pk = format!("GROUP#{group}");
        let run_sk = format!("RUN#{request_id}");
        let run = self
            .dynamo
            .get_item()
            .table_name(&self.table)
            .key("pk", s(&pk))
            .key("sk", s(&run_sk))
            .send()
            .await
            .map_err(|e| remote("DynamoDB GetItem", explain(e)))?;
        let mut scenarios = 0u64;
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let page = self
                .dynamo
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", s(&pk))
                .expression_attribute_values(":prefix", s(format!("{run_sk}#SCENARIO#")))
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
        // One group (asked for, or the only one the caller may see): that group's index.
        let single_group = query.group.clone().or_else(|| match &query.allowed_groups {
            Some(groups) if groups.len() == 1 => Some(groups[0].clone()),
            _ => None,
        });
        if query.allowed_groups.as_ref().is_some_and(Vec::is_empty) {
            return Ok(RunPage::default());
        }
        let (index, partition) = match &single_group {
            Some(group) => ("gsi2", format!("GROUP#{group}")),
            None => ("gsi1", "RUNS".to_owned()),
        };
        let sort_key = |filed_at: &str, group: &str, request_id: &str| match single_group {
            Some(_) => format!("{filed_at}#{request_id}"),
            None => format!("{filed_at}#{group}/{request_id}"),
        };
        let mut names = HashMap::from([("#pk".to_owned(), format!("{index}pk"))]);
        let mut values = HashMap::from([(":pk".to_owned(), s(&partition))]);
        // Times are compared as text: every sort key starts with the filing time.
        let mut key_condition = "#pk = :pk".to_owned();
        match (&query.since, &query.until) {
            (Some(since), Some(until)) => {
                key_condition.push_str(" AND #sk BETWEEN :since AND :until");
                values.insert(":since".to_owned(), s(since));
                values.insert(":until".to_owned(), s(format!("{until}#\u{10FFFF}")));
            }
            (Some(since), None) => {
                key_condition.push_str(" AND #sk >= :since");
                values.insert(":since".to_owned(), s(since));
            }
            (None, Some(until)) => {
                key_condition.push_str(" AND #sk <= :until");
                values.insert(":until".to_owned(), s(format!("{until}#\u{10FFFF}")));
            }
            (None, None) => {}
        }
        // DynamoDB refuses names the expressions do not use.
        if key_condition.contains("#sk") {
            names.insert("#sk".to_owned(), format!("{index}sk"));
        }
        let mut filters: Vec<String> = Vec::new();
        if let Some(t) = &query.scenario_type {
            filters.push("contains(scenario_types, :scenario_type)".to_owned());
            values.insert(":scenario_type".to_owned(), s(t));
        }
        if let Some(v) = &query.major_version {
            filters.push("major_version = :major_version".to_owned());
            values.insert(":major_version".to_owned(), s(v));
        }
        if let Some(c) = &query.cloud {
            filters.push("cloud_infrastructure = :cloud".to_owned());
            values.insert(":cloud".to_owned(), s(c));
        }
        if let Some(j) = query.job_status {
            filters.push("job_status = :job_status".to_owned());
            values.insert(":job_status".to_owned(), AttributeValue::Bool(j));
        }
        if let Some(t) = &query.run_tag {
            filters.push("contains(run_tag, :run_tag)".to_owned());
            values.insert(":run_tag".to_owned(), s(t));
        }
        if let (None, Some(groups)) = (&single_group, &query.allowed_groups) {
            let placeholders: Vec<String> = (0..groups.len()).map(|i| format!(":g{i}")).collect();
            for (placeholder, group) in placeholders.iter().zip(groups) {
                values.insert(placeholder.clone(), s(group));
            }
            names.insert("#group".to_owned(), "group".to_owned());
            filters.push(format!("#group IN ({})", placeholders.join(", ")));
        }
        let filter = (!filters.is_empty()).then(|| filters.join(" AND "));

        let start_key = |after: &RunPosition| {
            HashMap::from([
                ("pk".to_owned(), s(format!("GROUP#{}", after.group))),
                ("sk".to_owned(), s(format!("RUN#{}", after.request_id))),
                (format!("{index}pk"), s(&partition)),
                (
                    format!("{index}sk"),
                    s(sort_key(&after.filed_at, &after.group, &after.request_id)),
                ),
            ])
        };
        let mut start = query.after.as_ref().map(start_key);
        let mut runs = Vec::new();
        // Sparse filters over many runs: stop after a bounded number of reads and hand out a
        // cursor, rather than hold the request.
        for _read in 0..QUERY_READS_PER_PAGE {
            let page = self
                .dynamo
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression(&key_condition)
                .set_filter_expression(filter.clone())
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
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

/// DynamoDB reads one run query may make before it returns a shorter page and a cursor.
const QUERY_READS_PER_PAGE: usize = 8;

/// A listed run from its index item.
fn run_summary(item: &HashMap<String, AttributeValue>) -> RunSummary {
    let number = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
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
        scenario_count: number("scenario_count"),
        scenario_types,
        document_bytes: number("document_bytes"),
    }
}

/// Where a DynamoDB page stopped, as a run position (`pk`, `sk` and the filing time).
fn position_of_key(key: &HashMap<String, AttributeValue>) -> Option<RunPosition> {
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

fn user_from(item: &HashMap<String, AttributeValue>) -> UserRecord {
    UserRecord {
        name: text(item, "sk"),
        role: text(item, "role"),
        groups: text(item, "groups"),
        password_hash: text(item, "password_hash"),
    }
}

#[async_trait]
impl UserStore for AwsStore {
    async fn get_user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        let output = self
            .dynamo
            .get_item()
            .table_name(&self.table)
            .key("pk", s("USERS"))
            .key("sk", s(name))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| remote("DynamoDB GetItem", explain(e)))?;
        Ok(output.item.as_ref().map(user_from))
    }

    async fn put_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        self.dynamo
            .put_item()
            .table_name(&self.table)
            .item("pk", s("USERS"))
            .item("sk", s(&user.name))
            .item("role", s(&user.role))
            .item("groups", s(&user.groups))
            .item("password_hash", s(&user.password_hash))
            .send()
            .await
            .map_err(|e| remote("DynamoDB PutItem", explain(e)))?;
        Ok(())
    }

    async fn remove_user(&self, name: &str) -> Result<bool, StoreError> {
        let output = self
            .dynamo
            .delete_item()
            .table_name(&self.table)
            .key("pk", s("USERS"))
            .key("sk", s(name))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| remote("DynamoDB DeleteItem", explain(e)))?;
        Ok(output.attributes.is_some_and(|a| !a.is_empty()))
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let mut users = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let page = self
                .dynamo
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s("USERS"))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| remote("DynamoDB Query", explain(e)))?;
            users.extend(page.items().iter().map(user_from));
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        Ok(users)
    }
}

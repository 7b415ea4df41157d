//! The AWS store: documents and files in S3, the run index and users in one DynamoDB table.
//!
//! Table layout (also in ARCHITECTURE.md): runs `pk = GROUP#<group>, sk = RUN#<request_id>`;
//! scenarios `sk = RUN#<request_id>#SCENARIO#<0000>`; users `pk = USERS, sk = <name>`; the
//! audit log `pk = AUDIT, sk = <at>#<uuid>`; retention rules `pk = RETENTION, sk = <group>|*`; GSI
//! `gsi1` lists runs by time (`gsi1pk = RUNS, gsi1sk = <filed time>#<group>/<request_id>`),
//! `gsi2` a group's runs by time (`gsi2pk = GROUP#<group>, gsi2sk = <filed time>#<request_id>`).
//! Run queries are DynamoDB `Query` calls on one of the two, newest first, with the other
//! filters as a filter expression; never a `Scan`.
//! `AWS_ENDPOINT_URL` points both clients at S3- and DynamoDB-compatible servers (moto).
//!
//! Files: `settings` (where the store lives), `provision` (bucket and table), `objects` (S3),
//! `items` (how runs, scenarios and users are written as DynamoDB items, and read back),
//! `index` (the run index: writes, counts, export rows, run queries), `removal` (deleting a
//! run: its items, then its objects), `users`, `audit` (the audit log), `retention` (the rules).

mod audit;
mod index;
mod items;
mod objects;
mod provision;
mod removal;
mod retention;
mod settings;
mod survey;
mod users;

pub use settings::{AccessKeys, AwsSettings};

use crate::store::StoreError;

/// The HTTPS client of every SDK call (and of credential providers): hyper with rustls on
/// ring, the crypto the rest of the project uses, instead of the SDK's default aws-lc.
pub fn http_client() -> aws_sdk_s3::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// S3 + DynamoDB.
pub struct AwsStore {
    s3: aws_sdk_s3::Client,
    dynamo: aws_sdk_dynamodb::Client,
    bucket: String,
    table: String,
    /// Links never last longer than this ([`AwsSettings::link_lifetime_cap`]).
    link_cap: Option<std::time::Duration>,
    /// [`AwsSettings::index_expiry`].
    index_expiry: Option<std::time::Duration>,
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
    /// Clients from the default AWS configuration chain, pointed at `settings`.
    pub async fn connect(settings: &AwsSettings) -> Self {
        let mut loader =
            aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http_client());
        if let Some(endpoint) = &settings.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        if let Some(keys) = &settings.keys {
            loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
                &keys.id,
                &keys.secret,
                None,
                None,
                "krkn-telemetry settings",
            ));
        }
        let shared = loader.load().await;
        let mut s3_config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(settings.endpoint.is_some() || settings.s3_endpoint.is_some());
        if let Some(endpoint) = &settings.s3_endpoint {
            s3_config = s3_config.endpoint_url(endpoint);
        }
        let s3_config = s3_config.build();
        let link_cap = settings.link_lifetime_cap(
            std::env::var_os("AWS_ACCESS_KEY_ID").is_some(),
            std::env::var_os("AWS_SESSION_TOKEN").is_some(),
        );
        if let Some(cap) = link_cap {
            tracing::info!(
                cap_secs = cap.as_secs(),
                "links signed with temporary credentials last at most this long"
            );
        }
        AwsStore {
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            dynamo: aws_sdk_dynamodb::Client::new(&shared),
            bucket: settings.bucket.clone(),
            table: settings.table.clone(),
            link_cap,
            index_expiry: settings.index_expiry,
        }
    }
}

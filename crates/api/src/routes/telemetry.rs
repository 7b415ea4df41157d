//! `POST /telemetry?request_id=<ID>&telemetry_group=<GROUP>`: file a run document.
//!
//! Order of writes: the document first (a conditional write that never overwrites), then the
//! index, so an index entry never points at a missing document. A retry after an index failure
//! finds the identical document and indexes it again; a different document is a 409.

use std::collections::HashMap;

use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use krkn_telemetry_model::{ChaosRunTelemetry, RunKey};

use super::{AppState, Authenticated, required_param};
use crate::error::ApiError;
use crate::indexing::run_record;
use crate::store::{PutOutcome, StoreError};

/// Files one telemetry document.
#[utoipa::path(
    post,
    path = "/telemetry",
    tag = "krkn",
    params(
        ("request_id" = String, Query, description = "krkn's request id, `<unix>-<run_uuid>[-<run_tag>]`"),
        ("telemetry_group" = String, Query, description = "The group to file the run under"),
    ),
    request_body(content = Object, content_type = "application/json",
        description = "A telemetry document (ChaosRunTelemetry), as krkn-lib sends it"),
    responses(
        (status = 200, description = "Filed, or already filed with the same content", body = String, content_type = "text/plain"),
        (status = 400, description = "A parameter or the body is wrong; the text names it", body = String, content_type = "text/plain"),
        (status = 401, description = "No or wrong credentials (WWW-Authenticate: Basic)", body = String, content_type = "text/plain"),
        (status = 403, description = "The user's role or groups do not allow this", body = String, content_type = "text/plain"),
        (status = 409, description = "The run already holds a different document", body = String, content_type = "text/plain"),
        (status = 413, description = "The body is over the limit", body = String, content_type = "text/plain"),
        (status = 415, description = "The body is not application/json", body = String, content_type = "text/plain"),
        (status = 503, description = "Storage is unavailable; nothing was half-written", body = String, content_type = "text/plain")
    ),
    security(("basic" = []))
)]
pub async fn post_telemetry(
    Authenticated(user): Authenticated,
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    request: Request,
) -> Result<(StatusCode, String), ApiError> {
    // Who, where and what kind come first: nothing reads the body before they are known good.
    let request_id = required_param(&query, "request_id")?;
    let group = query
        .get("telemetry_group")
        .map(String::as_str)
        .unwrap_or("");
    if !query.contains_key("telemetry_group") {
        return Err(ApiError::MissingParameter("telemetry_group"));
    }
    require_json(request.headers())?;
    let key = RunKey::new(group, request_id)?;
    user.require_upload(key.group())?;
    let limit = state.config.max_body_bytes;
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::TooLarge(format!(
            "the body is over the limit of {limit} bytes"
        )));
    }
    let body = axum::body::to_bytes(request.into_body(), limit)
        .await
        .map_err(|e| ApiError::body(&e, limit))?;

    // Parsing, decoding parameters and rendering are CPU work: off the async threads.
    let max_document = state.config.max_document_bytes;
    let prepared_key = key.clone();
    let (record, stored) = tokio::task::spawn_blocking(move || {
        let document = prepare(&body)?;
        let stored = pretty_json(&document, body.len());
        if stored.len() > max_document {
            return Err(ApiError::TooLarge(format!(
                "the document as filed would be {} bytes (after parameters_base64 is decoded), \
                 over the limit of {max_document} bytes",
                stored.len()
            )));
        }
        let record = run_record(&prepared_key, &document, &stored);
        Ok((record, stored))
    })
    .await
    .map_err(|e| ApiError::Store(StoreError::Task(e.to_string())))??;
    let object_key = key.telemetry_key();

    let objects = &state.backend.objects;
    let (message, outcome) = match objects.put_if_absent(&object_key, stored.clone()).await? {
        PutOutcome::Created => (format!("record {object_key} created"), "filed"),
        PutOutcome::AlreadyExists => match objects.get(&object_key).await? {
            Some(existing) if existing == stored => (
                format!("record {object_key} already filed with the same content"),
                "same",
            ),
            _ => {
                crate::metrics::metrics().filing("conflict");
                return Err(ApiError::Conflict(object_key));
            }
        },
    };
    state.backend.index.index_run(&record).await?;
    crate::metrics::metrics().filing(outcome);
    tracing::info!(run = %key, user = %user.name, "telemetry filed");
    Ok((StatusCode::OK, message))
}

/// The document as filed: indented JSON, like the old service's. The buffer is reserved from
/// the body's size (indentation seldom more than doubles a compact body, and the buffer grows
/// if it does), so that a large document is not copied on every doubling of its buffer.
fn pretty_json(document: &ChaosRunTelemetry, body_len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(body_len.saturating_mul(2));
    // Serializing plain data with string keys into memory cannot fail.
    match serde_json::to_writer_pretty(&mut out, document) {
        Ok(()) => out,
        Err(_) => Vec::new(),
    }
}

/// `application/json`, with or without parameters, in any case; krkn sends exactly that.
fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let essence = content_type
        .as_deref()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json" {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(
            content_type.unwrap_or_else(|| "(none)".to_owned()),
        ))
    }
}

/// Validate the document as sent (rules see what the sender wrote, before any default is
/// filled in), then normalise it (decode parameters, anonymise kubeconfigs, fill defaults).
fn prepare(body: &[u8]) -> Result<ChaosRunTelemetry, ApiError> {
    let mut document = ChaosRunTelemetry::from_json(body).map_err(ApiError::InvalidDocument)?;
    document.validate().map_err(ApiError::InvalidDocument)?;
    document.normalize().map_err(ApiError::InvalidDocument)?;
    Ok(document)
}

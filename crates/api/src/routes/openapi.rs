//! The OpenAPI 3.1 document of the service (`GET /openapi.json`), generated from the code:
//! every route handler carries a `#[utoipa::path]` next to it, response types derive
//! `ToSchema`, and the telemetry document's schema is the model's own (schemars), so the
//! document cannot drift from what the service does. `make test` validates it and runs
//! schemathesis against a live server (scripts/openapi-test.sh).

use std::sync::OnceLock;

use serde_json::{Value, json};
use utoipa::OpenApi;

use krkn_telemetry_model::keys::{MAX_SEGMENT_BYTES, SEGMENT_PATTERN};

use super::{
    artifacts, audit, console, files, navigate, operations, retention, run_delete, run_page, runs,
    scenarios, telemetry,
};

/// The routes and schemas the document lists.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "krkn telemetry",
        description = "Files the telemetry krkn sends after a chaos run (documents, Prometheus \
            backups, alerts, logs), and finds, shows and exports the runs. Compatible with \
            krkn-lib's client. Every route but /healthz, /openapi.json, the console's page and \
            signed links needs HTTP Basic credentials.",
        license(name = "Apache-2.0")
    ),
    paths(
        health,
        operations::ready,
        operations::metrics_for_admins,
        openapi_json,
        telemetry::post_telemetry,
        artifacts::presigned_url,
        artifacts::upload,
        artifacts::download_url,
        artifacts::stored_file,
        artifacts::download,
        navigate::navigate_root,
        navigate::navigate_group,
        navigate::navigate_run,
        runs::list_runs,
        run_page::get_run,
        run_delete::delete_run,
        scenarios::export_scenarios,
        audit::list_audit,
        retention::get_retention,
        retention::put_retention,
        files::root,
        files::files_root,
        files::files_group,
        files::files_run,
        console::console,
        console::console_asset,
    ),
    modifiers(&BasicAuth),
    tags(
        (name = "krkn", description = "krkn-lib's protocol: filing documents and files"),
        (name = "runs", description = "finding, showing and exporting runs"),
        (name = "files", description = "browsing groups, runs and files"),
        (name = "service", description = "health, this document, the console"),
    )
)]
pub struct ApiDoc;

struct BasicAuth;

impl utoipa::Modify for BasicAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
    }
}

/// `GET /healthz`
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "service",
    responses(
        (status = 200, description = "The service is up", body = String,
            content_type = "text/plain", example = "ok\n"),
        (status = 503, description = "Still starting (Retry-After says when to look again)",
            body = String, content_type = "text/plain")
    )
)]
pub async fn health(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if state.readiness.is_ready() {
        "ok\n".into_response()
    } else {
        crate::ApiError::Unavailable {
            retry_after: 1,
            reason: "starting".to_owned(),
        }
        .into_response()
    }
}

/// `GET /openapi.json`
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "service",
    responses((status = 200, description = "This document", body = Object))
)]
pub async fn openapi_json(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
) -> axum::Json<Value> {
    let mut doc = document().clone();
    // The upload limit is this deployment's setting.
    if let Some(parameters) = doc
        .pointer_mut("/paths/~1presigned-url/get/parameters")
        .and_then(Value::as_array_mut)
    {
        for parameter in parameters {
            if parameter["name"] == "content_length" {
                parameter["schema"] = json!({"type": "integer", "minimum": 0,
                    "maximum": state.config.max_upload_bytes});
            }
        }
    }
    axum::Json(doc)
}

/// The document: utoipa's, plus the telemetry document's schema (and its parts) from the
/// model as components, referenced by `POST /telemetry`.
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or(Value::Null);
        let mut telemetry = krkn_telemetry_model::schema::telemetry_schema();
        rewrite_refs(&mut telemetry);
        let defs = telemetry
            .as_object_mut()
            .and_then(|o| {
                o.remove("$schema");
                o.remove("$defs")
            })
            .unwrap_or_else(|| json!({}));
        if let Some(schemas) = doc
            .pointer_mut("/components/schemas")
            .and_then(Value::as_object_mut)
        {
            if let Value::Object(defs) = defs {
                schemas.extend(defs);
            }
            schemas.insert("ChaosRunTelemetry".to_owned(), telemetry);
        }
        constrain_parameters(&mut doc);
        add_guard_responses(&mut doc);
        // Files travel as raw bytes, not as a JSON list of numbers.
        for pointer in [
            "/paths/~1upload~1{group}~1{request_id}~1{file}/put/requestBody/content/application~1octet-stream/schema",
            "/paths/~1download~1{group}~1{request_id}~1{file}/get/responses/200/content/application~1octet-stream/schema",
        ] {
            if let Some(schema) = doc.pointer_mut(pointer) {
                *schema = json!({"type": "string", "format": "binary"});
            }
        }
        if let Some(body) = doc.pointer_mut(
            "/paths/~1telemetry/post/requestBody/content/application~1json/schema",
        ) {
            *body = json!({"$ref": "#/components/schemas/ChaosRunTelemetry"});
        }
        doc
    })
}

/// The answers every route may give before its handler runs (`routes::guards`, the password
/// checks): 503 while starting or at the limit of requests in flight, 408 past the request
/// timeout, 405 for another method, and 429 wherever credentials are checked.
fn add_guard_responses(doc: &mut Value) {
    let text = |description: &str| {
        json!({"description": description,
            "content": {"text/plain": {"schema": {"type": "string"}}}})
    };
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut() {
        let Some(operations) = item.as_object_mut() else {
            continue;
        };
        for operation in operations.values_mut() {
            let Some(responses) = operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            let checks_credentials = responses.contains_key("401");
            responses.entry("503").or_insert_with(|| {
                text(
                    "Starting, at the limit of requests in flight, or storage unavailable \
                      (Retry-After says when to try again, where it is known)",
                )
            });
            responses
                .entry("408")
                .or_insert_with(|| text("The request took too long, or its body stalled"));
            responses
                .entry("405")
                .or_insert_with(|| text("Another method; the Allow header names this one"));
            if checks_credentials {
                responses.entry("429").or_insert_with(|| {
                    text(
                        "Too many password checks at once, or too many wrong passwords from \
                          this address or for this user (Retry-After says when to try again)",
                    )
                });
            }
        }
    }
}

/// Gives the parameters the exact grammar the handlers enforce (names are the model's
/// segments, limits have their bounds), so that clients and fuzzers know what is valid.
fn constrain_parameters(doc: &mut Value) {
    let segment = SEGMENT_PATTERN
        .trim_start_matches('^')
        .trim_end_matches('$');
    let name = json!({"type": "string", "pattern": SEGMENT_PATTERN,
        "maxLength": MAX_SEGMENT_BYTES});
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(operations) = item.as_object_mut() else {
            continue;
        };
        for operation in operations.values_mut() {
            let Some(parameters) = operation
                .get_mut("parameters")
                .and_then(Value::as_array_mut)
            else {
                continue;
            };
            for parameter in parameters {
                let param_name = parameter["name"].as_str().unwrap_or_default().to_owned();
                let schema = match (path.as_str(), param_name.as_str()) {
                    ("/presigned-url", "request_id") => json!({"type": "string",
                        "pattern": format!("^{segment}/{segment}$"),
                        "maxLength": 2 * MAX_SEGMENT_BYTES + 1}),
                    ("/telemetry", "telemetry_group") => json!({"type": "string",
                        "pattern": format!("^({segment})?$"), "maxLength": MAX_SEGMENT_BYTES}),
                    // The run filters read an empty value as no filter.
                    ("/api/v1/runs" | "/api/v1/scenarios", "group") => json!({"type": "string",
                        "pattern": format!("^({segment})?$"), "maxLength": MAX_SEGMENT_BYTES}),
                    (_, "group" | "request_id" | "file" | "remote_filename") => name.clone(),
                    (_, "format") => {
                        json!({"type": "string", "enum": ["", "ndjson", "jsonl", "csv"]})
                    }
                    (_, "job_status") => json!({"type": "string",
                        "enum": ["", "true", "false", "passed", "failed"]}),
                    ("/api/v1/runs", "limit") => json!({"type": "integer", "minimum": 1,
                        "maximum": runs::MAX_PAGE}),
                    (_, "limit") => json!({"type": "integer", "minimum": 1,
                        "maximum": navigate::MAX_PAGE}),
                    (_, "since" | "until") => json!({"anyOf": [
                        {"type": "string", "format": "date-time"},
                        {"type": "string", "pattern": "^[0-9]{1,11}$"},
                        {"type": "string", "maxLength": 0}]}),
                    (_, "sha256") => json!({"type": "string", "pattern": "^[0-9a-fA-F]{64}$"}),
                    (_, "sig") => json!({"type": "string", "minLength": 1}),
                    ("/console/assets/{name}", "name") => {
                        json!({"type": "string", "enum": ["console.js", "console.css"]})
                    }
                    (_, "scenario_type" | "major_version" | "cloud" | "run_tag") => {
                        json!({"type": "string", "maxLength": 256})
                    }
                    _ => continue,
                };
                parameter["schema"] = schema;
            }
        }
    }
}

/// schemars refers to `#/$defs/X`; in the OpenAPI document they live in the components.
fn rewrite_refs(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "$ref"
                    && let Value::String(target) = child
                    && let Some(name) = target.strip_prefix("#/$defs/")
                {
                    *target = format!("#/components/schemas/{name}");
                } else {
                    rewrite_refs(child);
                }
            }
        }
        Value::Array(list) => list.iter_mut().for_each(rewrite_refs),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_resolves() {
        let doc = document();
        let mut refs = Vec::new();
        fn collect<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
            match value {
                Value::Object(map) => {
                    for (k, v) in map {
                        match (k.as_str(), v) {
                            ("$ref", Value::String(target)) => out.push(target),
                            _ => collect(v, out),
                        }
                    }
                }
                Value::Array(list) => list.iter().for_each(|v| collect(v, out)),
                _ => {}
            }
        }
        collect(doc, &mut refs);
        assert!(refs.len() > 10, "the document refers to its schemas");
        for target in refs {
            let pointer = target.strip_prefix('#').expect("local reference");
            assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
        }
        assert_eq!(
            doc.pointer(
                "/paths/~1telemetry/post/requestBody/content/application~1json/schema/$ref"
            ),
            Some(&json!("#/components/schemas/ChaosRunTelemetry"))
        );
    }
}

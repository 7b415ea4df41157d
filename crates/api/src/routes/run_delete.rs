//! `DELETE /api/v1/runs/{group}/{request_id}`: an admin removes a run (telemetry may hold
//! confidential information): every object and every index entry, on either store, index
//! first so that nothing ever lists a run whose document is gone.

use axum::Json;
use axum::extract::{Path, State};
use krkn_telemetry_model::keys::RunKey;
use serde::Serialize;

use super::{AppState, Authenticated};
use crate::audit::Origin;
use crate::error::ApiError;
use crate::server::ClientAddr;

/// What a delete removed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunDeleted {
    group: String,
    request_id: String,
    /// The run had index entries (false when an earlier delete was cut short after them).
    index_entries_removed: bool,
    /// Objects removed: the document and the run's files.
    objects_removed: usize,
}

/// `DELETE /api/v1/runs/{group}/{request_id}`
#[utoipa::path(
    delete,
    path = "/api/v1/runs/{group}/{request_id}",
    tag = "runs",
    params(
        ("group" = String, Path, description = "Group of the run"),
        ("request_id" = String, Path, description = "Request id of the run"),
    ),
    responses(
        (status = 200, description = "The run is gone: what was removed", body = RunDeleted),
        (status = 400, description = "A parameter is wrong; the text names it", body = String, content_type = "text/plain"),
        (status = 401, description = "No or wrong credentials (WWW-Authenticate: Basic)", body = String, content_type = "text/plain"),
        (status = 403, description = "Only admins with access to the group may delete", body = String, content_type = "text/plain"),
        (status = 404, description = "No such run (never filed, or deleted already: a second delete answers this)", body = String, content_type = "text/plain"),
        (status = 503, description = "Storage is unavailable; deleting again finishes the job. Or the run is deleted but the audit log could not record it (the text says so)", body = String, content_type = "text/plain")
    ),
    security(("basic" = []))
)]
pub async fn delete_run(
    Authenticated(user): Authenticated,
    State(state): State<AppState>,
    Path((group, request_id)): Path<(String, String)>,
    client: Option<axum::Extension<ClientAddr>>,
) -> Result<Json<RunDeleted>, ApiError> {
    let key = RunKey::new(&group, &request_id)?;
    user.require_admin(Some(key.group()))?;
    let Some(deleted) = state.backend.delete_run(&key).await? else {
        return Err(ApiError::NotFound(format!(
            "{} (never filed, or deleted already)",
            key.prefix().trim_end_matches('/')
        )));
    };
    let client = client.map_or_else(
        || "-".to_owned(),
        |axum::Extension(ClientAddr(address))| address.to_string(),
    );
    tracing::warn!(
        user = %user.name,
        client = %client,
        group = key.group(),
        request_id = key.request_id(),
        objects = deleted.objects,
        "run deleted"
    );
    let origin = Origin::Api {
        user: user.name.clone(),
        client,
    };
    state
        .backend
        .audit
        .record(&origin.run_deleted(key.group(), key.request_id(), &deleted))
        .await
        .map_err(|source| ApiError::NotAudited {
            done: format!("run {} deleted", key.prefix().trim_end_matches('/')),
            source,
        })?;
    Ok(Json(RunDeleted {
        group: key.group().to_owned(),
        request_id: key.request_id().to_owned(),
        index_entries_removed: deleted.indexed,
        objects_removed: deleted.objects,
    }))
}

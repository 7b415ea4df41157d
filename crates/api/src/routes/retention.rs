//! `GET /api/v1/retention` and `PUT /api/v1/retention`: how long each group's runs are kept
//! (days after filing), and the default for groups without a rule. The sweep that deletes
//! expired runs is [`crate::retention`].

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use krkn_telemetry_model::keys::validate_segment;
use serde::{Deserialize, Serialize};

use super::{AppState, Authenticated};
use crate::audit::Origin;
use crate::auth::User;
use crate::error::ApiError;
use crate::server::ClientAddr;
use crate::store::{MAX_RETENTION_DAYS, RetentionRule};

/// The rules an admin may see.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Retention {
    /// Days the runs of groups without a rule of their own are kept; `null`: forever.
    default_days: Option<u32>,
    /// Groups with a rule of their own (of the admin's groups).
    groups: Vec<GroupRetention>,
}

/// The rule of one group.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GroupRetention {
    group: String,
    days: u32,
}

/// A change of one rule.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionChange {
    /// The group; absent or `null` for the default (admins of every group only).
    #[serde(default)]
    group: Option<String>,
    /// Days after filing, 1 to 36500; `null` removes the rule (the group falls back to the
    /// default; the default to keeping forever).
    days: Option<u32>,
}

/// `GET /api/v1/retention`
#[utoipa::path(
    get,
    path = "/api/v1/retention",
    tag = "runs",
    responses(
        (status = 200, description = "The retention rules: the default and the groups' own (of the admin's groups)", body = Retention),
        (status = 401, description = "No or wrong credentials (WWW-Authenticate: Basic)", body = String, content_type = "text/plain"),
        (status = 403, description = "Admins only", body = String, content_type = "text/plain"),
        (status = 503, description = "Storage is unavailable", body = String, content_type = "text/plain")
    ),
    security(("basic" = []))
)]
pub async fn get_retention(
    Authenticated(user): Authenticated,
    State(state): State<AppState>,
) -> Result<Json<Retention>, ApiError> {
    user.require_admin(None)?;
    Ok(Json(visible_rules(&state, &user).await?))
}

/// `PUT /api/v1/retention`
#[utoipa::path(
    put,
    path = "/api/v1/retention",
    tag = "runs",
    request_body(content = RetentionChange, description = "The rule to set or remove", content_type = "application/json"),
    responses(
        (status = 200, description = "The rule is set (or removed); the rules as they are now", body = Retention),
        (status = 400, description = "The body is wrong; the text names the problem", body = String, content_type = "text/plain"),
        (status = 401, description = "No or wrong credentials (WWW-Authenticate: Basic)", body = String, content_type = "text/plain"),
        (status = 403, description = "Admins of the group only; the default: admins of every group", body = String, content_type = "text/plain"),
        (status = 503, description = "Storage is unavailable, or the rule is set but the audit log could not record it (the text says so)", body = String, content_type = "text/plain")
    ),
    security(("basic" = []))
)]
pub async fn put_retention(
    Authenticated(user): Authenticated,
    State(state): State<AppState>,
    client: Option<axum::Extension<ClientAddr>>,
    body: Bytes,
) -> Result<Json<Retention>, ApiError> {
    user.require_admin(None)?;
    let change: RetentionChange = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!(
            "the body must be {{\"group\": \"<group>\" or null, \"days\": 1 to {MAX_RETENTION_DAYS} or null}}: {e}"
        ))
    })?;
    check_change(&change)?;
    match &change.group {
        Some(group) => user.require_admin(Some(group))?,
        None if user.groups.is_some() => {
            return Err(ApiError::Forbidden(format!(
                "user {} may not change the default retention: admins of every group only",
                user.name
            )));
        }
        None => {}
    }
    let before = state
        .backend
        .retention
        .set_retention(change.group.as_deref(), change.days)
        .await?;
    let origin = Origin::Api {
        user: user.name.clone(),
        client: client.map_or_else(
            || "-".to_owned(),
            |axum::Extension(ClientAddr(address))| address.to_string(),
        ),
    };
    state
        .backend
        .audit
        .record(&origin.retention_changed(change.group.as_deref(), before, change.days))
        .await
        .map_err(|source| ApiError::NotAudited {
            done: format!(
                "retention of {} set",
                change.group.as_deref().unwrap_or("the default")
            ),
            source,
        })?;
    Ok(Json(visible_rules(&state, &user).await?))
}

/// Checks a change's group name and days; the message names what is wrong.
pub fn check_change_parts(group: Option<&str>, days: Option<u32>) -> Result<(), ApiError> {
    if let Some(group) = group {
        validate_segment(group, "group")?;
    }
    if let Some(days) = days
        && !(1..=MAX_RETENTION_DAYS).contains(&days)
    {
        return Err(ApiError::BadRequest(format!(
            "days must be from 1 to {MAX_RETENTION_DAYS} (or null to remove the rule), found {days}"
        )));
    }
    Ok(())
}

fn check_change(change: &RetentionChange) -> Result<(), ApiError> {
    check_change_parts(change.group.as_deref(), change.days)
}

/// The default and the rules of the groups `user` may touch.
async fn visible_rules(state: &AppState, user: &User) -> Result<Retention, ApiError> {
    let rules = state.backend.retention.retention_rules().await?;
    let default_days = rules.iter().find(|r| r.group.is_none()).map(|r| r.days);
    let groups = rules
        .into_iter()
        .filter_map(|RetentionRule { group, days }| {
            group
                .filter(|g| user.may_access(g))
                .map(|group| GroupRetention { group, days })
        })
        .collect();
    Ok(Retention {
        default_days,
        groups,
    })
}

//! `GET /api/v1/audit`: the audit log for admins, newest first, a page at a time. An admin
//! of every group reads every record; an admin limited to some groups reads the records of
//! those groups only (not the ones about users, which have no group).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use base64::Engine;
use serde::Serialize;

use super::{AppState, Authenticated};
use crate::error::ApiError;
use crate::store::{AuditPosition, AuditQuery, AuditRecord};

/// Records per page unless `limit` says otherwise.
pub const DEFAULT_PAGE: usize = 100;
/// The most records one page may hold.
pub const MAX_PAGE: usize = 1000;

/// One page of the audit log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditList {
    /// The records, newest first.
    records: Vec<AuditRecord>,
    /// Pass as `cursor` for the next page; absent on the last one.
    next_cursor: Option<String>,
}

/// `GET /api/v1/audit?limit=&cursor=`
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "service",
    params(
        ("limit" = Option<usize>, Query, description = "Records per page, 1 to 1000 (default 100)"),
        ("cursor" = Option<String>, Query, description = "Where the previous page ended (its next_cursor)"),
    ),
    responses(
        (status = 200, description = "A page of the audit log, newest first: who did which admin action (run deleted, user added, changed or removed), when, how and from where", body = AuditList),
        (status = 400, description = "A parameter is wrong; the text names it", body = String, content_type = "text/plain"),
        (status = 401, description = "No or wrong credentials (WWW-Authenticate: Basic)", body = String, content_type = "text/plain"),
        (status = 403, description = "Admins only", body = String, content_type = "text/plain"),
        (status = 503, description = "Storage is unavailable", body = String, content_type = "text/plain")
    ),
    security(("basic" = []))
)]
pub async fn list_audit(
    Authenticated(user): Authenticated,
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<AuditList>, ApiError> {
    user.require_admin(None)?;
    let mut query = parse_query(&params)?;
    query.groups = user.groups.clone();
    let page = state.backend.audit.audit_page(&query).await?;
    Ok(Json(AuditList {
        records: page.records,
        next_cursor: page.next.as_ref().map(encode_cursor),
    }))
}

/// Reads and checks `limit` and `cursor`; a mistake is a 400 naming the parameter.
fn parse_query(params: &HashMap<String, String>) -> Result<AuditQuery, ApiError> {
    if let Some(unknown) = params
        .keys()
        .find(|k| !["limit", "cursor"].contains(&k.as_str()))
    {
        return Err(ApiError::BadRequest(format!(
            "unknown parameter {unknown:?}; the audit log takes limit and cursor"
        )));
    }
    let limit = match params.get("limit").map(|v| v.trim()) {
        None | Some("") => DEFAULT_PAGE,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "limit must be a number from 1 to {MAX_PAGE}, found {v:?}"
                )));
            }
        },
    };
    let before = match params.get("cursor").map(|v| v.trim()) {
        None | Some("") => None,
        Some(cursor) => Some(decode_cursor(cursor)?),
    };
    Ok(AuditQuery {
        before,
        limit,
        groups: None,
    })
}

/// The cursor of a page that ends at `position`: base64url of its text.
fn encode_cursor(position: &AuditPosition) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(position.to_text())
}

fn decode_cursor(cursor: &str) -> Result<AuditPosition, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| AuditPosition::from_text(&text))
        .ok_or_else(|| {
            ApiError::BadRequest(
                "cursor is not one this server handed out (pass next_cursor unchanged)".to_owned(),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// Every mistake names its parameter; a cursor handed out reads back as its position.
    #[test]
    fn parameters_are_checked_and_cursors_round_trip() {
        let error = |pairs: &[(&str, &str)]| {
            parse_query(&params(pairs))
                .expect_err("refused")
                .to_string()
        };
        assert!(error(&[("limit", "0")]).contains("limit must be a number from 1 to 1000"));
        assert!(error(&[("limit", "x")]).contains("limit must be"));
        assert!(error(&[("group", "a")]).contains("unknown parameter \"group\""));
        assert!(error(&[("cursor", "bm90IGEgY3Vyc29y")]).contains("cursor is not one"));
        let position = AuditPosition {
            at: "2026-12-04T18:02:11.417Z".to_owned(),
            id: "42".to_owned(),
        };
        let query = parse_query(&params(&[("cursor", &encode_cursor(&position))])).expect("valid");
        assert_eq!(query.before, Some(position));
        assert_eq!(query.limit, DEFAULT_PAGE);
    }
}

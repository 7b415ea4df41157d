//! The audit log's records and pages: who did which admin action, when, from where. The
//! stores keep the records as they are given; what an event says is decided by
//! [`crate::audit`].

use serde::Serialize;

/// One admin action, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AuditRecord {
    /// When, RFC 3339 UTC with milliseconds (`2026-12-04T18:02:11.417Z`).
    pub at: String,
    /// Who: the user of the request, or the account that ran the command.
    pub actor: String,
    /// How: `api`, `command line` or `start-up` (the admin password from the environment).
    pub via: String,
    /// From where: the client's address, or the host the command ran on.
    pub source: String,
    /// What: `run_deleted`, `user_added`, `user_changed`, `user_removed`.
    pub action: String,
    /// On what: `group/request_id` for a run, the user's name for a user.
    pub target: String,
    /// The group the action touched; `None` for actions on users, which only admins of
    /// every group read.
    pub group: Option<String>,
    /// What changed, as JSON (never a password or a hash).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// Where a page of records ended: the last record's time and its id in the store (the
/// embedded store's sequence number, a uuid on DynamoDB, where the sort key is
/// `<at>#<id>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPosition {
    /// The record's [`AuditRecord::at`].
    pub at: String,
    /// Its id in the store.
    pub id: String,
}

impl AuditPosition {
    /// `<at>#<id>`, as a cursor carries it.
    pub fn to_text(&self) -> String {
        format!("{}#{}", self.at, self.id)
    }

    /// Reads [`AuditPosition::to_text`]'s form back; `None` when it is not one: a time of
    /// digits, `-`, `:`, `.`, `T` and `Z`, and an id of digits, `a`–`f` and `-`.
    pub fn from_text(text: &str) -> Option<AuditPosition> {
        let (at, id) = text.split_once('#')?;
        let time_like = !at.is_empty()
            && at.len() <= 32
            && at
                .bytes()
                .all(|b| b.is_ascii_digit() || b"-:.TZ".contains(&b));
        let id_like = !id.is_empty()
            && id.len() <= 36
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'-');
        (time_like && id_like).then(|| AuditPosition {
            at: at.to_owned(),
            id: id.to_owned(),
        })
    }
}

/// Which records to read: newest first, at most `limit`, older than `before`, and of `groups`
/// only when it is `Some` (records without a group are then left out).
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Where the previous page ended.
    pub before: Option<AuditPosition>,
    /// At most this many records.
    pub limit: usize,
    /// The groups of an admin limited to some; `None` for all records.
    pub groups: Option<Vec<String>>,
}

/// One page of records, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditPage {
    /// The records.
    pub records: Vec<AuditRecord>,
    /// Where the next page starts, when there may be more.
    pub next: Option<AuditPosition>,
}

impl AuditQuery {
    /// True when `record` is one this query may show.
    pub fn shows(&self, record: &AuditRecord) -> bool {
        match (&self.groups, &record.group) {
            (None, _) => true,
            (Some(groups), Some(group)) => groups.iter().any(|g| g == group),
            (Some(_), None) => false,
        }
    }
}

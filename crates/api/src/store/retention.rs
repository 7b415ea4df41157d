//! How long runs are kept: a number of days per group and a default for the groups without
//! one. The stores keep the rules; [`crate::retention`] deletes what they say has expired.

use serde::Serialize;

/// The most days a rule may say (100 years: "keep", in practice).
pub const MAX_RETENTION_DAYS: u32 = 36_500;

/// Keep the runs of `group` (or of every group without a rule of its own, when `None`)
/// for `days` after they were filed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RetentionRule {
    /// The group; `None` for the default.
    pub group: Option<String>,
    /// Days after filing.
    pub days: u32,
}

/// The name a store files the default rule under (`*` is never a group name: the key grammar
/// refuses it).
pub(crate) const DEFAULT_RULE: &str = "*";

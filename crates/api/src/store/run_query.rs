//! Which runs to list: the filters of `GET /api/v1/runs` and the export, defined once
//! ([`RunQuery::accepts`]), pages and where they end, and the run tag derived from a run's
//! request id (the major version comes from the model's `version::major_minor`).

use serde::Serialize;

/// Which runs to list (`GET /api/v1/runs`). Every filter is optional; all given ones must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunQuery {
    /// Only this group.
    pub group: Option<String>,
    /// Only these groups (the caller's access), when not all.
    pub allowed_groups: Option<Vec<String>>,
    /// Runs with at least one scenario of this type.
    pub scenario_type: Option<String>,
    /// Cluster major version, exactly (`4.18`).
    pub major_version: Option<String>,
    /// Cloud platform, exactly (`AWS`).
    pub cloud: Option<String>,
    /// Overall outcome.
    pub job_status: Option<bool>,
    /// Text the run tag contains.
    pub run_tag: Option<String>,
    /// Filed at or after (RFC 3339, seconds, `Z`).
    pub since: Option<String>,
    /// Filed at or before (RFC 3339, seconds, `Z`).
    pub until: Option<String>,
    /// Runs per page.
    pub limit: usize,
    /// Continue after this run (from the previous page's cursor).
    pub after: Option<RunPosition>,
}

/// Where a page of runs ended: the last run's filing time and key (the order of pages:
/// newest filed first, then group and request id, both descending).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RunPosition {
    /// `filed_at` of the run.
    pub filed_at: String,
    /// Its group.
    pub group: String,
    /// Its request id.
    pub request_id: String,
}

/// A run as listed: what its index entry says (the routes' `ListedRun` is its wire form).
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// Group of the run.
    pub group: String,
    /// Request id of the run.
    pub request_id: String,
    /// krkn's run uuid.
    pub run_uuid: String,
    /// The run tag krkn appended to the request id (empty when none).
    pub run_tag: String,
    /// When it was filed, RFC 3339.
    pub filed_at: String,
    /// Cluster version.
    pub cluster_version: String,
    /// Cluster major version (`4.18`).
    pub major_version: String,
    /// Cloud platform.
    pub cloud_infrastructure: String,
    /// Overall outcome, when the document said.
    pub job_status: Option<bool>,
    /// Number of scenarios.
    pub scenario_count: u64,
    /// Distinct scenario types, sorted.
    pub scenario_types: Vec<String>,
    /// Size of the stored document.
    pub document_bytes: u64,
}

/// One page of runs and where the next one starts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunPage {
    /// The runs, newest filed first.
    pub runs: Vec<RunSummary>,
    /// Set when more runs may follow.
    pub next: Option<RunPosition>,
}

impl RunQuery {
    /// True when `run` passes every filter of this query: the definition of the filters,
    /// which the backends' own filtering (SQL, DynamoDB keys and expressions) must agree
    /// with; the store property test holds both backends to it.
    pub fn accepts(&self, run: &RunSummary) -> bool {
        self.group.as_ref().is_none_or(|g| &run.group == g)
            && self
                .allowed_groups
                .as_ref()
                .is_none_or(|groups| groups.contains(&run.group))
            && self.accepts_outside_keys(run)
            && self.since.as_ref().is_none_or(|s| run.filed_at >= *s)
            && self.until.as_ref().is_none_or(|u| run.filed_at <= *u)
            && self
                .after
                .as_ref()
                .is_none_or(|after| RunPosition::of(run) < *after)
    }

    /// True when `run` passes the filters that no backend's key applies (all but group,
    /// access, time and paging).
    fn accepts_outside_keys(&self, run: &RunSummary) -> bool {
        self.scenario_type
            .as_ref()
            .is_none_or(|t| run.scenario_types.iter().any(|x| x == t))
            && self
                .major_version
                .as_ref()
                .is_none_or(|v| &run.major_version == v)
            && self
                .cloud
                .as_ref()
                .is_none_or(|c| &run.cloud_infrastructure == c)
            && self.job_status.is_none_or(|j| run.job_status == Some(j))
            && self
                .run_tag
                .as_ref()
                .is_none_or(|t| run.run_tag.contains(t.as_str()))
    }

    /// The page the backends must return for this query from `runs` (every indexed run):
    /// those [`RunQuery::accepts`] accepts, in page order, at most `limit`.
    pub fn reference_page(&self, runs: &[RunSummary]) -> RunPage {
        let mut accepted: Vec<RunSummary> = runs
            .iter()
            .filter(|run| self.accepts(run))
            .cloned()
            .collect();
        accepted.sort_by(|a, b| RunPosition::of(b).cmp(&RunPosition::of(a)));
        accepted.truncate(self.limit + 1);
        RunPage::from_one_more(accepted, self.limit)
    }
}

impl RunPosition {
    /// The position of `run` in the order of pages.
    pub fn of(run: &RunSummary) -> Self {
        RunPosition {
            filed_at: run.filed_at.clone(),
            group: run.group.clone(),
            request_id: run.request_id.clone(),
        }
    }
}

impl PartialOrd for RunPosition {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for RunPosition {
    /// By filing time, then group, then request id: pages list runs in descending order.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (&self.filed_at, &self.group, &self.request_id).cmp(&(
            &other.filed_at,
            &other.group,
            &other.request_id,
        ))
    }
}

impl RunPage {
    /// A page of at most `limit` runs from `runs`, read with one run more than the page
    /// holds: when that one is there, more follow, and the page ends at its last run.
    pub fn from_one_more(mut runs: Vec<RunSummary>, limit: usize) -> Self {
        let next = if runs.len() > limit {
            runs.truncate(limit);
            runs.last().map(RunPosition::of)
        } else {
            None
        };
        RunPage { runs, next }
    }
}

/// The run tag of a krkn request id (`<unix>-<run_uuid>-<tag>` → `<tag>`), empty when none.
pub fn run_tag_of(request_id: &str, run_uuid: &str) -> String {
    if run_uuid.is_empty() {
        return String::new();
    }
    request_id
        .find(run_uuid)
        .and_then(|at| request_id[at + run_uuid.len()..].strip_prefix('-'))
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_tags_are_derived_as_krkn_writes_them() {
        assert_eq!(run_tag_of("1764000000-abc-def-my-tag", "abc-def"), "my-tag");
        assert_eq!(run_tag_of("1764000000-abc-def", "abc-def"), "");
        assert_eq!(run_tag_of("1764000000-other", "abc-def"), "");
        assert_eq!(run_tag_of("1764000000-abc", ""), "");
    }
}

//! What `fsck` reads of the index: per run key of a group, the run's own entry and its
//! scenario entries, as the index holds them (not as a list of runs shows them).

/// The index's entries of one run key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IndexedRun {
    /// The run's request id.
    pub request_id: String,
    /// The run's own entry; `None` when only scenario entries are left (a delete cut short).
    pub entry: Option<RunEntryFacts>,
    /// Scenario entries of the run key.
    pub scenario_entries: u64,
    /// Scenario entries whose export row is not of the current layout version (filed by an
    /// older release; the export renders them from the document, slower).
    pub stale_rows: u64,
}

/// What the run's own entry says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunEntryFacts {
    /// When the run was filed, RFC 3339.
    pub filed_at: String,
    /// The size of the document it was filed with.
    pub document_bytes: u64,
    /// The scenarios the document had.
    pub scenario_count: u64,
    /// False for an entry of an older layout (on DynamoDB, a run item without the `gsi2`
    /// keys, which a group's list does not find).
    pub current_layout: bool,
}

impl IndexedRun {
    /// True when the entries need rewriting from the document: rows of an older layout,
    /// scenario entries missing or extra, or the run's entry of an older layout.
    pub fn outdated(&self) -> bool {
        match &self.entry {
            None => false,
            Some(entry) => {
                self.stale_rows > 0
                    || self.scenario_entries != entry.scenario_count
                    || !entry.current_layout
            }
        }
    }
}

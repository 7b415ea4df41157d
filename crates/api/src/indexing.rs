//! What the index holds of a filed document: its run and scenario entries, computed from the
//! document as stored. Filing (`POST /telemetry`) and rebuilding the index (`reindex`, `fsck
//! --repair`) share it, so a rebuilt entry is the one filing would have written.

use krkn_telemetry_model::version::major_minor;
use krkn_telemetry_model::{ChaosRunTelemetry, RunKey, export};
use sha2::{Digest, Sha256};

use crate::store::{RunRecord, ScenarioRecord, run_tag_of};

/// The longest export row kept in the index. A DynamoDB item holds at most 400 KB; a longer
/// row (huge parameters) is left out, and the export renders it from the document instead.
pub const MAX_STORED_EXPORT_ROW: usize = 256 * 1024;

/// The index entries of a filed document.
pub fn run_record(key: &RunKey, document: &ChaosRunTelemetry, stored: &[u8]) -> RunRecord {
    run_record_filed_at(key, document, stored, crate::time::now_rfc3339())
}

/// The index entries of a stored document filed at `filed_at` (RFC 3339): what `reindex` and
/// `fsck --repair` write for a document already in the store.
pub fn run_record_filed_at(
    key: &RunKey,
    document: &ChaosRunTelemetry,
    stored: &[u8],
    filed_at: String,
) -> RunRecord {
    let text =
        |field: &krkn_telemetry_model::Field<String>| field.get().cloned().unwrap_or_default();
    let rows = export::scenario_rows(document);
    let scenarios = document
        .scenarios
        .get()
        .map(|list| {
            list.iter()
                .zip(&rows)
                .enumerate()
                .map(|(index, (s, row))| ScenarioRecord {
                    index: index as u32,
                    scenario: text(&s.scenario),
                    scenario_type: text(&s.scenario_type),
                    exit_status: s.exit_status.get().copied(),
                    start_timestamp: s.start_timestamp.get().and_then(|n| n.as_f64()),
                    end_timestamp: s.end_timestamp.get().and_then(|n| n.as_f64()),
                    export_row: Some(export::render_row(row))
                        .filter(|row| row.len() <= MAX_STORED_EXPORT_ROW),
                })
                .collect()
        })
        .unwrap_or_default();
    let cluster_version = text(&document.cluster_version);
    let major_version = document
        .major_version
        .get()
        .map(|v| v.to_text())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| major_minor(&cluster_version));
    let run_uuid = text(&document.run_uuid);
    RunRecord {
        group: key.group().to_owned(),
        request_id: key.request_id().to_owned(),
        run_tag: run_tag_of(key.request_id(), &run_uuid),
        run_uuid,
        filed_at,
        major_version,
        cluster_version,
        cloud_infrastructure: text(&document.cloud_infrastructure),
        job_status: document.job_status.get().copied(),
        document_sha256: hex::encode(Sha256::digest(stored)),
        document_bytes: stored.len() as u64,
        scenarios,
    }
}

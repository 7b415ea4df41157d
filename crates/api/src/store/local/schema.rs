//! The index database's file, settings and tables, and the migration of indexes written by
//! older versions.

use std::path::Path;

use rusqlite::{Connection, params};

use super::document_log;
use super::paths::io;
use super::private_files;
use crate::store::StoreError;
use crate::store::run_query::run_tag_of;
use krkn_telemetry_model::version::major_minor;

/// The file of the index under a data directory.
pub(super) fn index_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("index.sqlite")
}

/// Opens (creating if needed) `<data>/index.sqlite` as the writing connection: private to
/// this user, its settings made, its tables created or migrated.
pub(super) fn open_index(data_dir: &Path) -> Result<Connection, StoreError> {
    // The index holds the users' password hashes: this user only. SQLite gives its -wal
    // and -shm files the database's mode; older stores made them 0644.
    let path = index_path(data_dir);
    match private_files::create_new(&path) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io("create", &path)(e)),
    }
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let file = data_dir.join(format!("index.sqlite{suffix}"));
        if let Some(mode) = private_files::make_private(&file).map_err(io("chmod", &file))? {
            tracing::warn!(file = %file.display(), mode = format!("{mode:03o}"), "the index was open to other users; made it 0600");
        }
    }
    let connection = Connection::open(&path)?;
    connection.execute_batch(
        // Before any table exists (a new index): freed pages go back to the file system
        // when the document log is emptied; an older index keeps its setting.
        "PRAGMA auto_vacuum = INCREMENTAL;",
    )?;
    connection.execute_batch(
        // FULL: a commit is on disk when it returns; it carries logged documents.
        // Checkpoints are the document syncer's job (a passive one after each pass),
        // not the committing writer's, so that a filing does not wait for one (at the
        // default 1,000 pages, and at 10,000, they set the p99 of 32 clients: 27 ms
        // against 9 ms without). The 100,000 pages (400 MB) are a bound for when the
        // syncer falls behind.
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA wal_autocheckpoint = 100000;
         PRAGMA journal_size_limit = 67108864;
         BEGIN;
         CREATE TABLE IF NOT EXISTS runs (
             grp TEXT NOT NULL, request_id TEXT NOT NULL, run_uuid TEXT NOT NULL,
             filed_at TEXT NOT NULL, cluster_version TEXT NOT NULL,
             cloud_infrastructure TEXT NOT NULL, job_status INTEGER,
             document_sha256 TEXT NOT NULL, document_bytes INTEGER NOT NULL,
             PRIMARY KEY (grp, request_id));
         CREATE INDEX IF NOT EXISTS runs_by_time ON runs (filed_at);
         CREATE TABLE IF NOT EXISTS scenarios (
             grp TEXT NOT NULL, request_id TEXT NOT NULL, idx INTEGER NOT NULL,
             scenario TEXT NOT NULL, scenario_type TEXT NOT NULL, exit_status INTEGER,
             start_timestamp REAL, end_timestamp REAL,
             PRIMARY KEY (grp, request_id, idx));
         CREATE INDEX IF NOT EXISTS scenarios_by_type ON scenarios (scenario_type, start_timestamp);
         CREATE TABLE IF NOT EXISTS artifacts (
             key TEXT PRIMARY KEY, size INTEGER NOT NULL, sha256 TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS users (
             name TEXT PRIMARY KEY, role TEXT NOT NULL, groups TEXT NOT NULL,
             password_hash TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS audit (
             seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL,
             via TEXT NOT NULL, source TEXT NOT NULL, action TEXT NOT NULL,
             target TEXT NOT NULL, grp TEXT, details TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS retention (grp TEXT PRIMARY KEY, days INTEGER NOT NULL);
         COMMIT;",
    )?;
    connection.execute_batch(document_log::SCHEMA)?;
    document_log::migrate(&connection)?;
    migrate_index(&connection)?;
    Ok(connection)
}

/// Brings an index written by an older version up to date: the columns and indexes the run
/// queries need, filled in from what the index already holds.
fn migrate_index(db: &Connection) -> Result<(), StoreError> {
    let columns: Vec<String> = db
        .prepare("SELECT name FROM pragma_table_info('runs')")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if !columns.iter().any(|c| c == "major_version") {
        db.execute_batch(
            "ALTER TABLE runs ADD COLUMN major_version TEXT NOT NULL DEFAULT '';
             ALTER TABLE runs ADD COLUMN run_tag TEXT NOT NULL DEFAULT '';
             ALTER TABLE runs ADD COLUMN scenario_count INTEGER NOT NULL DEFAULT 0;
             UPDATE runs SET scenario_count = (SELECT COUNT(*) FROM scenarios s
                 WHERE s.grp = runs.grp AND s.request_id = runs.request_id);",
        )?;
        let rows: Vec<(String, String, String, String)> = db
            .prepare("SELECT grp, request_id, run_uuid, cluster_version FROM runs")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<_, _>>()?;
        for (group, request_id, run_uuid, cluster_version) in rows {
            db.execute(
                "UPDATE runs SET major_version = ?3, run_tag = ?4 WHERE grp = ?1 AND request_id = ?2",
                params![
                    group,
                    request_id,
                    major_minor(&cluster_version),
                    run_tag_of(&request_id, &run_uuid)
                ],
            )?;
        }
    }
    let scenario_columns: Vec<String> = db
        .prepare("SELECT name FROM pragma_table_info('scenarios')")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if !scenario_columns.iter().any(|c| c == "export_row") {
        // Rows of runs filed before are computed from their documents when exported.
        db.execute_batch(
            "ALTER TABLE scenarios ADD COLUMN export_version INTEGER;
             ALTER TABLE scenarios ADD COLUMN export_row TEXT;",
        )?;
    }
    db.execute_batch(
        "BEGIN;
         CREATE INDEX IF NOT EXISTS runs_by_filing ON runs (filed_at, grp, request_id);
         CREATE INDEX IF NOT EXISTS runs_by_group_filing ON runs (grp, filed_at, request_id);
         CREATE INDEX IF NOT EXISTS scenarios_by_run_type ON scenarios (grp, request_id, scenario_type);
         COMMIT;",
    )?;
    Ok(())
}

//! `export --to DIR` and `import --from DIR` of the embedded store, through the command line
//! while the source store is open (as under a running server): the export checks with
//! `sha256sum -c`, the imported store holds the same bytes and answers the same runs pages
//! with the same users; a damaged or padded export and a non-empty destination are refused
//! naming the problem, writing nothing.

use std::path::Path;

use krkn_telemetry_api::store::{Backend, LocalStore};
use krkn_telemetry_api::{ApiConfig, AppState, router};

use crate::helpers::*;
use crate::migrate::{answers, source};

/// `krkn-telemetry-api ARGS --data-dir DATA`: exit code and standard error.
fn cli(data: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = crate::cli::run(Kind::Local, data, args, "", &None);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A test app over the store in `data`.
fn app_on(data: &Path) -> TestApp {
    let backend = Backend::local(LocalStore::open(data).expect("the imported store opens"));
    TestApp {
        router: router(AppState::new(backend.clone(), ApiConfig::default())),
        backend,
        dir: tempfile::tempdir().expect("temp dir"),
        aws: None,
    }
}

#[tokio::test]
async fn an_export_imports_into_the_same_store() {
    let original = source().await;
    let work = tempfile::tempdir().expect("temp dir");
    let export = work.path().join("export");
    let export_text = export.to_str().expect("UTF-8");
    let (code, stderr) = cli(original.dir.path(), &["export", "--to", export_text]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("3 run(s), 4 object(s)"), "{stderr}");
    let checked = std::process::Command::new("sha256sum")
        .args(["--check", "--strict", "SHA256SUMS"])
        .current_dir(&export)
        .output()
        .expect("sha256sum runs");
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stdout)
    );

    let data = work.path().join("restored");
    let (code, stderr) = cli(&data, &["import", "--from", export_text]);
    assert_eq!(code, Some(0), "{stderr}");
    let restored = app_on(&data);
    assert_eq!(restored.objects().await, original.objects().await);
    assert_eq!(answers(&restored).await, answers(&original).await);
    assert_eq!(
        restored.backend.users.list_users().await.expect("users"),
        original.backend.users.list_users().await.expect("users")
    );
    let audit = restored.get("admin", "/api/v1/audit").await.body;
    assert!(audit.contains("store_imported"), "{audit}");

    // Into a folder that holds something: refused.
    let (code, stderr) = cli(original.dir.path(), &["export", "--to", export_text]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("is not empty"), "{stderr}");
}

#[tokio::test]
async fn a_damaged_or_padded_export_is_refused_and_nothing_is_written() {
    let original = source().await;
    let work = tempfile::tempdir().expect("temp dir");
    let export = work.path().join("export");
    let export_text = export.to_str().expect("UTF-8");
    let (code, stderr) = cli(original.dir.path(), &["export", "--to", export_text]);
    assert_eq!(code, Some(0), "{stderr}");
    let file = format!("objects/default/{RUN_ID}/critical-alerts-00.log");
    let path = export.join(&file);
    let mut bytes = std::fs::read(&path).expect("exported file");
    bytes[0] ^= 1;
    std::fs::write(&path, &bytes).expect("damaged");
    let data = work.path().join("restored");
    let (code, stderr) = cli(&data, &["import", "--from", export_text]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains(&file) && stderr.contains("the export is damaged"),
        "{stderr}"
    );
    assert!(!data.exists(), "nothing is written");

    bytes[0] ^= 1;
    std::fs::write(&path, &bytes).expect("repaired");
    std::fs::write(export.join("objects/default/planted.sh"), b"#!/bin/sh\n").expect("planted");
    let (code, stderr) = cli(&data, &["import", "--from", export_text]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("objects/default/planted.sh is in the export but not in SHA256SUMS"),
        "{stderr}"
    );
    assert!(!data.exists(), "nothing is written");
}

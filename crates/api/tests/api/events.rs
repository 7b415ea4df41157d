//! Every sample event in `events/` goes through the Lambda handler and gets the status
//! `events/expected.json` names (the fixture is described in `events/README.md`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use krkn_telemetry_api::auth::new_user;
use krkn_telemetry_api::lambda;

use crate::helpers::*;

#[tokio::test]
async fn every_sample_event_gets_its_expected_status() {
    let app = spawn_app_with(lambda::behind_api_gateway(Default::default()));
    app.backend
        .users
        .put_user(&new_user("admin", "admin", "*", "krkn-events-password").expect("user"))
        .await
        .expect("saved");
    let seeded = app
        .post_telemetry(
            "uploader",
            &format!("request_id={RUN_ID}&telemetry_group=default"),
            SEED,
        )
        .await;
    assert_eq!(seeded.status.as_u16(), 200, "{}", seeded.body);

    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events");
    let expected: BTreeMap<String, u16> = serde_json::from_str(
        &std::fs::read_to_string(dir.join("expected.json")).expect("expected.json"),
    )
    .expect("JSON");
    let mut seen = 0;
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("events dir") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if !name.ends_with(".json") || name == "expected.json" {
            continue;
        }
        let want = *expected
            .get(&name)
            .unwrap_or_else(|| panic!("{name} has no expected status in expected.json"));
        let text = std::fs::read_to_string(&path).expect("event file");
        let request = lambda_http::request::from_str(&text)
            .unwrap_or_else(|e| panic!("{name} is not an API Gateway event: {e}"));
        let response = lambda::handle(app.router.clone(), "", request)
            .await
            .expect("infallible");
        seen += 1;
        if response.status().as_u16() != want {
            failures.push(format!("{name}: wanted {want}, got {}", response.status()));
        }
    }
    assert_eq!(seen, expected.len(), "every expected event file exists");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

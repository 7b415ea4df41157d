//! The upload protocol against our API on moto: what a 412 (the name is taken) means.

use krkn_telemetry_collector::upload::{
    ApiSettings, Payload, TelemetryApi, UploadError, UploadOutcome, hex_digest,
};
use krkn_telemetry_model::{ArtifactName, RunKey, Secret};

use crate::support::{TestApi, UPLOADER};

/// A 412 counts as stored only when the service shows the stored bytes have this file's
/// SHA-256; other bytes under the name fail the upload with both checksums, and the stored
/// file is untouched. (Before, every 412 counted as stored, so a resumed backup whose part
/// changed recorded the new checksum while the old bytes stayed.)
#[test]
fn a_412_counts_as_stored_only_when_the_stored_bytes_are_the_same() {
    let api = TestApi::start();
    let client = TelemetryApi::new(ApiSettings::new(
        &api.url,
        UPLOADER.0,
        Secret::new(UPLOADER.1),
    ))
    .expect("client");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let key =
        RunKey::new("default", "1764000000-96348571-0b06-459e-b654-a1bb6fd66239").expect("key");
    let name = ArtifactName::new("prometheus-00.tar").expect("name");
    let first = Payload::bytes(bytes::Bytes::from_static(b"the first part's bytes"));
    assert_eq!(
        runtime
            .block_on(client.upload(&key, &name, &first))
            .expect("stored"),
        UploadOutcome::Stored
    );
    assert_eq!(
        runtime
            .block_on(client.upload(&key, &name, &first))
            .expect("the same bytes again"),
        UploadOutcome::AlreadyStored { attempt: 1 }
    );
    let other = Payload::bytes(bytes::Bytes::from_static(b"a changed part, other bytes"));
    let error = runtime
        .block_on(client.upload(&key, &name, &other))
        .expect_err("other bytes under the name");
    assert!(matches!(error, UploadError::Conflict { .. }), "{error}");
    let text = error.to_string();
    assert!(text.contains(&hex_digest(&first.sha256)), "{text}");
    assert!(text.contains(&hex_digest(&other.sha256)), "{text}");
    assert_eq!(
        api.object(&key.object_key(&name)).as_deref(),
        Some(&b"the first part's bytes"[..])
    );
}

//! End to end over real HTTP, speaking exactly krkn's protocol (KRKN-PROTOCOL.md sections 1
//! and 7): Basic auth, query parameters, a bare URL as text, a raw `PUT` of the file.

use krkn_telemetry_api::ApiConfig;
use krkn_telemetry_api::signing::{LinkClaims, LinkKind, Signer};
use reqwest::StatusCode;

use crate::helpers::*;

const GROUP: &str = "default";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// What krkn-lib does for one file: ask for a link, then PUT the raw bytes to it.
async fn krkn_upload(base: &str, name: &str, bytes: Vec<u8>) -> (StatusCode, String) {
    let link = client()
        .get(format!("{base}/presigned-url"))
        .query(&[
            ("request_id", format!("{GROUP}/{RUN_ID}")),
            ("remote_filename", name.to_owned()),
        ])
        .basic_auth("uploader", Some(password("uploader")))
        .send()
        .await
        .expect("presigned-url answers");
    let status = link.status();
    let text = link.text().await.expect("text");
    if status != StatusCode::OK {
        return (status, text);
    }
    // Our own upload route on the embedded store, S3's presigned URL on moto: either way a
    // bare URL naming exactly this file.
    assert!(
        text.starts_with("http://") && !text.contains(char::is_whitespace),
        "{text}"
    );
    assert!(
        text.contains(&format!("/{GROUP}/{RUN_ID}/{name}?")),
        "{text}"
    );
    let put = client()
        .put(&text)
        .body(bytes)
        .send()
        .await
        .expect("PUT answers");
    let status = put.status();
    (status, put.text().await.unwrap_or_default())
}

fn pseudo_random(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[i % 4] ^ seed)
        .collect()
}

async fn krkn_protocol_round_trip_stores_exact_bytes(kind: Kind) {
    let (base, app) = spawn_server(kind, ApiConfig::default()).await;
    let post = client()
        .post(format!("{base}/telemetry"))
        .query(&[("request_id", RUN_ID), ("telemetry_group", GROUP)])
        .basic_auth("uploader", Some(password("uploader")))
        .header("Content-type", "application/json")
        .header("Accept", "text/plain")
        .body(SEED.to_vec())
        .send()
        .await
        .expect("POST answers");
    assert_eq!(post.status(), StatusCode::OK);

    let wrong = client()
        .post(format!("{base}/telemetry"))
        .query(&[("request_id", RUN_ID), ("telemetry_group", GROUP)])
        .basic_auth("uploader", Some("wrong"))
        .header("Content-type", "application/json")
        .body(SEED.to_vec())
        .send()
        .await
        .expect("POST answers");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let alerts =
        br#"{"run_id": "x", "scenario": "s", "chaos_alerts": [], "post_chaos_alerts": []}"#
            .to_vec();
    let mut expected = vec![(
        format!("{GROUP}/{RUN_ID}/critical-alerts-00.log"),
        alerts.clone(),
    )];
    assert_eq!(
        krkn_upload(&base, "critical-alerts-00.log", alerts).await.0,
        StatusCode::OK
    );
    for part in 0..3u8 {
        let bytes = pseudo_random(200_000 + usize::from(part) * 7, part);
        let name = format!("prometheus-{part:02}.tar");
        let (status, body) = krkn_upload(&base, &name, bytes.clone()).await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
        expected.push((format!("{GROUP}/{RUN_ID}/{name}"), bytes));
    }
    let mut stored = app.objects().await;
    stored.retain(|(key, _)| !key.ends_with("telemetry.json"));
    expected.sort();
    assert_eq!(stored, expected, "every byte arrived under its own name");
}

#[tokio::test]
async fn upload_links_refuse_telemetry_traversal_and_replacing_files() {
    let (base, app) = spawn_server(Kind::Local, ApiConfig::default()).await;
    assert_eq!(
        krkn_upload(&base, "telemetry.json", b"{}".to_vec()).await.0,
        StatusCode::BAD_REQUEST
    );
    let (status, body) = krkn_upload(&base, "../../x", b"x".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("invalid file name"), "{body}");
    assert_eq!(
        krkn_upload(&base, "prometheus-00.tar", b"first".to_vec())
            .await
            .0,
        StatusCode::OK
    );
    // krkn-lib retries a part whose response was lost with a new link: same bytes, 200.
    let (status, body) = krkn_upload(&base, "prometheus-00.tar", b"first".to_vec()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Other bytes never replace a stored file.
    let (status, body) = krkn_upload(&base, "prometheus-00.tar", b"second".to_vec()).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
    assert!(body.contains("cannot be replaced"), "{body}");
    let stored = app.objects().await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].1, b"first");
}

#[tokio::test]
async fn a_link_writes_only_its_key_its_length_and_only_while_valid() {
    let (base, app) = spawn_server(Kind::Local, ApiConfig::default()).await;
    // The store's key, read as the store keeps it (32 raw bytes), to sign links by hand.
    let key_bytes = std::fs::read(app.dir.path().join("signing.key")).expect("key");
    let signer = Signer::new(key_bytes.try_into().expect("32 bytes"));
    let key = format!("{GROUP}/{RUN_ID}/prometheus-00.tar");
    let now = chrono_now();
    let link = |claims: &LinkClaims, path_key: &str| {
        format!("{base}/upload/{path_key}?{}", claims.query(&signer))
    };
    let valid = LinkClaims {
        kind: LinkKind::Upload,
        key: key.clone(),
        expires: now + 60,
        length: Some(5),
        sha256: None,
    };

    // Another key under the same signature.
    let other = format!("{GROUP}/{RUN_ID}/prometheus-01.tar");
    let response = client()
        .put(link(&valid, &other))
        .body("12345")
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // More bytes than announced.
    let response = client()
        .put(link(&valid, &key))
        .body("123456")
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // Expired.
    let expired = LinkClaims {
        expires: now - 1,
        ..valid.clone()
    };
    let response = client()
        .put(link(&expired, &key))
        .body("12345")
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.expect("text").contains("expired"));
    // Tampered signature.
    let tampered = link(&valid, &key).replace("sig=", "sig=00");
    assert_eq!(
        client()
            .put(tampered)
            .body("12345")
            .send()
            .await
            .expect("answers")
            .status(),
        StatusCode::FORBIDDEN
    );
    assert!(
        app.objects().await.is_empty(),
        "nothing was written by a refused link"
    );

    // The real thing, then a retry with the same bytes (fine) and with other bytes (412).
    assert_eq!(
        client()
            .put(link(&valid, &key))
            .body("12345")
            .send()
            .await
            .expect("answers")
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        client()
            .put(link(&valid, &key))
            .body("12345")
            .send()
            .await
            .expect("answers")
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        client()
            .put(link(&valid, &key))
            .body("54321")
            .send()
            .await
            .expect("answers")
            .status(),
        StatusCode::PRECONDITION_FAILED
    );
    assert_eq!(app.objects().await, vec![(key, b"12345".to_vec())]);
}

#[tokio::test]
async fn announced_checksum_is_enforced() {
    let (base, app) = spawn_server(Kind::Local, ApiConfig::default()).await;
    let good = "5994471abb01112afcc18159f6cc74b4f511b99806da59b3caf5a9c173cacfc5"; // sha256("12345")
    let link = client()
        .get(format!("{base}/presigned-url"))
        .query(&[
            ("request_id", format!("{GROUP}/{RUN_ID}")),
            ("remote_filename", "prometheus-00.tar".to_owned()),
            ("sha256", good.to_owned()),
        ])
        .basic_auth("uploader", Some(password("uploader")))
        .send()
        .await
        .expect("answers")
        .text()
        .await
        .expect("text");
    let response = client()
        .put(&link)
        .body("12346")
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.expect("text").contains("SHA-256"));
    assert!(app.objects().await.is_empty());
    assert_eq!(
        client()
            .put(&link)
            .body("12345")
            .send()
            .await
            .expect("answers")
            .status(),
        StatusCode::OK
    );
}

async fn download_links_and_the_file_browser_serve_the_run(kind: Kind) {
    let (base, _app) = spawn_server(kind, ApiConfig::default()).await;
    let bytes = pseudo_random(50_000, 9);
    app_post_seed(&base).await;
    assert_eq!(
        krkn_upload(&base, "prometheus-00.tar", bytes.clone())
            .await
            .0,
        StatusCode::OK
    );

    let answer: serde_json::Value = client()
        .get(format!(
            "{base}/download-url/{GROUP}/{RUN_ID}/prometheus-00.tar"
        ))
        .basic_auth("reader", Some(password("reader")))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("json");
    let link = answer["download_link"].as_str().expect("link");
    let downloaded = client()
        .get(link)
        .send()
        .await
        .expect("answers")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(downloaded.as_ref(), bytes.as_slice());
    let missing = client()
        .get(format!("{base}/download-url/{GROUP}/{RUN_ID}/nothing.tar"))
        .basic_auth("reader", Some(password("reader")))
        .send()
        .await
        .expect("answers");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // krkn prints {api_url}/files/<group>/<id>: it must lead to the run's page.
    let root = client()
        .get(format!("{base}/"))
        .send()
        .await
        .expect("answers");
    assert_eq!(root.status(), StatusCode::FOUND);
    assert_eq!(root.headers()["location"], "files/");
    let printed = client()
        .get(format!("{base}/files/{GROUP}/{RUN_ID}"))
        .basic_auth("reader", Some(password("reader")))
        .send()
        .await
        .expect("answers");
    assert_eq!(printed.status(), StatusCode::FOUND);
    let page_url = format!("{base}/files/{GROUP}/{RUN_ID}/");
    let page = client()
        .get(&page_url)
        .basic_auth("reader", Some(password("reader")))
        .send()
        .await
        .expect("answers");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("telemetry.json") && html.contains("prometheus-00.tar"),
        "{html}"
    );
    let href = html
        .split("href=\"")
        .filter_map(|s| s.split('"').next())
        .find(|h| h.contains("prometheus-00.tar"))
        .expect("a download link");
    let href = href.replace("&amp;", "&");
    let resolved = reqwest::Url::parse(&page_url)
        .expect("url")
        .join(&href)
        .expect("relative link");
    let via_page = client()
        .get(resolved)
        .send()
        .await
        .expect("answers")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(via_page.as_ref(), bytes.as_slice());
    let anonymous = client().get(&page_url).send().await.expect("answers");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

async fn app_post_seed(base: &str) {
    let response = client()
        .post(format!("{base}/telemetry"))
        .query(&[("request_id", RUN_ID), ("telemetry_group", GROUP)])
        .basic_auth("uploader", Some(password("uploader")))
        .header("Content-Type", "application/json")
        .body(SEED.to_vec())
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::OK);
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

on_both_backends_through_links!(
    krkn_protocol_round_trip_stores_exact_bytes,
    download_links_and_the_file_browser_serve_the_run
);

//! Which certificate authorities the collector trusts for the API: the public roots it is
//! built with plus the system's, so an API behind a private or corporate CA is reached by
//! pointing `SSL_CERT_FILE` at that CA (the image sets it to its copied bundle) and refused
//! without it. The front here is a real TLS listener signed by a throw-away CA.

use std::convert::Infallible;
use std::path::Path;

use crate::support::{TestApi, UPLOADER, cli, text};

const SEED: &[u8] = include_bytes!("../../../model/tests/data/seed-sample.json");

/// HTTPS on loopback in front of `upstream` (plain HTTP), with its CA's PEM.
struct HttpsFront {
    url: String,
    ca_pem: String,
    _runtime: tokio::runtime::Runtime,
}

fn https_front(upstream: String) -> HttpsFront {
    let tls = krkn_telemetry_fake_kube::throwaway_tls().expect("throw-away CA");
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.server_config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let url = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(stream) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |request| {
                        let upstream = upstream.clone();
                        async move {
                            let (parts, body) = request.into_parts();
                            let body = axum::body::Body::new(body);
                            let response = match axum::body::to_bytes(body, 64 << 20).await {
                                Ok(bytes) => crate::support::forward(&upstream, &parts, bytes)
                                    .await
                                    .unwrap_or_else(|_| {
                                        axum::response::IntoResponse::into_response(
                                            axum::http::StatusCode::BAD_GATEWAY,
                                        )
                                    }),
                                Err(_) => axum::response::IntoResponse::into_response(
                                    axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                                ),
                            };
                            Ok::<_, Infallible>(response)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        format!("https://127.0.0.1:{}", address.port())
    });
    HttpsFront {
        url,
        ca_pem: tls.ca_pem,
        _runtime: runtime,
    }
}

fn send_to(api_url: &str, dir: &Path, group: &str, env: &[(&str, &str)]) -> std::process::Output {
    let config = dir.join("config.yaml");
    std::fs::write(
        &config,
        "kraken:\n  distribution: kubernetes\ntelemetry:\n  enabled: True\n  max_retries: 3\n",
    )
    .expect("config");
    let input = dir.join("output.json");
    std::fs::write(&input, SEED).expect("input");
    let archive = dir.join(format!("archive-{group}"));
    cli(
        &[
            "send",
            "--config",
            config.to_str().expect("utf-8"),
            "--input",
            input.to_str().expect("utf-8"),
            "--no-collect",
            "--archive-path",
            archive.to_str().expect("utf-8"),
            "--api-url",
            api_url,
            "--username",
            UPLOADER.0,
            "--output",
            "json",
        ],
        None,
        &[
            &[
                ("KRKN_TELEMETRY_PASSWORD", UPLOADER.1),
                ("KRKN_TELEMETRY_GROUP", group),
            ],
            env,
        ]
        .concat(),
    )
}

#[test]
fn an_api_behind_a_private_ca_is_trusted_through_ssl_cert_file_and_refused_without_it() {
    let api = TestApi::start();
    let front = https_front(api.url.clone());
    let dir = tempfile::tempdir().expect("temp dir");
    let bundle = dir.path().join("private-ca.pem");
    std::fs::write(&bundle, &front.ca_pem).expect("CA bundle");

    // Without the CA: the certificate is refused, the error says so, nothing is stored.
    let refused = send_to(&front.url, dir.path(), "untrusted", &[]);
    let stderr = text(&refused.stderr);
    assert_ne!(refused.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("TLS certificate is not trusted") && stderr.contains("SSL_CERT_FILE"),
        "the error names the certificate and the remedy: {stderr}"
    );
    assert!(
        !stderr.contains("retrying"),
        "an untrusted certificate is final, not retried: {stderr}"
    );
    assert_eq!(api.keys("untrusted/"), Vec::<String>::new());

    // With SSL_CERT_FILE naming it: the run is filed through the HTTPS front.
    let trusted = send_to(
        &front.url,
        dir.path(),
        "trusted",
        &[("SSL_CERT_FILE", bundle.to_str().expect("utf-8"))],
    );
    let stderr = text(&trusted.stderr);
    assert_eq!(trusted.status.code(), Some(0), "{stderr}");
    let result: serde_json::Value = serde_json::from_slice(&trusted.stdout).expect("JSON result");
    let request_id = result["request_id"].as_str().expect("request_id");
    let stored = api
        .object(&format!("trusted/{request_id}/telemetry.json"))
        .expect("telemetry.json stored");
    let stored: serde_json::Value = serde_json::from_slice(&stored).expect("stored JSON");
    let sent: serde_json::Value = serde_json::from_slice(SEED).expect("seed JSON");
    assert_eq!(
        stored["run_uuid"], sent["run_uuid"],
        "the stored document is this run's: {stored}"
    );
}

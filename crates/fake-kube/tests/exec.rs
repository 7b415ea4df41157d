//! `pods/exec` through the real kube client: the bytes a command writes arrive as they are,
//! the exit status comes back, and a broken stream is seen as broken.

use std::process::Command;

use k8s_openapi::api::core::v1::Pod;
use krkn_telemetry_fake_kube::{Cluster, ExecFault, ExecMount, FakeKube};
use kube::api::{Api, AttachParams};
use tokio::io::AsyncReadExt;

fn server(dir: &std::path::Path) -> FakeKube {
    FakeKube::builder(Cluster::kubernetes("v1.31.4"))
        .https()
        .exec_mount(ExecMount {
            namespace: "monitoring".into(),
            pod: "prometheus-0".into(),
            container: "prometheus".into(),
            container_path: "/prometheus".into(),
            host_dir: dir.to_owned(),
        })
        .start()
        .expect("starts")
}

async fn client(server: &FakeKube) -> kube::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kubeconfig: kube::config::Kubeconfig =
        serde_norway::from_str(&server.kubeconfig_yaml()).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .expect("config");
    kube::Client::try_from(config).expect("client")
}

fn params() -> AttachParams {
    AttachParams::default()
        .container("prometheus")
        .stdout(true)
        .stderr(true)
        .stdin(false)
}

#[tokio::test(flavor = "multi_thread")]
async fn tar_streams_out_byte_for_byte() {
    let dir = tempfile::tempdir().expect("temp dir");
    let wal = dir.path().join("wal");
    std::fs::create_dir(&wal).expect("wal");
    let segment: Vec<u8> = (0..3_000_000u32).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(wal.join("00000001"), &segment).expect("segment");
    std::fs::write(wal.join("00000002"), b"short").expect("segment");
    let server = server(dir.path());
    let pods: Api<Pod> = Api::namespaced(client(&server).await, "monitoring");
    let mut process = pods
        .exec(
            "prometheus-0",
            ["tar", "cf", "-", "-C", "/prometheus", "wal"],
            &params(),
        )
        .await
        .expect("exec starts");
    let mut streamed = Vec::new();
    process
        .stdout()
        .expect("stdout")
        .read_to_end(&mut streamed)
        .await
        .expect("read");
    let status = process
        .take_status()
        .expect("status")
        .await
        .expect("a status");
    assert_eq!(status.status.as_deref(), Some("Success"), "{status:?}");
    let local = Command::new("tar")
        .args(["cf", "-", "-C"])
        .arg(dir.path())
        .arg("wal")
        .output()
        .expect("tar");
    assert_eq!(streamed.len(), local.stdout.len());
    assert!(
        streamed == local.stdout,
        "the streamed tar differs from a local one"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_command_reports_its_exit_code_and_a_broken_stream_ends_early() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("big"), vec![7u8; 1_000_000]).expect("file");
    let server = server(dir.path());
    let pods: Api<Pod> = Api::namespaced(client(&server).await, "monitoring");

    let mut process = pods
        .exec("prometheus-0", ["ls", "/prometheus/missing"], &params())
        .await
        .expect("exec starts");
    let status = process
        .take_status()
        .expect("status")
        .await
        .expect("a status");
    assert_eq!(status.status.as_deref(), Some("Failure"));
    assert_eq!(status.reason.as_deref(), Some("NonZeroExitCode"));

    server.inject_exec_fault(ExecFault::BreakAfter(100_000));
    let mut process = pods
        .exec("prometheus-0", ["cat", "/prometheus/big"], &params())
        .await
        .expect("exec starts");
    // kube 5 does not end stdout when the websocket breaks (it shuts the pipe only after a
    // clean end), so a reader must watch the status: it resolves to `None` when the stream
    // broke. What was received before the break is still in the pipe.
    let mut stdout = process.stdout().expect("stdout");
    let mut status = Box::pin(process.take_status().expect("status"));
    let mut streamed = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let ended = loop {
        tokio::select! {
            read = stdout.read(&mut buffer) => match read.expect("read") {
                0 => panic!("a broken stream must not look like a clean end"),
                n => streamed.extend_from_slice(&buffer[..n]),
            },
            status = &mut status => break status,
        }
    };
    assert!(ended.is_none(), "a broken stream has no status: {ended:?}");
    while let Ok(Ok(n)) = tokio::time::timeout(
        std::time::Duration::from_millis(200),
        stdout.read(&mut buffer),
    )
    .await
    {
        if n == 0 {
            break;
        }
        streamed.extend_from_slice(&buffer[..n]);
    }
    assert_eq!(streamed.len(), 100_000);

    let missing = pods.exec("prometheus-1", ["true"], &params()).await;
    assert!(matches!(missing, Err(kube::Error::Api(s)) if s.code == 404));
}

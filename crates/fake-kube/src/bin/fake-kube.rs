//! `fake-kube`: serve a fixture folder as a Kubernetes API server, for trying the collector
//! without a cluster (`fake-kube --fixture ../shared/fixtures/clusters/ocp-4.7 --https`).

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use krkn_telemetry_fake_kube::{Cluster, ExecMount, FakeKube, SyntheticCluster};

/// Serves recorded cluster objects over the Kubernetes API, read-only.
#[derive(Debug, Parser)]
#[command(name = "fake-kube", version, about)]
struct Cli {
    /// Fixture folder (one object per JSON file; see the crate docs for the layout).
    #[arg(long, value_name = "DIR")]
    fixture: Option<PathBuf>,
    /// Add the synthetic large cluster (5,000 nodes, 150,000 pods, 20,000 ConfigMaps, ...).
    #[arg(long)]
    large: bool,
    /// Serve HTTPS with a throw-away CA (written into the kubeconfig).
    #[arg(long)]
    https: bool,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: std::net::SocketAddr,
    /// Let `pods/exec` run commands in a container with a container path served from a local
    /// folder: `NAMESPACE/POD/CONTAINER:/PATH=DIR`, e.g.
    /// `openshift-monitoring/prometheus-k8s-0/prometheus:/prometheus=./tsdb`. Repeatable.
    #[arg(long, value_name = "MOUNT", value_parser = parse_exec_mount)]
    exec_mount: Vec<ExecMount>,
    /// Where to write the kubeconfig for this server.
    #[arg(long, value_name = "FILE", default_value = "fake-kube.kubeconfig")]
    kubeconfig: PathBuf,
}

/// Reads `NAMESPACE/POD/CONTAINER:/PATH=DIR`.
fn parse_exec_mount(text: &str) -> Result<ExecMount, String> {
    let usage = || format!("{text:?}: expected NAMESPACE/POD/CONTAINER:/PATH=DIR");
    let (target, host_dir) = text.split_once('=').ok_or_else(usage)?;
    let (container, container_path) = target.split_once(':').ok_or_else(usage)?;
    let mut names = container.split('/');
    let (Some(namespace), Some(pod), Some(container), None) =
        (names.next(), names.next(), names.next(), names.next())
    else {
        return Err(usage());
    };
    if [namespace, pod, container, host_dir]
        .iter()
        .any(|s| s.is_empty())
        || !container_path.starts_with('/')
    {
        return Err(usage());
    }
    let host_dir = PathBuf::from(host_dir);
    if !host_dir.is_dir() {
        return Err(format!("{}: not a folder", host_dir.display()));
    }
    Ok(ExecMount {
        namespace: namespace.to_owned(),
        pod: pod.to_owned(),
        container: container.to_owned(),
        container_path: container_path.to_owned(),
        host_dir,
    })
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut cluster = match &cli.fixture {
        Some(dir) => Cluster::from_dir(dir)?,
        None => Cluster::kubernetes("v1.31.4"),
    };
    if cli.large {
        cluster = cluster.with_synthetic(SyntheticCluster::large());
    }
    let mut builder = FakeKube::builder(cluster);
    if cli.https {
        builder = builder.https();
    }
    for mount in cli.exec_mount {
        builder = builder.exec_mount(mount);
    }
    let server = builder.start_on(cli.listen)?;
    server
        .write_kubeconfig(&cli.kubeconfig)
        .with_context(|| format!("cannot write {}", cli.kubeconfig.display()))?;
    eprintln!(
        "fake-kube: serving {} (kubeconfig: {}); Ctrl-C stops",
        server.url(),
        cli.kubeconfig.display()
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(tokio::signal::ctrl_c())?;
    eprintln!(
        "fake-kube: {} requests, {} bytes sent",
        server.requests().len(),
        server.bytes_sent()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_mounts_are_read_and_bad_ones_named() {
        let dir = std::env::temp_dir();
        let mount = parse_exec_mount(&format!(
            "openshift-monitoring/prometheus-k8s-0/prometheus:/prometheus={}",
            dir.display()
        ))
        .expect("valid mount");
        assert_eq!(mount.namespace, "openshift-monitoring");
        assert_eq!(mount.pod, "prometheus-k8s-0");
        assert_eq!(mount.container, "prometheus");
        assert_eq!(mount.container_path, "/prometheus");
        assert_eq!(mount.host_dir, dir);

        for bad in [
            "ns/pod:/prometheus=/tmp",
            "ns/pod/container/extra:/prometheus=/tmp",
            "ns/pod/container:prometheus=/tmp",
            "ns/pod/container:/prometheus",
            "ns//container:/prometheus=/tmp",
        ] {
            let err = parse_exec_mount(bad).expect_err(bad);
            assert!(
                err.contains("NAMESPACE/POD/CONTAINER:/PATH=DIR"),
                "{bad}: {err}"
            );
        }
        let err = parse_exec_mount("ns/pod/c:/p=/no/such/folder").expect_err("missing folder");
        assert!(err.contains("/no/such/folder: not a folder"), "{err}");
    }
}

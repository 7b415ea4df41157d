//! `fake-kube`: serve a fixture folder as a Kubernetes API server, for trying the collector
//! without a cluster (`fake-kube --fixture ../shared/fixtures/clusters/ocp-4.7 --https`).

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use krkn_telemetry_fake_kube::{Cluster, FakeKube, SyntheticCluster};

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
    /// Where to write the kubeconfig for this server.
    #[arg(long, value_name = "FILE", default_value = "fake-kube.kubeconfig")]
    kubeconfig: PathBuf,
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

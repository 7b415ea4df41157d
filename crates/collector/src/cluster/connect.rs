//! The kube client: from `--kubeconfig`, else `KUBECONFIG` or `~/.kube/config`, else the
//! in-cluster service account (the Job in `infra/k8s/`).

use std::path::Path;

use kube::config::{KubeConfigOptions, Kubeconfig};

/// Why no client could be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The given kubeconfig is unreadable or wrong.
    #[error("kubeconfig {path}")]
    Kubeconfig {
        /// The file.
        path: String,
        /// What kube said.
        source: kube::config::KubeconfigError,
    },
    /// No kubeconfig and not in a cluster.
    #[error("no cluster to talk to (pass --kubeconfig FILE, set KUBECONFIG, or run in a pod)")]
    Infer(#[from] kube::config::InferConfigError),
    /// The configuration was found but the client could not be built from it.
    #[error("cannot build the Kubernetes client")]
    Client(#[from] kube::Error),
}

/// A client for the cluster the user means.
pub async fn connect(kubeconfig: Option<&Path>) -> Result<kube::Client, ConnectError> {
    install_crypto_provider();
    let config = match kubeconfig {
        Some(path) => {
            let wrap = |source| ConnectError::Kubeconfig {
                path: path.display().to_string(),
                source,
            };
            let file = Kubeconfig::read_from(path).map_err(wrap)?;
            kube::Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
                .await
                .map_err(wrap)?
        }
        None => kube::Config::infer().await?,
    };
    Ok(kube::Client::try_from(config)?)
}

/// Picks rustls' ring provider for the whole process. Several providers are compiled in (the
/// AWS SDK brings its own), and rustls then refuses to guess.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

//! The kube client: from `--kubeconfig`, else `KUBECONFIG` or `~/.kube/config`, else the
//! in-cluster service account (the Job in `infra/k8s/`).

use std::path::PathBuf;

use kube::config::{KubeConfigOptions, Kubeconfig};

/// Which cluster a command talks to: a kubeconfig file (`None`: `KUBECONFIG`,
/// `~/.kube/config`, then the in-cluster account) and a context in it (`None`: its current
/// context). `oc` is given the same.
#[derive(Debug, Clone, Default)]
pub struct KubeAccess {
    /// The kubeconfig file.
    pub kubeconfig: Option<PathBuf>,
    /// The context in it.
    pub context: Option<String>,
}

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
pub async fn connect(access: &KubeAccess) -> Result<kube::Client, ConnectError> {
    install_crypto_provider();
    let options = KubeConfigOptions {
        context: access.context.clone(),
        ..KubeConfigOptions::default()
    };
    let config = match (&access.kubeconfig, &access.context) {
        (Some(path), _) => {
            let wrap = |source| ConnectError::Kubeconfig {
                path: path.display().to_string(),
                source,
            };
            let file = Kubeconfig::read_from(path).map_err(wrap)?;
            kube::Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(wrap)?
        }
        // A context means a kubeconfig: never the in-cluster account.
        (None, Some(context)) => {
            kube::Config::from_kubeconfig(&options)
                .await
                .map_err(|source| ConnectError::Kubeconfig {
                    path: format!("KUBECONFIG or ~/.kube/config (context {context})"),
                    source,
                })?
        }
        (None, None) => kube::Config::infer().await?,
    };
    Ok(kube::Client::try_from(config)?)
}

/// Picks rustls' ring provider for the whole process. Several providers are compiled in (the
/// AWS SDK brings its own), and rustls then refuses to guess.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

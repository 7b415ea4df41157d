//! The kubeconfig that points a client at the fake server: one cluster, one token user, one
//! context, exactly as `kubectl config view --raw` would print it.

use base64::Engine;

/// Renders a kubeconfig for `server`, trusting `ca_pem` (HTTPS) and sending `token`.
pub fn render(server: &str, ca_pem: Option<&str>, token: &str) -> String {
    let ca = ca_pem
        .map(|pem| {
            format!(
                "\n    certificate-authority-data: {}",
                base64::engine::general_purpose::STANDARD.encode(pem)
            )
        })
        .unwrap_or_default();
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: fake-kube
  cluster:
    server: {server}{ca}
users:
- name: fake-kube-user
  user:
    token: {token}
contexts:
- name: fake-kube
  context:
    cluster: fake-kube
    user: fake-kube-user
current-context: fake-kube
preferences: {{}}
"
    )
}

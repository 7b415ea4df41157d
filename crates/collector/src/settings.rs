//! Settings, parsed once at the edge: krkn's `config.yaml` with the service flags over it,
//! the service client it configures, the kubeconfig a command uses, the Prometheus and
//! collection settings. Every command reads its settings through here, so a flag means the
//! same in each of them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use krkn_telemetry_model::{KrknConfig, Problems, Secret};
use tokio::time::Instant;

use crate::alerts::PrometheusSettings;
use crate::cli::{ClusterArgs, PrometheusArgs, ServiceArgs};
use crate::cluster::CollectOptions;
use crate::cluster::connect::KubeAccess;
use crate::upload::{ApiSettings, TelemetryApi};

/// Reads krkn's config (its defaults when there is none) and applies the service flags over
/// it; the problems found are returned with the config so a command can add its own and
/// report them all at once.
pub fn load_config(
    path: Option<&Path>,
    service: &ServiceArgs,
) -> anyhow::Result<(KrknConfig, Problems)> {
    let mut config = match path {
        Some(path) => KrknConfig::from_file(path)?,
        None => KrknConfig::default(),
    };
    if let Some(path) = path {
        for warning in &config.warnings {
            tracing::warn!("{}: {warning}", path.display());
        }
    }
    let t = &mut config.telemetry;
    let mut problems = Problems::default();
    if let Some(url) = &service.api_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            problems.push(
                "--api-url",
                format!("must be an http:// or https:// URL, found {url:?}"),
            );
        }
        t.api_url = Some(url.trim_end_matches('/').to_owned());
    }
    if let Some(user) = &service.username {
        t.username = Some(user.clone());
    }
    if let Some(password) = &service.password {
        t.password = Secret::new(password.clone());
    }
    if let Some(group) = &service.telemetry_group {
        if let Err(e) = krkn_telemetry_model::keys::validate_segment(group, "group") {
            problems.push("--telemetry-group", e.reason);
        }
        t.telemetry_group = group.clone();
    }
    if let Some(tag) = &service.run_tag {
        t.run_tag = tag.clone();
    }
    if let Some(path) = &service.archive_path {
        t.archive_path = Some(path.clone());
    }
    if let Some(retries) = service.max_retries {
        t.max_retries = retries;
    }
    if let Some(deadline) = service.deadline
        && !(deadline.is_finite() && deadline > 0.0)
    {
        problems.push("--deadline", "must be a positive number of seconds");
    }
    let t = &config.telemetry;
    if t.api_url.is_some() && (t.username.is_none() || t.password.is_empty()) {
        problems.push(
            "telemetry.username/password",
            "must be set when telemetry.api_url is (flags --username, --password or KRKN_TELEMETRY_PASSWORD)",
        );
    }
    Ok((config, problems))
}

/// The client for the configured service, or `None` when `api_url` is not set. It starts no
/// new attempt once `stop` is asked for.
pub fn service_client(
    config: &KrknConfig,
    service: &ServiceArgs,
    stop: &crate::shutdown::Shutdown,
) -> anyhow::Result<Option<TelemetryApi>> {
    let t = &config.telemetry;
    let Some(api_url) = t.api_url.as_deref() else {
        return Ok(None);
    };
    let mut settings = ApiSettings::new(
        api_url,
        t.username.as_deref().unwrap_or_default(),
        t.password.clone(),
    );
    settings.max_retries = t.max_retries;
    settings.stop = Some(stop.clone());
    settings.deadline = service
        .deadline
        .map(|s| Instant::now() + Duration::from_secs_f64(s));
    Ok(Some(TelemetryApi::new(settings)?))
}

/// The cluster a command uses: `--context`, and as the kubeconfig `--kubeconfig`, else krkn's `kubeconfig_path` (with `~/`
/// expanded) when that file exists, else `None` (then `KUBECONFIG`, `~/.kube/config` or the
/// in-cluster account). krkn's config names `~/.kube/config` by default, which a pod does not
/// have: there the in-cluster account is what the operator means.
pub fn kube_access(flag: Option<&Path>, context: Option<&str>, config: &KrknConfig) -> KubeAccess {
    KubeAccess {
        kubeconfig: kubeconfig(flag, config),
        context: context.map(str::to_owned),
    }
}

fn kubeconfig(flag: Option<&Path>, config: &KrknConfig) -> Option<PathBuf> {
    if let Some(path) = flag {
        return Some(path.to_owned());
    }
    let path = expand_home(config.kubeconfig_path.as_deref()?);
    if path.exists() {
        Some(path)
    } else {
        tracing::info!(
            "kraken.kubeconfig_path {} does not exist: using KUBECONFIG, ~/.kube/config or the in-cluster account",
            path.display()
        );
        None
    }
}

/// `~/` in krkn's `kubeconfig_path` means the home folder, as in krkn.
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// Prometheus settings from the command line and krkn's config.
pub fn prometheus_settings(url: &str, args: &PrometheusArgs, token: Secret) -> PrometheusSettings {
    PrometheusSettings {
        url: url.to_owned(),
        bearer_token: args
            .prometheus_bearer_token
            .clone()
            .map_or(token, Secret::new),
        ca_file: args.prometheus_ca.clone(),
        insecure: args.prometheus_insecure,
        timeout: Duration::from_secs(30),
    }
}

/// Collection options from the command line.
pub fn collect_options(args: &ClusterArgs) -> anyhow::Result<CollectOptions> {
    anyhow::ensure!(
        args.timeout.is_finite() && args.timeout > 0.0,
        "--timeout must be a positive number of seconds"
    );
    Ok(CollectOptions {
        timeout: Duration::from_secs_f64(args.timeout),
        page_size: args.page_size,
        list_mode: args.object_lists,
    })
}

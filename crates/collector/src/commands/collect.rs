//! `krkn-telemetry collect`: the cluster fields of a run document, plus `warnings`.

use anyhow::Context;

use crate::Outcome;
use crate::cli::CollectArgs;
use crate::cluster;
use crate::settings::collect_options;

/// Connects, collects, prints (or writes) the JSON.
pub async fn run(args: &CollectArgs) -> anyhow::Result<Outcome> {
    let options = collect_options(&args.cluster)?;
    let client = cluster::connect(&crate::cluster::connect::KubeAccess {
        kubeconfig: args.cluster.kubeconfig.clone(),
        context: args.cluster.context.clone(),
    })
    .await?;
    let metadata = cluster::collect(&client, &options).await;
    crate::alerts::write_json(&metadata.to_json(), args.output.as_deref()).with_context(|| {
        match &args.output {
            Some(path) => format!("cannot write {}", path.display()),
            None => "cannot write to standard output".to_owned(),
        }
    })?;
    if metadata.is_empty() {
        tracing::info!(
            "no probe got an answer from the cluster ({} warnings); is it reachable?",
            metadata.warnings.len()
        );
        return Ok(Outcome::Failed);
    }
    if !metadata.warnings.is_empty() {
        tracing::info!(
            "{} probe(s) left their fields at the default (see \"warnings\")",
            metadata.warnings.len()
        );
    }
    Ok(Outcome::Success)
}

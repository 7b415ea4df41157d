//! The `oc` log source, as krkn gathers logs: `oc adm must-gather` for the whole cluster, or
//! `oc adm inspect ns/<namespace>` for one, into a folder of ours (`--dest-dir`), which is then
//! filtered like any must-gather. Unlike krkn-lib, `oc`'s exit status is checked and a missing
//! `oc` is an error at once, not an upload retried forever.

use std::path::{Path, PathBuf};

use crate::cluster::connect::KubeAccess;

/// The `oc` to run: `oc_cli_path` when set (it must be an executable file), else `oc` on
/// `$PATH`.
pub fn find_oc(oc_cli_path: Option<&str>) -> Result<PathBuf, String> {
    if let Some(path) = oc_cli_path.filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(format!(
                "telemetry.oc_cli_path {} is not an executable file",
                path.display()
            ))
        };
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("oc"))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| "oc is not on $PATH (set telemetry.oc_cli_path)".to_owned())
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The command line: `oc adm must-gather --dest-dir DIR` or `oc adm inspect ns/NS --dest-dir
/// DIR`, with `--kubeconfig` and `--context` when given.
pub fn command_line(access: &KubeAccess, namespace: Option<&str>, dest: &Path) -> Vec<String> {
    let mut args: Vec<String> = match namespace {
        Some(ns) => vec!["adm".into(), "inspect".into(), format!("ns/{ns}")],
        None => vec!["adm".into(), "must-gather".into()],
    };
    args.push("--dest-dir".into());
    args.push(dest.display().to_string());
    if let Some(kubeconfig) = &access.kubeconfig {
        args.push("--kubeconfig".into());
        args.push(kubeconfig.display().to_string());
    }
    if let Some(context) = &access.context {
        args.push("--context".into());
        args.push(context.clone());
    }
    args
}

/// Runs `oc` into `dest`; its output goes to our stderr, its failure is an error.
pub async fn gather(
    oc: &Path,
    access: &KubeAccess,
    namespace: Option<&str>,
    dest: &Path,
) -> Result<(), String> {
    std::fs::create_dir_all(dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    let args = command_line(access, namespace, dest);
    tracing::info!("running {} {}", oc.display(), args.join(" "));
    let status = tokio::process::Command::new(oc)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status()
        .await
        .map_err(|e| format!("cannot run {}: {e}", oc.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} {} failed: {status}",
            oc.display(),
            args.join(" ")
        ))
    }
}

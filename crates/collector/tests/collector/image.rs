//! What the image holds is enough: the final stage of `Containerfile` read instruction by
//! instruction (every COPY, ENV, USER and the ENTRYPOINT), exactly those files laid out in an
//! otherwise empty folder, the Job's volumes (`infra/k8s/job/job.yaml`) and the service-account
//! files the kubelet mounts added, and `send` and `prometheus-backup` run in it through
//! `chroot` as the image's USER, talking to the fake API server as an in-cluster client and
//! to our API on moto. There is no loader, libc or shell in that folder: a binary that is not
//! static does not start.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::prometheus::{
    assert_restores, openshift_with_prometheus, part_kb, prometheus_copy, stored_backup,
};
use crate::support::{TestApi, UPLOADER, text};

/// The final stage of the recipe, as far as running it goes.
#[derive(Debug, Default)]
struct Recipe {
    /// (build-stage source, image destination) of each `COPY --from=build`.
    copies: Vec<(String, String)>,
    env: Vec<(String, String)>,
    /// `uid:gid`.
    user: String,
    entrypoint: Vec<String>,
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Reads the last stage of `Containerfile`; an instruction this test does not know fails it
/// (so a new one cannot slip into the image unproven).
fn recipe() -> Recipe {
    let text = std::fs::read_to_string(repository().join("Containerfile")).expect("Containerfile");
    let joined = text.replace("\\\n", " ");
    let lines: Vec<&str> = joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let last_from = lines
        .iter()
        .rposition(|l| l.starts_with("FROM "))
        .expect("a FROM");
    assert_eq!(
        lines[last_from], "FROM scratch",
        "the image starts from nothing"
    );
    let mut recipe = Recipe::default();
    for line in &lines[last_from + 1..] {
        let (instruction, rest) = line.split_once(' ').expect("an instruction with arguments");
        match instruction {
            "ARG" | "LABEL" => {}
            "COPY" => {
                let words: Vec<&str> = rest.split_whitespace().collect();
                match words.as_slice() {
                    ["--from=build", source, destination] => recipe
                        .copies
                        .push(((*source).to_owned(), (*destination).to_owned())),
                    _ => panic!("COPY this test cannot lay out: {line}"),
                }
            }
            "ENV" => {
                let (key, value) = rest.split_once('=').expect("ENV KEY=VALUE");
                recipe.env.push((key.to_owned(), value.to_owned()));
            }
            "USER" => recipe.user = rest.to_owned(),
            "ENTRYPOINT" => {
                recipe.entrypoint = serde_json::from_str(rest).expect("ENTRYPOINT in JSON form");
            }
            other => panic!("the empty-root test does not know the instruction {other}: {line}"),
        }
    }
    assert!(
        recipe
            .user
            .split(':')
            .all(|id| id.parse::<u32>().is_ok_and(|id| id != 0)),
        "USER must be numeric and not root: {:?}",
        recipe.user
    );
    recipe
}

/// Where this machine has what the build stage would have made.
fn built(source: &str) -> PathBuf {
    match source {
        "/krkn-telemetry" => {
            let dir = std::env::var("KRKN_TEST_STATIC_COLLECTOR_DIR").unwrap_or_else(|_| {
                panic!(
                    "this test needs the static collector: run `export KRKN_TEST_STATIC_COLLECTOR_DIR=$(scripts/static-build.sh krkn-telemetry-collector)` (make test does it)"
                )
            });
            Path::new(&dir).join("krkn-telemetry")
        }
        "/etc/ssl/certs/ca-certificates.crt" => PathBuf::from(source),
        other => panic!("the recipe copies {other}, which this test cannot provide"),
    }
}

/// The mount paths of the collector container in `infra/k8s/job/job.yaml`.
fn job_mounts() -> Vec<String> {
    let text =
        std::fs::read_to_string(repository().join("infra/k8s/job/job.yaml")).expect("job.yaml");
    let job: serde_norway::Value = serde_norway::from_str(&text).expect("YAML");
    job["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
        .as_sequence()
        .expect("volumeMounts")
        .iter()
        .map(|m| m["mountPath"].as_str().expect("mountPath").to_owned())
        .collect()
}

/// The empty root: the recipe's files, the Job's volumes (empty, writable by the image's
/// user, as an emptyDir is) and the service-account mount.
struct Root {
    dir: tempfile::TempDir,
    recipe: Recipe,
}

impl Root {
    fn new() -> Root {
        let recipe = recipe();
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        for (source, destination) in &recipe.copies {
            let target = dir.path().join(destination.trim_start_matches('/'));
            std::fs::create_dir_all(target.parent().expect("a parent")).expect("folders");
            std::fs::copy(built(source), &target).expect("copied");
        }
        let (uid, gid) = recipe.user.split_once(':').expect("uid:gid");
        for mount in job_mounts() {
            let path = dir.path().join(mount.trim_start_matches('/'));
            std::fs::create_dir_all(&path).expect("mount point");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).expect("chmod");
            let status = Command::new("chown")
                .arg(format!("{uid}:{gid}"))
                .arg(&path)
                .status()
                .expect("chown");
            assert!(status.success());
        }
        Root { dir, recipe }
    }

    fn path(&self, inside: &str) -> PathBuf {
        self.dir.path().join(inside.trim_start_matches('/'))
    }

    fn write(&self, inside: &str, bytes: &[u8]) {
        let path = self.path(inside);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("folders");
        std::fs::write(&path, bytes).expect("written");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }

    /// The kubelet's service-account mount for a pod of `server`'s cluster.
    fn service_account(&self, server: &krkn_telemetry_fake_kube::FakeKube) {
        let folder = "/var/run/secrets/kubernetes.io/serviceaccount";
        self.write(
            &format!("{folder}/token"),
            krkn_telemetry_fake_kube::TOKEN.as_bytes(),
        );
        self.write(
            &format!("{folder}/ca.crt"),
            server.ca_pem().expect("an HTTPS fake server").as_bytes(),
        );
        self.write(&format!("{folder}/namespace"), b"krkn-telemetry");
    }

    /// The entrypoint with `args`, chrooted, as the image's user, with only the image's
    /// environment and what the kubelet sets for a pod.
    fn run(&self, server: &krkn_telemetry_fake_kube::FakeKube, args: &[&str]) -> Output {
        // An absolute path: the cleared environment has no PATH to look it up in.
        let mut command = Command::new("/usr/sbin/chroot");
        command
            .arg(format!("--userspec={}", self.recipe.user))
            .arg(self.dir.path())
            .args(&self.recipe.entrypoint)
            .args(args)
            .env_clear()
            .env("KUBERNETES_SERVICE_HOST", server.address().ip().to_string())
            .env(
                "KUBERNETES_SERVICE_PORT",
                server.address().port().to_string(),
            );
        for (key, value) in &self.recipe.env {
            command.env(key, value);
        }
        let out = command.output().unwrap_or_else(|e| {
            panic!("chroot does not start ({e}): this test runs as root, as make test does")
        });
        assert_ne!(
            out.status.code(),
            Some(125),
            "chroot refused: {}",
            text(&out.stderr)
        );
        out
    }
}

const RUN: &str = "1700000000-image-run";

#[test]
fn the_image_alone_sends_a_run_and_backs_prometheus_up() {
    let data = prometheus_copy();
    let server = openshift_with_prometheus(data.path());
    let api = TestApi::start();
    let root = Root::new();
    root.service_account(&server);
    // krkn's own default kubeconfig_path, which does not exist in the pod: the collector must
    // fall back to the in-cluster account.
    let config = format!(
        "kraken:\n  distribution: openshift\n  kubeconfig_path: ~/.kube/config\ntelemetry:\n  enabled: True\n  api_url: {}\n  username: {}\n  password: {}\n  max_retries: 0\n  archive_path: /var/lib/krkn-telemetry\n  archive_size: {}\n  backup_threads: 2\n  full_prometheus_backup: true\n",
        api.url,
        UPLOADER.0,
        UPLOADER.1,
        part_kb(data.path())
    );
    root.write("/etc/krkn-telemetry/config.yaml", config.as_bytes());
    // krkn's report, as the Job reads it: the run output after its last `Chaos data:` line.
    let mut report = b"2025-04-22 17:41:20,001 [INFO] Chaos data:\n".to_vec();
    report.extend_from_slice(include_bytes!("../../../model/tests/data/seed-sample.json"));
    root.write("/krkn/kraken.report", &report);

    let sent = root.run(
        &server,
        &[
            "send",
            "--config",
            "/etc/krkn-telemetry/config.yaml",
            "--input",
            "/krkn/kraken.report",
            "--request-id",
            RUN,
            "--deadline",
            "120",
        ],
    );
    let stderr = text(&sent.stderr);
    assert_eq!(
        sent.status.code(),
        Some(0),
        "send in the empty root: {stderr}"
    );
    assert!(
        !stderr.contains("not collected"),
        "in-cluster account used: {stderr}"
    );
    let stored = api
        .object(&format!("default/{RUN}/telemetry.json"))
        .expect("telemetry.json filed from the empty root");
    let doc: Value = serde_json::from_slice(&stored).expect("JSON");
    assert_eq!(
        doc["cloud_infrastructure"], "AWS",
        "metadata read in-cluster: {doc}"
    );
    assert!(
        root.path(&format!("/var/lib/krkn-telemetry/{RUN}/telemetry.json"))
            .is_file()
    );
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.path.starts_with("/api/v1/nodes")),
        "the collector listed nodes"
    );

    let backup = root.run(
        &server,
        &[
            "prometheus-backup",
            "--config",
            "/etc/krkn-telemetry/config.yaml",
            "--request-id",
            RUN,
            "--deadline",
            "240",
        ],
    );
    let stderr = text(&backup.stderr);
    assert_eq!(
        backup.status.code(),
        Some(0),
        "prometheus-backup in the empty root: {stderr}"
    );
    let (parts, manifest) = stored_backup(&api, RUN);
    assert!(parts.len() > 2, "the backup was cut into parts");
    assert_restores(&parts, &manifest, data.path());
    println!("empty root: send: {}", text(&sent.stdout).trim());
    println!(
        "empty root: prometheus-backup: {} parts, {}",
        parts.len(),
        stderr.lines().last().unwrap_or("")
    );
}

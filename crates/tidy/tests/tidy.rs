//! The invariants of ARCHITECTURE.md that concern the code's layout, each held by a test that
//! fails when it is broken (rust-analyzer's tidy tests are the model).

use krkn_telemetry_tidy::files::{Source, code_lines, rust_sources, workspace_root};
use krkn_telemetry_tidy::modules::{crate_modules, cycles, declared_modules, imports};

/// The crate roots, library first: every module of the workspace hangs off one of them.
const CRATE_ROOTS: [&str; 9] = [
    "crates/model/src/lib.rs",
    "crates/api/src/lib.rs",
    "crates/api/src/main.rs",
    "crates/api/src/bin/lambda.rs",
    "crates/collector/src/lib.rs",
    "crates/collector/src/main.rs",
    "crates/fake-kube/src/lib.rs",
    "crates/fake-kube/src/bin/fake-kube.rs",
    "crates/tidy/src/lib.rs",
];

/// Every source the size rules apply to (the code, its tests, benchmarks and fuzz targets).
const SOURCE_DIRS: [&str; 2] = ["crates", "fuzz/fuzz_targets"];

/// What a comment says to keep a long file or function whole on purpose.
const WHOLE_ON_PURPOSE: &str = "better whole";

const MAX_FILE_LINES: usize = 600;
const MAX_FUNCTION_LINES: usize = 100;

/// The code lines of `source` that contain `needle`, as `path:line: text`.
fn uses_of(source: &Source, needle: &str) -> Vec<String> {
    code_lines(&source.text)
        .iter()
        .enumerate()
        .filter(|(_, line)| line.contains(needle))
        .map(|(n, line)| format!("{}:{}: {}", source.path, n + 1, line.trim()))
        .collect()
}

/// Routes never touch files or a backend type: storage is reached through the store's traits.
#[test]
fn routes_never_touch_files_or_backends() {
    let forbidden = [
        "std::fs",
        "tokio::fs",
        "fs::File",
        "LocalStore",
        "AwsStore",
        "rusqlite",
        "aws_sdk",
    ];
    let found: Vec<String> = rust_sources(&["crates/api/src/routes"])
        .iter()
        .flat_map(|source| forbidden.iter().flat_map(move |f| uses_of(source, f)))
        .collect();
    assert!(
        found.is_empty(),
        "routes/ touches storage:\n{}",
        found.join("\n")
    );
}

/// Only `crates/api/src/store/` uses the storage crates (SQLite, S3, DynamoDB) or the file
/// system; `config.rs` reads the console's files in development (`console_override`).
#[test]
fn only_the_store_touches_storage() {
    let forbidden = [
        "rusqlite",
        "aws_sdk_s3",
        "aws_sdk_dynamodb",
        "std::fs",
        "tokio::fs",
    ];
    let found: Vec<String> = rust_sources(&["crates/api/src"])
        .iter()
        .filter(|s| !s.path.starts_with("crates/api/src/store/"))
        .filter(|s| s.path != "crates/api/src/config.rs")
        .flat_map(|source| forbidden.iter().flat_map(move |f| uses_of(source, f)))
        .collect();
    assert!(
        found.is_empty(),
        "storage outside store/:\n{}",
        found.join("\n")
    );
}

/// Keys only a telemetry document has; written as JSON keys (`"scenarios":`) they mean
/// someone is building a document by hand.
const DOCUMENT_KEYS: [&str; 10] = [
    "scenarios",
    "node_summary_infos",
    "node_taints",
    "kubernetes_objects_count",
    "network_plugins",
    "cluster_version",
    "run_uuid",
    "cloud_infrastructure",
    "parameters_base64",
    "affected_pods",
];

/// The API and the collector go through the model's types: their code (tests aside) writes
/// no telemetry JSON by hand.
#[test]
fn only_the_model_writes_telemetry_json() {
    let mut found = Vec::new();
    for source in rust_sources(&["crates/api/src", "crates/collector/src"]) {
        // Test modules come last in a file; what follows `#[cfg(test)]` is test code.
        let code = source.text.split("#[cfg(test)]").next().unwrap_or("");
        for (n, line) in code.lines().enumerate() {
            let compact = line.replace(' ', "");
            if let Some(key) = DOCUMENT_KEYS
                .iter()
                .find(|key| compact.contains(&format!("\"{key}\":")))
            {
                found.push(format!("{}:{}: {key}: {}", source.path, n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "telemetry JSON written by hand outside the model:\n{}",
        found.join("\n")
    );
}

/// The IAM action each SDK call of the AWS store needs (HEAD is authorised as GetObject).
const IAM_ACTIONS: [(&str, &str); 10] = [
    ("dynamo.batch_write_item", "dynamodb:BatchWriteItem"),
    ("dynamo.get_item", "dynamodb:GetItem"),
    ("dynamo.put_item", "dynamodb:PutItem"),
    ("dynamo.delete_item", "dynamodb:DeleteItem"),
    ("dynamo.query", "dynamodb:Query"),
    ("s3.get_object", "s3:GetObject"),
    ("s3.head_object", "s3:GetObject"),
    ("s3.put_object", "s3:PutObject"),
    ("s3.list_objects_v2", "s3:ListBucket"),
    ("s3.delete_object", "s3:DeleteObject"),
];

/// The actions the Lambda's policy in `infra/template.yaml` grants (its `Policies:` block).
fn granted_actions() -> Vec<String> {
    let template =
        std::fs::read_to_string(workspace_root().join("infra/template.yaml")).expect("template");
    let policies = template
        .split_once("      Policies:")
        .map(|(_, rest)| rest.split("      Events:").next().unwrap_or(""))
        .expect("the function's Policies block");
    policies
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .filter(|a| a.starts_with("dynamodb:") || a.starts_with("s3:"))
        .map(str::to_owned)
        .collect()
}

/// The Lambda's IAM policy grants every action the AWS store calls at run time, and no other
/// (provisioning, `init`, runs outside the Lambda with the operator's credentials). A missing
/// `dynamodb:BatchWriteItem` once meant a deployed stack filed documents it never indexed.
#[test]
fn the_lambda_policy_grants_exactly_what_the_aws_store_calls() {
    let mut called = std::collections::BTreeSet::new();
    for source in rust_sources(&["crates/api/src/store/aws"]) {
        if source.path.ends_with("provision.rs") {
            continue;
        }
        let compact: String = code_lines(&source.text)
            .concat()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        for client in ["dynamo", "s3"] {
            for (at, _) in compact.match_indices(&format!(".{client}.")) {
                let call: String = compact[at + 1..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
                    .collect();
                let action = IAM_ACTIONS
                    .iter()
                    .find(|(sdk, _)| *sdk == call)
                    .map(|(_, action)| *action)
                    .unwrap_or_else(|| panic!("{}: no IAM action known for {call}()", source.path));
                called.insert(action.to_owned());
            }
        }
    }
    assert!(
        called.len() >= 5,
        "only {called:?} found: the scan is broken"
    );
    let granted: std::collections::BTreeSet<String> = granted_actions().into_iter().collect();
    let missing: Vec<&String> = called.difference(&granted).collect();
    let unused: Vec<&String> = granted.difference(&called).collect();
    assert!(
        missing.is_empty() && unused.is_empty(),
        "infra/template.yaml: the policy lacks {missing:?} (AccessDenied on a deployed stack) \
         and grants {unused:?} that nothing calls"
    );
}

/// The names of the `[dependencies]` of a crate's manifest.
fn dependencies(manifest: &str) -> Vec<String> {
    let text = std::fs::read_to_string(workspace_root().join(manifest)).expect("manifest");
    let mut inside = false;
    let mut names = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == "[dependencies]";
            continue;
        }
        if inside && let Some((name, _)) = line.split_once(['=', '.']) {
            let name = name.trim();
            if !name.is_empty() && !name.starts_with('#') {
                names.push(name.to_owned());
            }
        }
    }
    names
}

/// The model is the schema both sides share: it knows no HTTP, AWS or Kubernetes.
#[test]
fn the_model_depends_on_no_http_aws_or_kubernetes_crate() {
    let deps = dependencies("crates/model/Cargo.toml");
    assert!(
        deps.contains(&"serde".to_owned()),
        "manifest not read: {deps:?}"
    );
    let forbidden: Vec<&String> = deps
        .iter()
        .filter(|d| {
            d.starts_with("aws")
                || d.starts_with("kube")
                || d.starts_with("k8s")
                || d.starts_with("hyper")
                || d.starts_with("tower")
                || ["axum", "reqwest", "lambda_http", "tokio", "http"].contains(&d.as_str())
        })
        .collect();
    assert!(forbidden.is_empty(), "the model depends on {forbidden:?}");
}

/// Every crate root opens with `//!` docs that name each of its modules.
#[test]
fn every_crate_root_lists_its_modules() {
    let mut problems = Vec::new();
    for root in CRATE_ROOTS {
        let text = std::fs::read_to_string(workspace_root().join(root)).expect("crate root");
        let docs: String = text
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .collect::<Vec<_>>()
            .join("\n");
        if docs.is_empty() {
            problems.push(format!("{root}: no //! documentation at the top"));
        }
        for module in declared_modules(&text) {
            if !docs.contains(&format!("`{module}`")) {
                problems.push(format!("{root}: the docs do not name module `{module}`"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// No two files of a crate import each other, directly or through others.
#[test]
fn no_import_cycles_between_files() {
    let mut found = Vec::new();
    let mut files = 0;
    for root in CRATE_ROOTS {
        let modules = crate_modules(root);
        files += modules.len();
        for circle in cycles(&imports(&modules)) {
            found.push(circle.join(" -> "));
        }
    }
    assert!(
        files > 60,
        "only {files} module files found: the module walk is broken"
    );
    assert!(
        found.is_empty(),
        "files that import each other:\n{}",
        found.join("\n")
    );
}

/// The functions of `lines` longer than `MAX_FUNCTION_LINES`, as (first line, length),
/// rustfmt's layout assumed: a body ends at the first `}` indented like its `fn`.
fn long_functions(lines: &[&str]) -> Vec<(usize, usize)> {
    let mut long = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let signature = trimmed
            .trim_start_matches("pub(crate) ")
            .trim_start_matches("pub(super) ")
            .trim_start_matches("pub ")
            .trim_start_matches("async ")
            .trim_start_matches("const ")
            .trim_start_matches("unsafe ");
        if !signature.starts_with("fn ") {
            continue;
        }
        let Some(open) = (start..lines.len())
            .find(|&i| lines[i].trim_end().ends_with('{') || lines[i].trim_end().ends_with(';'))
        else {
            continue;
        };
        if lines[open].trim_end().ends_with(';') {
            continue;
        }
        let close = format!("{indent}}}");
        if let Some(end) = (open + 1..lines.len()).find(|&i| lines[i] == close) {
            let length = end - start + 1;
            if length > MAX_FUNCTION_LINES {
                long.push((start, length));
            }
        }
    }
    long
}

/// No function over ~100 lines and no file over ~600 without a comment saying why it is
/// better whole (within the 8 lines above the function; in the file's first 40 lines).
#[test]
fn long_functions_and_files_say_why_they_are_whole() {
    let mut problems = Vec::new();
    let sources = rust_sources(&SOURCE_DIRS);
    assert!(sources.len() > 100, "only {} sources found", sources.len());
    for source in &sources {
        let lines = source.lines();
        if lines.len() > MAX_FILE_LINES
            && !lines.iter().take(40).any(|l| l.contains(WHOLE_ON_PURPOSE))
        {
            problems.push(format!("{}: {} lines", source.path, lines.len()));
        }
        for (start, length) in long_functions(&lines) {
            let reason = lines[start.saturating_sub(8)..start]
                .iter()
                .any(|l| l.contains(WHOLE_ON_PURPOSE));
            if !reason {
                problems.push(format!(
                    "{}:{}: a function of {length} lines: {}",
                    source.path,
                    start + 1,
                    lines[start].trim()
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "split these, or say in a comment why each is {WHOLE_ON_PURPOSE}:\n{}",
        problems.join("\n")
    );
}

/// The size rule sees a long function, and a short one is not one.
#[test]
fn the_size_rule_measures_functions() {
    let mut text = vec![
        "fn short() {",
        "}",
        "    pub async fn long(",
        "        x: u8,",
        "    ) {",
    ];
    text.extend(std::iter::repeat_n("        step();", MAX_FUNCTION_LINES));
    text.push("    }");
    assert_eq!(long_functions(&text), vec![(2, MAX_FUNCTION_LINES + 4)]);
}

/// The `version = "…"` value of the `[workspace.package]` table.
fn workspace_version(manifest: &str) -> String {
    manifest
        .lines()
        .skip_while(|l| l.trim() != "[workspace.package]")
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("[workspace.package] version")
        .to_owned()
}

#[test]
fn path_dependencies_carry_the_workspace_version_unless_never_published() {
    let root = workspace_root();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    let version = workspace_version(&manifest);
    let mut wrong = Vec::new();
    for line in manifest.lines().filter(|l| l.contains("path = \"crates/")) {
        let path = line
            .split("path = \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a path");
        let crate_manifest =
            std::fs::read_to_string(root.join(path).join("Cargo.toml")).expect("crate manifest");
        let published = !crate_manifest
            .lines()
            .any(|l| l.trim() == "publish = false");
        let versioned = line.contains(&format!("version = \"{version}\""));
        if published != versioned {
            wrong.push(format!(
                "{line}  ({})",
                if published {
                    "published: needs version = the workspace's, or cargo publish refuses it"
                } else {
                    "publish = false: a version would make cargo publish look for it on crates.io"
                }
            ));
        }
    }
    assert_eq!(wrong, Vec::<String>::new());
}

#[test]
fn the_license_file_is_the_licence_the_crates_declare() {
    let root = workspace_root();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    assert!(
        manifest.contains("license = \"Apache-2.0\""),
        "the workspace declares Apache-2.0"
    );
    let license = std::fs::read_to_string(root.join("LICENSE")).expect("a LICENSE file");
    assert!(
        license.trim_start().starts_with("Apache License")
            && license.contains("Version 2.0, January 2004"),
        "LICENSE is not the Apache License 2.0"
    );
    let containerfile = std::fs::read_to_string(root.join("Containerfile")).expect("Containerfile");
    assert!(
        containerfile.contains("org.opencontainers.image.licenses=\"Apache-2.0\""),
        "the image's licence label says the same"
    );
}

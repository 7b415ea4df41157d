//! Which file is which module of a crate (from its `mod` lines), what each file imports from
//! the others (its `use` lines and `crate::`/`super::`/`self::` paths), and the cycles those
//! imports make. A file and its own descendants are left out of each other's imports: a parent
//! declares its children and re-exports them, a child uses its parent's items; that is the
//! module tree, not a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::files::{code_lines, workspace_root};

/// One module that lives in a file of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// Its path in the crate (`["store", "local", "paths"]`; empty for the root).
    pub path: Vec<String>,
    /// Its file, relative to the workspace root.
    pub file: String,
}

/// The modules of the crate whose root file is `root_file` (relative to the workspace root),
/// found by following `mod name;` lines.
pub fn crate_modules(root_file: &str) -> Vec<Module> {
    let mut modules = Vec::new();
    collect(root_file, Vec::new(), true, &mut modules);
    modules
}

fn collect(file: &str, path: Vec<String>, owns_folder: bool, out: &mut Vec<Module>) {
    let Ok(text) = std::fs::read_to_string(workspace_root().join(file)) else {
        return;
    };
    let here = Path::new(file);
    let folder = if owns_folder {
        here.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        here.with_extension("")
    };
    out.push(Module {
        path: path.clone(),
        file: file.to_owned(),
    });
    for name in declared_modules(&text) {
        let flat = folder.join(format!("{name}.rs"));
        let nested = folder.join(&name).join("mod.rs");
        let mut child = path.clone();
        child.push(name);
        if workspace_root().join(&flat).is_file() {
            collect(&flat.to_string_lossy(), child, false, out);
        } else if workspace_root().join(&nested).is_file() {
            collect(&nested.to_string_lossy(), child, true, out);
        }
    }
}

/// The names of the `mod name;` lines of a file (not inline `mod name { … }` blocks).
pub fn declared_modules(text: &str) -> Vec<String> {
    code_lines(text)
        .iter()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line
                .strip_prefix("pub(crate) mod ")
                .or_else(|| line.strip_prefix("pub(super) mod "))
                .or_else(|| line.strip_prefix("pub mod "))
                .or_else(|| line.strip_prefix("mod "))?;
            let name = rest.strip_suffix(';')?.trim();
            is_ident(name).then(|| name.to_owned())
        })
        .collect()
}

fn is_ident(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// For every module of the crate, the files of the other modules it imports from.
pub fn imports(modules: &[Module]) -> BTreeMap<String, BTreeSet<String>> {
    let by_path: BTreeMap<&[String], &Module> =
        modules.iter().map(|m| (m.path.as_slice(), m)).collect();
    let mut graph = BTreeMap::new();
    for module in modules {
        let text = std::fs::read_to_string(workspace_root().join(&module.file)).unwrap_or_default();
        let children = declared_modules(&text);
        let mut targets = BTreeSet::new();
        for used in used_paths(&text) {
            let Some(absolute) = resolve(&module.path, &children, &used) else {
                continue;
            };
            let Some(target) = (0..=absolute.len())
                .rev()
                .find_map(|n| by_path.get(&absolute[..n]))
            else {
                continue;
            };
            let related =
                target.path.starts_with(&module.path) || module.path.starts_with(&target.path);
            if !related {
                targets.insert(target.file.clone());
            }
        }
        graph.insert(module.file.clone(), targets);
    }
    graph
}

/// The module path `used` names, seen from the module at `here` (whose child modules are
/// `children`); `None` for paths into other crates.
fn resolve(here: &[String], children: &[String], used: &[String]) -> Option<Vec<String>> {
    let first = used.first()?;
    match first.as_str() {
        "crate" => Some(used[1..].to_vec()),
        "self" => Some(here.iter().chain(&used[1..]).cloned().collect()),
        "super" => {
            let ups = used.iter().take_while(|s| *s == "super").count();
            let base = here.len().checked_sub(ups)?;
            Some(here[..base].iter().chain(&used[ups..]).cloned().collect())
        }
        name if children.iter().any(|c| c == name) => {
            Some(here.iter().chain(used).cloned().collect())
        }
        _ => None,
    }
}

/// Every path a file uses: the expanded `use` lines and the `crate::`, `super::` and `self::`
/// paths written in the code, as segments.
fn used_paths(text: &str) -> Vec<Vec<String>> {
    let code = code_lines(text).join("\n");
    let mut paths = Vec::new();
    for statement in use_statements(&code) {
        for path in expand(&statement) {
            paths.push(split(&path));
        }
    }
    for anchor in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(at) = code[from..].find(anchor) {
            let start = from + at;
            let before = code[..start].chars().next_back();
            from = start + anchor.len();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let path: String = code[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            paths.push(split(path.trim_end_matches(':')));
        }
    }
    paths
}

fn split(path: &str) -> Vec<String> {
    path.split("::")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The bodies of the `use …;` statements of some code (`pub` forms too), possibly over lines.
fn use_statements(code: &str) -> Vec<String> {
    let mut statements = Vec::new();
    for (at, _) in code.match_indices("use ") {
        let before = code[..at].trim_end();
        let starts_statement = before.is_empty()
            || before.ends_with(';')
            || before.ends_with('{')
            || before.ends_with('}')
            || before.ends_with(')')
            || before.ends_with("pub")
            || before.ends_with(']');
        let prefix_ok = code[..at]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace());
        if !(starts_statement && prefix_ok) {
            continue;
        }
        if let Some(end) = code[at..].find(';') {
            statements.push(
                code[at + 4..at + end]
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        }
    }
    statements
}

/// A `use` tree as whole paths: `a::{b, c::{d, self}}` → `a::b`, `a::c::d`, `a::c`.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or(tree).trim();
        return vec![path.trim_end_matches("::*").to_owned()];
    };
    let prefix = tree[..open].trim_end_matches("::").trim();
    let inner = tree[open + 1..]
        .trim_end()
        .strip_suffix('}')
        .unwrap_or(&tree[open + 1..]);
    let mut out = Vec::new();
    for item in split_top_level(inner) {
        for path in expand(&item) {
            if path == "self" {
                out.push(prefix.to_owned());
            } else if prefix.is_empty() {
                out.push(path);
            } else {
                out.push(format!("{prefix}::{path}"));
            }
        }
    }
    out
}

fn split_top_level(text: &str) -> Vec<String> {
    let (mut depth, mut current, mut items) = (0usize, String::new(), Vec::new());
    for c in text.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    items.push(current);
    items
        .into_iter()
        .map(|i| i.trim().to_owned())
        .filter(|i| !i.is_empty())
        .collect()
}

/// The groups of files that import each other in a circle (strongly connected components of
/// more than one file), each sorted.
pub fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Two files are in one circle when each reaches the other.
    let reach = |from: &String| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(file) = todo.pop() {
            for next in graph.get(&file).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reached: BTreeMap<&String, BTreeSet<String>> =
        graph.keys().map(|file| (file, reach(file))).collect();
    let mut circles: BTreeSet<Vec<String>> = BTreeSet::new();
    for (file, reaches) in &reached {
        if !reaches.contains(*file) {
            continue;
        }
        let mut circle: Vec<String> = reaches
            .iter()
            .filter(|other| reached.get(other).is_some_and(|r| r.contains(*file)))
            .cloned()
            .collect();
        circle.sort();
        circles.insert(circle);
    }
    circles.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn use_trees_expand_to_whole_paths() {
        assert_eq!(
            expand("super::{a, b::{c, self}, d as e}"),
            ["super::a", "super::b::c", "super::b", "super::d"]
        );
        assert_eq!(
            expand("crate::store::StoreError"),
            ["crate::store::StoreError"]
        );
    }

    #[test]
    fn relative_paths_resolve_from_their_module() {
        let here = vec!["store".to_owned(), "local".to_owned()];
        let children = vec!["paths".to_owned()];
        let path = |p: &str| split(p);
        assert_eq!(
            resolve(&here, &children, &path("super::run_query::x")),
            Some(path("store::run_query::x"))
        );
        assert_eq!(
            resolve(&here, &children, &path("paths::io")),
            Some(path("store::local::paths::io"))
        );
        assert_eq!(resolve(&here, &children, &path("std::fs")), None);
    }

    #[test]
    fn a_circle_of_two_files_is_found_and_a_chain_is_not() {
        let graph: BTreeMap<String, BTreeSet<String>> =
            [("a", vec!["b"]), ("b", vec!["a", "c"]), ("c", vec![])]
                .into_iter()
                .map(|(f, to)| (f.to_owned(), to.into_iter().map(str::to_owned).collect()))
                .collect();
        assert_eq!(cycles(&graph), vec![vec!["a".to_owned(), "b".to_owned()]]);
    }
}

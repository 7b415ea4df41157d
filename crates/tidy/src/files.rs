//! The workspace's Rust sources, found from this crate's own place in it.

use std::path::{Path, PathBuf};

/// The workspace root (two levels above this crate). `cargo test` sets `CARGO_MANIFEST_DIR`
/// for the tests it runs, which names the checkout being tested even when the compiled crate
/// came from another checkout sharing the target dir; the compile-time value is the fallback.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let root = manifest_dir.join("../..");
    root.canonicalize().unwrap_or(root)
}

/// One source file: its path relative to the workspace root, and its text.
pub struct Source {
    /// Relative path, with `/` separators (`crates/api/src/lib.rs`).
    pub path: String,
    /// The whole text.
    pub text: String,
}

impl Source {
    /// The lines of the text.
    pub fn lines(&self) -> Vec<&str> {
        self.text.lines().collect()
    }
}

/// Every `.rs` file under `dirs` (relative to the workspace root), sorted by path; folders
/// named `target` are skipped.
pub fn rust_sources(dirs: &[&str]) -> Vec<Source> {
    let root = workspace_root();
    let mut found = Vec::new();
    for dir in dirs {
        walk(&root, &root.join(dir), &mut found);
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

fn walk(root: &Path, dir: &Path, found: &mut Vec<Source>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                walk(root, &path, found);
            }
        } else if name.ends_with(".rs")
            && let Ok(text) = std::fs::read_to_string(&path)
        {
            let relative = path.strip_prefix(root).unwrap_or(&path);
            found.push(Source {
                path: relative.to_string_lossy().replace('\\', "/"),
                text,
            });
        }
    }
}

/// The lines of `text` that are code: comments (`//` to the end of the line) removed, and
/// string literals on one line emptied, so that a path in a comment or a message does not
/// count as a use.
pub fn code_lines(text: &str) -> Vec<String> {
    text.lines().map(strip_comment_and_strings).collect()
}

fn strip_comment_and_strings(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => {
                    in_string = false;
                    out.push('"');
                }
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push('"');
            }
            '/' if chars.peek() == Some(&'/') => break,
            _ => out.push(c),
        }
    }
    out
}

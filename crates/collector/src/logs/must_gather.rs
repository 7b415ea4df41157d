//! A must-gather (or `oc adm inspect`) folder: where its logs are, what zone its times are in,
//! and the name each filtered log gets.
//!
//! `oc adm must-gather` writes `must-gather.local.<N>/<image>/…`, with a `timestamp` file
//! (`2023-09-13 15:41:24.795009033 +0000 UTC m=+0.144486929`). Any of those folders may be
//! given: we descend through single subfolders to the one holding `namespaces/` or
//! `timestamp` (the "gather folder"). Every `*.log` file below it is filtered; its output is
//! named by its path below the gather folder with `/` turned into `.`, as krkn-lib names it.
//!
//! The zone of times written without one is the `timestamp` file's offset (its 3rd word,
//! exact) or, failing that, its 4th word when that is UTC or GMT; krkn-lib means the same but
//! looks for the file one folder too high and so always reads UTC.

use std::path::{Path, PathBuf};

use chrono::FixedOffset;

/// Where a gather's logs are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gather {
    /// The folder output names are relative to.
    pub root: PathBuf,
    /// Zone of times written without one.
    pub zone: FixedOffset,
    /// Where the zone came from, for the log (`timestamp file` or `default (no timestamp file)`).
    pub zone_source: String,
}

/// One log to filter and the name of its output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    /// The log.
    pub path: PathBuf,
    /// Its output file name.
    pub output_name: String,
    /// Its size in bytes.
    pub bytes: u64,
}

fn annotate(path: &Path, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

impl Gather {
    /// Finds the gather folder at or below `dir`.
    pub fn locate(dir: &Path) -> std::io::Result<Gather> {
        let mut root = dir.to_owned();
        loop {
            if root.join("timestamp").is_file() || root.join("namespaces").is_dir() {
                break;
            }
            let subfolders: Vec<PathBuf> = std::fs::read_dir(&root)
                .map_err(|e| annotate(&root, e))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect();
            match subfolders.as_slice() {
                [only] => root = only.clone(),
                _ => break,
            }
        }
        let (zone, zone_source) = match std::fs::read_to_string(root.join("timestamp")) {
            Ok(text) => match zone_of_timestamp(&text) {
                Some(zone) => (zone, "the timestamp file".to_owned()),
                None => (
                    utc(),
                    "default: UTC (the timestamp file names no zone we read)".to_owned(),
                ),
            },
            Err(_) => (utc(), "default: UTC (no timestamp file)".to_owned()),
        };
        Ok(Gather {
            root,
            zone,
            zone_source,
        })
    }

    /// Every `*.log` file below the gather folder, sorted by output name.
    pub fn log_files(&self) -> std::io::Result<Vec<LogFile>> {
        let mut found = Vec::new();
        walk(&self.root, &mut found)?;
        let mut files: Vec<LogFile> = found
            .into_iter()
            .filter_map(|(path, bytes)| {
                let relative = path.strip_prefix(&self.root).ok()?;
                let name = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join(".");
                Some(LogFile {
                    path,
                    output_name: name,
                    bytes,
                })
            })
            .collect();
        files.sort_by(|a, b| a.output_name.cmp(&b.output_name));
        Ok(files)
    }
}

fn utc() -> FixedOffset {
    use chrono::Offset;
    chrono::Utc.fix()
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, u64)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| annotate(dir, e))? {
        let entry = entry.map_err(|e| annotate(dir, e))?;
        let kind = entry.file_type().map_err(|e| annotate(&entry.path(), e))?;
        let path = entry.path();
        if kind.is_dir() {
            walk(&path, out)?;
        } else if kind.is_file() && path.extension().is_some_and(|e| e == "log") {
            let bytes = entry.metadata().map(|m| m.len()).unwrap_or(0);
            out.push((path, bytes));
        }
    }
    Ok(())
}

/// The zone in a `timestamp` file's first line: `… +0000 UTC m=+…`.
pub fn zone_of_timestamp(text: &str) -> Option<FixedOffset> {
    let words: Vec<&str> = text.lines().next()?.split_whitespace().collect();
    let offset = words.get(2).and_then(|w| {
        let (sign, digits) = match w.as_bytes().first()? {
            b'+' => (1, &w[1..]),
            b'-' => (-1, &w[1..]),
            _ => return None,
        };
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let hours: i32 = digits[..2].parse().ok()?;
        let minutes: i32 = digits[2..].parse().ok()?;
        FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
    });
    offset.or_else(|| match words.get(3) {
        Some(&"UTC") | Some(&"GMT") => Some(utc()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_are_read_from_the_offset_then_the_name() {
        let utc_line = "2023-09-13 15:41:24.795009033 +0000 UTC m=+0.144486929\n";
        assert_eq!(zone_of_timestamp(utc_line), FixedOffset::east_opt(0));
        let cest = "2023-09-15 11:20:36.123 +0200 CEST m=+0.01";
        assert_eq!(zone_of_timestamp(cest), FixedOffset::east_opt(7200));
        assert_eq!(
            zone_of_timestamp("2023-09-15 11:20:36 -0530 X"),
            FixedOffset::east_opt(-19800)
        );
        assert_eq!(
            zone_of_timestamp("2023-09-15 11:20:36 junk GMT"),
            FixedOffset::east_opt(0)
        );
        assert_eq!(zone_of_timestamp("2023-09-15 11:20:36 junk CEST"), None);
        assert_eq!(zone_of_timestamp(""), None);
    }
}

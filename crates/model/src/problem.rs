//! Problems found in a document, each with the JSON path where it was found.
//!
//! Every check in this crate reports into a [`Problems`] list instead of stopping at the first
//! error, so a user fixes a broken document in one round instead of one error per round.

use std::fmt;

use serde::Serialize;

/// One problem: where it is (`scenarios[0].scenario_type`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// JSON path of the offending value, in `a.b[0].c` form; empty for the whole document.
    pub path: String,
    /// What is wrong, in words a user can act on.
    pub message: String,
}

impl Problem {
    /// Builds a problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "(document): {}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every problem found in one document (never empty when returned as an error).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, thiserror::Error)]
#[serde(transparent)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// Adds a problem.
    pub fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem::new(path, message));
    }

    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The problems in the order they were found.
    pub fn iter(&self) -> std::slice::Iter<'_, Problem> {
        self.0.iter()
    }

    /// `Ok(value)` when nothing was found, else `Err(self)`.
    pub fn into_result<T>(self, value: T) -> Result<T, Problems> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    /// Puts `prefix` in front of every path (a document read from inside a wrapper object).
    pub fn prefixed(mut self, prefix: &str) -> Self {
        for problem in &mut self.0 {
            problem.path = if problem.path.is_empty() {
                prefix.to_owned()
            } else if problem.path.starts_with('[') {
                format!("{prefix}{}", problem.path)
            } else {
                format!("{prefix}.{}", problem.path)
            };
        }
        self
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl IntoIterator for Problems {
    type Item = Problem;
    type IntoIter = std::vec::IntoIter<Problem>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// A JSON path under construction, kept on the stack as a chain of parents so that checking a
/// valid document allocates nothing; it is rendered to text only when a problem is reported.
#[derive(Clone, Copy)]
pub struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    segment: Segment<'a>,
}

#[derive(Clone, Copy)]
enum Segment<'a> {
    Root,
    Field(&'a str),
    Index(usize),
}

impl<'a> Path<'a> {
    /// The document itself.
    pub const ROOT: Path<'static> = Path {
        parent: None,
        segment: Segment::Root,
    };

    /// The path of field `name` below this one.
    pub fn field(&'a self, name: &'a str) -> Path<'a> {
        Path {
            parent: Some(self),
            segment: Segment::Field(name),
        }
    }

    /// The path of list element `index` below this one.
    pub fn index(&'a self, index: usize) -> Path<'a> {
        Path {
            parent: Some(self),
            segment: Segment::Index(index),
        }
    }

    /// Renders the path as `a.b[0].c`.
    pub fn render(&self) -> String {
        let mut segments = Vec::new();
        let mut cursor = Some(self);
        while let Some(path) = cursor {
            segments.push(path.segment);
            cursor = path.parent;
        }
        let mut out = String::new();
        for segment in segments.iter().rev() {
            match segment {
                Segment::Root => {}
                Segment::Field(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    if is_plain_key(name) {
                        out.push_str(name);
                    } else {
                        // Keys that would make the path ambiguous are quoted, JSON style.
                        out.push_str(&serde_json::Value::from(*name).to_string());
                    }
                }
                Segment::Index(index) => {
                    out.push('[');
                    out.push_str(&index.to_string());
                    out.push(']');
                }
            }
        }
        out
    }
}

fn is_plain_key(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'/')
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl Problems {
    /// Adds a problem at a [`Path`], rendering the path only now.
    pub fn at(&mut self, path: &Path<'_>, message: impl Into<String>) {
        self.0.push(Problem::new(path.render(), message));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_renders_fields_and_indices() {
        let root = Path::ROOT;
        let scenarios = root.field("scenarios");
        let first = scenarios.index(0);
        let kind = first.field("scenario_type");
        assert_eq!(kind.render(), "scenarios[0].scenario_type");
        assert_eq!(root.render(), "");
        let odd = root.field("kubernetes_objects_count");
        let key = odd.field("a.b");
        assert_eq!(key.render(), "kubernetes_objects_count.\"a.b\"");
    }

    #[test]
    fn prefix_joins_paths() {
        let mut problems = Problems::default();
        problems.push("scenarios[0].scenario", "must not be empty");
        problems.push("", "expected an object");
        let prefixed = problems.prefixed("telemetry");
        assert_eq!(prefixed.0[0].path, "telemetry.scenarios[0].scenario");
        assert_eq!(prefixed.0[1].path, "telemetry");
    }
}

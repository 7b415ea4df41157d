//! The log filter of `KRKN-PROTOCOL.md` section 5: a line is kept when a pattern matches at
//! its start and the time its one capture group holds lies in `[start, end]` (whole seconds,
//! inclusive, either bound optional). Patterns are tried in order and the first match decides;
//! a line whose time cannot be read is dropped.
//!
//! Files are read as bytes (invalid UTF-8 is kept as it is, never a reason to skip a file) in
//! blocks cut at line ends, so no file is ever held whole; blocks are filtered on every core and
//! written back in order. An output file is written under a temporary name and renamed when
//! complete, and only when at least one line is kept.

use std::io::{Read, Write};
use std::path::Path;

use memchr::{memchr, memrchr};
use rayon::prelude::*;
use regex_automata::meta::{Cache, Regex as MetaRegex};
use regex_automata::util::captures::Captures;
use regex_automata::{Anchored, Input};
use regex_syntax::hir::Class;

use super::time::{self, TimeContext};

/// Bytes read per block; a batch of blocks is filtered in parallel.
const BLOCK_BYTES: usize = 1 << 20;

/// Why a filter could not be built.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// A pattern is not a regex, or does not have exactly one capture group.
    #[error("log filter pattern {index} ({pattern:?}): {reason}")]
    Pattern {
        /// Position in the list, from 0.
        index: usize,
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Lines seen and kept by one filtering.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FilterStats {
    /// Bytes read.
    pub bytes: u64,
    /// Lines read.
    pub lines: u64,
    /// Lines kept.
    pub kept: u64,
}

impl std::ops::AddAssign for FilterStats {
    fn add_assign(&mut self, other: Self) {
        self.bytes += other.bytes;
        self.lines += other.lines;
        self.kept += other.kept;
    }
}

/// One pattern, compiled twice when it ends in a repeated class such as `.+`.
///
/// Every seed pattern ends in `.+`, which makes a match run to the end of each line; only the
/// part before it decides the time. So the head is matched alone, and the tail is only checked
/// for its minimum (`.+`: one more character that `.` matches). This is exact: when the head's
/// preferred match leaves the tail unsatisfiable, the whole pattern is run instead, and when the
/// head does not match, neither can the whole. It makes the filter several times faster
/// (BENCHMARKS.md). Searches are anchored at the line start and use a cache per thread.
#[derive(Debug, Clone)]
struct LinePattern {
    whole: MetaRegex,
    split: Option<SplitPattern>,
}

#[derive(Debug, Clone)]
struct SplitPattern {
    head: MetaRegex,
    /// The class the tail repeats, and how many times at least.
    tail: Class,
    tail_minimum: u32,
}

/// Compiles as `regex::bytes::Regex` does: any byte may be matched, not only UTF-8.
fn compile(pattern: &str) -> Result<MetaRegex, String> {
    MetaRegex::builder()
        .syntax(regex_automata::util::syntax::Config::new().utf8(false))
        .configure(MetaRegex::config().utf8_empty(false))
        .build(pattern)
        .map_err(|e| e.to_string())
}

/// The character starting `bytes` and its length, when `bytes` starts with valid UTF-8.
fn first_char(bytes: &[u8]) -> Option<(char, usize)> {
    let width = match *bytes.first()? {
        0x00..=0x7f => 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return None,
    };
    let text = std::str::from_utf8(bytes.get(..width)?).ok()?;
    text.chars().next().map(|c| (c, width))
}

impl SplitPattern {
    /// True when `rest` (what follows the head) starts with the tail's minimum.
    fn tail_holds(&self, mut rest: &[u8]) -> bool {
        for _ in 0..self.tail_minimum {
            let width = match &self.tail {
                Class::Unicode(class) => match first_char(rest) {
                    Some((c, width))
                        if class
                            .ranges()
                            .iter()
                            .any(|r| r.start() <= c && c <= r.end()) =>
                    {
                        width
                    }
                    _ => return false,
                },
                Class::Bytes(class) => match rest.first() {
                    Some(&b)
                        if class
                            .ranges()
                            .iter()
                            .any(|r| r.start() <= b && b <= r.end()) =>
                    {
                        1
                    }
                    _ => return false,
                },
            };
            rest = &rest[width..];
        }
        true
    }
}

impl LinePattern {
    fn new(pattern: &str) -> Result<Self, String> {
        let anchored = format!("^(?:{pattern})");
        let whole = compile(&anchored)?;
        let split = Self::split(&anchored);
        Ok(LinePattern { whole, split })
    }

    /// Capture groups, the whole match's included.
    fn groups(&self) -> usize {
        self.whole
            .group_info()
            .group_len(regex_automata::PatternID::ZERO)
    }

    /// The head and tail of `pattern` when it ends in an unbounded repetition of one class.
    fn split(pattern: &str) -> Option<SplitPattern> {
        use regex_syntax::hir::{Hir, HirKind};
        let hir = regex_syntax::ParserBuilder::new()
            .utf8(false)
            .build()
            .parse(pattern)
            .ok()?;
        let HirKind::Concat(items) = hir.kind() else {
            return None;
        };
        let (last, head) = items.split_last()?;
        let HirKind::Repetition(tail) = last.kind() else {
            return None;
        };
        let (None, HirKind::Class(class)) = (tail.max, tail.sub.kind()) else {
            return None;
        };
        let head = compile(&Hir::concat(head.to_vec()).to_string()).ok()?;
        (head.group_info().group_len(regex_automata::PatternID::ZERO) == 2).then(|| SplitPattern {
            head,
            tail: class.clone(),
            tail_minimum: tail.min,
        })
    }

    fn scratch(&self) -> PatternScratch {
        PatternScratch {
            whole: (self.whole.create_cache(), self.whole.create_captures()),
            head: self
                .split
                .as_ref()
                .map(|s| (s.head.create_cache(), s.head.create_captures())),
        }
    }

    /// Matches `line` at its start; returns where the time's group is.
    fn time_group(&self, scratch: &mut PatternScratch, line: &[u8]) -> Option<(usize, usize)> {
        let input = Input::new(line).anchored(Anchored::Yes);
        if let (Some(split), Some((cache, captures))) = (&self.split, scratch.head.as_mut()) {
            split.head.search_captures_with(cache, &input, captures);
            let head = captures.get_match()?;
            if split.tail_holds(&line[head.end()..]) {
                return captures.get_group(1).map(|g| (g.start, g.end));
            }
        }
        let (cache, captures) = &mut scratch.whole;
        self.whole.search_captures_with(cache, &input, captures);
        captures.get_group(1).map(|g| (g.start, g.end))
    }
}

/// Scratch space for one pattern's searches, one per filtering thread.
#[derive(Debug, Clone)]
pub struct PatternScratch {
    whole: (Cache, Captures),
    head: Option<(Cache, Captures)>,
}

/// A compiled filter: patterns, window, and how to read times without a zone or year.
#[derive(Debug, Clone)]
pub struct LogFilter {
    patterns: Vec<LinePattern>,
    start: Option<i64>,
    end: Option<i64>,
    context: TimeContext,
}

impl LogFilter {
    /// Compiles `patterns` (each anchored at the line start, as Python's `re.match`).
    pub fn new(
        patterns: &[String],
        start: Option<i64>,
        end: Option<i64>,
        context: TimeContext,
    ) -> Result<Self, FilterError> {
        let compiled = patterns
            .iter()
            .enumerate()
            .map(|(index, pattern)| {
                let bad = |reason: String| FilterError::Pattern {
                    index,
                    pattern: pattern.clone(),
                    reason,
                };
                let compiled = LinePattern::new(pattern).map_err(bad)?;
                match compiled.groups() {
                    2 => Ok(compiled),
                    n => Err(bad(format!(
                        "must have exactly one capture group holding the time, found {}",
                        n - 1
                    ))),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(LogFilter {
            patterns: compiled,
            start,
            end,
            context,
        })
    }

    /// True when `line` (without its line end) is kept.
    pub fn keeps(&self, line: &[u8], scratch: &mut [PatternScratch]) -> bool {
        for (pattern, scratch) in self.patterns.iter().zip(scratch.iter_mut()) {
            if let Some((from, to)) = pattern.time_group(scratch, line) {
                return time::parse(&line[from..to], &self.context).is_some_and(|at| {
                    self.start.is_none_or(|s| at >= s) && self.end.is_none_or(|e| at <= e)
                });
            }
        }
        false
    }

    /// Scratch space for [`LogFilter::keeps`].
    pub fn scratch(&self) -> Vec<PatternScratch> {
        self.patterns.iter().map(LinePattern::scratch).collect()
    }

    /// Appends the kept lines of `block` (whole lines) to `out`.
    pub fn filter_block(&self, block: &[u8], out: &mut Vec<u8>) -> FilterStats {
        let mut scratch = self.scratch();
        let mut stats = FilterStats {
            bytes: block.len() as u64,
            ..FilterStats::default()
        };
        let mut rest = block;
        while !rest.is_empty() {
            let (line, next) = match memchr(b'\n', rest) {
                Some(end) => (&rest[..=end], &rest[end + 1..]),
                None => (rest, &rest[rest.len()..]),
            };
            stats.lines += 1;
            let text = line.strip_suffix(b"\n").unwrap_or(line);
            if self.keeps(text, &mut scratch) {
                stats.kept += 1;
                out.extend_from_slice(line);
            }
            rest = next;
        }
        stats
    }

    /// Filters `input` into `output`; writes nothing (and leaves no file) when no line is kept.
    pub fn filter_file(&self, input: &Path, output: &Path) -> std::io::Result<FilterStats> {
        let annotate = |path: &Path, e: std::io::Error| {
            std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
        };
        let mut reader = std::fs::File::open(input).map_err(|e| annotate(input, e))?;
        let mut writer: Option<tempfile::NamedTempFile> = None;
        let mut stats = FilterStats::default();
        let mut carry: Vec<u8> = Vec::new();
        let batch = rayon::current_num_threads().max(1) * 2;
        loop {
            // Read a batch of blocks, each ending at a line end (the tail carries over).
            let mut blocks: Vec<Vec<u8>> = Vec::with_capacity(batch);
            let mut eof = false;
            while blocks.len() < batch {
                let mut block = std::mem::take(&mut carry);
                block.reserve(BLOCK_BYTES);
                // `read_to_end` fills the spare capacity without zeroing it first.
                let read = (&mut reader)
                    .take(BLOCK_BYTES as u64)
                    .read_to_end(&mut block)
                    .map_err(|e| annotate(input, e))?;
                if read < BLOCK_BYTES {
                    eof = true;
                }
                if !eof && let Some(last) = memrchr(b'\n', &block) {
                    carry = block.split_off(last + 1);
                }
                if !block.is_empty() {
                    blocks.push(block);
                }
                if eof {
                    break;
                }
            }
            let filtered: Vec<(Vec<u8>, FilterStats)> = blocks
                .par_iter()
                .map(|block| {
                    let mut out = Vec::with_capacity(block.len() / 2);
                    let stats = self.filter_block(block, &mut out);
                    (out, stats)
                })
                .collect();
            for (out, block_stats) in filtered {
                stats += block_stats;
                if out.is_empty() {
                    continue;
                }
                if writer.is_none() {
                    let dir = output.parent().unwrap_or(Path::new("."));
                    writer =
                        Some(tempfile::NamedTempFile::new_in(dir).map_err(|e| annotate(dir, e))?);
                }
                if let Some(file) = writer.as_mut() {
                    file.write_all(&out).map_err(|e| annotate(output, e))?;
                }
            }
            if eof {
                break;
            }
        }
        if let Some(file) = writer {
            file.persist(output)
                .map_err(|e| annotate(output, e.error))?;
        }
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use krkn_telemetry_model::config::DEFAULT_LOG_FILTER_PATTERNS;

    fn seed_filter(start: i64, end: i64) -> LogFilter {
        let patterns: Vec<String> = DEFAULT_LOG_FILTER_PATTERNS
            .iter()
            .map(|p| (*p).to_owned())
            .collect();
        let context = TimeContext {
            zone: chrono::FixedOffset::east_opt(0).expect("utc"),
            year: 2023,
        };
        LogFilter::new(&patterns, Some(start), Some(end), context).expect("valid patterns")
    }

    fn at(text: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(text)
            .expect("time")
            .timestamp()
    }

    #[test]
    fn lines_are_kept_by_their_time_and_the_window_is_inclusive() {
        let filter = seed_filter(at("2023-09-15T11:20:36Z"), at("2023-09-15T11:20:40Z"));
        // (Built from parts: a `\` line continuation would eat the leading spaces.)
        let lines: [&[u8]; 9] = [
            b"2023-09-15T11:20:35.999999999Z before\n",
            b"2023-09-15T11:20:36.000000001Z first second\n",
            b"kinit 2023/09/15 11:20:38 kinit form\n",
            b"Sep 15 11:20:40.5 syslog form, last second\n",
            b"2023-09-15T11:20:41.0Z after\n",
            b"no time at all\n",
            b"  2023-09-15T11:20:37.0Z not at the start\n",
            b"2023-09-15T11:20:37.0Z \xff\xfe invalid UTF-8 kept as is\n",
            b"2023-09-15T11:20:38.0Z no newline at the end",
        ];
        let block = lines.concat();
        let block = block.as_slice();
        let mut out = Vec::new();
        let stats = filter.filter_block(block, &mut out);
        assert_eq!(stats.lines, 9);
        assert_eq!(stats.kept, 5, "{}", String::from_utf8_lossy(&out));
        assert_eq!(
            out,
            b"2023-09-15T11:20:36.000000001Z first second\n\
kinit 2023/09/15 11:20:38 kinit form\n\
Sep 15 11:20:40.5 syslog form, last second\n\
2023-09-15T11:20:37.0Z \xff\xfe invalid UTF-8 kept as is\n\
2023-09-15T11:20:38.0Z no newline at the end"
        );
    }

    /// The head-and-tail split finds the same time group as the whole pattern would, for
    /// the seed patterns and for tails that the head's preferred match leaves unsatisfied.
    #[test]
    fn a_split_pattern_finds_what_the_whole_pattern_finds() {
        use proptest::prelude::*;
        let mut patterns: Vec<String> = DEFAULT_LOG_FILTER_PATTERNS
            .iter()
            .map(|p| (*p).to_owned())
            .collect();
        patterns.extend(
            [
                r"(\d+).+",
                r"(\d+)\s*.*",
                r"(\w+).{2,}",
                r"(?-u)(\d+)[^x]+",
                r"(a|ab)\d+",
            ]
            .map(str::to_owned),
        );
        let compiled: Vec<(LinePattern, regex::bytes::Regex)> = patterns
            .iter()
            .map(|p| {
                let ours = LinePattern::new(p).expect("valid");
                let oracle = regex::bytes::Regex::new(&format!("^(?:{p})")).expect("valid");
                (ours, oracle)
            })
            .collect();
        assert!(
            compiled.iter().filter(|(p, _)| p.split.is_some()).count() >= 6,
            "the patterns ending in a repeated class are split"
        );
        let fragments = prop::sample::select(vec![
            &b"2023-09-15T11:20:36.5Z"[..],
            b"Sep 15 11:20:40.5",
            b"kinit 09/15/23 11:20:38",
            b"123",
            b"ab",
            b" ",
            b"x",
            b"\xff",
            b"\xc3\xa9",
            b"\t",
        ]);
        let lines = prop::collection::vec(fragments, 0..6).prop_map(|parts| parts.concat());
        proptest!(ProptestConfig::with_cases(2000), |(line in lines)| {
            for (pattern, oracle) in &compiled {
                let mut scratch = pattern.scratch();
                let expected = oracle
                    .captures(&line)
                    .and_then(|c| c.get(1))
                    .map(|m| (m.start(), m.end()));
                prop_assert_eq!(pattern.time_group(&mut scratch, &line), expected);
            }
        });
    }

    #[test]
    fn the_first_matching_pattern_decides() {
        // The first pattern matches but its capture is no time: the line is dropped, even
        // though the second would have read a time in the window.
        let patterns = vec![
            r"(\w+) ".to_owned(),
            r"\w+ (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)".to_owned(),
        ];
        let filter = LogFilter::new(&patterns, None, None, TimeContext::default()).expect("valid");
        let mut out = Vec::new();
        filter.filter_block(b"word 2023-09-15T11:20:36Z\n", &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn patterns_need_exactly_one_group() {
        let err = LogFilter::new(&["(a)(b)".to_owned()], None, None, TimeContext::default())
            .expect_err("two groups");
        assert!(
            err.to_string().contains("exactly one capture group"),
            "{err}"
        );
        assert!(LogFilter::new(&["(".to_owned()], None, None, TimeContext::default()).is_err());
    }

    #[test]
    fn files_are_filtered_across_block_boundaries() {
        let dir = tempfile::tempdir().expect("temp dir");
        let input = dir.path().join("big.log");
        let mut text = Vec::new();
        let mut expected = Vec::new();
        for i in 0..60_000u32 {
            let second = i % 60;
            let line = format!(
                "2023-09-15T11:20:{second:02}.123Z line {i} {}\n",
                "x".repeat((i % 97) as usize)
            );
            if (10..=20).contains(&second) {
                expected.extend_from_slice(line.as_bytes());
            }
            text.extend_from_slice(line.as_bytes());
        }
        std::fs::write(&input, &text).expect("written");
        let filter = seed_filter(at("2023-09-15T11:20:10Z"), at("2023-09-15T11:20:20Z"));
        let output = dir.path().join("out.log");
        let stats = filter.filter_file(&input, &output).expect("filtered");
        assert!(
            text.len() > 4 * BLOCK_BYTES,
            "the input spans several blocks"
        );
        assert_eq!(stats.lines, 60_000);
        assert_eq!(std::fs::read(&output).expect("written"), expected);

        let nothing = seed_filter(0, 1);
        let empty_out = dir.path().join("empty.log");
        assert_eq!(
            nothing
                .filter_file(&input, &empty_out)
                .expect("filtered")
                .kept,
            0
        );
        assert!(!empty_out.exists(), "no kept line, no file");
    }
}

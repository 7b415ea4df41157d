//! `pods/log`: a container's log served from a file, as the kubelet serves it through the API
//! server: each line begins with its RFC 3339 time (what `timestamps=true` shows; it is cut
//! off otherwise), and `sinceTime` drops the lines before it.

use std::path::PathBuf;

use bytes::Bytes;

/// A container whose log is a local file (lines starting with an RFC 3339 time, as
/// `oc adm must-gather` saves them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodLog {
    /// Namespace of the pod.
    pub namespace: String,
    /// Pod name.
    pub pod: String,
    /// Container name.
    pub container: String,
    /// The log file.
    pub file: PathBuf,
}

/// The log parameters the fake honours.
pub(crate) struct LogQuery {
    /// The container whose log is asked for (needed when the pod has several).
    pub container: Option<String>,
    /// Lines before this time (unix seconds) are left out, as `sinceTime` asks.
    pub since_seconds_epoch: Option<i64>,
    /// Whether each line keeps its RFC 3339 time, as `timestamps=true` asks.
    pub timestamps: bool,
}

/// Reads `container`, `sinceTime` and `timestamps`; refuses `follow`, which the fake cannot
/// honour.
pub(crate) fn parse(query: &str) -> Result<LogQuery, String> {
    let mut out = LogQuery {
        container: None,
        since_seconds_epoch: None,
        timestamps: false,
    };
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "container" => out.container = Some(value.into_owned()),
            "timestamps" => out.timestamps = value == "true",
            "sinceTime" => {
                out.since_seconds_epoch = Some(
                    rfc3339_seconds(value.as_bytes())
                        .ok_or_else(|| format!("sinceTime {value:?} is not an RFC 3339 time"))?,
                )
            }
            "follow" if value == "true" => {
                return Err("the fake API server does not follow logs".into());
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Unix seconds of `YYYY-MM-DDTHH:MM:SS[.frac]Z` (the form the kubelet writes).
fn rfc3339_seconds(text: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(text).ok()?;
    let (date, rest) = text.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let clock = rest.trim_end_matches('Z');
    let clock = clock.split('.').next()?;
    let mut c = clock.split(':').map(|p| p.parse::<i64>().ok());
    let (h, min, s) = (c.next()??, c.next()??, c.next()??);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + min * 60 + s)
}

/// The log text for `query`.
pub(crate) fn render(file: &std::path::Path, query: &LogQuery) -> std::io::Result<Bytes> {
    let text = std::fs::read(file)?;
    let mut out = Vec::with_capacity(text.len());
    for line in text.split_inclusive(|b| *b == b'\n') {
        let (stamp, rest) = match line.iter().position(|b| *b == b' ') {
            Some(at) => (&line[..at], &line[at + 1..]),
            None => (line, &line[line.len()..]),
        };
        if let Some(since) = query.since_seconds_epoch
            && rfc3339_seconds(stamp).is_none_or(|t| t < since)
        {
            continue;
        }
        if query.timestamps {
            out.extend_from_slice(line);
        } else {
            out.extend_from_slice(rest);
        }
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubelet_times_are_read() {
        assert_eq!(rfc3339_seconds(b"1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            rfc3339_seconds(b"2023-09-11T18:49:17.496085060Z"),
            Some(1_694_458_157)
        );
        assert_eq!(rfc3339_seconds(b"not a time"), None);
    }
}

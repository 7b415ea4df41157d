//! Reading the time a log filter pattern captured, in unix seconds.
//!
//! krkn-lib hands the captured text to `dateutil.parser.parse`; we read the forms log lines
//! actually carry, without allocating, so filtering keeps up with the disk:
//!
//! | form | example | zone |
//! |---|---|---|
//! | ISO 8601 / RFC 3339, `T` or space, optional fraction | `2023-09-15T11:20:36.123425532Z`, `2023-09-15 11:20:36+02:00` | its own, else the gather's |
//! | slashes | `2023/09/15 11:20:36` | the gather's |
//! | month/day/year (kinit's `klist`) | `09/15/23 11:20:36`, `9/15/2023 11:20:36` | the gather's; two-digit years as dateutil reads them |
//! | syslog, no year | `Sep 9 11:20:36.123425532`, `Sep  9 11:20:36` | the gather's; the year is the current one |
//! | klog, no year | `0911 18:48:05.998229` (after `I`/`W`/`E`) | the gather's; the year is the current one |
//! | unix seconds | `1694775636`, `1694775636.123` | UTC |
//!
//! Fractions are dropped (krkn compares whole seconds). A text in none of these forms has no
//! time, and its line is dropped.

use chrono::{Datelike, FixedOffset, NaiveDate, Offset};

/// What a captured time is read against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeContext {
    /// Zone of times written without one (the must-gather's `timestamp` file says which).
    pub zone: FixedOffset,
    /// Year of times written without one (syslog, klog): the current year, as krkn-lib.
    pub year: i32,
}

impl Default for TimeContext {
    fn default() -> Self {
        TimeContext {
            zone: chrono::Utc.fix(),
            year: chrono::Utc::now().year(),
        }
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn digits(&mut self, min: usize, max: usize) -> Option<u32> {
        let start = self.at;
        let mut value = 0u32;
        while self.at < self.bytes.len()
            && self.at - start < max
            && self.bytes[self.at].is_ascii_digit()
        {
            value = value * 10 + u32::from(self.bytes[self.at] - b'0');
            self.at += 1;
        }
        (self.at - start >= min).then_some(value)
    }

    fn byte(&mut self, wanted: u8) -> Option<()> {
        (self.bytes.get(self.at) == Some(&wanted)).then(|| self.at += 1)
    }

    fn one_of(&mut self, wanted: &[u8]) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        wanted.contains(&b).then(|| {
            self.at += 1;
            b
        })
    }

    fn skip_spaces(&mut self) -> usize {
        let start = self.at;
        while self.bytes.get(self.at) == Some(&b' ') {
            self.at += 1;
        }
        self.at - start
    }

    fn fraction(&mut self) {
        if self.bytes.get(self.at) == Some(&b'.') || self.bytes.get(self.at) == Some(&b',') {
            self.at += 1;
            while self.bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
                self.at += 1;
            }
        }
    }

    fn rest_is_blank(&self) -> bool {
        self.bytes[self.at..].iter().all(u8::is_ascii_whitespace)
    }

    /// `HH:MM:SS` then an optional fraction.
    fn clock(&mut self) -> Option<(u32, u32, u32)> {
        let h = self.digits(1, 2)?;
        self.byte(b':')?;
        let m = self.digits(2, 2)?;
        self.byte(b':')?;
        let s = self.digits(2, 2)?;
        self.fraction();
        Some((h, m, s))
    }

    /// The clock, an optional zone (else `default_zone`), then nothing: the unix second of
    /// that time on `(year, month, day)`.
    fn time_of_day(
        &mut self,
        (year, month, day): (i32, u32, u32),
        default_zone: FixedOffset,
    ) -> Option<i64> {
        let clock = self.clock()?;
        let zone = self.zone(default_zone)?;
        self.rest_is_blank().then_some(())?;
        seconds(zone, year, month, day, clock)
    }

    /// `Z`, `±HH:MM`, `±HHMM`, `±HH`, ` UTC`, or nothing.
    fn zone(&mut self, default: FixedOffset) -> Option<FixedOffset> {
        let save = self.at;
        self.skip_spaces();
        match self.bytes.get(self.at) {
            Some(b'Z') | Some(b'z') => {
                self.at += 1;
                FixedOffset::east_opt(0)
            }
            Some(b'+') | Some(b'-') => {
                let sign = if self.one_of(b"+-")? == b'-' { -1 } else { 1 };
                let h = self.digits(2, 2)? as i32;
                self.byte(b':');
                let m = self.digits(0, 2).unwrap_or(0) as i32;
                FixedOffset::east_opt(sign * (h * 3600 + m * 60))
            }
            _ if self.bytes[self.at..].starts_with(b"UTC")
                || self.bytes[self.at..].starts_with(b"GMT") =>
            {
                self.at += 3;
                FixedOffset::east_opt(0)
            }
            _ => {
                self.at = save;
                Some(default)
            }
        }
    }
}

fn seconds(
    zone: FixedOffset,
    year: i32,
    month: u32,
    day: u32,
    (h, m, s): (u32, u32, u32),
) -> Option<i64> {
    let naive = NaiveDate::from_ymd_opt(year, month, day)?.and_hms_opt(h, m, s.min(59))?;
    Some(
        naive.and_utc().timestamp() - i64::from(zone.local_minus_utc())
            + i64::from(s.saturating_sub(59)),
    )
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// The unix second of a captured time, or `None` when it is in no known form.
pub fn parse(text: &[u8], context: &TimeContext) -> Option<i64> {
    let text = text.trim_ascii();
    let first = *text.first()?;
    if first.is_ascii_alphabetic() {
        return syslog(text, context);
    }
    iso_or_slashes(text, context)
        .or_else(|| month_day_year(text, context))
        .or_else(|| klog(text, context))
        .or_else(|| epoch(text))
}

fn iso_or_slashes(text: &[u8], context: &TimeContext) -> Option<i64> {
    let mut c = Cursor { bytes: text, at: 0 };
    let year = c.digits(4, 4)? as i32;
    let separator = c.one_of(b"-/")?;
    let month = c.digits(1, 2)?;
    c.byte(separator)?;
    let day = c.digits(1, 2)?;
    if c.one_of(b"Tt").is_none() && c.skip_spaces() == 0 {
        return None;
    }
    c.time_of_day((year, month, day), context.zone)
}

/// `MM/DD/YY hh:mm:ss` (what krkn's `kinit` pattern captures) or `MM/DD/YYYY …`. dateutil reads
/// month first (day first when the first number is over 12); a two-digit year lands within 50
/// years of the current one.
fn month_day_year(text: &[u8], context: &TimeContext) -> Option<i64> {
    let mut c = Cursor { bytes: text, at: 0 };
    let first = c.digits(1, 2)?;
    c.byte(b'/')?;
    let second = c.digits(1, 2)?;
    c.byte(b'/')?;
    // Month first, unless the first cannot be a month (dateutil then reads day first).
    let (month, day) = if first > 12 {
        (second, first)
    } else {
        (first, second)
    };
    let start = c.at;
    let written = c.digits(2, 4)? as i32;
    let year = match c.at - start {
        4 => written,
        2 => {
            let century = context.year - context.year.rem_euclid(100);
            let year = century + written;
            if year >= context.year + 50 {
                year - 100
            } else if year < context.year - 49 {
                year + 100
            } else {
                year
            }
        }
        _ => return None,
    };
    if c.skip_spaces() == 0 {
        return None;
    }
    c.time_of_day((year, month, day), context.zone)
}

fn syslog(text: &[u8], context: &TimeContext) -> Option<i64> {
    let name = text.get(..3)?;
    let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(name))? as u32 + 1;
    let mut c = Cursor { bytes: text, at: 3 };
    if c.skip_spaces() == 0 {
        return None;
    }
    let day = c.digits(1, 2)?;
    if c.skip_spaces() == 0 {
        return None;
    }
    c.time_of_day((context.year, month, day), context.zone)
}

fn klog(text: &[u8], context: &TimeContext) -> Option<i64> {
    let mut c = Cursor { bytes: text, at: 0 };
    let month = c.digits(2, 2)?;
    let day = c.digits(2, 2)?;
    if c.skip_spaces() == 0 {
        return None;
    }
    let clock = c.clock()?;
    c.rest_is_blank().then_some(())?;
    seconds(context.zone, context.year, month, day, clock)
}

fn epoch(text: &[u8]) -> Option<i64> {
    let mut c = Cursor { bytes: text, at: 0 };
    let start = c.at;
    while c.bytes.get(c.at).is_some_and(u8::is_ascii_digit) {
        c.at += 1;
    }
    let digits = c.at - start;
    if !(9..=11).contains(&digits) {
        return None;
    }
    let whole = std::str::from_utf8(&text[start..c.at]).ok()?.parse().ok()?;
    c.fraction();
    c.rest_is_blank().then_some(whole)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(text)
            .expect("valid test time")
            .timestamp()
    }

    fn context(offset_hours: i32) -> TimeContext {
        TimeContext {
            zone: FixedOffset::east_opt(offset_hours * 3600).expect("offset"),
            year: 2023,
        }
    }

    #[test]
    fn the_seed_patterns_forms_are_read() {
        let c = context(0);
        assert_eq!(
            parse(b"2023-09-15T11:20:36.123425532Z", &c),
            Some(utc("2023-09-15T11:20:36Z"))
        );
        assert_eq!(
            parse(b"2023/09/15 11:20:36", &c),
            Some(utc("2023-09-15T11:20:36Z"))
        );
        assert_eq!(
            parse(b"Sep 9 11:20:36.123425532", &c),
            Some(utc("2023-09-09T11:20:36Z"))
        );
        assert_eq!(
            parse(b"Sep  9 11:20:36", &c),
            Some(utc("2023-09-09T11:20:36Z"))
        );
    }

    #[test]
    fn zones_come_from_the_text_else_from_the_gather() {
        let cest = context(2);
        assert_eq!(
            parse(b"2023-09-15T11:20:36Z", &cest),
            Some(utc("2023-09-15T11:20:36Z"))
        );
        assert_eq!(
            parse(b"2023-09-15 13:20:36", &cest),
            Some(utc("2023-09-15T11:20:36Z"))
        );
        assert_eq!(
            parse(b"2023-09-15T13:20:36+02:00", &context(0)),
            Some(utc("2023-09-15T11:20:36Z"))
        );
        assert_eq!(
            parse(b"2023-09-15T06:20:36-0500", &context(0)),
            Some(utc("2023-09-15T11:20:36Z"))
        );
        assert_eq!(
            parse(b"Sep 15 13:20:36", &cest),
            Some(utc("2023-09-15T11:20:36Z"))
        );
    }

    #[test]
    fn other_forms_and_nonsense() {
        let c = context(0);
        assert_eq!(
            parse(b"0911 18:48:05.998229", &c),
            Some(utc("2023-09-11T18:48:05Z"))
        );
        assert_eq!(parse(b"1694775636.5", &c), Some(1_694_775_636));
        // kinit's klist form, month first, as dateutil reads it.
        assert_eq!(
            parse(b"09/15/23 11:20:36", &c),
            Some(utc("2023-09-15T11:20:36Z"))
        );
        assert_eq!(
            parse(b"9/5/2023 11:20:36", &c),
            Some(utc("2023-09-05T11:20:36Z"))
        );
        assert_eq!(
            parse(b"09/15/80 11:20:36", &c),
            Some(utc("1980-09-15T11:20:36Z"))
        );
        assert_eq!(
            parse(b"15/09/23 11:20:36", &c),
            Some(utc("2023-09-15T11:20:36Z"))
        );
        assert_eq!(parse(b"15/13/23 11:20:36", &c), None);
        assert_eq!(parse(b"2023-13-45T11:20:36Z", &c), None);
        assert_eq!(parse(b"Foo 9 11:20:36", &c), None);
        assert_eq!(parse(b"11:20:36", &c), None);
        assert_eq!(parse(b"", &c), None);
        assert_eq!(parse(b"2023-09-15T11:20:36Z trailing", &c), None);
        assert_eq!(parse(&[0xff, 0xfe, b'1'], &c), None);
        // A leap second reads as the next second, as Go and Python print it.
        assert_eq!(
            parse(b"2016-12-31T23:59:60Z", &c),
            Some(utc("2017-01-01T00:00:00Z"))
        );
    }
}

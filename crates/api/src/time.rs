//! The service's clock and its one time format, shared by the routes and the stores (a file's
//! modification time and an S3 object's are listed in the same form as a run's filing time).

/// RFC 3339 UTC with seconds and `Z` (`2026-12-03T13:45:00Z`): how every time is written.
pub fn rfc3339(unix_seconds: i64) -> String {
    chrono::DateTime::from_timestamp(unix_seconds, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Now, in unix seconds (link expiries).
pub fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Now, as [`rfc3339`] writes it (filing times).
pub fn now_rfc3339() -> String {
    rfc3339(unix_now())
}

/// Now, RFC 3339 UTC with milliseconds (`2026-12-04T18:02:11.417Z`): audit records, whose
/// order within a second matters.
pub fn now_rfc3339_millis() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

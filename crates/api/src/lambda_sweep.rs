//! The retention sweep as a scheduled Lambda invocation: on AWS the same binary, started with
//! `KRKN_TELEMETRY_LAMBDA_TASK=retention-sweep` (the template's `RetentionSweepFunction`),
//! answers EventBridge's scheduled events by running [`crate::retention::sweep`], so index
//! items and objects of an expired run go together through the one delete path the admins'
//! delete uses. The S3 lifecycle rule and the DynamoDB TTL of `ObjectExpirationDays` stay a
//! global cap in step with each other; the sweep enforces the per-group rules under it.

use serde::Serialize;
use serde_json::Value;

use crate::retention::{SweepError, sweep};
use crate::store::Backend;
use crate::time::rfc3339;

/// The variable that selects what the function does; unset, it serves API Gateway events.
pub const TASK_VAR: &str = "KRKN_TELEMETRY_LAMBDA_TASK";

/// The value of [`TASK_VAR`] that makes the function the retention sweep.
pub const RETENTION_SWEEP_TASK: &str = "retention-sweep";

/// What the function runs, read from [`TASK_VAR`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LambdaTask {
    /// API Gateway proxy events: the service.
    Api,
    /// Scheduled events: the retention sweep.
    RetentionSweep,
}

/// Why the function cannot start or a sweep invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum LambdaTaskError {
    /// The task variable names no task.
    #[error("{TASK_VAR}={0:?} is not a task: unset it for the API, or set {RETENTION_SWEEP_TASK}")]
    UnknownTask(String),
    /// The event's `time` is there but not a time.
    #[error("the event's \"time\" {0:?} is not an RFC 3339 time")]
    BadTime(String),
    /// The sweep stopped; what it deleted before stays deleted.
    #[error(transparent)]
    Sweep(#[from] SweepError),
}

impl LambdaTask {
    /// The task `value` (the variable's value, `None` when unset) names.
    pub fn from_var(value: Option<&str>) -> Result<LambdaTask, LambdaTaskError> {
        match value {
            None | Some("") => Ok(LambdaTask::Api),
            Some(RETENTION_SWEEP_TASK) => Ok(LambdaTask::RetentionSweep),
            Some(other) => Err(LambdaTaskError::UnknownTask(other.to_owned())),
        }
    }
}

/// What a sweep invocation answers (and logs).
#[derive(Debug, Serialize)]
pub struct SweepAnswer {
    /// The time the sweep judged expiry at (RFC 3339).
    pub as_of: String,
    /// Runs deleted.
    pub runs_deleted: usize,
    /// Objects deleted with them.
    pub objects_deleted: usize,
}

/// The time the sweep judges expiry at: the scheduled event's `time` (when EventBridge meant
/// it to run, so a late or retried invocation decides the same), or `now` for an event
/// without one (an invocation by hand with `{}`).
pub fn sweep_time(event: &Value, now: i64) -> Result<i64, LambdaTaskError> {
    match event.get("time") {
        None | Some(Value::Null) => Ok(now),
        Some(Value::String(text)) => chrono::DateTime::parse_from_rfc3339(text)
            .map(|time| time.timestamp())
            .map_err(|_| LambdaTaskError::BadTime(text.clone())),
        Some(other) => Err(LambdaTaskError::BadTime(other.to_string())),
    }
}

/// Runs the sweep for one scheduled `event`.
pub async fn sweep_event(backend: &Backend, event: &Value) -> Result<SweepAnswer, LambdaTaskError> {
    let as_of = sweep_time(event, crate::time::unix_now())?;
    let report = sweep(backend, as_of).await?;
    let answer = SweepAnswer {
        as_of: rfc3339(as_of),
        runs_deleted: report.runs,
        objects_deleted: report.objects,
    };
    tracing::info!(
        as_of = %answer.as_of,
        runs_deleted = answer.runs_deleted,
        objects_deleted = answer.objects_deleted,
        "retention sweep done"
    );
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_task_variable_selects_the_task_or_names_the_mistake() {
        assert_eq!(LambdaTask::from_var(None).ok(), Some(LambdaTask::Api));
        assert_eq!(
            LambdaTask::from_var(Some("retention-sweep")).ok(),
            Some(LambdaTask::RetentionSweep)
        );
        let wrong = LambdaTask::from_var(Some("sweep")).expect_err("not a task");
        assert!(
            wrong.to_string().contains("\"sweep\" is not a task"),
            "{wrong}"
        );
    }

    #[test]
    fn the_scheduled_time_decides_and_a_bad_one_is_named() {
        let scheduled = json!({"detail-type": "Scheduled Event", "time": "2026-12-04T21:00:00Z"});
        assert_eq!(sweep_time(&scheduled, 5).ok(), Some(1_796_418_000));
        assert_eq!(sweep_time(&json!({}), 5).ok(), Some(5));
        let bad = sweep_time(&json!({"time": "yesterday"}), 5).expect_err("not a time");
        assert!(bad.to_string().contains("\"yesterday\""), "{bad}");
    }
}

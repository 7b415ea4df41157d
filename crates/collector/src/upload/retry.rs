//! The retry policy of every exchange with the service: which failures may pass on another
//! try ([`Attempt`]), the waits between tries ([`RetryWaits`]) and the loop that runs them
//! under the deadline and the command's stop ([`retried`]).

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::StatusCode;

use super::{ApiSettings, UploadError};

/// One failed attempt.
#[derive(Debug)]
pub(super) enum Attempt {
    /// May pass if tried again.
    Transient(String),
    /// Will not pass.
    Refused(u16, String),
    /// A local failure (the file to send is gone); final.
    Local(String),
    /// Other bytes are stored under the name; final.
    Conflict(String),
    /// The server's certificate does not verify; final.
    Untrusted(String),
    /// A stop was asked for before this attempt; final.
    Stopped(crate::shutdown::Signal),
}

impl Attempt {
    fn is_transient(&self) -> bool {
        matches!(self, Attempt::Transient(_))
    }

    fn describe(&self) -> String {
        match self {
            Attempt::Transient(text) => text.clone(),
            Attempt::Refused(status, body) => format!("{status}: {body}"),
            Attempt::Local(text) | Attempt::Conflict(text) | Attempt::Untrusted(text) => {
                text.clone()
            }
            Attempt::Stopped(signal) => format!("stopped by {}", signal.name()),
        }
    }
}

pub(super) fn from_reqwest(error: reqwest::Error) -> Attempt {
    // Connection refused/reset, timeouts and broken bodies may all pass on another try. The
    // URL is left out: an upload link carries its signature, which must not reach a log.
    let error = error.without_url();
    let mut text = error.to_string();
    let mut untrusted = None;
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        untrusted = untrusted.or_else(|| certificate_failure(cause));
        source = cause.source();
    }
    match untrusted {
        Some(reason) => Attempt::Untrusted(reason),
        None => Attempt::Transient(text),
    }
}

/// rustls's verdict when `cause` is a certificate that failed verification. It arrives
/// wrapped in `io::Error`s (one per layer), whose `source()` skips what they wrap, so each
/// wrapper is opened.
fn certificate_failure(cause: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current: &(dyn std::error::Error + 'static) = cause;
    loop {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return matches!(tls, rustls::Error::InvalidCertificate(_)).then(|| tls.to_string());
        }
        let inner = current.downcast_ref::<std::io::Error>()?.get_ref()?;
        current = inner;
    }
}

pub(super) async fn check(response: reqwest::Response) -> Result<String, Attempt> {
    let status = response.status();
    let body = response.text().await.map_err(from_reqwest)?;
    if status.is_success() {
        return Ok(body);
    }
    let shown: String = body.trim().chars().take(500).collect();
    if status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
    {
        Err(Attempt::Transient(format!("{status}: {shown}")))
    } else {
        Err(Attempt::Refused(status.as_u16(), shown))
    }
}

/// The waits between attempts: doubling from `min_backoff`, each one a random point between
/// half and all of its step, never past `max_backoff`. The random source is seeded from the
/// OS for every request, so that collectors (and the parallel uploads of one backup) waiting
/// on the same recovering service spread out instead of retrying in step. backon's own
/// jitter came from one fixed seed (built without `std`) and was added after the cap, so
/// waits of up to twice the maximum were seen.
#[derive(Debug, Clone)]
pub(crate) struct RetryWaits {
    min: Duration,
    max: Duration,
    retries: Option<usize>,
}

impl RetryWaits {
    pub(super) fn new(settings: &ApiSettings) -> Self {
        RetryWaits {
            min: settings.min_backoff,
            max: settings.max_backoff.max(settings.min_backoff),
            retries: (settings.max_retries > 0).then_some(settings.max_retries as usize),
        }
    }
}

/// The waits of one request.
#[derive(Debug)]
pub(crate) struct Waits {
    steps: backon::ExponentialBackoff,
    max: Duration,
    rng: fastrand::Rng,
}

impl Iterator for Waits {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let step = self.steps.next()?.min(self.max);
        Some(step.mul_f64(0.5 + 0.5 * self.rng.f64()))
    }
}

impl backon::BackoffBuilder for RetryWaits {
    type Backoff = Waits;

    fn build(self) -> Waits {
        let steps = ExponentialBuilder::default()
            .with_min_delay(self.min)
            .with_max_delay(self.max)
            .with_factor(2.0);
        let steps = match self.retries {
            Some(n) => steps.with_max_times(n),
            None => steps.without_max_times(),
        };
        Waits {
            steps: steps.build(),
            max: self.max,
            rng: fastrand::Rng::new(),
        }
    }
}

/// Runs `attempt` under `settings`' retry policy; `what` names it in messages.
pub(super) async fn retried<T, F, Fut>(
    settings: &ApiSettings,
    what: &str,
    mut attempt: F,
) -> Result<T, UploadError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Attempt>>,
{
    let policy = RetryWaits::new(settings);
    let attempts = std::sync::atomic::AtomicU32::new(1);
    let last = std::sync::Mutex::new(String::new());
    let stop = settings.stop.as_ref();
    // The first attempt is the exchange in flight (it gets the grace period); no retry
    // starts once a stop is asked for, and a wait between attempts ends with it.
    let mut started = false;
    let guarded = || {
        let retrying = std::mem::replace(&mut started, true);
        let next = match stop
            .filter(|_| retrying)
            .and_then(crate::shutdown::Shutdown::requested)
        {
            Some(signal) => Err(signal),
            None => Ok(attempt()),
        };
        async move {
            match next {
                Ok(next) => next.await,
                Err(signal) => Err(Attempt::Stopped(signal)),
            }
        }
    };
    let waker = settings.stop.clone();
    let sleep = move |wait: Duration| {
        let stop = waker.clone();
        async move {
            match stop {
                Some(stop) => {
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = stop.wait() => {}
                    }
                }
                None => tokio::time::sleep(wait).await,
            }
        }
    };
    let run = guarded
        .retry(policy)
        .sleep(sleep)
        .when(Attempt::is_transient)
        .notify(|failure: &Attempt, wait: Duration| {
            let n = attempts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::warn!(
                "{what}: attempt {n} failed ({}); retrying in {wait:.1?}",
                failure.describe()
            );
            *last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = failure.describe();
        });
    let outcome = match settings.deadline {
        Some(deadline) => match tokio::time::timeout_at(deadline, run).await {
            Ok(outcome) => outcome,
            Err(_) => {
                return Err(UploadError::Deadline {
                    what: what.to_owned(),
                    attempts: attempts.load(std::sync::atomic::Ordering::Relaxed),
                    last: last
                        .into_inner()
                        .unwrap_or_else(std::sync::PoisonError::into_inner),
                });
            }
        },
        None => run.await,
    };
    let attempts = attempts.load(std::sync::atomic::Ordering::Relaxed);
    let last = last
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    outcome.map_err(|failure| final_error(what, attempts, last, failure))
}

/// The error of an exchange whose attempt `failure` ended it, after `attempts` counted
/// attempts (a skipped attempt of a stop is counted too) and the `last` failure retried.
fn final_error(what: &str, attempts: u32, last: String, failure: Attempt) -> UploadError {
    let what = what.to_owned();
    match failure {
        Attempt::Refused(status, body) => UploadError::Refused { what, status, body },
        Attempt::Transient(last) => UploadError::GaveUp {
            what,
            attempts,
            last,
        },
        Attempt::Conflict(reason) => UploadError::Conflict { what, reason },
        Attempt::Local(reason) => UploadError::Local { what, reason },
        Attempt::Untrusted(reason) => UploadError::Untrusted { what, reason },
        Attempt::Stopped(signal) => UploadError::Stopped {
            what,
            signal: signal.name(),
            attempts: attempts.saturating_sub(1),
            last,
        },
    }
}

#[cfg(test)]
mod tests {
    use krkn_telemetry_model::Secret;

    use super::*;

    #[test]
    fn retry_waits_are_random_per_request_and_never_past_the_maximum() {
        use backon::BackoffBuilder;
        let mut settings = ApiSettings::new("http://x", "u", Secret::new("p"));
        settings.min_backoff = Duration::from_millis(500);
        settings.max_backoff = Duration::from_secs(30);
        let first: Vec<Duration> = RetryWaits::new(&settings).build().take(40).collect();
        let second: Vec<Duration> = RetryWaits::new(&settings).build().take(40).collect();
        assert_ne!(first, second, "two requests waited in step");
        for wait in first.iter().chain(&second) {
            assert!(*wait <= settings.max_backoff, "{wait:?}");
            assert!(*wait >= Duration::from_millis(250), "{wait:?}");
        }
        // Late waits sit between half the maximum and the maximum.
        assert!(first[20..].iter().all(|w| *w >= Duration::from_secs(15)));
        settings.max_retries = 3;
        assert_eq!(RetryWaits::new(&settings).build().count(), 3);
    }
}

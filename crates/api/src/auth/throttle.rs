//! Wrong passwords slow their sender down: after [`LoginLimits::free_failures`] failures from
//! one client address, or for one user name, each further attempt must wait 1 s after the
//! last failure, then 2 s, 4 s, … up to 5 minutes, and is answered 429 with `Retry-After`
//! without a password check until then. A failure is forgotten 15 minutes after it happened
//! and a success clears its address and name.
//!
//! A user name under attack is slowed down for everyone who is not in the check cache yet;
//! that is the price of stopping a password guesser who spreads over many addresses. A
//! client whose credentials were checked in the last minutes skips the check, and this with
//! it.
//!
//! The log holds at most [`CAPACITY`] keys; when full, the key whose last failure is oldest
//! makes room, so that a flood of made-up names or addresses cannot grow it.
//!
//! [`LoginLimits::free_failures`]: crate::config::LoginLimits::free_failures

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys the log holds at most.
pub(crate) const CAPACITY: usize = 10_000;
/// How long a failure counts.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// The longest wait between attempts.
const MAX_DELAY: Duration = Duration::from_secs(300);

/// Who failed: a client address (IPv6 by its /64, what one host usually holds) or a name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum FailureKey {
    /// A client address.
    Address(IpAddr),
    /// A user name, known or not.
    User(String),
}

impl FailureKey {
    /// The key of a client address.
    pub(crate) fn address(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => FailureKey::Address(ip),
            IpAddr::V6(v6) => {
                let segments = v6.segments();
                FailureKey::Address(IpAddr::V6(std::net::Ipv6Addr::new(
                    segments[0],
                    segments[1],
                    segments[2],
                    segments[3],
                    0,
                    0,
                    0,
                    0,
                )))
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

/// Recent failures per key.
#[derive(Debug)]
pub(crate) struct FailureLog {
    free: u32,
    entries: Mutex<HashMap<FailureKey, Failures>>,
}

impl FailureLog {
    /// A log that lets `free` failures per key pass without delay.
    pub(crate) fn new(free: u32) -> Self {
        FailureLog {
            free,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// How long `key` must still wait before its next attempt, if at all.
    pub(crate) fn wait_needed(&self, key: &FailureKey, now: Instant) -> Option<Duration> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let failures = *entries.get(key)?;
        if now.saturating_duration_since(failures.last) >= FORGET_AFTER {
            entries.remove(key);
            return None;
        }
        if failures.count < self.free {
            return None;
        }
        let doublings = (failures.count - self.free).min(16);
        let delay = Duration::from_secs(1 << doublings).min(MAX_DELAY);
        (failures.last + delay)
            .checked_duration_since(now)
            .filter(|wait| !wait.is_zero())
    }

    /// Counts a wrong password for `key`.
    pub(crate) fn record_failure(&self, key: FailureKey, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if !entries.contains_key(&key) && entries.len() >= CAPACITY {
            entries.retain(|_, f| now.saturating_duration_since(f.last) < FORGET_AFTER);
            if entries.len() >= CAPACITY
                && let Some(oldest) = entries
                    .iter()
                    .min_by_key(|(_, f)| f.last)
                    .map(|(k, _)| k.clone())
            {
                entries.remove(&oldest);
            }
        }
        let failures = entries.entry(key).or_insert(Failures {
            count: 0,
            last: now,
        });
        failures.count = failures.count.saturating_add(1);
        failures.last = now;
    }

    /// Forgets the failures of `key` (after a success).
    pub(crate) fn forget(&self, key: &FailureKey) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    /// Keys held (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_past_the_free_ones_wait_longer_each_time() {
        let log = FailureLog::new(3);
        let key = FailureKey::User("admin".to_owned());
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(log.wait_needed(&key, t0), None);
            log.record_failure(key.clone(), t0);
        }
        // The fourth failure waits 1 s after the third, the fifth 2 s after the fourth.
        assert_eq!(log.wait_needed(&key, t0), Some(Duration::from_secs(1)));
        assert_eq!(log.wait_needed(&key, t0 + Duration::from_secs(1)), None);
        log.record_failure(key.clone(), t0 + Duration::from_secs(1));
        assert_eq!(
            log.wait_needed(&key, t0 + Duration::from_millis(1500)),
            Some(Duration::from_millis(1500))
        );
        // Forgotten after 15 minutes, and at once after a success.
        assert_eq!(log.wait_needed(&key, t0 + FORGET_AFTER * 2), None);
        log.record_failure(key.clone(), t0);
        log.forget(&key);
        assert_eq!(log.wait_needed(&key, t0), None);
    }

    #[test]
    fn the_wait_never_exceeds_five_minutes() {
        let log = FailureLog::new(0);
        let key = FailureKey::address("10.0.0.1".parse().expect("ip"));
        let t0 = Instant::now();
        for _ in 0..100 {
            log.record_failure(key.clone(), t0);
        }
        assert_eq!(log.wait_needed(&key, t0), Some(MAX_DELAY));
    }

    #[test]
    fn a_flood_of_names_never_grows_the_log_past_its_capacity() {
        let log = FailureLog::new(1);
        let t0 = Instant::now();
        for i in 0..CAPACITY + 500 {
            log.record_failure(
                FailureKey::User(format!("user-{i}")),
                t0 + Duration::from_millis(i as u64),
            );
        }
        assert_eq!(log.len(), CAPACITY);
        // The newest are kept, the oldest made room.
        let newest = FailureKey::User(format!("user-{}", CAPACITY + 499));
        log.record_failure(newest.clone(), t0 + Duration::from_secs(20));
        assert!(
            log.wait_needed(&newest, t0 + Duration::from_secs(20))
                .is_some()
        );
        assert_eq!(
            log.wait_needed(&FailureKey::User("user-0".to_owned()), t0),
            None
        );
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_bit_prefix() {
        let a = FailureKey::address("2001:db8:1:2::1".parse().expect("ip"));
        let b = FailureKey::address("2001:db8:1:2:ffff::9".parse().expect("ip"));
        let c = FailureKey::address("2001:db8:1:3::1".parse().expect("ip"));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}

//! [`Authenticator`]: a request's Basic credentials checked against the user store, with the
//! bounds an open network needs.
//!
//! - Recent successes are remembered in a bounded cache keyed by a SHA-256 of (name,
//!   password, stored hash): a warm Lambda does not pay the hash on every request, and a
//!   password change invalidates the entry by itself.
//! - At most [`LoginLimits::concurrent_checks`] hashes run at once (each takes ~19 MiB and
//!   tens of milliseconds); [`LoginLimits::queued_checks`] more may wait up to
//!   [`LoginLimits::queue_wait`] for a slot, and the rest get a 429 with `Retry-After`. 256
//!   clients sending wrong passwords used to grow the server to 18 GB.
//! - An unknown user is checked against a hash of a random password, so that it costs what a
//!   known user costs and names cannot be told apart by the time a refusal takes.
//! - Wrong passwords slow their address and their user name down ([`super::throttle`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::PasswordHash;
use axum::http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use super::throttle::{FailureKey, FailureLog};
use super::{Role, User, basic_credentials, hash_password, parse_groups, random_password};
use crate::config::LoginLimits;
use crate::error::ApiError;
use crate::store::{StoreError, UserStore};

const CACHE_CAPACITY: usize = 1024;
const CACHE_TTL: Duration = Duration::from_secs(300);

/// Checks credentials against the user store (see the module's text).
pub struct Authenticator {
    users: Arc<dyn UserStore>,
    cache: Mutex<HashMap<String, ([u8; 32], Instant)>>,
    /// Slots for hashes running now.
    checks: Arc<Semaphore>,
    /// The threads that compute them, one per slot.
    hashers: std::sync::mpsc::Sender<HashJob>,
    /// Checks waiting for a slot, and how many may.
    waiting: std::sync::atomic::AtomicUsize,
    limits: LoginLimits,
    failures: FailureLog,
}

/// A hash of a password nobody knows, made once: what an unknown user is checked against.
fn stand_in_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password(&random_password()).unwrap_or_default())
}

/// One password check for the hashing threads; the slot is held until it is done.
struct HashJob {
    password: String,
    hash: Option<String>,
    slot: tokio::sync::OwnedSemaphorePermit,
    answer: tokio::sync::oneshot::Sender<bool>,
}

/// Starts `count` threads that compute password checks, each with its own argon2 memory,
/// allocated once and reused: with a fresh 19 MiB block per check, glibc raised its mmap
/// threshold after the first free and kept the blocks in its arenas instead (a flood with two
/// checks at a time left ~240 MB behind, across tokio's blocking pool ~435 MB).
fn start_hashers(count: usize) -> std::sync::mpsc::Sender<HashJob> {
    let (sender, receiver) = std::sync::mpsc::channel::<HashJob>();
    let receiver = Arc::new(Mutex::new(receiver));
    for n in 0..count {
        let receiver = Arc::clone(&receiver);
        let started = std::thread::Builder::new()
            .name(format!("password-check-{n}"))
            .spawn(move || {
                let mut memory: Vec<argon2::Block> = Vec::new();
                loop {
                    let job = {
                        let receiver = receiver.lock().unwrap_or_else(|p| p.into_inner());
                        receiver.recv()
                    };
                    let Ok(job) = job else { return };
                    let stored = match job.hash.as_deref() {
                        Some(hash) => hash,
                        None => stand_in_hash(),
                    };
                    let verified = verify(&mut memory, &job.password, stored);
                    drop(job.slot);
                    let _ = job.answer.send(verified);
                }
            });
        if let Err(error) = started {
            tracing::error!(%error, "cannot start a password-check thread");
        }
    }
    sender
}

/// The most argon2 memory a stored hash may ask for (ours ask for 19 MiB).
const MAX_HASH_MEMORY_KIB: u32 = 256 * 1024;

/// Checks `password` against an argon2 PHC string (a one-off check, with memory of its own).
pub(crate) fn password_matches(password: &str, phc: &str) -> bool {
    verify(&mut Vec::new(), password, phc)
}

/// Checks `password` against an argon2 PHC string in `memory` (grown to what the hash needs,
/// never shrunk), comparing in constant time. Anything unreadable is a mismatch.
fn verify(memory: &mut Vec<argon2::Block>, password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = argon2::Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(argon2::Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(stored) = argon2::Params::try_from(&parsed) else {
        return false;
    };
    if stored.m_cost() > MAX_HASH_MEMORY_KIB {
        return false;
    }
    let Ok(params) = argon2::ParamsBuilder::new()
        .m_cost(stored.m_cost())
        .t_cost(stored.t_cost())
        .p_cost(stored.p_cost())
        .output_len(expected.len())
        .build()
    else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, argon2::Block::default());
    }
    let mut output = vec![0u8; expected.len()];
    let hashed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password.as_bytes(),
        salt,
        &mut output,
        &mut memory[..blocks],
    );
    hashed.is_ok() && bool::from(output.as_slice().ct_eq(expected.as_bytes()))
}

/// Frees a waiting place when a check stops waiting, however it stops.
struct Waiting<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

impl Authenticator {
    /// An authenticator over the given user store.
    pub fn with_limits(users: Arc<dyn UserStore>, limits: LoginLimits) -> Self {
        Authenticator {
            users,
            cache: Mutex::new(HashMap::new()),
            checks: Arc::new(Semaphore::new(limits.concurrent_checks.max(1))),
            hashers: start_hashers(limits.concurrent_checks.max(1)),
            waiting: std::sync::atomic::AtomicUsize::new(0),
            failures: FailureLog::new(limits.free_failures),
            limits,
        }
    }

    /// The user named by the request's Basic credentials, or 401 (no or wrong credentials)
    /// or 429 (too many checks at once, or too many wrong passwords from `client` or for the
    /// name). `client` is the sender's address when known.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        client: Option<IpAddr>,
    ) -> Result<User, ApiError> {
        const REFUSED: ApiError = ApiError::Unauthenticated("unknown user or wrong password");
        let (name, password) = basic_credentials(headers)?;
        let record = self.users.get_user(&name).await?;
        let fingerprint: Option<[u8; 32]> = record.as_ref().map(|record| {
            Sha256::new()
                .chain_update(name.as_bytes())
                .chain_update([0])
                .chain_update(password.as_bytes())
                .chain_update([0])
                .chain_update(record.password_hash.as_bytes())
                .finalize()
                .into()
        });
        let user = record.as_ref().and_then(|record| {
            Some(User {
                name: record.name.clone(),
                role: Role::parse(&record.role)?,
                groups: parse_groups(&record.groups),
            })
        });
        if let (Some(user), Some(fingerprint)) = (&user, &fingerprint) {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((cached, at)) = cache.get(&name)
                && at.elapsed() < CACHE_TTL
                && bool::from(cached.ct_eq(fingerprint))
            {
                return Ok(user.clone());
            }
        }

        let keys: Vec<FailureKey> = client
            .map(FailureKey::address)
            .into_iter()
            .chain([FailureKey::User(name.clone())])
            .collect();
        let now = Instant::now();
        if let Some(wait) = keys
            .iter()
            .filter_map(|key| self.failures.wait_needed(key, now))
            .max()
        {
            return Err(ApiError::TooManyRequests {
                retry_after: wait.as_secs_f64().ceil() as u64,
                reason: "too many wrong passwords from this address or for this user; wait \
                         before trying again"
                    .to_owned(),
            });
        }

        let hash = record.as_ref().map(|r| r.password_hash.clone());
        let verified = self.check_password(password, hash).await? && user.is_some();
        if !verified {
            let now = Instant::now();
            for key in keys {
                self.failures.record_failure(key, now);
            }
            return Err(REFUSED);
        }
        for key in &keys {
            self.failures.forget(key);
        }
        let (Some(user), Some(fingerprint)) = (user, fingerprint) else {
            return Err(REFUSED);
        };
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_CAPACITY {
            cache.retain(|_, (_, at)| at.elapsed() < CACHE_TTL);
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
        }
        cache.insert(name, (fingerprint, Instant::now()));
        Ok(user)
    }

    /// Runs one argon2 check in a slot: waits for one (within the queue's bounds) and holds
    /// it until the hash is done, even when the request that asked is gone.
    /// `None` checks against the stand-in hash of an unknown user.
    async fn check_password(
        &self,
        password: String,
        hash: Option<String>,
    ) -> Result<bool, ApiError> {
        let busy = || ApiError::TooManyRequests {
            retry_after: 1,
            reason: "too many password checks at once; try again in a second".to_owned(),
        };
        let permit = match Arc::clone(&self.checks).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                let queued = self
                    .waiting
                    .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
                let _waiting = Waiting(&self.waiting);
                if queued >= self.limits.queued_checks {
                    return Err(busy());
                }
                match tokio::time::timeout(
                    self.limits.queue_wait,
                    Arc::clone(&self.checks).acquire_owned(),
                )
                .await
                {
                    Ok(Ok(permit)) => permit,
                    _ => return Err(busy()),
                }
            }
        };
        // argon2 is slow on purpose: off the async threads, on the hashing threads.
        let (answer, verified) = tokio::sync::oneshot::channel();
        let job = HashJob {
            password,
            hash,
            slot: permit,
            answer,
        };
        let sent = self.hashers.send(job);
        if sent.is_err() {
            return Err(ApiError::Store(StoreError::Task(
                "the password-check threads are gone".to_owned(),
            )));
        }
        verified.await.map_err(|_| {
            ApiError::Store(StoreError::Task(
                "a password check stopped unexpectedly".to_owned(),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reused-memory check agrees with argon2's own verifier, for a right and a wrong
    /// password, and for hashes of other costs in the same memory.
    #[test]
    fn the_reused_memory_check_agrees_with_argon2() {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let mut memory = Vec::new();
        let ours = hash_password("s3cret-password").expect("hash");
        assert!(verify(&mut memory, "s3cret-password", &ours));
        assert!(!verify(&mut memory, "s3cret-passwore", &ours));
        let salt = SaltString::from_b64("c2FsdHNhbHRzYWx0").expect("salt");
        let small = Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2::Params::new(1024, 3, 1, Some(32)).expect("params"),
        )
        .hash_password(b"other-password", &salt)
        .expect("hash")
        .to_string();
        assert!(verify(&mut memory, "other-password", &small));
        assert!(!verify(&mut memory, "s3cret-password", &small));
        assert!(!verify(&mut memory, "x", "not a hash"));
    }
}

//! Password hashing under a bound, and the password policy.
//!
//! argon2id with the crate's default (OWASP) parameters: 19 MiB of memory and two passes per
//! hash, on purpose. Left alone, every sign-in runs one on its own blocking thread with its own
//! 19 MiB, so a burst of 96 sign-ins took the server from 0.2 to 1.8 GB (issue 9, row 1).
//! Here at most `concurrency` hashes run at once, each on a block of memory kept for reuse; a
//! request beyond them waits in a short queue for a limited time and is then refused with
//! `serverBusy` (503 + `Retry-After`). Hashing therefore never holds more than
//! `concurrency × 19 MiB`, nor more than `concurrency` cores, whatever arrives.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

use crate::error::ChatError;
use crate::protocol::limits::PasswordRule;
use crate::sync::lock;
use crate::user::Password;

/// Longest time a request waits for a hashing slot before it is told to come back later.
const MAX_WAIT: Duration = Duration::from_secs(3);
/// What a refused request is told to wait.
const RETRY_AFTER_MS: u64 = 2_000;
/// The largest memory cost accepted from a stored hash, in KiB: hashes are only ever written
/// by this module, with the default 19 MiB; anything far above it is not ours.
const MAX_STORED_M_COST: u32 = 64 * 1024;
/// Characters of a password that the strength estimate reads (it slows down on long inputs; a
/// password this long that is still weak at its start is weak).
const STRENGTH_PREFIX_CHARS: usize = 64;

/// Runs argon2 jobs with bounded concurrency, queue and memory.
pub(crate) struct Hasher {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
    /// One block of argon2 memory per slot, handed to a job and given back after it.
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
}

impl Hasher {
    /// `concurrency` hashes at once (at least one); `queue` more may wait for a slot.
    pub(crate) fn new(concurrency: usize, queue: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting: queue,
            memory: Arc::default(),
        }
    }

    /// Checks `password` against the policy ([`check_strength`]) in a hashing slot (the
    /// estimate takes milliseconds of CPU), handing it back when it passes.
    pub(crate) async fn check_strength(
        &self,
        password: Password,
        username: String,
    ) -> Result<Password, ChatError> {
        self.run(move |_| check_strength(&password, &username).map(|()| password))
            .await?
    }

    /// Hashes `password` into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
    pub(crate) async fn hash(&self, password: Password) -> Result<String, ChatError> {
        self.run(move |memory| hash_with(memory, password.expose().as_bytes()))
            .await?
    }

    /// Whether `password` matches the stored PHC string `hash`.
    pub(crate) async fn verify(&self, password: String, hash: String) -> Result<bool, ChatError> {
        self.run(move |memory| verify_with(memory, password.as_bytes(), &hash))
            .await?
    }

    /// Runs `job` on a blocking thread once a slot is free, with that slot's memory. The slot
    /// and the memory go back only when the job has finished, even if the caller stopped
    /// waiting for it: a cancelled request cannot free room for more work than the bound.
    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, ChatError> {
        let queued = Queued::enter(&self.waiting, self.max_waiting)?;
        let permit = tokio::time::timeout(MAX_WAIT, Arc::clone(&self.permits).acquire_owned())
            .await
            .map_err(|_| busy())?
            .map_err(|e| ChatError::internal("waiting for a hashing slot", e))?;
        drop(queued);
        let pool = Arc::clone(&self.memory);
        let mut memory = lock(&pool).pop().unwrap_or_default();
        tokio::task::spawn_blocking(move || {
            let out = job(&mut memory);
            lock(&pool).push(memory);
            drop(permit);
            out
        })
        .await
        .map_err(|e| ChatError::internal("running a hashing task", e))
    }
}

fn busy() -> ChatError {
    ChatError::ServerBusy {
        retry_after_ms: RETRY_AFTER_MS,
    }
}

/// A place in the queue for a hashing slot, given up on drop.
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn enter(waiting: &'a AtomicUsize, max: usize) -> Result<Self, ChatError> {
        let before = waiting.fetch_add(1, Ordering::AcqRel);
        let queued = Self(waiting);
        if before >= max {
            return Err(busy());
        }
        Ok(queued)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// `memory` grown to what `params` needs (it only grows, and only to the default size unless
/// a stored hash asks for more).
fn memory_for<'m>(memory: &'m mut Vec<Block>, params: &Params) -> &'m mut [Block] {
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    &mut memory[..blocks]
}

fn hash_with(memory: &mut Vec<Block>, password: &[u8]) -> Result<String, ChatError> {
    let failed =
        |e: &dyn std::fmt::Display| ChatError::internal("hashing a password", e.to_string());
    let params = Params::default();
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_bytes)
        .map_err(|e| failed(&e))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, salt_bytes, &mut out, memory_for(memory, &params))
        .map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(phc.to_string())
}

fn verify_with(memory: &mut Vec<Block>, password: &[u8], phc: &str) -> Result<bool, ChatError> {
    let unreadable =
        |e: &dyn std::fmt::Display| ChatError::internal("reading a stored hash", e.to_string());
    let hash = PasswordHash::new(phc).map_err(|e| unreadable(&e))?;
    let algorithm = Algorithm::try_from(hash.algorithm).map_err(|e| unreadable(&e))?;
    let version = match hash.version {
        Some(v) => Version::try_from(v).map_err(|e| unreadable(&e))?,
        None => Version::default(),
    };
    let params = Params::try_from(&hash).map_err(|e| unreadable(&e))?;
    if params.m_cost() > MAX_STORED_M_COST {
        return Err(ChatError::internal(
            "reading a stored hash",
            format!("it asks for {} KiB of memory", params.m_cost()),
        ));
    }
    let (Some(expected), Some(salt)) = (hash.hash, hash.salt) else {
        return Err(unreadable(&"no salt or no hash"));
    };
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|e| unreadable(&e))?;
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params.clone())
        .hash_password_into_with_memory(password, salt_bytes, &mut out, memory_for(memory, &params))
        .map_err(|e| ChatError::internal("verifying a password", e.to_string()))?;
    // `Output`'s equality is constant-time.
    Ok(Output::new(&out).map_err(|e| unreadable(&e))? == expected)
}

/// The password policy beyond its length (`Password::parse`): not the username, and not
/// among the passwords people commonly choose or that are quickly guessed — zxcvbn's estimate,
/// which knows about 30 000 common passwords, names, words, keyboard walks, repeats and
/// sequences, must put it at 10^8 guesses or more (its score 2: safe against online guessing,
/// which the sign-in limits slow further).
pub fn check_strength(password: &Password, username: &str) -> Result<(), ChatError> {
    let text = password.expose();
    let name = username.trim();
    if !name.is_empty() && text.trim().eq_ignore_ascii_case(name) {
        return Err(ChatError::InvalidPassword(PasswordRule::SameAsUsername));
    }
    let prefix: String = text.chars().take(STRENGTH_PREFIX_CHARS).collect();
    let estimate = zxcvbn::zxcvbn(&prefix, &[name]);
    if u8::from(estimate.score()) < 2 {
        return Err(ChatError::InvalidPassword(PasswordRule::TooGuessable));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use argon2::PasswordHasher;
    use argon2::PasswordVerifier;

    use super::*;

    fn password(text: &str) -> Password {
        Password::parse(text).unwrap()
    }

    #[tokio::test]
    async fn hashes_verify_here_and_with_the_argon2_crate_both_ways() {
        let hasher = Hasher::new(1, 4);
        let ours = hasher
            .hash(password("correct horse battery"))
            .await
            .unwrap();
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery", &PasswordHash::new(&ours).unwrap())
                .is_ok()
        );
        assert!(
            hasher
                .verify("correct horse battery".into(), ours.clone())
                .await
                .unwrap()
        );
        assert!(!hasher.verify("wrong".into(), ours).await.unwrap());
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default()
            .hash_password(b"another one", &salt)
            .unwrap()
            .to_string();
        assert!(hasher.verify("another one".into(), theirs).await.unwrap());
    }

    #[tokio::test]
    async fn beyond_the_slots_and_the_queue_requests_are_told_to_come_back() {
        let hasher = Arc::new(Hasher::new(1, 1));
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let first = {
            let hasher = Arc::clone(&hasher);
            tokio::spawn(async move {
                hasher
                    .run(move |_| {
                        started_tx.send(()).unwrap();
                        release_rx.recv().unwrap();
                    })
                    .await
            })
        };
        tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
            .await
            .unwrap();
        // One may wait; the next is refused at once.
        let second = {
            let hasher = Arc::clone(&hasher);
            tokio::spawn(async move { hasher.run(|_| ()).await })
        };
        while hasher.waiting.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(
            hasher.run(|_| ()).await,
            Err(ChatError::ServerBusy { .. })
        ));
        release_tx.send(()).unwrap();
        first.await.unwrap().unwrap();
        second.await.unwrap().unwrap();
    }

    #[test]
    fn common_guessable_and_username_passwords_are_refused() {
        for weak in [
            "password",
            "12345678",
            "        ",
            "qwertyuiop",
            "password1",
            "aaaaaaaaaaaa",
        ] {
            assert!(
                matches!(
                    check_strength(&password(weak), "alice"),
                    Err(ChatError::InvalidPassword(_))
                ),
                "{weak:?} should be refused"
            );
        }
        assert!(matches!(
            check_strength(&password("Alice_Wonder"), "alice_wonder"),
            Err(ChatError::InvalidPassword(PasswordRule::SameAsUsername))
        ));
        for fine in [
            "correct horse battery",
            "tangerine lighthouse 42",
            "Wq8#pz!0vR",
        ] {
            assert!(
                check_strength(&password(fine), "alice").is_ok(),
                "{fine:?} should pass"
            );
        }
    }
}

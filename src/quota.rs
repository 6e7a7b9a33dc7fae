//! Per-key rate limits (governor's GCRA), refused with [`ChatError::RateLimited`] and how long
//! to wait. Used for the send quota (per user) and for sign-in attempts (per username).

use std::hash::Hash;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, RateLimiter};

use crate::error::ChatError;

/// Keys whose allowance has refilled are forgotten once the table grows past this.
const FORGET_ABOVE: usize = 10_000;

/// An allowance per key; no limit at all when built from `None`.
pub(crate) struct Quota<K: Hash + Eq + Clone>(Option<DefaultKeyedRateLimiter<K>>);

impl<K: Hash + Eq + Clone> Quota<K> {
    pub(crate) fn new(rate: Option<governor::Quota>) -> Self {
        Self(rate.map(RateLimiter::keyed))
    }

    /// Counts one use by `key`, or says how long it must wait.
    pub(crate) fn check(&self, key: &K) -> Result<(), ChatError> {
        let Some(limiter) = &self.0 else {
            return Ok(());
        };
        limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ChatError::RateLimited {
                retry_after_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            }
        })?;
        if limiter.len() > FORGET_ABOVE {
            limiter.retain_recent();
        }
        Ok(())
    }
}

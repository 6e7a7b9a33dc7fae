//! Rate limits (GCRA), refused with [`ChatError::RateLimited`] and how long to wait. Used for
//! the send quota, new conversations, and sign-in and sign-up attempts.
//!
//! With several nodes each limit is counted for all of them at once through a
//! [`SharedLimiter`] (Redis, on its own clock). While that is out of reach — an error, or no
//! answer within 50 ms — each node counts on its own, as a single node does: a limit is never
//! the reason a request fails or waits.

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::future::BoxFuture;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, RateLimiter};

use crate::error::ChatError;
use crate::relay::BusError;

/// Keys whose allowance has refilled are forgotten once the table grows past this.
const FORGET_ABOVE: usize = 10_000;
/// How long a request waits for the shared count before counting locally.
const SHARED_WAIT: Duration = Duration::from_millis(50);

/// Counts uses for every node at once.
pub trait SharedLimiter: Send + Sync + 'static {
    /// Counts one use of `key` under a GCRA that allows one use per `interval`, `burst` at
    /// once: `Ok(None)` allowed, `Ok(Some(wait))` refused for `wait`, `Err` out of reach.
    fn check(
        &self,
        key: String,
        interval: Duration,
        burst: u32,
    ) -> BoxFuture<'_, Result<Option<Duration>, BusError>>;
}

/// Where the shared limiter goes once the node has one (set at start-up, read per check).
pub(crate) type SharedSlot = Arc<OnceLock<Arc<dyn SharedLimiter>>>;

/// An allowance per key; no limit at all when built from `None`.
pub(crate) struct Quota<K: Hash + Eq + Clone> {
    /// The limit's name in the shared store.
    name: &'static str,
    rate: Option<governor::Quota>,
    local: Option<DefaultKeyedRateLimiter<K>>,
    shared: SharedSlot,
}

impl<K: Hash + Eq + Clone + Debug> Quota<K> {
    pub(crate) fn new(
        name: &'static str,
        rate: Option<governor::Quota>,
        shared: SharedSlot,
    ) -> Self {
        Self {
            name,
            rate,
            local: rate.map(RateLimiter::keyed),
            shared,
        }
    }

    /// Counts one use by `key`, or says how long it must wait.
    pub(crate) async fn check(&self, key: &K) -> Result<(), ChatError> {
        let (Some(rate), Some(local)) = (self.rate, &self.local) else {
            return Ok(());
        };
        if let Some(shared) = self.shared.get() {
            let counted = tokio::time::timeout(
                SHARED_WAIT,
                shared.check(
                    format!("natter:limit:{}:{key:?}", self.name),
                    rate.replenish_interval(),
                    rate.burst_size().get(),
                ),
            )
            .await;
            match counted {
                Ok(Ok(None)) => return Ok(()),
                Ok(Ok(Some(wait))) => {
                    return Err(ChatError::RateLimited {
                        retry_after_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    });
                }
                Ok(Err(_)) | Err(_) => {}
            }
        }
        local.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ChatError::RateLimited {
                retry_after_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            }
        })?;
        if local.len() > FORGET_ABOVE {
            local.retain_recent();
        }
        Ok(())
    }
}

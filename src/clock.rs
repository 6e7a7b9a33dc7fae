//! Time as the core counts it: Unix milliseconds, read from a clock that tests can hold still
//! and move by hand (token and session expiry are tested without waiting).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use time::OffsetDateTime;

/// A point in time in Unix milliseconds: the unit of every stored timestamp.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixMillis(pub i64);

impl UnixMillis {
    /// `d` later (saturating).
    pub fn plus(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        )
    }

    /// `d` earlier (saturating).
    pub fn minus(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        )
    }

    /// How long from `now` until this time (zero if it has passed).
    pub fn after(self, now: Self) -> Duration {
        Duration::from_millis(u64::try_from(self.0 - now.0).unwrap_or(0))
    }

    /// Whole seconds (JWT's unit), rounded down.
    pub fn secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    pub fn from_secs(secs: i64) -> Self {
        Self(secs.saturating_mul(1000))
    }

    pub fn to_datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// Where the core reads the time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> UnixMillis;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixMillis {
        system_now()
    }
}

/// The wall clock, now.
pub fn system_now() -> UnixMillis {
    UnixMillis((OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64)
}

/// A clock that stands still until moved (for tests).
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// Starts at the wall clock's time.
    pub fn new() -> Self {
        Self(Arc::new(AtomicI64::new(system_now().0)))
    }

    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(
            i64::try_from(by.as_millis()).unwrap_or(i64::MAX),
            Ordering::SeqCst,
        );
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixMillis {
        UnixMillis(self.0.load(Ordering::SeqCst))
    }
}

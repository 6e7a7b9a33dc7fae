//! How often a client may try to sign in or sign up, checked before any password work.
//!
//! Sign-in (issue 9, row 7):
//! - per client address across usernames (`login_address_per_minute`): one client spraying
//!   guesses over many accounts is slowed;
//! - per (username, address) (`login_per_minute`): one client guessing one account is slowed,
//!   while the account's owner, on another client, is not locked out by it;
//! - per username, failures only, from every address (`login_name_failures` in
//!   [`FAILURE_WINDOW`]): once an account has drawn that many failures, the clients among them
//!   are held off for the rest of the window. A client that has not been failing on it — the
//!   owner's — still gets in: a distributed guesser cannot lock the owner out, and each of its
//!   addresses gets at most one more guess per window.
//!
//! Sign-up: per client address and in total, per hour.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::ChatError;
use crate::quota::{Quota, SharedSlot};
use crate::sync::lock;

/// How long an account's sign-in failures are remembered.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Usernames whose failures are remembered at once; past it, the oldest are forgotten.
const MAX_NAMES: usize = 100_000;

/// The network address a request came from (the peer, or the client a trusted proxy names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// For callers with no network peer (tests, tools).
    pub const LOCAL: Self = Self(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));

    /// The key the limits count by: the address itself for IPv4, its /64 network for IPv6
    /// (one subscriber commonly holds a whole /64).
    fn key(self) -> IpAddr {
        match self.0 {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let mut segments = v6.segments();
                    segments[4..].fill(0);
                    IpAddr::V6(segments.into())
                }
            },
        }
    }
}

impl std::fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The limits, each 0 for none.
#[derive(Clone, Debug)]
pub struct ThrottleConfig {
    /// Sign-in attempts per minute for one username from one address (also the burst).
    pub login_per_minute: u32,
    /// Sign-in attempts per minute from one address, whatever the usernames (also the burst).
    pub login_address_per_minute: u32,
    /// Failed sign-ins on one username, from anywhere, within [`FAILURE_WINDOW`] before the
    /// failing clients are held off.
    pub login_name_failures: u32,
    /// Sign-ups per hour from one address (also the burst).
    pub signup_per_hour: u32,
    /// Sign-ups per hour in total (also the burst).
    pub signup_total_per_hour: u32,
}

pub(crate) struct Throttle {
    login_pair: Quota<(String, IpAddr)>,
    login_address: Quota<IpAddr>,
    failures: Mutex<Failures>,
    signup_address: Quota<IpAddr>,
    signup_total: Quota<()>,
}

impl Throttle {
    pub(crate) fn new(config: &ThrottleConfig, shared: SharedSlot) -> Self {
        let per_minute = |n| NonZeroU32::new(n).map(governor::Quota::per_minute);
        let per_hour = |n| NonZeroU32::new(n).map(governor::Quota::per_hour);
        Self {
            login_pair: Quota::new("login", per_minute(config.login_per_minute), shared.clone()),
            login_address: Quota::new(
                "login-address",
                per_minute(config.login_address_per_minute),
                shared.clone(),
            ),
            failures: Mutex::new(Failures {
                limit: config.login_name_failures as usize,
                names: HashMap::new(),
            }),
            signup_address: Quota::new(
                "signup-address",
                per_hour(config.signup_per_hour),
                shared.clone(),
            ),
            signup_total: Quota::new("signup", per_hour(config.signup_total_per_hour), shared),
        }
    }

    /// Counts a sign-in attempt on `name` (as typed) from `client`, or refuses it.
    pub(crate) async fn before_login(
        &self,
        name: &str,
        client: ClientAddr,
    ) -> Result<(), ChatError> {
        let address = client.key();
        self.login_address.check(&address).await?;
        self.login_pair.check(&(name_key(name), address)).await?;
        lock(&self.failures).check(&name_key(name), address)
    }

    /// Remembers a failed sign-in on `name` from `client`.
    pub(crate) fn login_failed(&self, name: &str, client: ClientAddr) {
        lock(&self.failures).record(name_key(name), client.key());
    }

    /// Counts a sign-up from `client`, or refuses it.
    pub(crate) async fn before_signup(&self, client: ClientAddr) -> Result<(), ChatError> {
        self.signup_address.check(&client.key()).await?;
        self.signup_total.check(&()).await
    }
}

/// The key a typed username is counted under: trimmed, lower-case, bounded.
fn name_key(name: &str) -> String {
    name.trim()
        .chars()
        .take(64)
        .collect::<String>()
        .to_lowercase()
}

/// Recent sign-in failures per username, each with the address it came from.
struct Failures {
    limit: usize,
    names: HashMap<String, VecDeque<(Instant, IpAddr)>>,
}

impl Failures {
    fn check(&mut self, name: &str, address: IpAddr) -> Result<(), ChatError> {
        if self.limit == 0 {
            return Ok(());
        }
        let Some(recent) = self.names.get_mut(name) else {
            return Ok(());
        };
        let now = Instant::now();
        forget_old(recent, now);
        if recent.len() < self.limit || !recent.iter().any(|(_, a)| *a == address) {
            return Ok(());
        }
        // Held off until the oldest remembered failure leaves the window.
        let until = recent.front().map_or(now, |(at, _)| *at + FAILURE_WINDOW);
        Err(ChatError::RateLimited {
            retry_after_ms: u64::try_from(until.saturating_duration_since(now).as_millis())
                .unwrap_or(u64::MAX),
        })
    }

    fn record(&mut self, name: String, address: IpAddr) {
        if self.limit == 0 {
            return;
        }
        let now = Instant::now();
        if self.names.len() >= MAX_NAMES && !self.names.contains_key(&name) {
            self.names.retain(|_, recent| {
                forget_old(recent, now);
                !recent.is_empty()
            });
            if self.names.len() >= MAX_NAMES {
                // Still full of live entries: this dimension forgets rather than grows; the
                // per-address limits still hold.
                self.names.clear();
            }
        }
        let recent = self.names.entry(name).or_default();
        forget_old(recent, now);
        recent.push_back((now, address));
        while recent.len() > self.limit {
            recent.pop_front();
        }
    }
}

fn forget_old(recent: &mut VecDeque<(Instant, IpAddr)>, now: Instant) {
    while recent
        .front()
        .is_some_and(|(at, _)| now.duration_since(*at) >= FAILURE_WINDOW)
    {
        recent.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> ClientAddr {
        ClientAddr(text.parse().unwrap())
    }

    fn config() -> ThrottleConfig {
        ThrottleConfig {
            login_per_minute: 0,
            login_address_per_minute: 0,
            login_name_failures: 3,
            signup_per_hour: 2,
            signup_total_per_hour: 3,
        }
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_network_and_mapped_v4_as_v4() {
        assert_eq!(
            addr("2001:db8:1:2:aaaa::1").key(),
            addr("2001:db8:1:2:bbbb::2").key()
        );
        assert_ne!(addr("2001:db8:1:2::1").key(), addr("2001:db8:1:3::1").key());
        assert_eq!(addr("::ffff:10.0.0.1").key(), addr("10.0.0.1").key());
    }

    #[tokio::test]
    async fn an_account_under_attack_holds_off_the_failing_clients_but_not_a_clean_one() {
        let throttle = Throttle::new(&config(), SharedSlot::default());
        for attacker in ["10.0.0.1", "10.0.0.2", "10.0.0.3"] {
            throttle
                .before_login("Alice", addr(attacker))
                .await
                .unwrap();
            throttle.login_failed("Alice", addr(attacker));
        }
        assert!(matches!(
            throttle.before_login("alice", addr("10.0.0.2")).await,
            Err(ChatError::RateLimited { retry_after_ms }) if retry_after_ms > 0
        ));
        throttle
            .before_login("alice", addr("192.0.2.7"))
            .await
            .unwrap();
        throttle
            .before_login("bob", addr("10.0.0.2"))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn sign_ups_are_limited_per_address_and_in_total() {
        let throttle = Throttle::new(&config(), SharedSlot::default());
        throttle.before_signup(addr("10.0.0.1")).await.unwrap();
        throttle.before_signup(addr("10.0.0.1")).await.unwrap();
        assert!(throttle.before_signup(addr("10.0.0.1")).await.is_err());
        throttle.before_signup(addr("10.0.0.2")).await.unwrap();
        assert!(throttle.before_signup(addr("10.0.0.3")).await.is_err());
    }
}

//! How long the socket waits before its next connection attempt: exponential growth from a
//! short first delay up to a ceiling, with "equal jitter" (half fixed, half random) so that
//! many tabs dropped by one server restart do not all come back in the same instant.

/// Reconnect delays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first retry's delay.
    pub first_ms: u32,
    /// No delay exceeds this.
    pub max_ms: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            first_ms: 1_000,
            max_ms: 30_000,
        }
    }
}

impl Backoff {
    /// The delay before retry number `attempt` (1 for the first retry), given a uniform
    /// random number in `[0, 1)`: between half the ceiling and the ceiling, where the
    /// ceiling doubles each attempt up to `max_ms`.
    pub fn delay_ms(&self, attempt: u32, random: f64) -> u32 {
        let doublings = attempt.saturating_sub(1).min(16);
        let ceiling = self
            .first_ms
            .saturating_mul(1 << doublings)
            .min(self.max_ms);
        let half = ceiling / 2;
        let jitter = (f64::from(ceiling - half) * random.clamp(0.0, 1.0)) as u32;
        (half + jitter).min(ceiling)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_ceiling_and_stay_within_jitter_bounds() {
        let backoff = Backoff::default();
        assert_eq!(backoff.delay_ms(1, 0.0), 500);
        assert_eq!(backoff.delay_ms(1, 0.999_999), 999);
        assert_eq!(backoff.delay_ms(2, 0.0), 1_000);
        assert_eq!(backoff.delay_ms(3, 0.5), 3_000);
        assert_eq!(backoff.delay_ms(10, 0.0), 15_000);
        assert_eq!(backoff.delay_ms(10, 1.0), 30_000);
        assert_eq!(backoff.delay_ms(u32::MAX, 1.0), 30_000);
    }

    #[test]
    fn jitter_spreads_tabs_that_retry_together() {
        let backoff = Backoff::default();
        let delays: Vec<u32> = [0.1, 0.4, 0.7]
            .iter()
            .map(|r| backoff.delay_ms(4, *r))
            .collect();
        assert!(delays.windows(2).all(|w| w[0] < w[1]), "{delays:?}");
    }
}

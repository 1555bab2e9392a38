//! When to try a request again, and how long to wait first.

use std::time::Duration;

use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How often and how patiently a request is retried.
///
/// Waits use exponential backoff with full jitter: before retry `n` the client sleeps a
/// uniformly random time between zero and `min(max_delay, base_delay * 2^(n-1))`, which
/// spreads out clients that failed together. A 429 that names a `Retry-After` waits exactly
/// that long instead, capped at `max_delay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; `0` behaves as `1`.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 5, base_delay: Duration::from_millis(200), max_delay: Duration::from_secs(10) }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn never() -> Self {
        Self { max_attempts: 1, ..Self::default() }
    }

    pub(crate) fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }

    /// The longest wait before retry number `retry` (1 for the first retry).
    pub(crate) fn backoff_ceiling(&self, retry: u32) -> Duration {
        // 2^31 times any sensible base delay is past any sensible cap already.
        let doubling = 1_u32 << retry.saturating_sub(1).min(31);
        self.base_delay.saturating_mul(doubling).min(self.max_delay)
    }

    /// The wait before retry number `retry`: full jitter below the backoff ceiling.
    pub(crate) fn backoff(&self, retry: u32, random: &mut impl Rng) -> Duration {
        let ceiling = self.backoff_ceiling(retry);
        let ceiling_nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(random.random_range(0..=ceiling_nanos))
    }

    /// The wait before retrying a throttled (429) request: what Twilio asked for, capped,
    /// or the usual backoff when it did not say.
    pub(crate) fn throttled_delay(&self, retry_after: Option<Duration>, retry: u32, random: &mut impl Rng) -> Duration {
        match retry_after {
            Some(asked) => asked.min(self.max_delay),
            None => self.backoff(retry, random),
        }
    }
}

/// `Retry-After` in whole seconds. The HTTP-date form is not used by Twilio; it falls back to
/// the usual backoff.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds = headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse::<u64>().ok()?;
    Some(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use reqwest::header::HeaderValue;

    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy { max_attempts: 5, base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(1) }
    }

    #[test]
    fn ceiling_doubles_until_the_cap() {
        let ceilings: Vec<_> = (1..=6).map(|retry| policy().backoff_ceiling(retry)).collect();
        assert_eq!(
            ceilings,
            [100, 200, 400, 800, 1000, 1000].map(Duration::from_millis),
            "100 ms doubling, capped at 1 s"
        );
        assert_eq!(policy().backoff_ceiling(u32::MAX), Duration::from_secs(1), "no overflow");
    }

    #[test]
    fn backoff_is_jittered_below_the_ceiling() {
        let mut random = StdRng::seed_from_u64(7);
        for retry in 1..=6 {
            let delays: Vec<_> = (0..200).map(|_| policy().backoff(retry, &mut random)).collect();
            let ceiling = policy().backoff_ceiling(retry);
            assert!(delays.iter().all(|delay| *delay <= ceiling), "retry {retry} over {ceiling:?}");
            let distinct: std::collections::BTreeSet<_> = delays.iter().collect();
            assert!(distinct.len() > 100, "retry {retry}: delays are spread, not fixed");
            assert!(delays.iter().any(|delay| *delay < ceiling / 2), "full jitter reaches low values");
        }
    }

    #[test]
    fn throttled_delay_honours_retry_after_up_to_the_cap() {
        let mut random = StdRng::seed_from_u64(7);
        let asked = Duration::from_millis(700);
        assert_eq!(policy().throttled_delay(Some(asked), 1, &mut random), asked);
        assert_eq!(policy().throttled_delay(Some(Duration::from_secs(60)), 1, &mut random), Duration::from_secs(1));
        let unasked = policy().throttled_delay(None, 3, &mut random);
        assert!(unasked <= policy().backoff_ceiling(3));
    }

    #[test]
    fn retry_after_reads_whole_seconds_only() {
        let parse = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(RETRY_AFTER, HeaderValue::from_static(value));
            retry_after(&headers)
        };
        assert_eq!(parse("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse(" 0 "), Some(Duration::ZERO));
        assert_eq!(parse("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse("-1"), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn zero_attempts_still_sends_once() {
        assert_eq!(RetryPolicy { max_attempts: 0, ..policy() }.attempts(), 1);
        assert_eq!(RetryPolicy::never().attempts(), 1);
    }
}

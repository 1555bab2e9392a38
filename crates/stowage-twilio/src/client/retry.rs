//! When to try a request again, and how long to wait first.

use std::time::Duration;

use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How often and how patiently a request is retried.
///
/// Two kinds of failure are retried, each with its own bound. A throttled request (429: the
/// account is over its API concurrency, and Twilio did not act on the request) is sent again
/// whatever it is, up to `max_throttled_attempts` times in all and for at most
/// `throttled_budget` of waiting. A request whose fate is unknown (a 5xx, a timeout, a broken
/// connection) is sent again only if sending it twice is harmless (see
/// [`Operation::is_idempotent`](super::Operation::is_idempotent)), up to `max_attempts` times.
///
/// Waits use exponential backoff with full jitter: before retry `n` the client sleeps a
/// uniformly random time between zero and `min(max_delay, base_delay * 2^(n-1))`, which
/// spreads out clients that failed together. A 429 that names a `Retry-After` waits exactly
/// that long instead, capped at `max_delay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included, of a request whose fate was unknown; `0` behaves
    /// as `1`.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// Attempts in all, the first included, of a request Twilio keeps throttling; `0`
    /// behaves as `1`.
    pub max_throttled_attempts: u32,
    /// The longest a request waits in all between throttled attempts: a wait that would go
    /// past it is not begun, and the 429 is the answer.
    pub throttled_budget: Duration,
}

impl Default for RetryPolicy {
    /// 5 attempts for a failure, 8 for throttling within 30 s of waiting; waits from 200 ms
    /// doubling up to 10 s.
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_throttled_attempts: 8,
            throttled_budget: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries, not even when throttled.
    pub fn never() -> Self {
        Self { max_attempts: 1, max_throttled_attempts: 1, ..Self::default() }
    }

    pub(crate) fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }

    pub(crate) fn throttled_attempts(&self) -> u32 {
        self.max_throttled_attempts.max(1)
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

/// What one call has gone through so far, to decide whether it may try again.
#[derive(Debug, Default)]
pub(crate) struct Tries {
    /// Failed attempts whose fate was unknown (5xx, timeout, broken connection).
    failed: u32,
    /// Attempts answered 429.
    throttled: u32,
    /// Time waited before throttled retries so far.
    throttled_wait: Duration,
}

impl Tries {
    /// The wait before retrying after the latest attempt failed with its fate unknown, or
    /// `None` once `max_attempts` attempts have failed so.
    pub(crate) fn after_failure(&mut self, policy: &RetryPolicy, random: &mut impl Rng) -> Option<Duration> {
        self.failed += 1;
        (self.failed < policy.attempts()).then(|| policy.backoff(self.failed, random))
    }

    /// The wait before retrying after the latest attempt was throttled, or `None` once
    /// `max_throttled_attempts` were, or when the wait would overrun the throttled budget.
    pub(crate) fn after_throttling(
        &mut self,
        policy: &RetryPolicy,
        retry_after: Option<Duration>,
        random: &mut impl Rng,
    ) -> Option<Duration> {
        self.throttled += 1;
        if self.throttled >= policy.throttled_attempts() {
            return None;
        }
        let delay = policy.throttled_delay(retry_after, self.throttled, random);
        let waited = self.throttled_wait.saturating_add(delay);
        if waited > policy.throttled_budget {
            return None;
        }
        self.throttled_wait = waited;
        Some(delay)
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
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_throttled_attempts: 8,
            throttled_budget: Duration::from_secs(3),
        }
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
        assert_eq!(RetryPolicy { max_throttled_attempts: 0, ..policy() }.throttled_attempts(), 1);
        assert_eq!(RetryPolicy::never().attempts(), 1);
        assert_eq!(RetryPolicy::never().throttled_attempts(), 1);
    }

    #[test]
    fn failures_are_retried_up_to_max_attempts() {
        let mut random = StdRng::seed_from_u64(7);
        let mut tries = Tries::default();
        let waits: Vec<_> = (0..6).map(|_| tries.after_failure(&policy(), &mut random)).collect();
        assert!(waits[..4].iter().all(Option::is_some), "{waits:?}");
        assert_eq!(waits[4..], [None, None], "the fifth failed attempt is the last");
    }

    #[test]
    fn throttling_is_retried_up_to_its_own_attempts() {
        let mut random = StdRng::seed_from_u64(7);
        let mut tries = Tries::default();
        for _ in 0..4 {
            assert!(tries.after_failure(&policy(), &mut random).is_some());
        }
        let waits: Vec<_> = (0..8).map(|_| tries.after_throttling(&policy(), None, &mut random)).collect();
        assert!(waits[..7].iter().all(Option::is_some), "failures do not use up throttled attempts: {waits:?}");
        assert_eq!(waits[7], None, "the eighth throttled attempt is the last");
        assert!(
            waits.iter().flatten().enumerate().all(|(retry, wait)| *wait <= policy().backoff_ceiling(retry as u32 + 1)),
            "exponential backoff with jitter: {waits:?}"
        );
    }

    #[test]
    fn throttled_waits_stop_at_the_budget() {
        let mut random = StdRng::seed_from_u64(7);
        let mut tries = Tries::default();
        let asked = Some(Duration::from_millis(900));
        let waits: Vec<_> = (0..5).map(|_| tries.after_throttling(&policy(), asked, &mut random)).collect();
        let ms = Duration::from_millis;
        assert_eq!(
            waits,
            [Some(ms(900)), Some(ms(900)), Some(ms(900)), None, None],
            "3 s budget: a fourth wait overruns it"
        );
    }
}

//! How many requests may be in flight per account: a limit that adapts to Twilio's answers,
//! so that a fleet of accounts slows down instead of failing.
//!
//! Twilio limits how many requests an account may have in flight at once (its API
//! concurrency) and answers 429 with code 20429 to one over the limit, without acting on it.
//! Each account the client authenticates as (each Basic user name: an account SID or an API
//! key SID) has its own limit, adjusted additive-increase, multiplicative-decrease (AIMD): it
//! starts at [`INITIAL_LIMIT`], halves on a 429 (floor 1), and grows by one after as many
//! requests in a row as the limit allows were answered without one (up to [`MAX_LIMIT`]).
//! Requests that were already in flight when the limit halved may still come back 429: the
//! limit halves once for them, not once each.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::{Semaphore, SemaphorePermit};

/// Requests in flight per account at first: the CLI's default `--parallelism`.
pub(crate) const INITIAL_LIMIT: usize = 16;
/// The most requests in flight per account, however well Twilio answers.
pub(crate) const MAX_LIMIT: usize = 64;

/// What a request's answer says about the account's load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// 429: over the account's concurrency limit.
    Throttled,
    /// Answered, throttled or not: Twilio had room for it.
    Answered,
    /// Nothing to learn: a server error, a timeout, a broken connection, or the request was
    /// given up on before it was answered.
    Nothing,
}

/// The arithmetic of the limit, apart from the permits that enforce it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Aimd {
    limit: usize,
    max: usize,
    /// Requests answered without a 429 since the limit last changed.
    answered: usize,
    /// Bumped at every decrease; a permit remembers the one it was taken in, so the 429s of
    /// requests sent before a decrease do not decrease the limit again.
    generation: u64,
}

/// How the limit moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Decreased(usize),
    Increased,
    None,
}

impl Aimd {
    fn new(initial: usize, max: usize) -> Self {
        let max = max.max(1);
        Self { limit: initial.clamp(1, max), max, answered: 0, generation: 0 }
    }

    /// Learns from the answer to a request sent in `generation`.
    fn observe(&mut self, signal: Signal, generation: u64) -> Change {
        match signal {
            Signal::Throttled if generation == self.generation => {
                let halved = (self.limit / 2).max(1);
                let by = self.limit - halved;
                self.limit = halved;
                self.answered = 0;
                self.generation += 1;
                if by == 0 { Change::None } else { Change::Decreased(by) }
            }
            Signal::Throttled | Signal::Nothing => Change::None,
            Signal::Answered => {
                self.answered += 1;
                if self.answered >= self.limit && self.limit < self.max {
                    self.limit += 1;
                    self.answered = 0;
                    Change::Increased
                } else {
                    Change::None
                }
            }
        }
    }
}

/// One account's limit: a semaphore holding as many permits as the limit allows.
#[derive(Debug)]
pub(crate) struct AdaptiveLimit {
    semaphore: Semaphore,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    aimd: Aimd,
    /// Permits in circulation beyond the limit (held when it decreased): each is destroyed
    /// when it comes back instead of being released.
    excess: usize,
}

impl AdaptiveLimit {
    pub(crate) fn new(initial: usize, max: usize) -> Self {
        let aimd = Aimd::new(initial, max);
        Self { semaphore: Semaphore::new(aimd.limit), state: Mutex::new(State { aimd, excess: 0 }) }
    }

    /// Waits until one more request may be in flight. The permit goes back when dropped;
    /// [`Permit::finish`] says what the answer taught.
    pub(crate) async fn acquire(&self) -> Permit<'_> {
        // The semaphore is never closed, so this always gives a permit.
        let permit = self.semaphore.acquire().await.ok();
        let generation = self.lock().aimd.generation;
        Permit { limit: self, permit, generation, signal: Signal::Nothing }
    }

    /// The current limit.
    pub(crate) fn current(&self) -> usize {
        self.lock().aimd.limit
    }

    fn release(&self, permit: Option<SemaphorePermit<'_>>, signal: Signal, generation: u64) {
        let mut state = self.lock();
        match state.aimd.observe(signal, generation) {
            Change::Decreased(by) => state.excess += by,
            Change::Increased if state.excess > 0 => state.excess -= 1,
            Change::Increased => self.semaphore.add_permits(1),
            Change::None => {}
        }
        if let Some(permit) = permit {
            if state.excess > 0 {
                permit.forget();
                state.excess -= 1;
            } else {
                drop(permit);
            }
        }
        if state.excess > 0 {
            let forgotten = self.semaphore.forget_permits(state.excess);
            state.excess -= forgotten;
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Plain numbers: a panic elsewhere leaves them usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Leave to have one request in flight. Dropped without [`Permit::finish`] (the request was
/// given up on), it goes back teaching nothing.
#[derive(Debug)]
pub(crate) struct Permit<'a> {
    limit: &'a AdaptiveLimit,
    permit: Option<SemaphorePermit<'a>>,
    generation: u64,
    signal: Signal,
}

impl Permit<'_> {
    /// Gives the permit back with what the request's answer says.
    pub(crate) fn finish(mut self, signal: Signal) {
        self.signal = signal;
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.limit.release(self.permit.take(), self.signal, self.generation);
    }
}

/// The limits of every account a client and its clones authenticate as, by Basic user name.
#[derive(Debug, Default)]
pub(crate) struct Limits {
    by_user: Mutex<HashMap<String, Arc<AdaptiveLimit>>>,
}

impl Limits {
    /// The limit of the account `user` authenticates as, made on first use.
    pub(crate) fn of(&self, user: &str) -> Arc<AdaptiveLimit> {
        let mut by_user = self.by_user.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            by_user.entry(user.to_owned()).or_insert_with(|| Arc::new(AdaptiveLimit::new(INITIAL_LIMIT, MAX_LIMIT))),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_429_halves_the_limit_down_to_one() {
        let mut aimd = Aimd::new(16, 64);
        let mut limits = Vec::new();
        for _ in 0..6 {
            let generation = aimd.generation;
            aimd.observe(Signal::Throttled, generation);
            limits.push(aimd.limit);
        }
        assert_eq!(limits, [8, 4, 2, 1, 1, 1]);
    }

    #[test]
    fn the_429s_of_one_burst_halve_the_limit_once() {
        let mut aimd = Aimd::new(16, 64);
        let sent_in = aimd.generation;
        let changes: Vec<_> = (0..10).map(|_| aimd.observe(Signal::Throttled, sent_in)).collect();
        assert_eq!(changes[0], Change::Decreased(8));
        assert!(changes[1..].iter().all(|change| *change == Change::None), "{changes:?}");
        assert_eq!(aimd.limit, 8);
        assert_eq!(aimd.observe(Signal::Throttled, aimd.generation), Change::Decreased(4), "a later 429 counts");
    }

    #[test]
    fn a_run_of_answers_as_long_as_the_limit_adds_one() {
        let mut aimd = Aimd::new(2, 4);
        let mut limits = Vec::new();
        for _ in 0..12 {
            aimd.observe(Signal::Answered, aimd.generation);
            limits.push(aimd.limit);
        }
        assert_eq!(limits, [2, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4], "+1 after 2, then after 3; capped at 4");
        let mut aimd = Aimd::new(4, 8);
        for _ in 0..3 {
            aimd.observe(Signal::Answered, aimd.generation);
        }
        aimd.observe(Signal::Throttled, aimd.generation);
        aimd.observe(Signal::Answered, aimd.generation);
        assert_eq!((aimd.limit, aimd.answered), (2, 1), "a 429 restarts the run");
        aimd.observe(Signal::Nothing, aimd.generation);
        assert_eq!((aimd.limit, aimd.answered), (2, 1), "errors teach nothing");
    }

    #[test]
    fn start_and_cap_are_at_least_one() {
        assert_eq!(Aimd::new(0, 0).limit, 1);
        assert_eq!(Aimd::new(100, 8).limit, 8);
    }

    #[tokio::test]
    async fn permits_follow_the_limit() {
        let limit = AdaptiveLimit::new(4, 8);
        let [first, second, third] = [limit.acquire().await, limit.acquire().await, limit.acquire().await];
        assert_eq!(limit.semaphore.available_permits(), 1);
        first.finish(Signal::Throttled);
        assert_eq!(limit.current(), 2);
        assert_eq!(limit.semaphore.available_permits(), 0, "two still held: the limit is reached");
        second.finish(Signal::Throttled);
        assert_eq!(limit.current(), 2, "sent before the decrease: not counted again");
        assert_eq!(limit.semaphore.available_permits(), 1);
        drop(third);
        assert_eq!(limit.semaphore.available_permits(), 2, "given up on: released, nothing learnt");
        let burst = [limit.acquire().await, limit.acquire().await];
        let third = tokio::time::timeout(Duration::from_millis(20), limit.acquire()).await;
        assert!(third.is_err(), "a third request waits while two are in flight");
        for permit in burst {
            permit.finish(Signal::Answered);
        }
        assert_eq!(limit.current(), 3, "two answered in a row at a limit of two");
        assert_eq!(limit.semaphore.available_permits(), 3);
    }

    #[tokio::test]
    async fn a_waiting_request_goes_once_a_permit_is_back() {
        let limit = Arc::new(AdaptiveLimit::new(1, 1));
        let first = limit.acquire().await;
        let waiting = tokio::spawn({
            let limit = Arc::clone(&limit);
            async move {
                limit.acquire().await.finish(Signal::Answered);
            }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiting.is_finished());
        first.finish(Signal::Answered);
        tokio::time::timeout(Duration::from_secs(5), waiting).await.expect("went").expect("no panic");
    }

    #[test]
    fn each_user_has_its_own_limit() {
        let limits = Limits::default();
        let main = limits.of("AC1");
        assert!(Arc::ptr_eq(&main, &limits.of("AC1")));
        assert!(!Arc::ptr_eq(&main, &limits.of("AC2")));
        assert_eq!(main.current(), INITIAL_LIMIT);
    }
}

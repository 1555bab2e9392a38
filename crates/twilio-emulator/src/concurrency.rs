//! Twilio's concurrency limit: how many API requests an account may have in flight at once.
//! A request beyond it is answered at once with 429, code 20429 ("Too Many Requests"), and is
//! never processed ("An API Request that receives an error 429 response is never processed
//! and is always safe to retry"). Twilio sends no `Retry-After` with it.
//!
//! Requests are counted per account family, a main account with all its subaccounts: Twilio's
//! limit is the account's, and the emulator conservatively makes subaccounts share their
//! owner's. Only authenticated requests count (the family is known then).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::PoisonError;

use tokio::sync::watch;

#[derive(Debug)]
pub(crate) struct Concurrency {
    limit: Mutex<Option<usize>>,
    /// Requests in flight per family (main account SID); absent means none.
    in_flight: watch::Sender<HashMap<String, usize>>,
}

/// A request's place among its family's requests in flight, given back when dropped.
#[derive(Debug)]
pub(crate) struct InFlight<'a> {
    concurrency: &'a Concurrency,
    family: String,
}

impl Concurrency {
    pub fn new(limit: Option<usize>) -> Self {
        Self { limit: Mutex::new(limit), in_flight: watch::Sender::new(HashMap::new()) }
    }

    pub fn limit(&self) -> Option<usize> {
        *self.limit.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn set_limit(&self, limit: Option<usize>) {
        *self.limit.lock().unwrap_or_else(PoisonError::into_inner) = limit;
    }

    /// A place for one more request of `family`, or `None` when the limit is reached.
    pub fn enter(&self, family: &str) -> Option<InFlight<'_>> {
        let limit = self.limit();
        let mut entered = false;
        self.in_flight.send_if_modified(|in_flight| {
            let count = in_flight.entry(family.to_owned()).or_default();
            entered = limit.is_none_or(|limit| *count < limit);
            if entered {
                *count += 1;
            } else if *count == 0 {
                in_flight.remove(family);
            }
            entered
        });
        entered.then(|| InFlight { concurrency: self, family: family.to_owned() })
    }

    /// How many requests of `family` are in flight.
    pub fn in_flight(&self, family: &str) -> usize {
        self.in_flight.borrow().get(family).copied().unwrap_or(0)
    }

    /// Waits until at least `count` requests of `family` are in flight.
    pub async fn in_flight_reaches(&self, family: &str, count: usize) {
        let mut receiver = self.in_flight.subscribe();
        // The sender lives as long as `self`, so the wait ends only by the condition.
        let _ = receiver.wait_for(|in_flight| in_flight.get(family).copied().unwrap_or(0) >= count).await;
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.concurrency.in_flight.send_modify(|in_flight| {
            if let Some(count) = in_flight.get_mut(&self.family) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    in_flight.remove(&self.family);
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_family_enters_up_to_the_limit_and_leaves_places_behind() {
        let concurrency = Concurrency::new(Some(2));
        let first = concurrency.enter("AC1").expect("a place");
        let second = concurrency.enter("AC1").expect("a place");
        assert!(concurrency.enter("AC1").is_none(), "the limit is reached");
        let other = concurrency.enter("AC2").expect("another family has its own places");
        assert_eq!(concurrency.in_flight("AC1"), 2);
        drop(first);
        assert_eq!(concurrency.in_flight("AC1"), 1);
        let third = concurrency.enter("AC1").expect("a place was given back");
        drop((second, third, other));
        assert_eq!(concurrency.in_flight("AC1"), 0);
        assert!(concurrency.in_flight.borrow().is_empty());
    }

    #[test]
    fn no_limit_lets_everything_in_and_zero_nothing() {
        let concurrency = Concurrency::new(None);
        let places: Vec<InFlight<'_>> = (0..100).map(|_| concurrency.enter("AC1").unwrap()).collect();
        assert_eq!(concurrency.in_flight("AC1"), 100);
        concurrency.set_limit(Some(0));
        assert!(concurrency.enter("AC1").is_none());
        assert!(concurrency.enter("AC2").is_none());
        assert_eq!(concurrency.limit(), Some(0));
        drop(places);
        assert!(concurrency.in_flight.borrow().is_empty());
    }

    #[tokio::test]
    async fn waiting_for_requests_in_flight_ends_when_they_are() {
        let concurrency = Concurrency::new(None);
        let _first = concurrency.enter("AC1").unwrap();
        concurrency.in_flight_reaches("AC1", 1).await;
        let waiting = concurrency.in_flight_reaches("AC1", 2);
        let _second = concurrency.enter("AC1").unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiting).await.expect("the wait ends");
    }
}

//! Counting the requests a client sends, so benchmarks can report them and tests can prove
//! that a read-only command wrote nothing.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use super::operation::Operation;

/// Lock-free counters, one per operation, shared by every clone of a client.
#[derive(Debug, Default)]
pub(crate) struct CallCounter {
    requests: [AtomicU64; Operation::ALL.len()],
    throttled: AtomicU64,
}

impl CallCounter {
    pub(crate) fn record(&self, operation: Operation) {
        // Relaxed: the counts are statistics, nothing is ordered by them.
        self.requests[operation.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// A response was 429: the account was over its API concurrency.
    pub(crate) fn record_throttled(&self) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> CallCounts {
        let by_operation = Operation::ALL
            .into_iter()
            .map(|operation| (operation, self.requests[operation.index()].load(Ordering::Relaxed)))
            .filter(|&(_, count)| count > 0)
            .collect();
        CallCounts { by_operation, throttled: self.throttled.load(Ordering::Relaxed) }
    }
}

/// How many HTTP requests a client has sent, by operation. Every attempt counts: a retried
/// call counts once per attempt, a list once per page, and a request that failed counts too
/// (a failed write may still have reached Twilio), and so does every request Twilio throttled
/// (429), which [`CallCounts::throttled`] counts again on its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallCounts {
    by_operation: BTreeMap<Operation, u64>,
    throttled: u64,
}

impl CallCounts {
    /// Requests sent for one operation.
    pub fn get(&self, operation: Operation) -> u64 {
        self.by_operation.get(&operation).copied().unwrap_or(0)
    }

    /// Requests that only read (GET).
    pub fn reads(&self) -> u64 {
        self.sum(|operation| !operation.is_write())
    }

    /// Requests that may change something at Twilio (POST, DELETE).
    pub fn writes(&self) -> u64 {
        self.sum(Operation::is_write)
    }

    /// Requests Twilio answered 429 (over the account's API concurrency, code 20429), whatever
    /// the operation: each was retried after a wait, or ended its call as throttled.
    pub fn throttled(&self) -> u64 {
        self.throttled
    }

    pub fn total(&self) -> u64 {
        self.by_operation.values().sum()
    }

    /// The operations with at least one request, in [`Operation`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Operation, u64)> + '_ {
        self.by_operation.iter().map(|(&operation, &count)| (operation, count))
    }

    fn sum(&self, include: impl Fn(Operation) -> bool) -> u64 {
        self.iter().filter(|&(operation, _)| include(operation)).map(|(_, count)| count).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_splits_reads_from_writes() {
        let counter = CallCounter::default();
        counter.record(Operation::ListAwsCredentials);
        counter.record(Operation::ListAwsCredentials);
        counter.record(Operation::FetchRecordingSettings);
        counter.record(Operation::CreateAwsCredential);
        counter.record(Operation::CreateAwsCredential);
        counter.record_throttled();

        let counts = counter.snapshot();
        assert_eq!(counts.reads(), 3);
        assert_eq!(counts.writes(), 2);
        assert_eq!(counts.total(), 5);
        assert_eq!(counts.throttled(), 1);
        assert_eq!(counts.get(Operation::ListAwsCredentials), 2);
        assert_eq!(counts.get(Operation::DeleteAwsCredential), 0);
        assert_eq!(
            counts.iter().collect::<Vec<_>>(),
            [
                (Operation::ListAwsCredentials, 2),
                (Operation::CreateAwsCredential, 2),
                (Operation::FetchRecordingSettings, 1)
            ]
        );
    }
}

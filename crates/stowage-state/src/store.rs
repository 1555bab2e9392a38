//! Where a state is kept: the [`StateStore`] trait, which the engine writes through and the
//! local state file ([`crate::LocalStateFile`]) implements.

use std::future::Future;

use crate::error::StateError;
use crate::lock::{LockError, LockRequest};
use crate::model::State;

/// A place that keeps one environment's state, and the lock that keeps two runs on it apart.
///
/// Every write names the serial it expects to replace, so a write made from a state that is no
/// longer the stored one fails ([`StateError::Conflict`]) instead of silently undoing another
/// run's work. A store with no state yet is at serial 0 (where [`State::new`] starts), so the
/// first write of a new state expects 0. The local file checks under its lock; a store with
/// conditional writes (S3's `If-Match` on the version it read, `If-None-Match: *` for the first
/// write) makes the check and the write one operation.
///
/// The methods are async because a remote store's are; the local file does its (short) IO in
/// place. A run holds the lock, reads once, then writes only through [`StateStore::commit`].
pub trait StateStore: Send + Sync {
    /// Held for as long as the run needs the state; dropping it releases the lock.
    type Lock: Send + Sync;

    /// Where the state is kept, for messages and saved plans: a path for the local file.
    fn location(&self) -> String;

    /// The stored state, or `None` when there is none yet.
    fn read(&self) -> impl Future<Output = Result<Option<State>, StateError>> + Send;

    /// Stores `state` in place of the stored state, which must be at `expected_serial` (0: no
    /// state yet) and of the same lineage; otherwise nothing is written and the error is
    /// [`StateError::Conflict`].
    fn write(&self, state: &State, expected_serial: u64) -> impl Future<Output = Result<(), StateError>> + Send;

    /// Takes the lock as `request` says (shared or exclusive), waiting up to its timeout.
    fn lock(&self, request: &LockRequest) -> impl Future<Output = Result<Self::Lock, LockError>> + Send;

    /// Records a change of `state`, read from this store (or new, at serial 0): the next serial,
    /// written over the one it was read at. On failure `state` keeps its serial, and the store
    /// holds what it held before.
    fn commit(&self, state: &mut State) -> impl Future<Output = Result<(), StateError>> + Send {
        async move {
            let expected = state.serial;
            state.serial += 1;
            let written = self.write(state, expected).await;
            if written.is_err() {
                state.serial = expected;
            }
            written
        }
    }
}

//! The state backends side by side: a local file or an S3 object, one [`StateStore`] for
//! whoever must hold either (the CLI picks one per run).

use stowage_state::{LocalStateFile, LockError, LockRequest, State, StateError, StateLock, StateStore};

use crate::{S3Lock, S3StateStore};

/// A state store of either kind.
#[derive(Debug)]
pub enum Backend {
    Local(LocalStateFile),
    S3(S3StateStore),
}

/// The lock of either kind; dropping it releases the lock.
#[derive(Debug)]
pub enum BackendLock {
    Local(StateLock),
    S3(S3Lock),
}

impl Backend {
    /// The local file, if the state is one.
    pub fn local(&self) -> Option<&LocalStateFile> {
        match self {
            Backend::Local(file) => Some(file),
            Backend::S3(_) => None,
        }
    }

    /// The version of the stored state last read or written (S3's object version), for a
    /// saved plan to record; `None` for a local file, whose serial says it all.
    pub fn version(&self) -> Option<String> {
        match self {
            Backend::Local(_) => None,
            Backend::S3(store) => store.version(),
        }
    }
}

impl StateStore for Backend {
    type Lock = BackendLock;

    fn location(&self) -> String {
        match self {
            Backend::Local(file) => file.location(),
            Backend::S3(store) => store.location().to_string(),
        }
    }

    async fn read(&self) -> Result<Option<State>, StateError> {
        match self {
            Backend::Local(file) => file.read().await,
            Backend::S3(store) => store.read().await,
        }
    }

    async fn write(&self, state: &State, expected_serial: u64) -> Result<(), StateError> {
        match self {
            Backend::Local(file) => file.write(state, expected_serial).await,
            Backend::S3(store) => store.write(state, expected_serial).await,
        }
    }

    async fn lock(&self, request: &LockRequest) -> Result<BackendLock, LockError> {
        match self {
            Backend::Local(file) => file.lock(request).await.map(BackendLock::Local),
            Backend::S3(store) => store.lock(request).await.map(BackendLock::S3),
        }
    }
}

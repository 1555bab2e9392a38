//! The state of one environment: what stowage created, under which provider ids, with which
//! attributes last observed or applied. This crate owns the state model, the versioned on-disk
//! format (its JSON Schema is checked in under `state-schema/`), the [`StateStore`] trait every
//! state write goes through (read; write over an expected serial; lock), and its local
//! implementation: the state file with its atomic writes and `.backup`, and the lock that keeps
//! two runs on one state apart (`lock.rs`).
//!
//! Architecture invariants: only this crate knows the state file format; it does no network IO
//! and never reads the environment; a state holds no secret, ever (for an access key only its
//! id); a store never replaces a state with one made from another serial or lineage.

mod error;
mod file;
pub mod lock;
mod model;
mod store;

pub use error::StateError;
pub use file::{LocalStateFile, decode_state, encode_state};
pub use lock::{Backoff, ForceUnlocked, LockError, LockInfo, LockMode, LockRequest, StateLock, force_unlock};
pub use model::{DeposedObject, FORMAT_VERSION, Intent, ResourceState, State};
pub use store::StateStore;

/// Refuses a state that belongs to another environment than the spec's, so that applying the
/// `dev` spec can never rewrite the `prod` state.
pub fn check_compatible(state: &State, environment: &str) -> Result<(), StateError> {
    if state.environment == environment {
        Ok(())
    } else {
        Err(StateError::EnvironmentMismatch {
            state_environment: state.environment.clone(),
            spec_environment: environment.to_owned(),
        })
    }
}

/// The JSON Schema (draft 2020-12) of the state file in the current format, generated from the
/// model; `state-schema/state.v1.schema.json` is this, checked in.
pub fn json_schema() -> serde_json::Value {
    schemars::schema_for!(State).to_value()
}

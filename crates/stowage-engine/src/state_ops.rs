//! The writes of `stowage state` (and of a run whose state could not be stored): each through a
//! [`StateStore`], each checked against what the store holds, so that none replaces a state it
//! did not read.

use std::path::Path;

use stowage_state::{LocalStateFile, State, StateError, StateStore};

/// `state rm`: drop `addresses` from `state` and commit it, in one write. Nothing in AWS or
/// Twilio changes. Returns what was removed; an address the state does not record is an error
/// and nothing is written.
pub async fn forget(
    addresses: &[String],
    state: &mut State,
    store: &impl StateStore,
) -> Result<Vec<stowage_state::ResourceState>, ForgetError> {
    let unknown: Vec<String> = addresses.iter().filter(|address| state.get(address).is_none()).cloned().collect();
    if !unknown.is_empty() {
        return Err(ForgetError::NotRecorded(unknown));
    }
    let mut removed = Vec::new();
    let mut changed = state.clone();
    for address in addresses {
        removed.extend(changed.remove(address));
    }
    store.commit(&mut changed).await?;
    *state = changed;
    Ok(removed)
}

/// Why `state rm` wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum ForgetError {
    #[error("the state records no {}", .0.iter().map(|address| format!("`{address}`")).collect::<Vec<_>>().join(", "))]
    NotRecorded(Vec<String>),
    #[error(transparent)]
    State(#[from] StateError),
}

/// `state push`: store `pushed` in place of `current` (what `store` holds now, read under the
/// lock). Refused unless `pushed` is of the same lineage and a higher serial, unless `force`;
/// forced, it is stored at the serial after `current`'s, so serials only grow.
pub async fn push(
    mut pushed: State,
    current: Option<&State>,
    store: &impl StateStore,
    force: bool,
) -> Result<State, PushError> {
    let expected = current.map_or(0, |current| current.serial);
    if let Some(current) = current {
        if !force && pushed.lineage != current.lineage {
            return Err(PushError::OtherLineage { pushed: pushed.lineage, stored: current.lineage });
        }
        if !force && pushed.serial <= current.serial {
            return Err(PushError::NotNewer { pushed: pushed.serial, stored: current.serial });
        }
        if force {
            pushed.serial = pushed.serial.max(current.serial + 1);
            pushed.lineage = current.lineage;
        }
    }
    store.write(&pushed, expected).await?;
    Ok(pushed)
}

/// Why `state push` wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error(
        "the pushed state is of lineage {pushed}, the stored one of {stored}: they are not the same environment's \
         history; nothing was written (`--force` replaces it anyway)"
    )]
    OtherLineage { pushed: uuid::Uuid, stored: uuid::Uuid },
    #[error(
        "the pushed state is at serial {pushed}, the stored one at {stored}: pushing it would undo what was recorded \
         since; nothing was written (`--force` replaces it anyway)"
    )]
    NotNewer { pushed: u64, stored: u64 },
    #[error(transparent)]
    State(#[from] StateError),
}

/// `state migrate`: store `state` in `to`, which must hold none, keeping its lineage and
/// serial.
pub async fn copy_to(state: &State, to: &impl StateStore) -> Result<(), StateError> {
    to.write(state, 0).await
}

/// The state a run holds when it could not store it (the stored state changed under it, or
/// the store failed): written whole to `path` (mode 0600), whatever is there, so nothing this
/// run recorded is lost. It is written at the serial its failed write would have stored, so
/// `state push` takes it over the state it was read from, and only over that one.
pub fn save_errored(state: &State, path: &Path) -> Result<(), StateError> {
    let mut errored = state.clone();
    errored.serial += 1;
    LocalStateFile::new(path).overwrite(&errored)
}

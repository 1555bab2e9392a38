//! What the state records without an apply's steps: reality, for drift the spec now accepts
//! or a refresh-only plan records, and the settling of intents whose objects never came to
//! exist. Each change is committed through the [`StateStore`] here, like apply's.

use stowage_plan::{Observations, Plan, PlannedValue};
use stowage_state::{State, StateError, StateStore};

use crate::{ApplyError, ApplyOutcome, Engine, apply};

/// Apply a refresh-only plan: what it saw changed outside stowage becomes what the state
/// records (attributes as found; a resource deleted outside stowage is forgotten), in one
/// commit. No call is made. Returns how many resources were recorded anew.
pub async fn record_refreshed(plan: &Plan, state: &mut State, store: &impl StateStore) -> Result<usize, StateError> {
    let recorded = refreshed(plan, state);
    store.commit(state).await?;
    Ok(recorded)
}

fn refreshed(plan: &Plan, state: &mut State) -> usize {
    let mut recorded = 0;
    for drift in &plan.drift {
        let address = drift.address.to_string();
        if drift.deleted {
            recorded += usize::from(state.remove(&address).is_some());
            continue;
        }
        let Some(mut resource) = state.get(&address).cloned() else { continue };
        for change in &drift.changes {
            if let Some(PlannedValue::Known(value)) = &change.after {
                resource.attributes.insert(change.name.clone(), value.clone());
            }
        }
        state.upsert(resource);
        recorded += 1;
    }
    recorded
}

/// What applying a plan with nothing to change still records (`apply SPEC` with nothing to
/// do): reality for the resources the spec was edited to match ([`record_accepted_drift`]),
/// then, in a second commit, the end of the intents of an interrupted apply whose objects
/// never came to exist or are gone (the refresh behind the plan found nothing left of them).
/// Returns whether accepted drift was recorded.
pub async fn record_unchanged(
    plan: &Plan,
    observations: &Observations,
    state: &mut State,
    store: &impl StateStore,
) -> Result<bool, StateError> {
    let accepted = record_accepted_drift(plan, observations, state);
    if accepted {
        store.commit(state).await?;
    }
    if !state.intents.is_empty() {
        state.intents.clear();
        store.commit(state).await?;
    }
    Ok(accepted)
}

/// [`apply`] a plan made just now from `observations` (`apply SPEC`): reality is recorded for
/// the drift the spec accepts ([`record_accepted_drift`]), with the first commit of the apply.
pub async fn apply_accepting_drift<S: StateStore>(
    engine: &Engine,
    plan: &Plan,
    observations: &Observations,
    state: &mut State,
    store: &S,
) -> Result<ApplyOutcome, ApplyError> {
    record_accepted_drift(plan, observations, state);
    apply(engine, plan, state, store).await
}

/// Record, in `state` (in memory: the next commit writes it), what was just read for
/// resources the plan leaves alone but that moved outside stowage to where the spec now wants
/// them (the spec was edited to match a hand-made change). Without this, the state would keep
/// the old values and `drift` would report them forever. Returns whether the state changed.
pub fn record_accepted_drift(plan: &Plan, observations: &Observations, state: &mut State) -> bool {
    let mut changed = false;
    for drift in plan.drift.iter().filter(|drift| !drift.deleted) {
        let untouched = plan.change(&drift.address).is_some_and(|change| !change.is_change());
        let Some(found) = observations.get(&drift.address).and_then(Option::as_ref) else { continue };
        let Some(mut resource) = state.get(&drift.address.to_string()).cloned() else { continue };
        if !untouched {
            continue;
        }
        for (name, value) in &found.attributes {
            resource.attributes.insert(name.clone(), value.clone());
        }
        state.upsert(resource);
        changed = true;
    }
    changed
}

//! Apply: run the plan's steps in dependency order, independent steps at the same time, and
//! write the state after every completed step.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use serde_json::{Map, Value};
use stowage_plan::{ActionKind, Plan, PlannedValue, Reference, ResourceChange, Step, StepKind};
use stowage_provider::{
    Address, Applied, Attributes, CreateRequest, DeleteRequest, ErrorKind, ProviderError,
    SecretHandoff, UpdateRequest,
};
use stowage_state::{DeposedObject, Intent, LocalStateFile, ResourceState, State, StateError};
use uuid::Uuid;

use crate::{Engine, Event, StepVerb};

/// Why an access key is tainted when its secret never reached Twilio.
pub const SECRET_NOT_DELIVERED: &str = "its secret was lost before it reached Twilio (the apply that created it did not finish the handoff)";

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{} step(s) failed: {}", failures.len(), failure_summary(failures))]
    Steps {
        failures: Vec<(Address, ProviderError)>,
        completed: usize,
    },
    #[error("could not record progress in the state file: {0}")]
    State(#[from] StateError),
    #[error(transparent)]
    Order(#[from] stowage_plan::steps::CycleError),
}

fn failure_summary(failures: &[(Address, ProviderError)]) -> String {
    failures
        .iter()
        .map(|(address, error)| format!("{address}: {error}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// What an apply did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyOutcome {
    pub completed: usize,
    /// Access keys whose secrets never reached Twilio: marked for replacement.
    pub tainted: Vec<Address>,
}

enum StepResult {
    Put(Applied),
    Deleted,
    Forgotten,
}

/// Apply `plan`, recording progress in `state` and writing it to `file` after every step.
pub async fn apply(
    engine: &Engine,
    plan: &Plan,
    state: &mut State,
    file: &LocalStateFile,
) -> Result<ApplyOutcome, ApplyError> {
    let steps = stowage_plan::steps(plan)?;
    let changes: BTreeMap<&Address, &ResourceChange> = plan
        .changes
        .iter()
        .map(|change| (&change.address, change))
        .collect();
    let handoff = SecretHandoff::new();
    let marker =
        stowage_provider::marker::intent_marker(&state.environment, &state.lineage.to_string());
    // Intents of interrupted applies: the refresh behind this plan looked for what they left,
    // and the plan deletes it. They are settled once every step succeeded.
    let earlier_intents: Vec<Uuid> = state.intents.iter().map(|intent| intent.id).collect();
    let mut intents: Vec<Option<Uuid>> = vec![None; steps.len()];

    let mut finished = vec![false; steps.len()];
    let mut started = vec![false; steps.len()];
    let mut running = FuturesUnordered::new();
    let mut failures: Vec<(Address, ProviderError)> = Vec::new();
    let mut completed = 0;

    loop {
        if failures.is_empty() {
            for (index, step) in steps.iter().enumerate() {
                if running.len() >= engine.parallelism() {
                    break;
                }
                if started[index] || !step.waits_for.iter().all(|&before| finished[before]) {
                    continue;
                }
                started[index] = true;
                let change = changes[&step.address];
                match prepare(step, change, state) {
                    Ok(prepared) => {
                        let records_intent = step
                            .address
                            .resource_type
                            .schema()
                            .lifecycle
                            .records_intent();
                        if records_intent && step.kind == StepKind::Create {
                            // On disk before the request leaves: whatever happens to this
                            // process, the next run knows to look for the object.
                            intents[index] = Some(record_intent(
                                state,
                                &step.address,
                                &prepared.attributes,
                                &marker,
                            ));
                            file.commit(state)?;
                        }
                        let marker = step
                            .address
                            .resource_type
                            .schema()
                            .lifecycle
                            .carries_marker()
                            .then_some(marker.as_str());
                        running.push(run(engine, index, step, change, prepared, &handoff, marker));
                    }
                    Err(error) => failures.push((step.address.clone(), error)),
                }
            }
        }
        let Some((index, result, elapsed)) = running.next().await else {
            break;
        };
        let step = &steps[index];
        let verb = verb(step.kind);
        match result {
            Ok(result) => {
                let id = record(state, step, changes[&step.address], result);
                // Recorded in the same write that clears the intent: never neither, never both.
                if let Some(intent) = intents[index] {
                    state.intents.retain(|recorded| recorded.id != intent);
                }
                file.commit(state)?;
                finished[index] = true;
                completed += 1;
                engine.progress.event(Event::StepFinished {
                    address: &step.address,
                    verb,
                    id: id.as_deref(),
                    elapsed,
                });
            }
            Err(error) => {
                engine.progress.event(Event::StepFailed {
                    address: &step.address,
                    verb,
                    error: &error,
                    elapsed,
                });
                failures.push((step.address.clone(), error));
            }
        }
    }

    let tainted = taint_undelivered_keys(plan, state, &handoff);
    let settled = failures.is_empty() && !earlier_intents.is_empty();
    if settled {
        state
            .intents
            .retain(|intent| !earlier_intents.contains(&intent.id));
    }
    if !tainted.is_empty() || settled {
        file.commit(state)?;
    }
    if failures.is_empty() {
        Ok(ApplyOutcome { completed, tainted })
    } else {
        Err(ApplyError::Steps {
            failures,
            completed,
        })
    }
}

/// Records in `state` that `address` is about to be created; returns the intent's id.
fn record_intent(
    state: &mut State,
    address: &Address,
    attributes: &Attributes,
    marker: &str,
) -> Uuid {
    let id = Uuid::new_v4();
    state.intents.push(Intent {
        id,
        address: address.to_string(),
        started_at: jiff::Timestamp::now().to_string(),
        // Only a type that can carry a marker gets one; the rest are found by their parent.
        marker: address
            .resource_type
            .schema()
            .lifecycle
            .carries_marker()
            .then(|| marker.to_owned()),
        attributes: to_map(attributes),
    });
    id
}

/// Everything a step needs, resolved from the state before it starts.
struct Prepared {
    /// Desired attributes (create, update) or the attributes of the object to delete.
    attributes: Attributes,
    /// The object acted on (update, delete).
    object: Option<String>,
}

fn prepare(step: &Step, change: &ResourceChange, state: &State) -> Result<Prepared, ProviderError> {
    let attributes = match (&change.after, step.kind) {
        (Some(after), StepKind::Create | StepKind::Update) => resolve(&step.address, after, state)?,
        (_, StepKind::Delete) => {
            let deposed = change
                .deposed
                .iter()
                .find(|deposed| Some(&deposed.id) == step.object.as_ref());
            match deposed {
                Some(deposed) => deposed.attributes.clone(),
                None => change.before.clone().unwrap_or_default(),
            }
        }
        _ => Attributes::new(),
    };
    Ok(Prepared {
        attributes,
        object: step.object.clone(),
    })
}

/// Values known only after apply come from the state, where the steps this one waited for
/// recorded them.
fn resolve(
    address: &Address,
    after: &BTreeMap<String, PlannedValue>,
    state: &State,
) -> Result<Attributes, ProviderError> {
    let recorded = |reference: &Reference| {
        state
            .get(&reference.address.to_string())
            .and_then(|resource| resource.attributes.get(&reference.attribute))
            .filter(|value| !value.is_null())
            .cloned()
    };
    let missing = |name: &str, reference: &Reference| {
        ProviderError::new(
            ErrorKind::Internal,
            "stowage",
            "resolve",
            format!(
                "{address}: `{name}` should come from `{}.{}`, which is not recorded",
                reference.address, reference.attribute
            ),
        )
    };
    after
        .iter()
        .map(|(name, value)| {
            let value = match value {
                PlannedValue::Known(value) => value.clone(),
                PlannedValue::Unknown(reference) => {
                    recorded(reference).ok_or_else(|| missing(name, reference))?
                }
                PlannedValue::Template(template) => match template.render(recorded) {
                    Some(value) => value,
                    // Rendering stops at the first reference without a value.
                    None => {
                        let absent = template
                            .references
                            .iter()
                            .find(|reference| recorded(reference).is_none());
                        return Err(absent
                            .map(|reference| missing(name, reference))
                            .unwrap_or_else(|| {
                                ProviderError::new(
                                    ErrorKind::Internal,
                                    "stowage",
                                    "resolve",
                                    format!("{address}: `{name}`"),
                                )
                            }));
                    }
                },
            };
            Ok((name.clone(), value))
        })
        .collect()
}

async fn run<'a>(
    engine: &'a Engine,
    index: usize,
    step: &'a Step,
    change: &'a ResourceChange,
    prepared: Prepared,
    handoff: &'a SecretHandoff,
    marker: Option<&'a str>,
) -> (usize, Result<StepResult, ProviderError>, Duration) {
    let started = Instant::now();
    let verb = verb(step.kind);
    engine.progress.event(Event::StepStarted {
        address: &step.address,
        verb,
    });
    let result = async {
        let provider = engine.provider_for(&step.address)?;
        let empty = Attributes::new();
        let before = change.before.as_ref().unwrap_or(&empty);
        let object = prepared.object.as_deref().unwrap_or_default();
        match step.kind {
            StepKind::Create => {
                let request = CreateRequest {
                    address: &step.address,
                    attributes: &prepared.attributes,
                    handoff,
                    marker,
                };
                provider.create(request).await.map(StepResult::Put)
            }
            StepKind::Update => {
                let id = object;
                let changed: Vec<String> = change
                    .changes
                    .iter()
                    .map(|attribute| attribute.name.clone())
                    .collect();
                if changed.is_empty() {
                    // Adopting an object that already matches: record it, send nothing.
                    let mut attributes = before.clone();
                    attributes.extend(prepared.attributes.clone());
                    return Ok(StepResult::Put(Applied {
                        id: id.to_owned(),
                        attributes,
                    }));
                }
                let request = UpdateRequest {
                    address: &step.address,
                    id,
                    before,
                    after: &prepared.attributes,
                    changed: &changed,
                    marker,
                };
                provider.update(request).await.map(StepResult::Put)
            }
            StepKind::Delete => {
                let request = DeleteRequest {
                    address: &step.address,
                    id: object,
                    attributes: &prepared.attributes,
                };
                provider.delete(request).await.map(|()| StepResult::Deleted)
            }
            StepKind::Forget => Ok(StepResult::Forgotten),
        }
    }
    .await;
    (index, result, started.elapsed())
}

/// Record a finished step in the state; returns the id of the object it acted on.
fn record(
    state: &mut State,
    step: &Step,
    change: &ResourceChange,
    result: StepResult,
) -> Option<String> {
    let address = step.address.to_string();
    match result {
        StepResult::Put(applied) => {
            let id = applied.id.clone();
            let previous = state.get(&address);
            let mut deposed = previous
                .map(|previous| previous.deposed.clone())
                .unwrap_or_default();
            // The new half of a create-before-destroy replacement: the old object still exists
            // until its own delete step, so the state keeps it, deposed, in the meantime.
            let replaced_first = change.action == ActionKind::Replace && !change.destroys_first();
            if replaced_first
                && let (Some(old_id), Some(before)) = (&change.prior_id, &change.before)
            {
                deposed.push(DeposedObject {
                    id: old_id.clone(),
                    attributes: to_map(before),
                });
            }
            state.upsert(ResourceState {
                address,
                resource_type: step.address.resource_type.as_str().to_owned(),
                id: applied.id,
                attributes: to_map(&applied.attributes),
                depends_on: change.depends_on.iter().map(ToString::to_string).collect(),
                tainted: None,
                deposed,
            });
            Some(id)
        }
        StepResult::Deleted => {
            let object = step.object.clone();
            let deposed_here = state.get(&address).is_some_and(|resource| {
                resource
                    .deposed
                    .iter()
                    .any(|deposed| Some(&deposed.id) == object.as_ref())
            });
            if deposed_here {
                if let Some(mut resource) = state.get(&address).cloned() {
                    resource
                        .deposed
                        .retain(|deposed| Some(&deposed.id) != object.as_ref());
                    state.upsert(resource);
                }
            } else if change.action == ActionKind::Delete && object == change.prior_id {
                state.remove(&address);
            }
            // Destroy-before-create: the entry stays until the create records the new object.
            object
        }
        StepResult::Forgotten => {
            state.remove(&address);
            step.object.clone()
        }
    }
}

fn to_map(attributes: &Attributes) -> Map<String, Value> {
    attributes
        .iter()
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// Keys created in this apply for a Twilio credential that never got their secret: nobody
/// can ever use them, so the next apply replaces them. Keys created with no credential to hand
/// them to (an environment without Twilio) are left alone.
fn taint_undelivered_keys(plan: &Plan, state: &mut State, handoff: &SecretHandoff) -> Vec<Address> {
    let undelivered = handoff.undelivered();
    let mut tainted = Vec::new();
    for change in &plan.changes {
        let Some(after) = &change.after else { continue };
        if !matches!(change.action, ActionKind::Create | ActionKind::Replace) {
            continue;
        }
        for value in after.values() {
            let PlannedValue::Unknown(reference) = value else {
                continue;
            };
            // Only what this apply created can hold a secret still in the handoff.
            if !reference.fresh {
                continue;
            }
            let key_address = reference.address.to_string();
            let Some(key) = state.get(&key_address) else {
                continue;
            };
            if undelivered.contains(&key.id) {
                let mut key = key.clone();
                key.tainted = Some(SECRET_NOT_DELIVERED.to_owned());
                state.upsert(key);
                tainted.push(reference.address.clone());
            }
        }
    }
    tainted.sort();
    tainted.dedup();
    tainted
}

fn verb(kind: StepKind) -> StepVerb {
    match kind {
        StepKind::Create => StepVerb::Create,
        StepKind::Update => StepVerb::Update,
        StepKind::Delete => StepVerb::Delete,
        StepKind::Forget => StepVerb::Forget,
    }
}

/// Apply a refresh-only plan: what it saw changed outside stowage becomes what the state
/// records (attributes as found; a resource deleted outside stowage is forgotten). No call is
/// made. Returns how many resources were recorded anew.
pub fn record_refreshed(plan: &Plan, state: &mut State) -> usize {
    let mut recorded = 0;
    for drift in &plan.drift {
        let address = drift.address.to_string();
        if drift.deleted {
            recorded += usize::from(state.remove(&address).is_some());
            continue;
        }
        let Some(mut resource) = state.get(&address).cloned() else {
            continue;
        };
        for change in &drift.changes {
            if let Some(stowage_plan::PlannedValue::Known(value)) = &change.after {
                resource
                    .attributes
                    .insert(change.name.clone(), value.clone());
            }
        }
        state.upsert(resource);
        recorded += 1;
    }
    recorded
}

/// Record what was just read for resources the plan leaves alone but that moved outside
/// stowage to where the spec now wants them (the spec was edited to match a hand-made change).
/// Without this, the state would keep the old values and `drift` would report them forever.
/// Returns whether the state changed.
pub fn record_accepted_drift(
    plan: &Plan,
    observations: &stowage_plan::Observations,
    state: &mut State,
) -> bool {
    let mut changed = false;
    for drift in plan.drift.iter().filter(|drift| !drift.deleted) {
        let untouched = plan
            .change(&drift.address)
            .is_some_and(|change| !change.is_change());
        let Some(found) = observations.get(&drift.address).and_then(Option::as_ref) else {
            continue;
        };
        let Some(mut resource) = state.get(&drift.address.to_string()).cloned() else {
            continue;
        };
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

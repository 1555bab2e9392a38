//! Apply: run the plan's steps in dependency order, independent steps at the same time, and
//! commit the state phase by phase (see [`apply`]).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::stream::StreamExt;
use serde_json::{Map, Value};
use stowage_plan::{ActionKind, Plan, PlannedValue, Reference, ResourceChange, Step, StepKind};
use stowage_provider::{
    Address, Applied, Attributes, CreateRequest, DeleteRequest, ErrorKind, ProviderError, SecretHandoff, UpdateRequest,
};
use stowage_state::{DeposedObject, Intent, ResourceState, State, StateError, StateStore};
use uuid::Uuid;

use crate::{Engine, Event, StepVerb};

/// Why an access key is tainted when its secret never reached Twilio.
pub const SECRET_NOT_DELIVERED: &str =
    "its secret was lost before it reached Twilio (the apply that created it did not finish the handoff)";

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{} step(s) failed: {}", failures.len(), failure_summary(failures))]
    Steps { failures: Vec<(Address, ProviderError)>, completed: usize },
    #[error("could not record progress in the state file: {0}")]
    State(#[from] StateError),
    #[error(transparent)]
    Order(#[from] stowage_plan::steps::CycleError),
}

fn failure_summary(failures: &[(Address, ProviderError)]) -> String {
    failures.iter().map(|(address, error)| format!("{address}: {error}")).collect::<Vec<_>>().join("; ")
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

/// Apply `plan`, recording progress in `state` and committing it to `store` phase by phase.
///
/// A phase is every step whose dependencies have finished: its creates' intents are committed
/// in one write before any of them is sent, its steps run (at most `parallelism` at once), and
/// what they did is committed in one write when the last ends. A step only ever starts from
/// committed results, and the state is written twice per phase, not twice per step: the bytes
/// written grow with the plan's depth times the state's size, linearly with a fleet, where a
/// write per step grew with its square. A process killed inside a phase loses only records
/// whose intents are on disk, which the next run's leftover search finds.
///
/// A step that fails stops only the steps that wait for it; the others go on, so one
/// subaccount of a fleet cannot hold the rest back. When a commit fails (the stored state
/// changed under this run, or the store is unreachable), no further phase starts and the error
/// is returned: `state` then holds everything this run did, for the caller to keep
/// (`state_ops::save_errored`).
pub async fn apply<S: StateStore>(
    engine: &Engine,
    plan: &Plan,
    state: &mut State,
    store: &S,
) -> Result<ApplyOutcome, ApplyError> {
    let schedule = Schedule::new(plan, state)?;
    let mut tally = Tally::new(schedule.steps.len(), state);
    engine.progress.event(Event::ApplyStarted { steps: schedule.steps.len() });
    loop {
        let phase = start_phase(&schedule, &mut tally, state, store).await;
        if phase.is_empty() {
            break;
        }
        let mut running = futures::stream::iter(phase.into_iter().map(|(index, prepared, marker)| {
            let step = &schedule.steps[index];
            let change = schedule.changes[&step.address];
            run(engine, index, step, change, prepared, &schedule.handoff, marker)
        }))
        .buffer_unordered(engine.parallelism());
        let mut recorded = false;
        while let Some(ended) = running.next().await {
            recorded |= finish(engine, &schedule, &mut tally, state, ended);
        }
        if recorded && !tally.commit(state, store).await {
            break;
        }
    }
    settle(plan, &schedule, tally, state, store).await
}

/// What an apply works through, fixed when it starts.
struct Schedule<'a> {
    steps: Vec<Step>,
    changes: BTreeMap<&'a Address, &'a ResourceChange>,
    /// Access key secrets on their way to the credential.
    handoff: SecretHandoff,
    /// What a create puts on an object that can carry it, so that the next run finds it if
    /// its answer is lost.
    marker: String,
}

impl<'a> Schedule<'a> {
    fn new(plan: &'a Plan, state: &State) -> Result<Self, ApplyError> {
        Ok(Self {
            steps: stowage_plan::steps(plan)?,
            changes: plan.changes.iter().map(|change| (&change.address, change)).collect(),
            handoff: SecretHandoff::new(),
            marker: stowage_provider::marker::intent_marker(&state.environment, &state.lineage.to_string()),
        })
    }
}

/// How far an apply got, step by step.
struct Tally {
    started: Vec<bool>,
    finished: Vec<bool>,
    /// The intent each create recorded before it was sent, cleared by the write that records
    /// its object.
    intents: Vec<Option<Uuid>>,
    /// Intents of interrupted applies: the refresh behind this plan looked for what they left,
    /// and the plan deletes it. They are settled once every step succeeded.
    earlier_intents: Vec<Uuid>,
    failures: Vec<(Address, ProviderError)>,
    completed: usize,
    /// The first commit that failed: from then on nothing starts and nothing is committed.
    unstored: Option<StateError>,
}

impl Tally {
    fn new(steps: usize, state: &State) -> Self {
        Self {
            started: vec![false; steps],
            finished: vec![false; steps],
            intents: vec![None; steps],
            earlier_intents: state.intents.iter().map(|intent| intent.id).collect(),
            failures: Vec::new(),
            completed: 0,
            unstored: None,
        }
    }

    /// Commit `state`, unless a commit failed already; a failure is kept, not returned, so the
    /// steps running can still be recorded in `state`. Whether `state` is stored.
    async fn commit(&mut self, state: &mut State, store: &impl StateStore) -> bool {
        if self.unstored.is_some() {
            return false;
        }
        match store.commit(state).await {
            Ok(()) => true,
            Err(error) => {
                self.unstored = Some(error);
                false
            }
        }
    }
}

/// A step that ended: its index, what it did, how long it took.
type Ended = (usize, Result<StepResult, ProviderError>, Duration);

/// The next phase: every step not started whose dependencies all finished (a failed step's
/// dependents never are), each prepared from the state, the intents of its creates whose
/// result could be lost recorded and committed at once. Empty when nothing is left to start,
/// or once a commit failed: then nothing more is sent. Each comes with the marker its object
/// carries, if its type carries one.
async fn start_phase<'s>(
    schedule: &'s Schedule<'_>,
    tally: &mut Tally,
    state: &mut State,
    store: &impl StateStore,
) -> Vec<(usize, Prepared, Option<&'s str>)> {
    let mut phase = Vec::new();
    if tally.unstored.is_some() {
        return phase;
    }
    let marker = &schedule.marker;
    let mut intents = false;
    for (index, step) in schedule.steps.iter().enumerate() {
        if tally.started[index] || !step.waits_for.iter().all(|&before| tally.finished[before]) {
            continue;
        }
        tally.started[index] = true;
        match prepare(step, schedule.changes[&step.address], state) {
            Ok(prepared) => {
                let records_intent = step.address.resource_type.schema().lifecycle.records_intent();
                if records_intent && step.kind == StepKind::Create {
                    tally.intents[index] = Some(record_intent(state, &step.address, &prepared.attributes, marker));
                    intents = true;
                }
                let marker = step.address.resource_type.schema().lifecycle.carries_marker().then_some(marker.as_str());
                phase.push((index, prepared, marker));
            }
            Err(error) => tally.failures.push((step.address.clone(), error)),
        }
    }
    // On disk before any request leaves: whatever happens to this process, the next run
    // knows to look for the objects. Not on disk: nothing of the phase is sent.
    if intents && !tally.commit(state, store).await {
        phase.clear();
    }
    phase
}

/// Records a step that ended: a success in the state (committed with its phase), a failure
/// in the tally. Whether anything was recorded.
fn finish(engine: &Engine, schedule: &Schedule<'_>, tally: &mut Tally, state: &mut State, ended: Ended) -> bool {
    let (index, result, elapsed) = ended;
    let step = &schedule.steps[index];
    let verb = verb(step.kind);
    match result {
        Ok(result) => {
            let id = record(state, step, schedule.changes[&step.address], result);
            // Recorded in the same write that clears the intent: never neither, never both.
            if let Some(intent) = tally.intents[index] {
                state.intents.retain(|recorded| recorded.id != intent);
            }
            tally.finished[index] = true;
            tally.completed += 1;
            engine.progress.event(Event::StepFinished { address: &step.address, verb, id: id.as_deref(), elapsed });
            true
        }
        Err(error) => {
            engine.progress.event(Event::StepFailed { address: &step.address, verb, error: &error, elapsed });
            tally.failures.push((step.address.clone(), error));
            false
        }
    }
}

/// After the last step: keys whose secret never reached Twilio are tainted and, when every
/// step succeeded, the intents of earlier runs are settled, in one commit.
async fn settle(
    plan: &Plan,
    schedule: &Schedule<'_>,
    tally: Tally,
    state: &mut State,
    store: &impl StateStore,
) -> Result<ApplyOutcome, ApplyError> {
    let tainted = taint_undelivered_keys(plan, state, &schedule.handoff);
    let settled = tally.failures.is_empty() && !tally.earlier_intents.is_empty();
    if settled {
        state.intents.retain(|intent| !tally.earlier_intents.contains(&intent.id));
    }
    let mut tally = tally;
    if !tainted.is_empty() || settled {
        tally.commit(state, store).await;
    }
    let Tally { failures, completed, unstored, .. } = tally;
    if let Some(error) = unstored {
        return Err(ApplyError::State(error));
    }
    if failures.is_empty() {
        Ok(ApplyOutcome { completed, tainted })
    } else {
        Err(ApplyError::Steps { failures, completed })
    }
}

/// Records in `state` that `address` is about to be created; returns the intent's id.
fn record_intent(state: &mut State, address: &Address, attributes: &Attributes, marker: &str) -> Uuid {
    let id = Uuid::new_v4();
    state.intents.push(Intent {
        id,
        address: address.to_string(),
        started_at: jiff::Timestamp::now().to_string(),
        // Only a type that can carry a marker gets one; the rest are found by their parent.
        marker: address.resource_type.schema().lifecycle.carries_marker().then(|| marker.to_owned()),
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
            let deposed = change.deposed.iter().find(|deposed| Some(&deposed.id) == step.object.as_ref());
            match deposed {
                Some(deposed) => deposed.attributes.clone(),
                None => change.before.clone().unwrap_or_default(),
            }
        }
        _ => Attributes::new(),
    };
    Ok(Prepared { attributes, object: step.object.clone() })
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
                PlannedValue::Unknown(reference) => recorded(reference).ok_or_else(|| missing(name, reference))?,
                PlannedValue::Template(template) => match template.render(recorded) {
                    Some(value) => value,
                    // Rendering stops at the first reference without a value.
                    None => {
                        let absent = template.references.iter().find(|reference| recorded(reference).is_none());
                        return Err(absent.map(|reference| missing(name, reference)).unwrap_or_else(|| {
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
    engine.progress.event(Event::StepStarted { address: &step.address, verb });
    let result = async {
        let provider = engine.provider_for(&step.address)?;
        let empty = Attributes::new();
        let before = change.before.as_ref().unwrap_or(&empty);
        let object = prepared.object.as_deref().unwrap_or_default();
        match step.kind {
            StepKind::Create => {
                let request =
                    CreateRequest { address: &step.address, attributes: &prepared.attributes, handoff, marker };
                provider.create(request).await.map(StepResult::Put)
            }
            StepKind::Update => {
                let id = object;
                let changed: Vec<String> = change.changes.iter().map(|attribute| attribute.name.clone()).collect();
                if changed.is_empty() {
                    // Adopting an object that already matches: record it, send nothing.
                    let mut attributes = before.clone();
                    attributes.extend(prepared.attributes.clone());
                    return Ok(StepResult::Put(Applied { id: id.to_owned(), attributes }));
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
                let request = DeleteRequest { address: &step.address, id: object, attributes: &prepared.attributes };
                provider.delete(request).await.map(|()| StepResult::Deleted)
            }
            StepKind::Forget => Ok(StepResult::Forgotten),
        }
    }
    .await;
    (index, result, started.elapsed())
}

/// Record a finished step in the state; returns the id of the object it acted on.
fn record(state: &mut State, step: &Step, change: &ResourceChange, result: StepResult) -> Option<String> {
    let address = step.address.to_string();
    match result {
        StepResult::Put(applied) => {
            let id = applied.id.clone();
            let previous = state.get(&address);
            let mut deposed = previous.map(|previous| previous.deposed.clone()).unwrap_or_default();
            let previous_unproven =
                previous.filter(|previous| previous.id == id).and_then(|previous| previous.unproven.clone());
            // The new half of a create-before-destroy replacement: the old object still exists
            // until its own delete step, so the state keeps it, deposed, in the meantime.
            let replaced_first = change.action == ActionKind::Replace && !change.destroys_first();
            if replaced_first && let (Some(old_id), Some(before)) = (&change.prior_id, &change.before) {
                deposed.push(DeposedObject { id: old_id.clone(), attributes: to_map(before) });
            }
            state.upsert(ResourceState {
                address,
                resource_type: step.address.resource_type.as_str().to_owned(),
                id: applied.id,
                attributes: to_map(&applied.attributes),
                depends_on: change.depends_on.iter().map(ToString::to_string).collect(),
                tainted: None,
                deposed,
                // What was taken on trust still is while the object stays; a new one is
                // stowage's own.
                unproven: previous_unproven,
            });
            Some(id)
        }
        StepResult::Deleted => {
            let object = step.object.clone();
            let deposed_here = state
                .get(&address)
                .is_some_and(|resource| resource.deposed.iter().any(|deposed| Some(&deposed.id) == object.as_ref()));
            if deposed_here {
                if let Some(mut resource) = state.get(&address).cloned() {
                    resource.deposed.retain(|deposed| Some(&deposed.id) != object.as_ref());
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
    attributes.iter().map(|(name, value)| (name.clone(), value.clone())).collect()
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
            let PlannedValue::Unknown(reference) = value else { continue };
            // Only what this apply created can hold a secret still in the handoff.
            if !reference.fresh {
                continue;
            }
            let key_address = reference.address.to_string();
            let Some(key) = state.get(&key_address) else { continue };
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

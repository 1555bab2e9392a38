//! The planner: desired x observed x prior state (x the time and the replacements asked for,
//! [`PlanInputs`]) -> plan. Pure and deterministic: no IO, no clock of its own, no randomness;
//! the same inputs give the same plan, byte for byte.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use stowage_provider::{Address, Attributes, Comparison, Lifecycle, Observed, ReplaceOrder, ResourceSchema, policy};

use crate::model::{
    ActionKind, AttributeChange, DesiredResource, DesiredValue, Plan, PlanDiagnostic, PlannedValue, Reason, Reference,
    ResourceChange, ResourceDrift, Severity, dependencies,
};
use crate::prior::{Prior, PriorResource};
use crate::s3_url;

/// What the refresh found: for every address read, the object or `None` when it does not exist.
pub type Observations = BTreeMap<Address, Option<Observed>>;

/// What a plan is made with besides the spec, the state and reality: when (keys age) and what
/// a person asked to replace. Inputs like the others, so the planner stays pure.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanInputs {
    /// When the plan is made: an object older than its spec's rotation period (see
    /// `stowage_provider::Rotation`) is replaced. `None`: nothing is judged by age.
    pub now: Option<jiff::Timestamp>,
    /// Addresses to replace now (`--replace`, `stowage rotate`), with what must follow them (a
    /// new key means a new credential).
    pub replace: BTreeSet<Address>,
}

/// Plan the changes that make reality match `desired`, with no clock and no replacement asked
/// for (see [`plan_at`]).
pub fn plan(desired: &[DesiredResource], prior: &Prior, observed: &Observations) -> Plan {
    plan_at(desired, prior, observed, &PlanInputs::default())
}

/// Plan the changes that make reality match `desired`, at `inputs.now`, replacing what
/// `inputs.replace` names.
pub fn plan_at(desired: &[DesiredResource], prior: &Prior, observed: &Observations, inputs: &PlanInputs) -> Plan {
    let (mut forced, refusals) = requested(desired, observed, inputs);
    // A resource that must hand a secret to one being created is itself recreated; that can
    // change what depends on it, so plan again until nothing new is forced. Each round forces
    // at least one more resource, so this ends within `desired.len()` rounds.
    loop {
        let mut plan = plan_once(desired, prior, observed, &forced);
        let newly_forced = secrets_needed(desired, &plan, &forced);
        if newly_forced.is_empty() {
            plan.diagnostics.splice(0..0, refusals);
            plan.planned_at = inputs.now;
            return plan;
        }
        forced.extend(newly_forced);
    }
}

/// The replacements asked for and those rotation makes due, and the requests refused: an
/// address the spec does not have, or a type whose replacement would lose what its object
/// holds (only types `replaceable_without_loss`, keys and credentials, are replaced on request).
fn requested(
    desired: &[DesiredResource],
    observed: &Observations,
    inputs: &PlanInputs,
) -> (BTreeMap<Address, Reason>, Vec<PlanDiagnostic>) {
    let mut forced = BTreeMap::new();
    let mut refusals = Vec::new();
    for address in &inputs.replace {
        let schema = address.resource_type.schema();
        if !desired.iter().any(|resource| &resource.address == address) {
            refusals.push(PlanDiagnostic {
                severity: Severity::Error,
                address: Some(address.clone()),
                message: format!("`{address}` is not in the spec: there is nothing to replace"),
                hint: Some("`stowage plan SPEC` lists every address".to_owned()),
            });
        } else if !schema.lifecycle.replaceable_without_loss() {
            refusals.push(PlanDiagnostic {
                severity: Severity::Error,
                address: Some(address.clone()),
                message: format!(
                    "`{address}` cannot be replaced on request: a new {} would not hold what this one does",
                    schema.noun
                ),
                hint: Some(
                    "stowage replaces on request only what holds nothing of its own: access keys, Twilio \
                     credentials and public keys"
                        .to_owned(),
                ),
            });
        } else {
            forced.insert(address.clone(), Reason::Requested);
        }
    }
    if let Some(now) = inputs.now {
        for resource in desired {
            let found = observed.get(&resource.address).and_then(Option::as_ref);
            if let Some(reason) = found.and_then(|found| rotation_due(resource, found, now)) {
                forced.entry(resource.address.clone()).or_insert(reason);
            }
        }
    }
    (forced, refusals)
}

/// Whether `found` is at least as old, in whole days at `now`, as its spec's rotation period.
fn rotation_due(resource: &DesiredResource, found: &Observed, now: jiff::Timestamp) -> Option<Reason> {
    let age_days = age_in_days(resource, found, now)?;
    let after_days = rotation_period(resource)?;
    (age_days >= after_days).then_some(Reason::Rotation { age_days, after_days })
}

/// The spec's rotation period of `resource`, in days, if its type rotates and the spec sets one.
pub fn rotation_period(resource: &DesiredResource) -> Option<u64> {
    let rotation = resource.address.resource_type.schema().rotation?;
    resource.known_attributes().get(rotation.after_days)?.as_u64()
}

/// How old `found` is at `now`, in whole days, if its type rotates and it says when it was made.
pub fn age_in_days(resource: &DesiredResource, found: &Observed, now: jiff::Timestamp) -> Option<u64> {
    let seconds = now.duration_since(created_at(resource, found)?).as_secs().max(0);
    Some(seconds.unsigned_abs() / 86_400)
}

/// When `found` was made, if its type rotates and it says so.
pub fn created_at(resource: &DesiredResource, found: &Observed) -> Option<jiff::Timestamp> {
    let rotation = resource.address.resource_type.schema().rotation?;
    found.attributes.get(rotation.created_at)?.as_str()?.parse().ok()
}

/// The addresses to read during refresh, each exactly once, with what a read needs: the id
/// recorded in the state, and the spec's known attributes for lookups by natural key.
pub fn read_targets(desired: &[DesiredResource], prior: &Prior) -> Vec<ReadTarget> {
    let mut targets: BTreeMap<Address, ReadTarget> = BTreeMap::new();
    for resource in desired {
        targets.insert(
            resource.address.clone(),
            ReadTarget {
                address: resource.address.clone(),
                id: None,
                desired: Some(resource.known_attributes()),
                recorded: None,
            },
        );
    }
    for resource in prior.resources() {
        let target = targets.entry(resource.address.clone()).or_insert_with(|| ReadTarget {
            address: resource.address.clone(),
            id: None,
            desired: None,
            recorded: None,
        });
        target.id = Some(resource.id.clone());
        target.recorded = Some(resource.attributes.clone());
    }
    targets.into_values().collect()
}

/// One read of the refresh.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadTarget {
    pub address: Address,
    pub id: Option<String>,
    pub desired: Option<Attributes>,
    pub recorded: Option<Attributes>,
}

fn plan_once(
    desired: &[DesiredResource],
    prior: &Prior,
    observed: &Observations,
    forced: &BTreeMap<Address, Reason>,
) -> Plan {
    let desired_by_address: BTreeMap<&Address, &DesiredResource> =
        desired.iter().map(|resource| (&resource.address, resource)).collect();
    let addresses: BTreeSet<&Address> =
        desired_by_address.keys().copied().chain(prior.resources().map(|resource| &resource.address)).collect();

    let mut changes: Vec<ResourceChange> = Vec::new();
    let mut diagnostics = Vec::new();
    // Everything a resource refers to is planned before it, so a reference can tell whether its
    // target is being (re)created.
    for address in dependency_order(&addresses, &desired_by_address, prior) {
        let wanted = desired_by_address.get(address).copied();
        let recorded = prior.get(address);
        let found = observed.get(address).and_then(Option::as_ref);
        let context = Context { changes: &changes, observed };
        match plan_resource(address, wanted, recorded, found, forced.get(address), &context) {
            Ok(Some(change)) => changes.push(change),
            Ok(None) => {}
            Err(diagnostic) => diagnostics.push(diagnostic),
        }
    }
    // Shown in address order: by resource type, which is declared in dependency order.
    changes.sort_by(|left, right| left.address.cmp(&right.address));
    diagnostics.extend(changes.iter().filter_map(delete_notice));
    let drift = prior.resources().filter_map(|recorded| drift(recorded, observed)).collect();
    Plan { changes, drift, diagnostics, mode: crate::model::PlanMode::Normal, planned_at: None }
}

/// What the schema says a plan must tell about deleting an object of this type (a KMS key is
/// only scheduled for deletion, and everything encrypted with it becomes unreadable then).
fn delete_notice(change: &ResourceChange) -> Option<PlanDiagnostic> {
    let (message, hint) = change.address.resource_type.schema().delete_notice?;
    let deletes = matches!(change.action, ActionKind::Delete | ActionKind::Replace) || !change.deposed.is_empty();
    deletes.then(|| PlanDiagnostic {
        severity: Severity::Warning,
        address: Some(change.address.clone()),
        message: message.to_owned(),
        hint: Some(hint.to_owned()),
    })
}

/// `addresses` ordered so each comes after what it depends on (see [`dependencies`]); ties, and
/// any cycle, fall back to address order.
fn dependency_order<'a>(
    addresses: &BTreeSet<&'a Address>,
    desired: &BTreeMap<&Address, &DesiredResource>,
    prior: &Prior,
) -> Vec<&'a Address> {
    let depends_on = |address: &Address| dependencies(desired.get(address).copied(), prior.get(address));
    let mut pending: Vec<&'a Address> = addresses.iter().copied().collect();
    let mut order: Vec<&'a Address> = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let ready = pending
            .iter()
            .position(|address| {
                depends_on(address)
                    .iter()
                    .all(|dependency| !addresses.contains(dependency) || order.contains(&dependency))
            })
            .unwrap_or(0);
        order.push(pending.remove(ready));
    }
    order
}

/// How reality moved away from what the state recorded, if it did.
fn drift(recorded: &PriorResource, observed: &Observations) -> Option<ResourceDrift> {
    let schema = recorded.address.resource_type.schema();
    let Some(found) = observed.get(&recorded.address).and_then(Option::as_ref) else {
        return Some(ResourceDrift { address: recorded.address.clone(), deleted: true, changes: Vec::new() });
    };
    let changes: Vec<AttributeChange> = schema
        .compared()
        .filter_map(|attribute| {
            let before = recorded.attributes.get(attribute.name)?;
            let after = found.attributes.get(attribute.name).cloned().unwrap_or(Value::Null);
            (!equal(attribute.comparison, before, &after)).then(|| AttributeChange {
                name: attribute.name.to_owned(),
                before: Some(before.clone()),
                after: Some(PlannedValue::Known(after)),
                forces_replacement: false,
            })
        })
        .collect();
    (!changes.is_empty()).then(|| ResourceDrift { address: recorded.address.clone(), deleted: false, changes })
}

struct Context<'a> {
    changes: &'a [ResourceChange],
    observed: &'a Observations,
}

impl Context<'_> {
    fn resolve(&self, value: &DesiredValue) -> PlannedValue {
        match value {
            DesiredValue::Known(value) => PlannedValue::Known(value.clone()),
            DesiredValue::Reference(reference) => self
                .lookup(reference)
                .map(PlannedValue::Known)
                .unwrap_or_else(|| PlannedValue::Unknown(reference.clone())),
            DesiredValue::Template(template) => template
                .render(|reference| self.lookup(reference))
                .map(PlannedValue::Known)
                .unwrap_or_else(|| PlannedValue::Template(template.clone())),
        }
    }

    /// A referenced attribute's value, when it is known now: the resource is not (re)created
    /// by this plan, nor updated in what the attribute is made from, and was read with that
    /// attribute set.
    fn lookup(&self, reference: &Reference) -> Option<Value> {
        let change = self.changes.iter().find(|change| change.address == reference.address);
        let being_created =
            change.is_none_or(|change| matches!(change.action, ActionKind::Create | ActionKind::Replace));
        let derived_from = reference
            .address
            .resource_type
            .schema()
            .attribute(&reference.attribute)
            .map_or(&[][..], |attribute| attribute.derived_from);
        let being_remade = change.is_some_and(|change| {
            change.action == ActionKind::Update
                && change.changes.iter().any(|changed| derived_from.contains(&changed.name.as_str()))
        });
        if being_created || being_remade {
            return None;
        }
        self.observed
            .get(&reference.address)
            .and_then(Option::as_ref)
            .and_then(|observed| observed.attributes.get(&reference.attribute))
            .filter(|value| !value.is_null())
            .cloned()
    }
}

/// What one resource needs: dropped from the spec, made, refused, changed or left alone.
fn plan_resource(
    address: &Address,
    wanted: Option<&DesiredResource>,
    recorded: Option<&PriorResource>,
    found: Option<&Observed>,
    forced: Option<&Reason>,
    context: &Context<'_>,
) -> Result<Option<ResourceChange>, PlanDiagnostic> {
    let schema = address.resource_type.schema();
    let base = Base::new(address, wanted, recorded, found);
    let Some(wanted) = wanted else {
        return Ok(recorded.map(|_| plan_removal(schema, &base, found)));
    };
    let after: BTreeMap<String, PlannedValue> =
        wanted.attributes.iter().map(|(name, value)| (name.clone(), context.resolve(value))).collect();
    let Some(found) = found else {
        return Ok(Some(plan_creation(schema, &base, recorded.is_some(), after)));
    };
    if recorded.is_none() && !schema.lifecycle.adopts_unrecorded() {
        return Err(not_ours(schema, address, found));
    }
    let attribute_changes = diff(schema, &after, &found.attributes);
    if let Some(diagnostic) = impossible_move(schema, address, &attribute_changes, found) {
        return Err(diagnostic);
    }
    let (action, reason) = action_for(&attribute_changes, recorded, forced);
    let mut change = base.change(action, reason);
    if action == ActionKind::Replace {
        let order = if secret_unused(change.reason.as_ref(), found, context.observed) {
            ReplaceOrder::DestroyBeforeCreate
        } else {
            schema.replace_order
        };
        change.replace_order = Some(order);
    }
    change.changes = attribute_changes;
    change.after = Some(after);
    Ok(Some(change))
}

/// What every change of one resource starts from.
struct Base<'a> {
    address: &'a Address,
    found: Option<&'a Observed>,
    /// See [`dependencies`].
    depends_on: Vec<Address>,
    deposed: Vec<crate::prior::Deposed>,
}

impl<'a> Base<'a> {
    fn new(
        address: &'a Address,
        wanted: Option<&DesiredResource>,
        recorded: Option<&PriorResource>,
        found: Option<&'a Observed>,
    ) -> Self {
        let depends_on = dependencies(wanted, recorded);
        let deposed = recorded.map(|recorded| recorded.deposed.clone()).unwrap_or_default();
        Self { address, found, depends_on, deposed }
    }

    fn change(&self, action: ActionKind, reason: Option<Reason>) -> ResourceChange {
        ResourceChange {
            address: self.address.clone(),
            action,
            replace_order: None,
            reason,
            prior_id: self.found.map(|found| found.id.clone()),
            before: self.found.map(|found| found.attributes.clone()),
            after: None,
            changes: Vec::new(),
            depends_on: self.depends_on.clone(),
            deposed: self.deposed.clone(),
        }
    }
}

/// In the state but no longer in the spec: delete it (a singleton is switched off), or forget
/// it when it is gone already.
fn plan_removal(schema: &ResourceSchema, base: &Base<'_>, found: Option<&Observed>) -> ResourceChange {
    let Some(found) = found.filter(|found| schema.lifecycle.is_on(&found.attributes)) else {
        return base.change(ActionKind::Forget, Some(Reason::AlreadyGone));
    };
    let mut change = base.change(ActionKind::Delete, Some(Reason::NotInSpec));
    change.changes = match schema.lifecycle {
        Lifecycle::Singleton { switch } => vec![AttributeChange {
            name: switch.to_owned(),
            before: Some(Value::Bool(true)),
            after: Some(PlannedValue::Known(Value::Bool(false))),
            forces_replacement: false,
        }],
        Lifecycle::InsideParent | Lifecycle::Created { .. } | Lifecycle::Superseded { .. } => found
            .attributes
            .iter()
            .map(|(name, value)| AttributeChange {
                name: name.clone(),
                before: Some(value.clone()),
                after: None,
                forces_replacement: false,
            })
            .collect(),
    };
    change.changes.sort_by_key(|attribute| schema.position(&attribute.name));
    change
}

/// Not found: create it, as new or because it was deleted outside stowage.
fn plan_creation(
    schema: &ResourceSchema,
    base: &Base<'_>,
    recorded: bool,
    after: BTreeMap<String, PlannedValue>,
) -> ResourceChange {
    let reason = if recorded { Reason::DeletedOutsideStowage } else { Reason::New };
    let mut change = base.change(ActionKind::Create, Some(reason));
    change.changes = after
        .iter()
        .map(|(name, value)| AttributeChange {
            name: name.clone(),
            before: None,
            after: Some(value.clone()),
            forces_replacement: false,
        })
        .collect();
    change.changes.sort_by_key(|attribute| schema.position(&attribute.name));
    change.after = Some(after);
    change
}

/// Found by its natural key but recorded nowhere: it may be someone else's, so it is not taken.
fn not_ours(schema: &ResourceSchema, address: &Address, found: &Observed) -> PlanDiagnostic {
    PlanDiagnostic {
        severity: Severity::Error,
        address: Some(address.clone()),
        message: format!(
            "{} `{}` already exists but is not recorded in this environment's state",
            schema.noun, found.id
        ),
        hint: Some(
            "if it belongs to this environment, record it with `stowage import SPEC` (nothing in AWS or \
             Twilio changes), or use the state file that recorded it (a `.backup` is kept beside the state); \
             otherwise choose another name in the spec"
                .to_owned(),
        ),
    }
}

/// What to do with an object that exists, and why: a taint or a forced recreation replaces it,
/// as does a change the schema cannot apply in place; other changes update it; an unrecorded
/// object is adopted.
fn action_for(
    changes: &[AttributeChange],
    recorded: Option<&PriorResource>,
    forced: Option<&Reason>,
) -> (ActionKind, Option<Reason>) {
    let forcing: Vec<String> =
        changes.iter().filter(|change| change.forces_replacement).map(|change| change.name.clone()).collect();
    if let Some(why) = recorded.and_then(|recorded| recorded.tainted.clone()) {
        (ActionKind::Replace, Some(Reason::Tainted { why }))
    } else if let Some(reason) = forced {
        (ActionKind::Replace, Some(reason.clone()))
    } else if !forcing.is_empty() {
        (ActionKind::Replace, Some(Reason::ForcedBy { attributes: forcing }))
    } else if !changes.is_empty() {
        let reason = if recorded.is_none() { Reason::Adopted } else { Reason::AttributesDiffer };
        (ActionKind::Update, Some(reason))
    } else if recorded.is_none() {
        // Found exactly as wanted: record it, nothing to send.
        (ActionKind::Update, Some(Reason::Adopted))
    } else {
        (ActionKind::NoOp, None)
    }
}

/// Whether a replacement is made only for a new secret (the old one never reached Twilio, or
/// a dependent is made anew and needs one) of an object that nothing observed names: no
/// credential was made from the key, or the one that was is gone. Such an object is destroyed
/// before its replacement is created: nothing is lost by removing it first, and a quota may
/// leave no room for both (IAM allows two access keys per user, and the other may be a deposed
/// key that Twilio's current credential still uses). One that something names keeps the
/// schema's order: create before destroy, so Twilio never writes with a deleted key.
fn secret_unused(reason: Option<&Reason>, found: &Observed, observed: &Observations) -> bool {
    if !matches!(reason, Some(Reason::Tainted { .. } | Reason::SecretNeededBy { .. })) {
        return false;
    }
    let names_it = |other: &Observed| other.attributes.values().any(|value| value.as_str() == Some(&found.id));
    !observed.values().flatten().filter(|other| other.id != found.id).any(names_it)
}

/// A change the service could never apply (see [`stowage_provider::Immovable`]): the schema's
/// immovable attribute changes while the object keeps its name.
fn impossible_move(
    schema: &ResourceSchema,
    address: &Address,
    changes: &[AttributeChange],
    found: &Observed,
) -> Option<PlanDiagnostic> {
    let immovable = schema.immovable?;
    let moved = changes.iter().find(|change| change.name == immovable.attribute)?;
    if changes.iter().any(|change| change.name == immovable.unless) {
        return None;
    }
    let from = moved.before.as_ref().and_then(Value::as_str).unwrap_or("?");
    let to = moved.after.as_ref().and_then(PlannedValue::known).and_then(Value::as_str).unwrap_or("?");
    let (message, hint) = (immovable.refusal)(&found.id, from, to);
    Some(PlanDiagnostic { severity: Severity::Error, address: Some(address.clone()), message, hint: Some(hint) })
}

/// The attributes whose desired value differs from the observed one.
fn diff(schema: &ResourceSchema, after: &BTreeMap<String, PlannedValue>, before: &Attributes) -> Vec<AttributeChange> {
    let mut changes = Vec::new();
    for attribute in schema.compared() {
        let Some(wanted) = after.get(attribute.name) else { continue };
        let current = before.get(attribute.name).cloned().unwrap_or(Value::Null);
        let same = match wanted {
            PlannedValue::Unknown(_) | PlannedValue::Template(_) => false,
            PlannedValue::Known(wanted) => equal(attribute.comparison, wanted, &current),
        };
        if !same {
            changes.push(AttributeChange {
                name: attribute.name.to_owned(),
                before: Some(current),
                after: Some(wanted.clone()),
                forces_replacement: attribute.forces_replacement,
            });
        }
    }
    changes
}

fn equal(comparison: Comparison, wanted: &Value, current: &Value) -> bool {
    match (comparison, wanted, current) {
        (Comparison::PolicyDocument, wanted, current) if wanted.is_object() && current.is_object() => {
            policy::same_meaning(wanted, current)
        }
        (Comparison::S3Url, Value::String(wanted), Value::String(current)) => s3_url::same_location(wanted, current),
        _ => wanted == current,
    }
}

/// Resources that must be recreated because a resource being created needs their secret.
fn secrets_needed(
    desired: &[DesiredResource],
    plan: &Plan,
    already: &BTreeMap<Address, Reason>,
) -> BTreeMap<Address, Reason> {
    let mut forced = BTreeMap::new();
    for resource in desired {
        let creating = plan
            .change(&resource.address)
            .is_some_and(|change| matches!(change.action, ActionKind::Create | ActionKind::Replace));
        if !creating {
            continue;
        }
        for value in resource.attributes.values() {
            let DesiredValue::Reference(reference) = value else { continue };
            if !reference.fresh || already.contains_key(&reference.address) {
                continue;
            }
            let source_created = plan
                .change(&reference.address)
                .is_none_or(|change| matches!(change.action, ActionKind::Create | ActionKind::Replace));
            if !source_created {
                forced.insert(reference.address.clone(), Reason::SecretNeededBy { address: resource.address.clone() });
            }
        }
    }
    forced
}

/// The resources a saved plan would touch whose reality changed since the plan was made:
/// applying the plan then would act on something nobody reviewed.
pub fn changed_since(plan: &Plan, observed: &Observations) -> Vec<Address> {
    plan.changes
        .iter()
        .filter(|change| change.is_change())
        .filter(|change| {
            let now = observed.get(&change.address).and_then(Option::as_ref);
            match (&change.before, now) {
                (None, None) => false,
                (Some(_), None) | (None, Some(_)) => true,
                (Some(before), Some(now)) => {
                    let schema = change.address.resource_type.schema();
                    schema.compared().any(|attribute| {
                        let then = before.get(attribute.name).cloned().unwrap_or(Value::Null);
                        let now = now.attributes.get(attribute.name).cloned().unwrap_or(Value::Null);
                        !equal(attribute.comparison, &then, &now)
                    })
                }
            }
        })
        .map(|change| change.address.clone())
        .collect()
}

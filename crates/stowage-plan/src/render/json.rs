//! The machine-readable plan, in the shape of `terraform show -json`, so the tools that read
//! Terraform plans (OPA/conftest policies, PR-comment bots) read stowage's too.
//!
//! The types below are the boundary: the JSON Schema in `docs/plan-json.schema.json` is
//! generated from them, and `docs/plan-json.md` describes every field and where stowage differs
//! from Terraform.

use std::collections::{BTreeMap, BTreeSet};

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Serialize;
use serde_json::Value;
use stowage_provider::{Address, ResourceType};

use crate::model::{
    ActionKind, AttributeChange, Plan, PlanDiagnostic, PlannedValue, Reason, ResourceChange, ResourceDrift, Severity,
};

/// The attributes of one object, by name, sorted.
pub type JsonAttributes = BTreeMap<String, Value>;

/// A plan as JSON: what `stowage plan --format json` and `stowage show FILE --format json` print.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(
    title = "stowage plan",
    description = "A stowage plan in the shape of `terraform show -json` (format 1.0). See docs/plan-json.md."
)]
pub struct JsonPlan {
    pub format_version: FormatVersion,
    /// Changes made outside stowage since the last apply: `before` is what the state recorded,
    /// `after` what exists now.
    pub resource_drift: Vec<JsonResourceChange>,
    /// Every resource of the environment, changed or not (`["no-op"]`), in dependency order;
    /// each deposed object left by an interrupted replacement is one more entry.
    pub resource_changes: Vec<JsonResourceChange>,
    pub diagnostics: Vec<JsonDiagnostic>,
    pub summary: JsonSummary,
    /// The plan has changes and no errors: applying it does something.
    pub applyable: bool,
    /// Always true: applying this plan reaches the spec, no second plan is needed.
    pub complete: bool,
    /// The plan has error diagnostics and cannot be applied.
    pub errored: bool,
}

/// The version of this format: the minor number grows with additions, the major number with
/// changes a reader must know about (as Terraform's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub enum FormatVersion {
    #[serde(rename = "1.0")]
    V1_0,
}

/// What happens to one object, or (in `resource_drift`) what happened to it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct JsonResourceChange {
    /// `TYPE.NAME`, e.g. `aws_s3_bucket.main`, or `TYPE.NAME["KEY"]` for a fleet member's
    /// instance, e.g. `twilio_aws_credential.main["AC…"]`.
    pub address: String,
    pub mode: Mode,
    #[serde(rename = "type")]
    #[schemars(schema_with = "resource_type_schema")]
    pub resource_type: String,
    pub name: String,
    /// The instance key (a fleet member's account SID), as Terraform gives a `for_each`
    /// instance's key; absent for a resource with one instance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    #[schemars(schema_with = "provider_name_schema")]
    pub provider_name: String,
    /// The id of an old object an interrupted replacement left behind; this entry deletes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deposed: Option<String>,
    pub change: JsonChange,
    /// Why this action, when the action alone does not say (absent for plain creates and updates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_reason: Option<ActionReason>,
    /// The same reason in words, naming what caused it (stowage's addition).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_reason_detail: Option<String>,
}

/// Terraform's resource mode: stowage manages every resource it plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Managed,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct JsonChange {
    /// `["no-op"]`, `["create"]`, `["update"]`, `["delete"]`, `["forget"]`, or a replacement:
    /// `["create", "delete"]` (the new object first) or `["delete", "create"]`.
    #[schemars(length(min = 1, max = 2))]
    pub actions: Vec<JsonAction>,
    /// The object as it exists now; null for a create.
    pub before: Option<JsonAttributes>,
    /// The object once applied, without the values known only after apply; null for a delete
    /// or a forget.
    pub after: Option<JsonAttributes>,
    /// `true` for each attribute of `after` known only after apply.
    pub after_unknown: BTreeMap<String, bool>,
    /// Always `{}`: stowage never puts a secret in a plan.
    pub before_sensitive: NothingSensitive,
    /// Always `{}`: stowage never puts a secret in a plan.
    pub after_sensitive: NothingSensitive,
    /// The attributes whose change forces the replacement, each as a path (`[["name"]]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replace_paths: Vec<Vec<String>>,
}

/// One of Terraform's change actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum JsonAction {
    NoOp,
    Create,
    Update,
    Delete,
    /// Drop from the state only: the object is already gone (Terraform's `forget`).
    Forget,
}

/// An empty object: no value in a stowage plan is sensitive, because none is secret.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NothingSensitive {}

/// Why an action was planned. Terraform's names where Terraform has the case, stowage's own
/// otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionReason {
    /// The state marks the object for replacement (Terraform's).
    ReplaceBecauseTainted,
    /// An attribute that cannot change in place differs: see `replace_paths` (Terraform's).
    ReplaceBecauseCannotUpdate,
    /// A resource being created needs this access key's secret, which exists only when the key
    /// is created.
    ReplaceBecauseSecretNeeded,
    /// No longer in the spec (Terraform's).
    DeleteBecauseNoResourceConfig,
    /// A Twilio settings singleton no longer in the spec: storage in S3 is switched off, the
    /// settings stay (an `["update"]`).
    SwitchOffBecauseNoResourceConfig,
    /// Recorded in the state, but deleted outside stowage: created again.
    CreateBecauseDeletedOutside,
    /// No longer in the spec, and already deleted outside stowage: only dropped from the state.
    ForgetBecauseDeletedOutside,
    /// Twilio's account settings, found configured and not yet managed by stowage: taken over.
    UpdateBecauseNotYetManaged,
    /// Older than the spec's `rotate_after_days`: rotated.
    ReplaceBecauseRotationDue,
    /// A person asked for it with `--replace` or `stowage rotate` (Terraform's).
    ReplaceByRequest,
    /// Destroy keeps it, holding what must not be lost: only dropped from the state.
    ForgetBecauseKept,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JsonSeverity {
    Error,
    Warning,
}

/// A finding about the plan as a whole, or about one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct JsonDiagnostic {
    pub severity: JsonSeverity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    pub summary: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The counts of the human plan's summary line: a replacement counts as one add and one
/// destroy, switching Twilio's settings off as a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub struct JsonSummary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub forget: usize,
}

/// Render a plan as JSON, keys in a fixed order.
pub fn json(plan: &Plan) -> Value {
    // Every map key is a string and every value plain data, so this cannot fail.
    serde_json::to_value(json_plan(plan)).expect("a JSON plan is plain data with string keys")
}

/// The JSON Schema (draft 2020-12) of [`json`]'s output: `docs/plan-json.schema.json`.
pub fn json_schema() -> Value {
    schemars::schema_for!(JsonPlan).to_value()
}

/// The typed form of [`json`]'s output.
pub fn json_plan(plan: &Plan) -> JsonPlan {
    let summary = plan.summary();
    JsonPlan {
        format_version: FormatVersion::V1_0,
        resource_drift: plan.drift.iter().map(drift_entry).collect(),
        resource_changes: plan.changes.iter().flat_map(change_entries).collect(),
        diagnostics: plan.diagnostics.iter().map(diagnostic).collect(),
        summary: JsonSummary {
            add: summary.add,
            change: summary.change,
            destroy: summary.destroy,
            // Terraform's action for what destroy keeps is `forget` too (its `ForgetBecauseKept`
            // reason tells them apart).
            forget: summary.forget + summary.keep,
        },
        applyable: plan.has_changes() && !plan.has_errors(),
        complete: true,
        errored: plan.has_errors(),
    }
}

/// Terraform's actions for a planned change.
fn actions(change: &ResourceChange) -> Vec<JsonAction> {
    match change.action {
        ActionKind::NoOp => vec![JsonAction::NoOp],
        ActionKind::Create => vec![JsonAction::Create],
        ActionKind::Update => vec![JsonAction::Update],
        ActionKind::Replace if change.destroys_first() => vec![JsonAction::Delete, JsonAction::Create],
        ActionKind::Replace => vec![JsonAction::Create, JsonAction::Delete],
        // Twilio's settings always exist: "deleting" them switches S3 storage off.
        ActionKind::Delete if change.switches_off() => vec![JsonAction::Update],
        ActionKind::Delete => vec![JsonAction::Delete],
        ActionKind::Forget => vec![JsonAction::Forget],
    }
}

/// The entries of one planned change: one per deposed object, then the change itself.
fn change_entries(change: &ResourceChange) -> Vec<JsonResourceChange> {
    let mut entries: Vec<JsonResourceChange> = change
        .deposed
        .iter()
        .map(|deposed| JsonResourceChange {
            deposed: Some(deposed.id.clone()),
            change: JsonChange {
                before: Some(deposed.attributes.clone()),
                ..JsonChange::new(vec![JsonAction::Delete])
            },
            ..entry(&change.address)
        })
        .collect();

    let (after, after_unknown) = match change.action {
        ActionKind::NoOp => (change.before.clone(), BTreeMap::new()),
        // In place: what exists with the changing attributes changed, so `before` and `after`
        // differ in exactly the attributes the human plan lists.
        ActionKind::Update => overlay(change.before.clone().unwrap_or_default(), &change.changes),
        ActionKind::Delete if change.switches_off() => {
            overlay(change.before.clone().unwrap_or_default(), &change.changes)
        }
        // A new object: what the spec asks for; what its service assigns is known after apply.
        ActionKind::Create | ActionKind::Replace => new_object(change),
        ActionKind::Delete | ActionKind::Forget => (None, BTreeMap::new()),
    };
    let (action_reason, action_reason_detail) =
        change.reason.as_ref().and_then(|reason| Some((action_reason(reason, change)?, reason.to_string()))).unzip();
    entries.push(JsonResourceChange {
        change: JsonChange {
            before: change.before.clone(),
            after,
            after_unknown,
            replace_paths: change
                .changes
                .iter()
                .filter(|attribute| attribute.forces_replacement)
                .map(|attribute| vec![attribute.name.clone()])
                .collect(),
            ..JsonChange::new(actions(change))
        },
        action_reason,
        action_reason_detail,
        ..entry(&change.address)
    });
    entries
}

fn drift_entry(drift: &ResourceDrift) -> JsonResourceChange {
    let recorded: JsonAttributes = drift
        .changes
        .iter()
        .filter_map(|attribute| Some((attribute.name.clone(), attribute.before.clone()?)))
        .collect();
    let change = if drift.deleted {
        JsonChange { before: Some(recorded), ..JsonChange::new(vec![JsonAction::Delete]) }
    } else {
        let (actual, unknown) = overlay(recorded.clone(), &drift.changes);
        JsonChange {
            before: Some(recorded),
            after: actual,
            after_unknown: unknown,
            ..JsonChange::new(vec![JsonAction::Update])
        }
    };
    JsonResourceChange { change, ..entry(&drift.address) }
}

impl JsonChange {
    /// A change with these actions and no values yet.
    fn new(actions: Vec<JsonAction>) -> Self {
        JsonChange {
            actions,
            before: None,
            after: None,
            after_unknown: BTreeMap::new(),
            before_sensitive: NothingSensitive {},
            after_sensitive: NothingSensitive {},
            replace_paths: Vec::new(),
        }
    }
}

/// An entry for `address` with no change yet.
fn entry(address: &Address) -> JsonResourceChange {
    JsonResourceChange {
        address: address.to_string(),
        mode: Mode::Managed,
        resource_type: address.resource_type.as_str().to_owned(),
        name: address.name.clone(),
        index: address.key.clone(),
        provider_name: address.resource_type.provider().as_str().to_owned(),
        deposed: None,
        change: JsonChange::new(vec![JsonAction::NoOp]),
        action_reason: None,
        action_reason_detail: None,
    }
}

/// `attributes` with each change applied: known values set, unknown ones removed and marked.
fn overlay(
    mut attributes: JsonAttributes,
    changes: &[AttributeChange],
) -> (Option<JsonAttributes>, BTreeMap<String, bool>) {
    let mut unknown = BTreeMap::new();
    for change in changes {
        match &change.after {
            Some(PlannedValue::Known(value)) => {
                attributes.insert(change.name.clone(), value.clone());
            }
            Some(PlannedValue::Unknown(_) | PlannedValue::Template(_)) => {
                attributes.remove(&change.name);
                unknown.insert(change.name.clone(), true);
            }
            None => {
                attributes.remove(&change.name);
            }
        }
    }
    (Some(attributes), unknown)
}

/// The object a create makes: the spec's known values, everything else known after apply.
fn new_object(change: &ResourceChange) -> (Option<JsonAttributes>, BTreeMap<String, bool>) {
    let mut known = JsonAttributes::new();
    let mut unknown = BTreeMap::new();
    for (name, value) in change.after.iter().flatten() {
        match value {
            PlannedValue::Known(value) => {
                known.insert(name.clone(), value.clone());
            }
            PlannedValue::Unknown(_) | PlannedValue::Template(_) => {
                unknown.insert(name.clone(), true);
            }
        }
    }
    for attribute in change.address.resource_type.schema().attributes.iter().filter(|attribute| attribute.computed) {
        if !known.contains_key(attribute.name) {
            unknown.insert(attribute.name.to_owned(), true);
        }
    }
    (Some(known), unknown)
}

fn action_reason(reason: &Reason, change: &ResourceChange) -> Option<ActionReason> {
    Some(match reason {
        Reason::New | Reason::AttributesDiffer => return None,
        Reason::Tainted { .. } => ActionReason::ReplaceBecauseTainted,
        Reason::ForcedBy { .. } => ActionReason::ReplaceBecauseCannotUpdate,
        Reason::SecretNeededBy { .. } => ActionReason::ReplaceBecauseSecretNeeded,
        Reason::NotInSpec if change.switches_off() => ActionReason::SwitchOffBecauseNoResourceConfig,
        Reason::NotInSpec => ActionReason::DeleteBecauseNoResourceConfig,
        Reason::DeletedOutsideStowage => ActionReason::CreateBecauseDeletedOutside,
        Reason::AlreadyGone => ActionReason::ForgetBecauseDeletedOutside,
        Reason::Adopted | Reason::CreatedByInterruptedApply => ActionReason::UpdateBecauseNotYetManaged,
        Reason::Rotation { .. } => ActionReason::ReplaceBecauseRotationDue,
        Reason::Requested => ActionReason::ReplaceByRequest,
        Reason::Kept { .. } => ActionReason::ForgetBecauseKept,
    })
}

fn diagnostic(diagnostic: &PlanDiagnostic) -> JsonDiagnostic {
    JsonDiagnostic {
        severity: match diagnostic.severity {
            Severity::Error => JsonSeverity::Error,
            Severity::Warning => JsonSeverity::Warning,
        },
        address: diagnostic.address.as_ref().map(Address::to_string),
        summary: diagnostic.message.clone(),
        detail: diagnostic.hint.clone(),
    }
}

fn resource_type_schema(_: &mut SchemaGenerator) -> Schema {
    let names: Vec<&str> = ResourceType::ALL.iter().map(|resource_type| resource_type.as_str()).collect();
    json_schema!({ "type": "string", "enum": names })
}

fn provider_name_schema(_: &mut SchemaGenerator) -> Schema {
    let names: BTreeSet<&str> =
        ResourceType::ALL.iter().map(|resource_type| resource_type.provider().as_str()).collect();
    json_schema!({ "type": "string", "enum": names })
}

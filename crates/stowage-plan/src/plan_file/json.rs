//! The body of a saved-plan file, after its header line: the boundary types, and the
//! conversions between them and the plan model. `docs/plan-file.schema.json` is generated from
//! these types.
//!
//! This is format 1 ([`PLAN_FILE_VERSION`](super::PLAN_FILE_VERSION)), the shape its first
//! writer gave it: a file written then still loads. A change a reader must know about is a new
//! format, which older stowages refuse by the header's number.

use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use stowage_provider::{Address, ReplaceOrder, ResourceType};

use super::{SavedPlan, SpecFingerprint, StateFingerprint};
use crate::model::{
    ActionKind, AttributeChange, Plan, PlanDiagnostic, PlanMode, PlannedValue, Reason, Reference, ResourceChange,
    ResourceDrift, Severity, Template,
};
use crate::prior::{Deposed, DeposedOrigin};

/// The attributes of one object, by name, sorted.
pub type JsonAttributes = BTreeMap<String, Value>;

/// A saved plan: the plan exactly as reviewed, and what it was made against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "stowage saved plan",
    description = "The JSON body of a plan file (`stowage plan --out FILE`), after its header line \
                   `stowage-plan 1 sha256=<hex of the body>`."
)]
pub struct JsonSavedPlan {
    /// The version of the stowage that made the plan.
    pub stowage_version: String,
    pub spec: JsonSpec,
    /// The state the plan was made against; null when there was no state file yet.
    pub state: Option<JsonState>,
    /// Where the state file was (as given on the command line, or derived from the spec).
    pub state_path: String,
    pub plan: JsonPlan,
}

/// The spec a plan was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct JsonSpec {
    /// The spec's path as given when planning (relative paths stay relative, so a plan made in
    /// one checkout applies in another).
    pub path: String,
    /// SHA-256 of the spec's bytes, as lowercase hex.
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub sha256: String,
}

/// The state a plan was made against: apply refuses the plan once the state moved on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct JsonState {
    #[schemars(schema_with = "uuid_schema")]
    pub lineage: uuid::Uuid,
    pub serial: u64,
    /// The S3 object version of a remote state (version id, or ETag when unversioned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// The plan: every resource of the environment with its action, in dependency order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JsonPlan {
    pub changes: Vec<JsonResourceChange>,
    /// Changes made outside stowage since the last apply.
    #[serde(default)]
    pub drift: Vec<JsonDrift>,
    pub diagnostics: Vec<JsonDiagnostic>,
    /// Made by `plan --refresh-only`: no action, only the drift, which applying the plan
    /// records in the state without a call to AWS or Twilio.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refresh_only: bool,
    /// Made by `plan --destroy`: everything the state records is destroyed, except what holds
    /// recordings and what they need, which is kept and only dropped from the state.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub destroy: bool,
    /// When the plan was made (RFC 3339): what ages, an access key, was judged at this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_at: Option<String>,
}

/// What happens to one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JsonResourceChange {
    #[schemars(schema_with = "address_schema")]
    pub address: String,
    pub action: JsonAction,
    /// Which half of a replacement comes first; only for a replace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace_order: Option<JsonReplaceOrder>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<JsonReason>,
    /// The id of the existing object this change acts on (update, replace, delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_id: Option<String>,
    /// What exists now; null for a create.
    pub before: Option<JsonAttributes>,
    /// What will exist; null for a delete.
    pub after: Option<BTreeMap<String, JsonPlannedValue>>,
    /// The attributes that change (empty for a no-op).
    pub changes: Vec<JsonAttributeChange>,
    /// What the change waits for: what the resource depends on now and depended on when last
    /// applied.
    #[schemars(schema_with = "addresses_schema")]
    pub depends_on: Vec<String>,
    /// Old objects still to delete: left by an earlier replacement or an interrupted apply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deposed: Vec<JsonDeposed>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JsonAction {
    NoOp,
    Create,
    Update,
    Replace,
    Delete,
    /// Drop from the state: the resource is already gone.
    Forget,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JsonReplaceOrder {
    CreateBeforeDestroy,
    DestroyBeforeCreate,
}

/// Why an action was planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum JsonReason {
    /// In the spec, not yet created.
    New,
    /// In the state, but deleted outside stowage.
    DeletedOutsideStowage,
    /// Exists, but some attributes differ from the spec.
    AttributesDiffer,
    /// An attribute that cannot change in place differs.
    ForcedBy { attributes: Vec<String> },
    /// A resource this one hands a secret to must be created, and the secret exists only when
    /// this one is created.
    SecretNeededBy {
        #[schemars(schema_with = "address_schema")]
        address: String,
    },
    /// The state marks it for replacement.
    Tainted { why: String },
    /// No longer in the spec.
    NotInSpec,
    /// No longer in the spec, and already gone.
    AlreadyGone,
    /// A Twilio settings singleton found configured, adopted into the state.
    Adopted,
    /// Made by an apply that was interrupted before it could record it.
    CreatedByInterruptedApply,
    /// Older than the spec's rotation period.
    Rotation { age_days: u64, after_days: u64 },
    /// A person asked for it.
    Requested,
    /// Destroy keeps it.
    Kept { why: String },
}

/// One attribute that changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JsonAttributeChange {
    pub name: String,
    pub before: Option<Value>,
    pub after: Option<JsonPlannedValue>,
    pub forces_replacement: bool,
}

/// A planned value: known, or known only after apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JsonPlannedValue {
    Known(Value),
    /// Known after apply, from the referenced resource.
    Unknown(JsonReference),
    /// Known after apply, once the template's references have values.
    Template(JsonTemplate),
}

/// An attribute of another resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct JsonReference {
    #[schemars(schema_with = "address_schema")]
    pub address: String,
    pub attribute: String,
    /// The referenced resource is created in the same apply whenever this one is.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fresh: bool,
}

/// A JSON value whose strings hold `${address.attribute}` placeholders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JsonTemplate {
    pub value: Value,
    /// Every reference whose placeholder appears in `value`.
    pub references: Vec<JsonReference>,
}

/// An object to delete that is not the resource's current one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JsonDeposed {
    pub id: String,
    pub attributes: JsonAttributes,
    #[serde(default, skip_serializing_if = "JsonDeposedOrigin::is_replacement")]
    pub origin: JsonDeposedOrigin,
}

/// How an object came to be deposed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JsonDeposedOrigin {
    /// The old half of a create-before-destroy replacement.
    #[default]
    Replacement,
    /// Left by an interrupted apply.
    InterruptedApply,
}

impl JsonDeposedOrigin {
    fn is_replacement(&self) -> bool {
        *self == JsonDeposedOrigin::Replacement
    }
}

/// A recorded resource whose reality differs from the state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JsonDrift {
    #[schemars(schema_with = "address_schema")]
    pub address: String,
    /// The object was deleted outside stowage.
    pub deleted: bool,
    /// `before` is what the state recorded, `after` what exists.
    pub changes: Vec<JsonAttributeChange>,
}

/// A finding of the planner about the plan as a whole or one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct JsonDiagnostic {
    pub severity: JsonSeverity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "optional_address_schema")]
    pub address: Option<String>,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JsonSeverity {
    Error,
    Warning,
}

/// The JSON Schema (draft 2020-12) of a plan file's body: `docs/plan-file.schema.json`.
pub fn json_schema() -> Value {
    schemars::schema_for!(JsonSavedPlan).to_value()
}

// From the model to the file.

impl From<&SavedPlan> for JsonSavedPlan {
    fn from(saved: &SavedPlan) -> Self {
        JsonSavedPlan {
            stowage_version: saved.stowage_version.clone(),
            spec: JsonSpec { path: saved.spec.path.clone(), sha256: saved.spec.sha256.clone() },
            state: saved.state.as_ref().map(|state| JsonState {
                lineage: state.lineage,
                serial: state.serial,
                version: state.version.clone(),
            }),
            state_path: saved.state_path.clone(),
            plan: JsonPlan::from(&saved.plan),
        }
    }
}

impl From<&Plan> for JsonPlan {
    fn from(plan: &Plan) -> Self {
        JsonPlan {
            changes: plan.changes.iter().map(JsonResourceChange::from).collect(),
            drift: plan.drift.iter().map(JsonDrift::from).collect(),
            diagnostics: plan.diagnostics.iter().map(JsonDiagnostic::from).collect(),
            refresh_only: plan.mode == PlanMode::RefreshOnly,
            destroy: plan.mode == PlanMode::Destroy,
            planned_at: plan.planned_at.map(|time| time.to_string()),
        }
    }
}

impl From<&ResourceChange> for JsonResourceChange {
    fn from(change: &ResourceChange) -> Self {
        JsonResourceChange {
            address: change.address.to_string(),
            action: match change.action {
                ActionKind::NoOp => JsonAction::NoOp,
                ActionKind::Create => JsonAction::Create,
                ActionKind::Update => JsonAction::Update,
                ActionKind::Replace => JsonAction::Replace,
                ActionKind::Delete => JsonAction::Delete,
                ActionKind::Forget => JsonAction::Forget,
            },
            replace_order: change.replace_order.map(|order| match order {
                ReplaceOrder::CreateBeforeDestroy => JsonReplaceOrder::CreateBeforeDestroy,
                ReplaceOrder::DestroyBeforeCreate => JsonReplaceOrder::DestroyBeforeCreate,
            }),
            reason: change.reason.as_ref().map(JsonReason::from),
            prior_id: change.prior_id.clone(),
            before: change.before.clone(),
            after: change
                .after
                .as_ref()
                .map(|after| after.iter().map(|(name, value)| (name.clone(), JsonPlannedValue::from(value))).collect()),
            changes: change.changes.iter().map(JsonAttributeChange::from).collect(),
            depends_on: change.depends_on.iter().map(Address::to_string).collect(),
            deposed: change.deposed.iter().map(JsonDeposed::from).collect(),
        }
    }
}

impl From<&Reason> for JsonReason {
    fn from(reason: &Reason) -> Self {
        match reason {
            Reason::New => JsonReason::New,
            Reason::DeletedOutsideStowage => JsonReason::DeletedOutsideStowage,
            Reason::AttributesDiffer => JsonReason::AttributesDiffer,
            Reason::ForcedBy { attributes } => JsonReason::ForcedBy { attributes: attributes.clone() },
            Reason::SecretNeededBy { address } => JsonReason::SecretNeededBy { address: address.to_string() },
            Reason::Tainted { why } => JsonReason::Tainted { why: why.clone() },
            Reason::NotInSpec => JsonReason::NotInSpec,
            Reason::AlreadyGone => JsonReason::AlreadyGone,
            Reason::Adopted => JsonReason::Adopted,
            Reason::CreatedByInterruptedApply => JsonReason::CreatedByInterruptedApply,
            Reason::Rotation { age_days, after_days } => {
                JsonReason::Rotation { age_days: *age_days, after_days: *after_days }
            }
            Reason::Requested => JsonReason::Requested,
            Reason::Kept { why } => JsonReason::Kept { why: why.clone() },
        }
    }
}

impl From<&AttributeChange> for JsonAttributeChange {
    fn from(change: &AttributeChange) -> Self {
        JsonAttributeChange {
            name: change.name.clone(),
            before: change.before.clone(),
            after: change.after.as_ref().map(JsonPlannedValue::from),
            forces_replacement: change.forces_replacement,
        }
    }
}

impl From<&PlannedValue> for JsonPlannedValue {
    fn from(value: &PlannedValue) -> Self {
        match value {
            PlannedValue::Known(value) => JsonPlannedValue::Known(value.clone()),
            PlannedValue::Unknown(reference) => JsonPlannedValue::Unknown(JsonReference::from(reference)),
            PlannedValue::Template(template) => JsonPlannedValue::Template(JsonTemplate {
                value: template.value.clone(),
                references: template.references.iter().map(JsonReference::from).collect(),
            }),
        }
    }
}

impl From<&Reference> for JsonReference {
    fn from(reference: &Reference) -> Self {
        JsonReference {
            address: reference.address.to_string(),
            attribute: reference.attribute.clone(),
            fresh: reference.fresh,
        }
    }
}

impl From<&Deposed> for JsonDeposed {
    fn from(deposed: &Deposed) -> Self {
        JsonDeposed {
            id: deposed.id.clone(),
            attributes: deposed.attributes.clone(),
            origin: match deposed.origin {
                DeposedOrigin::Replacement => JsonDeposedOrigin::Replacement,
                DeposedOrigin::InterruptedApply => JsonDeposedOrigin::InterruptedApply,
            },
        }
    }
}

impl From<&ResourceDrift> for JsonDrift {
    fn from(drift: &ResourceDrift) -> Self {
        JsonDrift {
            address: drift.address.to_string(),
            deleted: drift.deleted,
            changes: drift.changes.iter().map(JsonAttributeChange::from).collect(),
        }
    }
}

impl From<&PlanDiagnostic> for JsonDiagnostic {
    fn from(diagnostic: &PlanDiagnostic) -> Self {
        JsonDiagnostic {
            severity: match diagnostic.severity {
                Severity::Error => JsonSeverity::Error,
                Severity::Warning => JsonSeverity::Warning,
            },
            address: diagnostic.address.as_ref().map(Address::to_string),
            message: diagnostic.message.clone(),
            hint: diagnostic.hint.clone(),
        }
    }
}

// From the file to the model: only an address can be wrong in a file that parsed.

impl TryFrom<JsonSavedPlan> for SavedPlan {
    type Error = String;

    fn try_from(saved: JsonSavedPlan) -> Result<Self, String> {
        Ok(SavedPlan {
            stowage_version: saved.stowage_version,
            spec: SpecFingerprint { path: saved.spec.path, sha256: saved.spec.sha256 },
            state: saved.state.map(|state| StateFingerprint {
                lineage: state.lineage,
                serial: state.serial,
                version: state.version,
            }),
            state_path: saved.state_path,
            plan: Plan::try_from(saved.plan)?,
        })
    }
}

impl TryFrom<JsonPlan> for Plan {
    type Error = String;

    fn try_from(plan: JsonPlan) -> Result<Self, String> {
        Ok(Plan {
            changes: plan.changes.into_iter().map(ResourceChange::try_from).collect::<Result<_, _>>()?,
            drift: plan.drift.into_iter().map(ResourceDrift::try_from).collect::<Result<_, _>>()?,
            diagnostics: plan.diagnostics.into_iter().map(PlanDiagnostic::try_from).collect::<Result<_, _>>()?,
            mode: match (plan.refresh_only, plan.destroy) {
                (false, false) => PlanMode::Normal,
                (true, false) => PlanMode::RefreshOnly,
                (false, true) => PlanMode::Destroy,
                (true, true) => return Err("a plan cannot be both refresh-only and a destroy plan".to_owned()),
            },
            planned_at: plan
                .planned_at
                .map(|text| text.parse().map_err(|error| format!("`planned_at` `{text}`: {error}")))
                .transpose()?,
        })
    }
}

impl TryFrom<JsonResourceChange> for ResourceChange {
    type Error = String;

    fn try_from(change: JsonResourceChange) -> Result<Self, String> {
        let after = match change.after {
            Some(after) => Some(
                after
                    .into_iter()
                    .map(|(name, value)| Ok((name, PlannedValue::try_from(value)?)))
                    .collect::<Result<_, String>>()?,
            ),
            None => None,
        };
        Ok(ResourceChange {
            address: address(&change.address)?,
            action: match change.action {
                JsonAction::NoOp => ActionKind::NoOp,
                JsonAction::Create => ActionKind::Create,
                JsonAction::Update => ActionKind::Update,
                JsonAction::Replace => ActionKind::Replace,
                JsonAction::Delete => ActionKind::Delete,
                JsonAction::Forget => ActionKind::Forget,
            },
            replace_order: change.replace_order.map(|order| match order {
                JsonReplaceOrder::CreateBeforeDestroy => ReplaceOrder::CreateBeforeDestroy,
                JsonReplaceOrder::DestroyBeforeCreate => ReplaceOrder::DestroyBeforeCreate,
            }),
            reason: change.reason.map(Reason::try_from).transpose()?,
            prior_id: change.prior_id,
            before: change.before,
            after,
            changes: change.changes.into_iter().map(AttributeChange::try_from).collect::<Result<_, _>>()?,
            depends_on: change.depends_on.iter().map(|text| address(text)).collect::<Result<_, _>>()?,
            deposed: change.deposed.into_iter().map(Deposed::from).collect(),
        })
    }
}

impl TryFrom<JsonReason> for Reason {
    type Error = String;

    fn try_from(reason: JsonReason) -> Result<Self, String> {
        Ok(match reason {
            JsonReason::New => Reason::New,
            JsonReason::DeletedOutsideStowage => Reason::DeletedOutsideStowage,
            JsonReason::AttributesDiffer => Reason::AttributesDiffer,
            JsonReason::ForcedBy { attributes } => Reason::ForcedBy { attributes },
            JsonReason::SecretNeededBy { address: text } => Reason::SecretNeededBy { address: address(&text)? },
            JsonReason::Tainted { why } => Reason::Tainted { why },
            JsonReason::NotInSpec => Reason::NotInSpec,
            JsonReason::AlreadyGone => Reason::AlreadyGone,
            JsonReason::Adopted => Reason::Adopted,
            JsonReason::CreatedByInterruptedApply => Reason::CreatedByInterruptedApply,
            JsonReason::Rotation { age_days, after_days } => Reason::Rotation { age_days, after_days },
            JsonReason::Requested => Reason::Requested,
            JsonReason::Kept { why } => Reason::Kept { why },
        })
    }
}

impl TryFrom<JsonAttributeChange> for AttributeChange {
    type Error = String;

    fn try_from(change: JsonAttributeChange) -> Result<Self, String> {
        Ok(AttributeChange {
            name: change.name,
            before: change.before,
            after: change.after.map(PlannedValue::try_from).transpose()?,
            forces_replacement: change.forces_replacement,
        })
    }
}

impl TryFrom<JsonPlannedValue> for PlannedValue {
    type Error = String;

    fn try_from(value: JsonPlannedValue) -> Result<Self, String> {
        Ok(match value {
            JsonPlannedValue::Known(value) => PlannedValue::Known(value),
            JsonPlannedValue::Unknown(reference) => PlannedValue::Unknown(Reference::try_from(reference)?),
            JsonPlannedValue::Template(template) => PlannedValue::Template(Template {
                value: template.value,
                references: template.references.into_iter().map(Reference::try_from).collect::<Result<_, _>>()?,
            }),
        })
    }
}

impl TryFrom<JsonReference> for Reference {
    type Error = String;

    fn try_from(reference: JsonReference) -> Result<Self, String> {
        Ok(Reference { address: address(&reference.address)?, attribute: reference.attribute, fresh: reference.fresh })
    }
}

impl From<JsonDeposed> for Deposed {
    fn from(deposed: JsonDeposed) -> Self {
        Deposed {
            id: deposed.id,
            attributes: deposed.attributes,
            origin: match deposed.origin {
                JsonDeposedOrigin::Replacement => DeposedOrigin::Replacement,
                JsonDeposedOrigin::InterruptedApply => DeposedOrigin::InterruptedApply,
            },
        }
    }
}

impl TryFrom<JsonDrift> for ResourceDrift {
    type Error = String;

    fn try_from(drift: JsonDrift) -> Result<Self, String> {
        Ok(ResourceDrift {
            address: address(&drift.address)?,
            deleted: drift.deleted,
            changes: drift.changes.into_iter().map(AttributeChange::try_from).collect::<Result<_, _>>()?,
        })
    }
}

impl TryFrom<JsonDiagnostic> for PlanDiagnostic {
    type Error = String;

    fn try_from(diagnostic: JsonDiagnostic) -> Result<Self, String> {
        Ok(PlanDiagnostic {
            severity: match diagnostic.severity {
                JsonSeverity::Error => Severity::Error,
                JsonSeverity::Warning => Severity::Warning,
            },
            address: diagnostic.address.as_deref().map(address).transpose()?,
            message: diagnostic.message,
            hint: diagnostic.hint,
        })
    }
}

fn address(text: &str) -> Result<Address, String> {
    text.parse().map_err(|error| format!("{error}"))
}

/// `TYPE.NAME`, of the types stowage knows.
fn address_pattern() -> String {
    let types: Vec<&str> = ResourceType::ALL.iter().map(|resource_type| resource_type.as_str()).collect();
    format!(r"^({})\.[^.]+$", types.join("|"))
}

fn address_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "pattern": address_pattern() })
}

fn optional_address_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": ["string", "null"], "pattern": address_pattern() })
}

fn addresses_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "array", "items": { "type": "string", "pattern": address_pattern() } })
}

fn uuid_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "format": "uuid" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_address_is_refused_by_name() {
        let plan = JsonPlan {
            changes: Vec::new(),
            drift: vec![JsonDrift { address: "aws_instance.main".to_owned(), deleted: true, changes: Vec::new() }],
            diagnostics: Vec::new(),
            refresh_only: false,
            destroy: false,
            planned_at: None,
        };
        assert_eq!(Plan::try_from(plan), Err("unknown resource type `aws_instance`".to_owned()));
    }
}

//! The plan model: what will change, attribute by attribute, and why. Every renderer (human,
//! JSON, Markdown) reads this one model, so they cannot disagree.
//!
//! Internal: nothing here is serialized. What a person or a tool reads has its own boundary
//! types (`render::json`, `plan_file::json`, `drift_report::json`, `verify::json`), each with a
//! JSON Schema under `docs/`.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;
use stowage_provider::{Address, Attributes, ReplaceOrder};

use crate::prior::{Deposed, PriorResource};

/// A value the spec asks for: known now, or taken from another resource once it exists.
#[derive(Debug, Clone, PartialEq)]
pub enum DesiredValue {
    Known(Value),
    Reference(Reference),
    /// A value with other resources' attributes spliced into its strings.
    Template(Template),
}

/// An attribute of another resource, e.g. the id of the access key a credential is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub address: Address,
    pub attribute: String,
    /// The referenced resource must be created in the same apply whenever this one is:
    /// what is handed over (an access key secret) exists only at creation.
    pub fresh: bool,
}

/// A JSON value whose strings hold placeholders for other resources' attributes, e.g. a policy
/// naming a KMS key that does not exist yet: `"Resource": "${aws_kms_key.main.arn}"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub value: Value,
    /// Every reference whose placeholder appears in `value`.
    pub references: Vec<Reference>,
}

impl Template {
    /// The placeholder text that stands for `reference` in a template's strings.
    pub fn placeholder(reference: &Reference) -> String {
        format!("${{{}.{}}}", reference.address, reference.attribute)
    }

    /// The value with every placeholder replaced, or `None` while some reference has no value.
    /// A string value is spliced in as is; any other value as its JSON text.
    pub fn render(&self, mut lookup: impl FnMut(&Reference) -> Option<Value>) -> Option<Value> {
        let mut substitutions = Vec::with_capacity(self.references.len());
        for reference in &self.references {
            let text = match lookup(reference)? {
                Value::String(text) => text,
                Value::Null => return None,
                other => other.to_string(),
            };
            substitutions.push((Self::placeholder(reference), text));
        }
        Some(substitute(&self.value, &substitutions))
    }
}

fn substitute(value: &Value, substitutions: &[(String, String)]) -> Value {
    match value {
        Value::String(text) => Value::String(
            substitutions.iter().fold(text.clone(), |text, (placeholder, with)| text.replace(placeholder, with)),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|item| substitute(item, substitutions)).collect()),
        Value::Object(fields) => {
            Value::Object(fields.iter().map(|(name, item)| (name.clone(), substitute(item, substitutions))).collect())
        }
        other => other.clone(),
    }
}

/// One resource the spec asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredResource {
    pub address: Address,
    pub attributes: BTreeMap<String, DesiredValue>,
    pub depends_on: Vec<Address>,
}

impl DesiredResource {
    /// The attributes known before anything is applied: what a read by natural key needs.
    pub fn known_attributes(&self) -> Attributes {
        self.attributes
            .iter()
            .filter_map(|(name, value)| match value {
                DesiredValue::Known(value) => Some((name.clone(), value.clone())),
                DesiredValue::Reference(_) | DesiredValue::Template(_) => None,
            })
            .collect()
    }
}

/// What a resource's change depends on: what the spec says it depends on now and what the state
/// says it depended on when last applied, sorted. A dependency the spec dropped (the bucket's KMS
/// key) must outlive the update that stops using it.
pub fn dependencies(wanted: Option<&DesiredResource>, recorded: Option<&PriorResource>) -> Vec<Address> {
    let mut depends_on: Vec<Address> = wanted
        .map(|wanted| wanted.depends_on.clone())
        .into_iter()
        .chain(recorded.map(|recorded| recorded.depends_on.clone()))
        .flatten()
        .collect();
    depends_on.sort();
    depends_on.dedup();
    depends_on
}

/// A planned attribute value: known, or known only after apply.
#[derive(Debug, Clone, PartialEq)]
pub enum PlannedValue {
    Known(Value),
    /// Known after apply, from the referenced resource.
    Unknown(Reference),
    /// Known after apply, once the template's references have values.
    Template(Template),
}

impl PlannedValue {
    pub fn known(&self) -> Option<&Value> {
        match self {
            PlannedValue::Known(value) => Some(value),
            PlannedValue::Unknown(_) | PlannedValue::Template(_) => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ActionKind {
    NoOp,
    Create,
    Update,
    Replace,
    Delete,
    /// Drop from the state: the resource is already gone.
    Forget,
}

impl ActionKind {
    pub fn is_change(self) -> bool {
        self != ActionKind::NoOp
    }
}

/// Why an action was planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
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
    SecretNeededBy { address: Address },
    /// The state marks it for replacement.
    Tainted { why: String },
    /// No longer in the spec.
    NotInSpec,
    /// No longer in the spec, and already gone.
    AlreadyGone,
    /// A Twilio settings singleton found configured, adopted into the state.
    Adopted,
    /// Made by an apply that was interrupted before it could record it (its intent is in the
    /// state); nothing about it was lost, so it is recorded rather than made again.
    CreatedByInterruptedApply,
    /// Older than the spec's rotation period (`rotate_after_days`).
    Rotation { age_days: u64, after_days: u64 },
    /// A person asked for it (`--replace`, `stowage rotate`).
    Requested,
    /// Destroy leaves it in place, and drops it from the state: it holds what must not be lost
    /// (a bucket's recordings), or what they need to be read (the KMS key of such a bucket).
    /// `why` is a sentence for the reader: what it holds, or what needs it, and what to do.
    Kept { why: String },
}

impl Reason {
    /// Whether the object is replaced as a whole, whatever its attributes: marked for it, due
    /// for rotation, or asked for. (A replacement forced by an attribute is about that
    /// attribute.)
    pub fn replaces_as_a_whole(&self) -> bool {
        match self {
            Reason::Tainted { .. } | Reason::Rotation { .. } | Reason::Requested => true,
            Reason::New
            | Reason::DeletedOutsideStowage
            | Reason::AttributesDiffer
            | Reason::ForcedBy { .. }
            | Reason::SecretNeededBy { .. }
            | Reason::NotInSpec
            | Reason::AlreadyGone
            | Reason::Adopted
            | Reason::CreatedByInterruptedApply
            | Reason::Kept { .. } => false,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::New => f.write_str("not yet created"),
            Reason::DeletedOutsideStowage => f.write_str("deleted outside stowage"),
            Reason::AttributesDiffer => f.write_str("attributes differ from the spec"),
            Reason::ForcedBy { attributes } => write!(f, "`{}` cannot change in place", attributes.join("`, `")),
            Reason::SecretNeededBy { address } => {
                write!(f, "`{address}` needs this key's secret, which exists only when the key is created")
            }
            Reason::Tainted { why } => f.write_str(why),
            Reason::NotInSpec => f.write_str("no longer in the spec"),
            Reason::AlreadyGone => f.write_str("no longer in the spec, and already deleted outside stowage"),
            Reason::Adopted => f.write_str("Twilio's account settings, not yet managed by stowage"),
            Reason::CreatedByInterruptedApply => {
                f.write_str("created by an interrupted apply, which could not record it: recorded now")
            }
            Reason::Rotation { age_days, after_days } => {
                let days = if *age_days == 1 { "day" } else { "days" };
                write!(f, "it is {age_days} {days} old; the spec rotates it after {after_days}")
            }
            Reason::Requested => f.write_str("replacement requested"),
            Reason::Kept { why } => f.write_str(why),
        }
    }
}

/// One attribute that changes.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeChange {
    pub name: String,
    pub before: Option<Value>,
    pub after: Option<PlannedValue>,
    pub forces_replacement: bool,
}

/// What happens to one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceChange {
    pub address: Address,
    pub action: ActionKind,
    /// Which half of a replacement comes first; `None` unless the action is a replace.
    pub replace_order: Option<ReplaceOrder>,
    pub reason: Option<Reason>,
    /// The id of the existing object this change acts on (update, replace, delete).
    pub prior_id: Option<String>,
    /// What exists now (observed), `None` for a create.
    pub before: Option<Attributes>,
    /// What will exist, `None` for a delete.
    pub after: Option<BTreeMap<String, PlannedValue>>,
    /// The attributes that change (empty for a no-op).
    pub changes: Vec<AttributeChange>,
    pub depends_on: Vec<Address>,
    /// Old objects of an earlier replacement that still exist: each is deleted.
    pub deposed: Vec<Deposed>,
}

impl ResourceChange {
    /// Whether applying this change does anything.
    pub fn is_change(&self) -> bool {
        self.action.is_change() || !self.deposed.is_empty()
    }

    /// A replacement that deletes the old object before it creates the new one.
    pub fn destroys_first(&self) -> bool {
        self.replace_order == Some(ReplaceOrder::DestroyBeforeCreate)
    }

    /// An object destroy leaves in place and drops from the state ([`Reason::Kept`]).
    pub fn keeps(&self) -> bool {
        self.action == ActionKind::Forget && matches!(self.reason, Some(Reason::Kept { .. }))
    }

    /// A delete of an object that always exists (Twilio's storage settings): it is switched
    /// off, never destroyed, so every output shows it as a change.
    pub fn switches_off(&self) -> bool {
        self.action == ActionKind::Delete && self.address.resource_type.schema().lifecycle.is_singleton()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// A finding of the planner about the plan as a whole or one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanDiagnostic {
    pub severity: Severity,
    pub address: Option<Address>,
    pub message: String,
    pub hint: Option<String>,
}

/// What moved outside stowage: a recorded resource whose reality differs from the state.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceDrift {
    pub address: Address,
    /// The object was deleted outside stowage.
    pub deleted: bool,
    /// Attributes whose actual value differs from the recorded one (`before` = recorded,
    /// `after` = actual).
    pub changes: Vec<AttributeChange>,
}

/// The plan: every resource of the environment with its action, in dependency order.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub changes: Vec<ResourceChange>,
    /// Changes made outside stowage since the last apply, by address.
    pub drift: Vec<ResourceDrift>,
    pub diagnostics: Vec<PlanDiagnostic>,
    pub mode: PlanMode,
    /// When the plan was made (`PlanInputs::now`): what ages, a key, was judged at this time.
    pub planned_at: Option<jiff::Timestamp>,
}

/// What a plan is for. Every output and the plan file match on it, so a new mode is a decision
/// each of them must make.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PlanMode {
    /// Bring reality to the spec: every action that takes.
    #[default]
    Normal,
    /// Made by `plan --refresh-only`: no action, only the drift, which applying the plan
    /// records in the state without a call to AWS or Twilio.
    RefreshOnly,
    /// Made by `destroy` and `plan --destroy`: everything the state records goes, except what
    /// holds data and what that needs, which is kept and only dropped from the state
    /// ([`crate::destroy`]).
    Destroy,
}

/// Counts for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub forget: usize,
    /// Left in place by destroy, and dropped from the state ([`Reason::Kept`]).
    pub keep: usize,
}

impl Plan {
    /// Whether applying the plan changes anything: an action, or for a refresh-only plan, drift
    /// to record in the state.
    pub fn has_changes(&self) -> bool {
        match self.mode {
            PlanMode::Normal | PlanMode::Destroy => self.changes.iter().any(ResourceChange::is_change),
            PlanMode::RefreshOnly => !self.drift.is_empty(),
        }
    }

    /// The refresh-only form of this plan: the drift, and none of the actions (nor the warnings
    /// about them). Errors stay: a plan that cannot be made cannot be refreshed either.
    #[must_use]
    pub fn refresh_only(mut self) -> Plan {
        self.changes.clear();
        self.diagnostics.retain(|diagnostic| diagnostic.severity == Severity::Error || diagnostic.address.is_none());
        self.mode = PlanMode::RefreshOnly;
        self
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|diagnostic| diagnostic.severity == Severity::Error)
    }

    pub fn change(&self, address: &Address) -> Option<&ResourceChange> {
        self.changes.iter().find(|change| &change.address == address)
    }

    /// The other side of each change's `depends_on`: for each address, the addresses whose
    /// changes depend on it, in plan order.
    pub fn dependents(&self) -> BTreeMap<&Address, Vec<&Address>> {
        let mut dependents: BTreeMap<&Address, Vec<&Address>> = BTreeMap::new();
        for change in &self.changes {
            for dependency in &change.depends_on {
                dependents.entry(dependency).or_default().push(&change.address);
            }
        }
        dependents
    }

    pub fn summary(&self) -> Summary {
        self.summary_of(|_| true)
    }

    /// [`Plan::summary`] of the changes `which` takes (a fleet member's, for one line each).
    pub fn summary_of(&self, which: impl Fn(&ResourceChange) -> bool) -> Summary {
        let mut summary = Summary::default();
        for change in self.changes.iter().filter(|change| which(change)) {
            match change.action {
                ActionKind::NoOp => {}
                ActionKind::Create => summary.add += 1,
                ActionKind::Update => summary.change += 1,
                ActionKind::Replace => {
                    summary.add += 1;
                    summary.destroy += 1;
                }
                ActionKind::Delete if change.switches_off() => summary.change += 1,
                ActionKind::Delete => summary.destroy += 1,
                ActionKind::Forget if change.keeps() => summary.keep += 1,
                ActionKind::Forget => summary.forget += 1,
            }
            summary.destroy += change.deposed.len();
        }
        summary
    }
}

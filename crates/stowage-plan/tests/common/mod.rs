//! Helpers for the planner tests: the dev spec, an untouched account, a simulated successful
//! apply, and the text a snapshot shows (the human plan and the apply steps).

use std::collections::BTreeMap;

use serde_json::{Value, json};
use stowage_plan::render::{self, HumanOptions};
use stowage_plan::{
    ActionKind, DesiredResource, Observations, Plan, PlannedValue, Prior, PriorResource, Reference, StepKind,
    desired_resources, plan, read_targets, steps,
};
use stowage_provider::{Address, Attributes, Comparison, Observed, ResourceType};

/// The example spec the repository ships.
pub const DEV_SPEC: &str = include_str!("../../../../examples/dev.toml");

/// The uploader's access key after the first apply, and its Twilio credential.
pub const FIRST_ACCESS_KEY_ID: &str = "AKIAEXAMPLE000000001";
pub const FIRST_CREDENTIAL_SID: &str = "CR00000000000000000000000000000001";

const ACCESS_KEY_PREFIX: &str = "AKIAEXAMPLE";
const CREDENTIAL_PREFIX: &str = "CR";
const ACCOUNT_ID: &str = "123456789012";
/// Twilio's settings singletons have no SID of their own: there is one per account.
const SETTINGS_ID: &str = "Default";

/// What the spec text asks for; panics with the spec's diagnostics when it does not validate.
pub fn desired(spec_text: &str) -> Vec<DesiredResource> {
    let validated =
        stowage_spec::parse("dev.toml", spec_text).unwrap_or_else(|errors| panic!("spec is invalid:\n{errors}"));
    desired_resources(&validated.spec)
}

/// `text` with its single occurrence of `from` replaced by `to`.
pub fn edit(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "`{from}` must occur exactly once in the spec");
    text.replacen(from, to, 1)
}

/// What a refresh finds in an account stowage never touched: nothing, except Twilio's settings
/// singletons, which always exist (with Twilio's defaults: storage off).
pub fn untouched_account(desired: &[DesiredResource], prior: &Prior) -> Observations {
    read_targets(desired, prior)
        .into_iter()
        .map(|target| {
            let found = target.address.resource_type.schema().lifecycle.is_singleton().then(twilio_default_settings);
            (target.address, found)
        })
        .collect()
}

/// [`untouched_account`], but for a bucket of the spec's name that the state does not record:
/// someone else's, which the planner must refuse to take over.
pub fn account_with_someone_elses_bucket(desired: &[DesiredResource], prior: &Prior) -> Observations {
    let bucket_address = stowage_plan::desired::bucket_address();
    let mut observations = untouched_account(desired, prior);
    let bucket = desired.iter().find(|resource| resource.address == bucket_address).expect("bucket desired");
    let attributes = bucket.known_attributes();
    observations.insert(bucket_address, Some(Observed { id: "acme-video-dev".to_owned(), attributes }));
    observations
}

pub fn twilio_default_settings() -> Observed {
    Observed {
        id: SETTINGS_ID.to_owned(),
        attributes: Attributes::from([
            ("friendly_name".to_owned(), json!("")),
            ("aws_storage_enabled".to_owned(), json!(false)),
            ("aws_s3_url".to_owned(), Value::Null),
            ("aws_credentials_sid".to_owned(), Value::Null),
            ("encryption_enabled".to_owned(), json!(false)),
            ("encryption_key_sid".to_owned(), Value::Null),
        ]),
    }
}

/// The state and the next refresh after `plan` was applied successfully: every resource of the
/// plan exists with its planned attributes, references resolved to the fake ids given to what
/// was created (access key ids `AKIAEXAMPLE000000001`, `…002`; credential SIDs `CR…01`, `…02`),
/// numbered on from the highest id the plan mentions so a replacement gets a new id.
pub fn applied(desired: &[DesiredResource], plan: &Plan) -> (Prior, Observations) {
    assert!(!plan.has_errors(), "a plan with errors is not applied: {:?}", plan.diagnostics);
    let mut ids = FakeIds::after(plan);
    let mut prior = Prior::empty();
    let mut observations = Observations::new();
    // In the order of the apply's steps, so every reference resolves to something already
    // applied; what the steps do not touch (no-ops) exists from the start.
    let steps = steps(plan).expect("the plan's steps are ordered");
    let mut order: Vec<&stowage_plan::ResourceChange> =
        plan.changes.iter().filter(|change| change.action == ActionKind::NoOp).collect();
    for step in &steps {
        let change = plan.change(&step.address).expect("every step belongs to a planned change");
        if !order.iter().any(|placed| placed.address == change.address) {
            order.push(change);
        }
    }
    for change in order {
        let (id, attributes) = match change.action {
            ActionKind::Delete | ActionKind::Forget => continue,
            ActionKind::NoOp => (
                change.prior_id.clone().expect("a no-op acts on an existing object"),
                change.before.clone().expect("a no-op has what exists"),
            ),
            ActionKind::Create | ActionKind::Update | ActionKind::Replace => {
                let after = change.after.as_ref().expect("a create, update or replace has an after");
                let mut attributes: Attributes =
                    after.iter().map(|(name, value)| (name.clone(), resolve(value, &observations))).collect();
                let id = if change.action == ActionKind::Update {
                    let before = change.before.as_ref().expect("an update acts on what exists");
                    for attribute in
                        change.address.resource_type.schema().attributes.iter().filter(|attribute| attribute.computed)
                    {
                        if let Some(value) = before.get(attribute.name) {
                            attributes.insert(attribute.name.to_owned(), value.clone());
                        }
                    }
                    change.prior_id.clone().expect("an update acts on an existing object")
                } else {
                    ids.create(&change.address, &mut attributes)
                };
                (id, attributes)
            }
        };
        // A read returns what exists, never the inputs that only a create uses.
        let schema = change.address.resource_type.schema();
        let found: Attributes = attributes
            .iter()
            .filter(|(name, _)| {
                schema.attribute(name).is_none_or(|attribute| attribute.comparison != Comparison::NotCompared)
            })
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        prior.insert(PriorResource {
            address: change.address.clone(),
            id: id.clone(),
            attributes,
            depends_on: change.depends_on.clone(),
            tainted: None,
            deposed: Vec::new(),
        });
        observations.insert(change.address.clone(), Some(Observed { id, attributes: found }));
    }
    for resource in desired {
        assert!(
            prior.get(&resource.address).is_some(),
            "`{}` is desired but the plan does not make it",
            resource.address
        );
    }
    (prior, observations)
}

/// The dev environment, fully applied: the starting point of most scenarios.
pub fn converged() -> (Vec<DesiredResource>, Prior, Observations) {
    let desired = desired(DEV_SPEC);
    let prior = Prior::empty();
    let first = plan(&desired, &prior, &untouched_account(&desired, &prior));
    let (prior, observations) = applied(&desired, &first);
    (desired, prior, observations)
}

/// Applies `plan` and plans again: reality then matches the spec, so nothing is left to do.
pub fn assert_converges(desired: &[DesiredResource], changes: &Plan) {
    let (prior, observations) = applied(desired, changes);
    let again = plan(desired, &prior, &observations);
    assert!(!again.has_changes(), "planning what apply produced still changes things:\n{}", human(&again));
}

/// The attributes of what a refresh found at `address`, to change as reality would.
pub fn observed_mut<'a>(observations: &'a mut Observations, address: &Address) -> &'a mut Attributes {
    &mut observations
        .get_mut(address)
        .and_then(Option::as_mut)
        .unwrap_or_else(|| panic!("`{address}` was not observed"))
        .attributes
}

/// The plan as a person without a colour terminal reads it.
pub fn human(plan: &Plan) -> String {
    let text = render::human(plan, HumanOptions { color: false, detail: true });
    assert!(!text.contains('\u{1b}'), "a plan rendered without colour holds ANSI escape codes:\n{text:?}");
    text
}

/// The apply steps, one a line: `#INDEX KIND ADDRESS [id=DELETED] waits_for=[INDEXES]`.
pub fn step_lines(plan: &Plan) -> Vec<String> {
    steps(plan)
        .expect("the steps form no cycle")
        .iter()
        .enumerate()
        .map(|(index, step)| {
            let kind = match step.kind {
                StepKind::Create => "create",
                StepKind::Update => "update",
                StepKind::Delete => "delete",
                StepKind::Forget => "forget",
            };
            let waits_for: Vec<String> = step.waits_for.iter().map(usize::to_string).collect();
            // Which object a delete removes matters (the old half of a replacement, a deposed
            // one); elsewhere the address says enough.
            let object = match (step.kind, &step.object) {
                (StepKind::Delete, Some(id)) => format!(" [id={id}]"),
                _ => String::new(),
            };
            format!("#{index} {kind} {}{object} waits_for=[{}]", step.address, waits_for.join(", "))
        })
        .collect()
}

/// What a snapshot shows: the human plan, then the apply steps.
pub fn report(plan: &Plan) -> String {
    let steps = step_lines(plan);
    let steps = if steps.is_empty() { "(none)".to_owned() } else { steps.join("\n") };
    format!("{}\n--- apply steps ---\n{steps}\n", human(plan))
}

/// `ACTION ADDRESS` of each resource the plan changes, in plan order.
pub fn actions(plan: &Plan) -> Vec<String> {
    plan.changes
        .iter()
        .filter(|change| change.action.is_change())
        .map(|change| {
            let action = match change.action {
                ActionKind::NoOp => "no-op",
                ActionKind::Create => "create",
                ActionKind::Update => "update",
                ActionKind::Replace => "replace",
                ActionKind::Delete => "delete",
                ActionKind::Forget => "forget",
            };
            format!("{action} {}", change.address)
        })
        .collect()
}

/// The names of the attributes that change at `address`.
pub fn changed_attributes(plan: &Plan, address: &Address) -> Vec<String> {
    let change = plan.change(address).unwrap_or_else(|| panic!("no change planned for `{address}`"));
    change.changes.iter().map(|attribute| attribute.name.clone()).collect()
}

fn resolve(value: &PlannedValue, applied: &Observations) -> Value {
    let lookup = |reference: &Reference| {
        applied
            .get(&reference.address)
            .and_then(Option::as_ref)
            .and_then(|observed| observed.attributes.get(&reference.attribute))
            .cloned()
            .unwrap_or_else(|| panic!("`{}.{}` is not applied before its use", reference.address, reference.attribute))
    };
    match value {
        PlannedValue::Known(value) => value.clone(),
        PlannedValue::Unknown(reference) => lookup(reference),
        PlannedValue::Template(template) => template.render(|reference| Some(lookup(reference))).unwrap_or_default(),
    }
}

/// Deterministic ids for created objects, numbered after the highest the plan mentions.
struct FakeIds {
    last_access_key: u64,
    last_credential: u64,
    last_kms_key: u64,
}

impl FakeIds {
    fn after(plan: &Plan) -> Self {
        let mut ids = FakeIds { last_access_key: 0, last_credential: 0, last_kms_key: 0 };
        let mut seen = |text: &str| {
            if let Some(number) = access_key_number(text) {
                ids.last_access_key = ids.last_access_key.max(number);
            }
            if let Some(number) = credential_number(text) {
                ids.last_credential = ids.last_credential.max(number);
            }
        };
        for change in &plan.changes {
            change.prior_id.iter().for_each(|id| seen(id));
            for value in change.before.iter().flat_map(BTreeMap::values) {
                value.as_str().into_iter().for_each(&mut seen);
            }
        }
        ids
    }

    /// The id of a newly created object, with the attributes its service computes.
    fn create(&mut self, address: &Address, attributes: &mut Attributes) -> String {
        let text = |name: &str| attributes.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
        match address.resource_type {
            ResourceType::S3Bucket => text("name"),
            ResourceType::IamUser => {
                let name = text("name");
                attributes
                    .insert("arn".to_owned(), json!(format!("arn:aws:iam::{ACCOUNT_ID}:user{}{name}", text("path"))));
                attributes.insert("account_id".to_owned(), json!(ACCOUNT_ID));
                name
            }
            ResourceType::IamUserPolicy => format!("{}:{}", text("user_name"), text("policy_name")),
            ResourceType::IamUserPolicyAttachment => format!("{}/{}", text("user_name"), text("policy_arn")),
            ResourceType::IamAccessKey => {
                self.last_access_key += 1;
                let id = format!("{ACCESS_KEY_PREFIX}{:09}", self.last_access_key);
                attributes.insert("access_key_id".to_owned(), json!(id));
                id
            }
            ResourceType::TwilioAwsCredential => {
                self.last_credential += 1;
                let sid = format!("{CREDENTIAL_PREFIX}{:032x}", self.last_credential);
                attributes.insert("sid".to_owned(), json!(sid));
                sid
            }
            ResourceType::TwilioRecordingSettings | ResourceType::TwilioCompositionSettings => SETTINGS_ID.to_owned(),
            ResourceType::KmsKey => {
                self.last_kms_key += 1;
                let id = format!("{:08x}-0000-4000-8000-000000000000", self.last_kms_key);
                let region = text("region");
                attributes.insert("arn".to_owned(), json!(format!("arn:aws:kms:{region}:{ACCOUNT_ID}:key/{id}")));
                id
            }
            ResourceType::TwilioPublicKey => {
                self.last_credential += 1;
                let sid = format!("{CREDENTIAL_PREFIX}{:032x}", self.last_credential);
                attributes.insert("sid".to_owned(), json!(sid));
                sid
            }
        }
    }
}

fn access_key_number(text: &str) -> Option<u64> {
    let digits = text.strip_prefix(ACCESS_KEY_PREFIX).filter(|digits| digits.len() == 9)?;
    digits.parse().ok()
}

fn credential_number(text: &str) -> Option<u64> {
    let digits = text.strip_prefix(CREDENTIAL_PREFIX).filter(|digits| digits.len() == 32)?;
    u64::from_str_radix(digits, 16).ok()
}

//! Destroy: take an environment down without losing a recording.
//!
//! A destroy plan is the plan for a spec that wants nothing ([`plan_destroy`]): every object the
//! state records, and what interrupted applies left, is deleted, in the order deletes take
//! (`steps.rs`: the storage settings are switched off before the credential they name is
//! deleted, since a delete waits for its dependents to be repointed or gone). Except what holds
//! data: before planning, the engine asks the provider what each object of a type that
//! [`holds_data`](stowage_provider::ResourceSchema::holds_data) holds ([`to_inspect`]), and
//! [`keep`] turns the delete of one that holds anything into `Forget` with [`Reason::Kept`],
//! with what it directly depends on (a bucket's KMS key: without it its recordings cannot be
//! read). Only direct dependencies: the KMS key depends on the uploader (its key policy names
//! it), and the uploader goes.

use std::collections::BTreeMap;

use stowage_provider::{Address, Contents};

use crate::leftovers::{Leftovers, plan_with_leftovers};
use crate::model::{ActionKind, Plan, PlanMode, Reason, Severity};
use crate::planner::{Observations, PlanInputs};
use crate::prior::Prior;

/// The destroy plan of the environment `prior` records, as `observed`, with the leftovers of
/// interrupted applies; nothing is kept yet (see [`keep`]).
pub fn plan_destroy(prior: &Prior, observed: &Observations, leftovers: &Leftovers, inputs: &PlanInputs) -> Plan {
    let mut plan = plan_with_leftovers(&[], prior, observed, leftovers, inputs);
    plan.mode = PlanMode::Destroy;
    // Everything goes because the environment does, not because a spec dropped it.
    for change in plan.changes.iter_mut().filter(|change| change.reason == Some(Reason::NotInSpec)) {
        change.reason = None;
    }
    plan
}

/// The objects whose contents destroy must know before it may delete them: each the plan
/// deletes whose type holds data, with its id.
pub fn to_inspect(plan: &Plan) -> Vec<(&Address, &str)> {
    plan.changes
        .iter()
        .filter(|change| change.action == ActionKind::Delete && change.address.resource_type.schema().holds_data)
        .filter_map(|change| Some((&change.address, change.prior_id.as_deref()?)))
        .collect()
}

/// `plan` with what holds data kept: each object `contents` says holds anything, and what it
/// directly depends on, is left in place and only dropped from the state.
#[must_use]
pub fn keep(mut plan: Plan, prior: &Prior, contents: &BTreeMap<Address, Contents>) -> Plan {
    let mut kept: BTreeMap<Address, String> = BTreeMap::new();
    for (address, held) in contents.iter().filter(|(_, held)| !held.is_empty()) {
        kept.insert(address.clone(), format!("{held}; delete it yourself when its retention allows"));
        let Some(recorded) = prior.get(address) else { continue };
        let noun = address.resource_type.schema().noun;
        for dependency in &recorded.depends_on {
            let dependency_noun = dependency.resource_type.schema().noun;
            kept.entry(dependency.clone()).or_insert_with(|| {
                format!(
                    "the kept {noun} `{}` needs it to be read; delete this {dependency_noun} only after the {noun}",
                    recorded.id
                )
            });
        }
    }
    for change in plan.changes.iter_mut().filter(|change| change.action == ActionKind::Delete) {
        if let Some(why) = kept.remove(&change.address) {
            change.action = ActionKind::Forget;
            change.reason = Some(Reason::Kept { why });
            change.changes.clear();
        }
    }
    // What the plan warned of deleting them (a KMS key's scheduled deletion) no longer applies.
    let kept: Vec<&Address> =
        plan.changes.iter().filter(|change| change.keeps()).map(|change| &change.address).collect();
    plan.diagnostics.retain(|diagnostic| {
        diagnostic.severity == Severity::Error
            || diagnostic.address.as_ref().is_none_or(|address| !kept.contains(&address))
    });
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::{
        access_key_address, bucket_address, composition_settings_address, credential_address, kms_key_address,
        recording_settings_address, user_address,
    };
    use crate::steps::{StepKind, steps};
    use crate::{desired_resources, plan};

    const PROD: &str = include_str!("../../../examples/prod.toml");

    /// The prod example as one apply leaves it: the state and what a refresh reads.
    fn applied() -> (Prior, Observations) {
        let spec = stowage_spec::parse("prod.toml", PROD).unwrap_or_else(|errors| panic!("{errors}")).spec;
        let desired = desired_resources(&spec);
        let first = plan(&desired, &Prior::empty(), &Observations::new());
        let mut state = stowage_state::State::new("prod", "0.0.0");
        let mut observed = Observations::new();
        for change in &first.changes {
            let attributes: stowage_provider::Attributes = change
                .after
                .iter()
                .flatten()
                .filter_map(|(name, value)| Some((name.clone(), value.known()?.clone())))
                .collect();
            let id = format!("id-{}", change.address);
            state.upsert(stowage_state::ResourceState {
                address: change.address.to_string(),
                resource_type: change.address.resource_type.as_str().to_owned(),
                id: id.clone(),
                attributes: attributes.iter().map(|(name, value)| (name.clone(), value.clone())).collect(),
                depends_on: change.depends_on.iter().map(ToString::to_string).collect(),
                tainted: None,
                deposed: Vec::new(),
                unproven: None,
            });
            let mut found = attributes;
            if change.address.resource_type.schema().lifecycle.is_singleton() {
                found.insert("aws_storage_enabled".to_owned(), serde_json::Value::Bool(true));
            }
            observed.insert(change.address.clone(), Some(stowage_provider::Observed { id, attributes: found }));
        }
        (Prior::from_state(&state).unwrap(), observed)
    }

    /// The destroy plan of the applied prod example, `contents` kept.
    fn destroy(contents: &BTreeMap<Address, Contents>) -> Plan {
        let (prior, observed) = applied();
        let plan = plan_destroy(&prior, &observed, &Leftovers::new(), &PlanInputs::default());
        keep(plan, &prior, contents)
    }

    #[test]
    fn a_bucket_holding_recordings_is_kept_with_its_key_and_the_rest_goes_settings_first() {
        let held = BTreeMap::from([(bucket_address(), Contents { objects: 1204, bytes: 3_100_000_000 })]);
        let plan = destroy(&held);
        assert_eq!(plan.mode, PlanMode::Destroy);

        let action = |address: &Address| plan.change(address).map(|change| change.action);
        let why = |address: &Address| match plan.change(address).and_then(|change| change.reason.clone()) {
            Some(Reason::Kept { why }) => why,
            other => panic!("{address} is not kept: {other:?}"),
        };
        assert_eq!(action(&bucket_address()), Some(ActionKind::Forget));
        assert_eq!(why(&bucket_address()), "1,204 objects, 3.1 GB; delete it yourself when its retention allows");
        assert_eq!(action(&kms_key_address()), Some(ActionKind::Forget), "the kept bucket's key is kept");
        assert!(why(&kms_key_address()).starts_with("the kept bucket `id-aws_s3_bucket.main` needs it to be read"));
        // The key depends on the uploader (its policy names it): only direct dependencies stay.
        for gone in [user_address(), access_key_address(), credential_address(), recording_settings_address()] {
            assert_eq!(action(&gone), Some(ActionKind::Delete), "{gone}");
        }
        let summary = plan.summary();
        assert_eq!((summary.keep, summary.forget), (2, 0));

        let order = steps(&plan).expect("no cycle");
        let position = |address: &Address, kind: StepKind| {
            order.iter().position(|step| &step.address == address && step.kind == kind).unwrap()
        };
        // Prod stores recordings only: the composition settings are not stowage's.
        assert_eq!(action(&composition_settings_address()), None);
        assert!(
            position(&recording_settings_address(), StepKind::Delete)
                < position(&credential_address(), StepKind::Delete),
            "storage is switched off before the credential it names is deleted"
        );
        assert!(position(&credential_address(), StepKind::Delete) < position(&access_key_address(), StepKind::Delete));
    }

    #[test]
    fn what_holds_nothing_goes_and_only_what_holds_data_is_inspected() {
        let (prior, observed) = applied();
        let plan = plan_destroy(&prior, &observed, &Leftovers::new(), &PlanInputs::default());
        let inspected: Vec<String> = to_inspect(&plan).iter().map(|(address, id)| format!("{address} {id}")).collect();
        assert_eq!(inspected, ["aws_s3_bucket.main id-aws_s3_bucket.main"]);

        let empty = BTreeMap::from([(bucket_address(), Contents::default())]);
        let plan = destroy(&empty);
        assert!(plan.changes.iter().all(|change| change.action == ActionKind::Delete), "{:?}", plan.changes);
        assert_eq!(plan.summary().keep, 0);
    }
}

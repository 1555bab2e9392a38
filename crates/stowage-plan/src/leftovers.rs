//! Objects an interrupted apply left behind, as the planner sees them: observations of a
//! refresh (`Provider::find_leftovers`, asked for each intent the state still holds), planned
//! for deletion as deposed objects with the reason "left by an interrupted apply".
//!
//! Delete or adopt, as the type's schema says (`adopt_leftovers`): an access key found this way
//! has lost its secret for good (it existed only in the create's answer), so nobody can ever
//! use it, and a Twilio credential found this way holds such a key; recording either would
//! record something useless, so they are deleted. A bucket or a user lost nothing: it is
//! recorded as it is (and updated where it differs from the spec), as if the interrupted apply
//! had lived to record it.

use std::collections::BTreeMap;

use stowage_provider::{Address, Observed};

use crate::model::{ActionKind, DesiredResource, Plan, Reason, ResourceChange, dependencies};
use crate::planner::{Observations, PlanInputs, plan_at};
use crate::prior::{Deposed, DeposedOrigin, Prior, PriorResource};

/// What refresh found left behind, by the address whose create left it.
pub type Leftovers = BTreeMap<Address, Vec<Observed>>;

/// [`plan_at`], with every leftover deleted or recorded. Pure, like the planner: the same
/// inputs give the same plan.
pub fn plan_with_leftovers(
    desired: &[DesiredResource],
    prior: &Prior,
    observed: &Observations,
    leftovers: &Leftovers,
    inputs: &PlanInputs,
) -> Plan {
    let adoption = Adoption::of(desired, prior, observed, leftovers);
    let mut plan = plan_at(desired, &adoption.prior, &adoption.observed, inputs);
    record_adopted(&mut plan, &adoption.adopted);
    for (address, found) in leftovers {
        if !address.resource_type.schema().lifecycle.adopts_leftovers() {
            delete_leftovers(&mut plan, address, found, depends_on(desired, prior, address));
        }
    }
    plan
}

/// The leftovers of types that adopt them, taken into the prior state (and the observations)
/// as if the interrupted apply had lived to record them.
struct Adoption<'a> {
    prior: Prior,
    observed: Observations,
    adopted: Vec<&'a Address>,
}

impl<'a> Adoption<'a> {
    fn of(desired: &[DesiredResource], prior: &Prior, observed: &Observations, leftovers: &'a Leftovers) -> Self {
        let mut adoption = Adoption { prior: prior.clone(), observed: observed.clone(), adopted: Vec::new() };
        for (address, found) in leftovers {
            if address.resource_type.schema().lifecycle.adopts_leftovers()
                && prior.get(address).is_none()
                && let Some(object) = found.first()
            {
                adoption.prior.insert(PriorResource {
                    address: address.clone(),
                    id: object.id.clone(),
                    attributes: object.attributes.clone(),
                    depends_on: depends_on(desired, prior, address),
                    tainted: None,
                    deposed: Vec::new(),
                });
                // The refresh may not have seen it (a KMS key is read by its alias, which the
                // interrupted apply may not have got to): what the search found is what exists.
                if observed.get(address).and_then(Option::as_ref).is_none() {
                    adoption.observed.insert(address.clone(), Some(object.clone()));
                }
                adoption.adopted.push(address);
            }
        }
        adoption
    }
}

/// What a leftover's address depends on, as for any change (see [`dependencies`]).
fn depends_on(desired: &[DesiredResource], prior: &Prior, address: &Address) -> Vec<Address> {
    dependencies(desired.iter().find(|resource| &resource.address == address), prior.get(address))
}

/// An adopted object is recorded by its change: a no-op would leave it unrecorded, so it is an
/// update (with nothing to send, when it matches the spec).
fn record_adopted(plan: &mut Plan, adopted: &[&Address]) {
    for change in plan.changes.iter_mut().filter(|change| adopted.contains(&&change.address)) {
        if matches!(change.action, ActionKind::NoOp | ActionKind::Update) {
            change.action = ActionKind::Update;
            change.reason = Some(Reason::CreatedByInterruptedApply);
        }
    }
}

/// Each object found at `address` becomes a deposed object of its change, deleted as "left by
/// an interrupted apply"; the same object found twice is deleted once.
fn delete_leftovers(plan: &mut Plan, address: &Address, found: &[Observed], depends_on: Vec<Address>) {
    let mut found: Vec<&Observed> = found.iter().collect();
    found.sort_by(|left, right| left.id.cmp(&right.id));
    found.dedup_by(|left, right| left.id == right.id);
    let position = match plan.changes.iter().position(|change| &change.address == address) {
        Some(position) => position,
        None => {
            // Nothing else happens at this address (the spec no longer has it, the state
            // never recorded it): a change of its own that only deletes the leftovers.
            let position = plan.changes.partition_point(|change| &change.address < address);
            plan.changes.insert(position, no_op(address, depends_on));
            position
        }
    };
    let change = &mut plan.changes[position];
    for object in found {
        // The current object or a recorded deposed one is never a leftover; providers
        // exclude them already, this keeps a wrong answer from deleting what is in use.
        let recorded = change.prior_id.as_ref() == Some(&object.id)
            || change.deposed.iter().any(|deposed| deposed.id == object.id);
        if !recorded {
            change.deposed.push(Deposed {
                id: object.id.clone(),
                attributes: object.attributes.clone(),
                origin: DeposedOrigin::InterruptedApply,
            });
        }
    }
}

fn no_op(address: &Address, depends_on: Vec<Address>) -> ResourceChange {
    ResourceChange {
        address: address.clone(),
        action: ActionKind::NoOp,
        replace_order: None,
        reason: None,
        prior_id: None,
        before: None,
        after: None,
        changes: Vec::new(),
        depends_on,
        deposed: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use stowage_provider::{Attributes, ResourceType};

    use super::*;
    use crate::model::DesiredValue;
    use crate::steps::{StepKind, steps};

    fn key_address() -> Address {
        Address::new(ResourceType::IamAccessKey, "main")
    }

    fn leftover(id: &str) -> Observed {
        Observed { id: id.to_owned(), attributes: Attributes::from([("user_name".to_owned(), json!("uploader"))]) }
    }

    #[test]
    fn a_leftover_nobody_records_is_deleted_as_left_by_an_interrupted_apply() {
        let leftovers = Leftovers::from([(key_address(), vec![leftover("AKIALOST")])]);

        let plan =
            plan_with_leftovers(&[], &Prior::empty(), &Observations::new(), &leftovers, &crate::PlanInputs::default());

        assert!(plan.has_changes());
        let change = plan.change(&key_address()).expect("a change for the key");
        assert_eq!(change.action, ActionKind::NoOp);
        assert_eq!(
            change.deposed.iter().map(|deposed| (deposed.id.as_str(), deposed.origin)).collect::<Vec<_>>(),
            [("AKIALOST", DeposedOrigin::InterruptedApply)]
        );
        assert_eq!(plan.summary().destroy, 1);
        let steps = steps(&plan).expect("no cycle");
        assert_eq!(
            steps.iter().map(|step| (step.kind, step.object.as_deref())).collect::<Vec<_>>(),
            [(StepKind::Delete, Some("AKIALOST"))]
        );
    }

    #[test]
    fn a_bucket_an_interrupted_apply_made_is_recorded_not_refused() {
        let bucket = Address::new(ResourceType::S3Bucket, "main");
        let attributes = Attributes::from([("name".to_owned(), json!("acme"))]);
        let desired = [DesiredResource {
            address: bucket.clone(),
            attributes: [("name".to_owned(), DesiredValue::Known(json!("acme")))].into(),
            depends_on: Vec::new(),
        }];
        let found = Observed { id: "acme".to_owned(), attributes };
        let observed = Observations::from([(bucket.clone(), Some(found.clone()))]);

        let refused =
            plan_with_leftovers(&desired, &Prior::empty(), &observed, &Leftovers::new(), &crate::PlanInputs::default());
        let adopted = plan_with_leftovers(
            &desired,
            &Prior::empty(),
            &observed,
            &Leftovers::from([(bucket.clone(), vec![found])]),
            &crate::PlanInputs::default(),
        );

        assert!(refused.has_errors(), "without an intent, an unrecorded bucket may be someone else's");
        assert!(!adopted.has_errors(), "{:?}", adopted.diagnostics);
        let change = adopted.change(&bucket).expect("a change for the bucket");
        assert_eq!(
            (change.action, change.reason.clone()),
            (ActionKind::Update, Some(Reason::CreatedByInterruptedApply))
        );
        assert!(change.deposed.is_empty());
    }

    #[test]
    fn the_new_key_is_created_after_the_leftover_is_gone() {
        let desired = [DesiredResource {
            address: key_address(),
            attributes: [("user_name".to_owned(), DesiredValue::Known(json!("uploader")))].into(),
            depends_on: Vec::new(),
        }];
        let observed = Observations::from([(key_address(), None)]);
        let leftovers = Leftovers::from([(key_address(), vec![leftover("AKIALOST"), leftover("AKIALOST")])]);

        let plan = plan_with_leftovers(&desired, &Prior::empty(), &observed, &leftovers, &crate::PlanInputs::default());

        let change = plan.change(&key_address()).expect("a change for the key");
        assert_eq!(change.action, ActionKind::Create);
        assert_eq!(change.deposed.len(), 1, "the same leftover found twice is deleted once");
        let steps = steps(&plan).expect("no cycle");
        let delete = steps.iter().position(|step| step.kind == StepKind::Delete).expect("a delete");
        let create = steps.iter().find(|step| step.kind == StepKind::Create).expect("a create");
        assert_eq!(create.waits_for, [delete]);
    }
}

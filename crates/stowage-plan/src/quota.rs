//! A quota a create could break: IAM allows two access keys per user. A plan that makes a new
//! key where the user already holds keys stowage does not record, filling the quota, is
//! refused before any write, naming them (the create would fail halfway through an apply
//! otherwise, and stowage never deletes what its state does not record).
//!
//! Pure: [`searches`] says which parents the engine must list (only when such a create is
//! planned, so a plan that makes no key reads nothing more), and [`refusals`] judges what it
//! found.

use std::collections::BTreeMap;

use stowage_provider::{Address, Attributes, Observed};

use crate::model::{ActionKind, DesiredResource, Plan, PlanDiagnostic, Severity};
use crate::prior::DeposedOrigin;

/// For each planned create of a type with a per-parent quota, the address and the attributes
/// that name its parent: the engine lists every object there (`find_leftovers` with no window).
pub fn searches(plan: &Plan, desired: &[DesiredResource]) -> Vec<(Address, Attributes)> {
    plan.changes
        .iter()
        .filter(|change| matches!(change.action, ActionKind::Create | ActionKind::Replace))
        .filter(|change| change.address.resource_type.schema().max_per_parent.is_some())
        .filter_map(|change| {
            let wanted = desired.iter().find(|resource| resource.address == change.address)?;
            Some((change.address.clone(), wanted.known_attributes()))
        })
        .collect()
}

/// An error for each search whose objects leave no room for the planned create: objects the
/// state does not record, with those that still exist when the create runs (the current one,
/// unless it is destroyed first, and the old halves of earlier replacements), reach the quota.
/// What the plan deletes first (what an interrupted apply left) makes room.
pub fn refusals(plan: &Plan, found: &BTreeMap<Address, Vec<Observed>>) -> Vec<PlanDiagnostic> {
    let mut refusals = Vec::new();
    for (address, objects) in found {
        let schema = address.resource_type.schema();
        let (Some(max), Some(change)) = (schema.max_per_parent, plan.change(address)) else { continue };
        let deleted_first = |id: &str| {
            change.deposed.iter().any(|deposed| deposed.id == id && deposed.origin == DeposedOrigin::InterruptedApply)
                || (change.destroys_first() && change.prior_id.as_deref() == Some(id))
        };
        let known =
            |id: &str| change.prior_id.as_deref() == Some(id) || change.deposed.iter().any(|deposed| deposed.id == id);
        let unknown: Vec<&str> = objects.iter().map(|object| object.id.as_str()).filter(|id| !known(id)).collect();
        let remaining: Vec<&str> =
            objects.iter().map(|object| object.id.as_str()).filter(|id| !deleted_first(id)).collect();
        if unknown.is_empty() || remaining.len() < max {
            continue;
        }
        let listed: Vec<String> = remaining
            .iter()
            .map(|id| if unknown.contains(id) { format!("`{id}` (not in stowage's state)") } else { format!("`{id}`") })
            .collect();
        let first = unknown[0];
        refusals.push(PlanDiagnostic {
            severity: Severity::Error,
            address: Some(address.clone()),
            message: format!(
                "a new {noun} cannot be made: at most {max} may exist together, and {} do: {}",
                remaining.len(),
                listed.join(", "),
                noun = schema.noun,
            ),
            hint: Some(format!(
                "stowage never deletes what its state does not record: if nothing uses `{first}`, delete it, then \
                 plan again; if something does, it needs credentials of its own elsewhere, since the replacement \
                 needs room for one more"
            )),
        });
    }
    refusals
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::desired::access_key_address;
    use crate::model::{PlanMode, ResourceChange};
    use crate::prior::Deposed;

    fn key(id: &str) -> Observed {
        Observed { id: id.to_owned(), attributes: [("user_name".to_owned(), json!("u"))].into_iter().collect() }
    }

    fn plan_replacing(prior_id: Option<&str>, deposed: Vec<Deposed>) -> Plan {
        let change = ResourceChange {
            address: access_key_address(),
            action: if prior_id.is_some() { ActionKind::Replace } else { ActionKind::Create },
            replace_order: prior_id.map(|_| stowage_provider::ReplaceOrder::CreateBeforeDestroy),
            reason: None,
            prior_id: prior_id.map(str::to_owned),
            before: None,
            after: None,
            changes: Vec::new(),
            depends_on: Vec::new(),
            deposed,
        };
        Plan {
            changes: vec![change],
            drift: Vec::new(),
            diagnostics: Vec::new(),
            mode: PlanMode::Normal,
            planned_at: None,
        }
    }

    fn refused(plan: &Plan, ids: &[&str]) -> Vec<String> {
        let found = BTreeMap::from([(access_key_address(), ids.iter().map(|id| key(id)).collect())]);
        refusals(plan, &found).into_iter().map(|diagnostic| diagnostic.message).collect()
    }

    #[test]
    fn a_rotation_with_an_unrecorded_second_key_is_refused_naming_it() {
        let plan = plan_replacing(Some("AKIA1"), Vec::new());
        let messages = refused(&plan, &["AKIA1", "AKIA2"]);
        assert_eq!(messages.len(), 1);
        assert!(messages[0].contains("`AKIA1`, `AKIA2` (not in stowage's state)"), "{}", messages[0]);
        // The recorded key alone: room for the new one.
        assert!(refused(&plan, &["AKIA1"]).is_empty());
    }

    #[test]
    fn what_the_plan_deletes_first_or_records_makes_no_refusal() {
        // A key an interrupted apply left is deleted before the new one is made.
        let leftover =
            Deposed { id: "AKIA2".to_owned(), attributes: Attributes::new(), origin: DeposedOrigin::InterruptedApply };
        assert!(refused(&plan_replacing(Some("AKIA1"), vec![leftover]), &["AKIA1", "AKIA2"]).is_empty());
        // The old half of an earlier replacement is known: it is not someone else's key.
        let old = Deposed { id: "AKIA0".to_owned(), attributes: Attributes::new(), origin: DeposedOrigin::Replacement };
        assert!(refused(&plan_replacing(Some("AKIA1"), vec![old]), &["AKIA0", "AKIA1"]).is_empty());
        // A first key, with one unrecorded key on the user: room for one more.
        assert!(refused(&plan_replacing(None, Vec::new()), &["AKIA9"]).is_empty());
        assert_eq!(refused(&plan_replacing(None, Vec::new()), &["AKIA8", "AKIA9"]).len(), 1);
    }
}

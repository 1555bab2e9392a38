//! From a plan to the apply steps and the order between them. A plan leaves no decisions to
//! apply: the engine runs these steps, each once all steps it waits for are done.

use std::collections::BTreeMap;

use stowage_provider::Address;

use crate::model::{ActionKind, Plan, ReplaceOrderName};
use crate::prior::DeposedOrigin;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StepKind {
    /// Create the object the spec asks for (a create, or the new half of a replace).
    Create,
    Update,
    /// Delete the existing object (a delete, or the old half of a replace).
    Delete,
    /// Drop from the state; no call.
    Forget,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub address: Address,
    pub kind: StepKind,
    /// For a delete: the id of the object it deletes (the existing one, or a deposed one).
    pub object: Option<String>,
    /// Indexes of the steps that must finish first.
    pub waits_for: Vec<usize>,
}

#[derive(Debug, thiserror::Error)]
#[error("the plan's steps form a cycle through {0}: this is a bug in stowage, please report it")]
pub struct CycleError(pub String);

/// The steps of a plan in a valid sequential order, each with the steps it waits for.
///
/// Rules: creates and updates wait for the creates and updates of what they depend on; the
/// deletion of an object waits until everything that depended on it was repointed or deleted;
/// a create-before-destroy replacement deletes the old object only after the new one exists;
/// what an interrupted apply left is deleted before the object that takes its place is created.
pub fn steps(plan: &Plan) -> Result<Vec<Step>, CycleError> {
    let mut steps: Vec<Step> = Vec::new();
    let mut put_steps: BTreeMap<&Address, usize> = BTreeMap::new();
    let mut delete_steps: BTreeMap<&Address, Vec<usize>> = BTreeMap::new();
    // Objects an interrupted apply left: nothing uses them (nothing could learn their ids), so
    // they go first, and the new object waits for them: IAM allows two keys per user.
    let mut leftover_steps: BTreeMap<&Address, Vec<usize>> = BTreeMap::new();

    for change in &plan.changes {
        let mut push = |kind, object: Option<&String>| {
            steps.push(Step { address: change.address.clone(), kind, object: object.cloned(), waits_for: Vec::new() });
            steps.len() - 1
        };
        for deposed in &change.deposed {
            let index = push(StepKind::Delete, Some(&deposed.id));
            match deposed.origin {
                DeposedOrigin::Replacement => delete_steps.entry(&change.address).or_default().push(index),
                DeposedOrigin::InterruptedApply => leftover_steps.entry(&change.address).or_default().push(index),
            }
        }
        match change.action {
            ActionKind::NoOp => {}
            ActionKind::Create => {
                put_steps.insert(&change.address, push(StepKind::Create, None));
            }
            ActionKind::Update => {
                put_steps.insert(&change.address, push(StepKind::Update, change.prior_id.as_ref()));
            }
            ActionKind::Replace => {
                put_steps.insert(&change.address, push(StepKind::Create, None));
                let index = push(StepKind::Delete, change.prior_id.as_ref());
                delete_steps.entry(&change.address).or_default().push(index);
            }
            ActionKind::Delete => {
                let index = push(StepKind::Delete, change.prior_id.as_ref());
                delete_steps.entry(&change.address).or_default().push(index);
            }
            ActionKind::Forget => {
                push(StepKind::Forget, change.prior_id.as_ref());
            }
        }
    }

    // Who depends on whom, from the spec and the state alike.
    let mut dependents: BTreeMap<&Address, Vec<&Address>> = BTreeMap::new();
    for change in &plan.changes {
        for dependency in &change.depends_on {
            dependents.entry(dependency).or_default().push(&change.address);
        }
    }

    for change in &plan.changes {
        if let Some(&put) = put_steps.get(&change.address) {
            for dependency in &change.depends_on {
                if let Some(&dependency_put) = put_steps.get(dependency) {
                    steps[put].waits_for.push(dependency_put);
                }
            }
        }
        for &delete in delete_steps.get(&change.address).into_iter().flatten() {
            let destroy_first = change.replace_order == Some(ReplaceOrderName::DestroyBeforeCreate)
                && steps[delete].object == change.prior_id;
            // An object destroyed before its replacement is one nothing uses (the planner
            // decided so): its dependents are not waited for, they move to the new one.
            let dependents_of_this = if destroy_first { None } else { dependents.get(&change.address) };
            for dependent in dependents_of_this.into_iter().flatten() {
                let dependent_steps =
                    put_steps.get(dependent).into_iter().chain(delete_steps.get(dependent).into_iter().flatten());
                for &step in dependent_steps {
                    if step != delete {
                        steps[delete].waits_for.push(step);
                    }
                }
            }
            if let Some(&put) = put_steps.get(&change.address) {
                if destroy_first { steps[put].waits_for.push(delete) } else { steps[delete].waits_for.push(put) }
            }
        }
    }
    for (address, leftovers) in &leftover_steps {
        if let Some(&put) = put_steps.get(address) {
            steps[put].waits_for.extend(leftovers);
        }
    }
    for step in &mut steps {
        step.waits_for.sort_unstable();
        step.waits_for.dedup();
    }
    topological_order(steps)
}

/// Reorder so every step comes after those it waits for (stable: ties keep plan order).
fn topological_order(steps: Vec<Step>) -> Result<Vec<Step>, CycleError> {
    let count = steps.len();
    let mut placed = vec![false; count];
    let mut order: Vec<usize> = Vec::with_capacity(count);
    while order.len() < count {
        let next =
            (0..count).find(|&index| !placed[index] && steps[index].waits_for.iter().all(|&before| placed[before]));
        let Some(next) = next else {
            let stuck: Vec<String> = (0..count)
                .filter(|&index| !placed[index])
                .map(|index| format!("{} ({:?})", steps[index].address, steps[index].kind))
                .collect();
            return Err(CycleError(stuck.join(", ")));
        };
        placed[next] = true;
        order.push(next);
    }
    let mut new_index = vec![0; count];
    for (position, &old) in order.iter().enumerate() {
        new_index[old] = position;
    }
    Ok(order
        .into_iter()
        .map(|old| {
            let step = &steps[old];
            let mut waits_for: Vec<usize> = step.waits_for.iter().map(|&before| new_index[before]).collect();
            waits_for.sort_unstable();
            Step { address: step.address.clone(), kind: step.kind, object: step.object.clone(), waits_for }
        })
        .collect())
}

//! From a plan to the apply steps and the order between them. A plan leaves no decisions to
//! apply: the engine runs these steps, each once all steps it waits for are done.

use std::collections::BTreeMap;

use stowage_provider::Address;

use crate::model::{ActionKind, Plan, ResourceChange};
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
/// what an interrupted apply left is deleted before the object that takes its place is created;
/// what the spec no longer has goes last, once everything the spec asks for is in place (the
/// managed policy made by hand is detached only after the inline policy that replaces it is
/// put).
pub fn steps(plan: &Plan) -> Result<Vec<Step>, CycleError> {
    let mut table = StepTable::split(plan);
    table.puts_wait_for_dependencies(plan);
    table.deletes_wait_for_dependents(plan);
    table.order_the_halves_of_replacements(plan);
    table.leftovers_go_first();
    table.removals_go_last(plan);
    topological_order(table.into_steps())
}

/// A plan's steps before they are ordered, and which of them belong to each address.
struct StepTable<'a> {
    steps: Vec<Step>,
    /// The create or update of each address.
    puts: BTreeMap<&'a Address, usize>,
    /// The deletes of each address's current object and of what earlier replacements left.
    deletes: BTreeMap<&'a Address, Vec<usize>>,
    /// The deletes of objects an interrupted apply left: nothing uses them (nothing could learn
    /// their ids), so they go first, and the new object waits for them: IAM allows two keys
    /// per user.
    leftovers: BTreeMap<&'a Address, Vec<usize>>,
}

impl<'a> StepTable<'a> {
    /// One step per half of each change (a replacement is a create and a delete), and one
    /// delete per deposed object, none waiting for anything yet.
    fn split(plan: &'a Plan) -> Self {
        let mut table = StepTable {
            steps: Vec::new(),
            puts: BTreeMap::new(),
            deletes: BTreeMap::new(),
            leftovers: BTreeMap::new(),
        };
        for change in &plan.changes {
            let address = &change.address;
            for deposed in &change.deposed {
                let index = table.push(address, StepKind::Delete, Some(&deposed.id));
                match deposed.origin {
                    DeposedOrigin::Replacement => table.deletes.entry(address).or_default().push(index),
                    DeposedOrigin::InterruptedApply => table.leftovers.entry(address).or_default().push(index),
                }
            }
            match change.action {
                ActionKind::NoOp => {}
                ActionKind::Create => {
                    let index = table.push(address, StepKind::Create, None);
                    table.puts.insert(address, index);
                }
                ActionKind::Update => {
                    let index = table.push(address, StepKind::Update, change.prior_id.as_ref());
                    table.puts.insert(address, index);
                }
                ActionKind::Replace => {
                    let create = table.push(address, StepKind::Create, None);
                    table.puts.insert(address, create);
                    let delete = table.push(address, StepKind::Delete, change.prior_id.as_ref());
                    table.deletes.entry(address).or_default().push(delete);
                }
                ActionKind::Delete => {
                    let index = table.push(address, StepKind::Delete, change.prior_id.as_ref());
                    table.deletes.entry(address).or_default().push(index);
                }
                ActionKind::Forget => {
                    table.push(address, StepKind::Forget, change.prior_id.as_ref());
                }
            }
        }
        table
    }

    fn push(&mut self, address: &Address, kind: StepKind, object: Option<&String>) -> usize {
        self.steps.push(Step { address: address.clone(), kind, object: object.cloned(), waits_for: Vec::new() });
        self.steps.len() - 1
    }

    /// Creates and updates wait for the creates and updates of what they depend on.
    fn puts_wait_for_dependencies(&mut self, plan: &Plan) {
        for change in &plan.changes {
            let Some(&put) = self.puts.get(&change.address) else { continue };
            for dependency in &change.depends_on {
                if let Some(&dependency_put) = self.puts.get(dependency) {
                    self.steps[put].waits_for.push(dependency_put);
                }
            }
        }
    }

    /// A delete waits until everything that depended on the object was repointed or deleted,
    /// by the spec and the state alike. Not the delete of an object destroyed before its
    /// replacement: nothing uses it (the planner decided so), its dependents move to the new one.
    fn deletes_wait_for_dependents(&mut self, plan: &Plan) {
        let dependents = plan.dependents();
        for change in &plan.changes {
            for &delete in self.deletes.get(&change.address).into_iter().flatten() {
                if destroyed_first(change, &self.steps[delete]) {
                    continue;
                }
                for dependent in dependents.get(&change.address).into_iter().flatten() {
                    let dependent_steps =
                        self.puts.get(dependent).into_iter().chain(self.deletes.get(dependent).into_iter().flatten());
                    for &step in dependent_steps {
                        if step != delete {
                            self.steps[delete].waits_for.push(step);
                        }
                    }
                }
            }
        }
    }

    /// The old object of a replacement goes after the new one exists, or, destroyed first,
    /// before it is created.
    fn order_the_halves_of_replacements(&mut self, plan: &Plan) {
        for change in &plan.changes {
            let Some(&put) = self.puts.get(&change.address) else { continue };
            for &delete in self.deletes.get(&change.address).into_iter().flatten() {
                if destroyed_first(change, &self.steps[delete]) {
                    self.steps[put].waits_for.push(delete);
                } else {
                    self.steps[delete].waits_for.push(put);
                }
            }
        }
    }

    /// The new object of an address waits for the deletes of what an interrupted apply left.
    fn leftovers_go_first(&mut self) {
        for (address, leftovers) in &self.leftovers {
            if let Some(&put) = self.puts.get(address) {
                self.steps[put].waits_for.extend(leftovers);
            }
        }
    }

    /// The deletes of what the spec no longer has wait for every create and update: the
    /// environment takes its new shape before anything of the old one goes. (No create or
    /// update waits for such a delete, so this adds no cycle.)
    fn removals_go_last(&mut self, plan: &Plan) {
        let puts: Vec<usize> = self.puts.values().copied().collect();
        for change in plan.changes.iter().filter(|change| change.action == ActionKind::Delete) {
            for &delete in self.deletes.get(&change.address).into_iter().flatten() {
                if self.steps[delete].object == change.prior_id {
                    self.steps[delete].waits_for.extend(&puts);
                }
            }
        }
    }

    fn into_steps(mut self) -> Vec<Step> {
        for step in &mut self.steps {
            step.waits_for.sort_unstable();
            step.waits_for.dedup();
        }
        self.steps
    }
}

/// Whether `delete` is the first half of a destroy-before-create replacement.
fn destroyed_first(change: &ResourceChange, delete: &Step) -> bool {
    change.destroys_first() && delete.object == change.prior_id
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

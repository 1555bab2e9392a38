//! The environment as a graph (`stowage graph`, and the Markdown plan's picture of what
//! changes): a node per resource the spec asks for or the plan acts on, an edge from each
//! resource to what depends on it, and the secret handoff (an access key's secret, which exists
//! only when the key is made, to the Twilio credential made from it) as an edge of its own kind.
//! With a plan, each node says and is coloured by what the plan does to it.
//!
//! One model ([`Graph`]), drawn as Graphviz DOT ([`dot`]) and Mermaid ([`mermaid`]); the CLI draws
//! its SVG from the same model. Pure and deterministic: nodes in plan (dependency) order, edges
//! in the order of the nodes they lead to.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use stowage_provider::Address;

use super::symbol;
use crate::model::{ActionKind, DesiredResource, DesiredValue, Plan, PlannedValue, Reference, ResourceChange};

/// What the plan does to a resource, as the graph colours it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Create,
    Update,
    Replace,
    Delete,
    NoOp,
    /// Drawn without a plan: only the wiring.
    Unplanned,
}

impl Status {
    /// The class name in Mermaid and the word in a legend.
    pub fn name(self) -> &'static str {
        match self {
            Status::Create => "create",
            Status::Update => "update",
            Status::Replace => "replace",
            Status::Delete => "delete",
            Status::NoOp => "noop",
            Status::Unplanned => "unplanned",
        }
    }

    /// Fill and outline colours, the hues the human plan uses (green, yellow, magenta, red, dim).
    pub fn colors(self) -> (&'static str, &'static str) {
        match self {
            Status::Create => ("#d4edda", "#2e7d32"),
            Status::Update => ("#fff3cd", "#b08800"),
            Status::Replace => ("#f3e0f7", "#8e24aa"),
            Status::Delete => ("#f8d7da", "#c62828"),
            Status::NoOp => ("#eeeeee", "#9e9e9e"),
            Status::Unplanned => ("#ffffff", "#444444"),
        }
    }

    pub fn is_change(self) -> bool {
        !matches!(self, Status::NoOp | Status::Unplanned)
    }

    pub const ALL: [Status; 6] =
        [Status::Create, Status::Update, Status::Replace, Status::Delete, Status::NoOp, Status::Unplanned];
}

/// One resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub address: Address,
    pub status: Status,
    /// What the plan does, as the plan shows it (`+ create`, `-/+ replace`); `None` without a
    /// plan.
    pub action: Option<String>,
    /// An identifier made of `[A-Za-z0-9_]` only, unique in the graph: what Mermaid (and any
    /// format that cannot quote) names the node by.
    pub id: String,
}

impl Node {
    /// The label: the address, and on a second line what the plan does to it.
    pub fn label_lines(&self) -> Vec<String> {
        let mut lines = vec![self.address.to_string()];
        lines.extend(self.action.clone());
        lines
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EdgeKind {
    /// `to` depends on `from`: it is made after it, and deleted before it.
    DependsOn,
    /// `to` is made with `from`'s secret, which exists only when `from` is created: a new
    /// `from` means a new `to` (a [`Reference`] with `fresh`).
    Secret,
}

/// From a resource to one that depends on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub from: Address,
    pub to: Address,
    pub kind: EdgeKind,
}

/// Resources and their wiring.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

/// The graph of `desired` (what the spec asks for) and, with a plan, what the plan acts on
/// (which adds what only the state records), each node with the plan's action. Edges come from
/// both: `depends_on`, and references made afresh (the secret handoff).
pub fn graph(desired: &[DesiredResource], plan: Option<&Plan>) -> Graph {
    let changes: BTreeMap<&Address, &ResourceChange> =
        plan.map(|plan| plan.changes.iter().map(|change| (&change.address, change)).collect()).unwrap_or_default();
    // Plan order first (dependency order, what the state records included), then anything the
    // spec asks for that the plan does not name.
    let mut order: Vec<&Address> =
        plan.map(|plan| plan.changes.iter().map(|change| &change.address).collect()).unwrap_or_default();
    let mut seen: BTreeSet<&Address> = order.iter().copied().collect();
    for resource in desired {
        if seen.insert(&resource.address) {
            order.push(&resource.address);
        }
    }

    // Every edge into each node, by kind; a secret handoff is also a dependency, drawn once.
    let mut incoming: BTreeMap<&Address, BTreeMap<&Address, EdgeKind>> = BTreeMap::new();
    for resource in desired {
        let into = incoming.entry(&resource.address).or_default();
        for dependency in &resource.depends_on {
            into.entry(dependency).or_insert(EdgeKind::DependsOn);
        }
        for reference in resource.attributes.values().flat_map(desired_references) {
            if reference.fresh {
                into.insert(&reference.address, EdgeKind::Secret);
            }
        }
    }
    for change in changes.values() {
        let into = incoming.entry(&change.address).or_default();
        for dependency in &change.depends_on {
            into.entry(dependency).or_insert(EdgeKind::DependsOn);
        }
        for reference in change.after.iter().flat_map(|after| after.values()).flat_map(planned_references) {
            if reference.fresh {
                into.insert(&reference.address, EdgeKind::Secret);
            }
        }
    }

    let ids = ids(&order);
    let nodes = order
        .iter()
        .zip(ids)
        .map(|(address, id)| {
            let change = changes.get(address).copied();
            let (status, action) = match (plan, change) {
                (None, _) => (Status::Unplanned, None),
                (Some(_), None) => (Status::NoOp, Some("no change".to_owned())),
                (Some(_), Some(change)) => (status(change), Some(action(change))),
            };
            Node { address: (*address).clone(), status, action, id }
        })
        .collect();
    let edges = order
        .iter()
        .flat_map(|to| {
            let from = incoming.get(to).into_iter().flatten();
            from.filter(|(from, _)| seen.contains(*from)).map(|(from, kind)| Edge {
                from: (*from).clone(),
                to: (*to).clone(),
                kind: *kind,
            })
        })
        .collect();
    Graph { nodes, edges }
}

/// Every reference a desired value holds.
fn desired_references(value: &DesiredValue) -> Vec<&Reference> {
    match value {
        DesiredValue::Known(_) => Vec::new(),
        DesiredValue::Reference(reference) => vec![reference],
        DesiredValue::Template(template) => template.references.iter().collect(),
    }
}

/// Every reference a planned value still holds (a value known now holds none).
fn planned_references(value: &PlannedValue) -> Vec<&Reference> {
    match value {
        PlannedValue::Known(_) => Vec::new(),
        PlannedValue::Unknown(reference) => vec![reference],
        PlannedValue::Template(template) => template.references.iter().collect(),
    }
}

/// How a change is coloured: by its symbol, as every output shows it.
fn status(change: &ResourceChange) -> Status {
    match symbol(change) {
        Some("+") => Status::Create,
        Some("~") => Status::Update,
        Some("-/+" | "+/-") => Status::Replace,
        Some("-") => Status::Delete,
        // Left in place (kept by destroy), or nothing happens to the object itself.
        Some(_) | None if !change.deposed.is_empty() => Status::Delete,
        Some(_) | None => Status::NoOp,
    }
}

/// What the plan does to a resource, in a word or two after its symbol.
fn action(change: &ResourceChange) -> String {
    let verb = match change.action {
        ActionKind::NoOp if !change.deposed.is_empty() => return "- deposed object".to_owned(),
        ActionKind::NoOp => return "no change".to_owned(),
        ActionKind::Create => "create",
        ActionKind::Update => "update",
        ActionKind::Delete if change.switches_off() => "switch off",
        ActionKind::Delete => "delete",
        ActionKind::Forget if change.keeps() => "keep",
        ActionKind::Forget => "forget",
        ActionKind::Replace => "replace",
    };
    format!("{} {verb}", symbol(change).unwrap_or(" "))
}

/// A Mermaid-safe identifier per address: its characters outside `[A-Za-z0-9_]` as `_`, an
/// instance key after `__`, and a number after any that would otherwise be taken twice.
fn ids(addresses: &[&Address]) -> Vec<String> {
    let mut taken = BTreeSet::new();
    addresses
        .iter()
        .map(|address| {
            let mut base = format!("{}__{}", address.resource_type, safe(&address.name));
            if let Some(key) = &address.key {
                base.push_str("__");
                base.push_str(&safe(key));
            }
            let mut id = base.clone();
            let mut n = 2;
            while !taken.insert(id.clone()) {
                id = format!("{base}_{n}");
                n += 1;
            }
            id
        })
        .collect()
}

fn safe(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect()
}

impl Graph {
    /// Only what the plan changes, and the edges between those: the Markdown plan's picture.
    #[must_use]
    pub fn changed(&self) -> Graph {
        let nodes: Vec<Node> = self.nodes.iter().filter(|node| node.status.is_change()).cloned().collect();
        let kept: BTreeSet<&Address> = nodes.iter().map(|node| &node.address).collect();
        let edges =
            self.edges.iter().filter(|edge| kept.contains(&edge.from) && kept.contains(&edge.to)).cloned().collect();
        Graph { nodes, edges }
    }

    pub fn node(&self, address: &Address) -> Option<&Node> {
        self.nodes.iter().find(|node| &node.address == address)
    }

    /// The statuses the nodes have, in [`Status::ALL`]'s order.
    pub fn statuses(&self) -> Vec<Status> {
        Status::ALL.into_iter().filter(|status| self.nodes.iter().any(|node| node.status == *status)).collect()
    }
}

/// What a secret edge says.
pub const SECRET_LABEL: &str = "secret";
/// The colour of a secret edge.
pub const SECRET_COLOR: &str = "#1565c0";

/// The graph as Graphviz DOT, left to right: `dot -Tsvg`. Node ids are the addresses, quoted.
pub fn dot(graph: &Graph) -> String {
    let mut out = String::from("digraph stowage {\n");
    out.push_str("  rankdir=LR;\n");
    out.push_str("  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\"];\n");
    out.push_str("  edge [fontname=\"Helvetica\"];\n");
    for node in &graph.nodes {
        let (fill, line) = node.status.colors();
        let label = node.label_lines().iter().map(|line| dot_escape(line)).collect::<Vec<_>>().join("\\n");
        let _ = writeln!(
            out,
            "  \"{}\" [label=\"{label}\", fillcolor=\"{fill}\", color=\"{line}\"];",
            dot_escape(&node.address.to_string())
        );
    }
    for edge in &graph.edges {
        let style = match edge.kind {
            EdgeKind::DependsOn => String::new(),
            EdgeKind::Secret => {
                format!(
                    " [label=\"{SECRET_LABEL}\", style=bold, color=\"{SECRET_COLOR}\", fontcolor=\"{SECRET_COLOR}\"]"
                )
            }
        };
        let _ = writeln!(
            out,
            "  \"{}\" -> \"{}\"{style};",
            dot_escape(&edge.from.to_string()),
            dot_escape(&edge.to.to_string())
        );
    }
    out.push_str("}\n");
    out
}

/// Text inside a DOT quoted string.
fn dot_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"").replace(['\n', '\r'], " ")
}

/// The graph as a Mermaid `flowchart LR`: nodes by their [`Node::id`], labels quoted, a
/// `classDef` per status, secret edges thick and labelled.
pub fn mermaid(graph: &Graph) -> String {
    let mut out = String::from("flowchart LR\n");
    for node in &graph.nodes {
        let label = node.label_lines().iter().map(|line| mermaid_escape(line)).collect::<Vec<_>>().join("<br/>");
        let _ = writeln!(out, "  {}[\"{label}\"]", node.id);
    }
    let ids: BTreeMap<&Address, &str> = graph.nodes.iter().map(|node| (&node.address, node.id.as_str())).collect();
    let mut secret_links = Vec::new();
    // `linkStyle` numbers the links in the order they are written.
    let mut link = 0;
    for edge in &graph.edges {
        let (Some(from), Some(to)) = (ids.get(&edge.from), ids.get(&edge.to)) else { continue };
        match edge.kind {
            EdgeKind::DependsOn => {
                let _ = writeln!(out, "  {from} --> {to}");
            }
            EdgeKind::Secret => {
                let _ = writeln!(out, "  {from} ==>|{SECRET_LABEL}| {to}");
                secret_links.push(link.to_string());
            }
        }
        link += 1;
    }
    for status in graph.statuses() {
        let (fill, line) = status.colors();
        let _ = writeln!(out, "  classDef {} fill:{fill},stroke:{line},color:#000", status.name());
        let members: Vec<&str> =
            graph.nodes.iter().filter(|node| node.status == status).map(|node| node.id.as_str()).collect();
        let _ = writeln!(out, "  class {} {}", members.join(","), status.name());
    }
    if !secret_links.is_empty() {
        let _ = writeln!(out, "  linkStyle {} stroke:{SECRET_COLOR}", secret_links.join(","));
    }
    out
}

/// Text inside a Mermaid quoted label: its own entity codes for what would end or break it.
fn mermaid_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use insta::assert_snapshot;
    use serde_json::json;
    use stowage_provider::{Attributes, Observed};

    use super::*;
    use crate::{Observations, Prior, plan, read_targets};

    const DEV: &str = include_str!("../../../../examples/dev.toml");
    const FLEET: &str = include_str!("../../../../examples/fleet.toml");
    const MEMBERS: [&str; 2] = ["AC11111111111111111111111111111111", "AC22222222222222222222222222222222"];

    fn spec(name: &str, text: &str) -> stowage_spec::Spec {
        stowage_spec::parse(name, text).unwrap_or_else(|errors| panic!("{errors}")).spec
    }

    /// The first plan: nothing exists but Twilio's settings singletons, storage off.
    fn first_plan(desired: &[DesiredResource]) -> Plan {
        let prior = Prior::empty();
        let observations: Observations = read_targets(desired, &prior)
            .into_iter()
            .map(|target| {
                let found = target.address.resource_type.schema().lifecycle.is_singleton().then(|| Observed {
                    id: "Default".to_owned(),
                    attributes: Attributes::from([
                        ("friendly_name".to_owned(), json!("")),
                        ("aws_storage_enabled".to_owned(), json!(false)),
                        ("aws_s3_url".to_owned(), serde_json::Value::Null),
                        ("aws_credentials_sid".to_owned(), serde_json::Value::Null),
                        ("encryption_enabled".to_owned(), json!(false)),
                        ("encryption_key_sid".to_owned(), serde_json::Value::Null),
                    ]),
                });
                (target.address, found)
            })
            .collect();
        plan(desired, &prior, &observations)
    }

    fn dev() -> Graph {
        let desired = crate::desired_resources(&spec("dev.toml", DEV));
        graph(&desired, Some(&first_plan(&desired)))
    }

    fn fleet() -> Graph {
        let members: Vec<String> = MEMBERS.iter().map(|member| (*member).to_owned()).collect();
        let desired = crate::desired_fleet_resources(&spec("fleet.toml", FLEET), &members);
        graph(&desired, Some(&first_plan(&desired)))
    }

    #[test]
    fn dev_dot() {
        assert_snapshot!(dot(&dev()));
    }

    #[test]
    fn dev_mermaid() {
        assert_snapshot!(mermaid(&dev()));
    }

    #[test]
    fn fleet_dot() {
        assert_snapshot!(dot(&fleet()));
    }

    #[test]
    fn fleet_mermaid() {
        assert_snapshot!(mermaid(&fleet()));
    }

    #[test]
    fn the_secret_handoff_is_its_own_edge_and_drawn_once() {
        let graph = dev();
        let key = crate::desired::access_key_address();
        let credential = crate::desired::credential_address();
        let between: Vec<&Edge> = graph.edges.iter().filter(|edge| edge.from == key && edge.to == credential).collect();
        assert_eq!(between.len(), 1);
        assert_eq!(between[0].kind, EdgeKind::Secret);
        assert_eq!(graph.edges.iter().filter(|edge| edge.kind == EdgeKind::Secret).count(), 1);
    }

    #[test]
    fn without_a_plan_the_wiring_is_the_same_and_uncoloured() {
        let desired = crate::desired_resources(&spec("dev.toml", DEV));
        let planned = dev();
        let unplanned = graph(&desired, None);
        assert_eq!(unplanned.edges, planned.edges);
        assert!(unplanned.nodes.iter().all(|node| node.status == Status::Unplanned && node.action.is_none()));
    }

    #[test]
    fn fleet_ids_are_plain_and_unique_and_labels_quote_the_key() {
        let graph = fleet();
        let ids: BTreeSet<&str> = graph.nodes.iter().map(|node| node.id.as_str()).collect();
        assert_eq!(ids.len(), graph.nodes.len());
        assert!(ids.iter().all(|id| id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')), "{ids:?}");
        let text = mermaid(&graph);
        assert!(text.contains(&format!("twilio_aws_credential.main[#quot;{}#quot;]", MEMBERS[0])), "{text}");
        let text = dot(&graph);
        assert!(text.contains(&format!("\"twilio_aws_credential.main[\\\"{}\\\"]\"", MEMBERS[0])), "{text}");
        // One secret handoff per member.
        assert_eq!(graph.edges.iter().filter(|edge| edge.kind == EdgeKind::Secret).count(), MEMBERS.len());
    }

    #[test]
    fn ids_that_would_collide_are_numbered() {
        let one = Address::new(stowage_provider::ResourceType::S3Bucket, "a-b");
        let two = Address::new(stowage_provider::ResourceType::S3Bucket, "a_b");
        assert_eq!(ids(&[&one, &two]), ["aws_s3_bucket__a_b", "aws_s3_bucket__a_b_2"]);
    }

    #[test]
    fn only_what_changes_is_in_the_changed_graph() {
        let mut graph = dev();
        graph.nodes[0].status = Status::NoOp;
        let first = graph.nodes[0].address.clone();
        let changed = graph.changed();
        assert!(changed.node(&first).is_none());
        assert!(changed.edges.iter().all(|edge| edge.from != first && edge.to != first));
        assert_eq!(changed.nodes.len(), graph.nodes.len() - 1);
    }
}

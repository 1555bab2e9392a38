//! Renderers: every output reads the same [`Plan`](crate::Plan) model.
//!
//! What every output shows the same way has one home here: a change's symbol, the summary
//! counts, how an attribute's change is shown ([`AttributeView`]) and the line diff of two policy
//! documents ([`document_diff`], which the drift report draws too). The outputs differ only in
//! their markup.

pub mod graph;
mod human;
pub mod json;
pub mod markdown;

pub use human::{HumanOptions, human};
pub use json::{json, json_plan, json_schema};
pub use markdown::{MarkdownOptions, markdown};

use serde_json::Value;
use similar::{ChangeTag, TextDiff};
use stowage_provider::policy;

use crate::model::{ActionKind, AttributeChange, PlannedValue, ResourceChange, Summary};

/// A value as one line: strings quoted, everything else compact JSON.
pub(crate) fn inline(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| value.to_string())
}

/// Whether a value is shown as a multi-line document (policies).
pub(crate) fn is_document(name: &str, value: &Value) -> bool {
    name == "document" && value.is_object()
}

pub(crate) fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// A planned value as one line; what is known only after apply says so, and a template shows
/// `${address.attribute}` where it goes.
pub(crate) fn planned_text(value: &PlannedValue) -> String {
    match value {
        PlannedValue::Known(value) => inline(value),
        PlannedValue::Unknown(_) => "(known after apply)".to_owned(),
        PlannedValue::Template(template) => inline(&template.value),
    }
}

/// The symbol of a change: `+`, `~`, `-`, or for a replacement `+/-` (the new object first) or
/// `-/+`; `None` when nothing happens to the object itself.
pub(crate) fn symbol(change: &ResourceChange) -> Option<&'static str> {
    Some(match change.action {
        ActionKind::NoOp => return None,
        ActionKind::Create => "+",
        ActionKind::Update => "~",
        // Twilio's settings always exist: "deleting" them switches S3 storage off.
        ActionKind::Delete if change.switches_off() => "~",
        // Left in place, as Terraform shows what it forgets.
        ActionKind::Forget if change.keeps() => ".",
        ActionKind::Delete | ActionKind::Forget => "-",
        ActionKind::Replace if change.destroys_first() => "-/+",
        ActionKind::Replace => "+/-",
    })
}

/// `N to add, N to change, N to destroy`, and `, N to forget` when there is any.
pub(crate) fn counts(summary: &Summary) -> String {
    let mut counts = format!("{} to add, {} to change, {} to destroy", summary.add, summary.change, summary.destroy);
    if summary.forget > 0 {
        counts.push_str(&format!(", {} to forget", summary.forget));
    }
    if summary.keep > 0 {
        counts.push_str(&format!(", {} to keep", summary.keep));
    }
    counts
}

/// How one attribute's change is shown, whatever the markup.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AttributeView<'a> {
    /// Set by a create: `+ name = value`.
    Set(String),
    /// A document set by a create, shown whole.
    SetDocument(&'a Value),
    /// Removed: `- name = value`.
    Removed(String),
    /// A document removed, shown whole.
    RemovedDocument(&'a Value),
    /// `~ name = before -> after`.
    Changed { before: String, after: String },
    /// A document changed: the line diff of its canonical form.
    ChangedDocument(Vec<DiffLine>),
}

/// How `change`, part of a change of kind `action`, is shown; `None` when there is nothing to
/// show.
pub(crate) fn attribute_view(action: ActionKind, change: &AttributeChange) -> Option<AttributeView<'_>> {
    Some(match (&change.before, &change.after) {
        (_, Some(after)) if action == ActionKind::Create => match after {
            PlannedValue::Known(value) if is_document(&change.name, value) => AttributeView::SetDocument(value),
            _ => AttributeView::Set(planned_text(after)),
        },
        (Some(before), None) if is_document(&change.name, before) => AttributeView::RemovedDocument(before),
        (Some(before), None) => AttributeView::Removed(inline(before)),
        (before, Some(after)) => {
            let before = before.as_ref().unwrap_or(&Value::Null);
            match after {
                PlannedValue::Known(after) if is_document(&change.name, after) && before.is_object() => {
                    AttributeView::ChangedDocument(document_diff(before, after, policy::canonical))
                }
                _ => AttributeView::Changed { before: inline(before), after: planned_text(after) },
            }
        }
        (None, None) => return None,
    })
}

/// One line of a [`document_diff`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DiffLine {
    pub(crate) change: LineChange,
    /// The line, without its line break.
    pub(crate) text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineChange {
    Same,
    Removed,
    Added,
}

impl LineChange {
    /// The diff's marker: ` `, `-` or `+`.
    pub(crate) fn marker(self) -> char {
        match self {
            LineChange::Same => ' ',
            LineChange::Removed => '-',
            LineChange::Added => '+',
        }
    }
}

/// The line diff of two documents pretty-printed in the form `canonical` gives them (one of
/// `stowage_provider::policy`'s), so only real differences show.
pub(crate) fn document_diff(before: &Value, after: &Value, canonical: fn(&Value) -> Value) -> Vec<DiffLine> {
    let before = pretty(&canonical(before));
    let after = pretty(&canonical(after));
    TextDiff::from_lines(&before, &after)
        .iter_all_changes()
        .map(|line| DiffLine {
            change: match line.tag() {
                ChangeTag::Equal => LineChange::Same,
                ChangeTag::Delete => LineChange::Removed,
                ChangeTag::Insert => LineChange::Added,
            },
            text: line.value().trim_end_matches('\n').to_owned(),
        })
        .collect()
}

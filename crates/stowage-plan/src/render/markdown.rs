//! The plan as a pull-request comment (GitHub-flavoured Markdown): a heading with the summary,
//! errors and warnings as alert blocks, a table of the changes, then each change's attributes in
//! a collapsible diff, and what changed outside stowage. Past the size limit the per-resource
//! details are left out, so the comment is still posted.

use std::fmt::Write;

use similar::{ChangeTag, TextDiff};
use stowage_provider::policy;

use super::{inline, is_document, pretty};
use crate::model::{
    ActionKind, AttributeChange, Plan, PlannedValue, Reason, ReplaceOrderName, ResourceChange, ResourceDrift, Severity,
};

/// GitHub refuses comments longer than 65,536 characters; the default leaves room for a line a
/// CI job may add.
pub const DEFAULT_MAX_CHARS: usize = 65_000;

const DEFAULT_TITLE: &str = "stowage plan";
const TRUNCATED_NOTE: &str =
    "Per-resource details are left out to fit the comment size limit: the full plan is in the CI artifact.";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkdownOptions {
    /// The longest text to produce, in characters (GitHub counts characters, not bytes).
    pub max_chars: usize,
    /// The heading the summary follows; `stowage plan` when `None`.
    pub title: Option<String>,
}

impl Default for MarkdownOptions {
    fn default() -> Self {
        MarkdownOptions { max_chars: DEFAULT_MAX_CHARS, title: None }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detail {
    /// Every changed resource's attributes in a collapsible block.
    Full,
    /// Heading, alerts and tables only, with a note where the rest is.
    Summary,
}

/// Render a plan as a pull-request comment of at most `options.max_chars` characters.
pub fn markdown(plan: &Plan, options: MarkdownOptions) -> String {
    let title = options.title.as_deref().map(|title| title.replace(['\n', '\r'], " "));
    let title = title.as_deref().unwrap_or(DEFAULT_TITLE);
    let full = document(plan, title, Detail::Full);
    if fits(&full, options.max_chars) {
        return full;
    }
    let summary = document(plan, title, Detail::Summary);
    if fits(&summary, options.max_chars) {
        return summary;
    }
    cut(&summary, options.max_chars)
}

fn fits(text: &str, max_chars: usize) -> bool {
    text.chars().count() <= max_chars
}

/// The longest run of whole lines of `text` that fits with a closing note; only for limits
/// too small for the tables themselves.
fn cut(text: &str, max_chars: usize) -> String {
    let note = format!("\n{TRUNCATED_NOTE}\n");
    let budget = max_chars.saturating_sub(note.chars().count());
    let mut kept = String::new();
    let mut used = 0;
    for line in text.split_inclusive('\n') {
        let length = line.chars().count();
        if used + length > budget {
            break;
        }
        kept.push_str(line);
        used += length;
    }
    kept.push_str(&note);
    // A limit shorter than the note itself: the note, cut.
    kept.chars().take(max_chars).collect()
}

fn document(plan: &Plan, title: &str, detail: Detail) -> String {
    let mut out = String::new();
    let summary = plan.summary();
    let headline = if plan.has_errors() {
        "cannot be applied until the errors are fixed".to_owned()
    } else if plan.refresh_only {
        format!("refresh only, {} change(s) made outside stowage to record in the state", plan.drift.len())
    } else if plan.has_changes() {
        let mut counts =
            format!("{} to add, {} to change, {} to destroy", summary.add, summary.change, summary.destroy);
        if summary.forget > 0 {
            let _ = write!(counts, ", {} to forget", summary.forget);
        }
        counts
    } else {
        "no changes".to_owned()
    };
    let _ = writeln!(out, "### {title}: {headline}\n");

    for diagnostic in &plan.diagnostics {
        let kind = match diagnostic.severity {
            Severity::Error => "CAUTION",
            Severity::Warning => "WARNING",
        };
        let subject = diagnostic.address.as_ref().map(|address| format!("`{address}`: ")).unwrap_or_default();
        let _ = writeln!(out, "> [!{kind}]");
        quote(&mut out, &format!("{subject}{}", diagnostic.message));
        if let Some(hint) = &diagnostic.hint {
            out.push_str(">\n");
            quote(&mut out, &format!("Hint: {hint}"));
        }
        out.push('\n');
    }

    let changing: Vec<&ResourceChange> = plan.changes.iter().filter(|change| change.is_change()).collect();
    if changing.is_empty() && !plan.has_errors() {
        out.push_str(if plan.drift.is_empty() {
            "Reality matches the spec and the state.\n\n"
        } else {
            "Reality matches the spec.\n\n"
        });
    }
    if !changing.is_empty() {
        out.push_str("| resource | action | why |\n| --- | --- | --- |\n");
        for change in &changing {
            for deposed in &change.deposed {
                let _ = writeln!(
                    out,
                    "| `{}` | `-` destroy deposed object `{}` | {} |",
                    change.address,
                    cell(&deposed.id),
                    deposed.origin.describe()
                );
            }
            if let Some((symbol, verb)) = label(change) {
                // As in the human plan, a create needs no reason.
                let why = change
                    .reason
                    .as_ref()
                    .filter(|reason| **reason != Reason::New)
                    .map(ToString::to_string)
                    .unwrap_or_default();
                let _ = writeln!(out, "| `{}` | `{symbol}` {verb} | {} |", change.address, cell(&why));
            }
        }
        out.push('\n');
    }
    if detail == Detail::Summary {
        let _ = writeln!(out, "> [!NOTE]\n> {TRUNCATED_NOTE}\n");
    }
    if detail == Detail::Full {
        for change in &changing {
            let Some((symbol, verb)) = label(change) else { continue };
            let heading =
                format!("<code>{symbol}</code> <code>{}</code> {}", html(&change.address.to_string()), html(verb));
            details(&mut out, &heading, change.action, &change.changes);
        }
    }

    if !plan.drift.is_empty() {
        drift(&mut out, &plan.drift, plan.has_changes(), detail);
    }
    // One trailing newline, however the last section ended.
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// The symbol and verb of a change, `None` when nothing happens to the object itself.
fn label(change: &ResourceChange) -> Option<(&'static str, &'static str)> {
    Some(match change.action {
        ActionKind::NoOp => return None,
        ActionKind::Create => ("+", "create"),
        ActionKind::Update => ("~", "update in place"),
        ActionKind::Delete if change.address.resource_type.schema().singleton => {
            ("~", "switch off: Twilio stores in its own cloud again")
        }
        ActionKind::Delete => ("-", "destroy"),
        ActionKind::Forget => ("-", "forget: already gone"),
        ActionKind::Replace => match change.replace_order {
            Some(ReplaceOrderName::DestroyBeforeCreate) => ("-/+", "replace: destroy, then create"),
            Some(ReplaceOrderName::CreateBeforeDestroy) | None => {
                ("+/-", "replace: create the new one, then destroy the old one")
            }
        },
    })
}

fn drift(out: &mut String, drift: &[ResourceDrift], has_changes: bool, detail: Detail) {
    out.push_str("#### Changed outside stowage\n\n");
    out.push_str("Since the last apply, these objects changed outside stowage");
    out.push_str(if has_changes {
        ". Unless the spec was changed to match, the plan above undoes or responds to these changes.\n\n"
    } else {
        ".\n\n"
    });
    out.push_str("| resource | change |\n| --- | --- |\n");
    for resource in drift {
        if resource.deleted {
            let _ = writeln!(out, "| `{}` | `-` deleted outside stowage |", resource.address);
        } else {
            let names: Vec<String> =
                resource.changes.iter().map(|change| format!("`{}`", cell(&change.name))).collect();
            let _ = writeln!(out, "| `{}` | `~` changed: {} |", resource.address, names.join(", "));
        }
    }
    out.push('\n');
    if detail == Detail::Full {
        for resource in drift.iter().filter(|resource| !resource.deleted) {
            let heading = format!(
                "<code>~</code> <code>{}</code> changed outside stowage (recorded → actual)",
                html(&resource.address.to_string())
            );
            details(out, &heading, ActionKind::Update, &resource.changes);
        }
    }
}

/// A collapsible block with the attribute diff.
fn details(out: &mut String, summary: &str, action: ActionKind, changes: &[AttributeChange]) {
    // A replacement or forget with no attribute change: the table row says everything.
    if changes.is_empty() {
        return;
    }
    let _ = writeln!(out, "<details><summary>{summary}</summary>\n\n```diff");
    let width = changes.iter().map(|change| change.name.len()).max().unwrap_or(0);
    for change in changes {
        attribute_lines(out, action, change, width);
    }
    out.push_str("```\n\n</details>\n\n");
}

/// One attribute in a `diff` block: the `+`/`-`/`~` sits in the first column, where GitHub
/// colours it.
fn attribute_lines(out: &mut String, action: ActionKind, change: &AttributeChange, width: usize) {
    let name = format!("{:width$}", change.name);
    let after_text = |value: &PlannedValue| match value {
        PlannedValue::Known(value) => inline(value),
        PlannedValue::Unknown(_) => "(known after apply)".to_owned(),
        // The value with `${address.attribute}` where what is known after apply goes.
        PlannedValue::Template(template) => inline(&template.value),
    };
    let forces = if change.forces_replacement { "  # forces replacement" } else { "" };
    let whole_document = |out: &mut String, symbol: char, value: &serde_json::Value| {
        let _ = writeln!(out, "{symbol} {name} =");
        for line in pretty(value).lines() {
            let _ = writeln!(out, "{symbol}     {line}");
        }
    };

    match (&change.before, &change.after) {
        (_, Some(after)) if action == ActionKind::Create => match after {
            PlannedValue::Known(value) if is_document(&change.name, value) => whole_document(out, '+', value),
            _ => {
                let _ = writeln!(out, "+ {name} = {}", after_text(after));
            }
        },
        (Some(before), None) if is_document(&change.name, before) => whole_document(out, '-', before),
        (Some(before), None) => {
            let _ = writeln!(out, "- {name} = {}", inline(before));
        }
        (before, Some(after)) => {
            let before = before.clone().unwrap_or(serde_json::Value::Null);
            match after {
                PlannedValue::Known(after) if is_document(&change.name, after) && before.is_object() => {
                    let _ = writeln!(out, "~ {name} ={forces}");
                    document_diff(out, &before, after);
                }
                _ => {
                    let _ = writeln!(out, "~ {name} = {} -> {}{forces}", inline(&before), after_text(after));
                }
            }
        }
        (None, None) => {}
    }
}

/// A line diff of the canonical documents, as the human plan shows it.
fn document_diff(out: &mut String, before: &serde_json::Value, after: &serde_json::Value) {
    let before = pretty(&policy::canonical(before));
    let after = pretty(&policy::canonical(after));
    for change in TextDiff::from_lines(&before, &after).iter_all_changes() {
        let symbol = match change.tag() {
            ChangeTag::Equal => ' ',
            ChangeTag::Delete => '-',
            ChangeTag::Insert => '+',
        };
        let _ = writeln!(out, "{symbol}     {}", change.value().trim_end_matches('\n'));
    }
}

/// Every line of `text` inside the current blockquote.
fn quote(out: &mut String, text: &str) {
    for line in text.lines() {
        let _ = writeln!(out, "> {line}");
    }
}

/// Text for a table cell: a `|` would end the cell, a line break the row.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Text inside HTML (`<summary>`), where Markdown is not read.
fn html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

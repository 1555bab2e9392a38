//! The plan as a pull-request comment (GitHub-flavoured Markdown): a heading with the summary,
//! errors and warnings as alert blocks, a table of the changes, then each change's attributes in
//! a collapsible diff, and what changed outside stowage. What changes is also drawn as a Mermaid
//! flowchart after the table (only the changed resources and the edges between them), which
//! GitHub renders. Past the size limit the per-resource details are left out, then the
//! flowchart, so the comment is still posted.

use std::fmt::Write;

use super::graph::{graph, mermaid};
use super::{AttributeView, attribute_view, counts, pretty, symbol};
use crate::model::{
    ActionKind, AttributeChange, Plan, PlanDiagnostic, PlanMode, Reason, ResourceChange, ResourceDrift, Severity,
};

/// GitHub refuses comments longer than 65,536 characters; the default leaves room for a line a
/// CI job may add.
pub const DEFAULT_MAX_CHARS: usize = 65_000;

const DEFAULT_TITLE: &str = "stowage plan";
/// Mermaid's own limits (`maxTextSize`, `maxEdges`): past them it draws an error, not the graph,
/// so the flowchart is left out.
const MERMAID_MAX_CHARS: usize = 50_000;
const MERMAID_MAX_EDGES: usize = 500;
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
    let flowchart = flowchart(plan);
    let full = document(plan, title, Detail::Full, flowchart.as_deref());
    if fits(&full, options.max_chars) {
        return full;
    }
    // The details go first, then the flowchart: both count toward the limit.
    let summary = document(plan, title, Detail::Summary, flowchart.as_deref());
    if fits(&summary, options.max_chars) {
        return summary;
    }
    let summary = document(plan, title, Detail::Summary, None);
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

/// The Mermaid flowchart of what changes, `None` when nothing does or Mermaid would refuse it.
fn flowchart(plan: &Plan) -> Option<String> {
    let changed = graph(&[], Some(plan)).changed();
    if changed.nodes.is_empty() || changed.edges.len() > MERMAID_MAX_EDGES {
        return None;
    }
    Some(mermaid(&changed)).filter(|text| text.chars().count() <= MERMAID_MAX_CHARS)
}

fn document(plan: &Plan, title: &str, detail: Detail, flowchart: Option<&str>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### {title}: {}\n", headline(plan));
    alerts(&mut out, &plan.diagnostics);

    let changing: Vec<&ResourceChange> = plan.changes.iter().filter(|change| change.is_change()).collect();
    if changing.is_empty() && !plan.has_errors() {
        out.push_str(if plan.drift.is_empty() {
            "Reality matches the spec and the state.\n\n"
        } else {
            "Reality matches the spec.\n\n"
        });
    }
    if !changing.is_empty() {
        changes_table(&mut out, &changing);
    }
    if let Some(flowchart) = flowchart {
        let _ = writeln!(out, "```mermaid\n{flowchart}```\n");
    }
    match detail {
        Detail::Summary => {
            let _ = writeln!(out, "> [!NOTE]\n> {TRUNCATED_NOTE}\n");
        }
        Detail::Full => {
            for change in &changing {
                let Some((symbol, verb)) = label(change) else { continue };
                let heading =
                    format!("<code>{symbol}</code> <code>{}</code> {}", html(&change.address.to_string()), html(verb));
                details(&mut out, &heading, change.action, &change.changes);
            }
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

/// What the plan does, after the title.
fn headline(plan: &Plan) -> String {
    if plan.has_errors() {
        return "cannot be applied until the errors are fixed".to_owned();
    }
    match plan.mode {
        PlanMode::RefreshOnly => {
            format!("refresh only, {} change(s) made outside stowage to record in the state", plan.drift.len())
        }
        PlanMode::Normal if plan.has_changes() => counts(&plan.summary()),
        PlanMode::Normal => "no changes".to_owned(),
        PlanMode::Destroy if plan.has_changes() => format!("destroy, {}", counts(&plan.summary())),
        PlanMode::Destroy => "destroy, nothing recorded to destroy".to_owned(),
    }
}

/// Errors and warnings as GitHub alert blocks.
fn alerts(out: &mut String, diagnostics: &[PlanDiagnostic]) {
    for diagnostic in diagnostics {
        let kind = match diagnostic.severity {
            Severity::Error => "CAUTION",
            Severity::Warning => "WARNING",
        };
        let subject = diagnostic.address.as_ref().map(|address| format!("`{address}`: ")).unwrap_or_default();
        let _ = writeln!(out, "> [!{kind}]");
        quote(out, &format!("{subject}{}", diagnostic.message));
        if let Some(hint) = &diagnostic.hint {
            out.push_str(">\n");
            quote(out, &format!("Hint: {hint}"));
        }
        out.push('\n');
    }
}

/// A row per changed resource and per deposed object, with why.
fn changes_table(out: &mut String, changing: &[&ResourceChange]) {
    out.push_str("| resource | action | why |\n| --- | --- | --- |\n");
    for change in changing {
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

/// The symbol and verb of a change, `None` when nothing happens to the object itself.
fn label(change: &ResourceChange) -> Option<(&'static str, &'static str)> {
    let verb = match change.action {
        ActionKind::NoOp => return None,
        ActionKind::Create => "create",
        ActionKind::Update => "update in place",
        ActionKind::Delete if change.switches_off() => "switch off: Twilio stores in its own cloud again",
        ActionKind::Delete => "destroy",
        ActionKind::Forget if change.keeps() => "keep: no longer managed by stowage",
        ActionKind::Forget => "forget: already gone",
        ActionKind::Replace if change.destroys_first() => "replace: destroy, then create",
        ActionKind::Replace => "replace: create the new one, then destroy the old one",
    };
    Some((symbol(change)?, verb))
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
    let Some(view) = attribute_view(action, change) else { return };
    let name = format!("{:width$}", change.name);
    let forces = if change.forces_replacement { "  # forces replacement" } else { "" };
    let whole_document = |out: &mut String, marker: char, document: &serde_json::Value| {
        let _ = writeln!(out, "{marker} {name} =");
        for line in pretty(document).lines() {
            let _ = writeln!(out, "{marker}     {line}");
        }
    };
    match view {
        AttributeView::Set(value) => {
            let _ = writeln!(out, "+ {name} = {value}");
        }
        AttributeView::SetDocument(document) => whole_document(out, '+', document),
        AttributeView::Removed(value) => {
            let _ = writeln!(out, "- {name} = {value}");
        }
        AttributeView::RemovedDocument(document) => whole_document(out, '-', document),
        AttributeView::Changed { before, after } => {
            let _ = writeln!(out, "~ {name} = {before} -> {after}{forces}");
        }
        AttributeView::ChangedDocument(lines) => {
            let _ = writeln!(out, "~ {name} ={forces}");
            for line in lines {
                let _ = writeln!(out, "{}     {}", line.change.marker(), line.text);
            }
        }
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

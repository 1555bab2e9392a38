//! The human plan: what changed outside stowage, then `+ ~ - -/+` per resource, `before -> after`
//! per attribute, a summary line.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use super::{AttributeView, DiffLine, LineChange, attribute_view, counts, pretty, symbol};
use crate::model::{
    ActionKind, AttributeChange, Plan, PlanDiagnostic, PlanMode, Reason, ResourceChange, ResourceDrift, Severity,
};

#[derive(Debug, Clone, Copy, Default)]
pub struct HumanOptions {
    /// ANSI colours (only on a terminal, and never with `NO_COLOR`: the caller decides).
    pub color: bool,
    /// Every fleet member's changes in full; without it, a line per member (`--detail`).
    pub detail: bool,
}

struct Palette {
    create: Style,
    update: Style,
    delete: Style,
    replace: Style,
    dim: Style,
    bold: Style,
    error: Style,
    warning: Style,
}

impl Palette {
    fn new(color: bool) -> Self {
        let fg = |color: AnsiColor| Style::new().fg_color(Some(color.into()));
        if color {
            Palette {
                create: fg(AnsiColor::Green),
                update: fg(AnsiColor::Yellow),
                delete: fg(AnsiColor::Red),
                replace: fg(AnsiColor::Magenta),
                dim: Style::new().dimmed(),
                bold: Style::new().bold(),
                error: fg(AnsiColor::Red).bold(),
                warning: fg(AnsiColor::Yellow).bold(),
            }
        } else {
            let plain = Style::new();
            Palette {
                create: plain,
                update: plain,
                delete: plain,
                replace: plain,
                dim: plain,
                bold: plain,
                error: plain,
                warning: plain,
            }
        }
    }
}

fn paint(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

/// Render a plan for people: what changed outside stowage, the actions, the diagnostics, and
/// a closing line saying what applying the plan does.
pub fn human(plan: &Plan, options: HumanOptions) -> String {
    let palette = Palette::new(options.color);
    let mut out = String::new();
    let changing: Vec<&ResourceChange> = plan.changes.iter().filter(|change| change.is_change()).collect();

    if !plan.drift.is_empty() {
        drift(&mut out, &plan.drift, &palette);
        if !changing.is_empty() {
            out.push_str(
                "Unless the spec was changed to match, the actions below undo or respond to these changes.\n\n",
            );
        }
    }
    // A fleet's members, each with a line of its own unless asked for in detail.
    let (members, shown): (Vec<&ResourceChange>, Vec<&ResourceChange>) =
        changing.into_iter().partition(|change| change.address.key.is_some() && !options.detail);
    if !shown.is_empty() {
        out.push_str("stowage will perform the following actions:\n");
        for change in shown {
            out.push('\n');
            resource(&mut out, change, &palette);
        }
        out.push('\n');
    }
    if !members.is_empty() {
        member_lines(&mut out, plan, &members, &palette);
    }
    diagnostics(&mut out, &plan.diagnostics, &palette);
    closing_line(&mut out, plan, &palette);
    out
}

/// One line per fleet member with changes: what the plan does there, counted as the closing
/// line counts. `--detail` shows the changes themselves.
fn member_lines(out: &mut String, plan: &Plan, members: &[&ResourceChange], palette: &Palette) {
    let keys: std::collections::BTreeSet<&str> =
        members.iter().filter_map(|change| change.address.key.as_deref()).collect();
    let _ = writeln!(out, "stowage will change {} subaccount(s) of the fleet:\n", keys.len());
    for key in keys {
        let summary = plan.summary_of(|change| change.address.key.as_deref() == Some(key));
        let _ = writeln!(out, "  {} {}", paint(palette.bold, &format!("{key}:")), counts(&summary));
    }
    let _ = writeln!(out, "\n  {} `--detail` shows each subaccount's changes\n", paint(palette.dim, "hint:"));
}

fn diagnostics(out: &mut String, diagnostics: &[PlanDiagnostic], palette: &Palette) {
    for diagnostic in diagnostics {
        let (label, style) = match diagnostic.severity {
            Severity::Error => ("error", palette.error),
            Severity::Warning => ("warning", palette.warning),
        };
        let subject = diagnostic.address.as_ref().map(|address| format!("{address}: ")).unwrap_or_default();
        let _ = writeln!(out, "{}: {subject}{}", paint(style, label), diagnostic.message);
        if let Some(hint) = &diagnostic.hint {
            let _ = writeln!(out, "  {} {hint}", paint(palette.dim, "hint:"));
        }
    }
    if !diagnostics.is_empty() {
        out.push('\n');
    }
}

/// What applying the plan does, in one line.
fn closing_line(out: &mut String, plan: &Plan, palette: &Palette) {
    if plan.has_errors() {
        let _ = writeln!(out, "This plan cannot be applied until the errors above are fixed.");
        return;
    }
    let no_changes = paint(palette.bold, "No changes:");
    match plan.mode {
        PlanMode::RefreshOnly if plan.drift.is_empty() => {
            let _ = writeln!(out, "{no_changes} the state matches reality.");
        }
        PlanMode::RefreshOnly => {
            let _ = writeln!(
                out,
                "{} record {} change(s) made outside stowage in the state; nothing in AWS or Twilio changes.",
                paint(palette.bold, "Refresh-only plan:"),
                plan.drift.len()
            );
        }
        PlanMode::Normal if plan.has_changes() => {
            let _ = writeln!(out, "{} {}.", paint(palette.bold, "Plan:"), counts(&plan.summary()));
        }
        PlanMode::Destroy if plan.has_changes() => {
            let _ = writeln!(out, "{} {}.", paint(palette.bold, "Destroy plan:"), counts(&plan.summary()));
        }
        PlanMode::Destroy => {
            let _ = writeln!(out, "{no_changes} the state records nothing to destroy.");
        }
        PlanMode::Normal if plan.drift.is_empty() => {
            let _ = writeln!(out, "{no_changes} reality matches the spec and the state.");
        }
        // The spec already asks for what changed outside stowage: only the state is behind.
        PlanMode::Normal => {
            let _ = writeln!(out, "{no_changes} reality matches the spec.");
        }
    }
}

/// What moved outside stowage since the last apply, as Terraform's "Objects have changed
/// outside of Terraform": each attribute as `recorded -> actual`.
fn drift(out: &mut String, drift: &[ResourceDrift], palette: &Palette) {
    let _ =
        writeln!(out, "{} objects have changed outside of stowage since the last apply:", paint(palette.bold, "Note:"));
    for resource in drift {
        out.push('\n');
        let address = resource.address.to_string();
        if resource.deleted {
            let _ = writeln!(
                out,
                "  {} {} was deleted outside stowage",
                paint(palette.dim, "#"),
                paint(palette.bold, &address)
            );
            let _ = writeln!(out, "  {} {address}", paint(palette.delete, "-"));
            continue;
        }
        let _ = writeln!(
            out,
            "  {} {} has changed outside stowage (recorded -> actual)",
            paint(palette.dim, "#"),
            paint(palette.bold, &address)
        );
        let _ = writeln!(out, "  {} {address}", paint(palette.update, "~"));
        attribute_lines(out, ActionKind::Update, &resource.changes, palette);
    }
    out.push('\n');
}

fn resource(out: &mut String, change: &ResourceChange, palette: &Palette) {
    for deposed in &change.deposed {
        let _ = writeln!(
            out,
            "  {} {} (deposed object {}) will be destroyed ({})",
            paint(palette.dim, "#"),
            paint(palette.bold, &change.address.to_string()),
            deposed.id,
            deposed.origin.describe()
        );
        let _ = writeln!(out, "  {} {} [id={}]", paint(palette.delete, "-"), change.address, deposed.id);
    }
    let Some(symbol) = symbol(change) else { return };
    let (style, verb) = match change.action {
        ActionKind::NoOp => return,
        ActionKind::Create => (palette.create, "will be created"),
        ActionKind::Update => (palette.update, "will be updated in place"),
        ActionKind::Delete if change.switches_off() => {
            (palette.update, "will be switched off: Twilio stores in its own cloud again")
        }
        ActionKind::Delete => (palette.delete, "will be destroyed"),
        ActionKind::Forget if change.keeps() => (palette.bold, "will be kept, no longer managed by stowage"),
        ActionKind::Forget => (palette.dim, "will be forgotten (already gone)"),
        ActionKind::Replace if change.destroys_first() => {
            (palette.replace, "must be replaced: destroyed, then created")
        }
        ActionKind::Replace => (palette.replace, "must be replaced: created anew, then the old one destroyed"),
    };
    let _ = write!(out, "  {} {} {verb}", paint(palette.dim, "#"), paint(palette.bold, &change.address.to_string()));
    if let Some(reason) = change.reason.as_ref().filter(|reason| **reason != Reason::New) {
        let _ = write!(out, " ({reason})");
    }
    out.push('\n');
    let _ = write!(out, "  {} {}", paint(style, symbol), change.address);
    if let Some(id) = &change.prior_id {
        let _ = write!(out, " {}", paint(palette.dim, &format!("[id={id}]")));
    }
    out.push('\n');
    attribute_lines(out, change.action, &change.changes, palette);
}

/// Each attribute's change, names aligned.
fn attribute_lines(out: &mut String, action: ActionKind, changes: &[AttributeChange], palette: &Palette) {
    let width = changes.iter().map(|attribute| attribute.name.len()).max().unwrap_or(0);
    for change in changes {
        let Some(view) = attribute_view(action, change) else { continue };
        let name = format!("{:width$}", change.name);
        let forces = if change.forces_replacement {
            format!(" {}", paint(palette.replace, "# forces replacement"))
        } else {
            String::new()
        };
        let (create, delete, update) =
            (paint(palette.create, "+"), paint(palette.delete, "-"), paint(palette.update, "~"));
        let _ = match view {
            AttributeView::Set(value) => writeln!(out, "      {create} {name} = {value}"),
            AttributeView::SetDocument(document) => {
                let _ = writeln!(out, "      {create} {name} =");
                whole_document(out, document)
            }
            AttributeView::Removed(value) => writeln!(out, "      {delete} {name} = {value}"),
            AttributeView::RemovedDocument(document) => {
                let _ = writeln!(out, "      {delete} {name} =");
                whole_document(out, document)
            }
            AttributeView::Changed { before, after } => {
                writeln!(out, "      {update} {name} = {before} -> {after}{forces}")
            }
            AttributeView::ChangedDocument(lines) => {
                let _ = writeln!(out, "      {update} {name} ={forces}");
                diff_lines(out, &lines, palette)
            }
        };
    }
}

fn whole_document(out: &mut String, document: &serde_json::Value) -> std::fmt::Result {
    for line in pretty(document).lines() {
        writeln!(out, "          {line}")?;
    }
    Ok(())
}

/// A document diff, the `+` and `-` coloured.
fn diff_lines(out: &mut String, lines: &[DiffLine], palette: &Palette) -> std::fmt::Result {
    for line in lines {
        let marker = match line.change {
            LineChange::Same => " ".to_owned(),
            LineChange::Removed => paint(palette.delete, "-"),
            LineChange::Added => paint(palette.create, "+"),
        };
        writeln!(out, "          {marker} {}", line.text)?;
    }
    Ok(())
}

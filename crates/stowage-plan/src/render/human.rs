//! The human plan: what changed outside stowage, then `+ ~ - -/+` per resource, `before -> after`
//! per attribute, a summary line.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};
use similar::{ChangeTag, TextDiff};
use stowage_provider::policy;

use super::{inline, is_document, pretty};
use crate::model::{
    ActionKind, AttributeChange, Plan, PlannedValue, Reason, ReplaceOrderName, ResourceChange, ResourceDrift, Severity,
};

#[derive(Debug, Clone, Copy, Default)]
pub struct HumanOptions {
    /// ANSI colours (only on a terminal, and never with `NO_COLOR`: the caller decides).
    pub color: bool,
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

/// Render a plan for people.
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

    if !changing.is_empty() {
        out.push_str("stowage will perform the following actions:\n");
        for change in changing {
            out.push('\n');
            resource(&mut out, change, &palette);
        }
        out.push('\n');
    }

    for diagnostic in &plan.diagnostics {
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
    if !plan.diagnostics.is_empty() {
        out.push('\n');
    }

    if plan.has_errors() {
        let _ = writeln!(out, "This plan cannot be applied until the errors above are fixed.");
    } else if plan.refresh_only {
        if plan.drift.is_empty() {
            let _ = writeln!(out, "{} the state matches reality.", paint(palette.bold, "No changes:"));
        } else {
            let _ = writeln!(
                out,
                "{} record {} change(s) made outside stowage in the state; nothing in AWS or Twilio changes.",
                paint(palette.bold, "Refresh-only plan:"),
                plan.drift.len()
            );
        }
    } else if plan.has_changes() {
        let summary = plan.summary();
        let _ = write!(
            out,
            "{} {} to add, {} to change, {} to destroy",
            paint(palette.bold, "Plan:"),
            summary.add,
            summary.change,
            summary.destroy
        );
        if summary.forget > 0 {
            let _ = write!(out, ", {} to forget", summary.forget);
        }
        out.push_str(".\n");
    } else if plan.drift.is_empty() {
        let _ = writeln!(out, "{} reality matches the spec and the state.", paint(palette.bold, "No changes:"));
    } else {
        // The spec already asks for what changed outside stowage: only the state is behind.
        let _ = writeln!(out, "{} reality matches the spec.", paint(palette.bold, "No changes:"));
    }
    out
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
        let width = resource.changes.iter().map(|attribute| attribute.name.len()).max().unwrap_or(0);
        for attribute in &resource.changes {
            attribute_line(out, ActionKind::Update, attribute, width, palette);
        }
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
    let (symbol, style, verb) = match change.action {
        ActionKind::Create => ("+", palette.create, "will be created".to_owned()),
        ActionKind::Update => ("~", palette.update, "will be updated in place".to_owned()),
        ActionKind::Delete if change.address.resource_type.schema().singleton => {
            ("~", palette.update, "will be switched off: Twilio stores in its own cloud again".to_owned())
        }
        ActionKind::Delete => ("-", palette.delete, "will be destroyed".to_owned()),
        ActionKind::Forget => ("-", palette.dim, "will be forgotten (already gone)".to_owned()),
        ActionKind::Replace => {
            let (symbol, order) = match change.replace_order {
                Some(ReplaceOrderName::DestroyBeforeCreate) => ("-/+", "destroyed, then created"),
                _ => ("+/-", "created anew, then the old one destroyed"),
            };
            (symbol, palette.replace, format!("must be replaced: {order}"))
        }
        ActionKind::NoOp => return,
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

    let width = change.changes.iter().map(|attribute| attribute.name.len()).max().unwrap_or(0);
    for attribute in &change.changes {
        attribute_line(out, change.action, attribute, width, palette);
    }
}

fn attribute_line(out: &mut String, action: ActionKind, change: &AttributeChange, width: usize, palette: &Palette) {
    let name = format!("{:width$}", change.name);
    let after_text = |value: &PlannedValue| match value {
        PlannedValue::Known(value) => inline(value),
        PlannedValue::Unknown(_) => "(known after apply)".to_owned(),
        // The value with `${address.attribute}` where what is known after apply goes.
        PlannedValue::Template(template) => inline(&template.value),
    };
    let forces = if change.forces_replacement {
        format!(" {}", paint(palette.replace, "# forces replacement"))
    } else {
        String::new()
    };

    match (&change.before, &change.after) {
        (None, Some(after)) | (Some(_), Some(after)) if action == ActionKind::Create => {
            if let PlannedValue::Known(value) = after
                && is_document(&change.name, value)
            {
                let _ = writeln!(out, "      {} {name} =", paint(palette.create, "+"));
                for line in pretty(value).lines() {
                    let _ = writeln!(out, "          {line}");
                }
            } else {
                let _ = writeln!(out, "      {} {name} = {}", paint(palette.create, "+"), after_text(after));
            }
        }
        (Some(before), None) if is_document(&change.name, before) => {
            let _ = writeln!(out, "      {} {name} =", paint(palette.delete, "-"));
            for line in pretty(before).lines() {
                let _ = writeln!(out, "          {line}");
            }
        }
        (Some(before), None) => {
            let _ = writeln!(out, "      {} {name} = {}", paint(palette.delete, "-"), inline(before));
        }
        (before, Some(after)) => {
            let before_value = before.clone().unwrap_or(serde_json::Value::Null);
            if let PlannedValue::Known(after_value) = after
                && is_document(&change.name, after_value)
                && before_value.is_object()
            {
                let _ = writeln!(out, "      {} {name} ={forces}", paint(palette.update, "~"));
                document_diff(out, &before_value, after_value, palette);
            } else {
                let _ = writeln!(
                    out,
                    "      {} {name} = {} -> {}{forces}",
                    paint(palette.update, "~"),
                    inline(&before_value),
                    after_text(after)
                );
            }
        }
        (None, None) => {}
    }
}

/// A line diff of the canonical pretty-printed documents, so only real differences show.
fn document_diff(out: &mut String, before: &serde_json::Value, after: &serde_json::Value, palette: &Palette) {
    let before = pretty(&policy::canonical(before));
    let after = pretty(&policy::canonical(after));
    let diff = TextDiff::from_lines(&before, &after);
    for change in diff.iter_all_changes() {
        let line = change.value().trim_end_matches('\n');
        let _ = match change.tag() {
            ChangeTag::Equal => writeln!(out, "            {line}"),
            ChangeTag::Delete => writeln!(out, "          {} {line}", paint(palette.delete, "-")),
            ChangeTag::Insert => writeln!(out, "          {} {line}", paint(palette.create, "+")),
        };
    }
}

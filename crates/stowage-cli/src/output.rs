//! Printing a plan in the format asked for. Every format renders the same plan model.

use miette::Report;
use stowage_plan::Plan;
use stowage_plan::render::{HumanOptions, MarkdownOptions, human, json, markdown};

use crate::cli::Format;

/// `options`: how people see it ([`crate::settings::Settings::human`]).
pub fn render(plan: &Plan, format: Format, options: HumanOptions) -> String {
    match format {
        Format::Human => human(plan, options),
        Format::Json => {
            let mut text = serde_json::to_string_pretty(&json(plan)).unwrap_or_default();
            text.push('\n');
            text
        }
        Format::Markdown => markdown(plan, MarkdownOptions::default()),
    }
}

/// Whether the person at the terminal answers `yes` to doing `what` (e.g. "perform these
/// actions"); without a terminal, the refusal says to pass `--auto-approve` to `command` after
/// reviewing `shown` (e.g. "the plan").
pub fn confirmed(what: &str, command: &str, shown: &str) -> Result<bool, Report> {
    use std::io::{BufRead, IsTerminal, Write};
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(miette::miette!(
            help = format!("pass `--auto-approve` to {command} without asking (e.g. in CI), after reviewing {shown}"),
            "standard input is not a terminal, so {command} cannot ask for confirmation"
        ));
    }
    eprint!("\nDo you want to {what}? Only `yes` is accepted: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer).map_err(|error| miette::miette!("could not read the answer: {error}"))?;
    Ok(answer.trim() == "yes")
}

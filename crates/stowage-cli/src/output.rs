//! Printing a plan in the format asked for. Every format renders the same plan model.

use stowage_plan::Plan;
use stowage_plan::render::{HumanOptions, MarkdownOptions, human, json, markdown};

use crate::cli::Format;
use crate::environment::stdout_color;

pub fn render(plan: &Plan, format: Format) -> String {
    match format {
        Format::Human => human(plan, HumanOptions { color: stdout_color() }),
        Format::Json => {
            let mut text = serde_json::to_string_pretty(&json(plan)).unwrap_or_default();
            text.push('\n');
            text
        }
        Format::Markdown => markdown(plan, MarkdownOptions::default()),
    }
}

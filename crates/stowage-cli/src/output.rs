//! Printing a plan in the format asked for. Every format renders the same plan model.

use stowage_plan::Plan;
use stowage_plan::render::{HumanOptions, MarkdownOptions, human, json, markdown};

use crate::cli::Format;

/// `color`: whether stdout takes colour ([`crate::settings::ColorSettings`]).
pub fn render(plan: &Plan, format: Format, color: bool) -> String {
    match format {
        Format::Human => human(plan, HumanOptions { color }),
        Format::Json => {
            let mut text = serde_json::to_string_pretty(&json(plan)).unwrap_or_default();
            text.push('\n');
            text
        }
        Format::Markdown => markdown(plan, MarkdownOptions::default()),
    }
}

//! Renderers: every output reads the same [`Plan`](crate::Plan) model.

mod human;
pub mod json;
pub mod markdown;

pub use human::{HumanOptions, human};
pub use json::{json, json_plan, json_schema};
pub use markdown::{MarkdownOptions, markdown};

use serde_json::Value;

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

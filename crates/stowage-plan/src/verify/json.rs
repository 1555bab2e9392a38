//! The verify report for tools: what `stowage verify --format json` prints.
//!
//! The types below are the boundary: `docs/verify-report.schema.json` is generated from them.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::{Finding, Outcome, Status, outcome};

/// What `stowage verify --format json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(
    title = "stowage verify report",
    description = "What `stowage verify --format json` prints: every check, in a fixed order."
)]
pub struct JsonVerifyReport {
    pub outcome: JsonOutcome,
    pub findings: Vec<JsonFinding>,
}

/// How the run ends, as its exit status says: `passed` (0), `findings` (2: a check failed) or
/// `incomplete` (1: nothing failed, but a check could not be made).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JsonOutcome {
    Passed,
    Findings,
    Incomplete,
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct JsonFinding {
    /// Stable, for tools: `bucket`, `recordings.s3_url`, `uploader_policy.nothing_else`, ...
    pub check: String,
    pub status: JsonStatus,
    /// The Twilio debugger errors this check prevents.
    pub twilio_codes: Vec<u16>,
    pub message: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// A check's result. Warnings do not fail a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JsonStatus {
    Fail,
    /// The check could not be made.
    Unknown,
    Warn,
    Pass,
}

/// The typed report of `findings`, in their order.
pub fn json_report(findings: &[Finding]) -> JsonVerifyReport {
    JsonVerifyReport {
        outcome: match outcome(findings) {
            Outcome::Passed => JsonOutcome::Passed,
            Outcome::Findings => JsonOutcome::Findings,
            Outcome::Incomplete => JsonOutcome::Incomplete,
        },
        findings: findings.iter().map(finding).collect(),
    }
}

fn finding(finding: &Finding) -> JsonFinding {
    JsonFinding {
        check: finding.check.clone(),
        status: match finding.status {
            Status::Fail => JsonStatus::Fail,
            Status::Unknown => JsonStatus::Unknown,
            Status::Warn => JsonStatus::Warn,
            Status::Pass => JsonStatus::Pass,
        },
        twilio_codes: finding.twilio_codes.clone(),
        message: finding.message.clone(),
        hint: finding.hint.clone(),
    }
}

/// The JSON Schema (draft 2020-12) of [`JsonVerifyReport`]: `docs/verify-report.schema.json`.
pub fn json_schema() -> Value {
    schemars::schema_for!(JsonVerifyReport).to_value()
}

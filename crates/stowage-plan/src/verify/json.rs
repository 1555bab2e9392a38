//! The verify report for tools: what `stowage verify --format json` prints.
//!
//! The types below are the boundary: `docs/verify-report.schema.json` is generated from them.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::{Finding, Outcome, Status, outcome};
use crate::rotation::KeyAge;

/// What `stowage verify --format json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(
    title = "stowage verify report",
    description = "What `stowage verify --format json` prints: every check, in a fixed order."
)]
pub struct JsonVerifyReport {
    pub outcome: JsonOutcome,
    pub findings: Vec<JsonFinding>,
    /// How old the access key Twilio writes with is, in whole days (as the check
    /// `access_key.rotation` says); null when there is no key or its age is unknown.
    pub key_age_days: Option<u64>,
    /// The day (`YYYY-MM-DD`, UTC) the key becomes `rotate_after_days` days old (its creation
    /// time plus that many days): a plan made from that moment replaces it. Today or earlier
    /// when the rotation is overdue; null when the spec sets no `rotate_after_days`, or there
    /// is no key.
    #[schemars(extend("format" = "date"))]
    pub rotation_due: Option<String>,
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

/// The typed report of `findings`, in their order, with the key's age (see
/// [`super::Inspections::key_age`]).
pub fn json_report(findings: &[Finding], key_age: Option<&KeyAge>) -> JsonVerifyReport {
    JsonVerifyReport {
        outcome: match outcome(findings) {
            Outcome::Passed => JsonOutcome::Passed,
            Outcome::Findings => JsonOutcome::Findings,
            Outcome::Incomplete => JsonOutcome::Incomplete,
        },
        findings: findings.iter().map(finding).collect(),
        key_age_days: key_age.map(|age| age.age_days),
        rotation_due: key_age.and_then(|age| age.due).map(|due| due.to_string()),
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

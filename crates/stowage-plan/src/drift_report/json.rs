//! The drift report for dashboards and alerts: what `stowage drift --format json` prints.
//!
//! The types below are the boundary: `docs/drift-report.schema.json` is generated from them.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::{AttributeDrift, DriftEntry, DriftKind, DriftReport, DriftSeverity};

/// What `stowage drift --format json` prints.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(
    title = "stowage drift report",
    description = "What `stowage drift --format json` prints. See docs/ci/scheduled-drift.md."
)]
pub struct JsonDriftReport {
    pub format_version: FormatVersion,
    /// When the comparison was made (RFC 3339, UTC).
    #[schemars(extend("format" = "date-time"))]
    pub generated_at: String,
    /// The spec's `[environment] name`.
    pub environment: String,
    pub summary: JsonSummary,
    /// Critical entries first, then by address.
    pub entries: Vec<JsonEntry>,
    /// How old the access key Twilio writes with is, in whole days; null when there is none.
    /// Information only: it never makes an entry by itself (a rotation that is due is a
    /// `not_applied` replacement of the key).
    pub key_age_days: Option<u64>,
    /// The day (`YYYY-MM-DD`, UTC) the key becomes `rotate_after_days` days old (its creation
    /// time plus that many days): a plan made from that moment replaces it. Today or earlier
    /// when the rotation is overdue; null when the spec sets no `rotate_after_days`, or there
    /// is no key.
    #[schemars(extend("format" = "date"))]
    pub rotation_due: Option<String>,
}

/// The version of this format: the minor number grows with additions, the major number
/// with changes a reader must know about. 1.1 added `key_age_days` and `rotation_due`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub enum FormatVersion {
    #[serde(rename = "1.1")]
    V1_1,
}

/// Counts for dashboards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct JsonSummary {
    /// Nothing differs (after ignore rules): the command exited 0.
    pub in_sync: bool,
    pub critical: usize,
    pub warning: usize,
    pub by_kind: JsonByKind,
    /// Differences left out by ignore rules (whole resources and single attributes).
    pub ignored: usize,
}

/// How many entries of each kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub struct JsonByKind {
    pub changed_outside: usize,
    pub deleted_outside: usize,
    pub not_applied: usize,
}

/// One resource that differs, in one way.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct JsonEntry {
    /// `TYPE.NAME`, e.g. `aws_s3_bucket.main`, or `TYPE.NAME["KEY"]` for a fleet member's.
    pub address: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub name: String,
    /// The instance key (a fleet member's account SID); absent for a single resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    pub kind: JsonDriftKind,
    pub severity: JsonDriftSeverity,
    /// What is at risk, in words.
    pub why: String,
    /// The attributes that differ; empty when the resource was deleted.
    pub attributes: Vec<JsonAttribute>,
}

/// What one entry of the report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "DriftKind")]
pub enum JsonDriftKind {
    /// Recorded in the state, changed since by someone else: `expected` is what the state
    /// recorded.
    ChangedOutside,
    /// Recorded in the state, deleted since by someone else.
    DeletedOutside,
    /// The spec asks for something reality does not have, and nothing changed outside stowage
    /// explains it: a spec edit not yet applied. `expected` is what the spec asks for.
    NotApplied,
}

/// How bad a difference is. `Critical` sorts first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "DriftSeverity")]
pub enum JsonDriftSeverity {
    /// Weakens security or loses recordings.
    Critical,
    /// Anything else.
    Warning,
}

/// One attribute that differs.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct JsonAttribute {
    pub name: String,
    /// What the state recorded (`changed_outside`) or the spec asks for (`not_applied`);
    /// null when absent or known only after apply.
    pub expected: Value,
    /// What exists now; null when absent.
    pub actual: Value,
}

/// The typed JSON report. `generated_at` is RFC 3339, from the caller's clock. The key's age
/// is the first of the report's [`DriftReport::key_ages`] (an environment has one key).
pub fn json_report(report: &DriftReport, environment: &str, generated_at: String) -> JsonDriftReport {
    let key_age = report.key_ages.first();
    JsonDriftReport {
        format_version: FormatVersion::V1_1,
        generated_at,
        environment: environment.to_owned(),
        summary: JsonSummary {
            in_sync: report.in_sync(),
            critical: report.count(DriftSeverity::Critical),
            warning: report.count(DriftSeverity::Warning),
            by_kind: JsonByKind {
                changed_outside: report.count_kind(DriftKind::ChangedOutside),
                deleted_outside: report.count_kind(DriftKind::DeletedOutside),
                not_applied: report.count_kind(DriftKind::NotApplied),
            },
            ignored: report.ignored,
        },
        entries: report.entries.iter().map(entry).collect(),
        key_age_days: key_age.map(|age| age.age_days),
        rotation_due: key_age.and_then(|age| age.due).map(|due| due.to_string()),
    }
}

fn entry(entry: &DriftEntry) -> JsonEntry {
    JsonEntry {
        address: entry.address.to_string(),
        resource_type: entry.address.resource_type.as_str().to_owned(),
        name: entry.address.name.clone(),
        index: entry.address.key.clone(),
        kind: match entry.kind {
            DriftKind::ChangedOutside => JsonDriftKind::ChangedOutside,
            DriftKind::DeletedOutside => JsonDriftKind::DeletedOutside,
            DriftKind::NotApplied => JsonDriftKind::NotApplied,
        },
        severity: match entry.severity {
            DriftSeverity::Critical => JsonDriftSeverity::Critical,
            DriftSeverity::Warning => JsonDriftSeverity::Warning,
        },
        why: entry.why.clone(),
        attributes: entry.attributes.iter().map(attribute).collect(),
    }
}

fn attribute(attribute: &AttributeDrift) -> JsonAttribute {
    JsonAttribute {
        name: attribute.name.clone(),
        expected: attribute.expected.clone().unwrap_or(Value::Null),
        actual: attribute.actual.clone().unwrap_or(Value::Null),
    }
}

/// The JSON Schema (draft 2020-12) of [`JsonDriftReport`]: `docs/drift-report.schema.json`.
pub fn json_schema() -> Value {
    schemars::schema_for!(JsonDriftReport).to_value()
}

//! The alerts report for tools: what `stowage alerts --format json` prints.
//!
//! The types below are the boundary: `docs/alerts-report.schema.json` is generated from them.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::{AlertsReport, CodeGroup, LikelyCause, LostGroup, Outcome};
use crate::verify::{Finding, Status, StorageKind};

/// What `stowage alerts --format json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(
    title = "stowage alerts report",
    description = "What `stowage alerts --format json` prints: Twilio's storage alerts and the recordings and \
                   compositions it failed to store, in a window of time, with their likely causes."
)]
pub struct JsonAlertsReport {
    pub format_version: FormatVersion,
    pub window: JsonWindow,
    pub outcome: JsonOutcome,
    pub summary: JsonSummary,
    /// One entry per storage code raised in the window, by code.
    pub codes: Vec<JsonCodeGroup>,
    /// One entry per kind and status of media not stored, recordings first.
    pub lost: Vec<JsonLostGroup>,
}

/// The version of this format: the minor number grows with additions, the major number
/// with changes a reader must know about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub enum FormatVersion {
    #[serde(rename = "1.0")]
    V1_0,
}

/// The time the report covers, both ends included (RFC 3339, UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct JsonWindow {
    #[schemars(extend("format" = "date-time"))]
    pub start: String,
    #[schemars(extend("format" = "date-time"))]
    pub end: String,
}

/// How the run ends, as its exit status says: `none` (0: nothing went unstored) or `some` (2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JsonOutcome {
    None,
    Some,
}

/// Counts for dashboards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub struct JsonSummary {
    /// Storage alerts raised in the window.
    pub alerts: usize,
    /// Recordings and compositions failed or deleted in the window.
    pub lost: usize,
    /// Alerts in the window with codes that are not about storage, left out of `codes`.
    pub other_alerts: usize,
}

/// What is stored in S3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "AlertsStorageKind")]
pub enum JsonStorageKind {
    Recordings,
    Compositions,
}

/// The alerts of one storage code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct JsonCodeGroup {
    /// Twilio's debugger code, 53610-53616 or 53620-53625.
    pub code: u16,
    /// Whose uploads the code is about.
    pub kind: JsonStorageKind,
    /// The code in a few words.
    pub title: String,
    /// What the code means.
    pub meaning: String,
    /// What to do about it when no check says more.
    pub fix: String,
    /// Alerts raised.
    pub count: usize,
    #[schemars(extend("format" = "date-time"))]
    pub first_seen: String,
    #[schemars(extend("format" = "date-time"))]
    pub last_seen: String,
    /// Distinct resources (recordings `RT...`, compositions `CJ...`) the alerts name.
    pub resources: usize,
    /// Up to five of them, sorted.
    pub resource_sids: Vec<String>,
    pub likely_cause: JsonLikelyCause,
}

/// What `stowage verify` says now of a code's cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct JsonLikelyCause {
    pub verdict: JsonVerdict,
    /// The checks that prevent the code (or its counterpart for the other kind) and fail or
    /// warn now, failures first; empty unless `verdict` is `found`.
    pub findings: Vec<JsonCauseFinding>,
}

/// Whether `stowage verify` found the cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JsonVerdict {
    /// Checks that prevent the code fail or warn now: `findings`.
    Found,
    /// Every check that prevents the code passes now: the cause may have been repaired since,
    /// or be intermittent; `fix` says what to do.
    ChecksPass,
    /// No check that prevents the code was made (there is none, or it could not be made).
    NotChecked,
}

/// A `stowage verify` finding, as its report gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct JsonCauseFinding {
    /// Stable, for tools: `recordings.s3_url`, `uploader_policy.put_recordings`, ...
    pub check: String,
    pub status: JsonCauseStatus,
    /// The Twilio debugger errors this check prevents.
    pub twilio_codes: Vec<u16>,
    pub message: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// A likely cause's check result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JsonCauseStatus {
    Fail,
    Warn,
}

/// The recordings or compositions of one status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct JsonLostGroup {
    pub kind: JsonStorageKind,
    /// Twilio's status: `failed` or `deleted`.
    pub status: String,
    pub count: usize,
    /// How many of them a storage alert in the window names (a `deleted` status also follows
    /// a deletion the account made itself).
    pub named_by_alert: usize,
    /// Up to five SIDs, sorted.
    pub sids: Vec<String>,
}

/// The typed report.
pub fn json_report(report: &AlertsReport) -> JsonAlertsReport {
    JsonAlertsReport {
        format_version: FormatVersion::V1_0,
        window: JsonWindow { start: report.window.start.to_string(), end: report.window.end.to_string() },
        outcome: match report.outcome() {
            Outcome::Quiet => JsonOutcome::None,
            Outcome::Raised => JsonOutcome::Some,
        },
        summary: JsonSummary {
            alerts: report.alert_count(),
            lost: report.lost_count(),
            other_alerts: report.other_alerts,
        },
        codes: report.codes.iter().map(code_group).collect(),
        lost: report.lost.iter().map(lost_group).collect(),
    }
}

fn kind(kind: StorageKind) -> JsonStorageKind {
    match kind {
        StorageKind::Recordings => JsonStorageKind::Recordings,
        StorageKind::Compositions => JsonStorageKind::Compositions,
    }
}

fn code_group(group: &CodeGroup) -> JsonCodeGroup {
    let (verdict, findings) = match &group.likely_cause {
        LikelyCause::Found(findings) => (JsonVerdict::Found, findings.iter().filter_map(cause_finding).collect()),
        LikelyCause::ChecksPass => (JsonVerdict::ChecksPass, Vec::new()),
        LikelyCause::NotChecked => (JsonVerdict::NotChecked, Vec::new()),
    };
    JsonCodeGroup {
        code: group.code.code,
        kind: kind(group.code.kind),
        title: group.code.title.to_owned(),
        meaning: group.code.meaning.to_owned(),
        fix: group.code.fix.to_owned(),
        count: group.count,
        first_seen: group.first_seen.to_string(),
        last_seen: group.last_seen.to_string(),
        resources: group.resources,
        resource_sids: group.resource_sids.clone(),
        likely_cause: JsonLikelyCause { verdict, findings },
    }
}

/// A finding that fails or warns; [`LikelyCause::Found`] holds no other.
fn cause_finding(finding: &Finding) -> Option<JsonCauseFinding> {
    let status = match finding.status {
        Status::Fail => JsonCauseStatus::Fail,
        Status::Warn => JsonCauseStatus::Warn,
        Status::Unknown | Status::Pass => return None,
    };
    Some(JsonCauseFinding {
        check: finding.check.clone(),
        status,
        twilio_codes: finding.twilio_codes.clone(),
        message: finding.message.clone(),
        hint: finding.hint.clone(),
    })
}

fn lost_group(group: &LostGroup) -> JsonLostGroup {
    JsonLostGroup {
        kind: kind(group.kind),
        status: group.status.clone(),
        count: group.count,
        named_by_alert: group.named_by_alert,
        sids: group.sids.clone(),
    }
}

/// The JSON Schema (draft 2020-12) of [`JsonAlertsReport`]: `docs/alerts-report.schema.json`.
pub fn json_schema() -> Value {
    schemars::schema_for!(JsonAlertsReport).to_value()
}

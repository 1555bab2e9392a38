//! `stowage alerts`: the recordings and compositions Twilio failed to store, and why. Pure: the
//! command reads Twilio's debugger alerts and its failed and deleted media for a window of time,
//! runs `verify` for what is wrong now, and this module makes the report; the time is an input.
//!
//! Twilio says a recording or composition was not stored only after the fact: a debugger alert
//! whose code is one of [`STORAGE_CODES`] (53610-53616 for recordings, 53620-53625 for
//! compositions), and the media's status turning `failed` or `deleted`. Alerts with other codes
//! are counted and left out.
//!
//! What the report shows, in each format ([`render_human`], [`render_markdown`],
//! [`render_json`]):
//!
//! - The window: alerts and media from its start to its end, both included; anything outside
//!   it is left out.
//! - One group per storage code that was raised: how many alerts, when first and last seen,
//!   how many resources (recordings `RT...`, compositions `CJ...`) they name and up to
//!   [`SIDS_SHOWN`] of them (sorted), what the code means, and its likely cause: the `verify`
//!   checks failing or warning now that prevent this code or its counterpart for the other kind
//!   (Twilio numbers a composition's code ten above the recording's: 53615 and 53625); 53616
//!   (a recording deleted after its upload retries ran out) has no cause of its own, so the
//!   checks of every other storage code are looked at for it. When every such check passes
//!   now, the report says the setup looks right now (the cause may have been repaired since, or
//!   be intermittent) and gives the code's generic fix; when no check covers it (verify has no
//!   check for public keys) or one could not be made, it says so and gives the fix.
//! - Lost media: how many recordings and compositions are `failed` or `deleted`, by kind and
//!   status, how many of them an alert in the window names, and up to [`SIDS_SHOWN`] SIDs.
//!   A `deleted` status also follows a deletion the account made itself: the alerts tell the
//!   two apart.
//! - The outcome: [`Outcome::Quiet`] (exit 0) when there is neither a storage alert nor lost
//!   media, else [`Outcome::Raised`] (exit 2).
//!
//! The human report has all of it; the Markdown one (for an issue or a chat message) a table
//! of the codes with the first likely cause in words and the others by check name, then the
//! lost media in one line; the JSON one all of it, with counts for dashboards.
//!
//! The JSON boundary types are in [`json`]; `docs/alerts-report.schema.json` is generated from
//! them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use jiff::Timestamp;
use serde_json::Value;

use crate::verify::{Finding, Status, StorageKind};

pub mod json;

/// How many SIDs a group shows; the rest are counted.
pub const SIDS_SHOWN: usize = 5;

/// One of Twilio's debugger codes for media it could not store in S3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageCode {
    pub code: u16,
    /// Whose upload failed: 5361x are recordings', 5362x compositions'.
    pub kind: StorageKind,
    /// A few words, for headings and tables.
    pub title: &'static str,
    /// What it means, in one sentence.
    pub meaning: &'static str,
    /// What to do about it when no check says more.
    pub fix: &'static str,
}

/// Twilio's external S3 storage codes, by code: what the design notes
/// (`design/domain.md`, "What goes wrong later") say of each, with Twilio's error dictionary for
/// 53614 and 53624 (public key credentials that could not be loaded), which the notes leave
/// out. 53626 and 53627 follow in Twilio's catalogue but are Twilio's own internal failures,
/// not storage: they are not here.
pub const STORAGE_CODES: &[StorageCode] = &[
    StorageCode {
        code: 53610,
        kind: StorageKind::Recordings,
        title: "invalid S3 URL",
        meaning: "Twilio could not upload a recording: the S3 URL in the recording settings is invalid, or names a \
                  bucket that does not exist or is in another region",
        fix: "run `stowage verify SPEC` to see which; `stowage apply SPEC` sets the URL stowage builds for the spec's \
              bucket and region",
    },
    StorageCode {
        code: 53611,
        kind: StorageKind::Recordings,
        title: "invalid AWS credentials",
        meaning: "Twilio could not upload a recording: AWS did not accept the access key in Twilio's AWS credential \
                  (deleted, deactivated, or its secret does not match)",
        fix: "`stowage rotate SPEC` makes a new access key and Twilio credential and points the settings at them",
    },
    StorageCode {
        code: 53612,
        kind: StorageKind::Recordings,
        title: "invalid public key",
        meaning: "Twilio could not encrypt a recording: the public key in the recording settings is not valid",
        fix: "check the spec's public key file, then `stowage apply SPEC` to store it and point the settings at it, \
              or switch encryption off",
    },
    StorageCode {
        code: 53613,
        kind: StorageKind::Recordings,
        title: "AWS credential deleted",
        meaning: "Twilio could not upload a recording: the AWS credential the recording settings name was deleted \
                  from Twilio",
        fix: "`stowage apply SPEC` makes a new access key and Twilio credential and points the settings at them",
    },
    StorageCode {
        code: 53614,
        kind: StorageKind::Recordings,
        title: "public key not found",
        meaning: "Twilio is holding recordings back: the public key credential the recording settings name for \
                  encryption could not be loaded, most likely because it was deleted from Twilio",
        fix: "`stowage apply SPEC` stores the spec's public key again and points the settings at it",
    },
    StorageCode {
        code: 53615,
        kind: StorageKind::Recordings,
        title: "access denied",
        meaning: "S3 refused a recording's upload: the uploader may not `s3:PutObject` under the prefix or use the \
                  bucket's KMS key, or the bucket's default encryption is SSE-S3, which Twilio does not support",
        fix: "run `stowage verify SPEC` to see which; `stowage apply SPEC` restores the uploader's policy",
    },
    StorageCode {
        code: 53616,
        kind: StorageKind::Recordings,
        title: "deleted after upload retries ran out",
        meaning: "Twilio gave up uploading a recording and deleted it: the recording is lost",
        fix: "the recording cannot be recovered; fix what made the uploads fail (the other codes in this report, or \
              `stowage verify SPEC`) so that no more are lost",
    },
    StorageCode {
        code: 53620,
        kind: StorageKind::Compositions,
        title: "invalid S3 URL",
        meaning: "Twilio could not upload a composition: the S3 URL in the composition settings is invalid, or \
                  names a bucket that does not exist or is in another region",
        fix: "run `stowage verify SPEC` to see which; `stowage apply SPEC` sets the URL stowage builds for the spec's \
              bucket and region",
    },
    StorageCode {
        code: 53621,
        kind: StorageKind::Compositions,
        title: "invalid AWS credentials",
        meaning: "Twilio could not upload a composition: AWS did not accept the access key in Twilio's AWS \
                  credential (deleted, deactivated, or its secret does not match)",
        fix: "`stowage rotate SPEC` makes a new access key and Twilio credential and points the settings at them",
    },
    StorageCode {
        code: 53622,
        kind: StorageKind::Compositions,
        title: "invalid public key",
        meaning: "Twilio could not encrypt a composition: the public key in the composition settings is not valid",
        fix: "check the spec's public key file, then `stowage apply SPEC` to store it and point the settings at it, \
              or switch encryption off",
    },
    StorageCode {
        code: 53623,
        kind: StorageKind::Compositions,
        title: "AWS credential deleted",
        meaning: "Twilio could not upload a composition: the AWS credential the composition settings name was \
                  deleted from Twilio",
        fix: "`stowage apply SPEC` makes a new access key and Twilio credential and points the settings at them",
    },
    StorageCode {
        code: 53624,
        kind: StorageKind::Compositions,
        title: "public key not found",
        meaning: "Twilio is holding compositions back: the public key credential the composition settings name for \
                  encryption could not be loaded, most likely because it was deleted from Twilio",
        fix: "`stowage apply SPEC` stores the spec's public key again and points the settings at it",
    },
    StorageCode {
        code: 53625,
        kind: StorageKind::Compositions,
        title: "access denied",
        meaning: "S3 refused a composition's upload: the uploader may not `s3:PutObject` under the prefix or use \
                  the bucket's KMS key, or the bucket's default encryption is SSE-S3, which Twilio does not support",
        fix: "run `stowage verify SPEC` to see which; `stowage apply SPEC` restores the uploader's policy",
    },
];

/// What Twilio's catalogue says of `code`, when it is a storage code.
pub fn storage_code(code: u16) -> Option<&'static StorageCode> {
    STORAGE_CODES.iter().find(|known| known.code == code)
}

/// The code Twilio raises for the other kind of media (53615 and 53625), if it has one.
pub fn counterpart(code: u16) -> Option<u16> {
    storage_code(code)?;
    let other = match code {
        53610..=53619 => code + 10,
        53620..=53629 => code - 10,
        _ => return None,
    };
    storage_code(other).map(|known| known.code)
}

/// The codes whose `verify` checks may explain an alert of `code`: the code and its
/// counterpart; for 53616, which only says the retries ran out, every upload code.
fn explaining_codes(code: u16) -> BTreeSet<u16> {
    if code == 53616 {
        return STORAGE_CODES.iter().map(|known| known.code).filter(|&known| known != 53616).collect();
    }
    [Some(code), counterpart(code)].into_iter().flatten().collect()
}

/// The time the report covers: from `start` to `end`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Window {
    pub fn contains(&self, at: Timestamp) -> bool {
        self.start <= at && at <= self.end
    }
}

/// A debugger alert, as the command read it (Monitor's `error_code` as a number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaisedAlert {
    pub sid: String,
    pub code: u16,
    /// When Twilio raised it.
    pub at: Timestamp,
    /// The recording (`RT...`) or composition (`CJ...`) it is about, if any.
    pub resource_sid: Option<String>,
}

/// A recording or composition whose status is `failed` or `deleted`, as the command read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostMedia {
    pub sid: String,
    pub kind: StorageKind,
    /// Twilio's status: `failed` or `deleted`.
    pub status: String,
    /// When it was created.
    pub at: Timestamp,
}

/// What `verify` says now of the cause of one code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LikelyCause {
    /// The checks that prevent this code (or its counterpart) and fail or warn now, failures
    /// first.
    Found(Vec<Finding>),
    /// Every check that prevents this code passes now: the cause may have been repaired since,
    /// or be intermittent.
    ChecksPass,
    /// No check that prevents this code was made: `verify` has none for it, or could not make
    /// it.
    NotChecked,
}

/// The alerts of one storage code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeGroup {
    pub code: &'static StorageCode,
    /// Alerts raised.
    pub count: usize,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// How many distinct resources the alerts name.
    pub resources: usize,
    /// The first [`SIDS_SHOWN`] of them, sorted.
    pub resource_sids: Vec<String>,
    pub likely_cause: LikelyCause,
}

/// The lost media of one kind and status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostGroup {
    pub kind: StorageKind,
    pub status: String,
    pub count: usize,
    /// How many of them an alert in the window names.
    pub named_by_alert: usize,
    /// The first [`SIDS_SHOWN`] SIDs, sorted.
    pub sids: Vec<String>,
}

/// How the run ends: the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// No storage alert and no lost media: exit 0.
    Quiet,
    /// Something was not stored: exit 2.
    Raised,
}

/// The report: see the module documentation for what each part shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertsReport {
    pub window: Window,
    /// By code.
    pub codes: Vec<CodeGroup>,
    /// By kind (recordings first), then status.
    pub lost: Vec<LostGroup>,
    /// Alerts in the window with other codes than [`STORAGE_CODES`], left out.
    pub other_alerts: usize,
}

impl AlertsReport {
    pub fn outcome(&self) -> Outcome {
        if self.codes.is_empty() && self.lost.is_empty() { Outcome::Quiet } else { Outcome::Raised }
    }

    /// Storage alerts in all.
    pub fn alert_count(&self) -> usize {
        self.codes.iter().map(|group| group.count).sum()
    }

    /// Lost media in all.
    pub fn lost_count(&self) -> usize {
        self.lost.iter().map(|group| group.count).sum()
    }
}

/// The report of `alerts` and `lost` media within `window`, with `findings` (what `verify`
/// says now) as the likely causes. The same alert (by SID) or media (by kind, SID and status)
/// given twice counts once.
pub fn report(window: Window, alerts: &[RaisedAlert], lost: &[LostMedia], findings: &[Finding]) -> AlertsReport {
    let mut seen = BTreeSet::new();
    let in_window: Vec<&RaisedAlert> =
        alerts.iter().filter(|alert| window.contains(alert.at) && seen.insert(alert.sid.as_str())).collect();
    let other_alerts = in_window.iter().filter(|alert| storage_code(alert.code).is_none()).count();

    let mut by_code: BTreeMap<u16, Vec<&RaisedAlert>> = BTreeMap::new();
    for alert in in_window.iter().filter(|alert| storage_code(alert.code).is_some()) {
        by_code.entry(alert.code).or_default().push(alert);
    }
    let codes = by_code
        .into_iter()
        .filter_map(|(code, alerts)| {
            let code = storage_code(code)?;
            let first_seen = alerts.iter().map(|alert| alert.at).min()?;
            let last_seen = alerts.iter().map(|alert| alert.at).max()?;
            let resources: BTreeSet<&str> = alerts.iter().filter_map(|alert| alert.resource_sid.as_deref()).collect();
            Some(CodeGroup {
                code,
                count: alerts.len(),
                first_seen,
                last_seen,
                resources: resources.len(),
                resource_sids: resources.iter().take(SIDS_SHOWN).map(|sid| (*sid).to_owned()).collect(),
                likely_cause: likely_cause(code.code, findings),
            })
        })
        .collect();

    let named: BTreeSet<&str> = in_window
        .iter()
        .filter(|alert| storage_code(alert.code).is_some())
        .filter_map(|alert| alert.resource_sid.as_deref())
        .collect();
    let mut by_status: BTreeMap<(StorageKind, &str), BTreeSet<&str>> = BTreeMap::new();
    for media in lost.iter().filter(|media| window.contains(media.at)) {
        by_status.entry((media.kind, media.status.as_str())).or_default().insert(media.sid.as_str());
    }
    let lost = by_status
        .into_iter()
        .map(|((kind, status), sids)| LostGroup {
            kind,
            status: status.to_owned(),
            count: sids.len(),
            named_by_alert: sids.iter().filter(|sid| named.contains(*sid)).count(),
            sids: sids.iter().take(SIDS_SHOWN).map(|sid| (*sid).to_owned()).collect(),
        })
        .collect();

    AlertsReport { window, codes, lost, other_alerts }
}

/// What `findings` say of `code`'s cause: see [`LikelyCause`].
fn likely_cause(code: u16, findings: &[Finding]) -> LikelyCause {
    let explaining = explaining_codes(code);
    let relevant: Vec<&Finding> =
        findings.iter().filter(|finding| finding.twilio_codes.iter().any(|code| explaining.contains(code))).collect();
    let mut found: Vec<Finding> = relevant
        .iter()
        .filter(|finding| matches!(finding.status, Status::Fail | Status::Warn))
        .map(|finding| (*finding).clone())
        .collect();
    // Stable: the checks' own order within each status.
    found.sort_by_key(|finding| finding.status);
    if !found.is_empty() {
        LikelyCause::Found(found)
    } else if !relevant.is_empty() && relevant.iter().all(|finding| finding.status == Status::Pass) {
        LikelyCause::ChecksPass
    } else {
        LikelyCause::NotChecked
    }
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// `recording` / `composition`, in the number `count` asks for.
fn media_noun(kind: StorageKind, count: usize) -> String {
    match kind {
        StorageKind::Recordings => plural(count, "recording", "recordings"),
        StorageKind::Compositions => plural(count, "composition", "compositions"),
    }
}

/// The SIDs shown, and how many more there are.
fn sid_list(sids: &[String], total: usize, quote: &str) -> String {
    let mut shown: Vec<String> = sids.iter().map(|sid| format!("{quote}{sid}{quote}")).collect();
    if total > sids.len() {
        shown.push(format!("and {} more", total - sids.len()));
    }
    shown.join(", ")
}

/// What the report found, in a few words.
fn headline(report: &AlertsReport) -> String {
    if report.outcome() == Outcome::Quiet {
        return "no storage alerts, and no failed or deleted recordings or compositions".to_owned();
    }
    let mut parts = Vec::new();
    if !report.codes.is_empty() {
        parts.push(format!(
            "{} ({})",
            plural(report.alert_count(), "storage alert", "storage alerts"),
            plural(report.codes.len(), "code", "codes")
        ));
    }
    let lost: Vec<String> = [StorageKind::Recordings, StorageKind::Compositions]
        .into_iter()
        .filter_map(|kind| {
            let count: usize = report.lost.iter().filter(|group| group.kind == kind).map(|group| group.count).sum();
            (count > 0).then(|| media_noun(kind, count))
        })
        .collect();
    if !lost.is_empty() {
        parts.push(format!("{} failed or deleted", lost.join(" and ")));
    }
    parts.join("; ")
}

fn window_text(window: &Window) -> String {
    format!("from {} to {}", window.start, window.end)
}

fn symbol(status: Status) -> &'static str {
    match status {
        Status::Pass => "✓",
        Status::Fail => "✗",
        Status::Warn => "!",
        Status::Unknown => "?",
    }
}

const CHECKS_PASS: &str =
    "every check that prevents it passes now: the cause may have been repaired since, or be intermittent";
const NOT_CHECKED: &str = "stowage has no check for its cause, or could not make it";

/// The report for people: a headline, each code with its likely cause, then the lost media.
pub fn render_human(report: &AlertsReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Twilio storage alerts {}: {}.", window_text(&report.window), headline(report));
    for group in &report.codes {
        let code = group.code;
        out.push('\n');
        let when = if group.first_seen == group.last_seen {
            format!("at {}", group.first_seen)
        } else {
            format!("first {}, last {}", group.first_seen, group.last_seen)
        };
        let _ = writeln!(
            out,
            "{} {}: {} ({}), {when}",
            code.code,
            code.kind.noun(),
            code.title,
            plural(group.count, "alert", "alerts")
        );
        let _ = writeln!(out, "  means: {}", code.meaning);
        if group.resources > 0 {
            let _ = writeln!(
                out,
                "  {}: {}",
                media_noun(code.kind, group.resources),
                sid_list(&group.resource_sids, group.resources, "")
            );
        }
        match &group.likely_cause {
            LikelyCause::Found(findings) => {
                let _ = writeln!(out, "  likely cause, as `stowage verify` finds it now:");
                for finding in findings {
                    let _ = writeln!(out, "    {} {}: {}", symbol(finding.status), finding.check, finding.message);
                    if let Some(hint) = &finding.hint {
                        let _ = writeln!(out, "      hint: {hint}");
                    }
                }
            }
            LikelyCause::ChecksPass => {
                let _ = writeln!(out, "  likely cause: unknown; {CHECKS_PASS}");
                let _ = writeln!(out, "  fix: {}", code.fix);
            }
            LikelyCause::NotChecked => {
                let _ = writeln!(out, "  likely cause: unknown; {NOT_CHECKED}");
                let _ = writeln!(out, "  fix: {}", code.fix);
            }
        }
    }
    if !report.lost.is_empty() {
        let _ = writeln!(out, "\nNot stored:");
        for group in &report.lost {
            let named = match group.named_by_alert {
                0 => String::new(),
                named => format!(", {named} named by an alert above"),
            };
            let _ = writeln!(
                out,
                "  {} {}{named}: {}",
                media_noun(group.kind, group.count),
                group.status,
                sid_list(&group.sids, group.count, "")
            );
        }
    }
    if report.other_alerts > 0 {
        let _ = writeln!(
            out,
            "\n{} with other codes left out: they are not about storage.",
            plural(report.other_alerts, "alert", "alerts")
        );
    }
    out
}

/// Text for a Markdown table cell: on one line, with `|` escaped.
fn cell(text: &str) -> String {
    text.replace(['\n', '\r'], " ").replace('|', "\\|")
}

/// The report for an issue or a chat message: a heading, one table row per code, then the lost
/// media. Short: the causes' hints and the full lists are in the human and JSON reports.
pub fn render_markdown(report: &AlertsReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### stowage alerts: {}\n", headline(report));
    let _ = writeln!(out, "From {} to {}.", report.window.start, report.window.end);
    if !report.codes.is_empty() {
        out.push_str("\n| Code | Alerts | First seen | Last seen | Likely cause |\n|---|---:|---|---|---|\n");
        for group in &report.codes {
            let code = group.code;
            // The first cause in words, the others by name: the human report has them all.
            let cause = match &group.likely_cause {
                LikelyCause::Found(findings) => {
                    let mut cause = String::new();
                    for (index, finding) in findings.iter().enumerate() {
                        let _ = match index {
                            0 => write!(cause, "{} `{}`: {}", symbol(finding.status), finding.check, finding.message),
                            1 => write!(cause, "; also {} `{}`", symbol(finding.status), finding.check),
                            _ => write!(cause, ", {} `{}`", symbol(finding.status), finding.check),
                        };
                    }
                    cause
                }
                LikelyCause::ChecksPass => format!("checks pass now; {}", code.fix),
                LikelyCause::NotChecked => format!("not checked; {}", code.fix),
            };
            let _ = writeln!(
                out,
                "| {} {}: {} | {} | {} | {} | {} |",
                code.code,
                code.kind.noun(),
                cell(code.title),
                group.count,
                group.first_seen,
                group.last_seen,
                cell(&cause)
            );
        }
    }
    if !report.lost.is_empty() {
        let lost: Vec<String> = report
            .lost
            .iter()
            .map(|group| {
                format!(
                    "{} {} ({})",
                    media_noun(group.kind, group.count),
                    group.status,
                    sid_list(&group.sids, group.count, "`")
                )
            })
            .collect();
        let _ = writeln!(out, "\n**Not stored:** {}.", lost.join("; "));
    }
    out
}

/// The report for tools, from its boundary types ([`json`]).
pub fn render_json(report: &AlertsReport) -> Value {
    // Strings, numbers and lists only: this cannot fail.
    serde_json::to_value(json::json_report(report)).expect("an alerts report is plain data")
}

#[cfg(test)]
mod tests;

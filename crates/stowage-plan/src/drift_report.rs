//! The drift report of `stowage drift`: what differs between reality and the state (changed or
//! deleted outside stowage) and between reality and the spec (not yet applied), each difference
//! with a severity saying what is at risk, accepted drift left out.
//!
//! Built from a [`Plan`], so drift is judged with exactly the by-meaning comparisons planning
//! uses: a policy IAM reordered is not drift here either. Pure: the caller passes the time.

use std::collections::BTreeSet;
use std::fmt::{self, Write};

use serde_json::Value;
use stowage_provider::{Address, AddressError, Harm, ResourceType, policy};
use stowage_spec::IgnoreRule;

use crate::model::{ActionKind, AttributeChange, Plan, PlannedValue, Reason, ResourceChange, ResourceDrift};
use crate::render::{document_diff, inline, is_document};
use crate::rotation::KeyAge;

pub mod json;

/// Accepted drift: a whole resource (`attribute` is `None`) or one attribute of it.
pub type Ignore = (Address, Option<String>);

/// What one entry of the report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DriftKind {
    /// Recorded in the state, changed since by someone else: `expected` is what the state
    /// recorded.
    ChangedOutside,
    /// Recorded in the state, deleted since by someone else.
    DeletedOutside,
    /// The spec asks for something reality does not have, and nothing changed outside stowage
    /// explains it: a spec edit not yet applied. `expected` is what the spec asks for.
    NotApplied,
}

impl fmt::Display for DriftKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DriftKind::ChangedOutside => "changed outside stowage",
            DriftKind::DeletedOutside => "deleted outside stowage",
            DriftKind::NotApplied => "not yet applied",
        })
    }
}

/// How bad a difference is. `Critical` sorts first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DriftSeverity {
    /// Weakens security or loses recordings.
    Critical,
    /// Anything else.
    Warning,
}

/// One attribute that differs.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeDrift {
    pub name: String,
    /// What the state recorded ([`DriftKind::ChangedOutside`]) or what the spec asks for
    /// ([`DriftKind::NotApplied`]); `None` when absent or known only after apply.
    pub expected: Option<Value>,
    /// What exists now; `None` when absent.
    pub actual: Option<Value>,
}

/// One resource that differs, in one way.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftEntry {
    pub address: Address,
    pub kind: DriftKind,
    pub severity: DriftSeverity,
    /// One or more sentences naming what is at risk.
    pub why: String,
    /// Empty for a deleted resource, or a not-applied change that is not about attributes
    /// (a resource no longer in the spec, one marked for replacement).
    pub attributes: Vec<AttributeDrift>,
}

/// The report: critical entries first, then by address and kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DriftReport {
    pub entries: Vec<DriftEntry>,
    /// Differences left out because an ignore rule accepts them (entries and attributes).
    pub ignored: usize,
    /// How old each object that rotates is, at the plan's time ([`crate::rotation::key_ages`]):
    /// information beside the entries, never one of them. A rotation that is due is a
    /// replacement the plan makes, so it is an entry already (not applied).
    pub key_ages: Vec<KeyAge>,
}

impl DriftReport {
    pub fn in_sync(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn count(&self, severity: DriftSeverity) -> usize {
        self.entries.iter().filter(|entry| entry.severity == severity).count()
    }

    pub fn count_kind(&self, kind: DriftKind) -> usize {
        self.entries.iter().filter(|entry| entry.kind == kind).count()
    }
}

/// A malformed ignore rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IgnoreError {
    #[error("ignore rule `{rule}` is not `TYPE.NAME` or `TYPE.NAME.ATTRIBUTE`, e.g. `aws_s3_bucket.main.tags`")]
    Malformed { rule: String },
    #[error("ignore rule `{rule}`: {source}")]
    Address { rule: String, source: AddressError },
    #[error("ignore rule `{rule}`: `{resource_type}` has no attribute `{attribute}` (it has {known})")]
    UnknownAttribute { rule: String, resource_type: ResourceType, attribute: String, known: String },
}

/// Parse `ADDRESS` or `ADDRESS.ATTRIBUTE`, checking the type and attribute exist: a typo would
/// otherwise silently ignore nothing.
pub fn parse_ignore(rule: &str) -> Result<Ignore, IgnoreError> {
    let shaped = IgnoreRule::new(rule).map_err(|_| IgnoreError::Malformed { rule: rule.to_owned() })?;
    ignore_from_rule(&shaped)
}

/// An ignore rule of the spec's `[drift] ignore`, checked as [`parse_ignore`] checks a flag.
pub fn ignore_from_rule(rule: &IgnoreRule) -> Result<Ignore, IgnoreError> {
    let address: Address =
        rule.address().parse().map_err(|source| IgnoreError::Address { rule: rule.as_str().to_owned(), source })?;
    let attribute = rule.attribute().map(str::to_owned);
    if let Some(attribute) = &attribute {
        let schema = address.resource_type.schema();
        if schema.attribute(attribute).is_none() {
            let known: Vec<String> =
                schema.attributes.iter().map(|attribute| format!("`{}`", attribute.name)).collect();
            return Err(IgnoreError::UnknownAttribute {
                rule: rule.as_str().to_owned(),
                resource_type: address.resource_type,
                attribute: attribute.clone(),
                known: known.join(", "),
            });
        }
    }
    Ok((address, attribute))
}

/// The drift report of a plan, leaving out what `ignore` accepts.
pub fn report(plan: &Plan, ignore: &[Ignore]) -> DriftReport {
    let mut entries: Vec<DriftEntry> = plan.drift.iter().map(outside_entry).collect();
    entries.extend(plan.changes.iter().filter_map(|change| {
        not_applied_entry(change, plan.drift.iter().find(|drift| drift.address == change.address))
    }));

    let mut ignored = 0;
    let mut kept = Vec::with_capacity(entries.len());
    for mut entry in entries {
        if ignore.iter().any(|(address, attribute)| *address == entry.address && attribute.is_none()) {
            ignored += 1;
            continue;
        }
        let before = entry.attributes.len();
        entry.attributes.retain(|attribute| {
            !ignore.iter().any(|(address, ignored)| {
                *address == entry.address && ignored.as_deref() == Some(attribute.name.as_str())
            })
        });
        ignored += before - entry.attributes.len();
        if before > 0 && entry.attributes.is_empty() {
            continue;
        }
        if entry.attributes.len() < before {
            (entry.severity, entry.why) = judge(&entry.address, entry.kind, &entry.attributes);
        }
        kept.push(entry);
    }
    kept.sort_by(|left, right| {
        (left.severity, &left.address, left.kind).cmp(&(right.severity, &right.address, right.kind))
    });
    DriftReport { entries: kept, ignored, key_ages: Vec::new() }
}

fn outside_entry(drift: &ResourceDrift) -> DriftEntry {
    let kind = if drift.deleted { DriftKind::DeletedOutside } else { DriftKind::ChangedOutside };
    let attributes: Vec<AttributeDrift> = drift.changes.iter().map(attribute_drift).collect();
    let (severity, why) = judge(&drift.address, kind, &attributes);
    DriftEntry { address: drift.address.clone(), kind, severity, why, attributes }
}

/// `before` is the recorded value and `after` the actual one in a drift; in a plan change
/// `before` is the actual value and `after` the spec's.
fn attribute_drift(change: &AttributeChange) -> AttributeDrift {
    AttributeDrift {
        name: change.name.clone(),
        expected: change.before.clone(),
        actual: change.after.as_ref().and_then(PlannedValue::known).cloned(),
    }
}

/// The part of a planned change that drift does not explain: what the spec asks for and
/// reality lacks.
fn not_applied_entry(change: &ResourceChange, drift: Option<&ResourceDrift>) -> Option<DriftEntry> {
    if !change.is_change() {
        return None;
    }
    // Deleted outside stowage: recreating or forgetting it is the deletion's consequence.
    if drift.is_some_and(|drift| drift.deleted) {
        return None;
    }
    // Replaced only because another resource is being created: that one is reported.
    if matches!(change.reason, Some(Reason::SecretNeededBy { .. })) && change.deposed.is_empty() {
        return None;
    }
    let reason = change
        .reason
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_else(|| "the spec asks for something else".to_owned());
    let as_a_whole = change.reason.as_ref().is_some_and(Reason::replaces_as_a_whole);
    let about_attributes =
        matches!(change.action, ActionKind::Update | ActionKind::Replace) && !as_a_whole && change.deposed.is_empty();
    if !about_attributes {
        // Created, deleted or replaced as a whole: the reason says it all.
        return Some(DriftEntry {
            address: change.address.clone(),
            kind: DriftKind::NotApplied,
            severity: DriftSeverity::Warning,
            why: format!("{reason}."),
            attributes: Vec::new(),
        });
    }
    let drifted: BTreeSet<&str> =
        drift.map(|drift| drift.changes.iter().map(|change| change.name.as_str()).collect()).unwrap_or_default();
    let attributes: Vec<AttributeDrift> = change
        .changes
        .iter()
        .filter(|attribute| !drifted.contains(attribute.name.as_str()))
        // Known only after apply: it follows from another resource being created, reported there.
        .filter(|attribute| !matches!(attribute.after, Some(PlannedValue::Unknown(_) | PlannedValue::Template(_))))
        .map(|attribute| AttributeDrift {
            name: attribute.name.clone(),
            expected: attribute.after.as_ref().and_then(PlannedValue::known).cloned(),
            actual: attribute.before.clone(),
        })
        .collect();
    if attributes.is_empty() {
        return None;
    }
    let (severity, why) = judge(&change.address, DriftKind::NotApplied, &attributes);
    Some(DriftEntry { address: change.address.clone(), kind: DriftKind::NotApplied, severity, why, attributes })
}

/// The severity of an entry and the sentences saying what is at risk: the most severe of its
/// attributes' judgements.
fn judge(address: &Address, kind: DriftKind, attributes: &[AttributeDrift]) -> (DriftSeverity, String) {
    let meaning = address.resource_type.schema().drift;
    if kind == DriftKind::DeletedOutside {
        return (DriftSeverity::Critical, meaning.deleted.to_owned());
    }
    let judged: Vec<(DriftSeverity, String)> =
        attributes.iter().map(|attribute| judge_attribute(address.resource_type, attribute)).collect();
    let Some(severity) = judged.iter().map(|(severity, _)| *severity).min() else {
        return (DriftSeverity::Warning, format!("{kind}."));
    };
    let sentences: Vec<String> =
        judged.into_iter().filter(|(judged, _)| *judged == severity).map(|(_, why)| why).collect();
    (severity, sentences.join(" "))
}

/// What the type's schema says the change means (see [`stowage_provider::DriftMeaning`]); a
/// plain warning when it says nothing particular.
fn judge_attribute(resource_type: ResourceType, attribute: &AttributeDrift) -> (DriftSeverity, String) {
    let drift = stowage_provider::AttributeDrift {
        resource_type,
        name: &attribute.name,
        expected: attribute.expected.as_ref().unwrap_or(&Value::Null),
        actual: attribute.actual.as_ref().unwrap_or(&Value::Null),
    };
    match (resource_type.schema().drift.attribute)(&drift) {
        Some((Harm::Critical, why)) => (DriftSeverity::Critical, why),
        Some((Harm::Warning, why)) => (DriftSeverity::Warning, why),
        None => (DriftSeverity::Warning, format!("`{}` differs.", attribute.name)),
    }
}

/// The report for people: a headline, then each entry, critical first, each attribute as
/// `expected -> actual`.
pub fn human(report: &DriftReport, environment: &str) -> String {
    let mut out = String::new();
    let ignored = match report.ignored {
        0 => String::new(),
        1 => " (1 accepted difference ignored)".to_owned(),
        count => format!(" ({count} accepted differences ignored)"),
    };
    if report.in_sync() {
        let _ = writeln!(out, "No drift in `{environment}`: reality matches the state and the spec{ignored}.");
        key_age_lines(&mut out, report);
        return out;
    }
    let critical = report.count(DriftSeverity::Critical);
    let warning = report.count(DriftSeverity::Warning);
    let _ = writeln!(
        out,
        "Drift in `{environment}`: {} ({critical} critical, {}){ignored}.",
        plural(report.entries.len(), "difference", "differences"),
        plural(warning, "warning", "warnings")
    );
    key_age_lines(&mut out, report);
    for entry in &report.entries {
        out.push('\n');
        let label = match entry.severity {
            DriftSeverity::Critical => "CRITICAL",
            DriftSeverity::Warning => "warning",
        };
        let columns = match entry.kind {
            DriftKind::ChangedOutside => " (recorded -> actual)",
            DriftKind::NotApplied if !entry.attributes.is_empty() => " (spec -> actual)",
            DriftKind::NotApplied | DriftKind::DeletedOutside => "",
        };
        let _ = writeln!(out, "{label} {}: {}{columns}", entry.address, entry.kind);
        let _ = writeln!(out, "  at risk: {}", entry.why);
        let width = entry.attributes.iter().map(|attribute| attribute.name.len()).max().unwrap_or(0);
        for attribute in &entry.attributes {
            attribute_lines(&mut out, attribute, width);
        }
    }
    out.push_str(
        "\n`stowage apply` puts back what the spec asks for; to accept a difference, ignore it with \
         `--ignore ADDRESS[.ATTRIBUTE]` or `[drift] ignore` in the spec.\n",
    );
    out
}

/// One line for each object that rotates: its age and next rotation.
fn key_age_lines(out: &mut String, report: &DriftReport) {
    for age in &report.key_ages {
        let _ = writeln!(out, "{}.", age.describe());
    }
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

fn attribute_lines(out: &mut String, attribute: &AttributeDrift, width: usize) {
    let text = |value: &Option<Value>| value.as_ref().map(inline).unwrap_or_else(|| "(absent)".to_owned());
    let name = format!("{:width$}", attribute.name);
    match (&attribute.expected, &attribute.actual) {
        (Some(expected), Some(actual))
            if is_document(&attribute.name, expected) && is_document(&attribute.name, actual) =>
        {
            let _ = writeln!(out, "  ~ {name} =");
            // Statement ids are labels with no effect: in a diff of what changed, only noise.
            for line in document_diff(expected, actual, policy::canonical_without_statement_ids) {
                let _ = writeln!(out, "      {} {}", line.change.marker(), line.text);
            }
        }
        _ => {
            let _ = writeln!(out, "  ~ {name} = {} -> {}", text(&attribute.expected), text(&attribute.actual));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::desired::{
        access_key_address, bucket_address, composition_settings_address, credential_address, policy_address,
        recording_settings_address, user_address,
    };
    use crate::model::PlanMode;

    fn changed(address: Address, name: &str, recorded: Value, actual: Value) -> ResourceDrift {
        ResourceDrift {
            address,
            deleted: false,
            changes: vec![AttributeChange {
                name: name.to_owned(),
                before: Some(recorded),
                after: Some(PlannedValue::Known(actual)),
                forces_replacement: false,
            }],
        }
    }

    fn plan_with(drift: Vec<ResourceDrift>) -> Plan {
        Plan { changes: Vec::new(), drift, diagnostics: Vec::new(), mode: PlanMode::Normal, planned_at: None }
    }

    fn only(report: &DriftReport) -> &DriftEntry {
        assert_eq!(report.entries.len(), 1, "{report:#?}");
        &report.entries[0]
    }

    fn policy(actions: &[&str], resources: &[&str]) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resources}]})
    }

    #[test]
    fn security_and_recording_losses_are_critical() {
        let cases = [
            changed(bucket_address(), "block_public_access", json!(true), json!(false)),
            changed(access_key_address(), "status", json!("Active"), json!("Inactive")),
            changed(recording_settings_address(), "aws_storage_enabled", json!(true), json!(false)),
            changed(
                composition_settings_address(),
                "aws_s3_url",
                json!("https://acme-video-dev.s3-us-east-2.amazonaws.com/compositions"),
                json!("https://elsewhere.s3-us-east-2.amazonaws.com/compositions"),
            ),
            changed(
                policy_address(),
                "document",
                policy(&["s3:PutObject"], &["arn:aws:s3:::b/r/*"]),
                policy(&["s3:PutObject", "s3:GetObject"], &["arn:aws:s3:::b/r/*"]),
            ),
        ];
        for drift in cases {
            let report = report(&plan_with(vec![drift.clone()]), &[]);
            assert_eq!(only(&report).severity, DriftSeverity::Critical, "{drift:#?}");
        }
        for address in [bucket_address(), user_address(), access_key_address(), credential_address()] {
            let drift = ResourceDrift { address: address.clone(), deleted: true, changes: Vec::new() };
            let report = report(&plan_with(vec![drift]), &[]);
            assert_eq!(
                (only(&report).kind, only(&report).severity),
                (DriftKind::DeletedOutside, DriftSeverity::Critical),
                "{address}"
            );
        }
    }

    #[test]
    fn bookkeeping_changes_are_warnings() {
        for drift in [
            changed(bucket_address(), "versioning", json!(true), json!(false)),
            changed(bucket_address(), "tags", json!({"team": "video"}), json!({"team": "audio"})),
            changed(bucket_address(), "lifecycle", json!([{"prefix": "r/", "expire_after_days": 90}]), json!([])),
            // Turning the block on is no risk.
            changed(bucket_address(), "block_public_access", json!(false), json!(true)),
            changed(recording_settings_address(), "friendly_name", json!("a"), json!("b")),
        ] {
            let report = report(&plan_with(vec![drift.clone()]), &[]);
            assert_eq!(only(&report).severity, DriftSeverity::Warning, "{drift:#?}");
        }
    }

    #[test]
    fn critical_entries_come_first_then_by_address() {
        let report = report(
            &plan_with(vec![
                changed(bucket_address(), "tags", json!({}), json!({"a": "b"})),
                changed(bucket_address(), "block_public_access", json!(true), json!(false)),
                ResourceDrift { address: credential_address(), deleted: true, changes: Vec::new() },
            ]),
            &[],
        );
        let order: Vec<(String, DriftSeverity)> =
            report.entries.iter().map(|entry| (entry.address.to_string(), entry.severity)).collect();
        assert_eq!(
            order,
            vec![
                ("aws_s3_bucket.main".to_owned(), DriftSeverity::Critical),
                ("twilio_aws_credential.main".to_owned(), DriftSeverity::Critical),
                ("aws_s3_bucket.main".to_owned(), DriftSeverity::Warning),
            ]
        );
    }

    #[test]
    fn ignore_rules_drop_resources_or_single_attributes() {
        let mut drift = changed(bucket_address(), "tags", json!({}), json!({"a": "b"}));
        drift.changes.extend(changed(bucket_address(), "block_public_access", json!(true), json!(false)).changes);
        let plan =
            plan_with(vec![drift, ResourceDrift { address: user_address(), deleted: true, changes: Vec::new() }]);

        let whole = report(&plan, &[(user_address(), None)]);
        assert_eq!((only(&whole).address.clone(), whole.ignored), (bucket_address(), 1));

        // Ignoring the critical attribute leaves a warning about the other.
        let one = report(&plan, &[(user_address(), None), (bucket_address(), Some("block_public_access".to_owned()))]);
        let entry = only(&one);
        assert_eq!((entry.severity, entry.attributes.len(), one.ignored), (DriftSeverity::Warning, 1, 2));

        // An attribute rule never hides a deletion; all attributes ignored hides the entry.
        let all = report(
            &plan,
            &[
                (user_address(), Some("tags".to_owned())),
                (bucket_address(), Some("block_public_access".to_owned())),
                (bucket_address(), Some("tags".to_owned())),
            ],
        );
        assert_eq!((only(&all).address.clone(), all.in_sync()), (user_address(), false));
        // A rule for another resource ignores nothing.
        assert_eq!(report(&plan, &[(policy_address(), None)]).entries.len(), 2);
    }

    #[test]
    fn ignore_rules_are_checked() {
        assert_eq!(parse_ignore("aws_s3_bucket.main.tags"), Ok((bucket_address(), Some("tags".to_owned()))));
        assert_eq!(parse_ignore("aws_iam_user.uploader"), Ok((user_address(), None)));
        assert!(matches!(parse_ignore("aws_s3_bucket"), Err(IgnoreError::Malformed { .. })));
        assert!(matches!(parse_ignore("aws_s3_bucket.main.tags.team"), Err(IgnoreError::Malformed { .. })));
        assert!(matches!(parse_ignore("aws_bucket.main"), Err(IgnoreError::Address { .. })));
        let unknown = parse_ignore("aws_s3_bucket.main.tag").unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "ignore rule `aws_s3_bucket.main.tag`: `aws_s3_bucket` has no attribute `tag` (it has `name`, `region`, \
             `versioning`, `block_public_access`, `object_ownership`, `lifecycle`, `tags`, `sse_kms_key`, \
             `bucket_key_enabled`, `sse_algorithm`)"
        );
    }

    fn update(address: Address, name: &str, actual: Value, wanted: PlannedValue) -> ResourceChange {
        ResourceChange {
            address,
            action: ActionKind::Update,
            replace_order: None,
            reason: Some(Reason::AttributesDiffer),
            prior_id: None,
            before: None,
            after: None,
            changes: vec![AttributeChange {
                name: name.to_owned(),
                before: Some(actual),
                after: Some(wanted),
                forces_replacement: false,
            }],
            depends_on: Vec::new(),
            deposed: Vec::new(),
        }
    }

    #[test]
    fn plan_changes_not_explained_by_drift_are_not_applied() {
        let drift = changed(bucket_address(), "versioning", json!(true), json!(false));
        let mut plan = plan_with(vec![drift]);
        // Apply would undo the drift (explained) and change the tags the spec now asks for.
        let mut change = update(bucket_address(), "versioning", json!(false), PlannedValue::Known(json!(true)));
        change
            .changes
            .extend(update(bucket_address(), "tags", json!({}), PlannedValue::Known(json!({"a": "b"}))).changes);
        plan.changes.push(change);
        let report = report(&plan, &[]);
        let kinds: Vec<(DriftKind, Vec<&str>)> = report
            .entries
            .iter()
            .map(|entry| (entry.kind, entry.attributes.iter().map(|attribute| attribute.name.as_str()).collect()))
            .collect();
        assert_eq!(kinds, vec![(DriftKind::ChangedOutside, vec!["versioning"]), (DriftKind::NotApplied, vec!["tags"])]);
        assert_eq!(report.entries[1].attributes[0].expected, Some(json!({"a": "b"})));
        assert_eq!(report.entries[1].attributes[0].actual, Some(json!({})));
    }

    #[test]
    fn values_known_only_after_apply_are_consequences_not_entries() {
        let reference = crate::model::Reference {
            address: access_key_address(),
            attribute: "access_key_id".to_owned(),
            fresh: true,
        };
        let plan = Plan {
            changes: vec![update(
                credential_address(),
                "access_key_id",
                json!("AKIA"),
                PlannedValue::Unknown(reference),
            )],
            drift: Vec::new(),
            diagnostics: Vec::new(),
            mode: PlanMode::Normal,
            planned_at: None,
        };
        assert!(report(&plan, &[]).in_sync());
    }

    #[test]
    fn the_human_report_lists_recorded_then_actual() {
        let report = report(&plan_with(vec![changed(bucket_address(), "versioning", json!(true), json!(false))]), &[]);
        insta::assert_snapshot!(human(&report, "dev"), @r"
        Drift in `dev`: 1 difference (0 critical, 1 warning).

        warning aws_s3_bucket.main: changed outside stowage (recorded -> actual)
          at risk: overwritten or deleted recordings can no longer be recovered from earlier versions.
          ~ versioning = true -> false

        `stowage apply` puts back what the spec asks for; to accept a difference, ignore it with `--ignore ADDRESS[.ATTRIBUTE]` or `[drift] ignore` in the spec.
        ");
        insta::assert_snapshot!(human(&DriftReport { ignored: 2, ..DriftReport::default() }, "dev"), @"No drift in `dev`: reality matches the state and the spec (2 accepted differences ignored).");
    }

    fn key_age(age_days: u64, after_days: Option<u64>, due: Option<&str>) -> KeyAge {
        KeyAge {
            address: access_key_address(),
            id: "AKIAEXAMPLEEXAMPLE12".to_owned(),
            age_days,
            after_days,
            due: due.map(|due| due.parse().unwrap()),
        }
    }

    #[test]
    fn the_key_age_is_one_line_and_never_drift() {
        let in_sync = DriftReport {
            key_ages: vec![key_age(85, Some(90), Some("2026-04-01"))],
            ..report(&plan_with(Vec::new()), &[])
        };
        assert!(in_sync.in_sync(), "a key's age is no difference");
        insta::assert_snapshot!(human(&in_sync, "dev"), @r"
        No drift in `dev`: reality matches the state and the spec.
        access key `AKIAEXAMPLEEXAMPLE12` is 85 days old; next rotation on 2026-04-01 (every 90 days).
        ");

        let drifted = report(&plan_with(vec![changed(bucket_address(), "versioning", json!(true), json!(false))]), &[]);
        let drifted = DriftReport { key_ages: vec![key_age(100, None, None)], ..drifted };
        assert_eq!(drifted.entries.len(), 1);
        insta::assert_snapshot!(human(&drifted, "dev"), @r"
        Drift in `dev`: 1 difference (0 critical, 1 warning).
        access key `AKIAEXAMPLEEXAMPLE12` is 100 days old; it is not rotated on a schedule (no `rotate_after_days` is set).

        warning aws_s3_bucket.main: changed outside stowage (recorded -> actual)
          at risk: overwritten or deleted recordings can no longer be recovered from earlier versions.
          ~ versioning = true -> false

        `stowage apply` puts back what the spec asks for; to accept a difference, ignore it with `--ignore ADDRESS[.ATTRIBUTE]` or `[drift] ignore` in the spec.
        ");
    }

    #[test]
    fn a_key_due_for_rotation_is_not_applied() {
        let mut rotation =
            update(access_key_address(), "status", json!("Active"), PlannedValue::Known(json!("Active")));
        rotation.action = ActionKind::Replace;
        rotation.reason = Some(Reason::Rotation { age_days: 100, after_days: 90 });
        rotation.changes.clear();
        let mut credential =
            update(credential_address(), "access_key_id", json!("AKIA"), PlannedValue::Known(json!("AKIA")));
        credential.action = ActionKind::Replace;
        credential.reason = Some(Reason::SecretNeededBy { address: access_key_address() });
        credential.changes.clear();
        let mut plan = plan_with(Vec::new());
        plan.changes = vec![rotation, credential];
        let report = report(&plan, &[]);
        let entry = only(&report);
        assert_eq!(
            (&entry.address, entry.kind, entry.severity, entry.why.as_str(), entry.attributes.len()),
            (
                &access_key_address(),
                DriftKind::NotApplied,
                DriftSeverity::Warning,
                "it is 100 days old; the spec rotates it after 90.",
                0
            )
        );
    }

    #[test]
    fn the_json_report_carries_the_key_age_and_the_due_date() {
        let json = |key_ages: Vec<KeyAge>| {
            let report = DriftReport { key_ages, ..DriftReport::default() };
            serde_json::to_value(json::json_report(&report, "dev", "2026-11-24T21:00:00Z".to_owned())).unwrap()
        };
        let with_period = json(vec![key_age(85, Some(90), Some("2026-04-01"))]);
        assert_eq!((&with_period["key_age_days"], &with_period["rotation_due"]), (&json!(85), &json!("2026-04-01")));
        assert_eq!(with_period["summary"]["in_sync"], json!(true));
        let without_period = json(vec![key_age(100, None, None)]);
        assert_eq!((&without_period["key_age_days"], &without_period["rotation_due"]), (&json!(100), &Value::Null));
        let no_key = json(Vec::new());
        assert_eq!((&no_key["key_age_days"], &no_key["rotation_due"]), (&Value::Null, &Value::Null));
    }

    /// That `docs/drift-report.schema.json` is these types is `tests/render_schemas.rs`'s.
    #[test]
    fn reports_validate_against_the_schema() {
        let validator = jsonschema::validator_for(&json::json_schema()).expect("the schema compiles");
        let report = report(
            &plan_with(vec![
                changed(bucket_address(), "versioning", json!(true), json!(false)),
                ResourceDrift { address: credential_address(), deleted: true, changes: Vec::new() },
            ]),
            &[],
        );
        for key_ages in [Vec::new(), vec![key_age(85, Some(90), Some("2026-04-01"))], vec![key_age(100, None, None)]] {
            let report = DriftReport { key_ages, ..report.clone() };
            let document = serde_json::to_value(json::json_report(&report, "dev", "2026-11-24T21:00:00Z".to_owned()))
                .expect("serializable");
            let errors: Vec<String> = validator.iter_errors(&document).map(|error| error.to_string()).collect();
            assert_eq!(errors, Vec::<String>::new());
        }
        let document = serde_json::to_value(json::json_report(&report, "dev", "2026-11-24T21:00:00Z".to_owned()))
            .expect("serializable");
        assert_eq!(
            document["summary"]["by_kind"],
            json!({"changed_outside": 1, "deleted_outside": 1, "not_applied": 0})
        );
    }
}

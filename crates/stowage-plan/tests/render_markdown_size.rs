//! The Markdown plan fits a pull-request comment: past the limit the details go, the table and
//! the alerts stay, and a note says where the full plan is.

#[allow(dead_code, reason = "each test file uses a part of the shared helpers")]
mod common;

use common::{DEV_SPEC, desired, untouched_account};
use insta::assert_snapshot;
use serde_json::json;
use stowage_plan::desired::{bucket_address, policy_address};
use stowage_plan::render::markdown::DEFAULT_MAX_CHARS;
use stowage_plan::render::{MarkdownOptions, markdown};
use stowage_plan::{Plan, PlanDiagnostic, PlannedValue, Prior, Severity, plan};

/// GitHub's limit on a comment's length, in characters.
const GITHUB_COMMENT_LIMIT: usize = 65_536;
const NOTE: &str = "the full plan is in the CI artifact";

/// The first plan of the dev environment, with a warning to keep in view.
fn create_everything_with_a_warning() -> Plan {
    let desired = desired(DEV_SPEC);
    let prior = Prior::empty();
    let mut plan = plan(&desired, &prior, &untouched_account(&desired, &prior));
    plan.diagnostics.push(PlanDiagnostic {
        severity: Severity::Warning,
        address: Some(bucket_address()),
        message: "versioning is on and no lifecycle rule expires noncurrent versions".to_owned(),
        hint: None,
    });
    plan
}

fn characters(text: &str) -> usize {
    text.chars().count()
}

fn with_limit(max_chars: usize) -> MarkdownOptions {
    MarkdownOptions { max_chars, ..MarkdownOptions::default() }
}

// The default fits GitHub's limit, checked when the tests compile.
const _: () = assert!(DEFAULT_MAX_CHARS <= GITHUB_COMMENT_LIMIT);

#[test]
fn the_options_default_to_the_limit_that_fits_github() {
    assert_eq!(MarkdownOptions::default().max_chars, DEFAULT_MAX_CHARS);
}

#[test]
fn a_plan_within_the_limit_has_every_detail() {
    let plan = create_everything_with_a_warning();
    let text = markdown(&plan, MarkdownOptions::default());

    let changed = plan.changes.iter().filter(|change| !change.changes.is_empty()).count();
    assert_eq!(text.matches("<details>").count(), changed, "{text}");
    assert!(!text.contains(NOTE), "{text}");
}

#[test]
fn past_the_limit_the_details_go_and_the_table_and_alerts_stay() {
    let plan = create_everything_with_a_warning();
    let full = markdown(&plan, MarkdownOptions::default());
    let limit = characters(&full) - 1;

    let text = markdown(&plan, with_limit(limit));

    assert!(characters(&text) <= limit, "{} characters, limit {limit}", characters(&text));
    assert!(!text.contains("<details>"), "{text}");
    assert!(text.contains("> [!WARNING]"), "{text}");
    assert!(text.contains(NOTE), "{text}");
    for change in plan.changes.iter().filter(|change| change.is_change()) {
        assert!(text.contains(&format!("| `{}` |", change.address)), "`{}` left the table:\n{text}", change.address);
    }
    assert_snapshot!(text);
}

#[test]
fn a_limit_too_small_for_the_tables_keeps_whole_lines_and_the_note() {
    let plan = create_everything_with_a_warning();
    let full_length = characters(&markdown(&plan, MarkdownOptions::default()));
    let summary = markdown(&plan, with_limit(full_length - 1));
    assert!(summary.contains(NOTE), "the summary is what gets cut");

    for limit in [0, 40, 120, 400, characters(&summary) - 1] {
        let text = markdown(&plan, with_limit(limit));
        assert!(characters(&text) <= limit, "limit {limit}: {} characters:\n{text}", characters(&text));
        if limit >= 120 {
            assert!(text.ends_with(&format!("{NOTE}.\n")), "limit {limit}:\n{text}");
            let (kept, _note) = text.rsplit_once("\n\n").unwrap_or(("", &text));
            for line in kept.lines() {
                assert!(summary.lines().any(|whole| whole == line), "limit {limit}: `{line}` is cut mid-line");
            }
        }
    }
}

#[test]
fn a_plan_too_long_for_github_is_summarised_by_default() {
    let mut plan = create_everything_with_a_warning();
    // A policy with thousands of statements: far past what a comment holds.
    let statements: Vec<_> = (0..2_000)
        .map(|index| json!({"Sid": format!("Statement{index}"), "Effect": "Allow", "Action": ["s3:PutObject"], "Resource": [format!("arn:aws:s3:::acme-video-dev/prefix-{index}/*")]}))
        .collect();
    let document = json!({"Version": "2012-10-17", "Statement": statements});
    let policy = plan.changes.iter_mut().find(|change| change.address == policy_address()).expect("policy planned");
    for attribute in policy.changes.iter_mut().filter(|attribute| attribute.name == "document") {
        attribute.after = Some(PlannedValue::Known(document.clone()));
    }

    let text = markdown(&plan, MarkdownOptions::default());

    assert!(characters(&text) <= DEFAULT_MAX_CHARS);
    assert!(text.contains(NOTE));
    assert!(text.contains("| `aws_iam_user_policy.uploader` |"));
}

use jiff::Timestamp;
use serde_json::json;

use super::*;

fn at(text: &str) -> Timestamp {
    text.parse().expect("a timestamp")
}

/// The day before `2026-03-02T00:00:00Z`.
fn window() -> Window {
    Window { start: at("2026-03-01T00:00:00Z"), end: at("2026-03-02T00:00:00Z") }
}

fn recording(n: u32) -> String {
    format!("RT{n:032x}")
}

fn composition(n: u32) -> String {
    format!("CJ{n:032x}")
}

/// Alert number `n`, of `code`, at `time` on the window's day, about `resource`.
fn alert(n: u32, code: u16, time: &str, resource: Option<String>) -> RaisedAlert {
    RaisedAlert { sid: format!("NO{n:032x}"), code, at: at(&format!("2026-03-01T{time}Z")), resource_sid: resource }
}

fn lost(sid: String, kind: StorageKind, status: &str, time: &str) -> LostMedia {
    LostMedia { sid, kind, status: status.to_owned(), at: at(&format!("2026-03-01T{time}Z")) }
}

fn finding(check: &str, status: Status, twilio_codes: &[u16], message: &str, hint: Option<&str>) -> Finding {
    Finding {
        check: check.to_owned(),
        status,
        twilio_codes: twilio_codes.to_vec(),
        message: message.to_owned(),
        hint: hint.map(str::to_owned),
    }
}

/// What `verify` says of an environment whose uploader may no longer write recordings, on a
/// bucket with SSE-S3, and whose other checks pass.
fn findings() -> Vec<Finding> {
    vec![
        finding("bucket", Status::Pass, &[53610, 53620], "bucket `acme-video-dev` exists", None),
        finding(
            "recordings.s3_url",
            Status::Pass,
            &[53610],
            "`https://acme-video-dev.s3-us-east-2.amazonaws.com/recordings` is well formed and names bucket `acme-video-dev`",
            None,
        ),
        finding(
            "bucket_encryption",
            Status::Warn,
            &[53615, 53625],
            "default encryption is SSE-S3 (AES256): Twilio documents SSE-KMS as the only default encryption it supports",
            Some(
                "if Twilio reports access denied, set the bucket's default encryption to SSE-KMS with a key the uploader may use",
            ),
        ),
        finding(
            "uploader_policy.put_recordings",
            Status::Fail,
            &[53615],
            "the uploader's policy does not allow `s3:PutObject` under `recordings/`",
            Some("run `stowage apply` to restore the policy"),
        ),
        finding("access_key", Status::Pass, &[53611, 53621], "access key `AKIAEXAMPLEEXAMPLE12` is active", None),
        finding(
            "twilio_credential",
            Status::Pass,
            &[53613, 53623],
            "Twilio credential `CR0123456789abcdef0123456789abcdef` exists",
            None,
        ),
    ]
}

/// A day with several codes: uploads denied, one recording lost for good, a key refused once,
/// a public key gone, and an alert about something else.
fn several() -> AlertsReport {
    let alerts = vec![
        alert(1, 53615, "09:00:00", Some(recording(3))),
        alert(2, 53615, "09:05:00", Some(recording(1))),
        alert(3, 53615, "09:10:00", Some(recording(1))),
        alert(4, 53615, "17:45:30", Some(recording(2))),
        alert(5, 53616, "21:00:00", Some(recording(1))),
        alert(6, 53611, "03:15:00", Some(recording(7))),
        alert(7, 53611, "03:20:00", None),
        alert(8, 53624, "11:00:00", Some(composition(4))),
        alert(9, 20404, "12:00:00", None),
    ];
    let lost = vec![
        lost(recording(2), StorageKind::Recordings, "failed", "17:40:00"),
        lost(recording(8), StorageKind::Recordings, "failed", "18:00:00"),
        lost(recording(1), StorageKind::Recordings, "deleted", "09:00:00"),
        lost(composition(5), StorageKind::Compositions, "failed", "19:00:00"),
    ];
    report(window(), &alerts, &lost, &findings())
}

fn empty() -> AlertsReport {
    report(window(), &[], &[], &findings())
}

fn group(report: &AlertsReport, code: u16) -> &CodeGroup {
    report.codes.iter().find(|group| group.code.code == code).unwrap_or_else(|| panic!("no group {code}"))
}

fn checks(cause: &LikelyCause) -> Vec<(&str, Status)> {
    match cause {
        LikelyCause::Found(findings) => {
            findings.iter().map(|finding| (finding.check.as_str(), finding.status)).collect()
        }
        LikelyCause::ChecksPass | LikelyCause::NotChecked => Vec::new(),
    }
}

#[test]
fn storage_codes_are_twilios_upload_codes_each_once() {
    let codes: Vec<u16> = STORAGE_CODES.iter().map(|known| known.code).collect();
    let expected: Vec<u16> = (53610..=53616).chain(53620..=53625).collect();
    assert_eq!(codes, expected, "in order, each once");
    for known in STORAGE_CODES {
        let kind = if known.code < 53620 { StorageKind::Recordings } else { StorageKind::Compositions };
        assert_eq!(known.kind, kind, "{}", known.code);
        for text in [known.title, known.meaning, known.fix] {
            assert!(
                !text.is_empty() && !text.ends_with('.') && !text.contains(". "),
                "{}: one sentence: {text}",
                known.code
            );
        }
        assert!(known.meaning.contains(known.kind.noun().trim_end_matches('s')), "{}: {}", known.code, known.meaning);
    }
    assert_eq!(counterpart(53615), Some(53625));
    assert_eq!(counterpart(53620), Some(53610));
    assert_eq!(counterpart(53616), None, "53626 is Twilio's internal failure, not storage");
    assert_eq!(counterpart(20404), None);
    assert_eq!(counterpart(53626), None, "not a storage code, so no storage counterpart");
    assert_eq!(storage_code(53626), None);
}

#[test]
fn every_code_verify_names_is_in_the_table() {
    for finding in findings() {
        for code in finding.twilio_codes {
            assert!(storage_code(code).is_some(), "{code} of {}", finding.check);
        }
    }
}

#[test]
fn alerts_are_grouped_by_code_with_when_and_up_to_five_sorted_resources() {
    let resources = [9, 2, 7, 1, 5, 3, 8];
    let mut alerts: Vec<RaisedAlert> = resources
        .iter()
        .enumerate()
        .map(|(n, resource)| alert(n as u32, 53625, &format!("{:02}:30:00", 10 + n), Some(composition(*resource))))
        .collect();
    alerts.push(alert(20, 53625, "08:00:00", None));
    alerts.push(alert(21, 53625, "23:59:59", Some(composition(2))));
    alerts.push(alerts[0].clone());
    let report = report(window(), &alerts, &[], &[]);

    assert_eq!(report.codes.len(), 1);
    let group = &report.codes[0];
    assert_eq!(group.code.code, 53625);
    assert_eq!(group.count, 9, "the alert given twice counts once");
    assert_eq!((group.first_seen, group.last_seen), (at("2026-03-01T08:00:00Z"), at("2026-03-01T23:59:59Z")));
    assert_eq!(group.resources, 7, "distinct resources");
    assert_eq!(group.resource_sids, [1, 2, 3, 5, 7].map(composition));
    assert_eq!(report.alert_count(), 9);
    assert_eq!(report.outcome(), Outcome::Raised);
}

#[test]
fn only_storage_codes_are_reported_and_the_others_counted() {
    let alerts =
        [alert(1, 20404, "01:00:00", None), alert(2, 53626, "02:00:00", None), alert(3, 11200, "03:00:00", None)];
    let report = report(window(), &alerts, &[], &findings());
    assert!(report.codes.is_empty());
    assert_eq!(report.other_alerts, 3);
    assert_eq!(report.outcome(), Outcome::Quiet, "nothing about storage");
}

#[test]
fn the_window_holds_both_its_ends_and_nothing_outside() {
    let window = window();
    let alerts = [
        RaisedAlert { at: window.start, ..alert(1, 53610, "00:00:00", None) },
        RaisedAlert { at: window.end, ..alert(2, 53610, "00:00:00", None) },
        RaisedAlert { at: at("2026-02-28T23:59:59Z"), ..alert(3, 53610, "00:00:00", None) },
        RaisedAlert { at: at("2026-03-02T00:00:01Z"), ..alert(4, 53610, "00:00:00", None) },
        RaisedAlert { at: at("2026-02-01T00:00:00Z"), ..alert(5, 20404, "00:00:00", None) },
    ];
    let media = [
        LostMedia {
            at: at("2026-02-28T23:59:59.999Z"),
            ..lost(recording(1), StorageKind::Recordings, "failed", "00:00:00")
        },
        LostMedia { at: window.end, ..lost(recording(2), StorageKind::Recordings, "failed", "00:00:00") },
    ];
    let report = report(window, &alerts, &media, &[]);

    let group = &report.codes[0];
    assert_eq!((group.count, group.first_seen, group.last_seen), (2, window.start, window.end));
    assert_eq!(report.other_alerts, 0, "an alert outside the window is not counted at all");
    assert_eq!(report.lost.len(), 1);
    assert_eq!(report.lost[0].sids, [recording(2)]);
    assert_eq!(report.window, window);
}

#[test]
fn a_code_is_explained_by_failing_checks_of_it_or_its_counterpart_failures_first() {
    let report = several();
    assert_eq!(
        checks(&group(&report, 53615).likely_cause),
        [("uploader_policy.put_recordings", Status::Fail), ("bucket_encryption", Status::Warn)]
    );

    // A composition's denied upload is explained by the recordings' check too: Twilio numbers
    // the same failure ten apart, and a check names the codes of the kinds the spec stores.
    let composition_denied = [alert(1, 53625, "10:00:00", Some(composition(1)))];
    let only_recordings_check = vec![finding("uploader_policy.kms", Status::Fail, &[53615], "no KMS", None)];
    let report = super::report(window(), &composition_denied, &[], &only_recordings_check);
    assert_eq!(checks(&report.codes[0].likely_cause), [("uploader_policy.kms", Status::Fail)]);

    // Another code's failure explains nothing.
    let url_only = vec![finding("recordings.s3_url", Status::Fail, &[53610], "bad URL", None)];
    let report = super::report(window(), &composition_denied, &[], &url_only);
    assert_eq!(report.codes[0].likely_cause, LikelyCause::NotChecked);
}

#[test]
fn when_every_check_of_a_code_passes_the_setup_looks_right_now() {
    let report = several();
    assert_eq!(group(&report, 53611).likely_cause, LikelyCause::ChecksPass, "access_key passes now");
    assert_eq!(group(&report, 53624).likely_cause, LikelyCause::NotChecked, "verify has no public key check");

    let unknown = vec![
        finding("access_key", Status::Pass, &[53611], "active", None),
        finding("uploader_policy.kms", Status::Unknown, &[53611], "cannot tell", None),
    ];
    let refused = [alert(1, 53611, "10:00:00", None)];
    assert_eq!(
        super::report(window(), &refused, &[], &unknown).codes[0].likely_cause,
        LikelyCause::NotChecked,
        "a check that could not be made does not say the setup looks right"
    );
    assert_eq!(super::report(window(), &refused, &[], &[]).codes[0].likely_cause, LikelyCause::NotChecked);
}

#[test]
fn a_recording_deleted_after_its_retries_is_explained_by_any_upload_failure() {
    let report = several();
    assert_eq!(
        checks(&group(&report, 53616).likely_cause),
        [("uploader_policy.put_recordings", Status::Fail), ("bucket_encryption", Status::Warn)]
    );
    let credential_gone = vec![finding("twilio_credential", Status::Fail, &[53613, 53623], "gone", None)];
    let report = super::report(window(), &[alert(1, 53616, "10:00:00", None)], &[], &credential_gone);
    assert_eq!(checks(&report.codes[0].likely_cause), [("twilio_credential", Status::Fail)]);
}

#[test]
fn lost_media_is_counted_by_kind_and_status_with_the_alerts_that_name_it() {
    let report = several();
    let groups: Vec<_> = report
        .lost
        .iter()
        .map(|group| (group.kind, group.status.as_str(), group.count, group.named_by_alert, group.sids.clone()))
        .collect();
    assert_eq!(
        groups,
        [
            (StorageKind::Recordings, "deleted", 1, 1, vec![recording(1)]),
            (StorageKind::Recordings, "failed", 2, 1, vec![recording(2), recording(8)]),
            (StorageKind::Compositions, "failed", 1, 0, vec![composition(5)]),
        ]
    );
    assert_eq!(report.lost_count(), 4);

    let many: Vec<LostMedia> =
        (0..8).rev().map(|n| lost(recording(n), StorageKind::Recordings, "deleted", "10:00:00")).collect();
    let twice: Vec<LostMedia> = many.iter().chain(&many).cloned().collect();
    let report = super::report(window(), &[], &twice, &[]);
    assert_eq!(report.lost[0].count, 8, "the same media given twice counts once");
    assert_eq!(report.lost[0].sids, [0, 1, 2, 3, 4].map(recording));
    assert_eq!(report.outcome(), Outcome::Raised, "lost media alone is something to report");
}

#[test]
fn an_empty_report_is_quiet() {
    let report = empty();
    assert_eq!(report.outcome(), Outcome::Quiet);
    assert_eq!((report.alert_count(), report.lost_count(), report.other_alerts), (0, 0, 0));
}

#[test]
fn renders_a_report_with_several_codes() {
    let report = several();
    insta::assert_snapshot!("several_human", render_human(&report));
    insta::assert_snapshot!("several_markdown", render_markdown(&report));
    insta::assert_snapshot!("several_json", serde_json::to_string_pretty(&render_json(&report)).expect("json"));
}

#[test]
fn renders_an_empty_report() {
    let report = empty();
    insta::assert_snapshot!("empty_human", render_human(&report));
    insta::assert_snapshot!("empty_markdown", render_markdown(&report));
    insta::assert_snapshot!("empty_json", serde_json::to_string_pretty(&render_json(&report)).expect("json"));
}

#[test]
fn markdown_table_cells_stay_in_their_cell() {
    let piped = vec![finding("bucket", Status::Fail, &[53610], "a | b\nc", None)];
    let report = report(window(), &[alert(1, 53610, "10:00:00", None)], &[], &piped);
    let markdown = render_markdown(&report);
    let row = markdown.lines().find(|line| line.starts_with("| 53610")).expect("a row");
    assert!(row.contains(r"a \| b c"), "{row}");
}

/// That `docs/alerts-report.schema.json` is these types is `tests/render_schemas.rs`'s.
#[test]
fn reports_validate_against_the_schema() {
    let validator = jsonschema::validator_for(&json::json_schema()).expect("the schema compiles");
    for report in [several(), empty()] {
        let document = render_json(&report);
        let errors: Vec<String> = validator.iter_errors(&document).map(|error| error.to_string()).collect();
        assert_eq!(errors, Vec::<String>::new());
    }
    let mut wrong = render_json(&several());
    wrong["codes"][0]["likely_cause"]["verdict"] = json!("maybe");
    assert!(!validator.is_valid(&wrong));
    let mut wrong = render_json(&empty());
    wrong["outcome"] = json!("quiet");
    assert!(!validator.is_valid(&wrong));
}

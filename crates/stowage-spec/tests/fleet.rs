//! `[fleet]`: valid fleet specs come out as the typed model; each fleet rule is refused where
//! the file breaks it (the full renderings are the `fleet_*` snapshots of `diagnostics.rs`).

use stowage_spec::{AccountSid, Fleet, FleetMembers, Prefix, Severity, Spec, Uploader, UploaderMode, parse};

const MAIN: &str = "AC0123456789abcdef0123456789abcdef";
const ONE: &str = "AC11111111111111111111111111111111";
const TWO: &str = "AC22222222222222222222222222222222";

/// A fleet spec with `fleet` as the `[fleet]` section's body.
fn fleet_spec(fleet: &str) -> String {
    format!(
        "[environment]\nname = \"fleet\"\n\n[aws]\nregion = \"us-east-2\"\n\n[twilio]\naccount_sid = \"{MAIN}\"\n\n\
         [fleet]\n{fleet}\n\n[bucket]\nname = \"acme-video-fleet\"\n\n[uploader]\nuser_name = \"twilio-video\"\n\n\
         [recordings]\nstore_in_s3 = true\nprefix = \"recordings/{{account_sid}}/\"\n"
    )
}

fn valid(text: &str) -> Spec {
    match parse("fleet.toml", text) {
        Ok(validated) => {
            assert!(validated.warnings.is_empty(), "{:#?}", validated.warnings);
            validated.spec
        }
        Err(errors) => panic!("should be valid: {:#?}", errors.diagnostics),
    }
}

fn sid(text: &str) -> AccountSid {
    AccountSid::new(text).expect(text)
}

/// Each error as (line, column, message).
fn errors(text: &str) -> Vec<((usize, usize), String)> {
    let errors = parse("fleet.toml", text).expect_err("should be invalid");
    errors
        .diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.severity() == Severity::Error)
        .map(|diagnostic| (diagnostic.line_col(), diagnostic.message().to_owned()))
        .collect()
}

/// The 1-based line and column where `needle` first starts in `text`.
fn position(text: &str, needle: &str) -> (usize, usize) {
    let offset = text.find(needle).unwrap_or_else(|| panic!("{needle:?} not in the text"));
    let before = &text[..offset];
    (before.matches('\n').count() + 1, offset - before.rfind('\n').map_or(0, |newline| newline + 1) + 1)
}

#[test]
fn all_subaccounts_with_the_defaults() {
    let spec = valid(&fleet_spec("subaccounts = \"all\""));
    assert_eq!(
        spec.fleet,
        Some(Fleet { subaccounts: FleetMembers::All, exclude: Vec::new(), uploader: UploaderMode::PerSubaccount })
    );
    let recordings = spec.recordings.expect("recordings");
    assert!(recordings.prefix.has_account_placeholder());
    assert_eq!(recordings.prefix.for_account(ONE), format!("recordings/{ONE}/"));
    let uploader = spec.uploader.expect("uploader");
    assert_eq!(uploader.user_name_for(ONE), format!("twilio-video-{ONE}"));
}

#[test]
fn listed_subaccounts_exclusions_and_a_shared_uploader() {
    let spec = valid(&fleet_spec(&format!(
        "subaccounts = [\"{ONE}\", \"{TWO}\"]\nexclude = [\"AC33333333333333333333333333333333\"]\nuploader = \"shared\""
    )));
    let fleet = spec.fleet.expect("fleet");
    assert_eq!(fleet.subaccounts, FleetMembers::Listed(vec![sid(ONE), sid(TWO)]));
    assert_eq!(fleet.exclude, [sid("AC33333333333333333333333333333333")]);
    assert_eq!(fleet.uploader, UploaderMode::Shared);
    assert!(fleet.manages(&sid(ONE)));
    assert!(!fleet.manages(&sid("AC44444444444444444444444444444444")));

    let all_but_one = Fleet { subaccounts: FleetMembers::All, exclude: vec![sid(TWO)], uploader: UploaderMode::Shared };
    assert!(all_but_one.manages(&sid(ONE)) && !all_but_one.manages(&sid(TWO)));
}

#[test]
fn a_shared_uploader_keeps_the_64_character_user_name() {
    let long = "u".repeat(64);
    let text =
        fleet_spec("subaccounts = \"all\"\nuploader = \"shared\"").replace("\"twilio-video\"", &format!("\"{long}\""));
    assert_eq!(valid(&text).uploader.map(|uploader| uploader.user_name.to_string()), Some(long));
}

#[test]
fn the_per_subaccount_user_name_is_at_most_29_characters() {
    assert_eq!(Uploader::MAX_PER_SUBACCOUNT_USER_NAME, 29);
    let at_limit = "u".repeat(29);
    let text = fleet_spec("subaccounts = \"all\"").replace("\"twilio-video\"", &format!("\"{at_limit}\""));
    let uploader = valid(&text).uploader.expect("uploader");
    assert_eq!(uploader.user_name_for(MAIN).len(), 64);

    let over = "u".repeat(30);
    let text = fleet_spec("subaccounts = \"all\"").replace("\"twilio-video\"", &format!("\"{over}\""));
    assert_eq!(
        errors(&text),
        [(
            position(&text, &format!("\"{over}\"")),
            format!(
                "IAM user name `{over}` is 30 characters long, at most 29 are allowed with `[fleet] uploader = \
                 \"per-subaccount\"`"
            )
        )]
    );
}

#[test]
fn without_fleet_nothing_changes_and_the_placeholder_is_refused() {
    let text = fleet_spec("subaccounts = \"all\"").replace("[fleet]\nsubaccounts = \"all\"\n", "");
    assert_eq!(
        errors(&text),
        [(
            position(&text, "\"recordings/{account_sid}/\""),
            "`{account_sid}` in `recordings.prefix` needs `[fleet]`".to_owned()
        )]
    );
    let plain = text.replace("recordings/{account_sid}/", "recordings/");
    assert_eq!(valid(&plain).fleet, None);
}

#[test]
fn every_stored_prefix_holds_the_placeholder_in_fleet_mode() {
    let text = fleet_spec("subaccounts = \"all\"").replace("recordings/{account_sid}/", "recordings/")
        + "\n[compositions]\nstore_in_s3 = false\nprefix = \"compositions/\"\n";
    // Compositions stay in Twilio's cloud: their prefix needs no placeholder.
    assert_eq!(
        errors(&text),
        [(
            position(&text, "\"recordings/\""),
            "`recordings.prefix` needs `{account_sid}`: required in fleet mode, each subaccount writes under its own \
             prefix"
                .to_owned()
        )]
    );
}

#[test]
fn lifecycle_prefixes_never_hold_the_placeholder() {
    let text = fleet_spec("subaccounts = \"all\"").replace(
        "[uploader]",
        "[[bucket.lifecycle]]\nprefix = \"recordings/{account_sid}/\"\nexpire_after_days = 30\n\n[uploader]",
    );
    assert_eq!(
        errors(&text),
        [(
            position(&text, "\"recordings/{account_sid}/\""),
            "lifecycle rule prefix `recordings/{account_sid}/` contains `{account_sid}`".to_owned()
        )]
    );
}

#[test]
fn list_rules_are_each_reported_where_broken() {
    let text = fleet_spec(&format!(
        "subaccounts = [\"{ONE}\", \"{MAIN}\", \"{ONE}\", \"AC12\"]\nexclude = [\"{TWO}\", \"{ONE}\"]"
    ));
    let found = errors(&text);
    let line = position(&text, "subaccounts = [").0;
    // The column of the opening quote of the `nth` (0-based) `needle` on line `line`.
    let column = |line: usize, needle: &str, nth: usize| {
        let line_text = text.lines().nth(line - 1).expect("line");
        line_text.match_indices(needle).nth(nth).expect(needle).0
    };
    assert_eq!(
        found,
        [
            ((line, column(line, MAIN, 0)), format!("`{MAIN}` is the main account, not a subaccount")),
            ((line, column(line, ONE, 1)), format!("subaccount `{ONE}` is listed twice in `fleet.subaccounts`")),
            (
                (line, column(line, "AC12", 0)),
                "account SID `AC12` is not `AC` followed by 32 lowercase hexadecimal digits".to_owned()
            ),
            (
                (line + 1, column(line + 1, ONE, 0)),
                format!("subaccount `{ONE}` is both listed in `fleet.subaccounts` and excluded in `fleet.exclude`")
            ),
        ]
    );
    let empty = fleet_spec("subaccounts = []");
    assert_eq!(errors(&empty), [(position(&empty, "[]"), "`fleet.subaccounts` is empty".to_owned())]);
}

#[test]
fn fleet_needs_the_main_account_and_an_uploader() {
    let text = fleet_spec("subaccounts = \"all\"")
        .replace(&format!("[twilio]\naccount_sid = \"{MAIN}\"\n"), "")
        .replace("[uploader]\nuser_name = \"twilio-video\"\n", "")
        .replace("store_in_s3 = true", "store_in_s3 = false");
    let fleet = position(&text, "[fleet]");
    let messages = errors(&text);
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(messages.iter().all(|(at, _)| *at == fleet), "{messages:#?}");
    assert!(messages[0].1.starts_with("missing section `[uploader]`: `[fleet]` needs"), "{messages:#?}");
    assert!(messages[1].1.starts_with("missing section `[twilio]`: `[fleet]` needs"), "{messages:#?}");
}

#[test]
fn structural_mistakes_read_well() {
    let typo = fleet_spec("subaccounts = \"all\"\nuploader = \"per_subaccount\"");
    let report = parse("fleet.toml", &typo).expect_err("typo");
    let diagnostic = &report.diagnostics[0];
    assert_eq!(diagnostic.message(), "`per_subaccount` is not a valid value for `fleet.uploader`");
    assert_eq!(diagnostic.help(), Some("did you mean `per-subaccount`?"));

    let missing = fleet_spec("exclude = []");
    let report = parse("fleet.toml", &missing).expect_err("missing subaccounts");
    assert_eq!(report.diagnostics[0].message(), "missing key `subaccounts` in `[fleet]`");
    assert!(
        report.diagnostics[0].help().is_some_and(|help| help.contains("subaccounts = \"all\"")),
        "{:?}",
        report.diagnostics[0].help()
    );

    let wrong = fleet_spec("subaccounts = true");
    let report = parse("fleet.toml", &wrong).expect_err("wrong type");
    assert_eq!(
        report.diagnostics[0].message(),
        "wrong type for `fleet.subaccounts`: expected a string or an array, found a boolean"
    );
}

#[test]
fn the_placeholder_constant_is_what_prefixes_hold() {
    assert_eq!(Prefix::ACCOUNT_SID_PLACEHOLDER, "{account_sid}");
}

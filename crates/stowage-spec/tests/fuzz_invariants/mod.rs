//! What must hold when `stowage_spec::parse` reads any text at all: the checks of the fuzz
//! target (`fuzz/fuzz_targets/spec_parse.rs`, which includes this file by path) and of the
//! stable `fuzz_corpus` test, kept in one place so both check the same things.
//!
//! Each check panics with what went wrong and the input, which is how a fuzzer notices.

use miette::{GraphicalReportHandler, GraphicalTheme, SourceSpan};
use stowage_spec::{
    AccountSid, BucketName, Diagnostic, Encryption, EnvironmentName, FleetMembers, IamPath, IamUserName, IgnoreRule,
    MAX_TAGS, Prefix, Region, Severity, Spec, Uploader, UploaderMode, Validated, check_tag,
};

/// The name every input is parsed under, as the fuzz target does.
pub const FILE_NAME: &str = "fuzz.toml";

/// The base a fuzzed spec may extend (`extends = "base.toml"`): the repository's example.
const BASE_NAME: &str = "base.toml";
const BASE: &str = include_str!("../../../../examples/base.toml");

/// Parses `text` and checks every invariant; panics (with the input) when one does not hold.
/// Returns whether the text is a valid spec.
pub fn check(text: &str) -> bool {
    check_with_bases(text);
    check_alone(text)
}

/// `text` parsed as a spec that may extend `base.toml` (the example base) or itself (a cycle):
/// every finding points inside one of the files read, and a valid spec's effective TOML is the
/// same spec.
fn check_with_bases(text: &str) {
    let read = |path: &std::path::Path| match path.to_str() {
        Some(BASE_NAME) => Ok(BASE.to_owned()),
        Some(FILE_NAME) => Ok(text.to_owned()),
        _ => Err(std::io::Error::from(std::io::ErrorKind::NotFound)),
    };
    match stowage_spec::parse_with_bases(FILE_NAME, text, &read) {
        Ok(validated) => {
            let source = &validated.spec.source;
            for warning in &validated.warnings {
                check_located(warning, text);
            }
            let effective = stowage_spec::effective_toml(source);
            match stowage_spec::parse("effective.toml", &effective) {
                Ok(again) => same_spec(&again.spec, &validated.spec, text),
                Err(errors) => panic!("the effective spec {effective:?} does not validate: {errors} for {text:?}"),
            }
        }
        Err(errors) => {
            assert!(errors.errors().next().is_some(), "an invalid spec without an error for {text:?}");
            for diagnostic in &errors.diagnostics {
                check_located(diagnostic, text);
            }
            render(&errors, text);
        }
    }
}

/// A finding of a spec read with its bases: inside the text of the file it names.
fn check_located(diagnostic: &Diagnostic, text: &str) {
    let source = diagnostic.source();
    let (first, spec_text) = source.files().next().expect("a source has the spec's file");
    assert_eq!((first, spec_text), (FILE_NAME, text), "the spec is not the source's first file");
    let whole = source.text();
    for span in diagnostic.labels().iter().map(|label| label.span).chain([diagnostic.primary_span()]) {
        let (start, end) = (span.offset(), span.offset() + span.len());
        assert!(end <= whole.len(), "`{}` points past the files, for {text:?}", diagnostic.message());
        assert!(whole.is_char_boundary(start) && whole.is_char_boundary(end), "inside a character, for {text:?}");
    }
    let name = diagnostic.file_name();
    let file = source.files().find(|(file, _)| *file == name).map(|(_, text)| text);
    let file = file.unwrap_or_else(|| panic!("`{name}` is not a file read, for {text:?}"));
    let (line, column) = diagnostic.line_col();
    assert!(line >= 1 && column >= 1, "line {line}, column {column} for {text:?}");
    assert!(line <= file.lines().count().max(1) + 1, "line {line} is past the end of `{name}`, for {text:?}");
    render(diagnostic, text);
}

/// `text` parsed alone, as the fuzz target always did.
fn check_alone(text: &str) -> bool {
    let outcome = stowage_spec::parse(FILE_NAME, text);
    // Parsing is a pure function of the text: again, and under another name, it says the same.
    let again = stowage_spec::parse("other.toml", text);
    match (&outcome, &again) {
        (Ok(first), Ok(second)) => {
            same_spec(&first.spec, &second.spec, text);
            same_findings(&first.warnings, &second.warnings, text);
        }
        (Err(first), Err(second)) => same_findings(&first.diagnostics, &second.diagnostics, text),
        _ => panic!("parsing the same text twice gave a valid and an invalid spec for {text:?}"),
    }
    match outcome {
        Ok(validated) => {
            check_valid(&validated, text);
            true
        }
        Err(errors) => {
            assert!(errors.errors().next().is_some(), "an invalid spec without an error for {text:?}");
            assert_eq!(errors.source().text(), text, "the errors point into another text");
            for diagnostic in &errors.diagnostics {
                check_diagnostic(diagnostic, text);
            }
            assert!(!errors.to_string().is_empty(), "an empty summary for {text:?}");
            render(&errors, text);
            false
        }
    }
}

fn check_valid(validated: &Validated, text: &str) {
    for warning in &validated.warnings {
        assert_eq!(
            warning.severity(),
            Severity::Warning,
            "a valid spec with an error {:?} for {text:?}",
            warning.message()
        );
        check_diagnostic(warning, text);
        render(warning, text);
    }
    let spec = &validated.spec;
    assert_eq!(spec.source.text(), text, "the spec points into another text");

    // Every value is one its own type accepts, written the same way.
    revalidates(spec.environment.name.as_str(), EnvironmentName::new, text);
    revalidates(spec.aws.region.as_str(), Region::new, text);
    if let Some(profile) = &spec.aws.profile {
        assert!(!profile.is_empty(), "an empty AWS profile passed for {text:?}");
    }
    if let Some(twilio) = &spec.twilio {
        revalidates(twilio.account_sid.as_str(), AccountSid::new, text);
    }
    revalidates(spec.bucket.name.as_str(), BucketName::new, text);
    assert!(spec.bucket.tags.len() <= MAX_TAGS, "{} tags passed for {text:?}", spec.bucket.tags.len());
    for (key, value) in &spec.bucket.tags {
        assert_eq!(check_tag(key, value), Ok(()), "tag `{key}` passed for {text:?}");
    }
    for (index, rule) in spec.bucket.lifecycle.iter().enumerate() {
        revalidates(rule.prefix.as_str(), Prefix::new, text);
        assert!(
            !rule.prefix.has_account_placeholder(),
            "a lifecycle prefix with `{{account_sid}}` passed for {text:?}"
        );
        assert!(rule.expire_after_days >= 1, "a lifecycle rule of 0 days passed for {text:?}");
        assert!(
            spec.bucket.lifecycle[..index].iter().all(|earlier| earlier.prefix != rule.prefix),
            "two lifecycle rules for `{}` passed for {text:?}",
            rule.prefix
        );
    }
    if let Some(Encryption::KmsKeyArn(arn)) = &spec.bucket.encryption {
        assert_eq!(arn.region(), spec.aws.region.as_str(), "a KMS key in another region passed for {text:?}");
        assert_eq!(
            Encryption::new(arn.as_str()).ok().as_ref(),
            spec.bucket.encryption.as_ref(),
            "the KMS key ARN does not re-validate for {text:?}"
        );
    }
    if let Some(uploader) = &spec.uploader {
        revalidates(uploader.user_name.as_str(), IamUserName::new, text);
        revalidates(uploader.path.as_str(), IamPath::new, text);
    }
    for rule in &spec.drift.ignore {
        revalidates(rule.as_str(), IgnoreRule::new, text);
    }

    // The rules across sections.
    let stored: Vec<&Prefix> = [&spec.recordings, &spec.compositions]
        .into_iter()
        .flatten()
        .filter(|storage| storage.store_in_s3)
        .map(|storage| &storage.prefix)
        .collect();
    for storage in [&spec.recordings, &spec.compositions].into_iter().flatten() {
        revalidates(storage.prefix.as_str(), Prefix::new, text);
    }
    if !stored.is_empty() {
        assert!(spec.uploader.is_some(), "storage in S3 without `[uploader]` passed for {text:?}");
        assert!(spec.twilio.is_some(), "storage in S3 without `[twilio]` passed for {text:?}");
    }
    if let [recordings, compositions] = stored.as_slice() {
        assert!(!recordings.overlaps(compositions), "overlapping storage prefixes passed for {text:?}");
    }
    check_fleet(spec, &stored, text);
}

/// `[fleet]`: a main account and an uploader; every stored prefix holds the placeholder (and
/// none without a fleet); the members are subaccounts, each once, none excluded.
fn check_fleet(spec: &Spec, stored: &[&Prefix], text: &str) {
    let Some(fleet) = &spec.fleet else {
        for storage in [&spec.recordings, &spec.compositions].into_iter().flatten() {
            assert!(
                !storage.prefix.has_account_placeholder(),
                "`{{account_sid}}` without `[fleet]` passed for {text:?}"
            );
        }
        return;
    };
    let (Some(twilio), Some(uploader)) = (&spec.twilio, &spec.uploader) else {
        panic!("`[fleet]` without `[twilio]` or `[uploader]` passed for {text:?}");
    };
    for prefix in stored {
        assert!(
            prefix.has_account_placeholder(),
            "a fleet's stored prefix without `{{account_sid}}` passed for {text:?}"
        );
        revalidates(&prefix.for_account(twilio.account_sid.as_str()), Prefix::new, text);
    }
    if let FleetMembers::Listed(listed) = &fleet.subaccounts {
        assert!(!listed.is_empty(), "an empty subaccount list passed for {text:?}");
        for (index, sid) in listed.iter().enumerate() {
            revalidates(sid.as_str(), AccountSid::new, text);
            assert!(!listed[..index].contains(sid), "subaccount `{sid}` listed twice passed for {text:?}");
            assert_ne!(sid, &twilio.account_sid, "the main account as a subaccount passed for {text:?}");
            assert!(!fleet.exclude.contains(sid), "subaccount `{sid}` listed and excluded passed for {text:?}");
        }
    }
    for sid in &fleet.exclude {
        revalidates(sid.as_str(), AccountSid::new, text);
    }
    if fleet.uploader == UploaderMode::PerSubaccount {
        let name = uploader.user_name_for(twilio.account_sid.as_str());
        revalidates(&name, IamUserName::new, text);
        assert!(
            uploader.user_name.as_str().len() <= Uploader::MAX_PER_SUBACCOUNT_USER_NAME,
            "a per-subaccount user name too long for IAM passed for {text:?}"
        );
    }
}

/// `value` is accepted by `new` and comes back as itself: validation is idempotent.
fn revalidates<T: AsRef<str>, E: std::fmt::Debug>(value: &str, new: impl Fn(&str) -> Result<T, E>, text: &str) {
    match new(value) {
        Ok(again) => assert_eq!(again.as_ref(), value, "`{value}` is not in its normal form, for {text:?}"),
        Err(error) => panic!("`{value}` passed validation but does not re-validate ({error:?}), for {text:?}"),
    }
}

/// A finding points inside the text, on character boundaries, and says something.
fn check_diagnostic(diagnostic: &Diagnostic, text: &str) {
    assert!(!diagnostic.message().trim().is_empty(), "a finding without a message for {text:?}");
    assert_eq!(diagnostic.source().text(), text, "a finding points into another text");
    for label in diagnostic.labels() {
        check_span(label.span, diagnostic, text);
    }
    check_span(diagnostic.primary_span(), diagnostic, text);
    let (line, column) = diagnostic.line_col();
    assert!(line >= 1 && column >= 1, "line {line}, column {column} of `{}` for {text:?}", diagnostic.message());
    assert!(line <= text.lines().count().max(1) + 1, "line {line} is past the end, for {text:?}");
}

fn check_span(span: SourceSpan, diagnostic: &Diagnostic, text: &str) {
    let (start, end) = (span.offset(), span.offset() + span.len());
    assert!(
        end <= text.len(),
        "`{}` points at {start}..{end}, past the end of the {}-byte text {text:?}",
        diagnostic.message(),
        text.len()
    );
    assert!(
        text.is_char_boundary(start) && text.is_char_boundary(end),
        "`{}` points at {start}..{end}, inside a character of {text:?}",
        diagnostic.message()
    );
}

/// Findings as the CLI shows them: rendering must not panic and must name the finding.
fn render(diagnostic: &dyn miette::Diagnostic, text: &str) {
    let mut rendered = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(80)
        .render_report(&mut rendered, diagnostic)
        .unwrap_or_else(|error| panic!("rendering failed ({error}) for {text:?}"));
    assert!(!rendered.is_empty(), "an empty rendering for {text:?}");
}

fn same_spec(first: &Spec, second: &Spec, text: &str) {
    // `Spec` holds its source (with the file name), so compare what it asks for.
    let asks = |spec: &Spec| {
        format!(
            "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            spec.environment,
            spec.aws,
            spec.twilio,
            spec.fleet,
            spec.bucket,
            spec.uploader,
            spec.recordings,
            spec.compositions,
            spec.drift
        )
    };
    assert_eq!(asks(first), asks(second), "the same text gave two specs: {text:?}");
}

fn same_findings(first: &[Diagnostic], second: &[Diagnostic], text: &str) {
    let summary = |findings: &[Diagnostic]| -> Vec<String> {
        findings
            .iter()
            .map(|finding| {
                let spans: Vec<(usize, usize)> =
                    finding.labels().iter().map(|label| (label.span.offset(), label.span.len())).collect();
                format!("{:?} {} {spans:?} {:?}", finding.severity(), finding.message(), finding.help())
            })
            .collect()
    };
    assert_eq!(summary(first), summary(second), "the same text gave different findings: {text:?}");
}

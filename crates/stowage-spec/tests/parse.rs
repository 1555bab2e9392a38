//! Valid specs come out typed, with defaults filled in and spans still reachable.

use std::collections::BTreeMap;

use stowage_spec::{Encryption, Severity, parse};

const MINIMAL: &str = r#"
[environment]
name = "dev"

[aws]
region = "us-east-2"

[bucket]
name = "acme-video-dev"
"#;

#[test]
fn the_dev_example_parses_into_typed_values() {
    let text = include_str!("../../../examples/dev.toml");
    let validated = parse("dev.toml", text).expect("examples/dev.toml is valid");
    let spec = validated.spec;
    assert_eq!(spec.environment.name.as_str(), "dev");
    assert_eq!(spec.aws.region.as_str(), "us-east-2");
    assert_eq!(spec.aws.profile, None);
    assert_eq!(
        spec.twilio.as_ref().map(|twilio| twilio.account_sid.as_str()),
        Some("AC0123456789abcdef0123456789abcdef")
    );
    assert_eq!(spec.bucket.name.as_str(), "acme-video-dev");
    assert!(spec.bucket.versioning);
    assert!(spec.bucket.block_public_access);
    assert_eq!(
        spec.bucket.tags,
        BTreeMap::from([("env".to_owned(), "dev".to_owned()), ("team".to_owned(), "video".to_owned())])
    );
    let lifecycle: Vec<(&str, u32)> =
        spec.bucket.lifecycle.iter().map(|rule| (rule.prefix.as_str(), rule.expire_after_days)).collect();
    assert_eq!(lifecycle, [("recordings/", 90), ("compositions/", 365)]);
    let uploader = spec.uploader.as_ref().expect("uploader");
    assert_eq!((uploader.user_name.as_str(), uploader.path.as_str()), ("twilio-video-uploader-dev", "/twilio/"));
    let recordings = spec.recordings.as_ref().expect("recordings");
    assert!(recordings.store_in_s3);
    assert_eq!(recordings.prefix.as_str(), "recordings/");
    assert_eq!(spec.compositions.as_ref().map(|compositions| compositions.prefix.as_str()), Some("compositions/"));
    // The example stores recordings in S3 and configures compositions: the guide's caveat.
    let warnings: Vec<&str> = validated.warnings.iter().map(|warning| warning.message()).collect();
    assert_eq!(warnings, ["recordings stored in S3 cannot be composed"]);
}

#[test]
fn defaults_fill_what_the_file_leaves_out() {
    let validated = parse("minimal.toml", MINIMAL).expect("minimal spec is valid");
    assert!(validated.warnings.is_empty());
    let spec = validated.spec;
    assert!(!spec.bucket.versioning);
    assert!(spec.bucket.block_public_access);
    assert!(spec.bucket.tags.is_empty());
    assert!(spec.bucket.lifecycle.is_empty());
    assert_eq!(spec.bucket.encryption, None);
    assert!(
        spec.twilio.is_none() && spec.uploader.is_none() && spec.recordings.is_none() && spec.compositions.is_none()
    );
    assert!(spec.drift.ignore.is_empty());

    let text = format!(
        "{MINIMAL}\n[twilio]\naccount_sid = \"AC0123456789abcdef0123456789abcdef\"\n\n[uploader]\nuser_name = \"u\"\n\n[recordings]\nstore_in_s3 = false\n\n[compositions]\nstore_in_s3 = true\n"
    );
    let spec = parse("defaults.toml", &text).expect("valid").spec;
    assert_eq!(spec.uploader.map(|uploader| uploader.path.to_string()), Some("/".to_owned()));
    assert_eq!(spec.recordings.map(|recordings| recordings.prefix.to_string()), Some("recordings/".to_owned()));
    assert_eq!(spec.compositions.map(|compositions| compositions.prefix.to_string()), Some("compositions/".to_owned()));
}

#[test]
fn values_are_normalised_and_typed() {
    let text = format!(
        "{MINIMAL}encryption = {{ kms_key = \"arn:aws:kms:us-east-2:111122223333:key/k-1\" }}\n\n[[bucket.lifecycle]]\nprefix = \"/raw\"\nexpire_after_days = 7\n\n[drift]\nignore = [\"aws_s3_bucket.main.tags\", \"aws_iam_user.uploader\"]\n"
    );
    let spec = parse("typed.toml", &text).expect("valid").spec;
    assert_eq!(spec.bucket.lifecycle[0].prefix.as_str(), "raw/");
    let Some(Encryption::KmsKeyArn(arn)) = &spec.bucket.encryption else { panic!("expected a key ARN") };
    assert_eq!((arn.region(), arn.account_id(), arn.key_id()), ("us-east-2", "111122223333", "k-1"));
    let ignored: Vec<(&str, Option<&str>)> =
        spec.drift.ignore.iter().map(|rule| (rule.address(), rule.attribute())).collect();
    assert_eq!(ignored, [("aws_s3_bucket.main", Some("tags")), ("aws_iam_user.uploader", None)]);

    let create = parse("create.toml", &format!("{MINIMAL}encryption = {{ kms_key = \"create\" }}\n")).expect("valid");
    assert_eq!(create.spec.bucket.encryption, Some(Encryption::KmsCreate));
}

#[test]
fn a_remote_state_is_read_and_the_local_one_is_the_default() {
    let spec = parse("minimal.toml", MINIMAL).expect("valid").spec;
    assert_eq!(spec.state, None, "no [state]: the local file");
    let local = format!("{MINIMAL}\n[state]\nbackend = \"local\"\n");
    assert_eq!(parse("local.toml", &local).expect("valid").spec.state, None);

    let remote = format!(
        "{MINIMAL}\n[state]\nbackend = \"s3\"\nbucket = \"acme-stowage-state\"\nkey = \"envs/dev.state.json\"\n\
         region = \"eu-west-1\"\nkms_key = \"alias/stowage-state\"\n"
    );
    let state = parse("remote.toml", &remote).expect("valid").spec.state.expect("a remote state");
    assert_eq!(state.bucket.as_str(), "acme-stowage-state");
    assert_eq!(state.key, "envs/dev.state.json");
    assert_eq!(state.region.as_ref().map(|region| region.as_str()), Some("eu-west-1"));
    assert_eq!(state.kms_key.as_deref(), Some("alias/stowage-state"));
}

#[test]
fn later_stages_can_point_at_keys() {
    let spec = parse("minimal.toml", MINIMAL).expect("valid").spec;
    let span = spec.source.span_of("bucket.name").expect("bucket.name is written");
    assert_eq!(&MINIMAL[span.offset()..span.offset() + span.len()], "\"acme-video-dev\"");
    assert_eq!(spec.source.line_col(span.offset()), (9, 8));
    assert_eq!(spec.source.name(), "minimal.toml");
}

#[test]
fn errors_carry_line_column_message_and_hint() {
    let text = MINIMAL.replace("us-east-2", "us-east2").replace("acme-video-dev", "Acme");
    let errors = parse("bad.toml", &text).expect_err("invalid");
    type Found<'a> = (Severity, (usize, usize), &'a str, Option<&'a str>);
    let found: Vec<Found<'_>> = errors
        .diagnostics
        .iter()
        .map(|diagnostic| (diagnostic.severity(), diagnostic.line_col(), diagnostic.message(), diagnostic.help()))
        .collect();
    assert_eq!(
        found,
        [
            (Severity::Error, (6, 10), "`us-east2` is not an AWS region code", Some("did you mean `us-east-2`?")),
            (Severity::Error, (9, 8), "bucket name `Acme` contains uppercase letters", Some("did you mean `acme`?")),
        ]
    );
    assert_eq!(errors.to_string(), "`bad.toml` is not a valid spec: 2 errors");
}

#[test]
fn warnings_alone_do_not_invalidate() {
    let text = MINIMAL.replace("us-east-2", "us-east-9");
    let validated = parse("new-region.toml", &text).expect("warnings do not invalidate");
    assert_eq!(validated.warnings.len(), 1);
    assert_eq!(validated.warnings[0].severity(), Severity::Warning);
}

#[test]
fn errors_can_travel_across_threads_in_reports() {
    fn assert_report_ready<T: std::error::Error + miette::Diagnostic + Send + Sync + 'static>() {}
    assert_report_ready::<stowage_spec::SpecErrors>();
    assert_report_ready::<stowage_spec::Diagnostic>();
}

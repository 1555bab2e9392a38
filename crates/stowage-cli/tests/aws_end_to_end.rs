//! The AWS side, end to end: the `stowage` binary against a real moto (through a recording
//! proxy) and the Twilio emulator. What exists is checked through the AWS SDK, never through
//! stowage's own state.

mod common;

use std::path::{Path, PathBuf};

use common::world;
use stowage_test_support::dev::{BUCKET, REGION, USER};
use stowage_test_support::{assert_exit, dev_spec, insta_filters};

#[tokio::test(flavor = "multi_thread")]
async fn apply_creates_exactly_the_configured_resources_and_a_second_run_writes_nothing() {
    let world = world().start().await;
    let applied = world.stowage(&["apply", "dev.toml", "--auto-approve"]).await;
    assert_exit(&applied, 0);

    // The bucket, as S3 reports it.
    let s3 = world.moto.s3_client(REGION);
    let location = s3.get_bucket_location().bucket(BUCKET).send().await.unwrap();
    assert_eq!(location.location_constraint().map(|constraint| constraint.as_str()), Some(REGION));
    assert_eq!(world.moto.versioning_status(BUCKET).as_deref(), Some("Enabled"));
    let block = s3.get_public_access_block().bucket(BUCKET).send().await.unwrap();
    let block = block.public_access_block_configuration().unwrap();
    assert_eq!(
        [
            block.block_public_acls(),
            block.ignore_public_acls(),
            block.block_public_policy(),
            block.restrict_public_buckets()
        ],
        [Some(true); 4]
    );
    let ownership = s3.get_bucket_ownership_controls().bucket(BUCKET).send().await.unwrap();
    assert_eq!(ownership.ownership_controls().unwrap().rules()[0].object_ownership().as_str(), "BucketOwnerEnforced");
    let lifecycle = s3.get_bucket_lifecycle_configuration().bucket(BUCKET).send().await.unwrap();
    let mut rules: Vec<(String, i32)> = lifecycle
        .rules()
        .iter()
        .map(|rule| (rule.filter().unwrap().prefix().unwrap().to_owned(), rule.expiration().unwrap().days().unwrap()))
        .collect();
    rules.sort();
    assert_eq!(rules, vec![("compositions/".to_owned(), 365), ("recordings/".to_owned(), 90)]);
    let tagging = s3.get_bucket_tagging().bucket(BUCKET).send().await.unwrap();
    let mut tags: Vec<(&str, &str)> = tagging.tag_set().iter().map(|tag| (tag.key(), tag.value())).collect();
    tags.sort();
    assert_eq!(tags, vec![("env", "dev"), ("team", "video")]);

    // The uploader, its policy (by meaning) and its one key, as IAM reports them.
    let iam = world.moto.iam_client();
    let user = iam.get_user().user_name(USER).send().await.unwrap();
    assert_eq!(user.user().unwrap().path(), "/twilio/");
    let policy = iam.get_user_policy().user_name(USER).policy_name("stowage-twilio-video-upload").send().await.unwrap();
    let document = stowage_provider::policy::parse(policy.policy_document()).unwrap();
    let expected = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:PutObject",
                       "Resource": [format!("arn:aws:s3:::{BUCKET}/compositions/*"), format!("arn:aws:s3:::{BUCKET}/recordings/*")]}]
    });
    assert!(stowage_provider::policy::same_meaning(&document, &expected), "policy is {document:#}");
    let keys = iam.list_access_keys().user_name(USER).send().await.unwrap();
    assert_eq!(keys.access_key_metadata().len(), 1);

    // A second plan sees no changes and exits 0; a second apply writes nothing anywhere.
    world.aws.clear();
    let plan = world.stowage(&["plan", "dev.toml", "--detailed-exitcode"]).await;
    assert_exit(&plan, 0);
    assert!(plan.stdout.contains("No changes"), "{}", plan.stdout);
    let before = world.twilio_writes_since(0).len();
    let again = world.stowage(&["apply", "dev.toml", "--auto-approve"]).await;
    assert_exit(&again, 0);
    assert_eq!(world.aws.writes(), vec![], "a converged apply must make no AWS write");
    assert_eq!(world.twilio_writes_since(0).len(), before, "a converged apply must make no Twilio write");
    // Each thing read once per run: reads are distinct.
    let reads: Vec<String> = world.aws.requests().iter().map(ToString::to_string).collect();
    let mut distinct = reads.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(reads.len(), distinct.len() * 2, "two runs, each reading every thing exactly once: {reads:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_spec_value_plans_exactly_that_update() {
    let world = world().start().await;
    assert_exit(&world.stowage(&["apply", "dev.toml", "--auto-approve"]).await, 0);

    let changed = dev_spec()
        .replace(r#"team = "video""#, r#"team = "audio""#)
        .replace("versioning = true", "versioning = false")
        .replace("expire_after_days = 90", "expire_after_days = 30")
        .replace("prefix = \"recordings/\"\n\n[compositions]", "prefix = \"video-recordings/\"\n\n[compositions]");
    world.rewrite_spec(&changed);
    let plan = world.stowage(&["plan", "dev.toml", "--detailed-exitcode"]).await;
    assert_exit(&plan, 2);
    insta::with_settings!({filters => insta_filters()}, {
        insta::assert_snapshot!("changed_spec_plan", plan.stdout);
    });

    assert_exit(&world.stowage(&["apply", "dev.toml", "--auto-approve"]).await, 0);
    assert_eq!(world.moto.versioning_status(BUCKET).as_deref(), Some("Suspended"));
    let tagging = world.moto.s3_client(REGION).get_bucket_tagging().bucket(BUCKET).send().await.unwrap();
    assert!(tagging.tag_set().iter().any(|tag| tag.key() == "team" && tag.value() == "audio"));
    let policy = world
        .moto
        .iam_client()
        .get_user_policy()
        .user_name(USER)
        .policy_name("stowage-twilio-video-upload")
        .send()
        .await
        .unwrap();
    assert!(policy.policy_document().contains("video-recordings"));
    assert_exit(&world.stowage(&["plan", "dev.toml", "--detailed-exitcode"]).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn removing_the_uploader_deletes_policy_and_key_before_the_user() {
    let world = world().start().await;
    assert_exit(&world.stowage(&["apply", "dev.toml", "--auto-approve"]).await, 0);

    // Keep only the bucket: the Twilio sections need the uploader.
    let spec = dev_spec();
    let bucket_only = &spec[..spec.find("[uploader]").unwrap()];
    let bucket_only = bucket_only.replace("[twilio]\naccount_sid = \"AC0123456789abcdef0123456789abcdef\"\n", "");
    world.rewrite_spec(&bucket_only);
    world.aws.clear();
    assert_exit(&world.stowage(&["apply", "dev.toml", "--auto-approve"]).await, 0);

    let deletes: Vec<String> = world
        .aws
        .writes()
        .into_iter()
        .filter(|request| request.service == "iam")
        .map(|request| request.operation)
        .collect();
    let position = |operation: &str| {
        deletes.iter().position(|name| name == operation).unwrap_or_else(|| panic!("no {operation} in {deletes:?}"))
    };
    assert!(position("DeleteUserPolicy") < position("DeleteUser"), "{deletes:?}");
    assert!(position("DeleteAccessKey") < position("DeleteUser"), "{deletes:?}");
    let error = world.moto.iam_client().get_user().user_name(USER).send().await.unwrap_err();
    assert_eq!(aws_sdk_iam::error::ProvideErrorMetadata::code(&error), Some("NoSuchEntity"));
    // Twilio storage was switched off before the credential went.
    let settings = world.twilio_get("/v1/RecordingSettings/Default").await;
    assert_eq!(settings["aws_storage_enabled"], serde_json::json!(false));
    assert_exit(&world.stowage(&["plan", "dev.toml", "--detailed-exitcode"]).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_reordered_out_of_band_is_no_change_and_a_wider_one_is() {
    let world = world().start().await;
    assert_exit(&world.stowage(&["apply", "dev.toml", "--auto-approve"]).await, 0);
    let iam = world.moto.iam_client();
    let put = |document: serde_json::Value| {
        iam.put_user_policy()
            .user_name(USER)
            .policy_name("stowage-twilio-video-upload")
            .policy_document(document.to_string())
            .send()
    };
    put(serde_json::json!({
        "Statement": {"Resource": [format!("arn:aws:s3:::{BUCKET}/recordings/*"), format!("arn:aws:s3:::{BUCKET}/compositions/*")],
                      "Action": "S3:PutObject", "Effect": "Allow"},
        "Version": "2012-10-17"
    }))
    .await
    .unwrap();
    assert_exit(&world.stowage(&["plan", "dev.toml", "--detailed-exitcode"]).await, 0);

    put(serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
                       "Resource": [format!("arn:aws:s3:::{BUCKET}/compositions/*"), format!("arn:aws:s3:::{BUCKET}/recordings/*")]}]
    }))
    .await
    .unwrap();
    let plan = world.stowage(&["plan", "dev.toml", "--detailed-exitcode"]).await;
    assert_exit(&plan, 2);
    insta::with_settings!({filters => insta_filters()}, {
        insta::assert_snapshot!("widened_policy_plan", plan.stdout);
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn every_bad_spec_fails_with_line_and_column_and_makes_no_call() {
    let bad = Path::new(env!("CARGO_MANIFEST_DIR")).join("../stowage-spec/tests/bad");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&bad)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 25, "the bad spec corpus is in {}", bad.display());

    let world = world().start().await;
    let location = regex::Regex::new(r"bad\.toml:\d+:\d+").unwrap();
    for file in &files {
        std::fs::copy(file, world.sandbox.path().join("bad.toml")).unwrap();
        for command in [&["validate", "bad.toml"][..], &["plan", "bad.toml"], &["apply", "bad.toml", "--auto-approve"]]
        {
            let output = world.stowage(command).await;
            let name = file.file_name().unwrap().to_string_lossy();
            assert_eq!(output.code, Some(1), "{name}: {command:?}\n{}", output.stderr);
            assert!(location.is_match(&output.stderr), "{name}: no file:line:col in\n{}", output.stderr);
        }
    }
    assert_eq!(world.aws.requests(), vec![], "a bad spec must not reach AWS");
    assert_eq!(world.emulator.requests(), vec![], "a bad spec must not reach Twilio");
    assert!(!world.sandbox.state_path("bad.toml").exists(), "a bad spec must not write a state");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_handoff_marks_the_key_and_the_next_apply_replaces_it() {
    let world = world().start().await;
    // The credential POST fails after the key exists: its secret can never reach Twilio now.
    let mut fault = stowage_test_support::twilio_emulator::FaultRule::new(500, "/v1/Credentials/AWS");
    fault.method = Some("POST".to_owned());
    world.emulator.add_fault(fault).unwrap();
    let failed = world.stowage(&["apply", "dev.toml", "--auto-approve"]).await;
    assert_exit(&failed, 1);
    assert!(failed.stderr.contains("twilio_aws_credential.main"), "{}", failed.stderr);

    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(world.sandbox.state_path("dev.toml")).unwrap()).unwrap();
    let key = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|resource| resource["address"] == "aws_iam_access_key.uploader")
        .unwrap();
    let orphan = key["id"].as_str().unwrap().to_owned();
    assert!(key["tainted"].as_str().unwrap().contains("secret"), "the key is marked: {key:#}");

    let plan = world.stowage(&["plan", "dev.toml"]).await;
    assert!(plan.stdout.contains("aws_iam_access_key.uploader must be replaced"), "{}", plan.stdout);
    assert_exit(&world.stowage(&["apply", "dev.toml", "--auto-approve"]).await, 0);

    let keys = world.moto.iam_client().list_access_keys().user_name(USER).send().await.unwrap();
    let ids: Vec<&str> = keys.access_key_metadata().iter().filter_map(|key| key.access_key_id()).collect();
    assert_eq!(ids.len(), 1, "exactly one key left: {ids:?}");
    assert_ne!(ids[0], orphan, "the orphaned key was deleted");
    assert_exit(&world.stowage(&["plan", "dev.toml", "--detailed-exitcode"]).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_and_server_errors_are_retried() {
    use stowage_test_support::{Fault, FaultAction};
    let world = world().start().await;
    world.aws.inject(Fault::once("CreateUser", FaultAction::Status(500)));
    world.aws.inject(Fault::once("CreateBucket", FaultAction::Throttle));
    world.aws.inject(Fault::once("PutUserPolicy", FaultAction::Throttle));
    assert_exit(&world.stowage(&["apply", "dev.toml", "--auto-approve"]).await, 0);
    let statuses: Vec<(String, u16)> =
        world.aws.requests().into_iter().map(|request| (request.operation, request.status)).collect();
    for (operation, failure) in [("CreateUser", 500), ("CreateBucket", 503), ("PutUserPolicy", 400)] {
        let attempts: Vec<u16> =
            statuses.iter().filter(|(name, _)| name == operation).map(|(_, status)| *status).collect();
        assert_eq!(attempts, vec![failure, 200], "{operation} failed once, then succeeded");
    }
    assert_exit(&world.stowage(&["plan", "dev.toml", "--detailed-exitcode"]).await, 0);
}

//! `stowage verify`, end to end: a healthy environment passes; each thing broken behind
//! stowage's back (in moto or the Twilio emulator, the way a person would break it) is found,
//! with the Twilio error it would cause.

mod common;

use common::{DAY, day_key_is, dev_spec_rotating_after, put_policy, world};
use serde_json::{Value, json};
use stowage_test_support::dev::{BUCKET, REGION, USER};
use stowage_test_support::{Run, World, assert_exit, insta_filters};

/// A world where `apply` has made everything as the spec says.
async fn applied() -> World {
    let world = world().start().await;
    assert_exit(&world.stowage(&["apply", "dev.toml", "--auto-approve"]).await, 0);
    world
}

async fn verify(world: &World) -> Run {
    world.stowage(&["verify", "dev.toml"]).await
}

/// The report's line for `check`, which must exist.
fn line(output: &Run, check: &str) -> String {
    let text = &output.stdout;
    let prefix = format!(" {check}: ");
    text.lines()
        .find(|line| line.contains(&prefix))
        .unwrap_or_else(|| panic!("no `{check}` line in:\n{text}"))
        .to_owned()
}

async fn twilio_form(world: &World, method: reqwest::Method, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    world.twilio_request(method, path).form(form).send().await.unwrap()
}

async fn recording_settings(world: &World) -> Value {
    twilio_form(world, reqwest::Method::GET, "/v1/RecordingSettings/Default", &[]).await.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_healthy_environment_passes_and_nothing_is_written() {
    let world = applied().await;
    let state_before = std::fs::read(world.sandbox.path().join("dev.state.json")).unwrap();
    world.aws.clear();
    let twilio_writes_before = world.twilio_writes_since(0).len();

    let output = verify(&world).await;
    assert_exit(&output, 0);
    insta::with_settings!({filters => insta_filters()}, {
        insta::assert_snapshot!("healthy", output.stdout);
    });

    assert_eq!(world.aws.writes(), vec![], "verify must make no AWS write");
    assert_eq!(world.twilio_writes_since(0).len(), twilio_writes_before, "verify must make no Twilio write");
    assert_eq!(
        std::fs::read(world.sandbox.path().join("dev.state.json")).unwrap(),
        state_before,
        "verify must not touch the state"
    );

    let json = world.stowage(&["verify", "dev.toml", "--format", "json"]).await;
    assert_exit(&json, 0);
    let report: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["outcome"], "passed");
    assert!(report["findings"].as_array().unwrap().iter().all(|finding| finding["status"] == "pass"), "{report:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deactivated_access_key_is_53611() {
    let world = applied().await;
    let iam = world.moto.iam_client();
    let keys = iam.list_access_keys().user_name(USER).send().await.unwrap();
    let key_id = keys.access_key_metadata()[0].access_key_id().unwrap().to_owned();
    iam.update_access_key()
        .user_name(USER)
        .access_key_id(key_id)
        .status(aws_sdk_iam::types::StatusType::Inactive)
        .send()
        .await
        .unwrap();

    let output = verify(&world).await;
    assert_exit(&output, 2);
    let access_key = line(&output, "access_key");
    assert!(
        access_key.starts_with('✗') && access_key.contains("Inactive") && access_key.contains("53611"),
        "{access_key}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_credential_deleted_in_twilio_is_53613() {
    let world = applied().await;
    let sid = recording_settings(&world).await["aws_credentials_sid"].as_str().unwrap().to_owned();
    let deleted = twilio_form(&world, reqwest::Method::DELETE, &format!("/v1/Credentials/AWS/{sid}"), &[]).await;
    assert_eq!(deleted.status(), 204);

    let output = verify(&world).await;
    assert_exit(&output, 2);
    let credential = line(&output, "twilio_credential");
    assert!(credential.starts_with('✗') && credential.contains("53613"), "{credential}");
    let settings = line(&output, "recordings.credential");
    assert!(
        settings.starts_with('✗') && settings.contains("does not exist") && settings.contains("53613"),
        "{settings}"
    );
}

/// Switches recording storage to `url` with credential `credential_sid`, as someone in
/// Twilio's console would; the emulator's write test must accept it.
async fn point_recordings_at(world: &World, credential_sid: &str, url: &str) {
    let settings = recording_settings(world).await;
    let response = twilio_form(
        world,
        reqwest::Method::POST,
        "/v1/RecordingSettings/Default",
        &[
            ("FriendlyName", settings["friendly_name"].as_str().unwrap()),
            ("AwsCredentialsSid", credential_sid),
            ("AwsS3Url", url),
            ("AwsStorageEnabled", "true"),
            ("EncryptionEnabled", "false"),
        ],
    )
    .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_storage_url_in_another_region_is_53610() {
    let world = applied().await;
    let settings = recording_settings(&world).await;
    let credential_sid = settings["aws_credentials_sid"].as_str().unwrap();
    point_recordings_at(&world, credential_sid, &format!("https://{BUCKET}.s3-us-west-2.amazonaws.com/recordings"))
        .await;

    let output = verify(&world).await;
    assert_exit(&output, 2);
    let region = line(&output, "recordings.bucket_region");
    assert!(region.starts_with('✗') && region.contains("us-west-2") && region.contains("53610"), "{region}");
}

#[tokio::test(flavor = "multi_thread")]
async fn recording_settings_using_another_credential_are_53613() {
    let world = applied().await;
    // A second key of the uploader, handed to Twilio by hand.
    let key = world.moto.iam_client().create_access_key().user_name(USER).send().await.unwrap();
    let key = key.access_key().unwrap();
    let material = format!("{}:{}", key.access_key_id(), key.secret_access_key());
    let created = twilio_form(
        &world,
        reqwest::Method::POST,
        "/v1/Credentials/AWS",
        &[("Credentials", &material), ("FriendlyName", "made by hand")],
    )
    .await;
    assert_eq!(created.status(), 201);
    let other: Value = created.json().await.unwrap();
    let other_sid = other["sid"].as_str().unwrap();
    point_recordings_at(&world, other_sid, &format!("https://{BUCKET}.s3-{REGION}.amazonaws.com/recordings")).await;

    let output = verify(&world).await;
    assert_exit(&output, 2);
    let settings = line(&output, "recordings.credential");
    assert!(settings.starts_with('✗') && settings.contains(other_sid) && settings.contains("53613"), "{settings}");
    assert!(line(&output, "compositions.credential").starts_with('✓'));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_widened_with_get_object_allows_more_than_twilio_needs() {
    let world = applied().await;
    put_policy(
        &world,
        serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Action": ["s3:PutObject", "s3:GetObject"],
            "Resource": [format!("arn:aws:s3:::{BUCKET}/recordings/*"), format!("arn:aws:s3:::{BUCKET}/compositions/*")]}]}),
    )
    .await;

    let output = verify(&world).await;
    assert_exit(&output, 2);
    let nothing_else = line(&output, "uploader_policy.nothing_else");
    assert!(nothing_else.starts_with('✗') && nothing_else.contains("s3:GetObject"), "{nothing_else}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_narrowed_to_one_prefix_is_53625_for_the_other() {
    let world = applied().await;
    put_policy(
        &world,
        serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Action": "s3:PutObject", "Resource": format!("arn:aws:s3:::{BUCKET}/recordings/*")}]}),
    )
    .await;

    let output = verify(&world).await;
    assert_exit(&output, 2);
    let compositions = line(&output, "uploader_policy.put_compositions");
    assert!(compositions.starts_with('✗') && compositions.contains("53625"), "{compositions}");
    assert!(line(&output, "uploader_policy.put_recordings").starts_with('✓'));
}

#[tokio::test(flavor = "multi_thread")]
async fn sse_s3_default_encryption_warns_53615_without_failing() {
    let world = applied().await;
    let rule = aws_sdk_s3::types::ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(
            aws_sdk_s3::types::ServerSideEncryptionByDefault::builder()
                .sse_algorithm(aws_sdk_s3::types::ServerSideEncryption::Aes256)
                .build()
                .unwrap(),
        )
        .build();
    world
        .moto
        .s3_client(REGION)
        .put_bucket_encryption()
        .bucket(BUCKET)
        .server_side_encryption_configuration(
            aws_sdk_s3::types::ServerSideEncryptionConfiguration::builder().rules(rule).build().unwrap(),
        )
        .send()
        .await
        .unwrap();

    let output = verify(&world).await;
    // Warnings do not fail a run.
    assert_exit(&output, 0);
    let encryption = line(&output, "bucket_encryption");
    assert!(
        encryption.starts_with('!') && encryption.contains("SSE-S3") && encryption.contains("53615"),
        "{encryption}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_twilio_test_file_warns() {
    let world = applied().await;
    let s3 = world.moto.s3_client(REGION);
    let listed = s3.list_objects_v2().bucket(BUCKET).prefix("recordings/").send().await.unwrap();
    let test_files: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|object| object.key())
        .filter(|key| key.ends_with(".txt"))
        .map(str::to_owned)
        .collect();
    assert!(!test_files.is_empty(), "the emulator's write test leaves a file");
    for key in test_files {
        s3.delete_object().bucket(BUCKET).key(key).send().await.unwrap();
    }

    let output = verify(&world).await;
    assert_exit(&output, 0);
    let test_file = line(&output, "recordings.test_file");
    assert!(test_file.starts_with('!'), "{test_file}");
    assert!(line(&output, "compositions.test_file").starts_with('✓'));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fact_that_cannot_be_read_leaves_the_run_incomplete() {
    use stowage_test_support::{Fault, FaultAction};
    let world = applied().await;
    // Looking for Twilio's test file lists the bucket: deny that, and only that.
    world.aws.inject(Fault::once("ListObjectsV2", FaultAction::Status(403)));

    let output = verify(&world).await;
    assert_exit(&output, 1);
    let listed = [line(&output, "recordings.test_file"), line(&output, "compositions.test_file")];
    assert!(listed.iter().any(|found| found.starts_with('?') && found.contains("could not")), "{listed:?}");
    assert!(line(&output, "bucket_encryption").starts_with('✓'));
}

/// The dev spec, with `rotate_after_days` in `[uploader]` when `days` is given.
fn rotating_after(days: Option<u32>) -> String {
    days.map_or_else(stowage_test_support::dev_spec, dev_spec_rotating_after)
}

/// A world applied with moto's clock `days` days (and a minute) behind: its key is `days` days
/// old.
async fn applied_days_ago(days: u32) -> World {
    let world = world().clocked_moto().start().await;
    let behind = DAY * days + std::time::Duration::from_secs(60);
    world.moto.with_clock_behind(behind, async || applied_here(&world).await).await;
    world
}

async fn applied_here(world: &World) {
    assert_exit(&world.stowage(&["apply", "dev.toml", "--auto-approve"]).await, 0);
}

/// `verify --format json`, which must exit `expected`: the report and the rotation finding.
async fn verify_json(world: &World, expected: i32) -> (Value, Value) {
    let json = world.stowage(&["verify", "dev.toml", "--format", "json"]).await;
    assert_exit(&json, expected);
    let report: Value = serde_json::from_str(&json.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let rotation = findings.iter().find(|finding| finding["check"] == "access_key.rotation").cloned();
    (report.clone(), rotation.unwrap_or_else(|| panic!("no access_key.rotation in {report:#}")))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotation_due_within_7_days_or_overdue_warns_and_the_json_says_when() {
    let world = applied_days_ago(85).await;
    let filters = {
        let mut filters = insta_filters();
        filters.push((r"\b\d{4}-\d{2}-\d{2}\b", "[DATE]"));
        filters
    };

    // 85 days old, rotated after 90: due within 7 days. A warning: verify still passes.
    world.rewrite_spec(&rotating_after(Some(90)));
    let output = verify(&world).await;
    assert_exit(&output, 0);
    let due = day_key_is(&world, 90).await;
    let rotation = line(&output, "access_key.rotation");
    assert!(
        rotation.starts_with('!') && rotation.contains("85 days old") && rotation.contains(&format!("on {due}")),
        "{rotation}"
    );
    let warned: String = output.stdout.lines().take_while(|line| !line.starts_with('✓')).collect::<Vec<_>>().join("\n");
    insta::with_settings!({filters => filters.clone()}, {
        insta::assert_snapshot!("rotation_due_within_7_days", warned);
    });
    let (report, finding) = verify_json(&world, 0).await;
    assert_eq!((&report["outcome"], &finding["status"]), (&json!("passed"), &json!("warn")));
    assert_eq!((&report["key_age_days"], &report["rotation_due"]), (&json!(85), &json!(due)));

    // Rotated after 120 days: 35 days to go, nothing to warn of.
    world.rewrite_spec(&rotating_after(Some(120)));
    let (report, finding) = verify_json(&world, 0).await;
    assert_eq!(finding["status"], "pass", "{finding:#}");
    assert_eq!((&report["key_age_days"], &report["rotation_due"]), (&json!(85), &json!(day_key_is(&world, 120).await)));

    // Rotated after 80 days: overdue, and the next apply replaces it.
    world.rewrite_spec(&rotating_after(Some(80)));
    let output = verify(&world).await;
    assert_exit(&output, 0);
    let overdue = line(&output, "access_key.rotation");
    assert!(overdue.starts_with('!') && overdue.contains("the next apply replaces it"), "{overdue}");
    let (report, _) = verify_json(&world, 0).await;
    assert_eq!(report["rotation_due"], json!(day_key_is(&world, 80).await));

    // No period: 85 days is not yet old enough to warn of, and nothing is due.
    world.rewrite_spec(&rotating_after(None));
    let (report, finding) = verify_json(&world, 0).await;
    assert_eq!(finding["status"], "pass", "{finding:#}");
    assert_eq!((&report["key_age_days"], &report["rotation_due"]), (&json!(85), &Value::Null));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_older_than_90_days_without_a_period_warns_until_it_is_rotated() {
    let world = applied_days_ago(100).await;
    let output = verify(&world).await;
    assert_exit(&output, 0);
    let rotation = line(&output, "access_key.rotation");
    assert!(rotation.starts_with('!') && rotation.contains("100 days old"), "{rotation}");
    let hint = output.stdout.lines().skip_while(|line| !line.contains(" access_key.rotation: ")).nth(1).unwrap_or("");
    assert!(hint.contains("`rotate_after_days` in `[uploader]`") && hint.contains("stowage rotate SPEC"), "{hint}");
    let (report, finding) = verify_json(&world, 0).await;
    assert_eq!(finding["status"], "warn");
    assert_eq!((&report["key_age_days"], &report["rotation_due"]), (&json!(100), &Value::Null));

    // As the hint says: a new key, which is 0 days old.
    assert_exit(&world.stowage(&["rotate", "dev.toml", "--auto-approve"]).await, 0);
    let output = verify(&world).await;
    assert_exit(&output, 0);
    let rotation = line(&output, "access_key.rotation");
    assert!(rotation.starts_with('✓') && rotation.contains(" 0 days old"), "{rotation}");
}

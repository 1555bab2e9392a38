//! `stowage drift`, end to end: apply `examples/dev.toml` against moto (behind a recording
//! proxy) and the Twilio emulator, change reality out of band the way someone in a console
//! would (the AWS SDK, the Twilio API), and check that drift names what moved, how bad it is,
//! and that it only ever reads.

mod common;

use common::{DAY, day_key_is, dev_spec_rotating_after, put_policy, world};
use serde_json::{Value, json};
use stowage_test_support::dev::{BUCKET, POLICY_NAME, REGION, USER};
use stowage_test_support::{Run, World, assert_exit, dev_spec, insta_filters};

/// The dev environment, applied.
async fn applied_world() -> World {
    let world = world().start().await;
    assert_exit(&world.stowage(&["apply", "dev.toml", "--auto-approve"]).await, 0);
    world
}

async fn drift(world: &World, extra: &[&str]) -> Run {
    let mut args = vec!["drift", "dev.toml"];
    args.extend_from_slice(extra);
    world.stowage(&args).await
}

/// `drift --format json`, which must exit `expected`; the report.
async fn drift_json(world: &World, expected: i32) -> Value {
    let output = drift(world, &["--format", "json"]).await;
    assert_exit(&output, expected);
    serde_json::from_str(&output.stdout).unwrap_or_else(|error| panic!("not JSON ({error}):\n{}", output.stdout))
}

/// The one entry of `report` about `address`, of `kind`.
fn entry<'a>(report: &'a Value, address: &str, kind: &str) -> &'a Value {
    report["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["address"] == address && entry["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} entry for {address} in {report:#}"))
}

fn attribute<'a>(entry: &'a Value, name: &str) -> &'a Value {
    entry["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|attribute| attribute["name"] == name)
        .unwrap_or_else(|| panic!("no attribute {name} in {entry:#}"))
}

/// Asserts `report` has exactly one entry, about `address`, and returns it.
fn only_entry<'a>(report: &'a Value, address: &str, kind: &str) -> &'a Value {
    let entries = report["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{report:#}");
    entry(report, address, kind)
}

async fn reapply_and_expect_no_drift(world: &World) {
    assert_exit(&world.stowage(&["apply", "dev.toml", "--auto-approve"]).await, 0);
    assert_exit(&drift(world, &[]).await, 0);
}

/// POSTs Twilio settings as someone in the console would: the whole form, as Twilio asks.
async fn twilio_post_settings(world: &World, path: &str, form: &[(&str, &str)]) {
    let response = world.twilio_request(reqwest::Method::POST, path).form(form).send().await.unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

async fn access_key_id(world: &World) -> String {
    world.moto.access_key_ids(USER).await.remove(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untouched_environment_is_in_sync_and_drift_only_reads() {
    let world = applied_world().await;
    let state = world.sandbox.state_path("dev.toml");
    let backup = world.sandbox.backup_path("dev.toml");
    let state_before = std::fs::read(&state).unwrap();
    let backup_before = std::fs::read(&backup).ok();
    world.aws.clear();
    let twilio_writes_before = world.twilio_writes_since(0);

    for format in ["human", "json", "human"] {
        let output = drift(&world, &["--format", format]).await;
        assert_exit(&output, 0);
    }
    let human = drift(&world, &[]).await;
    assert_exit(&human, 0);
    insta::with_settings!({filters => insta_filters()}, {
        insta::assert_snapshot!(human.stdout, @r"
        No drift in `dev`: reality matches the state and the spec.
        access key `[ACCESS_KEY_ID]` is 0 days old; it is not rotated on a schedule (no `rotate_after_days` is set).
        ");
    });

    assert_eq!(world.aws.writes(), vec![], "drift must make no AWS write");
    assert!(!world.aws.requests().is_empty(), "drift read AWS");
    assert_eq!(world.twilio_writes_since(0), twilio_writes_before, "drift must make no Twilio write");
    assert_eq!(std::fs::read(&state).unwrap(), state_before, "drift must not write the state");
    assert_eq!(std::fs::read(&backup).ok(), backup_before, "drift must not write a backup");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_bucket_is_critical_and_apply_brings_it_back() {
    let world = applied_world().await;
    let s3 = world.moto.s3_client(REGION);
    // Versioned: every version and delete marker must go before the bucket can.
    let versions = s3.list_object_versions().bucket(BUCKET).send().await.unwrap();
    let objects =
        versions.versions().iter().map(|version| (version.key().unwrap(), version.version_id().unwrap())).chain(
            versions.delete_markers().iter().map(|marker| (marker.key().unwrap(), marker.version_id().unwrap())),
        );
    for (key, version) in objects {
        s3.delete_object().bucket(BUCKET).key(key).version_id(version).send().await.unwrap();
    }
    s3.delete_bucket().bucket(BUCKET).send().await.unwrap();

    let human = drift(&world, &[]).await;
    assert_exit(&human, 2);
    assert!(human.stdout.contains("CRITICAL aws_s3_bucket.main: deleted outside stowage\n"), "{}", human.stdout);
    let report = drift_json(&world, 2).await;
    let deleted = only_entry(&report, "aws_s3_bucket.main", "deleted_outside");
    assert_eq!(deleted["severity"], "critical");
    assert_eq!(report["summary"]["by_kind"]["deleted_outside"], 1);
    reapply_and_expect_no_drift(&world).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_public_access_block_is_critical_and_reported_for_people_and_tools() {
    let world = applied_world().await;
    world.moto.s3_client(REGION).delete_public_access_block().bucket(BUCKET).send().await.unwrap();

    let human = drift(&world, &[]).await;
    assert_exit(&human, 2);
    insta::with_settings!({filters => insta_filters()}, {
        insta::assert_snapshot!("public_access_block_removed_human", human.stdout);
    });

    let report = drift_json(&world, 2).await;
    let changed = only_entry(&report, "aws_s3_bucket.main", "changed_outside");
    assert_eq!(changed["severity"], "critical");
    assert_eq!(attribute(changed, "block_public_access")["expected"], json!(true));
    insta::with_settings!({filters => insta_filters()}, {
        insta::assert_json_snapshot!("public_access_block_removed_json", report, {".generated_at" => "[GENERATED_AT]"});
    });
    let generated_at = report["generated_at"].as_str().unwrap();
    assert!(generated_at.parse::<jiff::Timestamp>().is_ok(), "not RFC 3339: {generated_at}");
}

#[tokio::test(flavor = "multi_thread")]
async fn suspended_versioning_is_a_warning() {
    let world = applied_world().await;
    let suspended = aws_sdk_s3::types::VersioningConfiguration::builder()
        .status(aws_sdk_s3::types::BucketVersioningStatus::Suspended)
        .build();
    world
        .moto
        .s3_client(REGION)
        .put_bucket_versioning()
        .bucket(BUCKET)
        .versioning_configuration(suspended)
        .send()
        .await
        .unwrap();

    let report = drift_json(&world, 2).await;
    let changed = only_entry(&report, "aws_s3_bucket.main", "changed_outside");
    assert_eq!(changed["severity"], "warning");
    assert_eq!(attribute(changed, "versioning")["expected"], json!(true));
    reapply_and_expect_no_drift(&world).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_lifecycle_rule_is_a_warning() {
    let world = applied_world().await;
    world.moto.s3_client(REGION).delete_bucket_lifecycle().bucket(BUCKET).send().await.unwrap();

    let report = drift_json(&world, 2).await;
    let changed = only_entry(&report, "aws_s3_bucket.main", "changed_outside");
    assert_eq!(changed["severity"], "warning");
    assert!(
        attribute(changed, "lifecycle")["expected"].as_array().is_some_and(|rules| rules.len() == 2),
        "{changed:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn changed_tags_are_a_warning_and_can_be_accepted_by_flag_or_spec() {
    let world = applied_world().await;
    let tags = aws_sdk_s3::types::Tagging::builder()
        .tag_set(aws_sdk_s3::types::Tag::builder().key("team").value("audio").build().unwrap())
        .build()
        .unwrap();
    world.moto.s3_client(REGION).put_bucket_tagging().bucket(BUCKET).tagging(tags).send().await.unwrap();

    let report = drift_json(&world, 2).await;
    let changed = only_entry(&report, "aws_s3_bucket.main", "changed_outside");
    assert_eq!(changed["severity"], "warning");
    assert_eq!(attribute(changed, "tags")["actual"], json!({"team": "audio"}));

    let accepted = drift(&world, &["--ignore", "aws_s3_bucket.main.tags"]).await;
    assert_exit(&accepted, 0);
    assert!(accepted.stdout.contains("1 accepted difference ignored"), "{}", accepted.stdout);
    world.rewrite_spec(&format!("{}\n[drift]\nignore = [\"aws_s3_bucket.main\"]\n", dev_spec()));
    assert_exit(&drift(&world, &[]).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_iam_user_is_critical() {
    let world = applied_world().await;
    let iam = world.moto.iam_client();
    iam.delete_user_policy().user_name(USER).policy_name(POLICY_NAME).send().await.unwrap();
    iam.delete_access_key().user_name(USER).access_key_id(access_key_id(&world).await).send().await.unwrap();
    iam.delete_user().user_name(USER).send().await.unwrap();

    let report = drift_json(&world, 2).await;
    for address in ["aws_iam_user.uploader", "aws_iam_user_policy.uploader", "aws_iam_access_key.uploader"] {
        assert_eq!(entry(&report, address, "deleted_outside")["severity"], "critical", "{address}");
    }
    reapply_and_expect_no_drift(&world).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_widened_policy_is_critical_and_a_reordered_one_is_no_drift() {
    let world = applied_world().await;
    // The same meaning: statement as an object, keys and resources reordered, action case.
    put_policy(
        &world,
        json!({
            "Statement": {"Resource": [format!("arn:aws:s3:::{BUCKET}/recordings/*"), format!("arn:aws:s3:::{BUCKET}/compositions/*")],
                          "Action": "S3:PutObject", "Effect": "Allow"},
            "Version": "2012-10-17"
        }),
    )
    .await;
    assert_exit(&drift(&world, &[]).await, 0);

    put_policy(
        &world,
        json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
                           "Resource": [format!("arn:aws:s3:::{BUCKET}/compositions/*"), format!("arn:aws:s3:::{BUCKET}/recordings/*")]}]
        }),
    )
    .await;
    let human = drift(&world, &[]).await;
    assert_exit(&human, 2);
    insta::with_settings!({filters => insta_filters()}, {
        insta::assert_snapshot!("widened_policy_human", human.stdout);
    });
    let report = drift_json(&world, 2).await;
    let changed = only_entry(&report, "aws_iam_user_policy.uploader", "changed_outside");
    assert_eq!(changed["severity"], "critical");
    attribute(changed, "document");
    let why = changed["why"].as_str().unwrap();
    assert!(
        why.contains("wider") && why.contains("`s3:GetObject` on `arn:aws:s3:::acme-video-dev/recordings/*`"),
        "{why}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deactivated_access_key_is_critical() {
    let world = applied_world().await;
    world
        .moto
        .iam_client()
        .update_access_key()
        .user_name(USER)
        .access_key_id(access_key_id(&world).await)
        .status(aws_sdk_iam::types::StatusType::Inactive)
        .send()
        .await
        .unwrap();

    let report = drift_json(&world, 2).await;
    let changed = only_entry(&report, "aws_iam_access_key.uploader", "changed_outside");
    assert_eq!(changed["severity"], "critical");
    assert_eq!(attribute(changed, "status")["actual"], "Inactive");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_access_key_is_critical_and_apply_rotates_it() {
    let world = applied_world().await;
    let iam = world.moto.iam_client();
    iam.delete_access_key().user_name(USER).access_key_id(access_key_id(&world).await).send().await.unwrap();

    // The credential that must follow the new key is a consequence, not a second finding.
    let report = drift_json(&world, 2).await;
    let deleted = only_entry(&report, "aws_iam_access_key.uploader", "deleted_outside");
    assert_eq!(deleted["severity"], "critical");
    reapply_and_expect_no_drift(&world).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_twilio_credential_is_critical() {
    let world = applied_world().await;
    let sid = world.twilio_aws_credentials().await.remove(0);
    let response =
        world.twilio_request(reqwest::Method::DELETE, &format!("/v1/Credentials/AWS/{sid}")).send().await.unwrap();
    assert_eq!(response.status(), 204);

    let report = drift_json(&world, 2).await;
    let deleted = only_entry(&report, "twilio_aws_credential.main", "deleted_outside");
    assert_eq!(deleted["severity"], "critical");
    assert!(deleted["why"].as_str().unwrap().contains("53613"), "{deleted:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn recording_storage_switched_off_is_critical() {
    let world = applied_world().await;
    let settings = world.twilio_get("/v1/RecordingSettings/Default").await;
    twilio_post_settings(
        &world,
        "/v1/RecordingSettings/Default",
        &[("FriendlyName", settings["friendly_name"].as_str().unwrap()), ("AwsStorageEnabled", "false")],
    )
    .await;

    let report = drift_json(&world, 2).await;
    let changed = entry(&report, "twilio_video_recording_settings.main", "changed_outside");
    assert_eq!(changed["severity"], "critical");
    assert_eq!(attribute(changed, "aws_storage_enabled")["actual"], json!(false));
    reapply_and_expect_no_drift(&world).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn composition_settings_pointed_elsewhere_are_critical() {
    let world = applied_world().await;
    // Another bucket Twilio can write to, so Twilio accepts the settings.
    let elsewhere = "acme-video-elsewhere";
    let location = aws_sdk_s3::types::CreateBucketConfiguration::builder()
        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(REGION))
        .build();
    world
        .moto
        .s3_client(REGION)
        .create_bucket()
        .bucket(elsewhere)
        .create_bucket_configuration(location)
        .send()
        .await
        .unwrap();
    let settings = world.twilio_get("/v1/CompositionSettings/Default").await;
    let url = format!("https://{elsewhere}.s3-{REGION}.amazonaws.com/compositions");
    twilio_post_settings(
        &world,
        "/v1/CompositionSettings/Default",
        &[
            ("FriendlyName", settings["friendly_name"].as_str().unwrap()),
            ("AwsCredentialsSid", settings["aws_credentials_sid"].as_str().unwrap()),
            ("AwsS3Url", &url),
            ("AwsStorageEnabled", "true"),
        ],
    )
    .await;

    let report = drift_json(&world, 2).await;
    let changed = only_entry(&report, "twilio_video_composition_settings.main", "changed_outside");
    assert_eq!(changed["severity"], "critical");
    assert_eq!(attribute(changed, "aws_s3_url")["actual"], json!(url));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spec_edit_not_yet_applied_is_reported_as_such() {
    let world = applied_world().await;
    world.rewrite_spec(&dev_spec().replace("versioning = true", "versioning = false"));

    let report = drift_json(&world, 2).await;
    let pending = only_entry(&report, "aws_s3_bucket.main", "not_applied");
    assert_eq!(attribute(pending, "versioning")["expected"], json!(false));
    assert_eq!(attribute(pending, "versioning")["actual"], json!(true));
    reapply_and_expect_no_drift(&world).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_ignore_rule_fails_before_anything_is_read() {
    let world = world().start().await;
    for rule in ["aws_s3_bucket", "aws_s3_bucket.main.tag", "bucket.main"] {
        let output = drift(&world, &["--ignore", rule]).await;
        assert_exit(&output, 1);
        assert!(output.stderr.contains(&format!("ignore rule `{rule}`")), "{}", output.stderr);
    }
    assert_eq!(world.aws.requests(), vec![]);
    assert_eq!(world.emulator.requests(), vec![]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hand_made_change_the_spec_adopts_is_recorded_by_apply_and_drift_goes_quiet() {
    let world = applied_world().await;
    let tags = aws_sdk_s3::types::Tagging::builder()
        .tag_set(aws_sdk_s3::types::Tag::builder().key("team").value("audio").build().unwrap())
        .tag_set(aws_sdk_s3::types::Tag::builder().key("env").value("dev").build().unwrap())
        .build()
        .unwrap();
    world.moto.s3_client(REGION).put_bucket_tagging().bucket(BUCKET).tagging(tags).send().await.unwrap();
    // The team agrees with the console change and edits the spec to match.
    world.rewrite_spec(&dev_spec().replace(r#"team = "video""#, r#"team = "audio""#));
    assert_exit(&world.stowage(&["plan", "dev.toml", "--detailed-exitcode"]).await, 0);

    world.aws.clear();
    let applied = world.stowage(&["apply", "dev.toml", "--auto-approve"]).await;
    assert_exit(&applied, 0);
    assert_eq!(world.aws.writes(), vec![], "nothing to change in AWS: only the state learns");
    assert!(applied.stderr.contains("recorded in the state"), "{}", applied.stderr);
    assert_exit(&drift(&world, &[]).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_only_plan_records_what_moved_and_calls_nothing() {
    let world = applied_world().await;
    let s3 = world.moto.s3_client(REGION);
    let tagging = aws_sdk_s3::types::Tagging::builder()
        .tag_set(aws_sdk_s3::types::Tag::builder().key("team").value("finance").build().unwrap())
        .build()
        .unwrap();
    s3.put_bucket_tagging().bucket(BUCKET).tagging(tagging).send().await.unwrap();

    // The refresh-only plan shows only the drift, no action, and says what applying it does.
    let plan = world.stowage(&["plan", "dev.toml", "--refresh-only", "--detailed-exitcode"]).await;
    assert_exit(&plan, 2);
    insta::with_settings!({filters => insta_filters()}, {
        insta::assert_snapshot!("refresh_only_plan", plan.stdout);
    });

    // Applied from a saved plan: the state takes reality, and nothing is called that writes.
    assert_exit(&world.stowage(&["plan", "dev.toml", "--refresh-only", "--out", "refresh.plan"]).await, 0);
    world.aws.clear();
    let twilio_writes = world.twilio_writes_since(0).len();
    let applied = world.stowage(&["apply", "refresh.plan"]).await;
    assert_exit(&applied, 0);
    assert!(applied.stdout.contains("Recorded 1 change(s)"), "{}", applied.stdout);
    assert_eq!(world.aws.writes(), vec![], "a refresh-only apply writes nothing to AWS");
    assert_eq!(world.twilio_writes_since(0).len(), twilio_writes, "nor to Twilio");

    // Nothing moved since the state was told: only the spec's wish is left to apply.
    let again = world.stowage(&["plan", "dev.toml", "--refresh-only", "--detailed-exitcode"]).await;
    assert_exit(&again, 0);
    let plan = world.stowage(&["plan", "dev.toml"]).await;
    assert!(!plan.stdout.contains("changed outside of stowage"), "{}", plan.stdout);
    assert!(plan.stdout.contains("aws_s3_bucket.main will be updated"), "{}", plan.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_key_age_and_next_rotation_are_one_line_and_only_a_due_rotation_is_drift() {
    let world = world().spec(&dev_spec_rotating_after(90)).clocked_moto().start().await;
    let behind = DAY * 85 + std::time::Duration::from_secs(60);
    world
        .moto
        .with_clock_behind(behind, async || {
            assert_exit(&world.stowage(&["apply", "dev.toml", "--auto-approve"]).await, 0)
        })
        .await;
    let due = day_key_is(&world, 90).await;

    // 85 days old, rotated after 90: told, but in sync.
    let human = drift(&world, &[]).await;
    assert_exit(&human, 0);
    assert!(
        human.stdout.contains(&format!("is 85 days old; next rotation on {due} (every 90 days).")),
        "{}",
        human.stdout
    );
    let mut filters = insta_filters();
    filters.push((r"\b\d{4}-\d{2}-\d{2}\b", "[DATE]"));
    insta::with_settings!({filters => filters.clone()}, {
        insta::assert_snapshot!("key_age_in_sync_human", human.stdout);
    });
    let report = drift_json(&world, 0).await;
    assert_eq!(report["summary"]["in_sync"], json!(true));
    assert_eq!((&report["key_age_days"], &report["rotation_due"]), (&json!(85), &json!(due)));

    // Rotated after 80 days: overdue. That is drift because the plan replaces the key (not
    // yet applied), and only that: the credential that follows it is its consequence.
    world.rewrite_spec(&dev_spec_rotating_after(80));
    let human = drift(&world, &[]).await;
    assert_exit(&human, 2);
    insta::with_settings!({filters => filters}, {
        insta::assert_snapshot!("key_rotation_overdue_human", human.stdout);
    });
    let report = drift_json(&world, 2).await;
    let pending = only_entry(&report, "aws_iam_access_key.uploader", "not_applied");
    assert_eq!(pending["why"], "it is 85 days old; the spec rotates it after 80.");
    assert_eq!((&report["key_age_days"], &report["rotation_due"]), (&json!(85), &json!(day_key_is(&world, 80).await)));

    // No period: the age is told, nothing is due, nothing drifted.
    world.rewrite_spec(&dev_spec());
    let report = drift_json(&world, 0).await;
    assert_eq!((&report["key_age_days"], &report["rotation_due"]), (&json!(85), &Value::Null));
}

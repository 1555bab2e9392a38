//! SSE-KMS end to end: the `stowage` binary against moto (through the recording proxy) and the
//! Twilio emulator. What exists is checked through the AWS SDK, never through stowage's state.

mod common;

use std::path::Path;

use aws_sdk_kms::types::KeyState;
use common::world;
use serde_json::{Value, json};
use stowage_test_support::dev::{BUCKET, POLICY_NAME, REGION, USER};
use stowage_test_support::{World, assert_exit, dev_spec, example_spec, insta_filters};

const PROD_BUCKET: &str = "acme-video-prod";
const PROD_USER: &str = "twilio-video-uploader-prod";

/// The dev example with a bucket encryption line.
fn dev_with_encryption(kms_key: &str) -> String {
    dev_spec().replace(
        "block_public_access = true\n",
        &format!("block_public_access = true\nencryption = {{ kms_key = \"{kms_key}\" }}\n"),
    )
}

/// The bucket's default encryption rule: (algorithm, key, bucket key enabled).
async fn bucket_encryption(world: &World, bucket: &str) -> Option<(String, Option<String>, Option<bool>)> {
    let s3 = world.moto.s3_client(REGION);
    let output = s3.get_bucket_encryption().bucket(bucket).send().await.ok()?;
    let rule = output.server_side_encryption_configuration()?.rules().first()?.clone();
    let default = rule.apply_server_side_encryption_by_default()?;
    Some((
        default.sse_algorithm().as_str().to_owned(),
        default.kms_master_key_id().map(str::to_owned),
        rule.bucket_key_enabled(),
    ))
}

async fn uploader_policy(world: &World, user: &str) -> Value {
    let iam = world.moto.iam_client();
    let policy = iam.get_user_policy().user_name(user).policy_name(POLICY_NAME).send().await.unwrap();
    stowage_provider::policy::parse(policy.policy_document()).unwrap()
}

/// The KMS statements of a policy: (actions, resources) of each statement naming a kms action.
fn kms_statements(policy: &Value) -> Vec<(Vec<String>, Vec<String>)> {
    let list = |value: &Value| -> Vec<String> {
        match value {
            Value::Array(items) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            Value::String(text) => vec![text.clone()],
            _ => vec![],
        }
    };
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|statement| list(&statement["Action"]).iter().any(|action| action.starts_with("kms:")))
        .map(|statement| {
            let mut actions = list(&statement["Action"]);
            actions.sort();
            (actions, list(&statement["Resource"]))
        })
        .collect()
}

fn uploader_kms_actions() -> Vec<String> {
    ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
        .map(str::to_owned)
        .to_vec()
}

#[tokio::test(flavor = "multi_thread")]
async fn prod_creates_a_rotated_key_the_bucket_encrypts_with_and_only_the_uploader_uses() {
    let world = world().spec(&example_spec("prod.toml")).start().await;
    let applied = world.stowage(&["apply", "dev.toml", "--auto-approve"]).await;
    assert_exit(&applied, 0);

    // The key: by its alias, enabled, rotated, described.
    let kms = world.moto.kms_client(REGION);
    let key = kms.describe_key().key_id("alias/stowage-prod").send().await.unwrap();
    let key = key.key_metadata().unwrap();
    let key_arn = key.arn().unwrap().to_owned();
    assert_eq!(key.key_state(), Some(&KeyState::Enabled));
    assert!(key.description().unwrap().contains(PROD_BUCKET), "{:?}", key.description());
    let rotation = kms.get_key_rotation_status().key_id(key.key_id()).send().await.unwrap();
    assert!(rotation.key_rotation_enabled());

    // Its policy keeps the account in control and lets the uploader use the key.
    let policy = kms.get_key_policy().key_id(key.key_id()).policy_name("default").send().await.unwrap();
    let policy: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let user = world.moto.iam_client().get_user().user_name(PROD_USER).send().await.unwrap();
    let user_arn = user.user().unwrap().arn().to_owned();
    let account = user_arn.split(':').nth(4).unwrap();
    let expected = json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{account}:root")}, "Action": "kms:*", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": uploader_kms_actions(), "Resource": "*"},
        ]
    });
    assert!(stowage_provider::policy::same_meaning(&policy, &expected), "key policy is {policy:#}");

    // The bucket encrypts with that key, with S3 Bucket Keys.
    assert_eq!(
        bucket_encryption(&world, PROD_BUCKET).await,
        Some(("aws:kms".to_owned(), Some(key_arn.clone()), Some(true)))
    );

    // The uploader's policy: PutObject under the prefix, and the key for that key only.
    let document = uploader_policy(&world, PROD_USER).await;
    assert_eq!(kms_statements(&document), vec![(uploader_kms_actions(), vec![key_arn.clone()])], "{document:#}");

    // The write test checked the object landed encrypted with the key.
    let requests: Vec<String> = world.aws.requests().iter().map(ToString::to_string).collect();
    let put = requests.iter().position(|request| request == "s3 PutObject write 200").expect("the write test ran");
    assert_eq!(requests.get(put + 1).map(String::as_str), Some("s3 HeadObject read 200"), "{requests:#?}");

    // And a second plan is clean.
    let plan = world.stowage(&["plan", "dev.toml", "--detailed-exitcode"]).await;
    assert_exit(&plan, 0);

    // verify judges the encryption and the uploader's use of the key: all pass.
    let verify = world.stowage(&["verify", "dev.toml"]).await;
    assert_exit(&verify, 0);
    for check in ["bucket_encryption", "uploader_policy.kms"] {
        let line = verify.stdout.lines().find(|line| line.contains(check)).map(str::to_owned);
        assert!(line.as_deref().is_some_and(|line| line.starts_with('✓')), "{check}: {}", verify.stdout);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn turning_encryption_on_creates_the_key_then_points_the_bucket_then_the_policy_at_it() {
    let world = world().start().await;
    assert_exit(&world.stowage(&["apply", "dev.toml", "--auto-approve"]).await, 0);

    world.rewrite_spec(&dev_with_encryption("create"));
    let plan = world.stowage(&["plan", "dev.toml", "--detailed-exitcode"]).await;
    assert_exit(&plan, 2);
    let plan_json = world.stowage(&["plan", "dev.toml", "--format", "json"]).await;
    assert_exit(&plan_json, 0);
    let plan_json: Value = serde_json::from_str(&plan_json.stdout).unwrap();
    let actions: Vec<(String, Vec<String>)> = plan_json["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|change| change["change"]["actions"] != json!(["no-op"]))
        .map(|change| {
            let actions = change["change"]["actions"].as_array().unwrap();
            (
                change["address"].as_str().unwrap().to_owned(),
                actions.iter().map(|a| a.as_str().unwrap().to_owned()).collect(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            ("aws_kms_key.main".to_owned(), vec!["create".to_owned()]),
            ("aws_s3_bucket.main".to_owned(), vec!["update".to_owned()]),
            ("aws_iam_user_policy.uploader".to_owned(), vec!["update".to_owned()]),
        ],
        "{}",
        plan.stdout
    );
    insta::with_settings!({filters => insta_filters()}, {
        insta::assert_snapshot!("encryption_on_plan", plan.stdout);
    });

    world.aws.clear();
    assert_exit(&world.stowage(&["apply", "dev.toml", "--auto-approve"]).await, 0);
    let writes: Vec<String> = world.aws.writes().iter().map(|request| request.operation.clone()).collect();
    let at = |operation: &str| {
        writes.iter().position(|write| write == operation).unwrap_or_else(|| panic!("no {operation} in {writes:?}"))
    };
    assert!(at("CreateKey") < at("PutBucketEncryption"), "{writes:?}");
    assert!(at("PutBucketEncryption") < at("PutUserPolicy"), "{writes:?}");
    assert!(!writes.iter().any(|write| write == "CreateAccessKey"), "the key Twilio holds stays: {writes:?}");
    assert_exit(&world.stowage(&["plan", "dev.toml", "--detailed-exitcode"]).await, 0);

    // Drift away from SSE-KMS is seen, and named.
    // Someone switches the bucket to SSE-S3, which Twilio does not support.
    let s3 = world.moto.s3_client(REGION);
    let sse_s3 = aws_sdk_s3::types::ServerSideEncryptionConfiguration::builder()
        .rules(
            aws_sdk_s3::types::ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(
                    aws_sdk_s3::types::ServerSideEncryptionByDefault::builder()
                        .sse_algorithm(aws_sdk_s3::types::ServerSideEncryption::Aes256)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .build()
        .unwrap();
    s3.put_bucket_encryption().bucket(BUCKET).server_side_encryption_configuration(sse_s3).send().await.unwrap();
    let drift = world.stowage(&["drift", "dev.toml"]).await;
    assert_exit(&drift, 2);
    insta::with_settings!({filters => insta_filters()}, {
        insta::assert_snapshot!("encryption_changed_drift", drift.stdout);
    });
    // apply puts SSE-KMS back, and drift is quiet again.
    assert_exit(&world.stowage(&["apply", "dev.toml", "--auto-approve"]).await, 0);
    assert_eq!(bucket_encryption(&world, BUCKET).await.map(|found| found.0), Some("aws:kms".to_owned()));
    assert_exit(&world.stowage(&["drift", "dev.toml"]).await, 0);

    // Turning it off again: the bucket and the policy stop using the key first; the key is
    // only scheduled for deletion, 30 days out, and the plan and apply say so.
    world.rewrite_spec(&dev_spec());
    let plan = world.stowage(&["plan", "dev.toml"]).await;
    assert_exit(&plan, 0);
    assert!(plan.stdout.contains("30 days"), "{}", plan.stdout);
    let key_id = {
        let kms = world.moto.kms_client(REGION);
        let key = kms.describe_key().key_id("alias/stowage-dev").send().await.unwrap();
        key.key_metadata().unwrap().key_id().to_owned()
    };
    world.aws.clear();
    let applied = world.stowage(&["apply", "dev.toml", "--auto-approve"]).await;
    assert_exit(&applied, 0);
    assert!(applied.stderr.contains("scheduled for deletion"), "{}", applied.stderr);
    let writes: Vec<String> = world.aws.writes().iter().map(|request| request.operation.clone()).collect();
    let at = |operation: &str| {
        writes.iter().position(|write| write == operation).unwrap_or_else(|| panic!("no {operation} in {writes:?}"))
    };
    assert!(at("PutUserPolicy") < at("ScheduleKeyDeletion"), "{writes:?}");
    let kms = world.moto.kms_client(REGION);
    let key = kms.describe_key().key_id(&key_id).send().await.unwrap();
    let key = key.key_metadata().unwrap();
    assert_eq!(key.key_state(), Some(&KeyState::PendingDeletion));
    let days = (key.deletion_date().unwrap().secs() - key.creation_date().unwrap().secs()) / 86_400;
    assert!((29..=30).contains(&days), "deletion in {days} days");
    assert!(kms.describe_key().key_id("alias/stowage-dev").send().await.is_err(), "the alias is gone");
    assert!(kms_statements(&uploader_policy(&world, USER).await).is_empty());
    assert_exit(&world.stowage(&["plan", "dev.toml", "--detailed-exitcode"]).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_existing_key_is_used_not_managed_and_must_be_usable() {
    let world = world().start().await;
    let kms = world.moto.kms_client(REGION);
    let key = kms.create_key().description("the customer's own key").send().await.unwrap();
    let key_arn = key.key_metadata().unwrap().arn().unwrap().to_owned();

    world.rewrite_spec(&dev_with_encryption(&key_arn));
    assert_exit(&world.stowage(&["apply", "dev.toml", "--auto-approve"]).await, 0);
    assert_eq!(
        bucket_encryption(&world, BUCKET).await,
        Some(("aws:kms".to_owned(), Some(key_arn.clone()), Some(true)))
    );
    let document = uploader_policy(&world, USER).await;
    assert_eq!(kms_statements(&document), vec![(uploader_kms_actions(), vec![key_arn.clone()])]);
    let keys = kms.list_keys().send().await.unwrap();
    assert_eq!(keys.keys().len(), 1, "stowage made no key of its own");
    assert_exit(&world.stowage(&["plan", "dev.toml", "--detailed-exitcode"]).await, 0);

    // A disabled key fails the plan, before any write, naming the key and why.
    let key_id = key_arn.rsplit('/').next().unwrap();
    // moto answers DisableKey by ARN with a 500: by id it works.
    kms.disable_key().key_id(key_id).send().await.unwrap();
    world.aws.clear();
    let plan = world.stowage(&["plan", "dev.toml"]).await;
    assert_exit(&plan, 1);
    assert!(plan.stderr.contains(&key_arn) && plan.stderr.contains("Disabled"), "{}", plan.stderr);
    assert_eq!(world.aws.writes(), vec![]);

    // So does a key that does not exist.
    let missing = key_arn.replace(key_arn.rsplit('/').next().unwrap(), "00000000-0000-4000-8000-000000000000");
    world.rewrite_spec(&dev_with_encryption(&missing));
    let plan = world.stowage(&["plan", "dev.toml"]).await;
    assert_exit(&plan, 1);
    assert!(plan.stderr.contains("does not exist"), "{}", plan.stderr);
    assert_eq!(world.aws.writes(), vec![]);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_key_arns_are_refused_before_any_request() {
    let world = world().start().await;
    for (kms_key, expected) in [
        ("arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", "is in `eu-west-1`"),
        ("arn:aws:kms:us-east-2:123456789012:alias/video", "is an alias ARN, a key ARN is needed"),
        ("kms-key-please", "neither `create` nor a KMS key ARN"),
    ] {
        world.rewrite_spec(&dev_with_encryption(kms_key));
        world.aws.clear();
        let plan = world.stowage(&["plan", "dev.toml"]).await;
        assert_exit(&plan, 1);
        assert!(plan.stderr.contains(expected), "{kms_key}: {}", plan.stderr);
        assert!(plan.stderr.contains("dev.toml:"), "names the place in the spec: {}", plan.stderr);
        assert_eq!(world.aws.requests(), vec![], "{kms_key}: no request at all");
    }
}

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    std::fs::read_to_string(path).expect("fixture is readable")
}

#[tokio::test(flavor = "multi_thread")]
async fn client_side_encryption_keys_go_to_twilio_and_a_new_pem_repoints_settings_before_the_old_key_goes() {
    let spec = dev_spec().replace(
        "[recordings]\nstore_in_s3 = true\n",
        "[recordings]\nstore_in_s3 = true\nencryption_public_key = \"keys/recordings.pem\"\n",
    );
    let world = world().spec(&spec).start().await;
    let keys = world.sandbox.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    std::fs::write(keys.join("recordings.pem"), fixture("recordings-2025.pem")).unwrap();
    assert_exit(&world.stowage(&["apply", "dev.toml", "--auto-approve"]).await, 0);

    let public_keys = world.twilio_get("/v1/Credentials/PublicKeys").await;
    let public_keys = public_keys["credentials"].as_array().unwrap().clone();
    assert_eq!(public_keys.len(), 1, "{public_keys:#?}");
    let first_sid = public_keys[0]["sid"].as_str().unwrap().to_owned();
    let settings = world.twilio_get("/v1/RecordingSettings/Default").await;
    assert_eq!(settings["encryption_enabled"], json!(true));
    assert_eq!(settings["encryption_key_sid"], json!(first_sid));
    let compositions = world.twilio_get("/v1/CompositionSettings/Default").await;
    assert_eq!(compositions["encryption_enabled"], json!(false), "only recordings asked for it");
    assert_exit(&world.stowage(&["plan", "dev.toml", "--detailed-exitcode"]).await, 0);

    // A new PEM: a new Twilio key, the settings moved to it, then the old key deleted.
    std::fs::write(keys.join("recordings.pem"), fixture("recordings-2026.pem")).unwrap();
    let plan = world.stowage(&["plan", "dev.toml"]).await;
    assert_exit(&plan, 0);
    assert!(plan.stdout.contains("twilio_public_key.recordings must be replaced"), "{}", plan.stdout);
    let before = world.twilio_log_mark();
    assert_exit(&world.stowage(&["apply", "dev.toml", "--auto-approve"]).await, 0);
    let writes: Vec<String> = world
        .twilio_requests_since(before)
        .iter()
        .filter(|request| request.method != "GET")
        .map(|request| format!("{} {}", request.method, request.path))
        .collect();
    assert_eq!(
        writes,
        vec![
            "POST /v1/Credentials/PublicKeys".to_owned(),
            "POST /v1/RecordingSettings/Default".to_owned(),
            format!("DELETE /v1/Credentials/PublicKeys/{first_sid}"),
        ]
    );
    let settings = world.twilio_get("/v1/RecordingSettings/Default").await;
    assert_ne!(settings["encryption_key_sid"], json!(first_sid));
    assert_exit(&world.stowage(&["plan", "dev.toml", "--detailed-exitcode"]).await, 0);
}

//! An environment made by hand from Twilio's guide "Storing into AWS S3"
//! (`stowage_test_support::follow_the_guide`), both variants: the guide's first policy
//! template, and its SSE-KMS template with a key the person made. What the person made is
//! checked through the AWS SDK and the emulator's API; then `stowage plan dev.toml`, which
//! today knows nothing of it, refuses the bucket it did not make.

mod common;

use std::time::Duration;

use common::world;
use serde_json::Value;
use stowage_test_support::dev::{BUCKET, REGION, USER};
use stowage_test_support::{GuideVariant, HandMade, World, follow_the_guide, insta_filters, within};

const RECORDING_SETTINGS_PATH: &str = "/v1/RecordingSettings/Default";
const COMPOSITION_SETTINGS_PATH: &str = "/v1/CompositionSettings/Default";
/// A whole test, once moto is up.
const TEST_TIMEOUT: Duration = Duration::from_secs(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_environment_made_from_the_guide_is_refused_by_plan() {
    within(TEST_TIMEOUT, by_hand_then_plan(GuideVariant::PolicyTemplate, "plan_after_the_guide")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_environment_made_from_the_guide_with_sse_kms_is_refused_by_plan() {
    within(TEST_TIMEOUT, by_hand_then_plan(GuideVariant::SseKms, "plan_after_the_guide_with_sse_kms")).await;
}

/// Follows the guide in a fresh world, checks what it made, and snapshots the plan, which
/// refuses it, as `snapshot`.
async fn by_hand_then_plan(variant: GuideVariant, snapshot: &str) {
    let world = world().plain_output().start().await;
    let made = follow_the_guide(&world, variant).await;
    assert!(world.aws.requests().is_empty(), "the person's AWS calls went through stowage's proxy");

    assert_iam_has_what_the_person_made(&world, &made).await;
    assert_the_bucket_has_what_the_person_made(&world, &made).await;
    assert_twilio_stores_in_the_bucket(&world, &made).await;

    let plan = world.stowage(&["plan", "dev.toml"]).await;
    assert_eq!(plan.code, Some(1), "the plan took what the person made:\n{plan}");
    let refusal = format!(
        "error: aws_s3_bucket.main: bucket `{BUCKET}` already exists but is not recorded in this environment's state"
    );
    assert!(plan.stdout.contains(&refusal), "the plan did not refuse the person's bucket:\n{plan}");
    // What stowage read of Twilio's settings is the person's credential.
    let read_back = format!("aws_credentials_sid = \"{}\"", made.credential_sid);
    assert_eq!(plan.stdout.matches(&read_back).count(), 2, "both settings, as the plan read them:\n{plan}");
    assert_eq!(plan.diagnostics(), "", "the plan said more on stderr:\n{plan}");
    let mut scan = stowage_test_support::SecretScan::new(&[]);
    scan.secret("the person's secret access key", made.secret_access_key.expose());
    let leaks = scan.leaks_in("the plan's output", &format!("{}{}", plan.stdout, plan.stderr));
    assert!(leaks.is_empty(), "{leaks:?}");
    assert!(!world.state_path().exists(), "the refused plan wrote a state");
    insta::with_settings!({ filters => insta_filters() }, {
        insta::assert_snapshot!(snapshot, plan.stdout);
    });
}

/// The user on the spec's path, with the filled-in template attached as a managed policy (its
/// `Deny NotAction "*"` kept) and the one access key the person made.
async fn assert_iam_has_what_the_person_made(world: &World, made: &HandMade) {
    let iam = world.moto.iam_client();
    let user = iam.get_user().user_name(USER).send().await.expect("moto has the person's user");
    let user = user.user().expect("a user");
    assert_eq!((user.path(), user.arn()), ("/twilio/", made.user_arn.as_str()));

    let attached = iam.list_attached_user_policies().user_name(USER).send().await.expect("moto lists them");
    let attached: Vec<&str> = attached.attached_policies().iter().filter_map(|policy| policy.policy_arn()).collect();
    assert_eq!(attached, [made.policy_arn.as_str()], "the user has the template's policy attached, and no other");
    let inline = iam.list_user_policies().user_name(USER).send().await.expect("moto lists them");
    assert!(inline.policy_names().is_empty(), "the person made no inline policy: {:?}", inline.policy_names());

    let policy = iam.get_policy().policy_arn(&made.policy_arn).send().await.expect("moto has the policy");
    let version = policy.policy().and_then(|policy| policy.default_version_id()).expect("a default version");
    let version = iam.get_policy_version().policy_arn(&made.policy_arn).version_id(version).send().await;
    let version = version.expect("moto has the policy's version");
    let document = version.policy_version().and_then(|version| version.document()).expect("a document");
    let document = stowage_provider::policy::parse(document).expect("IAM's document is a policy");
    assert_eq!(document, made.policy_document, "IAM holds another document than the person wrote");
    assert_eq!(document["Statement"][0]["NotAction"], "*", "the template's deny statement is gone");
    let kms_statement = document["Statement"].as_array().and_then(|statements| statements.get(2));
    match &made.kms_key {
        Some(key) => {
            assert_eq!(kms_statement.map(|statement| &statement["Resource"][0]), Some(&Value::from(&*key.arn)))
        }
        None => assert!(kms_statement.is_none(), "the first template has no KMS statement"),
    }

    assert_eq!(world.moto.access_key_ids(USER).await, std::slice::from_ref(&made.access_key_id));
    assert_eq!(format!("{:?}", made.secret_access_key), "HandMadeSecret([redacted])");
}

/// The bucket in the spec's region, encrypted with the person's key in the SSE-KMS variant,
/// and holding the test files Twilio wrote when storage was switched on ("a small .txt test
/// file will appear into your bucket"), which proves the credential writes there.
async fn assert_the_bucket_has_what_the_person_made(world: &World, made: &HandMade) {
    let s3 = world.moto.s3_client(REGION);
    let location = s3.get_bucket_location().bucket(BUCKET).send().await.expect("moto has the person's bucket");
    assert_eq!(location.location_constraint().map(|constraint| constraint.as_str()), Some(REGION));

    let encryption = s3.get_bucket_encryption().bucket(BUCKET).send().await;
    let rule = encryption.ok().and_then(|encryption| {
        encryption
            .server_side_encryption_configuration()
            .and_then(|configuration| configuration.rules().first().cloned())
    });
    let default = rule.as_ref().and_then(|rule| rule.apply_server_side_encryption_by_default());
    let key = default.and_then(|default| default.kms_master_key_id());
    assert_eq!(key, made.kms_key.as_ref().map(|key| key.arn.as_str()), "the bucket's default encryption");

    let listed = s3.list_objects_v2().bucket(BUCKET).send().await.expect("moto lists the bucket");
    let mut keys: Vec<&str> = listed.contents().iter().filter_map(|object| object.key()).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["compositions/twilio-storage-test-compositions.txt", "recordings/twilio-storage-test-recordings.txt"],
        "Twilio's write test files"
    );
    if let Some(key) = &made.kms_key {
        let head = s3.head_object().bucket(BUCKET).key(keys[1]).send().await.expect("moto has the test file");
        let used = head.ssekms_key_id().unwrap_or_default();
        assert!(used == key.arn || used == key.id, "the test file is encrypted with {used:?}, not {key:?}");
    }
}

/// Twilio holds the one credential the person made, and both settings store in the bucket
/// with it, at the guide's URL and the spec's prefixes.
async fn assert_twilio_stores_in_the_bucket(world: &World, made: &HandMade) {
    assert_eq!(world.twilio_aws_credentials().await, std::slice::from_ref(&made.credential_sid));
    assert!(made.credential_sid.starts_with("CR"), "a credential SID: {}", made.credential_sid);
    for (path, url) in
        [(RECORDING_SETTINGS_PATH, &made.recordings_url), (COMPOSITION_SETTINGS_PATH, &made.compositions_url)]
    {
        let settings = world.twilio_get(path).await;
        assert_eq!(settings["aws_credentials_sid"], made.credential_sid.as_str(), "{path}: {settings}");
        assert_eq!(settings["aws_s3_url"], url.as_str(), "{path}: {settings}");
        assert_eq!(settings["aws_storage_enabled"], true, "{path}: {settings}");
    }
    assert_eq!(made.recordings_url, "https://acme-video-dev.s3-us-east-2.amazonaws.com/recordings");
    assert_eq!(made.compositions_url, "https://acme-video-dev.s3-us-east-2.amazonaws.com/compositions");
}

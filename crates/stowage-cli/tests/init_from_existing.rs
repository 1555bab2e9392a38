//! `stowage init --from-existing` on a setup made by hand from Twilio's guide
//! (`stowage_test_support::follow_the_guide`): the spec it writes (snapshot) is one that
//! `stowage import` adopts and whose first plan changes only what stowage insists on (its
//! inline policy for the guide's managed one, a fresh access key and Twilio credential, the
//! settings repointed, its own tags on the user, ACLs off on the bucket). Init reads only: the
//! proxies' journals show no write, and no state file appears. Variants: no IAM user may write
//! there, and two may.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::world;
use serde_json::Value;
use stowage_test_support::dev::{BUCKET, USER};
use stowage_test_support::{GuideVariant, Run, World, follow_the_guide, insta_filters, within};

const SPEC: &str = "new.toml";
/// A whole test, once moto is up.
const TEST_TIMEOUT: Duration = Duration::from_secs(300);

/// Runs `stowage init --from-existing new.toml --name dev` and checks it read only: no write
/// to AWS or Twilio, every AWS call a read, every Twilio request a `GET`, and nothing in the
/// sandbox but the new spec.
async fn init_reading_only(world: &World) -> Run {
    let aws_mark = world.aws.requests().len();
    let twilio_mark = world.twilio_log_mark();
    let before: BTreeSet<_> = world.sandbox.entries().into_keys().collect();
    let init = world.stowage(&["init", "--from-existing", SPEC, "--name", "dev"]).await;
    assert_eq!(init.code, Some(0), "init --from-existing failed\n{init}");
    world.settled().await;
    let aws = world.aws.requests()[aws_mark..].to_vec();
    assert!(!aws.is_empty(), "init read nothing of AWS\n{init}");
    let reads = ["Get", "List", "Head", "Describe"];
    for request in &aws {
        assert!(!request.is_write, "init wrote to AWS: {request}\n{init}");
        assert!(
            reads.iter().any(|read| request.operation.starts_with(read)),
            "init made a call that is not a read: {request}\n{init}"
        );
    }
    let twilio = world.twilio_requests_since(twilio_mark);
    assert!(!twilio.is_empty(), "init read nothing of Twilio\n{init}");
    for request in &twilio {
        assert_eq!(request.method, "GET", "init sent Twilio a {} {}\n{init}", request.method, request.path);
    }
    assert!(world.twilio_writes_since(twilio_mark).is_empty(), "init wrote to Twilio\n{init}");
    let after: BTreeSet<_> = world.sandbox.entries().into_keys().collect();
    let added: Vec<_> = after.difference(&before).map(|path| path.display().to_string()).collect();
    assert_eq!(added, [SPEC], "init left more than the spec (a state?)\n{init}");
    assert!(before.is_subset(&after), "init removed a file\n{init}");
    init
}

fn written(world: &World) -> String {
    std::fs::read_to_string(world.sandbox.path().join(SPEC)).expect("init wrote the spec")
}

fn validate(world: &World) -> impl std::future::Future<Output = Run> + '_ {
    world.stowage(&["validate", SPEC]).into_future()
}

/// What a JSON plan does to each address: its actions and, for an update, the attributes that
/// change.
fn changes(plan: &Value) -> BTreeMap<String, (Vec<String>, BTreeSet<String>)> {
    let entries = plan["resource_changes"].as_array().expect("the plan lists its resource changes");
    entries
        .iter()
        .map(|entry| {
            let address = entry["address"].as_str().expect("an address").to_owned();
            let change = &entry["change"];
            let actions: Vec<String> = change["actions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            let mut attributes = BTreeSet::new();
            if actions == ["update"] {
                let (before, after) = (&change["before"], &change["after"]);
                let names = before.as_object().into_iter().chain(after.as_object()).flat_map(|object| object.keys());
                attributes.extend(names.filter(|name| before[name.as_str()] != after[name.as_str()]).cloned());
                let unknown = change["after_unknown"].as_object().into_iter().flatten();
                attributes
                    .extend(unknown.filter(|(_, value)| **value == Value::Bool(true)).map(|(name, _)| name.clone()));
            }
            (address, (actions, attributes))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_guide_init_import_and_plan_change_only_what_stowage_insists_on() {
    within(TEST_TIMEOUT, init_import_plan(GuideVariant::PolicyTemplate, "guide")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_guide_with_sse_kms_the_key_is_named_by_its_arn_and_kept() {
    within(TEST_TIMEOUT, init_import_plan(GuideVariant::SseKms, "guide_sse_kms")).await;
}

/// Follows the guide, runs init (snapshots as `snapshot_*`), then import and a JSON plan whose
/// only changes are the ones stowage insists on.
async fn init_import_plan(variant: GuideVariant, snapshot: &str) {
    let world = world().plain_output().start().await;
    let made = follow_the_guide(&world, variant).await;

    let init = init_reading_only(&world).await;
    let spec = written(&world);
    assert_eq!(init.diagnostics(), "", "init found something to say of the guide's setup\n{init}");
    assert!(spec.contains(&format!("\nuser_name = \"{}\"\n", made.user_name)), "{spec}");
    match &made.kms_key {
        Some(key) => assert!(spec.contains(&format!("\nencryption = {{ kms_key = \"{}\" }}\n", key.arn)), "{spec}"),
        None => assert!(spec.contains("\n# encryption = { kms_key = \"create\" }\n"), "{spec}"),
    }
    insta::with_settings!({ filters => insta_filters() }, {
        insta::assert_snapshot!(format!("{snapshot}_spec"), spec);
        insta::assert_snapshot!(format!("{snapshot}_stdout"), init.stdout);
    });
    let validated = validate(&world).await;
    assert_eq!(validated.code, Some(0), "the spec init wrote does not validate\n{validated}");

    let import = world.stowage(&["import", SPEC, "--auto-approve"]).await;
    assert_eq!(import.code, Some(0), "the import of what init described failed\n{import}");
    assert!(!import.stdout.contains("Not found"), "the import did not find everything\n{import}");
    let plan = world.stowage(&["plan", SPEC, "--format", "json"]).await;
    assert_eq!(plan.code, Some(0), "the plan after the import\n{plan}");
    let plan: Value = serde_json::from_str(&plan.stdout).unwrap_or_else(|error| panic!("{error}\n{plan}"));
    assert_eq!(plan["errored"], false, "{plan:#}");

    let attachment = "aws_iam_user_policy_attachment.stowage-twilio-video-upload";
    let only = |attribute: &str| BTreeSet::from([attribute.to_owned()]);
    let expected: BTreeMap<&str, (Vec<&str>, BTreeSet<String>)> = BTreeMap::from([
        // Object ACLs off: stowage sets `BucketOwnerEnforced` on every bucket it manages.
        ("aws_s3_bucket.main", (vec!["update"], only("object_ownership"))),
        // stowage's own tags on the user it manages.
        ("aws_iam_user.uploader", (vec!["update"], only("tags"))),
        ("aws_iam_user_policy.uploader", (vec!["create"], BTreeSet::new())),
        (attachment, (vec!["delete"], BTreeSet::new())),
        ("aws_iam_access_key.uploader", (vec!["create", "delete"], BTreeSet::new())),
        ("twilio_aws_credential.main", (vec!["create", "delete"], BTreeSet::new())),
        ("twilio_video_recording_settings.main", (vec!["update"], only("aws_credentials_sid"))),
        ("twilio_video_composition_settings.main", (vec!["update"], only("aws_credentials_sid"))),
    ]);
    let found = changes(&plan);
    for (address, (actions, attributes)) in &found {
        match expected.get(address.as_str()) {
            Some((want_actions, want_attributes)) => {
                assert_eq!(actions, want_actions, "{address}: {plan:#}");
                assert_eq!(attributes, want_attributes, "{address}: {plan:#}");
            }
            None => {
                assert_eq!(actions, &["no-op"], "{address} changes, and stowage does not insist on it: {plan:#}")
            }
        }
    }
    for address in expected.keys() {
        assert!(found.contains_key(*address), "the plan has no {address}: {plan:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_user_may_write_there_and_the_spec_names_stowages_own() {
    within(TEST_TIMEOUT, async {
        let world = world().plain_output().start().await;
        let made = follow_the_guide(&world, GuideVariant::PolicyTemplate).await;
        // The guide's policy detached: no user may write in the bucket.
        let iam = world.moto.iam_client();
        iam.detach_user_policy().user_name(USER).policy_arn(&made.policy_arn).send().await.expect("moto detaches it");

        let init = init_reading_only(&world).await;
        let spec = written(&world);
        assert!(init.diagnostics().contains("could not determine the uploader: none of the"), "{init}");
        assert!(spec.contains("No IAM user found may write where Twilio stores"), "{spec}");
        assert!(spec.contains("user_name = \"twilio-video-uploader-dev\""), "{spec}");
        let validated = validate(&world).await;
        assert_eq!(validated.code, Some(0), "the spec init wrote does not validate\n{validated}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_users_may_write_there_and_both_are_listed() {
    within(TEST_TIMEOUT, async {
        let world = world().plain_output().start().await;
        follow_the_guide(&world, GuideVariant::PolicyTemplate).await;
        // Someone else's user, on another path, allowed the whole bucket by an inline policy,
        // without an access key.
        let iam = world.moto.iam_client();
        iam.create_user().user_name("backup-writer").path("/ops/").send().await.expect("moto makes the user");
        let document = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": format!("arn:aws:s3:::{BUCKET}/*")}]});
        let put = iam.put_user_policy().user_name("backup-writer").policy_name("everything");
        put.policy_document(document.to_string()).send().await.expect("moto takes the policy");

        // And one whose policy allows other things: reading the bucket, writing another.
        iam.create_user().user_name("reader").send().await.expect("moto makes the user");
        let document = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{BUCKET}/*")},
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::another-bucket/*"}]});
        let put = iam.put_user_policy().user_name("reader").policy_name("read");
        put.policy_document(document.to_string()).send().await.expect("moto takes the policy");
        iam.create_access_key().user_name("reader").send().await.expect("moto makes the key");

        let init = init_reading_only(&world).await;
        let spec = written(&world);
        assert!(init.diagnostics().contains("2 IAM users may"), "{init}");
        assert!(!spec.contains("reader\""), "a user that may not write there is a candidate:\n{spec}");
        // The guide's user, which has an access key, is chosen; the other is listed.
        assert!(spec.contains("\nuser_name = \"twilio-video-uploader-dev\""), "{spec}");
        assert!(spec.contains("#   user_name = \"backup-writer\", path = \"/ops/\""), "{spec}");
        insta::with_settings!({ filters => insta_filters() }, {
            insta::assert_snapshot!("two_users_spec", spec);
        });
        let validated = validate(&world).await;
        assert_eq!(validated.code, Some(0), "the spec init wrote does not validate\n{validated}");
    })
    .await;
}

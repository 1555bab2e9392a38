//! Change review: `plan --out FILE` on the pull request, `apply FILE` on merge, exactly that
//! plan or nothing.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::world;
use stowage_test_support::dev::{BUCKET, REGION, USER};
use stowage_test_support::{World, assert_exit, dev_spec};

/// A converged environment, then a spec change planned and saved to `change.plan`.
async fn saved_change(world: &World) {
    assert_exit(&world.stowage(&["apply", "dev.toml", "--auto-approve"]).await, 0);
    world.rewrite_spec(&dev_spec().replace(r#"team = "video""#, r#"team = "audio""#));
    assert_exit(&world.stowage(&["plan", "dev.toml", "--out", "change.plan", "--detailed-exitcode"]).await, 2);
}

fn state_bytes(world: &World) -> Vec<u8> {
    std::fs::read(world.sandbox.state_path("dev.toml")).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_saved_plan_applies_exactly_and_the_next_plan_is_empty() {
    let world = world().start().await;
    saved_change(&world).await;
    let file = world.sandbox.path().join("change.plan");
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);

    let shown = world.stowage(&["show", "change.plan"]).await;
    assert_exit(&shown, 0);
    assert!(shown.stdout.contains(r#"~ tags"#), "{}", shown.stdout);

    world.aws.clear();
    let applied = world.stowage(&["apply", "change.plan"]).await;
    assert_exit(&applied, 0);
    let writes: Vec<String> = world.aws.writes().into_iter().map(|request| request.operation).collect();
    assert_eq!(writes, vec!["PutBucketTagging"], "exactly the reviewed change");
    assert_exit(&world.stowage(&["plan", "dev.toml", "--detailed-exitcode"]).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_made_before_another_apply_is_refused_and_touches_nothing() {
    let world = world().start().await;
    saved_change(&world).await;
    // Someone applies in between: the state moves on.
    assert_exit(&world.stowage(&["apply", "dev.toml", "--auto-approve"]).await, 0);
    let before = state_bytes(&world);
    world.aws.clear();
    let writes_before = world.twilio_writes_since(0).len();

    let refused = world.stowage(&["apply", "change.plan"]).await;
    assert_exit(&refused, 1);
    assert!(refused.stderr.contains("is stale"), "{}", refused.stderr);
    assert!(refused.stderr.contains("serial"), "{}", refused.stderr);
    assert_eq!(world.aws.writes(), vec![], "nothing touched in AWS");
    assert_eq!(world.twilio_writes_since(0).len(), writes_before, "nothing touched in Twilio");
    assert_eq!(state_bytes(&world), before, "the state is unchanged, byte for byte");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_whose_spec_or_resources_changed_since_is_refused() {
    let world = world().start().await;
    saved_change(&world).await;

    // The spec changed after the plan was made.
    world.rewrite_spec(&dev_spec().replace(r#"team = "video""#, r#"team = "other""#));
    let refused = world.stowage(&["apply", "change.plan"]).await;
    assert_exit(&refused, 1);
    assert!(refused.stderr.contains("spec `dev.toml` changed"), "{}", refused.stderr);

    // Back to the planned spec, but the bucket's tags moved outside stowage.
    world.rewrite_spec(&dev_spec().replace(r#"team = "video""#, r#"team = "audio""#));
    let tag = aws_sdk_s3::types::Tag::builder().key("owner").value("someone").build().unwrap();
    let tagging = aws_sdk_s3::types::Tagging::builder().tag_set(tag).build().unwrap();
    world.moto.s3_client(REGION).put_bucket_tagging().bucket(BUCKET).tagging(tagging).send().await.unwrap();
    world.aws.clear();
    let refused = world.stowage(&["apply", "change.plan"]).await;
    assert_exit(&refused, 1);
    assert!(refused.stderr.contains("`aws_s3_bucket.main` changed outside"), "{}", refused.stderr);
    assert_eq!(world.aws.writes(), vec![]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tampered_or_truncated_plan_file_is_refused() {
    let world = world().start().await;
    saved_change(&world).await;
    let file = world.sandbox.path().join("change.plan");
    let original = std::fs::read_to_string(&file).unwrap();
    let before = state_bytes(&world);

    std::fs::write(&file, original.replace(r#""audio""#, r#""evil!""#)).unwrap();
    let tampered = world.stowage(&["apply", "change.plan"]).await;
    assert_exit(&tampered, 1);
    assert!(tampered.stderr.contains("checksum does not match"), "{}", tampered.stderr);

    std::fs::write(&file, &original[..original.len() / 2]).unwrap();
    let truncated = world.stowage(&["apply", "change.plan"]).await;
    assert_exit(&truncated, 1);
    assert!(truncated.stderr.contains("damaged"), "{}", truncated.stderr);
    assert_eq!(state_bytes(&world), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_plans_validate_against_their_schema_and_show_policies_as_objects() {
    let world = world().start().await;
    let plan = world.stowage(&["plan", "dev.toml", "--format", "json", "--out", "first.plan"]).await;
    assert_exit(&plan, 0);
    let document: serde_json::Value = serde_json::from_str(&plan.stdout).expect("stdout is JSON");

    let schema_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/plan-json.schema.json");
    let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&document).map(|error| error.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");

    let policy = document["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|change| change["address"] == "aws_iam_user_policy.uploader")
        .unwrap();
    assert!(policy["change"]["after"]["document"]["Statement"].is_array(), "{policy:#}");
    assert!(policy["change"]["after"]["user_name"] == USER);

    let shown = world.stowage(&["show", "first.plan", "--format", "json"]).await;
    assert_eq!(shown.stdout, plan.stdout, "show renders the saved plan exactly as plan did");
}

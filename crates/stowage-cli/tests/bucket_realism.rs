//! What real S3 does and moto does not, reproduced by the proxy in front of moto so that the
//! bucket code is held to AWS's behaviour: concurrent configuration writes refused with `409
//! OperationAborted`, a new bucket briefly answering `NoSuchBucket`, `HeadBucket`'s bare `301`
//! for a bucket in another region and bare `403` for another account's, and Block Public Access
//! on by default for every new bucket. What exists is checked through the AWS SDK, never
//! through stowage's state.

mod common;

use aws_sdk_s3::error::ProvideErrorMetadata;
use common::world;
use stowage_test_support::dev::{BUCKET, REGION};
use stowage_test_support::{
    Fault, FaultAction, FaultMatch, World, assert_exit, dev_spec, insta_filters, path_style_s3_client,
};

fn error(status: u16, code: &str) -> FaultAction {
    FaultAction::Error { status, code: code.to_owned() }
}

/// The bucket's configuration writes, in the order the proxy saw them, with their statuses.
fn bucket_writes(world: &World) -> String {
    world
        .aws
        .writes()
        .iter()
        .filter(|request| request.service == "s3" && !request.operation.contains("Object"))
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether the bucket's public access block, as moto holds it, has all four flags on.
async fn fully_blocked(s3: &aws_sdk_s3::Client) -> Result<bool, String> {
    let output = s3.get_public_access_block().bucket(BUCKET).send().await.map_err(|error| {
        error.as_service_error().and_then(ProvideErrorMetadata::code).unwrap_or("no code").to_owned()
    })?;
    let block = output.public_access_block_configuration().expect("a configuration");
    Ok([
        block.block_public_acls(),
        block.ignore_public_acls(),
        block.block_public_policy(),
        block.restrict_public_buckets(),
    ] == [Some(true); 4])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_bucket_is_configured_despite_operation_aborted_and_a_late_visible_bucket() {
    let world = world().start().await;
    // Real S3: another configuration write still in progress on the bucket...
    world.aws.inject(Fault::new(
        FaultMatch::Operation("PutBucketVersioning".to_owned()),
        error(409, "OperationAborted"),
        2,
    ));
    // ...and the bucket just created not yet visible to the first configuration write.
    world.aws.inject(Fault::once("PutBucketOwnershipControls", error(404, "NoSuchBucket")));

    let applied = world.stowage(&["apply", "dev.toml", "--auto-approve"]).await;
    assert_exit(&applied, 0);

    // One write at a time, in a fixed order, each refusal retried.
    insta::assert_snapshot!("configuration_writes_after_create", bucket_writes(&world));

    // The bucket ends configured, as moto reports it.
    let s3 = world.moto.s3_client(REGION);
    assert_eq!(world.moto.versioning_status(BUCKET).as_deref(), Some("Enabled"));
    assert_eq!(fully_blocked(&s3).await, Ok(true));
    let ownership = s3.get_bucket_ownership_controls().bucket(BUCKET).send().await.unwrap();
    assert_eq!(ownership.ownership_controls().unwrap().rules()[0].object_ownership().as_str(), "BucketOwnerEnforced");
    let lifecycle = s3.get_bucket_lifecycle_configuration().bucket(BUCKET).send().await.unwrap();
    assert_eq!(lifecycle.rules().len(), 2);
    let tagging = s3.get_bucket_tagging().bucket(BUCKET).send().await.unwrap();
    assert_eq!(tagging.tag_set().len(), 2);
    assert_exit(&world.stowage(&["plan", "dev.toml", "--detailed-exitcode"]).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_such_bucket_on_an_existing_bucket_is_not_waited_for() {
    let world = world().start().await;
    assert_exit(&world.stowage(&["apply", "dev.toml", "--auto-approve"]).await, 0);
    world.rewrite_spec(&dev_spec().replace(r#"team = "video""#, r#"team = "audio""#));
    world.aws.clear();
    world.aws.inject(Fault::once("PutBucketTagging", error(404, "NoSuchBucket")));

    let applied = world.stowage(&["apply", "dev.toml", "--auto-approve"]).await;
    assert_exit(&applied, 1);
    assert!(applied.stderr.contains("s3 PutBucketTagging"), "{}", applied.stderr);
    let attempts = world.aws.requests().iter().filter(|request| request.operation == "PutBucketTagging").count();
    assert_eq!(attempts, 1, "a bucket stowage did not just create is gone, not late");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_in_another_region_fails_the_plan_with_where_it_is() {
    let world = world().start().await;
    let region = vec![("x-amz-bucket-region".to_owned(), "eu-west-1".to_owned())];
    world.aws.inject(Fault::once("HeadBucket", FaultAction::Bare { status: 301, headers: region }));

    let plan = world.stowage(&["plan", "dev.toml"]).await;
    assert_exit(&plan, 1);
    assert_eq!(world.aws.writes(), vec![], "a plan writes nothing");
    insta::with_settings!({filters => insta_filters()}, {
        insta::assert_snapshot!("bucket_in_another_region", plan.diagnostics());
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn another_accounts_bucket_fails_the_plan_with_a_name_hint() {
    let world = world().start().await;
    world.aws.inject(Fault::once("HeadBucket", FaultAction::Bare { status: 403, headers: Vec::new() }));

    let plan = world.stowage(&["plan", "dev.toml"]).await;
    assert_exit(&plan, 1);
    assert_eq!(world.aws.writes(), vec![], "a plan writes nothing");
    insta::with_settings!({filters => insta_filters()}, {
        insta::assert_snapshot!("bucket_of_another_account", plan.diagnostics());
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn the_proxy_gives_a_new_bucket_the_block_aws_gives_it() {
    let world = world().start().await;
    world.aws.new_buckets_like_aws();
    let through_proxy = path_style_s3_client(&world.moto.aws_sdk_config_via(&world.aws.endpoint(), REGION));
    let location = aws_sdk_s3::types::CreateBucketConfiguration::builder()
        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(REGION))
        .build();
    through_proxy.create_bucket().bucket(BUCKET).create_bucket_configuration(location).send().await.unwrap();

    // AWS's default, though moto has none; moto itself still has none.
    assert_eq!(fully_blocked(&through_proxy).await, Ok(true));
    assert_eq!(fully_blocked(&world.moto.s3_client(REGION)).await, Err("NoSuchPublicAccessBlockConfiguration".into()));
    // Once the block is deleted, what moto says holds.
    through_proxy.delete_public_access_block().bucket(BUCKET).send().await.unwrap();
    assert_eq!(fully_blocked(&through_proxy).await, Err("NoSuchPublicAccessBlockConfiguration".into()));
    let observed: Vec<String> = world.aws.requests().iter().map(ToString::to_string).collect();
    insta::assert_snapshot!("proxy_default_block", observed.join("\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn block_public_access_false_holds_after_one_apply_on_a_bucket_like_aws() {
    let spec = dev_spec().replace("block_public_access = true", "block_public_access = false");
    assert_ne!(spec, dev_spec(), "examples/dev.toml sets block_public_access");
    let world = world().spec(&spec).start().await;
    world.aws.new_buckets_like_aws();

    assert_exit(&world.stowage(&["apply", "dev.toml", "--auto-approve"]).await, 0);
    world.aws.clear();
    let plan = world.stowage(&["plan", "dev.toml", "--detailed-exitcode"]).await;
    assert_exit(&plan, 0);
    assert!(plan.stdout.contains("No changes"), "{}", plan.stdout);

    // What the proxy told the plan: no block (moto's answer, not AWS's default any more).
    let reads: Vec<String> = world
        .aws
        .requests()
        .iter()
        .filter(|request| request.operation == "GetPublicAccessBlock")
        .map(ToString::to_string)
        .collect();
    assert_eq!(reads, vec!["s3 GetPublicAccessBlock read 404"]);
    let through_proxy = path_style_s3_client(&world.moto.aws_sdk_config_via(&world.aws.endpoint(), REGION));
    assert_eq!(fully_blocked(&through_proxy).await, Err("NoSuchPublicAccessBlockConfiguration".into()));
}

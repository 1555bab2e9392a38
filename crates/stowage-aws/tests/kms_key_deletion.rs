//! Deleting a KMS key stowage created is the one delete that cannot be undone once done:
//! everything encrypted with the key becomes unreadable. So the provider only ever schedules it,
//! 30 days out, and refuses while the bucket still encrypts with the key, whatever the plan says.

use aws_sdk_kms::types::KeyState;
use aws_sdk_s3::types::{
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};
use serde_json::json;
use stowage_aws::AwsProvider;
use stowage_provider::{Address, Attributes, DeleteRequest, ErrorKind, Provider, ResourceType};
use stowage_test_support::{Moto, path_style_s3_client};

const REGION: &str = "us-east-2";
const BUCKET: &str = "acme-video-prod";

#[tokio::test(flavor = "multi_thread")]
async fn a_key_the_bucket_uses_is_not_deleted_and_an_unused_one_is_only_scheduled() {
    let moto = Moto::start();
    let config = moto.aws_sdk_config(REGION);
    let aws = AwsProvider::from_config(&config, REGION.to_owned());
    let kms = moto.kms_client(REGION);
    let s3 = path_style_s3_client(&config);

    let key = kms.create_key().send().await.unwrap();
    let key = key.key_metadata().unwrap();
    let (key_id, key_arn) = (key.key_id().to_owned(), key.arn().unwrap().to_owned());
    let configuration = aws_sdk_s3::types::CreateBucketConfiguration::builder()
        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(REGION))
        .build();
    s3.create_bucket().bucket(BUCKET).create_bucket_configuration(configuration).send().await.unwrap();
    let by_default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::AwsKms)
        .kms_master_key_id(&key_arn)
        .build()
        .unwrap();
    let encryption = ServerSideEncryptionConfiguration::builder()
        .rules(ServerSideEncryptionRule::builder().apply_server_side_encryption_by_default(by_default).build())
        .build()
        .unwrap();
    s3.put_bucket_encryption().bucket(BUCKET).server_side_encryption_configuration(encryption).send().await.unwrap();

    let address = Address::new(ResourceType::KmsKey, "main");
    let attributes = Attributes::from([("bucket".to_owned(), json!(BUCKET)), ("arn".to_owned(), json!(key_arn))]);
    let delete = || aws.delete(DeleteRequest { address: &address, id: &key_id, attributes: &attributes });

    // The bucket encrypts with it: refused, and the key is untouched.
    let refused = delete().await.expect_err("a key in use is not deleted");
    assert_eq!(refused.kind, ErrorKind::Conflict);
    assert!(refused.message.contains(BUCKET), "{refused}");
    let state = |described: aws_sdk_kms::operation::describe_key::DescribeKeyOutput| {
        described.key_metadata().and_then(|metadata| metadata.key_state()).cloned()
    };
    assert_eq!(state(kms.describe_key().key_id(&key_id).send().await.unwrap()), Some(KeyState::Enabled));

    // Once the bucket no longer uses it: scheduled for deletion in 30 days, not deleted.
    s3.delete_bucket_encryption().bucket(BUCKET).send().await.unwrap();
    delete().await.expect("an unused key is scheduled for deletion");
    let described = kms.describe_key().key_id(&key_id).send().await.unwrap();
    let metadata = described.key_metadata().unwrap();
    assert_eq!(metadata.key_state(), Some(&KeyState::PendingDeletion));
    let days = (metadata.deletion_date().unwrap().secs() - metadata.creation_date().unwrap().secs()) / 86_400;
    assert!((29..=30).contains(&days), "deletion in {days} days");

    // A second delete (a retried apply) is fine: it is already what delete wants.
    delete().await.expect("a key pending deletion counts as deleted");
}

//! A bucket is deleted only when it holds nothing but test files, and then with them: destroy's
//! one delete that could lose recordings. Against moto, through the provider: every version of
//! a versioned bucket counts, listings past one page are read to the end, and S3's own refusal
//! to delete a bucket that is not empty (all versions and delete markers included, as AWS
//! documents for `DeleteBucket`) holds in moto too.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use futures::stream::{self, StreamExt};
use stowage_aws::AwsProvider;
use stowage_provider::{Address, Attributes, Contents, DeleteRequest, ErrorKind, Provider, ResourceType};
use stowage_test_support::{Moto, path_style_s3_client};

const REGION: &str = "us-east-2";
const BUCKET: &str = "acme-video-dev";
const RECORDING: &str = "recordings/RT0123456789abcdef0123456789abcdef/MT0123456789abcdef0123456789abcdef.mka";

struct Setup {
    _moto: Moto,
    aws: AwsProvider,
    s3: aws_sdk_s3::Client,
}

async fn versioned_bucket() -> Setup {
    let moto = Moto::start();
    let config = moto.aws_sdk_config(REGION);
    let aws = AwsProvider::from_config(&config, REGION.to_owned());
    let s3 = path_style_s3_client(&config);
    let configuration = aws_sdk_s3::types::CreateBucketConfiguration::builder()
        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(REGION))
        .build();
    s3.create_bucket().bucket(BUCKET).create_bucket_configuration(configuration).send().await.unwrap();
    let versioning = VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build();
    s3.put_bucket_versioning().bucket(BUCKET).versioning_configuration(versioning).send().await.unwrap();
    Setup { _moto: moto, aws, s3 }
}

impl Setup {
    async fn put(&self, key: &str, size: usize) -> String {
        let put = self.s3.put_object().bucket(BUCKET).key(key).body(ByteStream::from(vec![b'x'; size])).send().await;
        put.unwrap().version_id().unwrap_or_default().to_owned()
    }

    async fn contents(&self) -> Result<Contents, stowage_provider::ProviderError> {
        let address = Address::new(ResourceType::S3Bucket, "main");
        self.aws.contents(DeleteRequest { address: &address, id: BUCKET, attributes: &Attributes::new() }).await
    }

    async fn delete(&self) -> Result<(), stowage_provider::ProviderError> {
        let address = Address::new(ResourceType::S3Bucket, "main");
        self.aws.delete(DeleteRequest { address: &address, id: BUCKET, attributes: &Attributes::new() }).await
    }

    async fn exists(&self) -> bool {
        self.s3.head_bucket().bucket(BUCKET).send().await.is_ok()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_with_only_test_files_is_deleted_with_every_version_of_them() {
    let setup = versioned_bucket().await;
    setup.put("recordings/twilio-storage-test-recordings.txt", 60).await;
    setup.put("compositions/twilio-storage-test-compositions.txt", 60).await;
    // stowage's write test deletes its object at once: a version and a delete marker remain.
    let key = "recordings/stowage-write-test-AKIAEXAMPLE.txt";
    setup.put(key, 87).await;
    setup.s3.delete_object().bucket(BUCKET).key(key).send().await.unwrap();

    assert_eq!(setup.contents().await.unwrap(), Contents::default());
    setup.delete().await.expect("a bucket of test files is deleted");
    assert!(!setup.exists().await, "the bucket is still there");
    setup.delete().await.expect("deleting a bucket already gone succeeds");
    assert_eq!(setup.contents().await.unwrap(), Contents::default(), "a gone bucket holds nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recording_kept_only_as_an_old_version_keeps_the_bucket() {
    let setup = versioned_bucket().await;
    setup.put("recordings/twilio-storage-test-recordings.txt", 60).await;
    // Someone deleted the recording without a version id: only its old version remains.
    setup.put(RECORDING, 2048).await;
    setup.s3.delete_object().bucket(BUCKET).key(RECORDING).send().await.unwrap();

    assert_eq!(setup.contents().await.unwrap(), Contents { objects: 1, bytes: 2048 });
    let refused = setup.delete().await.expect_err("a bucket with a recording is not deleted");
    assert_eq!((refused.kind, refused.code.as_deref()), (ErrorKind::Conflict, Some("BucketNotEmpty")));
    assert!(refused.message.contains("1 object, 2.0 kB"), "{refused}");
    let listed = setup.s3.list_object_versions().bucket(BUCKET).send().await.unwrap();
    assert_eq!(listed.versions().len(), 2, "a version was deleted: {listed:?}");
    assert_eq!(listed.delete_markers().len(), 1, "the delete marker was deleted: {listed:?}");

    // S3's own safety net, should a recording land after the listing: a bucket whose only
    // objects are an old version and a delete marker is not empty.
    let raw = setup.s3.delete_bucket().bucket(BUCKET).send().await.expect_err("moto deleted a bucket with versions");
    assert_eq!(raw.into_service_error().meta().code(), Some("BucketNotEmpty"));
    assert!(setup.exists().await);
}

#[tokio::test(flavor = "multi_thread")]
async fn listings_and_deletes_past_a_thousand_objects_see_everything() {
    let setup = versioned_bucket().await;
    let keys: Vec<String> = (0..1001).map(|index| format!("recordings/test-{index:04}.txt")).collect();
    let puts = stream::iter(&keys).map(|key| setup.put(key, 10)).buffer_unordered(16);
    let _: Vec<String> = puts.collect().await;
    // Listed after the first page of 1,000 versions.
    let version = setup.put("zz-last/composition.mp4", 4000).await;

    assert_eq!(setup.contents().await.unwrap(), Contents { objects: 1, bytes: 4000 });
    setup.delete().await.expect_err("the composition on the second page keeps the bucket");
    setup.s3.delete_object().bucket(BUCKET).key("zz-last/composition.mp4").version_id(version).send().await.unwrap();

    assert_eq!(setup.contents().await.unwrap(), Contents::default());
    setup.delete().await.expect("1,001 test files are deleted in two batches, then the bucket");
    assert!(!setup.exists().await, "the bucket is still there");
}

//! The state bucket's settings: warnings, never errors.

use aws_sdk_s3::types::{
    BucketVersioningStatus, PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, VersioningConfiguration,
};
use stowage_state_s3::S3StateStore;
use stowage_test_support::{AwsProxy, Fault, FaultAction};

use crate::{BUCKET, REGION, bounded, moto_with_bucket, settings, store};

#[tokio::test]
async fn a_plain_bucket_gets_a_warning_for_each_missing_setting() {
    bounded(async {
        let moto = moto_with_bucket().await;

        let warnings = store(&moto).check_bucket().await;

        assert_eq!(warnings.len(), 3, "{warnings:#?}");
        assert!(
            warnings[0].starts_with(&format!("state bucket `{BUCKET}` does not keep object versions")),
            "{warnings:#?}"
        );
        assert!(warnings[0].contains("Status=Enabled"), "{warnings:#?}");
        assert!(
            warnings[1].starts_with(&format!("state bucket `{BUCKET}` has no default encryption")),
            "{warnings:#?}"
        );
        assert!(
            warnings[2].starts_with(&format!("state bucket `{BUCKET}` has no public access block")),
            "{warnings:#?}"
        );

        // With a KMS key for the state, the bucket's default encryption is not used.
        let with_key = S3StateStore::new(&moto.aws_sdk_config(REGION), settings(Some("alias/state".to_owned())), true);
        assert_eq!(with_key.check_bucket().await.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn a_versioned_kms_encrypted_blocked_bucket_gets_none() {
    bounded(async {
        let moto = moto_with_bucket().await;
        let s3 = moto.s3_client(REGION);
        let key = moto.kms_client(REGION).create_key().send().await.expect("a KMS key");
        let key_id = key.key_metadata().expect("metadata").key_id().to_owned();
        s3.put_bucket_versioning()
            .bucket(BUCKET)
            .versioning_configuration(
                VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build(),
            )
            .send()
            .await
            .expect("versioning on");
        let by_default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::AwsKms)
            .kms_master_key_id(key_id)
            .build()
            .expect("a default");
        let rule = ServerSideEncryptionRule::builder().apply_server_side_encryption_by_default(by_default).build();
        s3.put_bucket_encryption()
            .bucket(BUCKET)
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder().rules(rule).build().expect("a configuration"),
            )
            .send()
            .await
            .expect("SSE-KMS by default");
        let all_blocked = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build();
        s3.put_public_access_block()
            .bucket(BUCKET)
            .public_access_block_configuration(all_blocked)
            .send()
            .await
            .expect("public access blocked");

        assert_eq!(store(&moto).check_bucket().await, Vec::<String>::new());

        // SSE-S3 by default and one flag off: a warning each.
        let by_default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::Aes256)
            .build()
            .expect("a default");
        let rule = ServerSideEncryptionRule::builder().apply_server_side_encryption_by_default(by_default).build();
        s3.put_bucket_encryption()
            .bucket(BUCKET)
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder().rules(rule).build().expect("a configuration"),
            )
            .send()
            .await
            .expect("SSE-S3 by default");
        let one_off = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(false)
            .restrict_public_buckets(true)
            .build();
        s3.put_public_access_block()
            .bucket(BUCKET)
            .public_access_block_configuration(one_off)
            .send()
            .await
            .expect("one off");

        let warnings = store(&moto).check_bucket().await;
        assert_eq!(warnings.len(), 2, "{warnings:#?}");
        assert!(warnings[0].contains("AES256 (SSE-S3), not with a KMS key"), "{warnings:#?}");
        assert!(warnings[1].contains("does not block all public access (BlockPublicPolicy off)"), "{warnings:#?}");
    })
    .await;
}

#[tokio::test]
async fn a_setting_that_cannot_be_read_is_a_warning_that_it_was_not_checked() {
    bounded(async {
        let moto = moto_with_bucket().await;
        let proxy = AwsProxy::start(&moto.endpoint()).await;
        proxy.inject(Fault::once(
            "GetBucketVersioning",
            FaultAction::Error { status: 403, code: "AccessDenied".to_owned() },
        ));
        let store = S3StateStore::new(&moto.aws_sdk_config_via(&proxy.endpoint(), REGION), settings(None), true);

        let warnings = store.check_bucket().await;

        assert_eq!(warnings.len(), 3, "{warnings:#?}");
        assert!(
            warnings[0]
                .starts_with(&format!("could not check the versioning of state bucket `{BUCKET}` (AccessDenied: ")),
            "{warnings:#?}"
        );
        assert!(warnings[0].contains("allow s3:GetBucketVersioning"), "{warnings:#?}");
    })
    .await;
}

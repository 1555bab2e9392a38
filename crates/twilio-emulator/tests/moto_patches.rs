//! The moto behaviour the emulator's uploads rely on, which the project's moto launcher patches
//! in (`crates/stowage-test-support/moto/sitecustomize.py`), held against moto itself:
//!
//! - A `PutObject` that S3 encrypts with a KMS key (the bucket's default encryption, or the
//!   request's SSE-KMS headers) needs `kms:GenerateDataKey` on that key: from the caller's
//!   identity policies, or a key policy that names the caller. Only under IAM enforcement.
//! - A deactivated access key is refused like an unknown one (`InvalidAccessKeyId`).

mod support;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use support::moto::{AccessKey, MotoServer};
use support::*;

const BUCKET: &str = "stowage-moto-kms";
const PLAIN_BUCKET: &str = "stowage-moto-plain";

fn put_only() -> String {
    format!(
        r#"{{"Effect": "Allow", "Action": "s3:PutObject", "Resource": ["arn:aws:s3:::{BUCKET}/*", "arn:aws:s3:::{PLAIN_BUCKET}/*"]}}"#
    )
}

fn policy(statements: &[String]) -> String {
    format!(r#"{{"Version": "2012-10-17", "Statement": [{}]}}"#, statements.join(", "))
}

/// Puts a small object as `key` into `bucket`, with SSE-KMS under `sse_key` when given: the S3
/// error code, or `None` when stored.
async fn put(moto: &MotoServer, key: &AccessKey, bucket: &str, sse_key: Option<&str>) -> Option<String> {
    let mut put = moto.s3_as(key).put_object().bucket(bucket).key("object.txt").body(ByteStream::from_static(b"x"));
    if let Some(sse_key) = sse_key {
        put = put.server_side_encryption(ServerSideEncryption::AwsKms).ssekms_key_id(sse_key);
    }
    match put.send().await {
        Ok(_) => None,
        Err(error) => Some(error.code().unwrap_or("no code").to_owned()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_encrypted_with_a_kms_key_needs_generate_data_key_on_it_under_enforcement() {
    within(120, async {
        let moto = MotoServer::start().await;
        moto.create_bucket(BUCKET).await;
        moto.create_bucket(PLAIN_BUCKET).await;
        let key_arn = moto.create_kms_key().await;
        let other_key_arn = moto.create_kms_key().await;
        moto.encrypt_bucket_with(BUCKET, &key_arn).await;
        let generate = |key: &str, effect: &str| {
            format!(r#"{{"Effect": "{effect}", "Action": "kms:GenerateDataKey*", "Resource": "{key}"}}"#)
        };

        let plain = moto.user_with_policy("plain", &policy(&[put_only()])).await;
        let allowed = moto.user_with_policy("allowed", &policy(&[put_only(), generate(&key_arn, "Allow")])).await;
        let denied = moto
            .user_with_policy("denied", &policy(&[put_only(), generate("*", "Allow"), generate(&key_arn, "Deny")]))
            .await;
        let named = moto.user_with_policy("named", &policy(&[put_only()])).await;
        // The key policy names `named` (and keeps the account's delegation to IAM).
        let key_policy = r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:user/named"}, "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*"}
        ]}"#;
        moto.put_key_policy(&key_arn, key_policy).await;

        // Without enforcement moto accepts any call, as before.
        assert_eq!(put(&moto, &plain, BUCKET, None).await, None);

        moto.enforce_iam().await;
        // The bucket's default encryption: S3 asks KMS for a data key as the caller.
        assert_eq!(put(&moto, &plain, BUCKET, None).await.as_deref(), Some("AccessDenied"));
        assert_eq!(put(&moto, &allowed, BUCKET, None).await, None);
        assert_eq!(put(&moto, &denied, BUCKET, None).await.as_deref(), Some("AccessDenied"), "an explicit Deny wins");
        assert_eq!(put(&moto, &named, BUCKET, None).await, None, "the key policy names the caller");
        // The request's own SSE-KMS headers, into a bucket without default encryption.
        assert_eq!(put(&moto, &plain, PLAIN_BUCKET, None).await, None);
        assert_eq!(put(&moto, &allowed, PLAIN_BUCKET, Some(&key_arn)).await, None);
        assert_eq!(put(&moto, &allowed, PLAIN_BUCKET, Some(&other_key_arn)).await.as_deref(), Some("AccessDenied"));
        // The headers win over the bucket's default.
        assert_eq!(put(&moto, &allowed, BUCKET, Some(&other_key_arn)).await.as_deref(), Some("AccessDenied"));

        // AWS's words, with the caller and the key.
        let refused = moto.s3_as(&plain).put_object().bucket(BUCKET).key("k").body(ByteStream::from_static(b"x"));
        let error = refused.send().await.unwrap_err();
        assert_eq!(
            error.message(),
            Some(format!("User: arn:aws:iam::123456789012:user/plain is not authorized to perform: kms:GenerateDataKey on resource: {key_arn}").as_str())
        );

        // Off again, nothing is checked.
        moto.stop_enforcing_iam().await;
        assert_eq!(put(&moto, &plain, BUCKET, None).await, None);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_access_key_is_refused_under_enforcement() {
    within(120, async {
        let moto = MotoServer::start().await;
        moto.create_bucket(PLAIN_BUCKET).await;
        let key = moto.user_with_policy("uploader", &policy(&[put_only()])).await;
        moto.enforce_iam().await;
        assert_eq!(put(&moto, &key, PLAIN_BUCKET, None).await, None);
        moto.deactivate("uploader", &key).await;
        assert_eq!(put(&moto, &key, PLAIN_BUCKET, None).await.as_deref(), Some("InvalidAccessKeyId"));
        moto.stop_enforcing_iam().await;
        assert_eq!(put(&moto, &key, PLAIN_BUCKET, None).await, None, "without enforcement moto accepts any key");
    })
    .await;
}

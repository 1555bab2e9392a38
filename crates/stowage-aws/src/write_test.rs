//! The write test Twilio will do, done first by stowage: with a new access key, PutObject a
//! small object under each prefix Twilio writes to, then remove it with the operator's
//! credentials. A policy or encryption mistake fails the apply here, with a clear message,
//! instead of failing later inside Twilio, where recordings are lost.

use aws_credential_types::Credentials;
use aws_sdk_s3::primitives::ByteStream;
use serde_json::Value;
use stowage_provider::{ErrorKind, ProviderError, Secret};

use crate::AwsProvider;
use crate::errors::classify;
use crate::kms::same_key;
use crate::waiting::{Awaited, new_key_not_yet_seen};

/// Where the test writes: from the access key's `write_test` attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WriteTarget {
    pub bucket: String,
    pub region: String,
    pub prefixes: Vec<String>,
    /// The bucket's SSE-KMS key (ARN): the test object must land encrypted with it.
    pub kms_key: Option<String>,
}

impl WriteTarget {
    pub(crate) fn from_attribute(value: Option<&Value>) -> Option<Self> {
        let value = value?;
        let prefixes = value.get("prefixes")?.as_array()?.iter().filter_map(Value::as_str).map(str::to_owned).collect();
        Some(Self {
            bucket: value.get("bucket")?.as_str()?.to_owned(),
            region: value.get("region")?.as_str()?.to_owned(),
            prefixes,
            kms_key: value.get("kms_key").and_then(Value::as_str).map(str::to_owned),
        })
    }
}

/// The object key of the test: recognisable, and unique to the access key.
pub(crate) fn test_object_key(prefix: &str, access_key_id: &str) -> String {
    format!("{prefix}stowage-write-test-{access_key_id}.txt")
}

const BODY: &str = "stowage checked that Twilio's uploader can write here. This file is deleted right away.\n";

/// Run the test. New IAM keys take a moment to work on AWS, so the errors a key not yet
/// propagated causes are retried within the provider's propagation window (see
/// [`crate::waiting`]); anything else fails at once.
pub(crate) async fn run(
    aws: &AwsProvider,
    target: &WriteTarget,
    access_key_id: &str,
    secret: &Secret,
) -> Result<(), ProviderError> {
    let credentials = Credentials::new(access_key_id, secret.expose(), None, None, "stowage-write-test");
    let config = aws_sdk_s3::config::Builder::from(aws.sdk_config())
        .credentials_provider(credentials)
        .region(aws_config::Region::new(target.region.clone()))
        .force_path_style(aws.path_style())
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .interceptor(aws.calls().clone())
        .build();
    let uploader = aws_sdk_s3::Client::from_conf(config);

    for prefix in &target.prefixes {
        let key = test_object_key(prefix, access_key_id);
        let written = aws
            .waiting()
            .retry(Awaited::NewAccessKey, new_key_not_yet_seen, || async {
                let put = uploader
                    .put_object()
                    .bucket(&target.bucket)
                    .key(&key)
                    .content_type("text/plain")
                    .body(ByteStream::from_static(BODY.as_bytes()));
                put.send().await.map_err(|error| classify("s3", "PutObject", error))
            })
            .await
            .map_err(|error| failed(target, &key, error))?;
        if let Some(expected) = &target.kms_key {
            check_encryption(aws, target, &key, written.version_id(), expected).await?;
        }
        // Remove exactly what was written, even in a versioned bucket.
        aws.s3()
            .delete_object()
            .bucket(&target.bucket)
            .key(&key)
            .set_version_id(written.version_id().map(str::to_owned))
            .send()
            .await
            .map_err(|error| classify("s3", "DeleteObject", error))?;
    }
    Ok(())
}

/// With the operator's credentials (the uploader may only write), that the object landed
/// encrypted with the bucket's key: anything else means recordings would too.
async fn check_encryption(
    aws: &AwsProvider,
    target: &WriteTarget,
    key: &str,
    version: Option<&str>,
    expected: &str,
) -> Result<(), ProviderError> {
    let head = aws
        .s3()
        .head_object()
        .bucket(&target.bucket)
        .key(key)
        .set_version_id(version.map(str::to_owned))
        .send()
        .await
        .map_err(|error| classify("s3", "HeadObject", error))?;
    let algorithm = head.server_side_encryption().map(|algorithm| algorithm.as_str().to_owned());
    let used = head.ssekms_key_id();
    if algorithm.as_deref() == Some("aws:kms") && used.is_some_and(|used| same_key(used, expected)) {
        return Ok(());
    }
    Err(ProviderError::new(
        ErrorKind::Invalid,
        "s3",
        "HeadObject",
        format!(
            "write test: `{key}` in bucket `{}` landed {} instead of SSE-KMS with `{expected}`",
            target.bucket,
            match (algorithm.as_deref(), used) {
                (Some("aws:kms"), Some(used)) => format!("encrypted with KMS key `{used}`"),
                (Some(algorithm), _) => format!("encrypted with `{algorithm}`"),
                (None, _) => "unencrypted".to_owned(),
            }
        ),
    )
    .with_hint(
        "the bucket's default encryption is not what the plan set: check for a bucket policy or another tool          changing it, then apply again; the new key was deleted and Twilio was not changed",
    ))
}

fn failed(target: &WriteTarget, key: &str, error: ProviderError) -> ProviderError {
    let kms_refused = error.code.as_deref().is_some_and(|code| code.starts_with("KMS."));
    let twilio_code = match error.kind {
        _ if kms_refused => "53615",
        ErrorKind::Unauthorized if error.code.as_deref() == Some("AccessDenied") => "53615",
        ErrorKind::Unauthorized => "53611",
        ErrorKind::NotFound => "53610",
        _ => "53616",
    };
    ProviderError {
        message: format!(
            "write test failed: the new access key cannot PutObject `{key}` in bucket `{}`: {}; Twilio would fail \
             the same way (error {twilio_code}) and lose recordings",
            target.bucket, error.message
        ),
        hint: Some(
            "check that the uploader's policy allows `s3:PutObject` under each prefix, that no other policy denies \
             it, and that the bucket's default encryption is SSE-KMS with a key the uploader may use (or none); the \
             new key was deleted and Twilio was not changed"
                .to_owned(),
        ),
        ..error
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn targets_come_from_the_attribute() {
        let value = json!({"bucket": "b", "region": "us-east-2", "prefixes": ["compositions/", "recordings/"]});
        let target = WriteTarget::from_attribute(Some(&value)).unwrap();
        assert_eq!(target.prefixes, vec!["compositions/", "recordings/"]);
        assert_eq!(test_object_key("recordings/", "AKIAX"), "recordings/stowage-write-test-AKIAX.txt");
        assert_eq!(test_object_key("", "AKIAX"), "stowage-write-test-AKIAX.txt");
        assert!(WriteTarget::from_attribute(Some(&json!({"bucket": "b"}))).is_none());
        assert_eq!(target.kms_key, None);
        let arn = "arn:aws:kms:us-east-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let with_key = json!({"bucket": "b", "region": "us-east-2", "prefixes": [], "kms_key": arn});
        assert_eq!(WriteTarget::from_attribute(Some(&with_key)).unwrap().kms_key.as_deref(), Some(arn));
    }
}

//! Read-only facts beyond what a resource read observes: whether Twilio's write-test file is
//! where Twilio writes (for `verify`), and whether a KMS key the spec names is usable (for plan).

use stowage_provider::ProviderError;

use crate::AwsProvider;
use crate::errors::absent_if_not_found;
use crate::errors::classify;

const S3: &str = "s3";

/// The keys of the `.txt` objects directly under `prefix` (`""` for the bucket's top level;
/// otherwise ending in `/`), from the first page of `ListObjectsV2` (up to 1,000 keys):
/// enough to find a test file beside the recordings without listing a whole bucket.
pub async fn text_files_under(aws: &AwsProvider, bucket: &str, prefix: &str) -> Result<Vec<String>, ProviderError> {
    let output = aws
        .s3()
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .delimiter("/")
        .send()
        .await
        .map_err(|error| classify(S3, "ListObjectsV2", error))?;
    Ok(output
        .contents()
        .iter()
        .filter_map(|object| object.key())
        .filter(|key| key.ends_with(".txt"))
        .map(str::to_owned)
        .collect())
}

/// What KMS says of a key the spec names by ARN (stowage does not manage it, only uses it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KmsKeyStatus {
    /// Enabled and a symmetric encryption key: SSE-KMS can use it.
    Usable,
    /// It exists but cannot encrypt: disabled, pending deletion, or not a symmetric key.
    Unusable(String),
    /// No such key (or no permission to see it).
    Missing,
}

/// `DescribeKey` of an existing key, for the checks made before planning.
pub async fn kms_key_status(aws: &AwsProvider, key: &str) -> Result<KmsKeyStatus, ProviderError> {
    use aws_sdk_kms::types::{KeyState, KeyUsageType};
    let output = aws.kms().describe_key().key_id(key).send().await;
    let Some(output) = absent_if_not_found(output.map_err(|error| classify("kms", "DescribeKey", error)))? else {
        return Ok(KmsKeyStatus::Missing);
    };
    let Some(metadata) = output.key_metadata() else { return Ok(KmsKeyStatus::Missing) };
    Ok(match (metadata.key_state(), metadata.key_usage()) {
        (Some(KeyState::Enabled), Some(KeyUsageType::EncryptDecrypt) | None) => KmsKeyStatus::Usable,
        (Some(KeyState::Enabled), Some(usage)) => {
            KmsKeyStatus::Unusable(format!("its usage is `{}`, not ENCRYPT_DECRYPT", usage.as_str()))
        }
        (Some(state), _) => KmsKeyStatus::Unusable(format!("its state is `{}`", state.as_str())),
        (None, _) => KmsKeyStatus::Unusable("KMS does not say its state".to_owned()),
    })
}

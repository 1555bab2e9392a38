//! The state bucket's settings that keep a state safe: versioning (every replaced state can be
//! restored), encryption with a KMS key (reading the state needs that key too), and no public
//! access. Checked, never changed: the bucket is the person's.

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{BucketVersioningStatus, ServerSideEncryption};

use crate::S3StateStore;
use crate::errors::{S3Error, describe};

impl S3StateStore {
    /// Warnings about the state bucket's settings: versioning not enabled, no default
    /// encryption or not SSE-KMS while no kms_key is set, public access not fully blocked.
    /// Each a plain sentence saying what to set. Read errors (AccessDenied) become a warning
    /// that it could not check, never an error.
    pub async fn check_bucket(&self) -> Vec<String> {
        let bucket = self.bucket();
        let (versioning, encryption, public_access) = tokio::join!(
            self.client.get_bucket_versioning().bucket(bucket).send(),
            async {
                match self.settings.kms_key {
                    // The state and lock objects name their own key: the default is not used.
                    Some(_) => None,
                    None => Some(self.client.get_bucket_encryption().bucket(bucket).send().await),
                }
            },
            self.client.get_public_access_block().bucket(bucket).send(),
        );
        let mut warnings = Vec::new();

        match versioning {
            Ok(output) if output.status() == Some(&BucketVersioningStatus::Enabled) => {}
            Ok(_) => warnings.push(format!(
                "state bucket `{bucket}` does not keep object versions, so a state stowage replaces cannot be \
                 restored: enable versioning on it (`aws s3api put-bucket-versioning --bucket {bucket} \
                 --versioning-configuration Status=Enabled`)"
            )),
            Err(error) => warnings.push(could_not_check(bucket, "versioning", "s3:GetBucketVersioning", &error)),
        }

        match encryption {
            None => {}
            Some(Ok(output)) => {
                let algorithms: Vec<&ServerSideEncryption> = output
                    .server_side_encryption_configuration()
                    .map(|configuration| configuration.rules())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|rule| rule.apply_server_side_encryption_by_default())
                    .map(|default| default.sse_algorithm())
                    .collect();
                let kms = |algorithm: &&ServerSideEncryption| {
                    matches!(algorithm, ServerSideEncryption::AwsKms | ServerSideEncryption::AwsKmsDsse)
                };
                if algorithms.is_empty() {
                    warnings.push(no_default_encryption(bucket));
                } else if !algorithms.iter().any(kms) {
                    let named: Vec<&str> = algorithms.iter().map(|algorithm| algorithm.as_str()).collect();
                    warnings.push(format!(
                        "state bucket `{bucket}` encrypts objects by default with {} (SSE-S3), not with a KMS key: \
                         set its default encryption to SSE-KMS with a key of yours, or give stowage a KMS key for the \
                         state, so that reading the state needs that key's permission too",
                        named.join(", ")
                    ));
                }
            }
            Some(Err(error)) if error.code() == Some("ServerSideEncryptionConfigurationNotFoundError") => {
                warnings.push(no_default_encryption(bucket));
            }
            Some(Err(error)) => {
                warnings.push(could_not_check(bucket, "default encryption", "s3:GetEncryptionConfiguration", &error));
            }
        }

        let all_blocked =
            "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true";
        match public_access {
            Ok(output) => {
                let configuration = output.public_access_block_configuration();
                let flag = |value: Option<bool>| value.unwrap_or(false);
                let off: Vec<&str> = [
                    ("BlockPublicAcls", configuration.and_then(|c| c.block_public_acls())),
                    ("IgnorePublicAcls", configuration.and_then(|c| c.ignore_public_acls())),
                    ("BlockPublicPolicy", configuration.and_then(|c| c.block_public_policy())),
                    ("RestrictPublicBuckets", configuration.and_then(|c| c.restrict_public_buckets())),
                ]
                .into_iter()
                .filter(|(_, value)| !flag(*value))
                .map(|(name, _)| name)
                .collect();
                if !off.is_empty() {
                    warnings.push(format!(
                        "state bucket `{bucket}` does not block all public access ({} off): turn all four settings \
                         on (`aws s3api put-public-access-block --bucket {bucket} --public-access-block-configuration \
                         {all_blocked}`)",
                        off.join(", ")
                    ));
                }
            }
            Err(error) if error.code() == Some("NoSuchPublicAccessBlockConfiguration") => warnings.push(format!(
                "state bucket `{bucket}` has no public access block: turn all four settings on (`aws s3api \
                 put-public-access-block --bucket {bucket} --public-access-block-configuration {all_blocked}`)"
            )),
            Err(error) => {
                warnings.push(could_not_check(bucket, "public access block", "s3:GetBucketPublicAccessBlock", &error));
            }
        }
        warnings
    }
}

fn no_default_encryption(bucket: &str) -> String {
    format!(
        "state bucket `{bucket}` has no default encryption: set SSE-KMS default encryption with a key of yours on it, \
         or give stowage a KMS key for the state"
    )
}

fn could_not_check<E>(bucket: &str, what: &str, permission: &str, error: &S3Error<E>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    format!(
        "could not check the {what} of state bucket `{bucket}` ({}): allow {permission} to have it checked, or \
         check it by hand",
        describe(error)
    )
}

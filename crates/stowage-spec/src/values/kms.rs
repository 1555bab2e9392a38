//! The bucket's default encryption: a KMS key to create, or an existing key's ARN.

use thiserror::Error;

use super::{InvalidValue, Region, string_value};

/// The bucket's SSE-KMS key (SSE-KMS is the only server-side encryption Twilio supports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encryption {
    /// A new key, created and managed by stowage.
    KmsCreate,
    /// An existing key.
    KmsKeyArn(KmsKeyArn),
}

/// The ARN of a KMS key (not an alias): `arn:PARTITION:kms:REGION:ACCOUNT:key/ID`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KmsKeyArn(String);

const PARTITIONS: [&str; 4] = ["aws", "aws-cn", "aws-us-gov", "aws-eusc"];
const SHAPE: &str = "`arn:aws:kms:REGION:ACCOUNT:key/ID`";

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KmsKeyArnError {
    #[error("`{value}` is neither `create` nor a KMS key ARN")]
    NotAnArn { value: String },
    #[error("`{arn}` is an alias ARN, a key ARN is needed")]
    Alias { arn: String },
    #[error("`{arn}` is not a valid KMS key ARN: {reason}")]
    Malformed { arn: String, reason: String },
}

impl Encryption {
    /// `create`, or a key ARN.
    pub fn new(kms_key: &str) -> Result<Self, KmsKeyArnError> {
        if kms_key == "create" {
            Ok(Self::KmsCreate)
        } else if kms_key.starts_with("arn:") {
            KmsKeyArn::new(kms_key).map(Self::KmsKeyArn)
        } else {
            Err(KmsKeyArnError::NotAnArn { value: kms_key.to_owned() })
        }
    }
}

impl KmsKeyArn {
    pub fn new(arn: &str) -> Result<Self, KmsKeyArnError> {
        let malformed = |reason: String| KmsKeyArnError::Malformed { arn: arn.to_owned(), reason };
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [scheme, partition, service, region, account, resource] = parts.as_slice() else {
            return Err(if arn.starts_with("arn:") {
                malformed(format!("it has {} parts separated by `:`, a key ARN has 6", parts.len()))
            } else {
                KmsKeyArnError::NotAnArn { value: arn.to_owned() }
            });
        };
        if *scheme != "arn" {
            return Err(KmsKeyArnError::NotAnArn { value: arn.to_owned() });
        }
        if !PARTITIONS.contains(partition) {
            return Err(malformed(format!("`{partition}` is not an AWS partition")));
        }
        if *service != "kms" {
            return Err(malformed(format!("it names the `{service}` service, not `kms`")));
        }
        let region = Region::new(region).map_err(|_| malformed(format!("`{region}` is not a region code")))?;
        if region.partition() != *partition {
            return Err(malformed(format!(
                "region `{region}` is in the `{}` partition, not `{partition}`",
                region.partition()
            )));
        }
        if account.len() != 12 || !account.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(malformed(format!("the account `{account}` is not 12 digits")));
        }
        if resource.starts_with("alias/") {
            return Err(KmsKeyArnError::Alias { arn: arn.to_owned() });
        }
        let Some(key_id) = resource.strip_prefix("key/") else {
            return Err(malformed(format!("the resource `{resource}` is not `key/ID`")));
        };
        if key_id.is_empty() {
            return Err(malformed("the key ID is missing".to_owned()));
        }
        if !key_id.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-') {
            return Err(malformed(format!("the key ID `{key_id}` is not letters, digits and hyphens")));
        }
        Ok(Self(arn.to_owned()))
    }

    fn part(&self, index: usize) -> &str {
        self.0.split(':').nth(index).unwrap_or_default()
    }

    pub fn partition(&self) -> &str {
        self.part(1)
    }

    /// The key's region; SSE-KMS keys are regional, so it must be the bucket's.
    pub fn region(&self) -> &str {
        self.part(3)
    }

    pub fn account_id(&self) -> &str {
        self.part(4)
    }

    pub fn key_id(&self) -> &str {
        self.part(5).trim_start_matches("key/")
    }
}

string_value!(KmsKeyArn, KmsKeyArnError);

impl InvalidValue for KmsKeyArnError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            Self::NotAnArn { .. } => {
                format!("`kms_key = \"create\"` makes a new key; an existing key is named by its ARN, {SHAPE}")
            }
            Self::Alias { .. } => {
                "an alias can be moved to another key; use the key's ARN, which `aws kms describe-key --key-id alias/NAME` shows".to_owned()
            }
            Self::Malformed { .. } => format!("expected {SHAPE}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    #[test]
    fn create_or_key_arn() {
        assert_eq!(Encryption::new("create"), Ok(Encryption::KmsCreate));
        let Ok(Encryption::KmsKeyArn(arn)) = Encryption::new(ARN) else { panic!("{ARN} is a key ARN") };
        assert_eq!(arn.partition(), "aws");
        assert_eq!(arn.region(), "us-east-2");
        assert_eq!(arn.account_id(), "111122223333");
        assert_eq!(arn.key_id(), "1234abcd-12ab-34cd-56ef-1234567890ab");
        assert!(KmsKeyArn::new("arn:aws-cn:kms:cn-north-1:111122223333:key/mrk-0123").is_ok());
        assert!(KmsKeyArn::new("arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/k").is_ok());
    }

    #[test]
    fn rejects_aliases_and_malformed_arns() {
        assert!(matches!(Encryption::new("1234abcd-12ab"), Err(KmsKeyArnError::NotAnArn { .. })));
        assert!(matches!(Encryption::new("Create"), Err(KmsKeyArnError::NotAnArn { .. })));
        assert!(matches!(
            KmsKeyArn::new("arn:aws:kms:us-east-2:111122223333:alias/video"),
            Err(KmsKeyArnError::Alias { .. })
        ));
        let reason = |arn: &str| match KmsKeyArn::new(arn) {
            Err(KmsKeyArnError::Malformed { reason, .. }) => reason,
            other => panic!("{arn}: {other:?}"),
        };
        assert_eq!(reason("arn:aws:kms:us-east-2"), "it has 4 parts separated by `:`, a key ARN has 6");
        assert_eq!(reason("arn:amazon:kms:us-east-2:111122223333:key/k"), "`amazon` is not an AWS partition");
        assert_eq!(reason("arn:aws:s3:us-east-2:111122223333:key/k"), "it names the `s3` service, not `kms`");
        assert_eq!(reason("arn:aws:kms:useast2:111122223333:key/k"), "`useast2` is not a region code");
        assert_eq!(
            reason("arn:aws:kms:cn-north-1:111122223333:key/k"),
            "region `cn-north-1` is in the `aws-cn` partition, not `aws`"
        );
        assert_eq!(reason("arn:aws:kms:us-east-2:1111:key/k"), "the account `1111` is not 12 digits");
        assert_eq!(reason("arn:aws:kms:us-east-2:111122223333:key/"), "the key ID is missing");
        assert_eq!(reason("arn:aws:kms:us-east-2:111122223333:grant/g"), "the resource `grant/g` is not `key/ID`");
    }
}

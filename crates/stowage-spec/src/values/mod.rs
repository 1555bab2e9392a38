//! Validated values: each newtype's constructor enforces its rules, so holding one is proof
//! that the value is acceptable. Errors say what is wrong in their message and, through
//! [`InvalidValue::hint`], how to fix it.

mod account_sid;
mod bucket_name;
mod environment_name;
mod iam;
mod ignore_rule;
mod kms;
mod prefix;
mod public_key;
mod region;
mod tags;

pub use account_sid::{AccountSid, AccountSidError};
pub use bucket_name::{BucketName, BucketNameError};
pub use environment_name::{EnvironmentName, EnvironmentNameError};
pub use iam::{IamPath, IamPathError, IamUserName, IamUserNameError};
pub use ignore_rule::{IgnoreRule, IgnoreRuleError};
pub use kms::{Encryption, KmsKeyArn, KmsKeyArnError};
pub use prefix::{MAX_PREFIX_LENGTH, Prefix, PrefixError};
pub use public_key::{PublicKeyPem, PublicKeyPemError, check_public_key_pem};
pub use region::{KNOWN_REGIONS, Region, RegionError, S3HostForm, s3_host_form};
pub use tags::{MAX_TAGS, TagError, check_tag};

/// A rule a value broke. The message (its `Display`) says what is wrong; the hint, when there
/// is one, how to put it right.
pub trait InvalidValue: std::error::Error {
    fn hint(&self) -> Option<String> {
        None
    }
}

/// The accessors every validated string shares: `as_str`, `Display`, `AsRef<str>`, `FromStr`
/// (through `new`) and serialization as the plain string.
macro_rules! string_value {
    ($name:ident, $error:ty) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = $error;

            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::new(value)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }
    };
}
pub(crate) use string_value;

/// Characters of `value` that fail `allowed`, each once, as "`a`, `b`".
fn offending_characters(value: &str, allowed: impl Fn(char) -> bool) -> String {
    let mut seen = Vec::new();
    for character in value.chars().filter(|&character| !allowed(character)) {
        if !seen.contains(&character) {
            seen.push(character);
        }
    }
    let shown: Vec<String> = seen.iter().map(|character| format!("`{}`", character.escape_debug())).collect();
    shown.join(", ")
}

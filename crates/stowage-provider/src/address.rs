//! Resource types and addresses (`aws_s3_bucket.main`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::schema::{self, ResourceSchema};

/// Every kind of resource stowage manages, in dependency order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceType {
    #[serde(rename = "aws_kms_key")]
    KmsKey,
    #[serde(rename = "aws_s3_bucket")]
    S3Bucket,
    #[serde(rename = "aws_iam_user")]
    IamUser,
    #[serde(rename = "aws_iam_user_policy")]
    IamUserPolicy,
    #[serde(rename = "aws_iam_access_key")]
    IamAccessKey,
    #[serde(rename = "twilio_aws_credential")]
    TwilioAwsCredential,
    #[serde(rename = "twilio_public_key")]
    TwilioPublicKey,
    #[serde(rename = "twilio_video_recording_settings")]
    TwilioRecordingSettings,
    #[serde(rename = "twilio_video_composition_settings")]
    TwilioCompositionSettings,
}

/// Which provider serves a resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProviderName {
    Aws,
    Twilio,
}

impl ProviderName {
    /// The name used in plan JSON (`provider_name`), in Terraform's registry form.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderName::Aws => "stowage/aws",
            ProviderName::Twilio => "stowage/twilio",
        }
    }
}

impl ResourceType {
    pub const ALL: [ResourceType; 9] = [
        ResourceType::KmsKey,
        ResourceType::S3Bucket,
        ResourceType::IamUser,
        ResourceType::IamUserPolicy,
        ResourceType::IamAccessKey,
        ResourceType::TwilioAwsCredential,
        ResourceType::TwilioPublicKey,
        ResourceType::TwilioRecordingSettings,
        ResourceType::TwilioCompositionSettings,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::KmsKey => "aws_kms_key",
            ResourceType::S3Bucket => "aws_s3_bucket",
            ResourceType::IamUser => "aws_iam_user",
            ResourceType::IamUserPolicy => "aws_iam_user_policy",
            ResourceType::IamAccessKey => "aws_iam_access_key",
            ResourceType::TwilioAwsCredential => "twilio_aws_credential",
            ResourceType::TwilioPublicKey => "twilio_public_key",
            ResourceType::TwilioRecordingSettings => "twilio_video_recording_settings",
            ResourceType::TwilioCompositionSettings => "twilio_video_composition_settings",
        }
    }

    pub fn provider(self) -> ProviderName {
        match self {
            ResourceType::KmsKey
            | ResourceType::S3Bucket
            | ResourceType::IamUser
            | ResourceType::IamUserPolicy
            | ResourceType::IamAccessKey => ProviderName::Aws,
            ResourceType::TwilioAwsCredential
            | ResourceType::TwilioPublicKey
            | ResourceType::TwilioRecordingSettings
            | ResourceType::TwilioCompositionSettings => ProviderName::Twilio,
        }
    }

    pub fn schema(self) -> &'static ResourceSchema {
        schema::of(self)
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("unknown resource type `{0}`")]
    UnknownType(String),
    #[error("`{0}` is not a resource address: expected `TYPE.NAME`, e.g. `aws_s3_bucket.main`")]
    Malformed(String),
}

impl FromStr for ResourceType {
    type Err = AddressError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ResourceType::ALL
            .into_iter()
            .find(|ty| ty.as_str() == text)
            .ok_or_else(|| AddressError::UnknownType(text.to_owned()))
    }
}

/// A resource's address within one environment: its type and a name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    pub resource_type: ResourceType,
    pub name: String,
}

impl Address {
    pub fn new(resource_type: ResourceType, name: impl Into<String>) -> Self {
        Self { resource_type, name: name.into() }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.resource_type, self.name)
    }
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (ty, name) = text.split_once('.').ok_or_else(|| AddressError::Malformed(text.to_owned()))?;
        if name.is_empty() || name.contains('.') {
            return Err(AddressError::Malformed(text.to_owned()));
        }
        Ok(Address::new(ty.parse()?, name))
    }
}

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip_through_text() {
        for ty in ResourceType::ALL {
            let address = Address::new(ty, "main");
            assert_eq!(address.to_string().parse::<Address>(), Ok(address));
        }
    }

    #[test]
    fn malformed_addresses_are_refused() {
        assert_eq!("aws_s3_bucket".parse::<Address>(), Err(AddressError::Malformed("aws_s3_bucket".into())));
        assert_eq!("aws_s3_bucket.".parse::<Address>(), Err(AddressError::Malformed("aws_s3_bucket.".into())));
        assert_eq!("nope.main".parse::<Address>(), Err(AddressError::UnknownType("nope".into())));
    }
}

//! Resource types and addresses (`aws_s3_bucket.main`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use crate::types::ResourceType;

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
    /// The type's name in addresses, the state and plan JSON (`aws_s3_bucket`).
    pub fn as_str(self) -> &'static str {
        self.schema().name
    }

    pub fn provider(self) -> ProviderName {
        self.schema().provider
    }
}

impl Serialize for ResourceType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ResourceType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
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

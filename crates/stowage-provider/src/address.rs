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
    #[error(
        "`{0}` is not a resource address: expected `TYPE.NAME` or `TYPE.NAME[\"KEY\"]`, e.g. `aws_s3_bucket.main` or `twilio_aws_credential.main[\"AC…\"]`"
    )]
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

/// A resource's address within one environment: its type, a name and, for one of many
/// instances of the same resource (a fleet's subaccounts), the instance's key, written as
/// Terraform writes a `for_each` instance: `twilio_aws_credential.main["AC…"]`. Addresses
/// order by type, name, then key, so a resource's instances sit together.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    pub resource_type: ResourceType,
    pub name: String,
    /// The instance key (a fleet member's account SID); `None` for a single resource.
    pub key: Option<String>,
}

impl Address {
    pub fn new(resource_type: ResourceType, name: impl Into<String>) -> Self {
        Self { resource_type, name: name.into(), key: None }
    }

    /// This address's instance for `key`.
    pub fn instance(self, key: impl Into<String>) -> Self {
        Self { key: Some(key.into()), ..self }
    }

    /// The same address without an instance key: what a fleet's instances share.
    pub fn without_key(&self) -> Self {
        Self { resource_type: self.resource_type, name: self.name.clone(), key: None }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.resource_type, self.name)?;
        if let Some(key) = &self.key {
            write!(f, "[\"{key}\"]")?;
        }
        Ok(())
    }
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let malformed = || AddressError::Malformed(text.to_owned());
        let (base, key) = match text.split_once('[') {
            None => (text, None),
            Some((base, rest)) => {
                let key = rest.strip_prefix('"').and_then(|rest| rest.strip_suffix("\"]")).ok_or_else(malformed)?;
                if key.is_empty() || key.contains(['"', '[', ']']) {
                    return Err(malformed());
                }
                (base, Some(key.to_owned()))
            }
        };
        let (ty, name) = base.split_once('.').ok_or_else(malformed)?;
        if name.is_empty() || name.contains('.') {
            return Err(malformed());
        }
        Ok(Address { resource_type: ty.parse()?, name: name.to_owned(), key })
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
    fn instance_addresses_round_trip_through_text() {
        let address = Address::new(ResourceType::TwilioAwsCredential, "main").instance("AC0123");
        assert_eq!(address.to_string(), r#"twilio_aws_credential.main["AC0123"]"#);
        assert_eq!(address.to_string().parse::<Address>(), Ok(address.clone()));
        assert_eq!(address.without_key(), Address::new(ResourceType::TwilioAwsCredential, "main"));
        // A resource's instances sort after the resource without a key, and by key.
        let mut sorted = [address.clone(), address.without_key(), address.without_key().instance("AB")];
        sorted.sort();
        assert_eq!(
            sorted.iter().map(|address| address.key.as_deref()).collect::<Vec<_>>(),
            [None, Some("AB"), Some("AC0123")]
        );
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for text in [
            r#"aws_s3_bucket.main[AC]"#,
            r#"aws_s3_bucket.main[""]"#,
            r#"aws_s3_bucket.main["AC""#,
            r#"aws_s3_bucket["AC"]"#,
        ] {
            assert_eq!(text.parse::<Address>(), Err(AddressError::Malformed(text.into())), "{text}");
        }
        assert_eq!("aws_s3_bucket".parse::<Address>(), Err(AddressError::Malformed("aws_s3_bucket".into())));
        assert_eq!("aws_s3_bucket.".parse::<Address>(), Err(AddressError::Malformed("aws_s3_bucket.".into())));
        assert_eq!("nope.main".parse::<Address>(), Err(AddressError::UnknownType("nope".into())));
    }
}

//! AWS region codes.

use thiserror::Error;

use super::{InvalidValue, string_value};
use crate::suggest;

/// An AWS region code such as `us-east-2`: well formed, though possibly newer than
/// [`KNOWN_REGIONS`] (see [`Region::is_known`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Region(String);

/// Region codes known when this was written, in all partitions. New regions keep appearing, so
/// a well-formed code missing here is only worth a warning.
pub const KNOWN_REGIONS: [&str; 38] = [
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("`{region}` is not an AWS region code")]
pub struct RegionError {
    region: String,
}

impl Region {
    pub fn new(region: &str) -> Result<Self, RegionError> {
        if is_region_shape(region) {
            Ok(Self(region.to_owned()))
        } else {
            Err(RegionError { region: region.to_owned() })
        }
    }

    /// Whether the code is in [`KNOWN_REGIONS`].
    pub fn is_known(&self) -> bool {
        KNOWN_REGIONS.contains(&self.0.as_str())
    }

    /// The known region this code is most likely a typo of.
    pub fn closest_known(&self) -> Option<&'static str> {
        closest_known(&self.0)
    }

    /// The ARN partition the region belongs to: `aws`, `aws-cn`, `aws-us-gov` or `aws-eusc`.
    pub fn partition(&self) -> &'static str {
        if self.0.starts_with("cn-") {
            "aws-cn"
        } else if self.0.starts_with("us-gov-") {
            "aws-us-gov"
        } else if self.0.starts_with("eusc-") {
            "aws-eusc"
        } else {
            "aws"
        }
    }
}

string_value!(Region, RegionError);

/// Letters-only segments joined by hyphens, at least two of them, then a number: `us-east-2`,
/// `us-gov-west-1`, `eusc-de-east-1`.
fn is_region_shape(region: &str) -> bool {
    let segments: Vec<&str> = region.split('-').collect();
    let Some((number, words)) = segments.split_last() else {
        return false;
    };
    let first_is_area = words.first().is_some_and(|area| (2..=4).contains(&area.len()));
    first_is_area
        && words.len() >= 2
        && words.iter().all(|word| !word.is_empty() && word.bytes().all(|byte| byte.is_ascii_lowercase()))
        && (1..=2).contains(&number.len())
        && number.bytes().all(|byte| byte.is_ascii_digit())
}

fn closest_known(region: &str) -> Option<&'static str> {
    let lowercase = region.to_ascii_lowercase();
    suggest::closest(&lowercase, KNOWN_REGIONS)
}

impl InvalidValue for RegionError {
    fn hint(&self) -> Option<String> {
        Some(match closest_known(&self.region) {
            Some(known) => format!("did you mean `{known}`?"),
            None => "region codes look like `us-east-2` or `eu-central-1`".to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_region_shapes_known_or_not() {
        for region in ["us-east-2", "eu-central-1", "ap-southeast-3", "us-gov-west-1", "cn-north-1", "eusc-de-east-1"] {
            assert!(Region::new(region).is_ok(), "{region}");
        }
        assert!(Region::new("us-east-2").expect("valid").is_known());
        assert!(!Region::new("us-east-9").expect("well formed").is_known());
    }

    #[test]
    fn rejects_other_shapes() {
        for region in
            ["", "us-east2", "useast-2", "US-EAST-2", "us-east-", "us--east-1", "u-east-1", "us-east-100", "us-east-1a"]
        {
            assert!(Region::new(region).is_err(), "{region}");
        }
    }

    #[test]
    fn hints_at_the_nearest_known_region() {
        assert_eq!(Region::new("us-east2").expect_err("typo").hint().as_deref(), Some("did you mean `us-east-2`?"));
        assert_eq!(
            Region::new("EU-WEST-1").expect_err("uppercase").hint().as_deref(),
            Some("did you mean `eu-west-1`?")
        );
        assert_eq!(
            Region::new("mars").expect_err("nonsense").hint().as_deref(),
            Some("region codes look like `us-east-2` or `eu-central-1`")
        );
        assert_eq!(Region::new("us-east-7").expect("well formed").closest_known(), Some("us-east-1"));
    }

    #[test]
    fn partitions_follow_the_region() {
        assert_eq!(Region::new("cn-north-1").expect("valid").partition(), "aws-cn");
        assert_eq!(Region::new("us-gov-east-1").expect("valid").partition(), "aws-us-gov");
        assert_eq!(Region::new("eusc-de-east-1").expect("valid").partition(), "aws-eusc");
        assert_eq!(Region::new("eu-west-1").expect("valid").partition(), "aws");
    }
}

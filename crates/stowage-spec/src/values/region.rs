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

    /// The ARN partition the region belongs to: `aws`, `aws-cn`, `aws-us-gov`, `aws-eusc`, or
    /// one of the isolated `aws-iso*` partitions.
    pub fn partition(&self) -> &'static str {
        partition_of(&self.0)
    }

    /// The S3 host Twilio is given for a bucket in this region (see [`s3_host_form`]).
    pub fn s3_host_form(&self) -> S3HostForm {
        s3_host_form(&self.0)
    }
}

/// The partition of a region code, by its prefix (the same rule the AWS SDKs' partition table
/// uses): `cn-*` is China, `us-gov-*` GovCloud, `eusc-*` the European Sovereign Cloud, and the
/// `*-iso*-*` regions the isolated partitions.
fn partition_of(region: &str) -> &'static str {
    const PREFIXES: [(&str, &str); 7] = [
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("eusc-", "aws-eusc"),
        ("us-iso-", "aws-iso"),
        ("us-isob-", "aws-iso-b"),
        ("eu-isoe-", "aws-iso-e"),
        ("us-isof-", "aws-iso-f"),
    ];
    PREFIXES.iter().find(|(prefix, _)| region.starts_with(prefix)).map_or("aws", |(_, partition)| partition)
}

/// The host of the virtual-hosted S3 URL Twilio writes to, for a bucket in a region.
///
/// The Twilio guide recommends `BUCKET.s3-REGION.amazonaws.com`. AWS documents that dash form
/// as a legacy endpoint that "some older Amazon S3 Regions support" (S3 User Guide, "Virtual
/// hosting of buckets", Legacy endpoints); the regions launched after 20 March 2019 are the
/// opt-in regions (AWS Account Management guide), and AWS publishes no dash endpoint for any
/// of them. `BUCKET.s3.REGION.amazonaws.com` works in every region of the `aws` and
/// `aws-us-gov` partitions. So: the guide's dash form where AWS listed it, the dot form
/// everywhere else, including regions newer than this table. See docs/real-services.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S3HostForm {
    /// `BUCKET.s3-REGION.amazonaws.com` (and the dot form) both answer.
    Dash,
    /// Only `BUCKET.s3.REGION.amazonaws.com` answers; a dash host gets no redirect.
    Dot,
    /// The partition's S3 hosts are not under `amazonaws.com` (China: `amazonaws.com.cn`; the
    /// European Sovereign Cloud: `amazonaws.eu`) or not on the internet at all (the isolated
    /// partitions): Twilio cannot upload there.
    Unreachable { partition: &'static str },
}

/// The regions with a dash endpoint: those enabled by default (launched before 20 March 2019)
/// and the two GovCloud regions (2011 and 2018). Every row has its own test.
const DASH_REGIONS: [&str; 19] = [
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "eu-central-1",
    "eu-north-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

/// The S3 host form for a bucket in `region` (any string: an observed region may be newer
/// than [`KNOWN_REGIONS`]).
pub fn s3_host_form(region: &str) -> S3HostForm {
    match partition_of(region) {
        "aws" | "aws-us-gov" if DASH_REGIONS.contains(&region) => S3HostForm::Dash,
        "aws" | "aws-us-gov" => S3HostForm::Dot,
        partition => S3HostForm::Unreachable { partition },
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

    /// One test per row of the S3 host table, and one per kind of region outside it.
    macro_rules! host_form {
        ($($test:ident: $region:literal => $form:expr;)*) => {$(
            #[test]
            fn $test() {
                assert_eq!(s3_host_form($region), $form, "{}", $region);
            }
        )*};
    }

    host_form! {
        dash_ap_northeast_1: "ap-northeast-1" => S3HostForm::Dash;
        dash_ap_northeast_2: "ap-northeast-2" => S3HostForm::Dash;
        dash_ap_northeast_3: "ap-northeast-3" => S3HostForm::Dash;
        dash_ap_south_1: "ap-south-1" => S3HostForm::Dash;
        dash_ap_southeast_1: "ap-southeast-1" => S3HostForm::Dash;
        dash_ap_southeast_2: "ap-southeast-2" => S3HostForm::Dash;
        dash_ca_central_1: "ca-central-1" => S3HostForm::Dash;
        dash_eu_central_1: "eu-central-1" => S3HostForm::Dash;
        dash_eu_north_1: "eu-north-1" => S3HostForm::Dash;
        dash_eu_west_1: "eu-west-1" => S3HostForm::Dash;
        dash_eu_west_2: "eu-west-2" => S3HostForm::Dash;
        dash_eu_west_3: "eu-west-3" => S3HostForm::Dash;
        dash_sa_east_1: "sa-east-1" => S3HostForm::Dash;
        dash_us_east_1: "us-east-1" => S3HostForm::Dash;
        dash_us_east_2: "us-east-2" => S3HostForm::Dash;
        dash_us_gov_east_1: "us-gov-east-1" => S3HostForm::Dash;
        dash_us_gov_west_1: "us-gov-west-1" => S3HostForm::Dash;
        dash_us_west_1: "us-west-1" => S3HostForm::Dash;
        dash_us_west_2: "us-west-2" => S3HostForm::Dash;
        dot_af_south_1: "af-south-1" => S3HostForm::Dot;
        dot_ap_east_1: "ap-east-1" => S3HostForm::Dot;
        dot_ap_east_2: "ap-east-2" => S3HostForm::Dot;
        dot_ap_south_2: "ap-south-2" => S3HostForm::Dot;
        dot_ap_southeast_3: "ap-southeast-3" => S3HostForm::Dot;
        dot_ap_southeast_4: "ap-southeast-4" => S3HostForm::Dot;
        dot_ap_southeast_5: "ap-southeast-5" => S3HostForm::Dot;
        dot_ap_southeast_6: "ap-southeast-6" => S3HostForm::Dot;
        dot_ap_southeast_7: "ap-southeast-7" => S3HostForm::Dot;
        dot_ca_west_1: "ca-west-1" => S3HostForm::Dot;
        dot_eu_central_2: "eu-central-2" => S3HostForm::Dot;
        dot_eu_south_1: "eu-south-1" => S3HostForm::Dot;
        dot_eu_south_2: "eu-south-2" => S3HostForm::Dot;
        dot_il_central_1: "il-central-1" => S3HostForm::Dot;
        dot_me_central_1: "me-central-1" => S3HostForm::Dot;
        dot_me_south_1: "me-south-1" => S3HostForm::Dot;
        dot_mx_central_1: "mx-central-1" => S3HostForm::Dot;
        dot_for_a_region_newer_than_the_table: "eu-west-9" => S3HostForm::Dot;
        unreachable_cn_north_1: "cn-north-1" => S3HostForm::Unreachable { partition: "aws-cn" };
        unreachable_cn_northwest_1: "cn-northwest-1" => S3HostForm::Unreachable { partition: "aws-cn" };
        unreachable_eusc_de_east_1: "eusc-de-east-1" => S3HostForm::Unreachable { partition: "aws-eusc" };
        unreachable_us_iso_east_1: "us-iso-east-1" => S3HostForm::Unreachable { partition: "aws-iso" };
        unreachable_us_isob_east_1: "us-isob-east-1" => S3HostForm::Unreachable { partition: "aws-iso-b" };
    }

    #[test]
    fn every_known_region_has_a_host_form_row() {
        // A known region outside the dash list must be one of the dot rows above: adding a
        // region to KNOWN_REGIONS without deciding its form fails here.
        let dot_rows = [
            "af-south-1",
            "ap-east-1",
            "ap-east-2",
            "ap-south-2",
            "ap-southeast-3",
            "ap-southeast-4",
            "ap-southeast-5",
            "ap-southeast-6",
            "ap-southeast-7",
            "ca-west-1",
            "eu-central-2",
            "eu-south-1",
            "eu-south-2",
            "il-central-1",
            "me-central-1",
            "me-south-1",
            "mx-central-1",
            "cn-north-1",
            "cn-northwest-1",
        ];
        for region in KNOWN_REGIONS {
            assert!(DASH_REGIONS.contains(&region) || dot_rows.contains(&region), "{region} has no row");
        }
    }

    #[test]
    fn partitions_follow_the_region() {
        assert_eq!(Region::new("cn-north-1").expect("valid").partition(), "aws-cn");
        assert_eq!(Region::new("us-gov-east-1").expect("valid").partition(), "aws-us-gov");
        assert_eq!(Region::new("eusc-de-east-1").expect("valid").partition(), "aws-eusc");
        assert_eq!(Region::new("eu-west-1").expect("valid").partition(), "aws");
        assert_eq!(Region::new("us-isob-east-1").expect("valid").partition(), "aws-iso-b");
    }
}

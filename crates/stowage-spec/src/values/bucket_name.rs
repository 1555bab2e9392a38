//! S3 bucket names, with Twilio's extra 7-bit ASCII rule.

use thiserror::Error;

use super::{InvalidValue, offending_characters, string_value};

/// A bucket name S3 accepts and Twilio can store into.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BucketName(String);

/// Prefixes S3 reserves for its own naming schemes.
const RESERVED_PREFIXES: [&str; 3] = ["xn--", "sthree-", "amzn-s3-demo-"];
/// Suffixes S3 reserves for access point aliases and other bucket kinds.
const RESERVED_SUFFIXES: [&str; 5] = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BucketNameError {
    #[error("Twilio cannot store into bucket `{name}`: its name contains non-ASCII characters ({characters})")]
    NonAscii { name: String, characters: String },
    #[error("bucket name `{name}` is {length} characters long, S3 needs 3 to 63")]
    Length { name: String, length: usize },
    #[error("bucket name `{name}` contains uppercase letters")]
    Uppercase { name: String },
    #[error("bucket name `{name}` contains {characters}, S3 allows lowercase letters, digits, hyphens and dots")]
    Characters { name: String, characters: String },
    #[error("bucket name `{name}` must start and end with a letter or digit")]
    Edges { name: String },
    #[error("bucket name `{name}` contains `..`")]
    ConsecutiveDots { name: String },
    #[error("bucket name `{name}` is formatted as an IP address")]
    IpAddress { name: String },
    #[error("bucket name `{name}` starts with `{prefix}`, which S3 reserves")]
    ReservedPrefix { name: String, prefix: &'static str },
    #[error("bucket name `{name}` ends with `{suffix}`, which S3 reserves")]
    ReservedSuffix { name: String, suffix: &'static str },
}

impl BucketName {
    pub fn new(name: &str) -> Result<Self, BucketNameError> {
        let owned = || name.to_owned();
        // Checked first: it is Twilio's rule, and the one with a non-obvious consequence.
        if !name.is_ascii() {
            let characters = offending_characters(name, |character| character.is_ascii());
            return Err(BucketNameError::NonAscii { name: owned(), characters });
        }
        if !(3..=63).contains(&name.len()) {
            return Err(BucketNameError::Length { name: owned(), length: name.len() });
        }
        if name.bytes().any(|byte| byte.is_ascii_uppercase()) {
            return Err(BucketNameError::Uppercase { name: owned() });
        }
        let allowed = |character: char| {
            character.is_ascii_lowercase() || character.is_ascii_digit() || matches!(character, '-' | '.')
        };
        if !name.chars().all(allowed) {
            return Err(BucketNameError::Characters { name: owned(), characters: offending_characters(name, allowed) });
        }
        let letter_or_digit = |byte: Option<&u8>| byte.is_some_and(|byte| byte.is_ascii_alphanumeric());
        if !letter_or_digit(name.as_bytes().first()) || !letter_or_digit(name.as_bytes().last()) {
            return Err(BucketNameError::Edges { name: owned() });
        }
        if name.contains("..") {
            return Err(BucketNameError::ConsecutiveDots { name: owned() });
        }
        if looks_like_ipv4(name) {
            return Err(BucketNameError::IpAddress { name: owned() });
        }
        if let Some(prefix) = RESERVED_PREFIXES.into_iter().find(|prefix| name.starts_with(prefix)) {
            return Err(BucketNameError::ReservedPrefix { name: owned(), prefix });
        }
        if let Some(suffix) = RESERVED_SUFFIXES.into_iter().find(|suffix| name.ends_with(suffix)) {
            return Err(BucketNameError::ReservedSuffix { name: owned(), suffix });
        }
        Ok(Self(name.to_owned()))
    }

    /// Whether the name has dots, which break HTTPS to the virtual-hosted URL Twilio uses: S3's
    /// wildcard certificate covers one label only.
    pub fn has_dots(&self) -> bool {
        self.0.contains('.')
    }
}

string_value!(BucketName, BucketNameError);

fn looks_like_ipv4(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|part| (1..=3).contains(&part.len()) && part.bytes().all(|byte| byte.is_ascii_digit()))
}

impl InvalidValue for BucketNameError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::NonAscii { .. } => Some(
                "use only lowercase ASCII letters `a-z`, digits, hyphens and dots; the Twilio guide requires 7-bit ASCII bucket names".to_owned(),
            ),
            Self::Length { .. } => Some("choose a name of 3 to 63 characters".to_owned()),
            Self::Uppercase { name } => suggestion(&name.to_ascii_lowercase()),
            Self::Characters { name, .. } => suggestion(&name.replace(['_', ' '], "-")),
            Self::IpAddress { .. } => Some("use letters as well as digits, for example `acme-video-dev`".to_owned()),
            Self::Edges { .. } | Self::ConsecutiveDots { .. } | Self::ReservedPrefix { .. } | Self::ReservedSuffix { .. } => None,
        }
    }
}

/// `did you mean ...?` when the repaired name is valid.
fn suggestion(repaired: &str) -> Option<String> {
    BucketName::new(repaired).ok().map(|name| format!("did you mean `{name}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_names() {
        for name in ["abc", "acme-video-dev", "a.b.c", "1bucket2", &"a".repeat(63), "xn-single-hyphen"] {
            assert_eq!(BucketName::new(name).map(|name| name.to_string()), Ok(name.to_owned()), "{name}");
        }
    }

    #[test]
    fn rejects_each_broken_rule() {
        let reject = |name: &str| BucketName::new(name).expect_err(name);
        assert!(matches!(reject("acme-vidéo"), BucketNameError::NonAscii { characters, .. } if characters == "`é`"));
        assert!(matches!(reject("ab"), BucketNameError::Length { length: 2, .. }));
        assert!(matches!(reject(&"a".repeat(64)), BucketNameError::Length { length: 64, .. }));
        assert!(matches!(reject("Acme-Video"), BucketNameError::Uppercase { .. }));
        assert!(matches!(reject("acme_video"), BucketNameError::Characters { characters, .. } if characters == "`_`"));
        assert!(matches!(reject("-acme"), BucketNameError::Edges { .. }));
        assert!(matches!(reject("acme."), BucketNameError::Edges { .. }));
        assert!(matches!(reject("acme..video"), BucketNameError::ConsecutiveDots { .. }));
        assert!(matches!(reject("192.168.5.4"), BucketNameError::IpAddress { .. }));
        assert!(matches!(reject("xn--acme"), BucketNameError::ReservedPrefix { prefix: "xn--", .. }));
        assert!(matches!(reject("sthree-acme"), BucketNameError::ReservedPrefix { prefix: "sthree-", .. }));
        assert!(matches!(reject("acme-s3alias"), BucketNameError::ReservedSuffix { suffix: "-s3alias", .. }));
        assert!(matches!(reject("acme--ol-s3"), BucketNameError::ReservedSuffix { suffix: "--ol-s3", .. }));
    }

    #[test]
    fn non_ascii_message_names_twilio() {
        let message = BucketName::new("caf\u{e9}-video").expect_err("non-ASCII").to_string();
        assert_eq!(
            message,
            "Twilio cannot store into bucket `café-video`: its name contains non-ASCII characters (`é`)"
        );
    }

    #[test]
    fn hints_offer_a_repaired_name_when_one_exists() {
        assert_eq!(
            BucketName::new("Acme-Video").expect_err("upper").hint().as_deref(),
            Some("did you mean `acme-video`?")
        );
        assert_eq!(
            BucketName::new("acme_video").expect_err("underscore").hint().as_deref(),
            Some("did you mean `acme-video`?")
        );
        assert_eq!(BucketName::new("Acme_").expect_err("upper").hint(), None);
    }

    #[test]
    fn dots_are_reported() {
        assert!(BucketName::new("a.b").expect("valid").has_dots());
        assert!(!BucketName::new("a-b").expect("valid").has_dots());
    }
}

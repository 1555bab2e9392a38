//! Drift ignore rules.

use thiserror::Error;

use super::{InvalidValue, string_value};

/// A difference `stowage drift` does not report: a whole resource (`TYPE.NAME`) or one of its
/// attributes (`TYPE.NAME.ATTRIBUTE`), each part lowercase letters, digits and underscores.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IgnoreRule(String);

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("drift ignore rule `{rule}` is not `TYPE.NAME` or `TYPE.NAME.ATTRIBUTE`")]
pub struct IgnoreRuleError {
    rule: String,
}

impl IgnoreRule {
    pub fn new(rule: &str) -> Result<Self, IgnoreRuleError> {
        let part_is_valid = |part: &str| {
            !part.is_empty()
                && part.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_')
        };
        let parts: Vec<&str> = rule.split('.').collect();
        if (2..=3).contains(&parts.len()) && parts.iter().all(|part| part_is_valid(part)) {
            Ok(Self(rule.to_owned()))
        } else {
            Err(IgnoreRuleError { rule: rule.to_owned() })
        }
    }

    fn part(&self, index: usize) -> Option<&str> {
        self.0.split('.').nth(index)
    }

    /// The resource type, such as `aws_s3_bucket`.
    pub fn resource_type(&self) -> &str {
        self.part(0).unwrap_or_default()
    }

    /// The resource name, such as `main`.
    pub fn resource_name(&self) -> &str {
        self.part(1).unwrap_or_default()
    }

    /// The resource address, `TYPE.NAME`.
    pub fn address(&self) -> &str {
        let end = self.resource_type().len() + 1 + self.resource_name().len();
        &self.0[..end]
    }

    /// The attribute, or `None` when the whole resource is ignored.
    pub fn attribute(&self) -> Option<&str> {
        self.part(2)
    }
}

string_value!(IgnoreRule, IgnoreRuleError);

impl InvalidValue for IgnoreRuleError {
    fn hint(&self) -> Option<String> {
        Some("for example `aws_s3_bucket.main` or `aws_s3_bucket.main.tags`; parts are lowercase letters, digits and underscores".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_addresses_and_attributes() {
        let rule = IgnoreRule::new("aws_s3_bucket.main.tags").expect("valid");
        assert_eq!(
            (rule.resource_type(), rule.resource_name(), rule.address(), rule.attribute()),
            ("aws_s3_bucket", "main", "aws_s3_bucket.main", Some("tags"))
        );
        let rule = IgnoreRule::new("aws_iam_user.uploader").expect("valid");
        assert_eq!((rule.address(), rule.attribute()), ("aws_iam_user.uploader", None));
    }

    #[test]
    fn rejects_other_shapes() {
        for rule in [
            "",
            "aws_s3_bucket",
            "aws_s3_bucket.",
            "aws_s3_bucket.main.tags.team",
            "AWS_S3_BUCKET.main",
            "aws-s3-bucket.main",
            "aws_s3_bucket..tags",
        ] {
            assert!(IgnoreRule::new(rule).is_err(), "{rule}");
        }
    }
}

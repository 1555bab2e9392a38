//! Bucket tag rules.

use thiserror::Error;

use super::{InvalidValue, offending_characters};

/// S3 allows at most this many tags on a bucket.
pub const MAX_TAGS: usize = 50;
const MAX_KEY: usize = 128;
const MAX_VALUE: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TagError {
    #[error("tag key is empty")]
    EmptyKey,
    #[error("tag key `{key}` is {length} characters long, S3 allows at most 128")]
    KeyTooLong { key: String, length: usize },
    #[error("tag key `{key}` starts with `aws:`, which AWS reserves")]
    ReservedKey { key: String },
    #[error("tag value of `{key}` is {length} characters long, S3 allows at most 256")]
    ValueTooLong { key: String, length: usize },
    #[error("tag `{key}` contains {characters}, S3 allows letters, digits, spaces and `_.:/=+-@`")]
    Characters { key: String, characters: String },
    #[error("tag {what} `{text}` starts or ends with a space")]
    OuterSpace { what: &'static str, text: String },
}

/// Checks one tag against S3's rules.
pub fn check_tag(key: &str, value: &str) -> Result<(), TagError> {
    let allowed = |character: char| character.is_alphanumeric() || character == ' ' || "_.:/=+-@".contains(character);
    let key_length = key.chars().count();
    let value_length = value.chars().count();
    if key.is_empty() {
        Err(TagError::EmptyKey)
    } else if key_length > MAX_KEY {
        Err(TagError::KeyTooLong { key: key.to_owned(), length: key_length })
    } else if key.starts_with("aws:") {
        Err(TagError::ReservedKey { key: key.to_owned() })
    } else if value_length > MAX_VALUE {
        Err(TagError::ValueTooLong { key: key.to_owned(), length: value_length })
    } else if !key.chars().chain(value.chars()).all(allowed) {
        let characters = offending_characters(&format!("{key}{value}"), allowed);
        Err(TagError::Characters { key: key.to_owned(), characters })
    } else if key.trim() != key {
        Err(TagError::OuterSpace { what: "key", text: key.to_owned() })
    } else if value.trim() != value {
        Err(TagError::OuterSpace { what: "value", text: value.to_owned() })
    } else {
        Ok(())
    }
}

impl InvalidValue for TagError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::ReservedKey { key } => Some(format!("did you mean `{}`?", key.trim_start_matches("aws:"))),
            // Invisible in a spec and in the console; S3's tagging API does not keep them
            // reliably (moto trims them), so the bucket would never match the spec.
            Self::OuterSpace { text, .. } => Some(format!("did you mean `{}`?", text.trim())),
            Self::EmptyKey | Self::KeyTooLong { .. } | Self::ValueTooLong { .. } | Self::Characters { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_s3_tags() {
        assert_eq!(check_tag("team", "video"), Ok(()));
        assert_eq!(check_tag("cost-center:id", ""), Ok(()));
        assert_eq!(check_tag("équipe", "vidéo @ dev"), Ok(()));
        assert_eq!(check_tag(&"k".repeat(128), &"v".repeat(256)), Ok(()));
    }

    #[test]
    fn rejects_each_broken_rule() {
        assert_eq!(check_tag("", "x"), Err(TagError::EmptyKey));
        assert!(matches!(check_tag(&"k".repeat(129), ""), Err(TagError::KeyTooLong { length: 129, .. })));
        assert!(matches!(check_tag("aws:team", "x"), Err(TagError::ReservedKey { .. })));
        assert!(matches!(check_tag("team", &"v".repeat(257)), Err(TagError::ValueTooLong { length: 257, .. })));
        assert!(
            matches!(check_tag("team", "a&b"), Err(TagError::Characters { characters, .. }) if characters == "`&`")
        );
        assert_eq!(check_tag("aws:team", "x").expect_err("reserved").hint().as_deref(), Some("did you mean `team`?"));
        assert_eq!(check_tag("team ", "x"), Err(TagError::OuterSpace { what: "key", text: "team ".to_owned() }));
        assert_eq!(check_tag("team", " x"), Err(TagError::OuterSpace { what: "value", text: " x".to_owned() }));
        assert_eq!(check_tag("team", "x ").expect_err("space").hint().as_deref(), Some("did you mean `x`?"));
        assert_eq!(check_tag("my team", "a b"), Ok(()));
    }
}

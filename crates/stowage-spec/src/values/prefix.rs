//! S3 key prefixes, normalised.

use thiserror::Error;

use super::{InvalidValue, offending_characters, string_value};

/// A key prefix in the bucket, normalised: no leading slash and exactly one trailing slash
/// (`recordings` is `recordings/`, `/a/b` is `a/b/`), or empty for the whole bucket (`/`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Prefix(String);

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PrefixError {
    #[error("prefix `{prefix}` contains {characters}, prefixes are printable ASCII without spaces")]
    Characters { prefix: String, characters: String },
    #[error("prefix `{prefix}` contains the wildcard {wildcards}")]
    Wildcard { prefix: String, wildcards: String },
    #[error("prefix `{prefix}` contains `//`")]
    EmptySegment { prefix: String },
}

impl Prefix {
    pub fn new(prefix: &str) -> Result<Self, PrefixError> {
        let printable = |character: char| ('\u{21}'..='\u{7e}').contains(&character);
        if !prefix.chars().all(printable) {
            return Err(PrefixError::Characters {
                prefix: prefix.to_owned(),
                characters: offending_characters(prefix, printable),
            });
        }
        // The uploader policy grants `BUCKET/PREFIX*`: a wildcard here would widen it.
        let literal = |character: char| !matches!(character, '*' | '?');
        if !prefix.chars().all(literal) {
            return Err(PrefixError::Wildcard {
                prefix: prefix.to_owned(),
                wildcards: offending_characters(prefix, literal),
            });
        }
        if prefix.contains("//") {
            return Err(PrefixError::EmptySegment { prefix: prefix.to_owned() });
        }
        let trimmed = prefix.strip_prefix('/').unwrap_or(prefix);
        if trimmed.is_empty() || trimmed.ends_with('/') {
            Ok(Self(trimmed.to_owned()))
        } else {
            Ok(Self(format!("{trimmed}/")))
        }
    }

    /// The empty prefix: every key in the bucket.
    pub fn whole_bucket() -> Self {
        Self(String::new())
    }

    pub fn is_whole_bucket(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether some key could fall under both prefixes: they are equal, or one starts the
    /// other (and the whole bucket overlaps everything).
    pub fn overlaps(&self, other: &Prefix) -> bool {
        self.0.starts_with(&other.0) || other.0.starts_with(&self.0)
    }
}

string_value!(Prefix, PrefixError);

impl InvalidValue for PrefixError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Wildcard { .. } => {
                Some("a prefix is literal: the uploader policy already covers every key under it".to_owned())
            }
            Self::EmptySegment { prefix } => {
                let segments: Vec<&str> = prefix.split('/').filter(|segment| !segment.is_empty()).collect();
                let repaired = if segments.is_empty() { "/".to_owned() } else { format!("{}/", segments.join("/")) };
                Some(format!("did you mean `{repaired}`?"))
            }
            Self::Characters { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalised(prefix: &str) -> String {
        Prefix::new(prefix).expect(prefix).to_string()
    }

    #[test]
    fn normalisation_strips_the_leading_slash_and_ends_with_one() {
        assert_eq!(normalised("recordings"), "recordings/");
        assert_eq!(normalised("recordings/"), "recordings/");
        assert_eq!(normalised("/a/b"), "a/b/");
        assert_eq!(normalised("/a/b/"), "a/b/");
        assert_eq!(normalised("/"), "");
        assert_eq!(normalised(""), "");
        assert!(Prefix::new("/").expect("root").is_whole_bucket());
        assert_eq!(Prefix::whole_bucket(), Prefix::new("").expect("empty"));
    }

    #[test]
    fn rejects_each_broken_rule() {
        assert!(matches!(Prefix::new("a//b"), Err(PrefixError::EmptySegment { .. })));
        assert!(matches!(Prefix::new("recordings//"), Err(PrefixError::EmptySegment { .. })));
        assert!(matches!(Prefix::new("//"), Err(PrefixError::EmptySegment { .. })));
        assert!(matches!(Prefix::new("rec*"), Err(PrefixError::Wildcard { wildcards, .. }) if wildcards == "`*`"));
        assert!(matches!(Prefix::new("rec?"), Err(PrefixError::Wildcard { .. })));
        assert!(
            matches!(Prefix::new("my recordings"), Err(PrefixError::Characters { characters, .. }) if characters == "` `")
        );
        assert!(matches!(Prefix::new("récordings"), Err(PrefixError::Characters { .. })));
        assert_eq!(Prefix::new("a//b/").expect_err("double slash").hint().as_deref(), Some("did you mean `a/b/`?"));
    }

    #[test]
    fn overlap_is_equality_or_one_starting_the_other() {
        let prefix = |text: &str| Prefix::new(text).expect(text);
        assert!(prefix("recordings").overlaps(&prefix("recordings/")));
        assert!(prefix("media/").overlaps(&prefix("media/compositions/")));
        assert!(prefix("media/compositions/").overlaps(&prefix("media/")));
        assert!(prefix("/").overlaps(&prefix("compositions/")));
        assert!(!prefix("recordings/").overlaps(&prefix("compositions/")));
        // `rec/` does not start `recordings/`: the trailing slash keeps them apart.
        assert!(!prefix("rec").overlaps(&prefix("recordings")));
    }
}

//! S3 key prefixes, normalised.

use thiserror::Error;

use super::{InvalidValue, offending_characters, string_value};

/// A key prefix in the bucket, normalised: no leading slash and exactly one trailing slash
/// (`recordings` is `recordings/`, `/a/b` is `a/b/`), or empty for the whole bucket (`/`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Prefix(String);

/// The longest prefix: S3 lifecycle rule ids are at most 255 characters, and stowage names a
/// prefix's rule `stowage-expire-PREFIX` (15 characters before the prefix). It also keeps the
/// uploader's inline policy, which names each stored prefix, far below IAM's 2,048 characters.
pub const MAX_PREFIX_LENGTH: usize = 240;

/// Characters S3 tells to avoid in object keys (S3 User Guide, "Naming Amazon S3 objects"):
/// each is unsafe in the URL path Twilio is given, or needs escaping in a key.
const UNSAFE: [char; 13] = ['\\', '{', '}', '^', '%', '`', ']', '[', '"', '>', '<', '~', '#'];

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PrefixError {
    #[error("prefix `{prefix}` contains {characters}, prefixes are printable ASCII without spaces")]
    Characters { prefix: String, characters: String },
    #[error("prefix `{prefix}` contains the wildcard {wildcards}")]
    Wildcard { prefix: String, wildcards: String },
    #[error(
        "prefix `{prefix}` contains {characters}, which S3 says to avoid in keys and which break the URL Twilio is given"
    )]
    Unsafe { prefix: String, characters: String },
    #[error("prefix `{prefix}` contains `${{`, which IAM reads as a policy variable in the uploader's policy")]
    PolicyVariable { prefix: String },
    #[error("prefix `{prefix}` contains `//`")]
    EmptySegment { prefix: String },
    #[error("prefix is {length} characters long, at most {MAX_PREFIX_LENGTH} are allowed")]
    TooLong { length: usize },
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
        // Before the unsafe characters, which include `{`: this says why it matters here.
        if prefix.contains("${") {
            return Err(PrefixError::PolicyVariable { prefix: prefix.to_owned() });
        }
        let safe = |character: char| !UNSAFE.contains(&character) && character != '|';
        if !prefix.chars().all(safe) {
            return Err(PrefixError::Unsafe {
                prefix: prefix.to_owned(),
                characters: offending_characters(prefix, safe),
            });
        }
        if prefix.len() > MAX_PREFIX_LENGTH {
            return Err(PrefixError::TooLong { length: prefix.len() });
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
            Self::Unsafe { .. } => Some(
                "use letters, digits and `/ - _ . ! ' ( ) & $ @ = ; : + ,` in prefixes, such as `recordings/`"
                    .to_owned(),
            ),
            Self::PolicyVariable { .. } => Some("remove `${` from the prefix".to_owned()),
            Self::TooLong { .. } => Some(format!(
                "S3 limits lifecycle rule ids to 255 characters and stowage names each prefix's rule after it: \
                 shorten the prefix to {MAX_PREFIX_LENGTH} characters or fewer"
            )),
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
    fn rejects_what_is_unsafe_in_a_url_path_an_s3_key_or_an_iam_policy() {
        for unsafe_prefix in
            ["rec#1/", "100%/", "a{b}/", "say\"hi\"/", "a\\b/", "x^y", "a`b", "[a]", "<a>", "a|b", "~a"]
        {
            assert!(matches!(Prefix::new(unsafe_prefix), Err(PrefixError::Unsafe { .. })), "{unsafe_prefix}");
        }
        assert_eq!(
            Prefix::new("rec#1/").expect_err("hash").to_string(),
            "prefix `rec#1/` contains `#`, which S3 says to avoid in keys and which break the URL Twilio is given"
        );
        assert!(matches!(Prefix::new("rec/${aws:username}/"), Err(PrefixError::PolicyVariable { .. })));
        assert!(matches!(Prefix::new("tab\there"), Err(PrefixError::Characters { .. })));
        assert!(matches!(Prefix::new("a b"), Err(PrefixError::Characters { .. })));
        // What S3 calls "might need special handling" but a URL path carries as it is.
        for fine in ["env=prod/", "a+b/", "a,b;c:d@e&f$g/", "x!(y)'z/"] {
            assert!(Prefix::new(fine).is_ok(), "{fine}");
        }
    }

    #[test]
    fn length_is_bounded_by_the_lifecycle_rule_id() {
        assert!(Prefix::new(&"a".repeat(MAX_PREFIX_LENGTH)).is_ok());
        assert_eq!(
            Prefix::new(&"a".repeat(MAX_PREFIX_LENGTH + 1)),
            Err(PrefixError::TooLong { length: MAX_PREFIX_LENGTH + 1 })
        );
        assert!("stowage-expire-".len() + MAX_PREFIX_LENGTH <= 255);
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

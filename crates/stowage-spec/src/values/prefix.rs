//! S3 key prefixes, normalised.

use thiserror::Error;

use super::{InvalidValue, offending_characters, string_value};

/// A key prefix in the bucket, normalised: no leading slash and exactly one trailing slash
/// (`recordings` is `recordings/`, `/a/b` is `a/b/`), or empty for the whole bucket (`/`).
///
/// It may hold [`Prefix::ACCOUNT_SID_PLACEHOLDER`] once, for a fleet's subaccounts: every
/// rule then holds for the prefix as it will be with a real account SID in its place
/// ([`Prefix::for_account`]). Where the placeholder is allowed is the spec's business: only in
/// the stored prefixes of a spec with `[fleet]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Prefix(String);

/// The longest prefix: S3 lifecycle rule ids are at most 255 characters, and stowage names a
/// prefix's rule `stowage-expire-PREFIX` (15 characters before the prefix). It also keeps the
/// uploader's inline policy, which names each stored prefix, far below IAM's 2,048 characters.
pub const MAX_PREFIX_LENGTH: usize = 240;

/// Characters S3 tells to avoid in object keys (S3 User Guide, "Naming Amazon S3 objects"):
/// each is unsafe in the URL path Twilio is given, or needs escaping in a key.
const UNSAFE: [char; 13] = ['\\', '{', '}', '^', '%', '`', ']', '[', '"', '>', '<', '~', '#'];

/// What [`Prefix::new`] puts in place of the placeholder before checking a prefix: the shape
/// (and length) of every real account SID.
const SAMPLE_ACCOUNT_SID: &str = "AC00000000000000000000000000000000";

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
    #[error(
        "prefix is {length} characters long once `{{account_sid}}` is replaced by an account SID (34 \
         characters), at most {MAX_PREFIX_LENGTH} are allowed"
    )]
    TooLongForAccount { length: usize },
    #[error("prefix `{prefix}` contains `{{account_sid}}` more than once")]
    RepeatedPlaceholder { prefix: String },
    #[error("prefix `{prefix}` contains the placeholder `{placeholder}`; the only placeholder is `{{account_sid}}`")]
    UnknownPlaceholder { prefix: String, placeholder: String },
}

impl Prefix {
    /// Stands for each subaccount's SID in a fleet's stored prefixes:
    /// `recordings/{account_sid}/`.
    pub const ACCOUNT_SID_PLACEHOLDER: &str = "{account_sid}";

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
        if prefix.matches(Self::ACCOUNT_SID_PLACEHOLDER).count() > 1 {
            return Err(PrefixError::RepeatedPlaceholder { prefix: prefix.to_owned() });
        }
        // Every other rule holds for the prefix as Twilio will write under it.
        let written = prefix.replacen(Self::ACCOUNT_SID_PLACEHOLDER, SAMPLE_ACCOUNT_SID, 1);
        if let Some(placeholder) = placeholder_like(&written) {
            return Err(PrefixError::UnknownPlaceholder { prefix: prefix.to_owned(), placeholder });
        }
        let safe = |character: char| !UNSAFE.contains(&character) && character != '|';
        if !written.chars().all(safe) {
            return Err(PrefixError::Unsafe {
                prefix: prefix.to_owned(),
                characters: offending_characters(&written, safe),
            });
        }
        if written.len() > MAX_PREFIX_LENGTH {
            return Err(if written.len() == prefix.len() {
                PrefixError::TooLong { length: prefix.len() }
            } else {
                PrefixError::TooLongForAccount { length: written.len() }
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

    /// Whether the prefix holds [`Self::ACCOUNT_SID_PLACEHOLDER`].
    pub fn has_account_placeholder(&self) -> bool {
        self.0.contains(Self::ACCOUNT_SID_PLACEHOLDER)
    }

    /// The prefix one account writes under: the placeholder replaced by `account_sid`; the
    /// prefix itself when it has no placeholder.
    pub fn for_account(&self, account_sid: &str) -> String {
        self.0.replacen(Self::ACCOUNT_SID_PLACEHOLDER, account_sid, 1)
    }

    /// The empty prefix: every key in the bucket.
    pub fn whole_bucket() -> Self {
        Self(String::new())
    }

    pub fn is_whole_bucket(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether some key could fall under both prefixes: they are equal, or one starts the
    /// other (and the whole bucket overlaps everything). With placeholders, whether that can
    /// happen for any accounts, the same one or two different ones: `{account_sid}/` overlaps
    /// `AC0123…cdef/x/` (one account's SID written out), not `ACab/` (no SID).
    pub fn overlaps(&self, other: &Prefix) -> bool {
        // One SID per placeholder and each placeholder at most once: every position of one
        // prefix meets one position of the other, and no SID character is met twice, so the
        // positions can be compared one by one.
        self.positions().zip(other.positions()).all(|(one, another)| one.meets(another))
    }

    /// What each position of the prefix can hold, the placeholder expanded to an SID's shape.
    fn positions(&self) -> impl Iterator<Item = Position> + '_ {
        let (before, after) = match self.0.split_once(Self::ACCOUNT_SID_PLACEHOLDER) {
            Some((before, after)) => (before, Some(after)),
            None => (self.0.as_str(), None),
        };
        let sid = after.map(|_| {
            "AC".bytes()
                .map(Position::Literal)
                .chain(std::iter::repeat_n(Position::HexDigit, SAMPLE_ACCOUNT_SID.len() - 2))
        });
        before
            .bytes()
            .map(Position::Literal)
            .chain(sid.into_iter().flatten())
            .chain(after.unwrap_or_default().bytes().map(Position::Literal))
    }
}

/// One character of a prefix: written, or an account SID's lowercase hexadecimal digit.
#[derive(Debug, Clone, Copy)]
enum Position {
    Literal(u8),
    HexDigit,
}

impl Position {
    /// Whether some character can be both.
    fn meets(self, other: Self) -> bool {
        let hex = |byte: u8| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte);
        match (self, other) {
            (Self::Literal(one), Self::Literal(another)) => one == another,
            (Self::Literal(byte), Self::HexDigit) | (Self::HexDigit, Self::Literal(byte)) => hex(byte),
            (Self::HexDigit, Self::HexDigit) => true,
        }
    }
}

/// The first `{NAME}` in `prefix`, when `NAME` reads like a placeholder's name.
fn placeholder_like(prefix: &str) -> Option<String> {
    let start = prefix.find('{')?;
    let length = prefix[start..].find('}')?;
    let name = &prefix[start + 1..start + length];
    let is_name = !name.is_empty()
        && name.chars().all(|character| character.is_ascii_alphanumeric() || matches!(character, '_' | '-' | '.'));
    is_name.then(|| prefix[start..=start + length].to_owned())
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
            Self::PolicyVariable { prefix } if prefix.contains("${account_sid}") => {
                Some("write the placeholder without `$`: `{account_sid}`".to_owned())
            }
            Self::PolicyVariable { .. } => Some("remove `${` from the prefix".to_owned()),
            Self::TooLong { .. } => Some(format!(
                "S3 limits lifecycle rule ids to 255 characters and stowage names each prefix's rule after it: \
                 shorten the prefix to {MAX_PREFIX_LENGTH} characters or fewer"
            )),
            Self::TooLongForAccount { length } => {
                let excess = length - MAX_PREFIX_LENGTH;
                let characters = if excess == 1 { "character" } else { "characters" };
                Some(format!(
                    "S3 limits lifecycle rule ids to 255 characters and stowage names each prefix's rule after \
                     it: shorten the prefix by {excess} {characters}"
                ))
            }
            Self::RepeatedPlaceholder { .. } => {
                Some("keep one `{account_sid}`: it already gives each subaccount a prefix of its own".to_owned())
            }
            Self::UnknownPlaceholder { placeholder, .. } => {
                Some(match crate::suggest::closest(placeholder, [Prefix::ACCOUNT_SID_PLACEHOLDER]) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => "`{account_sid}` stands for each subaccount's SID in a `[fleet]` spec; no other braces \
                             are allowed in prefixes"
                        .to_owned(),
                })
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
    fn rejects_what_is_unsafe_in_a_url_path_an_s3_key_or_an_iam_policy() {
        for unsafe_prefix in
            ["rec#1/", "100%/", "a{b/", "a}b/", "say\"hi\"/", "a\\b/", "x^y", "a`b", "[a]", "<a>", "a|b", "~a"]
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

    const SID: &str = "AC0123456789abcdef0123456789abcdef";

    #[test]
    fn the_account_placeholder_is_kept_and_replaced_per_account() {
        let prefix = Prefix::new("/recordings/{account_sid}").expect("placeholder");
        assert_eq!(prefix.as_str(), "recordings/{account_sid}/");
        assert!(prefix.has_account_placeholder());
        assert_eq!(prefix.for_account(SID), format!("recordings/{SID}/"));
        let plain = Prefix::new("recordings/").expect("plain");
        assert!(!plain.has_account_placeholder());
        assert_eq!(plain.for_account(SID), "recordings/");
        assert_eq!(Prefix::new("{account_sid}").expect("alone").for_account(SID), format!("{SID}/"));
        assert_eq!(Prefix::ACCOUNT_SID_PLACEHOLDER, "{account_sid}");
    }

    #[test]
    fn the_account_placeholder_appears_once_and_is_the_only_one() {
        assert!(matches!(Prefix::new("{account_sid}/{account_sid}/"), Err(PrefixError::RepeatedPlaceholder { .. })));
        let unknown = Prefix::new("recordings/{accountSid}/").expect_err("unknown placeholder");
        assert_eq!(
            unknown,
            PrefixError::UnknownPlaceholder {
                prefix: "recordings/{accountSid}/".to_owned(),
                placeholder: "{accountSid}".to_owned()
            }
        );
        assert_eq!(unknown.hint().as_deref(), Some("did you mean `{account_sid}`?"));
        assert!(matches!(Prefix::new("{date}/"), Err(PrefixError::UnknownPlaceholder { .. })));
        // Braces that are not a placeholder stay unsafe, beside the placeholder too.
        for broken in ["{account_sid}/a{/", "{account_sid}}/", "{{account_sid}/", "{}/"] {
            assert!(matches!(Prefix::new(broken), Err(PrefixError::Unsafe { .. })), "{broken}");
        }
        let unsafe_beside = Prefix::new("{account_sid}/a{/").expect_err("brace");
        assert!(unsafe_beside.to_string().contains("contains `{`,"), "{unsafe_beside}");
        let dollar = Prefix::new("rec/${account_sid}/").expect_err("policy variable");
        assert!(matches!(dollar, PrefixError::PolicyVariable { .. }));
        assert_eq!(dollar.hint().as_deref(), Some("write the placeholder without `$`: `{account_sid}`"));
        assert!(matches!(Prefix::new("{account_sid}*/"), Err(PrefixError::Wildcard { .. })));
        assert!(matches!(Prefix::new("{account_sid}//"), Err(PrefixError::EmptySegment { .. })));
    }

    #[test]
    fn length_counts_a_real_account_sid_in_place_of_the_placeholder() {
        // 13 characters written, 34 once replaced.
        let room = MAX_PREFIX_LENGTH - 34;
        assert!(Prefix::new(&format!("{}{{account_sid}}", "a".repeat(room))).is_ok());
        let written = format!("{}{{account_sid}}", "a".repeat(room + 1));
        assert!(written.len() < MAX_PREFIX_LENGTH);
        let error = Prefix::new(&written).expect_err("too long once replaced");
        assert_eq!(error, PrefixError::TooLongForAccount { length: MAX_PREFIX_LENGTH + 1 });
        assert!(error.to_string().contains("once `{account_sid}` is replaced by an account SID"), "{error}");
        assert_eq!(
            error.hint().as_deref(),
            Some(
                "S3 limits lifecycle rule ids to 255 characters and stowage names each prefix's rule after it: \
                 shorten the prefix by 1 character"
            )
        );
    }

    #[test]
    fn overlap_with_placeholders_holds_for_any_two_accounts() {
        let prefix = |text: &str| Prefix::new(text).expect(text);
        let recordings = prefix("recordings/{account_sid}/");
        assert!(!recordings.overlaps(&prefix("compositions/{account_sid}/")));
        assert!(recordings.overlaps(&recordings));
        assert!(recordings.overlaps(&prefix("recordings/{account_sid}/composed/")));
        assert!(recordings.overlaps(&prefix("recordings/")));
        assert!(prefix("/").overlaps(&recordings));
        // The same place in the key, a SID on one side and text on the other.
        assert!(prefix("{account_sid}/").overlaps(&prefix(&format!("{SID}/x"))));
        assert!(!prefix("{account_sid}/").overlaps(&prefix("ACab")));
        assert!(!prefix("{account_sid}/").overlaps(&prefix("ACab{account_sid}/")));
        assert!(!prefix("{account_sid}/").overlaps(&prefix("AB{account_sid}/")));
        assert!(!prefix("{account_sid}/").overlaps(&prefix("ACAC{account_sid}/")));
        assert!(!prefix("r/{account_sid}/").overlaps(&prefix("r/{account_sid}x/")));
        // Where the two SIDs sit apart, another account's keys can still meet.
        let one = prefix(&format!("x/{{account_sid}}{SID}/"));
        let another = prefix(&format!("x/{SID}{{account_sid}}/"));
        assert!(one.overlaps(&another));
        assert_eq!(one.for_account(SID), another.for_account(SID));
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

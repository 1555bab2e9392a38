//! The domain lints: the warnings a spec can produce, each with a stable kebab-case name that
//! is shown with it and that `[lints] allow` accepts on purpose.

use schemars::JsonSchema;
use serde::Deserialize;

/// One kind of warning. The names are a contract: specs write them in `[lints] allow`, so a
/// name never changes and a retired lint keeps its name reserved.
// No doc comments on the variants: they would turn the schema's `enum` into a `oneOf`, whose
// messages are worse; `Lint::description` says what each means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Lint {
    // Recordings stored in S3 while compositions are configured: Twilio cannot compose them.
    RecordingsNotComposable,
    // A well-formed region code stowage does not know (a typo, or a region newer than stowage).
    UnknownRegion,
    // A bucket name with dots, while Twilio stores nothing in the bucket.
    BucketNameDots,
    // A region whose S3 hosts Twilio cannot reach, while Twilio stores nothing in the bucket.
    TwilioUnreachableRegion,
}

impl Lint {
    /// Every lint, in the order the reference lists them.
    pub const ALL: [Self; 4] =
        [Self::RecordingsNotComposable, Self::UnknownRegion, Self::BucketNameDots, Self::TwilioUnreachableRegion];

    /// The name shown with the warning and written in `[lints] allow`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::RecordingsNotComposable => "recordings-not-composable",
            Self::UnknownRegion => "unknown-region",
            Self::BucketNameDots => "bucket-name-dots",
            Self::TwilioUnreachableRegion => "twilio-unreachable-region",
        }
    }

    /// What the warning says, in one sentence.
    pub const fn description(self) -> &'static str {
        match self {
            Self::RecordingsNotComposable => {
                "recordings are stored in S3 while compositions are configured: Twilio cannot compose \
                 recordings stored in S3"
            }
            Self::UnknownRegion => {
                "a well-formed AWS region code stowage does not know: a typo, or a region newer than stowage"
            }
            Self::BucketNameDots => {
                "the bucket's name has dots: Twilio could not store into it (TLS fails on the virtual-hosted \
                 URL), which only matters once it stores there"
            }
            Self::TwilioUnreachableRegion => {
                "the region's S3 hosts are outside `amazonaws.com` (China, the isolated partitions): Twilio \
                 could not store into the bucket, which only matters once it stores there"
            }
        }
    }

    /// The lint of this name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|lint| lint.name() == name)
    }
}

impl std::fmt::Display for Lint {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_serde_names_and_kebab_case() {
        for lint in Lint::ALL {
            let parsed: Lint = serde_json::from_value(serde_json::Value::String(lint.name().to_owned()))
                .unwrap_or_else(|error| panic!("{lint:?}: {error}"));
            assert_eq!(parsed, lint);
            assert_eq!(Lint::from_name(lint.name()), Some(lint));
            assert!(lint.name().chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{lint:?}");
        }
    }
}

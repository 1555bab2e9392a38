//! `s3://BUCKET/KEY`: where a state object is kept.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

const SCHEME: &str = "s3://";

/// A state object's bucket and key, written `s3://BUCKET/KEY`. The lock object is `KEY.lock`
/// in the same bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct S3Location {
    pub bucket: String,
    pub key: String,
}

impl S3Location {
    /// `KEY.lock`: the lock object's key.
    pub fn lock_key(&self) -> String {
        format!("{}.lock", self.key)
    }

    /// `s3://BUCKET/KEY.lock`, for messages.
    pub fn lock_location(&self) -> String {
        format!("{SCHEME}{}/{}", self.bucket, self.lock_key())
    }

    /// `s3://BUCKET/KEY` as the path that `stowage_state`'s errors name a state by.
    pub(crate) fn as_path(&self) -> PathBuf {
        PathBuf::from(self.to_string())
    }
}

/// Why a text is not an `s3://BUCKET/KEY` location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum S3LocationError {
    #[error("`{given}` is not an S3 location: write it `s3://BUCKET/KEY`, e.g. `s3://acme-stowage-state/dev.json`")]
    NoScheme { given: String },

    #[error("`{given}` names no bucket: write it `s3://BUCKET/KEY`")]
    EmptyBucket { given: String },

    #[error(
        "`{trimmed}` names no key: write it `s3://BUCKET/KEY`, e.g. `{trimmed}/state.json`",
        trimmed = .given.trim_end_matches('/')
    )]
    EmptyKey { given: String },

    #[error(
        "`{given}` names a folder, not an object (its key ends in `/`): name the state object, e.g. `{given}state.json`"
    )]
    KeyIsFolder { given: String },
}

impl FromStr for S3Location {
    type Err = S3LocationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let given = || text.to_owned();
        let rest = text.strip_prefix(SCHEME).ok_or_else(|| S3LocationError::NoScheme { given: given() })?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(S3LocationError::EmptyBucket { given: given() });
        }
        if key.is_empty() {
            return Err(S3LocationError::EmptyKey { given: given() });
        }
        if key.ends_with('/') {
            return Err(S3LocationError::KeyIsFolder { given: given() });
        }
        Ok(S3Location { bucket: bucket.to_owned(), key: key.to_owned() })
    }
}

/// `s3://BUCKET/KEY`
impl fmt::Display for S3Location {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{SCHEME}{}/{}", self.bucket, self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<S3Location, S3LocationError> {
        text.parse()
    }

    #[test]
    fn a_location_parses_and_prints_back() {
        let location = parse("s3://acme-state/envs/dev/state.json").expect("a location");
        assert_eq!(location.bucket, "acme-state");
        assert_eq!(location.key, "envs/dev/state.json");
        assert_eq!(location.to_string(), "s3://acme-state/envs/dev/state.json");
        assert_eq!(location.lock_key(), "envs/dev/state.json.lock");
        assert_eq!(location.lock_location(), "s3://acme-state/envs/dev/state.json.lock");
    }

    #[test]
    fn each_malformed_location_says_what_is_missing() {
        let cases = [
            ("acme-state/state.json", S3LocationError::NoScheme { given: "acme-state/state.json".to_owned() }),
            (
                "https://acme-state/state.json",
                S3LocationError::NoScheme { given: "https://acme-state/state.json".to_owned() },
            ),
            ("s3:///state.json", S3LocationError::EmptyBucket { given: "s3:///state.json".to_owned() }),
            ("s3://acme-state", S3LocationError::EmptyKey { given: "s3://acme-state".to_owned() }),
            ("s3://acme-state/", S3LocationError::EmptyKey { given: "s3://acme-state/".to_owned() }),
            ("s3://acme-state/envs/", S3LocationError::KeyIsFolder { given: "s3://acme-state/envs/".to_owned() }),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), Err(expected), "{text}");
        }
    }

    #[test]
    fn the_messages_show_the_way_to_write_it() {
        let message = |text: &str| parse(text).expect_err("refused").to_string();
        assert_eq!(
            message("acme-state/state.json"),
            "`acme-state/state.json` is not an S3 location: write it `s3://BUCKET/KEY`, e.g. `s3://acme-stowage-state/dev.json`"
        );
        assert_eq!(
            message("s3://acme-state/"),
            "`s3://acme-state` names no key: write it `s3://BUCKET/KEY`, e.g. `s3://acme-state/state.json`"
        );
        assert_eq!(
            message("s3://acme-state/envs/"),
            "`s3://acme-state/envs/` names a folder, not an object (its key ends in `/`): name the state object, e.g. `s3://acme-state/envs/state.json`"
        );
    }
}

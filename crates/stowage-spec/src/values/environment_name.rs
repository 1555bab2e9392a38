//! Environment names.

use thiserror::Error;

use super::{InvalidValue, offending_characters, string_value};

/// An environment's name: 1 to 32 lowercase letters, digits and hyphens, starting with a
/// letter or digit. It ends up in resource names and tags, hence the tight rules.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EnvironmentName(String);

const MAX_LENGTH: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EnvironmentNameError {
    #[error("environment name is empty")]
    Empty,
    #[error("environment name `{name}` is {length} characters long, at most 32 are allowed")]
    TooLong { name: String, length: usize },
    #[error("environment name `{name}` contains {characters}, only lowercase letters, digits and hyphens are allowed")]
    Characters { name: String, characters: String },
    #[error("environment name `{name}` starts with a hyphen")]
    LeadingHyphen { name: String },
}

impl EnvironmentName {
    pub fn new(name: &str) -> Result<Self, EnvironmentNameError> {
        let allowed =
            |character: char| character.is_ascii_lowercase() || character.is_ascii_digit() || character == '-';
        let length = name.chars().count();
        if name.is_empty() {
            Err(EnvironmentNameError::Empty)
        } else if !name.chars().all(allowed) {
            Err(EnvironmentNameError::Characters {
                name: name.to_owned(),
                characters: offending_characters(name, allowed),
            })
        } else if length > MAX_LENGTH {
            Err(EnvironmentNameError::TooLong { name: name.to_owned(), length })
        } else if name.starts_with('-') {
            Err(EnvironmentNameError::LeadingHyphen { name: name.to_owned() })
        } else {
            Ok(Self(name.to_owned()))
        }
    }
}

string_value!(EnvironmentName, EnvironmentNameError);

impl InvalidValue for EnvironmentNameError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Characters { name, .. } => {
                let repaired = name.to_ascii_lowercase().replace(['_', ' ', '.'], "-");
                EnvironmentName::new(&repaired).ok().map(|repaired| format!("did you mean `{repaired}`?"))
            }
            Self::Empty | Self::TooLong { .. } | Self::LeadingHyphen { .. } => {
                Some("for example `dev`, `staging` or `prod-eu`".to_owned())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_short_lowercase_names() {
        for name in ["dev", "prod-eu", "0", "a1-", &"a".repeat(32)] {
            assert!(EnvironmentName::new(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn rejects_each_broken_rule() {
        assert_eq!(EnvironmentName::new(""), Err(EnvironmentNameError::Empty));
        assert!(matches!(EnvironmentName::new(&"a".repeat(33)), Err(EnvironmentNameError::TooLong { length: 33, .. })));
        assert!(
            matches!(EnvironmentName::new("Dev_1"), Err(EnvironmentNameError::Characters { characters, .. }) if characters == "`D`, `_`")
        );
        assert!(matches!(EnvironmentName::new("-dev"), Err(EnvironmentNameError::LeadingHyphen { .. })));
    }

    #[test]
    fn hints_offer_a_repaired_name() {
        assert_eq!(
            EnvironmentName::new("Dev_1").expect_err("invalid").hint().as_deref(),
            Some("did you mean `dev-1`?")
        );
    }
}

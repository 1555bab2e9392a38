//! IAM user names and paths.

use thiserror::Error;

use super::{InvalidValue, offending_characters, string_value};

/// An IAM user name: 1 to 64 characters of `A-Za-z0-9+=,.@_-`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IamUserName(String);

/// An IAM path: `/` alone, or `/…/` of 1 to 512 printable ASCII characters (no spaces).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IamPath(String);

const MAX_USER_NAME: usize = 64;
const MAX_PATH: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IamUserNameError {
    #[error("IAM user name is empty")]
    Empty,
    #[error("IAM user name `{name}` is {length} characters long, IAM allows at most 64")]
    TooLong { name: String, length: usize },
    #[error("IAM user name `{name}` contains {characters}, IAM allows letters, digits and `+=,.@_-`")]
    Characters { name: String, characters: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IamPathError {
    #[error("IAM path `{path}` must start and end with `/`")]
    Slashes { path: String },
    #[error("IAM path is {length} characters long, IAM allows at most 512")]
    TooLong { length: usize },
    #[error("IAM path `{path}` contains {characters}, IAM allows printable ASCII without spaces")]
    Characters { path: String, characters: String },
    #[error("IAM path `{path}` contains `//`")]
    EmptySegment { path: String },
}

impl IamUserName {
    pub fn new(name: &str) -> Result<Self, IamUserNameError> {
        let allowed = |character: char| character.is_ascii_alphanumeric() || "+=,.@_-".contains(character);
        let length = name.chars().count();
        if name.is_empty() {
            Err(IamUserNameError::Empty)
        } else if !name.chars().all(allowed) {
            Err(IamUserNameError::Characters { name: name.to_owned(), characters: offending_characters(name, allowed) })
        } else if length > MAX_USER_NAME {
            Err(IamUserNameError::TooLong { name: name.to_owned(), length })
        } else {
            Ok(Self(name.to_owned()))
        }
    }
}

impl IamPath {
    pub fn new(path: &str) -> Result<Self, IamPathError> {
        let allowed = |character: char| ('\u{21}'..='\u{7e}').contains(&character);
        let length = path.chars().count();
        if !path.chars().all(allowed) {
            Err(IamPathError::Characters { path: path.to_owned(), characters: offending_characters(path, allowed) })
        } else if !path.starts_with('/') || !path.ends_with('/') {
            Err(IamPathError::Slashes { path: path.to_owned() })
        } else if length > MAX_PATH {
            Err(IamPathError::TooLong { length })
        } else if path.contains("//") {
            // IAM's pattern refuses `//` alone but takes `/a//b/`, which names no real path
            // segment and reads as a mistake everywhere the path is shown.
            Err(IamPathError::EmptySegment { path: path.to_owned() })
        } else {
            Ok(Self(path.to_owned()))
        }
    }

    /// The root path, `/`.
    pub fn root() -> Self {
        Self("/".to_owned())
    }
}

string_value!(IamUserName, IamUserNameError);
string_value!(IamPath, IamPathError);

impl InvalidValue for IamUserNameError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Characters { name, .. } if name.contains('/') => {
                Some("a path goes in its own key: `path = \"/twilio/\"`".to_owned())
            }
            Self::Characters { .. } | Self::Empty | Self::TooLong { .. } => None,
        }
    }
}

impl InvalidValue for IamPathError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::Slashes { path } => {
                let trimmed = path.trim_matches('/');
                let repaired = if trimmed.is_empty() { "/".to_owned() } else { format!("/{trimmed}/") };
                Some(format!("did you mean `{repaired}`?"))
            }
            Self::EmptySegment { path } => {
                let segments: Vec<&str> = path.split('/').filter(|segment| !segment.is_empty()).collect();
                let repaired = if segments.is_empty() { "/".to_owned() } else { format!("/{}/", segments.join("/")) };
                Some(format!("did you mean `{repaired}`?"))
            }
            Self::TooLong { .. } | Self::Characters { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_accept_iam_characters() {
        for name in ["u", "twilio-video-uploader-dev", "A+b=c,d.e@f_g-h", &"x".repeat(64)] {
            assert!(IamUserName::new(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn user_names_reject_each_broken_rule() {
        assert_eq!(IamUserName::new(""), Err(IamUserNameError::Empty));
        assert!(matches!(IamUserName::new(&"x".repeat(65)), Err(IamUserNameError::TooLong { length: 65, .. })));
        assert!(
            matches!(IamUserName::new("a b!"), Err(IamUserNameError::Characters { characters, .. }) if characters == "` `, `!`")
        );
        let slash = IamUserName::new("twilio/uploader").expect_err("slash");
        assert_eq!(slash.hint().as_deref(), Some("a path goes in its own key: `path = \"/twilio/\"`"));
    }

    #[test]
    fn paths_accept_root_and_slash_delimited() {
        for path in ["/", "/twilio/", "/a/b/c/", "/!~/", &format!("/{}/", "p".repeat(510))] {
            assert!(IamPath::new(path).is_ok(), "{path}");
        }
        assert_eq!(IamPath::root().as_str(), "/");
    }

    #[test]
    fn paths_reject_each_broken_rule() {
        assert!(matches!(IamPath::new(""), Err(IamPathError::Slashes { .. })));
        assert!(matches!(IamPath::new("twilio"), Err(IamPathError::Slashes { .. })));
        assert!(matches!(IamPath::new("/twilio"), Err(IamPathError::Slashes { .. })));
        assert!(matches!(IamPath::new("/a b/"), Err(IamPathError::Characters { .. })));
        assert!(matches!(IamPath::new("/é/"), Err(IamPathError::Characters { .. })));
        assert!(matches!(IamPath::new(&format!("/{}/", "p".repeat(511))), Err(IamPathError::TooLong { length: 513 })));
        assert_eq!(IamPath::new("twilio").expect_err("no slashes").hint().as_deref(), Some("did you mean `/twilio/`?"));
        for doubled in ["//", "/twilio//", "/a//b/", "///"] {
            assert!(matches!(IamPath::new(doubled), Err(IamPathError::EmptySegment { .. })), "{doubled}");
        }
        assert_eq!(IamPath::new("/a//b/").expect_err("doubled").hint().as_deref(), Some("did you mean `/a/b/`?"));
        assert_eq!(IamPath::new("//").expect_err("doubled").hint().as_deref(), Some("did you mean `/`?"));
    }
}

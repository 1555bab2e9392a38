//! Twilio account SIDs.

use thiserror::Error;

use super::{InvalidValue, string_value};

/// A Twilio account SID: `AC` followed by 32 lowercase hexadecimal digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountSid(String);

const HEX_DIGITS: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AccountSidError {
    #[error("`{sid}` is an API key SID, not an account SID")]
    ApiKey { sid: String },
    #[error("account SID `{sid}` is not `AC` followed by 32 lowercase hexadecimal digits")]
    Shape { sid: String },
}

impl AccountSid {
    pub fn new(sid: &str) -> Result<Self, AccountSidError> {
        let digits = sid.strip_prefix("AC");
        let valid = digits.is_some_and(|digits| {
            digits.len() == HEX_DIGITS
                && digits.bytes().all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
        });
        if valid {
            Ok(Self(sid.to_owned()))
        } else if sid.starts_with("SK") {
            Err(AccountSidError::ApiKey { sid: sid.to_owned() })
        } else {
            Err(AccountSidError::Shape { sid: sid.to_owned() })
        }
    }
}

string_value!(AccountSid, AccountSidError);

impl InvalidValue for AccountSidError {
    fn hint(&self) -> Option<String> {
        match self {
            Self::ApiKey { .. } => {
                Some("`account_sid` takes the account SID (`AC…`); the API key goes in `TWILIO_API_KEY`".to_owned())
            }
            Self::Shape { sid } => {
                let digits = sid.strip_prefix("AC").unwrap_or(sid);
                let lowercase = format!("AC{}", digits.to_ascii_lowercase());
                if AccountSid::new(&lowercase).is_ok() {
                    Some(format!("Twilio SIDs use lowercase hexadecimal: `{lowercase}`"))
                } else if sid.starts_with("AC") && digits.len() != HEX_DIGITS {
                    Some(format!(
                        "it has {} characters after `AC`, an account SID has {HEX_DIGITS}",
                        digits.chars().count()
                    ))
                } else {
                    Some("copy the account SID from the Twilio console's account dashboard".to_owned())
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "AC0123456789abcdef0123456789abcdef";

    #[test]
    fn accepts_lowercase_hex_after_ac() {
        assert_eq!(AccountSid::new(VALID).map(|sid| sid.to_string()), Ok(VALID.to_owned()));
    }

    #[test]
    fn rejects_other_shapes() {
        for sid in [
            "",
            "AC",
            "AC0123456789ABCDEF0123456789ABCDEF",
            "ac0123456789abcdef0123456789abcdef",
            "AC0123",
            "AC0123456789abcdef0123456789abcdeg",
        ] {
            assert!(matches!(AccountSid::new(sid), Err(AccountSidError::Shape { .. })), "{sid}");
        }
        assert!(matches!(AccountSid::new("SK0123456789abcdef0123456789abcdef"), Err(AccountSidError::ApiKey { .. })));
    }

    #[test]
    fn hints_say_what_was_expected() {
        let hint = |sid: &str| AccountSid::new(sid).expect_err(sid).hint();
        assert_eq!(
            hint("AC0123456789ABCDEF0123456789ABCDEF").as_deref(),
            Some("Twilio SIDs use lowercase hexadecimal: `AC0123456789abcdef0123456789abcdef`")
        );
        assert_eq!(hint("AC0123").as_deref(), Some("it has 4 characters after `AC`, an account SID has 32"));
    }
}

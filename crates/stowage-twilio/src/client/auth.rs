//! Twilio credentials: which pair of variables to use, and checking them before any request.

use std::fmt;

use stowage_provider::Secret;

const API_KEY: &str = "TWILIO_API_KEY";
const API_SECRET: &str = "TWILIO_API_SECRET";
const ACCOUNT_SID: &str = "TWILIO_ACCOUNT_SID";
const AUTH_TOKEN: &str = "TWILIO_AUTH_TOKEN";

/// Which kind of Twilio credential authenticates the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// An API key SID (`SK...`) and its secret: Twilio's recommendation, revocable on its own.
    ApiKey,
    /// The account SID (`AC...`) and the account's auth token.
    AccountAuthToken,
}

/// HTTP Basic credentials for Twilio. `Debug` shows the SID, never the secret.
#[derive(Debug, Clone)]
pub struct TwilioAuth {
    kind: CredentialKind,
    /// `SK...` or `AC...`: an identifier, not a secret.
    username: String,
    password: Secret,
}

impl TwilioAuth {
    /// Credentials from the environment, looked up by name through `lookup` (the CLI passes
    /// `|name| std::env::var(name).ok()`; this crate never reads the environment itself).
    ///
    /// `TWILIO_API_KEY` and `TWILIO_API_SECRET` win when both are set; `TWILIO_ACCOUNT_SID`
    /// may be set next to them, as Twilio's own tools expect. Otherwise `TWILIO_ACCOUNT_SID`
    /// and `TWILIO_AUTH_TOKEN` are used. Half a pair, an empty or padded value, or a SID of the
    /// wrong shape is refused here, before any request, with a message naming the variable.
    pub fn from_lookup(mut lookup: impl FnMut(&str) -> Option<String>) -> Result<Self, CredentialsError> {
        let api_key = lookup(API_KEY);
        let api_secret = lookup(API_SECRET);
        match (api_key, api_secret) {
            (Some(key_sid), Some(secret)) => {
                return Self::checked(CredentialKind::ApiKey, key_sid, secret);
            }
            (Some(_), None) => {
                return Err(CredentialsError::IncompletePair { present: API_KEY, missing: API_SECRET });
            }
            (None, Some(_)) => {
                return Err(CredentialsError::IncompletePair { present: API_SECRET, missing: API_KEY });
            }
            (None, None) => {}
        }
        match (lookup(ACCOUNT_SID), lookup(AUTH_TOKEN)) {
            (Some(account_sid), Some(token)) => Self::checked(CredentialKind::AccountAuthToken, account_sid, token),
            (Some(_), None) => Err(CredentialsError::IncompletePair { present: ACCOUNT_SID, missing: AUTH_TOKEN }),
            (None, Some(_)) => Err(CredentialsError::IncompletePair { present: AUTH_TOKEN, missing: ACCOUNT_SID }),
            (None, None) => Err(CredentialsError::Missing),
        }
    }

    fn checked(kind: CredentialKind, username: String, password: String) -> Result<Self, CredentialsError> {
        let (username_variable, password_variable) = kind.variables();
        check_present(username_variable, &username)?;
        check_present(password_variable, &password)?;
        if !kind.sid_shape().matches(&username) {
            return Err(CredentialsError::MalformedSid {
                variable: username_variable,
                expected: kind.sid_shape(),
                holds_other_kind: kind.other().sid_shape().matches(&username).then(|| kind.other()),
                length: username.chars().count(),
            });
        }
        Ok(Self { kind, username, password: Secret::new(password) })
    }

    /// An account's own SID and auth token, as Twilio gave them (a subaccount's, read from the
    /// 2010 Accounts API), not from the environment.
    pub(crate) fn account(sid: &str, auth_token: Secret) -> Self {
        Self { kind: CredentialKind::AccountAuthToken, username: sid.to_owned(), password: auth_token }
    }

    pub fn kind(&self) -> CredentialKind {
        self.kind
    }

    /// The Basic auth user name: the API key SID or the account SID.
    pub fn username(&self) -> &str {
        &self.username
    }

    pub(crate) fn password(&self) -> &Secret {
        &self.password
    }
}

fn check_present(variable: &'static str, value: &str) -> Result<(), CredentialsError> {
    if value.is_empty() {
        return Err(CredentialsError::Empty { variable });
    }
    // A pasted value with a trailing newline would otherwise surface as a baffling 401.
    if value.trim() != value {
        return Err(CredentialsError::Padded { variable });
    }
    Ok(())
}

impl CredentialKind {
    fn variables(self) -> (&'static str, &'static str) {
        match self {
            CredentialKind::ApiKey => (API_KEY, API_SECRET),
            CredentialKind::AccountAuthToken => (ACCOUNT_SID, AUTH_TOKEN),
        }
    }

    fn other(self) -> Self {
        match self {
            CredentialKind::ApiKey => CredentialKind::AccountAuthToken,
            CredentialKind::AccountAuthToken => CredentialKind::ApiKey,
        }
    }

    fn sid_shape(self) -> SidShape {
        match self {
            CredentialKind::ApiKey => SidShape { prefix: "SK", name: "an API key SID" },
            CredentialKind::AccountAuthToken => SidShape { prefix: "AC", name: "an account SID" },
        }
    }
}

/// A Twilio SID: a two-letter prefix and 32 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SidShape {
    prefix: &'static str,
    name: &'static str,
}

impl SidShape {
    fn matches(self, value: &str) -> bool {
        value.strip_prefix(self.prefix).is_some_and(|digits| {
            digits.len() == 32 && digits.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
        })
    }
}

impl fmt::Display for SidShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (`{}` followed by 32 lowercase hex digits)", self.name, self.prefix)
    }
}

/// Twilio credentials that are missing or malformed. Each message names the variables
/// involved and how to fix them; no message ever shows a value, since a SID variable may hold
/// a secret pasted in the wrong place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error(
        "no Twilio credentials: set `{API_KEY}` and `{API_SECRET}` (recommended), or `{ACCOUNT_SID}` and `{AUTH_TOKEN}`"
    )]
    Missing,
    #[error("`{present}` is set but `{missing}` is not: set both, or unset `{present}`")]
    IncompletePair { present: &'static str, missing: &'static str },
    #[error("`{variable}` is set but empty: give it a value, or unset it")]
    Empty { variable: &'static str },
    #[error("`{variable}` starts or ends with whitespace: remove it (a trailing newline is the usual culprit)")]
    Padded { variable: &'static str },
    #[error("{}", malformed_sid_message(variable, *expected, *holds_other_kind, *length))]
    MalformedSid {
        variable: &'static str,
        expected: SidShape,
        /// Set when the value is a valid SID of the other kind, put in the wrong variable.
        holds_other_kind: Option<CredentialKind>,
        /// The value's length in characters: a clue that does not reveal the value.
        length: usize,
    },
}

fn malformed_sid_message(
    variable: &str,
    expected: SidShape,
    holds_other_kind: Option<CredentialKind>,
    length: usize,
) -> String {
    match holds_other_kind {
        Some(other) => {
            let (right_variable, _) = other.variables();
            format!(
                "`{variable}` holds {} where {expected} belongs: move it to `{right_variable}`",
                other.sid_shape().name
            )
        }
        None => format!("`{variable}` must be {expected}, but its value ({length} characters, not shown) is not"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sid_shape_wants_exactly_32_lowercase_hex_digits() {
        let api_key = CredentialKind::ApiKey.sid_shape();
        assert!(api_key.matches(&format!("SK{}", "0123456789abcdef".repeat(2))));
        assert!(!api_key.matches(&format!("SK{}", "0123456789ABCDEF".repeat(2))), "uppercase");
        assert!(!api_key.matches(&format!("SK{}", "0".repeat(31))), "short");
        assert!(!api_key.matches(&format!("SK{}", "0".repeat(33))), "long");
        assert!(!api_key.matches(&format!("AC{}", "0".repeat(32))), "other prefix");
        assert!(!api_key.matches(&format!("SK{}g", "0".repeat(31))), "not hex");
        assert!(!api_key.matches(&format!("SK{}é", "0".repeat(30))), "multi-byte");
    }
}

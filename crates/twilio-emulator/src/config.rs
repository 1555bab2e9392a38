//! What the emulator starts with: where it listens, the S3 endpoint of its write test, and
//! who may call it.

use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;

use stowage_provider::Secret;

use crate::error::EmulatorError;
use crate::sid;

/// How to start an emulator.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// The address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
    /// The S3 endpoint the storage write test puts its object to (moto in tests).
    pub s3_endpoint: String,
    /// The accounts that exist, subaccounts included; requests authenticate as one of them.
    pub accounts: Vec<Account>,
    /// API keys, each belonging to one of `accounts`.
    pub api_keys: Vec<ApiKey>,
    /// How many API requests one account family (a main account and its subaccounts) may have
    /// in flight at once; the next one is answered 429 (code 20429). `None`: no limit.
    pub concurrency_limit: Option<usize>,
}

/// A Twilio account: its SID and auth token, and the account it is a subaccount of, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub sid: String,
    pub auth_token: Secret,
    /// The account that owns this one (Twilio's `owner_account_sid`); `None` for a main
    /// account. Its owner may make resources for it (a credential's `AccountSid`); nobody else
    /// may, and a subaccount may act for itself only.
    pub owner: Option<String>,
}

/// A Twilio API key (`SK…`), authenticating as the account it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub sid: String,
    pub secret: Secret,
    pub account_sid: String,
    pub kind: ApiKeyKind,
}

/// The two kinds of API key the emulator knows (Twilio's Restricted keys are not modelled).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiKeyKind {
    /// Everything but the Accounts and Keys resources: `/2010-04-01/Accounts*` answers 401,
    /// code 20003.
    #[default]
    Standard,
    /// The same access as the account's own SID and auth token, Accounts included.
    Main,
}

impl EmulatorConfig {
    /// Listens on `127.0.0.1:0`, with no accounts.
    pub fn new(s3_endpoint: impl Into<String>) -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            s3_endpoint: s3_endpoint.into(),
            accounts: Vec::new(),
            api_keys: Vec::new(),
            concurrency_limit: None,
        }
    }

    /// Adds an account that authenticates with `sid:auth_token`.
    #[must_use]
    pub fn account(mut self, sid: impl Into<String>, auth_token: impl Into<String>) -> Self {
        self.accounts.push(Account { sid: sid.into(), auth_token: Secret::new(auth_token), owner: None });
        self
    }

    /// Adds a subaccount of `owner_sid` (an account added with [`EmulatorConfig::account`]) that
    /// authenticates with `sid:auth_token`.
    #[must_use]
    pub fn subaccount(
        mut self,
        sid: impl Into<String>,
        auth_token: impl Into<String>,
        owner_sid: impl Into<String>,
    ) -> Self {
        self.accounts.push(Account {
            sid: sid.into(),
            auth_token: Secret::new(auth_token),
            owner: Some(owner_sid.into()),
        });
        self
    }

    /// Adds a Standard API key of `account_sid` that authenticates with `sid:secret`.
    #[must_use]
    pub fn api_key(self, sid: impl Into<String>, secret: impl Into<String>, account_sid: impl Into<String>) -> Self {
        self.api_key_of_kind(sid, secret, account_sid, ApiKeyKind::Standard)
    }

    /// Adds a Main API key of `account_sid` that authenticates with `sid:secret`: it may also
    /// use `/2010-04-01/Accounts*`, as the account's auth token may.
    #[must_use]
    pub fn api_key_main(
        self,
        sid: impl Into<String>,
        secret: impl Into<String>,
        account_sid: impl Into<String>,
    ) -> Self {
        self.api_key_of_kind(sid, secret, account_sid, ApiKeyKind::Main)
    }

    fn api_key_of_kind(
        mut self,
        sid: impl Into<String>,
        secret: impl Into<String>,
        account_sid: impl Into<String>,
        kind: ApiKeyKind,
    ) -> Self {
        self.api_keys.push(ApiKey {
            sid: sid.into(),
            secret: Secret::new(secret),
            account_sid: account_sid.into(),
            kind,
        });
        self
    }

    /// At most `limit` API requests of one account family (a main account and all its
    /// subaccounts) in flight at once; more are answered 429, code 20429, and not processed.
    /// `0` refuses every authenticated request.
    #[must_use]
    pub fn concurrency_limit(mut self, limit: usize) -> Self {
        self.concurrency_limit = Some(limit);
        self
    }

    /// Listens on `listen` instead of `127.0.0.1:0`.
    #[must_use]
    pub fn listen(mut self, listen: SocketAddr) -> Self {
        self.listen = listen;
        self
    }

    /// Whether a request authenticated as `caller` may make resources for `account`: its own
    /// account, or one of its subaccounts (Twilio: "Must be a valid Subaccount of the account
    /// issuing the request"). A subaccount never acts for its owner or a sibling.
    pub fn may_act_for(&self, caller: &str, account: &str) -> bool {
        caller == account
            || self.accounts.iter().any(|known| known.sid == account && known.owner.as_deref() == Some(caller))
    }

    pub(crate) fn validate(&self) -> Result<(), EmulatorError> {
        if let Some(account) = self.accounts.iter().find(|account| !sid::is_sid(&account.sid, "AC")) {
            return Err(EmulatorError::InvalidAccountSid(account.sid.clone()));
        }
        // An owner that is not configured is allowed: nobody can then act for the subaccount
        // but itself. A malformed one is a mistake.
        if let Some(owner) =
            self.accounts.iter().filter_map(|account| account.owner.as_ref()).find(|owner| !sid::is_sid(owner, "AC"))
        {
            return Err(EmulatorError::InvalidAccountSid(owner.clone()));
        }
        for api_key in &self.api_keys {
            if !sid::is_sid(&api_key.sid, "SK") {
                return Err(EmulatorError::InvalidApiKeySid(api_key.sid.clone()));
            }
            if !self.accounts.iter().any(|account| account.sid == api_key.account_sid) {
                return Err(EmulatorError::ApiKeyWithoutAccount {
                    api_key_sid: api_key.sid.clone(),
                    account_sid: api_key.account_sid.clone(),
                });
            }
        }
        let endpoint_is_http =
            url::Url::parse(&self.s3_endpoint).is_ok_and(|endpoint| matches!(endpoint.scheme(), "http" | "https"));
        if !endpoint_is_http {
            return Err(EmulatorError::InvalidS3Endpoint { endpoint: self.s3_endpoint.clone() });
        }
        Ok(())
    }
}

/// A command-line value that is not of the form the option asks for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}")]
pub struct ParseCredentialError {
    expected: &'static str,
}

/// Parses `SID:AUTH_TOKEN` (the `--account` option).
impl FromStr for Account {
    type Err = ParseCredentialError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.split_once(':') {
            Some((sid, auth_token)) if !sid.is_empty() && !auth_token.is_empty() => {
                Ok(Self { sid: sid.to_owned(), auth_token: Secret::new(auth_token), owner: None })
            }
            _ => Err(ParseCredentialError { expected: "ACCOUNT_SID:AUTH_TOKEN" }),
        }
    }
}

impl Account {
    /// Parses `SID:AUTH_TOKEN:OWNER_SID` (the `--subaccount` option). The token may hold
    /// colons; the owner, an account SID, cannot.
    pub fn parse_subaccount(value: &str) -> Result<Self, ParseCredentialError> {
        let error = ParseCredentialError { expected: "SUBACCOUNT_SID:AUTH_TOKEN:OWNER_ACCOUNT_SID" };
        let Some((account, owner)) = value.rsplit_once(':').filter(|(_, owner)| !owner.is_empty()) else {
            return Err(error);
        };
        let Self { sid, auth_token, .. } = account.parse::<Self>().map_err(|_| error)?;
        Ok(Self { sid, auth_token, owner: Some(owner.to_owned()) })
    }
}

impl ApiKey {
    /// Parses `SK…:SECRET:AC…` as a Main API key (the `--main-api-key` option).
    pub fn parse_main(value: &str) -> Result<Self, ParseCredentialError> {
        value.parse::<Self>().map(|api_key| Self { kind: ApiKeyKind::Main, ..api_key })
    }
}

/// Parses `SK…:SECRET:AC…` as a Standard API key (the `--api-key` option).
impl FromStr for ApiKey {
    type Err = ParseCredentialError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let mut parts = value.splitn(3, ':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(sid), Some(secret), Some(account_sid))
                if !sid.is_empty() && !secret.is_empty() && !account_sid.is_empty() =>
            {
                Ok(Self {
                    sid: sid.to_owned(),
                    secret: Secret::new(secret),
                    account_sid: account_sid.to_owned(),
                    kind: ApiKeyKind::Standard,
                })
            }
            _ => Err(ParseCredentialError { expected: "API_KEY_SID:API_KEY_SECRET:ACCOUNT_SID" }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
    const API_KEY: &str = "SK0123456789abcdef0123456789abcdef";

    #[test]
    fn account_option_parses_and_keeps_colons_in_the_token() {
        let account: Account = format!("{ACCOUNT}:to:ken").parse().unwrap();
        assert_eq!(account.sid, ACCOUNT);
        assert_eq!(account.auth_token.expose(), "to:ken");
        assert!(!format!("{account:?}").contains("to:ken"));
    }

    const SUBACCOUNT: &str = "ACfedcba9876543210fedcba9876543210";
    const STRANGER: &str = "AC99999999999999999999999999999999";

    #[test]
    fn subaccount_option_parses_and_keeps_colons_in_the_token() {
        let subaccount = Account::parse_subaccount(&format!("{SUBACCOUNT}:to:ken:{ACCOUNT}")).unwrap();
        assert_eq!(subaccount.sid, SUBACCOUNT);
        assert_eq!(subaccount.auth_token.expose(), "to:ken");
        assert_eq!(subaccount.owner.as_deref(), Some(ACCOUNT));
        assert!(!format!("{subaccount:?}").contains("to:ken"));
        let account: Account = format!("{ACCOUNT}:token").parse().unwrap();
        assert_eq!(account.owner, None, "`--account` makes a main account");
        for malformed in
            [format!("{SUBACCOUNT}:{ACCOUNT}"), format!("{SUBACCOUNT}:token:"), format!(":token:{ACCOUNT}")]
        {
            let error = Account::parse_subaccount(&malformed).unwrap_err();
            assert_eq!(error.to_string(), "expected SUBACCOUNT_SID:AUTH_TOKEN:OWNER_ACCOUNT_SID", "{malformed}");
        }
    }

    #[test]
    fn an_account_acts_for_itself_and_its_subaccounts_only() {
        let config = EmulatorConfig::new("http://127.0.0.1:5000")
            .account(ACCOUNT, "t")
            .subaccount(SUBACCOUNT, "s", ACCOUNT)
            .account(STRANGER, "x");
        assert!(config.may_act_for(ACCOUNT, ACCOUNT));
        assert!(config.may_act_for(ACCOUNT, SUBACCOUNT), "an owner acts for its subaccount");
        assert!(config.may_act_for(SUBACCOUNT, SUBACCOUNT));
        assert!(!config.may_act_for(SUBACCOUNT, ACCOUNT), "never for its owner");
        assert!(!config.may_act_for(ACCOUNT, STRANGER), "nor for an unrelated account");
        assert!(!config.may_act_for(STRANGER, SUBACCOUNT), "nor for someone else's subaccount");
        assert!(!config.may_act_for(ACCOUNT, "AC00000000000000000000000000000000"), "nor for an unknown one");
    }

    #[test]
    fn malformed_options_say_what_is_expected() {
        let error = "ACnotoken".parse::<Account>().unwrap_err();
        assert_eq!(error.to_string(), "expected ACCOUNT_SID:AUTH_TOKEN");
        let error = format!("{API_KEY}:secret").parse::<ApiKey>().unwrap_err();
        assert_eq!(error.to_string(), "expected API_KEY_SID:API_KEY_SECRET:ACCOUNT_SID");
    }

    #[test]
    fn api_key_option_parses() {
        let api_key: ApiKey = format!("{API_KEY}:secret:{ACCOUNT}").parse().unwrap();
        assert_eq!(api_key.account_sid, ACCOUNT);
        assert_eq!(api_key.secret.expose(), "secret");
        assert_eq!(api_key.kind, ApiKeyKind::Standard);
        let main = ApiKey::parse_main(&format!("{API_KEY}:secret:{ACCOUNT}")).unwrap();
        assert_eq!(main.kind, ApiKeyKind::Main);
        assert_eq!(main.account_sid, ACCOUNT);
    }

    #[test]
    fn validate_rejects_bad_sids_orphan_keys_and_bad_endpoints() {
        let base = || EmulatorConfig::new("http://127.0.0.1:5000");
        assert!(base().account(ACCOUNT, "t").api_key(API_KEY, "s", ACCOUNT).validate().is_ok());
        assert!(matches!(base().account("AC123", "t").validate(), Err(EmulatorError::InvalidAccountSid(_))));
        assert!(base().account(ACCOUNT, "t").subaccount(SUBACCOUNT, "s", ACCOUNT).validate().is_ok());
        assert!(matches!(
            base().account(ACCOUNT, "t").subaccount(SUBACCOUNT, "s", "ACowner").validate(),
            Err(EmulatorError::InvalidAccountSid(owner)) if owner == "ACowner"
        ));
        assert!(matches!(
            base().account(ACCOUNT, "t").api_key("SKxyz", "s", ACCOUNT).validate(),
            Err(EmulatorError::InvalidApiKeySid(_))
        ));
        assert!(matches!(
            base().api_key(API_KEY, "s", ACCOUNT).validate(),
            Err(EmulatorError::ApiKeyWithoutAccount { .. })
        ));
        assert!(matches!(
            EmulatorConfig::new("127.0.0.1:5000").validate(),
            Err(EmulatorError::InvalidS3Endpoint { .. })
        ));
    }
}

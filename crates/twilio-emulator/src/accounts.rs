//! Who may call the emulator, and the 2010 API's Accounts resource that manages them:
//! `/2010-04-01/Accounts.json` (list, create a subaccount) and `/2010-04-01/Accounts/{Sid}.json`
//! (fetch, update: rename, suspend, reactivate, close).
//!
//! The registry starts as configured ([`EmulatorConfig`]) and grows with the subaccounts made
//! through the API or by a test. What Twilio documents, and the emulator does:
//!
//! - A main account's SID and auth token (or a Main API key) see and manage the account itself
//!   and its subaccounts; a subaccount's credentials see only the subaccount. Standard API keys
//!   may not use the Accounts resource: 401, code 20003 (Twilio answers them "Authenticate").
//! - Only a main account makes subaccounts (a subaccount asking is refused with 21101,
//!   "Subaccounts cannot contain subaccounts"), at most [`MAX_SUBACCOUNTS`] open ones (21480).
//! - Only the owner suspends, reactivates or closes a subaccount; a main account cannot be
//!   suspended or closed. Closing is final: "you cannot reopen a closed account".
//! - A suspended or closed account's credentials, API keys included, authenticate no more
//!   (401, code 20003: "Account is suspended or closed" is among its causes), so nothing of it
//!   is reachable; its owner still lists and fetches it.

use std::fmt;

use axum::http::StatusCode;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stowage_provider::Secret;

use crate::config::{ApiKey, ApiKeyKind, EmulatorConfig};
use crate::conformance::{Parameters, parameter};
use crate::dates::rfc_2822;
use crate::error::TwilioError;
use crate::paging::{PageRequest, filters};
use crate::server::{ApiResponse, Emulator};
use crate::sid::new_sid;

/// Twilio's default limit of subaccounts per main account (closed ones not counted).
pub const MAX_SUBACCOUNTS: usize = 1000;

/// Twilio's limit on `friendly_name`, stated in the document's prose only.
const MAX_FRIENDLY_NAME_CHARS: usize = 64;

/// The 2010 API's list of accounts.
pub(crate) const ACCOUNTS_PATH: &str = "/2010-04-01/Accounts.json";

/// The name a configured main account has (Twilio's is the owner's email address, or the name
/// given in the Console).
const MAIN_ACCOUNT_NAME: &str = "My first Twilio account";

/// The subresources every account names, in the order of the document's examples.
const SUBRESOURCES: [(&str, &str); 20] = [
    ("available_phone_numbers", "AvailablePhoneNumbers"),
    ("calls", "Calls"),
    ("conferences", "Conferences"),
    ("incoming_phone_numbers", "IncomingPhoneNumbers"),
    ("notifications", "Notifications"),
    ("outgoing_caller_ids", "OutgoingCallerIds"),
    ("recordings", "Recordings"),
    ("transcriptions", "Transcriptions"),
    ("addresses", "Addresses"),
    ("signing_keys", "SigningKeys"),
    ("connect_apps", "ConnectApps"),
    ("sip", "SIP"),
    ("authorized_connect_apps", "AuthorizedConnectApps"),
    ("usage", "Usage"),
    ("keys", "Keys"),
    ("applications", "Applications"),
    ("short_codes", "SMS/ShortCodes"),
    ("queues", "Queues"),
    ("messages", "Messages"),
    ("balance", "Balance"),
];

/// An account's `status` (`account_enum_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountStatus {
    Active,
    Suspended,
    Closed,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Closed => "closed",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "active" => Some(Self::Active),
            "suspended" => Some(Self::Suspended),
            "closed" => Some(Self::Closed),
            _ => None,
        }
    }
}

/// A subaccount, as a test sees it ([`crate::RunningEmulator::subaccounts`],
/// `GET /__emulator/subaccounts`). `Debug` hides the auth token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subaccount {
    pub sid: String,
    pub auth_token: String,
    pub owner_account_sid: String,
    pub friendly_name: String,
    pub status: AccountStatus,
}

impl fmt::Debug for Subaccount {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Subaccount")
            .field("sid", &self.sid)
            .field("auth_token", &"[redacted]")
            .field("owner_account_sid", &self.owner_account_sid)
            .field("friendly_name", &self.friendly_name)
            .field("status", &self.status)
            .finish()
    }
}

/// An API key made by a test ([`crate::RunningEmulator::create_api_key`],
/// `POST /__emulator/api-keys`). `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedApiKey {
    pub sid: String,
    pub secret: String,
    pub account_sid: String,
    pub kind: ApiKeyKind,
}

impl fmt::Debug for CreatedApiKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("CreatedApiKey")
            .field("sid", &self.sid)
            .field("secret", &"[redacted]")
            .field("account_sid", &self.account_sid)
            .field("kind", &self.kind)
            .finish()
    }
}

/// Why a test's account request cannot be done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("account {0} is not one of the emulator's accounts")]
    UnknownAccount(String),
    #[error("account {0} is a subaccount, and subaccounts cannot contain subaccounts")]
    NotAMainAccount(String),
    #[error("account {0} is a main account, not a subaccount")]
    NotASubaccount(String),
    #[error("account {0} is closed")]
    Closed(String),
    #[error("account {0} already has {MAX_SUBACCOUNTS} open subaccounts")]
    TooManySubaccounts(String),
    #[error("friendly_name must be at most {MAX_FRIENDLY_NAME_CHARS} characters long")]
    FriendlyNameTooLong,
}

impl AccountError {
    /// The Twilio error for the API's own refusal of the same thing.
    fn to_twilio(&self) -> TwilioError {
        match self {
            Self::UnknownAccount(sid) | Self::NotASubaccount(sid) => {
                TwilioError::not_found(&format!("/2010-04-01/Accounts/{sid}.json"))
            }
            Self::NotAMainAccount(_) => {
                TwilioError::new(StatusCode::BAD_REQUEST, 21101, "Subaccounts cannot contain subaccounts")
            }
            Self::Closed(sid) => TwilioError::invalid_parameter(format!(
                "Account {sid} is closed, and a closed account cannot be changed or reopened"
            )),
            Self::TooManySubaccounts(_) => TwilioError::new(
                StatusCode::BAD_REQUEST,
                21480,
                "Reached maximum number of subaccounts, please contact Twilio if you want to create more subaccounts",
            ),
            Self::FriendlyNameTooLong => TwilioError::invalid_parameter(format!(
                "FriendlyName must be at most {MAX_FRIENDLY_NAME_CHARS} characters long"
            )),
        }
    }
}

/// How a request authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Credential {
    AuthToken,
    ApiKey(ApiKeyKind),
}

/// Who a request authenticated as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Principal {
    pub account_sid: String,
    pub credential: Credential,
}

impl Principal {
    /// Whether these credentials may use the Accounts resource: the auth token or a Main key.
    fn may_use_accounts(&self) -> bool {
        !matches!(self.credential, Credential::ApiKey(ApiKeyKind::Standard))
    }
}

#[derive(Debug, Clone)]
pub(crate) struct AccountRecord {
    pub sid: String,
    pub auth_token: Secret,
    /// `None` for a main account.
    pub owner: Option<String>,
    pub friendly_name: String,
    pub status: AccountStatus,
    pub date_created: Timestamp,
    pub date_updated: Timestamp,
    /// Creation order; page tokens point between these.
    pub sequence: u64,
}

impl AccountRecord {
    /// The account as a test sees it; `None` for a main account.
    pub fn subaccount(&self) -> Option<Subaccount> {
        Some(Subaccount {
            sid: self.sid.clone(),
            auth_token: self.auth_token.expose().to_owned(),
            owner_account_sid: self.owner.clone()?,
            friendly_name: self.friendly_name.clone(),
            status: self.status,
        })
    }
}

/// Every account and API key.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    last_sequence: u64,
    accounts: Vec<AccountRecord>,
    api_keys: Vec<ApiKey>,
}

impl Registry {
    /// The configured accounts (all active, made `now`) and API keys.
    pub fn from_config(config: &EmulatorConfig, now: Timestamp) -> Self {
        let mut registry = Self { api_keys: config.api_keys.clone(), ..Self::default() };
        for account in &config.accounts {
            let friendly_name = match account.owner {
                None => MAIN_ACCOUNT_NAME.to_owned(),
                Some(_) => default_subaccount_name(now),
            };
            let sequence = registry.next_sequence();
            registry.accounts.push(AccountRecord {
                sid: account.sid.clone(),
                auth_token: account.auth_token.clone(),
                owner: account.owner.clone(),
                friendly_name,
                status: AccountStatus::Active,
                date_created: now,
                date_updated: now,
                sequence,
            });
        }
        registry
    }

    fn next_sequence(&mut self) -> u64 {
        self.last_sequence += 1;
        self.last_sequence
    }

    pub fn account(&self, sid: &str) -> Option<&AccountRecord> {
        self.accounts.iter().find(|account| account.sid == sid)
    }

    fn account_mut(&mut self, sid: &str) -> Option<&mut AccountRecord> {
        self.accounts.iter_mut().find(|account| account.sid == sid)
    }

    /// The first configured account: the one simulations act for by default.
    pub fn first(&self) -> Option<&AccountRecord> {
        self.accounts.first()
    }

    /// Who `user:password` (an account SID and auth token, or an API key SID and secret) is,
    /// when the account is active.
    pub fn authenticate(&self, user: &str, password: &str) -> Option<Principal> {
        let by_auth_token = self
            .accounts
            .iter()
            .find(|account| account.sid == user && account.auth_token.expose() == password)
            .map(|account| Principal { account_sid: account.sid.clone(), credential: Credential::AuthToken });
        let principal = by_auth_token.or_else(|| {
            self.api_keys.iter().find(|api_key| api_key.sid == user && api_key.secret.expose() == password).map(
                |api_key| Principal {
                    account_sid: api_key.account_sid.clone(),
                    credential: Credential::ApiKey(api_key.kind),
                },
            )
        })?;
        let active =
            self.account(&principal.account_sid).is_some_and(|account| account.status == AccountStatus::Active);
        active.then_some(principal)
    }

    /// The main account of `sid`'s family: itself, or the account that owns it.
    pub fn family_of(&self, sid: &str) -> String {
        let mut family = sid;
        // Subaccounts cannot own subaccounts; the bound only guards a malformed configuration.
        for _ in 0..self.accounts.len() {
            match self.account(family).and_then(|account| account.owner.as_deref()) {
                Some(owner) => family = owner,
                None => break,
            }
        }
        family.to_owned()
    }

    /// Whether a request authenticated as `caller` may make resources for `account`: its own,
    /// or one of its subaccounts that is not closed.
    pub fn may_act_for(&self, caller: &str, account: &str) -> bool {
        caller == account
            || self
                .account(account)
                .is_some_and(|known| known.owner.as_deref() == Some(caller) && known.status != AccountStatus::Closed)
    }

    /// Whether `caller` may see `sid` through the Accounts resource: itself or a subaccount.
    fn visible_to(&self, caller: &str, sid: &str) -> bool {
        caller == sid || self.account(sid).is_some_and(|account| account.owner.as_deref() == Some(caller))
    }

    pub fn create_subaccount(
        &mut self,
        owner: &str,
        friendly_name: Option<&str>,
        now: Timestamp,
    ) -> Result<AccountRecord, AccountError> {
        let owner_account = self.account(owner).ok_or_else(|| AccountError::UnknownAccount(owner.to_owned()))?;
        if owner_account.owner.is_some() {
            return Err(AccountError::NotAMainAccount(owner.to_owned()));
        }
        if owner_account.status == AccountStatus::Closed {
            return Err(AccountError::Closed(owner.to_owned()));
        }
        let open = self
            .accounts
            .iter()
            .filter(|account| account.owner.as_deref() == Some(owner) && account.status != AccountStatus::Closed)
            .count();
        if open >= MAX_SUBACCOUNTS {
            return Err(AccountError::TooManySubaccounts(owner.to_owned()));
        }
        let friendly_name = match friendly_name {
            Some(name) => checked_friendly_name(name)?,
            None => default_subaccount_name(now),
        };
        let sequence = self.next_sequence();
        let account = AccountRecord {
            sid: new_sid("AC"),
            auth_token: Secret::new(format!("{:032x}", rand::random::<u128>())),
            owner: Some(owner.to_owned()),
            friendly_name,
            status: AccountStatus::Active,
            date_created: now,
            date_updated: now,
            sequence,
        };
        self.accounts.push(account.clone());
        Ok(account)
    }

    /// Closes the subaccount `sid` (again, if it is).
    pub fn close_subaccount(&mut self, sid: &str, now: Timestamp) -> Result<Subaccount, AccountError> {
        let account = self.account_mut(sid).ok_or_else(|| AccountError::UnknownAccount(sid.to_owned()))?;
        if account.owner.is_none() {
            return Err(AccountError::NotASubaccount(sid.to_owned()));
        }
        if account.status != AccountStatus::Closed {
            account.status = AccountStatus::Closed;
            account.date_updated = now;
        }
        Ok(account.subaccount().expect("a subaccount has an owner"))
    }

    /// The subaccounts of `owner`, in creation order.
    pub fn subaccounts(&self, owner: &str) -> Vec<Subaccount> {
        self.accounts
            .iter()
            .filter(|account| account.owner.as_deref() == Some(owner))
            .filter_map(AccountRecord::subaccount)
            .collect()
    }

    pub fn create_api_key(&mut self, account_sid: &str, kind: ApiKeyKind) -> Result<CreatedApiKey, AccountError> {
        match self.account(account_sid) {
            None => return Err(AccountError::UnknownAccount(account_sid.to_owned())),
            Some(account) if account.status == AccountStatus::Closed => {
                return Err(AccountError::Closed(account_sid.to_owned()));
            }
            Some(_) => {}
        }
        let created = CreatedApiKey {
            sid: new_sid("SK"),
            secret: format!("{:032x}", rand::random::<u128>()),
            account_sid: account_sid.to_owned(),
            kind,
        };
        self.api_keys.push(ApiKey {
            sid: created.sid.clone(),
            secret: Secret::new(created.secret.clone()),
            account_sid: created.account_sid.clone(),
            kind,
        });
        Ok(created)
    }
}

/// Twilio's default name: `SubAccount Created at {YYYY-MM-DD HH:MM meridian}` (as in
/// "SubAccount Created at 2014-10-03 09:48 am"; here in GMT).
fn default_subaccount_name(now: Timestamp) -> String {
    format!("SubAccount Created at {}", now.strftime("%Y-%m-%d %I:%M %P"))
}

fn checked_friendly_name(name: &str) -> Result<String, AccountError> {
    if name.chars().count() > MAX_FRIENDLY_NAME_CHARS {
        return Err(AccountError::FriendlyNameTooLong);
    }
    Ok(name.to_owned())
}

/// The refusal of Standard API keys: Twilio answers them "Authenticate", code 20003.
fn check_may_use_accounts(principal: &Principal) -> Result<(), TwilioError> {
    if principal.may_use_accounts() { Ok(()) } else { Err(TwilioError::authentication_required()) }
}

/// The resource as `api.v2010.account` describes it, URIs relative to the API's host.
fn render(account: &AccountRecord) -> Value {
    let sid = &account.sid;
    let subresource_uris: serde_json::Map<String, Value> = SUBRESOURCES
        .iter()
        .map(|(name, path)| ((*name).to_owned(), Value::String(format!("/2010-04-01/Accounts/{sid}/{path}.json"))))
        .collect();
    json!({
        "auth_token": account.auth_token.expose(),
        "date_created": rfc_2822(account.date_created),
        "date_updated": rfc_2822(account.date_updated),
        "friendly_name": account.friendly_name,
        // "The OwnerAccountSid of a parent account is it's own sid."
        "owner_account_sid": account.owner.as_deref().unwrap_or(sid),
        "sid": sid,
        "status": account.status.as_str(),
        "subresource_uris": subresource_uris,
        "type": "Full",
        "uri": format!("/2010-04-01/Accounts/{sid}.json"),
    })
}

/// `GET /2010-04-01/Accounts.json`: the caller itself and, for a main account, its
/// subaccounts, in creation order, filtered by `FriendlyName` (exact) and `Status`.
pub(crate) fn list(emulator: &Emulator, principal: &Principal, query: &Parameters) -> Result<ApiResponse, TwilioError> {
    check_may_use_accounts(principal)?;
    let request = PageRequest::<u64>::from_query(query)?;
    let friendly_name = parameter(query, "FriendlyName");
    let status = parameter(query, "Status").and_then(AccountStatus::parse);
    let registry = emulator.accounts();
    let caller = principal.account_sid.as_str();
    let mut items: Vec<(u64, &AccountRecord)> = registry
        .accounts
        .iter()
        .filter(|account| registry.visible_to(caller, &account.sid))
        .filter(|account| friendly_name.is_none_or(|name| account.friendly_name == name))
        .filter(|account| status.is_none_or(|status| account.status == status))
        .map(|account| (account.sequence, account))
        .collect();
    items.sort_by_key(|(sequence, _)| *sequence);
    let page = request.select_2010(&items, ACCOUNTS_PATH, &filters(query));
    let accounts: Vec<Value> = page.items.into_iter().map(render).collect();
    let mut body = page.meta;
    body["accounts"] = Value::Array(accounts);
    Ok(ApiResponse::ok(body))
}

/// `POST /2010-04-01/Accounts.json`: a new subaccount of the caller.
pub(crate) fn create(
    emulator: &Emulator,
    principal: &Principal,
    form: &Parameters,
) -> Result<ApiResponse, TwilioError> {
    check_may_use_accounts(principal)?;
    let mut registry = emulator.accounts();
    let account = registry
        .create_subaccount(&principal.account_sid, parameter(form, "FriendlyName"), crate::dates::now())
        .map_err(|error| error.to_twilio())?;
    Ok(ApiResponse::created(render(&account)))
}

/// `GET /2010-04-01/Accounts/{Sid}.json`: the caller itself or one of its subaccounts.
pub(crate) fn fetch(
    emulator: &Emulator,
    principal: &Principal,
    sid: &str,
    path: &str,
) -> Result<ApiResponse, TwilioError> {
    check_may_use_accounts(principal)?;
    let registry = emulator.accounts();
    match registry.account(sid) {
        Some(account) if registry.visible_to(&principal.account_sid, sid) => Ok(ApiResponse::ok(render(account))),
        _ => Err(TwilioError::not_found(path)),
    }
}

/// `POST /2010-04-01/Accounts/{Sid}.json`: `FriendlyName` and `Status`. Only the owner
/// changes a subaccount's status; a main account's own status cannot change; a closed account
/// cannot change at all (asking for what it already is changes nothing and is answered).
pub(crate) fn update(
    emulator: &Emulator,
    principal: &Principal,
    sid: &str,
    path: &str,
    form: &Parameters,
) -> Result<ApiResponse, TwilioError> {
    check_may_use_accounts(principal)?;
    let caller = principal.account_sid.as_str();
    let mut registry = emulator.accounts();
    if !registry.visible_to(caller, sid) {
        return Err(TwilioError::not_found(path));
    }
    let Some(account) = registry.account_mut(sid) else {
        return Err(TwilioError::not_found(path));
    };
    let friendly_name =
        parameter(form, "FriendlyName").map(checked_friendly_name).transpose().map_err(|error| error.to_twilio())?;
    // The document's schema allows only the three names; the request was checked against it.
    let status = parameter(form, "Status").and_then(AccountStatus::parse);
    let renames = friendly_name.as_ref().is_some_and(|name| *name != account.friendly_name);
    let changes_status = status.is_some_and(|status| status != account.status);
    if changes_status && account.owner.as_deref() != Some(caller) {
        let message = match account.owner {
            None => "Permission denied: a main account cannot be suspended or closed".to_owned(),
            Some(_) => format!("Permission denied: only the owner of subaccount {sid} may change its status"),
        };
        return Err(TwilioError::new(StatusCode::FORBIDDEN, 20003, message));
    }
    if account.status == AccountStatus::Closed && (renames || changes_status) {
        return Err(AccountError::Closed(sid.to_owned()).to_twilio());
    }
    if renames || changes_status {
        if let Some(name) = friendly_name {
            account.friendly_name = name;
        }
        if let Some(status) = status {
            account.status = status;
        }
        account.date_updated = crate::dates::now();
    }
    Ok(ApiResponse::ok(render(account)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIN: &str = "AC0123456789abcdef0123456789abcdef";
    const SUB: &str = "ACfedcba9876543210fedcba9876543210";
    const OTHER: &str = "AC99999999999999999999999999999999";
    const KEY: &str = "SK0123456789abcdef0123456789abcdef";

    fn registry() -> Registry {
        let config = EmulatorConfig::new("http://127.0.0.1:5000")
            .account(MAIN, "main-token")
            .subaccount(SUB, "sub-token", MAIN)
            .account(OTHER, "other-token")
            .api_key(KEY, "key-secret", SUB);
        Registry::from_config(&config, "2025-01-31T15:04:00Z".parse().unwrap())
    }

    #[test]
    fn configured_accounts_are_active_and_named_like_twilio_names_them() {
        let registry = registry();
        assert_eq!(registry.account(MAIN).unwrap().friendly_name, MAIN_ACCOUNT_NAME);
        assert_eq!(registry.account(SUB).unwrap().friendly_name, "SubAccount Created at 2025-01-31 03:04 pm");
        assert!(registry.accounts.iter().all(|account| account.status == AccountStatus::Active));
    }

    #[test]
    fn families_are_main_accounts_with_their_subaccounts() {
        let mut registry = registry();
        let made = registry.create_subaccount(MAIN, Some("tenant"), Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(registry.family_of(MAIN), MAIN);
        assert_eq!(registry.family_of(SUB), MAIN);
        assert_eq!(registry.family_of(&made.sid), MAIN);
        assert_eq!(registry.family_of(OTHER), OTHER);
    }

    #[test]
    fn closed_and_suspended_accounts_do_not_authenticate() {
        let mut registry = registry();
        assert!(registry.authenticate(SUB, "sub-token").is_some());
        assert_eq!(
            registry.authenticate(KEY, "key-secret").map(|principal| principal.account_sid),
            Some(SUB.to_owned())
        );
        registry.account_mut(SUB).unwrap().status = AccountStatus::Suspended;
        assert!(registry.authenticate(SUB, "sub-token").is_none());
        assert!(registry.may_act_for(MAIN, SUB), "a suspended subaccount is still its owner's");
        registry.close_subaccount(SUB, Timestamp::UNIX_EPOCH).unwrap();
        assert!(registry.authenticate(SUB, "sub-token").is_none());
        assert!(registry.authenticate(KEY, "key-secret").is_none(), "nor do its API keys");
        assert!(!registry.may_act_for(MAIN, SUB));
        assert!(registry.authenticate(MAIN, "main-token").is_some());
    }

    #[test]
    fn only_main_accounts_make_subaccounts_and_only_subaccounts_close() {
        let mut registry = registry();
        let made = registry.create_subaccount(MAIN, None, Timestamp::UNIX_EPOCH).unwrap();
        assert!(crate::sid::is_sid(&made.sid, "AC"));
        assert_eq!(made.auth_token.expose().len(), 32);
        assert_eq!(made.friendly_name, "SubAccount Created at 1970-01-01 12:00 am");
        assert_eq!(
            registry.create_subaccount(SUB, None, Timestamp::UNIX_EPOCH).unwrap_err(),
            AccountError::NotAMainAccount(SUB.to_owned())
        );
        assert_eq!(
            registry.close_subaccount(MAIN, Timestamp::UNIX_EPOCH).unwrap_err(),
            AccountError::NotASubaccount(MAIN.to_owned())
        );
        let long_name = "x".repeat(65);
        assert_eq!(
            registry.create_subaccount(MAIN, Some(&long_name), Timestamp::UNIX_EPOCH).unwrap_err(),
            AccountError::FriendlyNameTooLong
        );
        let subaccounts: Vec<String> = registry.subaccounts(MAIN).into_iter().map(|sub| sub.sid).collect();
        assert_eq!(subaccounts, [SUB.to_owned(), made.sid]);
        assert!(registry.subaccounts(OTHER).is_empty());
    }

    #[test]
    fn debug_hides_tokens_and_secrets() {
        let mut registry = registry();
        let subaccount = registry.subaccounts(MAIN).remove(0);
        assert!(!format!("{subaccount:?}").contains("sub-token"));
        let key = registry.create_api_key(SUB, ApiKeyKind::Main).unwrap();
        assert!(!format!("{key:?}").contains(&key.secret));
        assert!(registry.authenticate(&key.sid, &key.secret).is_some());
    }
}

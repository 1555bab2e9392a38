//! The Twilio provider: its client, the subaccounts it acts for, and each resource type routed
//! to its file.

use std::collections::BTreeMap;
use std::sync::Arc;

use stowage_provider::{Address, ErrorKind, ProviderError, Secret};

use crate::client::{
    Account, CredentialKind, RetryPolicy, Timeouts, TwilioAuth, TwilioClient, TwilioEndpoints, TwilioError,
};
use crate::credential::Credentials;
use crate::{aws_credential, public_key, storage_settings};

/// Twilio resources of one account, and of the subaccounts it was given to act for (see
/// [`TwilioProvider::with_subaccounts`]).
#[derive(Debug, Clone)]
pub struct TwilioProvider {
    pub(crate) client: TwilioClient,
    /// The account the client authenticates as, when the credentials say (`AC...` + token).
    authenticated_account: Option<String>,
    /// A client authenticating as each subaccount, by SID.
    subaccounts: Arc<BTreeMap<String, TwilioClient>>,
}

/// An active subaccount of the main account, as the 2010 Accounts API lists it, with the
/// auth token requests about it authenticate with. The token is held in memory only: it is a
/// [`Secret`], which `Debug` redacts, and it is never logged or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subaccount {
    /// `AC` followed by 32 hex digits.
    pub sid: String,
    pub friendly_name: String,
    /// `active`: [`TwilioProvider::subaccounts`] lists no other.
    pub status: String,
    pub auth_token: Secret,
}

/// The client requests about one address go through, and the account it authenticates as.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Acting<'a> {
    pub client: &'a TwilioClient,
    /// The account SID requests authenticate as, when known (not for an API key).
    pub account: Option<&'a str>,
    /// The subaccount the address is an instance for (its key), if any.
    pub subaccount: Option<&'a str>,
}

impl Acting<'_> {
    /// Whether `account_sid` names an account other than the one requests authenticate as:
    /// only then is `AccountSid` sent with a create (it must name a subaccount of the caller).
    pub(crate) fn is_other_account(&self, account_sid: &str) -> bool {
        self.account.is_some_and(|own| own != account_sid)
    }
}

impl TwilioProvider {
    /// A provider whose client authenticates with `auth`.
    pub fn connect(auth: TwilioAuth, endpoints: TwilioEndpoints, retry: RetryPolicy) -> Result<Self, TwilioError> {
        Self::connect_with_timeouts(auth, endpoints, retry, Timeouts::default())
    }

    /// As [`TwilioProvider::connect`], with the client's timeouts given.
    pub fn connect_with_timeouts(
        auth: TwilioAuth,
        endpoints: TwilioEndpoints,
        retry: RetryPolicy,
        timeouts: Timeouts,
    ) -> Result<Self, TwilioError> {
        let authenticated_account =
            (auth.kind() == CredentialKind::AccountAuthToken).then(|| auth.username().to_owned());
        Ok(Self {
            client: TwilioClient::with_timeouts(auth, endpoints, retry, timeouts)?,
            authenticated_account,
            subaccounts: Arc::default(),
        })
    }

    pub fn client(&self) -> &TwilioClient {
        &self.client
    }

    /// Every active subaccount of the account the credentials belong to, sorted by SID, with
    /// its auth token: one `GET /2010-04-01/Accounts.json?Status=active` (all pages, each next
    /// page followed only on the configured 2010 API endpoint), counted in the client's calls.
    /// Twilio lists the calling account too; it is left out.
    ///
    /// Needs the main account's auth token or a Main API key (Twilio refuses a Standard API
    /// key). With an API key, the calling account is the listed account that owns itself.
    pub async fn subaccounts(&self) -> Result<Vec<Subaccount>, ProviderError> {
        let accounts = self.client.list_active_accounts().await?;
        let caller = match &self.authenticated_account {
            Some(sid) => sid.clone(),
            None => self_owned(&accounts)?,
        };
        let mut subaccounts = Vec::new();
        for account in accounts {
            let Some(sid) = account.sid else {
                return Err(listing_error("Twilio listed an account without a `sid`"));
            };
            let owned_by_caller = account.owner_account_sid.as_deref() == Some(caller.as_str());
            if sid == caller || !owned_by_caller || account.status.as_deref() != Some("active") {
                continue;
            }
            if !is_account_sid(&sid) {
                return Err(listing_error(format!(
                    "Twilio listed a subaccount whose SID `{sid}` is not an account SID"
                )));
            }
            let Some(auth_token) = account.auth_token.filter(|token| !token.expose().is_empty()) else {
                return Err(listing_error(format!(
                    "Twilio listed subaccount {sid} without its auth token, which requests about it need"
                ))
                .with_hint("list the subaccounts with the main account's auth token or a Main API key"));
            };
            subaccounts.push(Subaccount {
                friendly_name: account.friendly_name.unwrap_or_default(),
                status: account.status.unwrap_or_default(),
                auth_token,
                sid,
            });
        }
        subaccounts.sort_by(|left, right| left.sid.cmp(&right.sid));
        Ok(subaccounts)
    }

    /// A provider that acts for `subaccounts` too: every operation on an address whose key is
    /// one of their SIDs (`twilio_aws_credential.main["AC…"]`) authenticates as that
    /// subaccount, with its SID and auth token, for every request it makes. The new provider
    /// shares this one's client (connections, call counts, concurrency limits); it acts for
    /// exactly the subaccounts given, not for ones given to this provider before.
    pub fn with_subaccounts(&self, subaccounts: &[Subaccount]) -> TwilioProvider {
        let clients = subaccounts
            .iter()
            .map(|subaccount| {
                (subaccount.sid.clone(), self.client.for_subaccount(&subaccount.sid, subaccount.auth_token.clone()))
            })
            .collect();
        TwilioProvider { subaccounts: Arc::new(clients), ..self.clone() }
    }

    /// Whether this provider can act for the account `sid`: a subaccount it was given, or the
    /// account its own credentials are the auth token of.
    pub fn acts_for(&self, sid: &str) -> bool {
        self.subaccounts.contains_key(sid) || self.authenticated_account.as_deref() == Some(sid)
    }

    /// How requests about `address` authenticate: as the subaccount its key names, else with
    /// the credentials stowage was given.
    pub(crate) fn acting_for(&self, address: &Address) -> Result<Acting<'_>, ProviderError> {
        self.acting_as(address.key.as_deref(), || address.to_string())
    }

    /// How requests for the account `key` (none: the credentials stowage was given)
    /// authenticate. A key that is neither a subaccount this provider was given nor the
    /// account of its own auth token is refused before any request: falling back to the main
    /// credentials would act on another account than the one named.
    pub(crate) fn acting_as(
        &self,
        key: Option<&str>,
        what: impl FnOnce() -> String,
    ) -> Result<Acting<'_>, ProviderError> {
        let Some(sid) = key else {
            return Ok(Acting {
                client: &self.client,
                account: self.authenticated_account.as_deref(),
                subaccount: None,
            });
        };
        if let Some((sid, client)) = self.subaccounts.get_key_value(sid) {
            return Ok(Acting { client, account: Some(sid), subaccount: Some(sid) });
        }
        if let Some(own) = self.authenticated_account.as_deref().filter(|own| *own == sid) {
            // The account whose auth token stowage was given: its own credentials.
            return Ok(Acting { client: &self.client, account: Some(own), subaccount: Some(own) });
        }
        Err(ProviderError::new(
            ErrorKind::Invalid,
            "twilio",
            "configuration",
            format!(
                "{} is for Twilio account {sid}, but stowage has no credentials for it: it is not an active \
                 subaccount of the account the credentials belong to",
                what()
            ),
        )
        .with_hint(
            "stowage acts for a subaccount with its own auth token, read from the main account's 2010 Accounts API; \
             check that the subaccount exists, is active and belongs to the main account stowage is given the \
             credentials of",
        ))
    }
}

/// The calling account of an API key: the only listed account that owns itself (a main
/// account's `owner_account_sid` is its own SID).
fn self_owned(accounts: &[Account]) -> Result<String, ProviderError> {
    let mut main = accounts
        .iter()
        .filter(|account| account.sid.is_some() && account.sid == account.owner_account_sid)
        .filter_map(|account| account.sid.clone());
    match (main.next(), main.next()) {
        (Some(sid), None) => Ok(sid),
        _ => Err(listing_error("cannot tell which listed account the API key belongs to")
            .with_hint("list the subaccounts with the main account's auth token or a Main API key")),
    }
}

fn listing_error(message: impl Into<String>) -> ProviderError {
    ProviderError::new(ErrorKind::Internal, "twilio", "ListAccounts", message)
}

/// `AC` and 32 hex digits (the 2010 document's `^AC[0-9a-fA-F]{32}$`).
fn is_account_sid(sid: &str) -> bool {
    sid.strip_prefix("AC")
        .is_some_and(|digits| digits.len() == 32 && digits.bytes().all(|byte| byte.is_ascii_hexdigit()))
}

stowage_provider::routes!(TwilioProvider {
    TwilioAwsCredential => Credentials<aws_credential::AwsCredential>,
    TwilioPublicKey => Credentials<public_key::PublicKey>,
    TwilioRecordingSettings | TwilioCompositionSettings => storage_settings::Settings,
});

#[cfg(test)]
mod tests {
    use super::*;

    fn account(sid: &str, owner: &str) -> Account {
        Account {
            sid: Some(sid.to_owned()),
            owner_account_sid: Some(owner.to_owned()),
            friendly_name: None,
            status: Some("active".to_owned()),
            auth_token: Some(Secret::new("token")),
        }
    }

    #[test]
    fn an_api_keys_account_is_the_one_that_owns_itself() {
        let main = format!("AC{}", "1".repeat(32));
        let sub = format!("AC{}", "2".repeat(32));
        assert_eq!(self_owned(&[account(&sub, &main), account(&main, &main)]).ok(), Some(main.clone()));
        assert!(self_owned(&[account(&sub, &main)]).is_err(), "no main account listed");
        assert!(self_owned(&[account(&main, &main), account(&sub, &sub)]).is_err(), "two");
    }

    #[test]
    fn account_sids_are_ac_and_32_hex_digits() {
        assert!(is_account_sid(&format!("AC{}", "aF09".repeat(8))));
        assert!(!is_account_sid(&format!("AC{}", "0".repeat(31))));
        assert!(!is_account_sid(&format!("SK{}", "0".repeat(32))));
        assert!(!is_account_sid(&format!("AC{}g", "0".repeat(31))));
    }

    #[test]
    fn a_subaccount_shows_no_token() {
        let subaccount = Subaccount {
            sid: "AC1".to_owned(),
            friendly_name: "tenant".to_owned(),
            status: "active".to_owned(),
            auth_token: Secret::new("hunter2"),
        };
        assert!(!format!("{subaccount:?}").contains("hunter2"));
    }
}

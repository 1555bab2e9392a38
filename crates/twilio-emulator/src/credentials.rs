//! `/v1/Credentials/AWS` and `/v1/Credentials/PublicKeys`: create, list, fetch, update, delete.

use serde_json::{Value, json};
use stowage_provider::Secret;

use crate::conformance::{Parameters, parameter};
use crate::dates::iso_8601;
use crate::error::TwilioError;
use crate::operation::CredentialKind;
use crate::paging::PageRequest;
use crate::public_key::check_rsa_public_key;
use crate::server::{ApiResponse, Emulator};
use crate::sid::new_credential_sid;
use crate::store::{CredentialMaterial, NewCredential, StoredCredential};

/// Twilio's documented limit; the OpenAPI documents state it only in prose.
const MAX_FRIENDLY_NAME_CHARS: usize = 64;

/// `base`: the address the client used, which page URLs name.
pub(crate) fn list(
    emulator: &Emulator,
    base: &str,
    account_sid: &str,
    kind: CredentialKind,
    query: &Parameters,
) -> Result<ApiResponse, TwilioError> {
    let request = PageRequest::<u64>::from_query(query)?;
    let store = emulator.store();
    let items: Vec<(u64, &StoredCredential)> =
        store.credentials(account_sid, kind).map(|credential| (credential.sequence, credential)).collect();
    let list_url = format!("{base}{}", kind.collection_path());
    let page = request.select(&items, &list_url, &Vec::new(), "credentials");
    let credentials: Vec<Value> =
        page.items.into_iter().map(|credential| render(&emulator.base_url, kind, credential)).collect();
    Ok(ApiResponse::ok(json!({
        "credentials": credentials,
        "meta": page.meta,
    })))
}

pub(crate) fn create(
    emulator: &Emulator,
    account_sid: &str,
    kind: CredentialKind,
    form: &Parameters,
) -> Result<ApiResponse, TwilioError> {
    let friendly_name = friendly_name(form)?;
    let owner = credential_owner(account_sid, parameter(form, "AccountSid"), |account| {
        emulator.may_act_for(account_sid, account)
    })?;
    let material = match kind {
        CredentialKind::Aws => aws_material(parameter(form, "Credentials").unwrap_or_default())?,
        CredentialKind::PublicKey => {
            check_rsa_public_key(parameter(form, "PublicKey").unwrap_or_default()).map_err(|problem| {
                TwilioError::invalid_parameter(format!("PublicKey is not a PEM-encoded RSA public key: {problem}"))
            })?;
            CredentialMaterial::PublicKey
        }
    };
    let new = NewCredential { sid: new_credential_sid(), account_sid: owner, friendly_name, material };
    let credential = emulator.store().insert_credential(new, jiff::Timestamp::now());
    Ok(ApiResponse::created(render(&emulator.base_url, kind, &credential)))
}

pub(crate) fn fetch(
    emulator: &Emulator,
    account_sid: &str,
    kind: CredentialKind,
    sid: &str,
    path: &str,
) -> Result<ApiResponse, TwilioError> {
    let store = emulator.store();
    let credential = store.credential(account_sid, kind, sid).ok_or_else(|| TwilioError::not_found(path))?;
    Ok(ApiResponse::ok(render(&emulator.base_url, kind, credential)))
}

pub(crate) fn update(
    emulator: &Emulator,
    account_sid: &str,
    kind: CredentialKind,
    sid: &str,
    path: &str,
    form: &Parameters,
) -> Result<ApiResponse, TwilioError> {
    let friendly_name = friendly_name(form)?;
    let mut store = emulator.store();
    let credential = store.credential_mut(account_sid, kind, sid).ok_or_else(|| TwilioError::not_found(path))?;
    // Only the name can change: a credential's secret is fixed for its life.
    if friendly_name.is_some() {
        credential.friendly_name = friendly_name;
        credential.date_updated = jiff::Timestamp::now();
    }
    Ok(ApiResponse::ok(render(&emulator.base_url, kind, credential)))
}

pub(crate) fn delete(
    emulator: &Emulator,
    account_sid: &str,
    kind: CredentialKind,
    sid: &str,
    path: &str,
) -> Result<ApiResponse, TwilioError> {
    if emulator.store().remove_credential(account_sid, kind, sid) {
        Ok(ApiResponse::no_content())
    } else {
        Err(TwilioError::not_found(path))
    }
}

/// The account a new credential belongs to: the caller's own, or the one `AccountSid` names,
/// which the OpenAPI documents allow only for "a valid Subaccount of the account issuing the
/// request" (`may_act_for` says which accounts the caller may act for). Any other account is
/// refused as Twilio refuses credentials used on an account they are not scoped to: 20003,
/// Permission Denied. The status is 403, not 401: the caller did authenticate, and a 401 would
/// tell a client its credentials are wrong.
fn credential_owner(
    caller: &str,
    requested: Option<&str>,
    may_act_for: impl Fn(&str) -> bool,
) -> Result<String, TwilioError> {
    match requested {
        None => Ok(caller.to_owned()),
        Some(account) if account == caller || may_act_for(account) => Ok(account.to_owned()),
        Some(account) => Err(TwilioError::new(
            axum::http::StatusCode::FORBIDDEN,
            20003,
            format!("Permission denied: AccountSid {account} is neither {caller} nor one of its subaccounts"),
        )),
    }
}

/// The resource as the `accounts.v1.credential.*` schemas describe it.
fn render(base_url: &str, kind: CredentialKind, credential: &StoredCredential) -> Value {
    json!({
        "sid": credential.sid,
        "account_sid": credential.account_sid,
        "friendly_name": credential.friendly_name,
        "date_created": iso_8601(credential.date_created),
        "date_updated": iso_8601(credential.date_updated),
        "url": format!("{base_url}{}/{}", kind.collection_path(), credential.sid),
    })
}

fn friendly_name(form: &Parameters) -> Result<Option<String>, TwilioError> {
    match parameter(form, "FriendlyName") {
        Some(name) if name.chars().count() > MAX_FRIENDLY_NAME_CHARS => Err(TwilioError::invalid_parameter(format!(
            "FriendlyName must be at most {MAX_FRIENDLY_NAME_CHARS} characters long"
        ))),
        name => Ok(name.map(str::to_owned)),
    }
}

/// Reads `Credentials`: `ACCESS_KEY_ID:SECRET_ACCESS_KEY`. The message never repeats it.
fn aws_material(credentials: &str) -> Result<CredentialMaterial, TwilioError> {
    let is_key_id =
        |id: &str| id.len() == 20 && id.bytes().all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit());
    let is_secret = |secret: &str| {
        secret.len() == 40 && secret.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"/+=".contains(&byte))
    };
    match credentials.split_once(':') {
        Some((access_key_id, secret)) if is_key_id(access_key_id) && is_secret(secret) => Ok(CredentialMaterial::Aws {
            access_key_id: access_key_id.to_owned(),
            secret_access_key: Secret::new(secret),
        }),
        _ => Err(TwilioError::new(
            axum::http::StatusCode::BAD_REQUEST,
            70106,
            "Invalid AWS credentials: Credentials must be ACCESS_KEY_ID:SECRET_ACCESS_KEY, \
             with an access key ID of 20 uppercase letters and digits and a secret access key \
             of 40 characters",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    #[test]
    fn aws_credentials_split_into_key_id_and_secret() {
        let material = aws_material(&format!("{KEY_ID}:{SECRET}")).unwrap();
        let CredentialMaterial::Aws { access_key_id, secret_access_key } = material else {
            panic!("not AWS material");
        };
        assert_eq!(access_key_id, KEY_ID);
        assert_eq!(secret_access_key.expose(), SECRET);
    }

    #[test]
    fn malformed_aws_credentials_are_70106_and_the_message_hides_them() {
        for credentials in [
            SECRET.to_owned(),
            format!("{}:{SECRET}", KEY_ID.to_lowercase()),
            format!("{KEY_ID}:{}", &SECRET[1..]),
            format!("{KEY_ID}:{}!", &SECRET[1..]),
            format!("{KEY_ID}{SECRET}"),
        ] {
            let error = aws_material(&credentials).unwrap_err();
            assert_eq!(error.code, 70106);
            assert!(!error.message.contains(&SECRET[1..]), "{}", error.message);
        }
    }

    #[test]
    fn friendly_names_are_limited_to_64_characters() {
        let form = |name: String| vec![("FriendlyName".to_owned(), name)];
        assert_eq!(friendly_name(&form("é".repeat(64))).unwrap(), Some("é".repeat(64)));
        assert_eq!(friendly_name(&form("x".repeat(65))).unwrap_err().code, 20001);
        assert_eq!(friendly_name(&Vec::new()).unwrap(), None);
    }

    #[test]
    fn a_credential_belongs_to_the_caller_or_a_subaccount_it_may_act_for() {
        const CALLER: &str = "AC0123456789abcdef0123456789abcdef";
        const SUBACCOUNT: &str = "ACfedcba9876543210fedcba9876543210";
        const STRANGER: &str = "AC99999999999999999999999999999999";
        let subaccounts_only = |account: &str| account == SUBACCOUNT;
        assert_eq!(credential_owner(CALLER, None, subaccounts_only).unwrap(), CALLER);
        assert_eq!(credential_owner(CALLER, Some(CALLER), subaccounts_only).unwrap(), CALLER);
        assert_eq!(credential_owner(CALLER, Some(SUBACCOUNT), subaccounts_only).unwrap(), SUBACCOUNT);
        let refused = credential_owner(CALLER, Some(STRANGER), subaccounts_only).unwrap_err();
        assert_eq!((refused.status.as_u16(), refused.code), (403, 20003));
        assert_eq!(
            refused.message,
            "Permission denied: AccountSid AC99999999999999999999999999999999 is neither \
             AC0123456789abcdef0123456789abcdef nor one of its subaccounts"
        );
    }
}

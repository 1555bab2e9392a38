//! `twilio_public_key`: an RSA public key stored in Twilio as a public key credential, whose SID
//! the storage settings name as `EncryptionKeySid` to have recordings and compositions
//! encrypted before upload.
//!
//! Twilio never returns the key, and its update accepts only `FriendlyName`, so a different key
//! means a new credential. The state records the key's SHA-256 fingerprint (worked out from the
//! spec's PEM, see `stowage_spec::PublicKeyPem`), which is how a read says which key a
//! credential holds.
//!
//! A create may reach Twilio and its answer be lost, so, like the AWS credential, the key
//! carries the apply's marker at the end of its `FriendlyName` (see
//! [`stowage_provider::marker`]) and [`find_leftovers`] finds what such a create left.

use serde_json::json;
use stowage_provider::{
    Applied, Attributes, AttributesExt, CreateRequest, DeleteRequest, ErrorKind, LeftoverRequest, Observed,
    ProviderError, ReadRequest, UpdateRequest, marker,
};

use crate::TwilioProvider;
use crate::client::CreatePublicKey;
use crate::marked::{Listed, leftovers, marked};

/// What only the state knows about a credential: Twilio does not return the key.
const RECORDED_ONLY: [&str; 2] = ["public_key_sha256", "public_key"];

pub(crate) async fn read(twilio: &TwilioProvider, request: ReadRequest<'_>) -> Result<Option<Observed>, ProviderError> {
    // Only a credential stowage made is ours: it is found by the SID the state recorded.
    let Some(sid) = request.id else {
        return Ok(None);
    };
    let Some(key) = twilio.client.fetch_public_key(sid).await? else {
        return Ok(None);
    };
    // The marker stowage appends is its own business: the spec's name is what compares.
    let wanted = request.attribute("friendly_name");
    let friendly_name = key.friendly_name.as_deref().map(|name| marker::without_marker(name, wanted));
    let mut attributes = Attributes::from([
        ("sid".to_owned(), json!(key.sid.as_deref().unwrap_or(sid))),
        ("friendly_name".to_owned(), json!(friendly_name)),
        ("account_sid".to_owned(), json!(key.account_sid)),
    ]);
    if let Some(recorded) = request.recorded {
        for name in RECORDED_ONLY {
            if let Some(value) = recorded.get(name) {
                attributes.insert(name.to_owned(), value.clone());
            }
        }
    }
    Ok(Some(Observed { id: sid.to_owned(), attributes }))
}

pub(crate) async fn create(twilio: &TwilioProvider, request: CreateRequest<'_>) -> Result<Applied, ProviderError> {
    let attributes = request.attributes;
    let public_key = attributes.required_str(request.address, "public_key")?;
    // Required although not sent: without it the state could not tell later which key this is.
    attributes.required_str(request.address, "public_key_sha256")?;
    let account_sid = attributes.str("account_sid");
    let friendly_name = marked(attributes.str("friendly_name"), request.marker);
    let key = twilio
        .client
        .create_public_key(&CreatePublicKey {
            public_key,
            friendly_name: friendly_name.as_deref(),
            account_sid: account_sid.filter(|sid| twilio.is_other_account(sid)),
        })
        .await?;
    let Some(sid) = key.sid else {
        return Err(ProviderError::new(ErrorKind::Internal, "twilio", "CreatePublicKey", "the response has no `sid`"));
    };
    let mut applied = attributes.clone();
    applied.insert("sid".to_owned(), json!(sid));
    if let Some(account) = key.account_sid {
        applied.insert("account_sid".to_owned(), json!(account));
    }
    Ok(Applied { id: sid, attributes: applied })
}

pub(crate) async fn update(twilio: &TwilioProvider, request: UpdateRequest<'_>) -> Result<Applied, ProviderError> {
    // The planner replaces on any other change (the key and account are identity), so the name
    // is all an update can be about.
    // The marker stays: without it a lost answer to a later replace could not be told apart.
    let friendly_name = marked(request.after.str("friendly_name"), request.marker).unwrap_or_default();
    twilio.client.update_public_key(request.id, &friendly_name).await?;
    let mut applied = request.after.clone();
    applied.insert("sid".to_owned(), json!(request.id));
    Ok(Applied { id: request.id.to_owned(), attributes: applied })
}

pub(crate) async fn delete(twilio: &TwilioProvider, request: DeleteRequest<'_>) -> Result<(), ProviderError> {
    // Already gone is fine: that is what delete wants.
    twilio.client.delete_public_key(request.id).await?;
    Ok(())
}

/// Public keys an interrupted create left: those whose `FriendlyName` carries this state's
/// marker and that the state does not record. Which key such a credential holds is unknown
/// (Twilio does not return it), so a leftover is deleted, never adopted.
pub(crate) async fn find_leftovers(
    twilio: &TwilioProvider,
    request: LeftoverRequest<'_>,
) -> Result<Vec<Observed>, ProviderError> {
    if request.marker.is_none() {
        return Ok(Vec::new());
    }
    let listed = twilio.client.list_public_keys().await?.into_iter().map(|credential| Listed {
        sid: credential.sid,
        friendly_name: credential.friendly_name,
        account_sid: credential.account_sid,
    });
    Ok(leftovers(listed, &request))
}

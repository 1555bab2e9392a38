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

use stowage_provider::{
    Applied, AttributesExt, CreateRequest, DeleteRequest, LeftoverRequest, Observed, ProviderError, ReadRequest,
    UpdateRequest,
};

use crate::TwilioProvider;
use crate::client::CreatePublicKey;
use crate::credential::{self, Credential, marked};

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
    Ok(Some(credential::observed(sid, key.into(), &request, &RECORDED_ONLY)))
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
    credential::created(attributes, key.into(), "CreatePublicKey")
}

pub(crate) async fn update(twilio: &TwilioProvider, request: UpdateRequest<'_>) -> Result<Applied, ProviderError> {
    // The planner replaces on any other change (the key and account are identity), so the name
    // is all an update can be about.
    let (friendly_name, applied) = credential::renamed(&request);
    twilio.client.update_public_key(request.id, &friendly_name).await?;
    Ok(applied)
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
    let listed = twilio.client.list_public_keys().await?.into_iter().map(Credential::from);
    Ok(credential::leftovers(listed, &request))
}

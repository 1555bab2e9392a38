//! `twilio_aws_credential`: the uploader's access key, stored in Twilio.
//!
//! Twilio never returns the secret, and its update accepts only `FriendlyName`, so a new key
//! means a new credential. The state records the credential SID and the access key id it was
//! made from; the secret comes from the in-memory handoff of the apply that created the key.

use stowage_provider::{
    Applied, AttributesExt, CreateRequest, DeleteRequest, ErrorKind, LeftoverRequest, Observed, ProviderError,
    ReadRequest, UpdateRequest,
};

use crate::TwilioProvider;
use crate::client::CreateAwsCredential;
use crate::credential::{self, Credential, marked};

pub(crate) async fn read(twilio: &TwilioProvider, request: ReadRequest<'_>) -> Result<Option<Observed>, ProviderError> {
    // Only a credential stowage made is ours: it is found by the SID the state recorded.
    let Some(sid) = request.id else {
        return Ok(None);
    };
    let Some(credential) = twilio.client.fetch_aws_credential(sid).await? else {
        return Ok(None);
    };
    // Twilio does not say which key a credential holds; the state remembers it.
    Ok(Some(credential::observed(sid, credential.into(), &request, &["access_key_id"])))
}

pub(crate) async fn create(twilio: &TwilioProvider, request: CreateRequest<'_>) -> Result<Applied, ProviderError> {
    let attributes = request.attributes;
    let access_key_id = attributes.required_str(request.address, "access_key_id")?;
    let Some(secret) = request.handoff.get(access_key_id) else {
        return Err(ProviderError::new(
            ErrorKind::Internal,
            "twilio",
            "CreateAwsCredential",
            format!(
                "the secret of access key `{access_key_id}` is not available: it exists only during the apply \
                 that creates the key"
            ),
        )
        .with_hint("run apply again: stowage will replace the key and hand the new secret to Twilio"));
    };
    let account_sid = attributes.str("account_sid");
    let friendly_name = marked(attributes.str("friendly_name"), request.marker);
    let credential = twilio
        .client
        .create_aws_credential(&CreateAwsCredential {
            access_key_id,
            secret_access_key: &secret,
            friendly_name: friendly_name.as_deref(),
            account_sid: account_sid.filter(|sid| twilio.is_other_account(sid)),
        })
        .await?;
    request.handoff.delivered(access_key_id);
    credential::created(attributes, credential.into(), "CreateAwsCredential")
}

pub(crate) async fn update(twilio: &TwilioProvider, request: UpdateRequest<'_>) -> Result<Applied, ProviderError> {
    let (friendly_name, applied) = credential::renamed(&request);
    twilio.client.update_aws_credential(request.id, &friendly_name).await?;
    Ok(applied)
}

pub(crate) async fn delete(twilio: &TwilioProvider, request: DeleteRequest<'_>) -> Result<(), ProviderError> {
    // Already gone is fine: that is what delete wants.
    twilio.client.delete_aws_credential(request.id).await?;
    Ok(())
}

/// Credentials an interrupted create left: those whose `FriendlyName` carries this state's
/// marker and that the state does not record. The marker names the environment and the
/// state's lineage, so another environment's credentials, or another state's, never match.
/// A leftover holds a key whose secret stowage lost (or none it records): it is deleted, not
/// adopted, and the credential is made again from a key whose secret is at hand.
pub(crate) async fn find_leftovers(
    twilio: &TwilioProvider,
    request: LeftoverRequest<'_>,
) -> Result<Vec<Observed>, ProviderError> {
    if request.marker.is_none() {
        return Ok(Vec::new());
    }
    let listed = twilio.client.list_aws_credentials().await?.into_iter().map(Credential::from);
    Ok(credential::leftovers(listed, &request))
}

//! `twilio_aws_credential`: the uploader's access key, stored in Twilio.
//!
//! Twilio never returns the secret, and its update accepts only `FriendlyName`, so a new key
//! means a new credential. The state records the credential SID and the access key id it was
//! made from; the secret comes from the in-memory handoff of the apply that created the key.

use serde_json::json;
use stowage_provider::{
    Applied, Attributes, AttributesExt, CreateRequest, DeleteRequest, ErrorKind, LeftoverRequest, Observed,
    ProviderError, ReadRequest, UpdateRequest, marker,
};

use crate::TwilioProvider;
use crate::client::CreateAwsCredential;
use crate::marked::{Listed, leftovers, marked};

pub(crate) async fn read(twilio: &TwilioProvider, request: ReadRequest<'_>) -> Result<Option<Observed>, ProviderError> {
    // Only a credential stowage made is ours: it is found by the SID the state recorded.
    let Some(sid) = request.id else {
        return Ok(None);
    };
    let Some(credential) = twilio.client.fetch_aws_credential(sid).await? else {
        return Ok(None);
    };
    // The marker stowage appends is its own business: the spec's name is what compares.
    let wanted = request.attribute("friendly_name");
    let friendly_name = credential.friendly_name.as_deref().map(|name| marker::without_marker(name, wanted));
    let mut attributes = Attributes::from([
        ("sid".to_owned(), json!(credential.sid.as_deref().unwrap_or(sid))),
        ("friendly_name".to_owned(), json!(friendly_name)),
        ("account_sid".to_owned(), json!(credential.account_sid)),
    ]);
    // Twilio does not say which key a credential holds; the state remembers it.
    if let Some(access_key_id) = request.recorded.and_then(|recorded| recorded.get("access_key_id")) {
        attributes.insert("access_key_id".to_owned(), access_key_id.clone());
    }
    Ok(Some(Observed { id: sid.to_owned(), attributes }))
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
    let Some(sid) = credential.sid else {
        return Err(ProviderError::new(
            ErrorKind::Internal,
            "twilio",
            "CreateAwsCredential",
            "the response has no `sid`",
        ));
    };
    let mut applied = attributes.clone();
    applied.insert("sid".to_owned(), json!(sid));
    if let Some(account) = credential.account_sid {
        applied.insert("account_sid".to_owned(), json!(account));
    }
    Ok(Applied { id: sid, attributes: applied })
}

pub(crate) async fn update(twilio: &TwilioProvider, request: UpdateRequest<'_>) -> Result<Applied, ProviderError> {
    let friendly_name = marked(request.after.str("friendly_name"), request.marker).unwrap_or_default();
    twilio.client.update_aws_credential(request.id, &friendly_name).await?;
    let mut applied = request.after.clone();
    applied.insert("sid".to_owned(), json!(request.id));
    Ok(Applied { id: request.id.to_owned(), attributes: applied })
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
    let listed = twilio.client.list_aws_credentials().await?.into_iter().map(|credential| Listed {
        sid: credential.sid,
        friendly_name: credential.friendly_name,
        account_sid: credential.account_sid,
    });
    Ok(leftovers(listed, &request))
}

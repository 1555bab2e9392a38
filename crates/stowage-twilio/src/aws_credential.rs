//! `twilio_aws_credential`: the uploader's access key, stored in Twilio.
//!
//! Twilio never returns the secret, and its update accepts only `FriendlyName`, so a new key
//! means a new credential. The state records the credential SID and the access key id it was
//! made from; the secret comes from the in-memory handoff of the apply that created the key.

use serde_json::json;
use stowage_provider::{
    Applied, Attributes, AttributesExt, CreateRequest, DeleteRequest, ErrorKind, Observed, ProviderError, ReadRequest,
    UpdateRequest,
};

use crate::TwilioProvider;
use crate::client::CreateAwsCredential;

pub(crate) async fn read(twilio: &TwilioProvider, request: ReadRequest<'_>) -> Result<Option<Observed>, ProviderError> {
    // Only a credential stowage made is ours: it is found by the SID the state recorded.
    let Some(sid) = request.id else {
        return Ok(None);
    };
    let Some(credential) = twilio.client.fetch_aws_credential(sid).await? else {
        return Ok(None);
    };
    let mut attributes = Attributes::from([
        ("sid".to_owned(), json!(credential.sid.as_deref().unwrap_or(sid))),
        ("friendly_name".to_owned(), json!(credential.friendly_name)),
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
    let credential = twilio
        .client
        .create_aws_credential(&CreateAwsCredential {
            access_key_id,
            secret_access_key: &secret,
            friendly_name: attributes.str("friendly_name"),
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
    let friendly_name = request.after.str("friendly_name").unwrap_or_default();
    twilio.client.update_aws_credential(request.id, friendly_name).await?;
    let mut applied = request.after.clone();
    applied.insert("sid".to_owned(), json!(request.id));
    Ok(Applied { id: request.id.to_owned(), attributes: applied })
}

pub(crate) async fn delete(twilio: &TwilioProvider, request: DeleteRequest<'_>) -> Result<(), ProviderError> {
    // Already gone is fine: that is what delete wants.
    twilio.client.delete_aws_credential(request.id).await?;
    Ok(())
}

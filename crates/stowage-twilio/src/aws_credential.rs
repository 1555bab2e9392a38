//! `twilio_aws_credential`: the uploader's access key, stored in Twilio.
//!
//! Twilio never returns the secret, and its update accepts only `FriendlyName`, so a new key
//! means a new credential. The state records the credential SID and the access key id it was
//! made from; the secret comes from the in-memory handoff of the apply that created the key.

use stowage_provider::types::TwilioAwsCredential;
use stowage_provider::{CreateRequest, ErrorKind, ProviderError, required};

use crate::client::{CreateAwsCredential, TwilioClient};
use crate::credential::{Credential, CredentialAttributes, Shared, StoredKind};
use crate::provider::Acting;

/// `twilio_aws_credential`: what sets it apart from the other credential kind.
pub(crate) struct AwsCredential;

impl StoredKind for AwsCredential {
    type Attributes = TwilioAwsCredential;

    async fn fetch(client: &TwilioClient, sid: &str) -> Result<Option<Credential>, ProviderError> {
        Ok(client.fetch_aws_credential(sid).await?)
    }

    /// The key's secret comes from the handoff of the apply that created the key, and is
    /// dropped from it once Twilio holds it.
    async fn create(
        acting: Acting<'_>,
        request: &CreateRequest<'_>,
        wanted: &TwilioAwsCredential,
        friendly_name: Option<&str>,
    ) -> Result<Credential, ProviderError> {
        let access_key_id = required(wanted.access_key_id.as_deref(), request.address, "access_key_id")?;
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
        let account_sid = wanted.account_sid.as_deref();
        let credential = acting
            .client
            .create_aws_credential(&CreateAwsCredential {
                access_key_id,
                secret_access_key: &secret,
                friendly_name,
                account_sid: account_sid.filter(|sid| acting.is_other_account(sid)),
            })
            .await?;
        request.handoff.delivered(access_key_id);
        Ok(credential)
    }

    async fn rename(client: &TwilioClient, sid: &str, name: &str) -> Result<(), ProviderError> {
        client.update_aws_credential(sid, name).await?;
        Ok(())
    }

    async fn delete(client: &TwilioClient, sid: &str) -> Result<(), ProviderError> {
        client.delete_aws_credential(sid).await?;
        Ok(())
    }

    async fn list(client: &TwilioClient) -> Result<Vec<Credential>, ProviderError> {
        Ok(client.list_aws_credentials().await?)
    }
}

impl CredentialAttributes for TwilioAwsCredential {
    fn shared(&mut self) -> Shared<'_> {
        Shared { sid: &mut self.sid, friendly_name: &mut self.friendly_name, account_sid: &mut self.account_sid }
    }

    /// Twilio does not say which key a credential holds; the state remembers it.
    fn recorded_only(recorded: Self) -> Self {
        Self { access_key_id: recorded.access_key_id, ..Self::default() }
    }
}

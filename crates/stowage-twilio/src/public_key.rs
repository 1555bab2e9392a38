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
//! [`stowage_provider::marker`]) and `find_leftovers` finds what such a create left.

use stowage_provider::types::TwilioPublicKey;
use stowage_provider::{CreateRequest, ProviderError, required};

use crate::client::{CreatePublicKey, TwilioClient};
use crate::credential::{Credential, CredentialAttributes, Shared, StoredKind};
use crate::provider::Acting;

/// `twilio_public_key`: what sets it apart from the other credential kind.
pub(crate) struct PublicKey;

impl StoredKind for PublicKey {
    type Attributes = TwilioPublicKey;

    async fn fetch(client: &TwilioClient, sid: &str) -> Result<Option<Credential>, ProviderError> {
        Ok(client.fetch_public_key(sid).await?)
    }

    async fn create(
        acting: Acting<'_>,
        request: &CreateRequest<'_>,
        wanted: &TwilioPublicKey,
        friendly_name: Option<&str>,
    ) -> Result<Credential, ProviderError> {
        let public_key = required(wanted.public_key.as_deref(), request.address, "public_key")?;
        // Required although not sent: without it the state could not tell later which key this is.
        required(wanted.public_key_sha256.as_deref(), request.address, "public_key_sha256")?;
        let account_sid = wanted.account_sid.as_deref();
        let key = acting
            .client
            .create_public_key(&CreatePublicKey {
                public_key,
                friendly_name,
                account_sid: account_sid.filter(|sid| acting.is_other_account(sid)),
            })
            .await?;
        Ok(key)
    }

    async fn rename(client: &TwilioClient, sid: &str, name: &str) -> Result<(), ProviderError> {
        client.update_public_key(sid, name).await?;
        Ok(())
    }

    async fn delete(client: &TwilioClient, sid: &str) -> Result<(), ProviderError> {
        client.delete_public_key(sid).await?;
        Ok(())
    }

    async fn list(client: &TwilioClient) -> Result<Vec<Credential>, ProviderError> {
        Ok(client.list_public_keys().await?)
    }
}

impl CredentialAttributes for TwilioPublicKey {
    fn shared(&mut self) -> Shared<'_> {
        Shared { sid: &mut self.sid, friendly_name: &mut self.friendly_name, account_sid: &mut self.account_sid }
    }

    /// Twilio does not return the key: the state remembers it and its fingerprint.
    fn recorded_only(recorded: Self) -> Self {
        Self { public_key_sha256: recorded.public_key_sha256, public_key: recorded.public_key, ..Self::default() }
    }
}

//! The Twilio provider: routes each resource type to its file.

use futures::future::BoxFuture;
use stowage_provider::{
    Applied, CreateRequest, DeleteRequest, ErrorKind, LeftoverRequest, Observed, Provider, ProviderError, ReadRequest,
    ResourceType, UpdateRequest,
};

use crate::client::{CredentialKind, RetryPolicy, Timeouts, TwilioAuth, TwilioClient, TwilioEndpoints, TwilioError};
use crate::{aws_credential, public_key, storage_settings};

/// Twilio resources of one account.
#[derive(Debug, Clone)]
pub struct TwilioProvider {
    pub(crate) client: TwilioClient,
    /// The account the client authenticates as, when the credentials say (`AC...` + token).
    authenticated_account: Option<String>,
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
        Ok(Self { client: TwilioClient::with_timeouts(auth, endpoints, retry, timeouts)?, authenticated_account })
    }

    pub fn client(&self) -> &TwilioClient {
        &self.client
    }

    /// Whether `account_sid` names an account other than the one we authenticate as (a
    /// subaccount): only then is `AccountSid` sent.
    pub(crate) fn is_other_account(&self, account_sid: &str) -> bool {
        self.authenticated_account.as_deref().is_some_and(|own| own != account_sid)
    }
}

impl Provider for TwilioProvider {
    fn read<'a>(&'a self, request: ReadRequest<'a>) -> BoxFuture<'a, Result<Option<Observed>, ProviderError>> {
        Box::pin(async move {
            match request.address.resource_type {
                ResourceType::TwilioAwsCredential => aws_credential::read(self, request).await,
                ResourceType::TwilioPublicKey => public_key::read(self, request).await,
                ResourceType::TwilioRecordingSettings | ResourceType::TwilioCompositionSettings => {
                    storage_settings::read(self, request).await
                }
                other => Err(not_mine(other)),
            }
        })
    }

    fn create<'a>(&'a self, request: CreateRequest<'a>) -> BoxFuture<'a, Result<Applied, ProviderError>> {
        Box::pin(async move {
            match request.address.resource_type {
                ResourceType::TwilioAwsCredential => aws_credential::create(self, request).await,
                ResourceType::TwilioPublicKey => public_key::create(self, request).await,
                ResourceType::TwilioRecordingSettings | ResourceType::TwilioCompositionSettings => {
                    storage_settings::create(self, request).await
                }
                other => Err(not_mine(other)),
            }
        })
    }

    fn update<'a>(&'a self, request: UpdateRequest<'a>) -> BoxFuture<'a, Result<Applied, ProviderError>> {
        Box::pin(async move {
            match request.address.resource_type {
                ResourceType::TwilioAwsCredential => aws_credential::update(self, request).await,
                ResourceType::TwilioPublicKey => public_key::update(self, request).await,
                ResourceType::TwilioRecordingSettings | ResourceType::TwilioCompositionSettings => {
                    storage_settings::update(self, request).await
                }
                other => Err(not_mine(other)),
            }
        })
    }

    fn delete<'a>(&'a self, request: DeleteRequest<'a>) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            match request.address.resource_type {
                ResourceType::TwilioAwsCredential => aws_credential::delete(self, request).await,
                ResourceType::TwilioPublicKey => public_key::delete(self, request).await,
                ResourceType::TwilioRecordingSettings | ResourceType::TwilioCompositionSettings => {
                    storage_settings::delete(self, request).await
                }
                other => Err(not_mine(other)),
            }
        })
    }

    fn find_leftovers<'a>(
        &'a self,
        request: LeftoverRequest<'a>,
    ) -> BoxFuture<'a, Result<Vec<Observed>, ProviderError>> {
        Box::pin(async move {
            match request.address.resource_type {
                ResourceType::TwilioAwsCredential => aws_credential::find_leftovers(self, request).await,
                ResourceType::TwilioPublicKey => public_key::find_leftovers(self, request).await,
                // Creates that cannot be lost leave nothing to find.
                _ => Ok(Vec::new()),
            }
        })
    }
}

fn not_mine(resource_type: ResourceType) -> ProviderError {
    ProviderError::new(
        ErrorKind::Internal,
        "stowage",
        "route",
        format!("the Twilio provider does not manage `{resource_type}`"),
    )
}

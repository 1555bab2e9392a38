//! Finding AWS credentials before the first call, so that having none is one clear error that
//! says how to provide them, instead of the same SDK chain dump under every resource read.

use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::AwsProvider;

/// The credential chain found nothing usable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AwsCredentialsError {
    /// No source of the chain had credentials at all.
    #[error(
        "no AWS credentials found: set `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, name a profile (`AWS_PROFILE`, or `[aws] profile` in the spec), or log in with `aws sso login`"
    )]
    NotFound,
    /// A source was configured but failed (an unknown profile, an expired SSO session, ...).
    #[error("could not load AWS credentials: {detail}")]
    Unusable { detail: String },
}

impl AwsProvider {
    /// Resolves credentials once through the configured chain. The secret is dropped at once:
    /// only whether it could be found leaves this function.
    pub async fn check_credentials(&self) -> Result<(), AwsCredentialsError> {
        let Some(provider) = self.sdk_config().credentials_provider() else {
            return Err(AwsCredentialsError::NotFound);
        };
        match provider.provide_credentials().await {
            Ok(_credentials) => Ok(()),
            Err(CredentialsError::CredentialsNotLoaded(_)) => Err(AwsCredentialsError::NotFound),
            Err(error) => Err(AwsCredentialsError::Unusable { detail: DisplayErrorContext(&error).to_string() }),
        }
    }
}

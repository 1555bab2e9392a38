//! The Twilio side of stowage: a REST client for the Accounts v1 credentials and Video v1
//! storage settings APIs ([`client`]), and the resources built on it, each behind the
//! [`Provider`](stowage_provider::Provider) contract: `twilio_aws_credential`
//! ([`aws_credential`]), `twilio_public_key` ([`public_key`]), and the recording and
//! composition settings ([`storage_settings`]). Beside them, the reads of `stowage alerts`
//! (the debugger's alerts, failed and deleted media: [`TwilioProvider::alerts`] and
//! [`TwilioProvider::media`]).

mod alerts;
mod aws_credential;
pub mod client;
mod credential;
mod provider;
mod public_key;
mod storage_settings;

pub use provider::TwilioProvider;

pub use client::{
    ALERTS_RETENTION_DAYS, Alert, ApiError, AwsCredential, CallCounts, CreateAwsCredential, CreatePublicKey,
    CredentialKind, CredentialsError, EndpointError, Failure, Media, MediaKind, Operation, PublicKey, RetryPolicy,
    StorageSettings, StorageSettingsKind, StorageSettingsUpdate, StoredCredential, Timeouts, TwilioAuth, TwilioClient,
    TwilioEndpoints, TwilioError,
};

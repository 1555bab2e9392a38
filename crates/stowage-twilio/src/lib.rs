//! The Twilio side of stowage: a REST client for the Accounts v1 credentials and Video v1
//! storage settings APIs ([`client`]), and the resources built on it, each behind the
//! [`Provider`](stowage_provider::Provider) contract: `twilio_aws_credential`
//! ([`aws_credential`]), `twilio_public_key` ([`public_key`]), and the recording and
//! composition settings ([`storage_settings`]). Beside them, the reads of `stowage alerts`
//! (the debugger's alerts, failed and deleted media: [`TwilioProvider::alerts`] and
//! [`TwilioProvider::media`]).
//!
//! A fleet manages every subaccount of a main account: [`TwilioProvider::subaccounts`] lists
//! them (2010 Accounts API, with each one's auth token), and the provider
//! [`TwilioProvider::with_subaccounts`] returns authenticates as the subaccount an address's
//! key names (`twilio_aws_credential.main["AC…"]`) for every request about it, as Twilio
//! asks of the Accounts, Video and Monitor APIs.

mod alerts;
mod aws_credential;
pub mod client;
mod credential;
mod departed;
mod provider;
mod public_key;
mod storage_settings;

pub use departed::Departed;
pub use provider::{Subaccount, TwilioProvider};

pub use client::{
    ALERTS_RETENTION_DAYS, Account, Alert, ApiError, AwsCredential, CallCounts, CreateAwsCredential, CreatePublicKey,
    CredentialKind, CredentialsError, EndpointError, Failure, Media, MediaKind, Operation, PublicKey, RetryPolicy,
    StorageSettings, StorageSettingsKind, StorageSettingsUpdate, StoredCredential, Timeouts, TwilioApi, TwilioAuth,
    TwilioClient, TwilioEndpoints, TwilioError,
};

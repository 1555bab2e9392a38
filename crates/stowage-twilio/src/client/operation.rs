//! The Twilio API operations this client performs, and what each may safely do on a retry.

use std::fmt;

use reqwest::Method;

use super::TwilioApi;

/// One Twilio API operation. The names are the ones stowage shows in errors, logs and call
/// counts (`CreateAwsCredential`, `UpdateRecordingSettings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    ListAwsCredentials,
    FetchAwsCredential,
    CreateAwsCredential,
    UpdateAwsCredential,
    DeleteAwsCredential,
    ListPublicKeys,
    FetchPublicKey,
    CreatePublicKey,
    UpdatePublicKey,
    DeletePublicKey,
    FetchRecordingSettings,
    UpdateRecordingSettings,
    FetchCompositionSettings,
    UpdateCompositionSettings,
    ListAlerts,
    ListRecordings,
    ListCompositions,
    /// `GET /2010-04-01/Accounts.json`: the account and its subaccounts.
    ListAccounts,
}

impl Operation {
    /// Every operation, in declaration order (which is also the order of `Ord`).
    pub const ALL: [Operation; 18] = [
        Operation::ListAwsCredentials,
        Operation::FetchAwsCredential,
        Operation::CreateAwsCredential,
        Operation::UpdateAwsCredential,
        Operation::DeleteAwsCredential,
        Operation::ListPublicKeys,
        Operation::FetchPublicKey,
        Operation::CreatePublicKey,
        Operation::UpdatePublicKey,
        Operation::DeletePublicKey,
        Operation::FetchRecordingSettings,
        Operation::UpdateRecordingSettings,
        Operation::FetchCompositionSettings,
        Operation::UpdateCompositionSettings,
        Operation::ListAlerts,
        Operation::ListRecordings,
        Operation::ListCompositions,
        Operation::ListAccounts,
    ];

    /// The API the operation is on.
    pub(crate) fn api(self) -> TwilioApi {
        match self {
            Operation::ListAwsCredentials
            | Operation::FetchAwsCredential
            | Operation::CreateAwsCredential
            | Operation::UpdateAwsCredential
            | Operation::DeleteAwsCredential
            | Operation::ListPublicKeys
            | Operation::FetchPublicKey
            | Operation::CreatePublicKey
            | Operation::UpdatePublicKey
            | Operation::DeletePublicKey => TwilioApi::Accounts,
            Operation::FetchRecordingSettings
            | Operation::UpdateRecordingSettings
            | Operation::FetchCompositionSettings
            | Operation::UpdateCompositionSettings
            | Operation::ListRecordings
            | Operation::ListCompositions => TwilioApi::Video,
            Operation::ListAlerts => TwilioApi::Monitor,
            Operation::ListAccounts => TwilioApi::Api2010,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Operation::ListAwsCredentials => "ListAwsCredentials",
            Operation::FetchAwsCredential => "FetchAwsCredential",
            Operation::CreateAwsCredential => "CreateAwsCredential",
            Operation::UpdateAwsCredential => "UpdateAwsCredential",
            Operation::DeleteAwsCredential => "DeleteAwsCredential",
            Operation::ListPublicKeys => "ListPublicKeys",
            Operation::FetchPublicKey => "FetchPublicKey",
            Operation::CreatePublicKey => "CreatePublicKey",
            Operation::UpdatePublicKey => "UpdatePublicKey",
            Operation::DeletePublicKey => "DeletePublicKey",
            Operation::FetchRecordingSettings => "FetchRecordingSettings",
            Operation::UpdateRecordingSettings => "UpdateRecordingSettings",
            Operation::FetchCompositionSettings => "FetchCompositionSettings",
            Operation::UpdateCompositionSettings => "UpdateCompositionSettings",
            Operation::ListAlerts => "ListAlerts",
            Operation::ListRecordings => "ListRecordings",
            Operation::ListCompositions => "ListCompositions",
            Operation::ListAccounts => "ListAccounts",
        }
    }

    /// Whether the operation changes anything at Twilio.
    pub fn is_write(self) -> bool {
        self.method() != Method::GET
    }

    /// Whether sending the request twice leaves Twilio as sending it once, so that a request
    /// whose fate is unknown (5xx, timeout, dropped connection) may be sent again.
    ///
    /// Reads are; so are deletes, a credential's rename and the settings POSTs, which replace
    /// the whole settings state. A create is not: if Twilio made the credential and the answer
    /// was lost, sending it again makes a second credential holding the same AWS secret, which
    /// nothing would ever clean up.
    pub fn is_idempotent(self) -> bool {
        !matches!(self, Operation::CreateAwsCredential | Operation::CreatePublicKey)
    }

    pub(crate) fn method(self) -> Method {
        match self {
            Operation::ListAwsCredentials
            | Operation::FetchAwsCredential
            | Operation::ListPublicKeys
            | Operation::FetchPublicKey
            | Operation::FetchRecordingSettings
            | Operation::FetchCompositionSettings
            | Operation::ListAlerts
            | Operation::ListRecordings
            | Operation::ListCompositions
            | Operation::ListAccounts => Method::GET,
            Operation::CreateAwsCredential
            | Operation::UpdateAwsCredential
            | Operation::CreatePublicKey
            | Operation::UpdatePublicKey
            | Operation::UpdateRecordingSettings
            | Operation::UpdateCompositionSettings => Method::POST,
            Operation::DeleteAwsCredential | Operation::DeletePublicKey => Method::DELETE,
        }
    }

    /// Position in [`Operation::ALL`], for per-operation counters.
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_operation_at_its_index() {
        for (position, operation) in Operation::ALL.iter().enumerate() {
            assert_eq!(operation.index(), position, "{operation}");
        }
    }

    #[test]
    fn only_creates_are_not_idempotent() {
        let not_idempotent: Vec<_> =
            Operation::ALL.into_iter().filter(|operation| !operation.is_idempotent()).collect();
        assert_eq!(not_idempotent, [Operation::CreateAwsCredential, Operation::CreatePublicKey]);
    }

    #[test]
    fn reads_are_the_gets() {
        let reads: Vec<_> =
            Operation::ALL.into_iter().filter(|operation| !operation.is_write()).map(Operation::name).collect();
        assert_eq!(
            reads,
            [
                "ListAwsCredentials",
                "FetchAwsCredential",
                "ListPublicKeys",
                "FetchPublicKey",
                "FetchRecordingSettings",
                "FetchCompositionSettings",
                "ListAlerts",
                "ListRecordings",
                "ListCompositions",
                "ListAccounts"
            ]
        );
    }
}

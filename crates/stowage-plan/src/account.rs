//! Which Twilio account the credentials act as, and whether it is the one the spec names.
//!
//! Twilio's storage settings (`/v1/RecordingSettings/Default`, `/v1/CompositionSettings/Default`)
//! have no account in their path and take no `AccountSid`: they are always the settings of the
//! account the credentials belong to (an API key's account, or the account of an account SID
//! and auth token). Their `account_sid` is that account, and the settings' observed id is it
//! (`Default` when Twilio did not say). A spec naming another account would have its
//! credential made in one account and its settings changed in another, or everything changed
//! in an account the spec does not name; [`check_twilio_account`] finds that in what the
//! refresh read, before anything is written.

use stowage_provider::{Address, ResourceType};
/// The account a spec names (`[twilio] account_sid`), as the engine passes it on.
pub use stowage_spec::AccountSid;

use crate::Observations;

/// The Twilio credentials act as an account other than the spec's `[twilio] account_sid`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the Twilio credentials act as account {actual}, but the spec's `[twilio] account_sid` is {expected}")]
pub struct AccountMismatch {
    /// The account the spec names.
    pub expected: String,
    /// The account Twilio answered for: the settings' `account_sid`.
    pub actual: String,
    /// The read whose answer named `actual`.
    pub address: Address,
}

/// Checks that every storage settings read in `observations` answered for `expected`, or, for
/// a fleet member's (an address keyed by its SID), for that subaccount.
///
/// Only the settings say which account the credentials act as; other observations (and
/// settings not read, absent, or whose account Twilio did not give) say nothing, and pass.
/// The first mismatch, in address order, is the error.
pub fn check_twilio_account(expected: &AccountSid, observations: &Observations) -> Result<(), AccountMismatch> {
    let mismatch = observations.iter().find_map(|(address, observed)| {
        if !is_settings(address.resource_type) {
            return None;
        }
        // A fleet member's settings are read as that subaccount: it must answer for itself.
        let expected = address.key.as_deref().unwrap_or(expected.as_str());
        let actual = observed.as_ref()?.id.as_str();
        // `Default` stands for an answer without `account_sid`: nothing to compare.
        let names_an_account = AccountSid::new(actual).is_ok();
        (names_an_account && actual != expected).then(|| AccountMismatch {
            expected: expected.to_owned(),
            actual: actual.to_owned(),
            address: address.clone(),
        })
    });
    mismatch.map_or(Ok(()), Err)
}

/// Whether reading `resource_type` tells which account the credentials act as.
pub fn is_settings(resource_type: ResourceType) -> bool {
    matches!(resource_type, ResourceType::TwilioRecordingSettings | ResourceType::TwilioCompositionSettings)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use stowage_provider::{Attributes, Observed};

    use super::*;
    use crate::desired::{composition_settings_address, credential_address, recording_settings_address};

    const SPEC_ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
    const OTHER_ACCOUNT: &str = "ACfedcba9876543210fedcba9876543210";

    fn expected() -> AccountSid {
        AccountSid::new(SPEC_ACCOUNT).unwrap()
    }

    fn observed(id: &str) -> Option<Observed> {
        Some(Observed { id: id.to_owned(), attributes: Attributes::new() })
    }

    fn observations(entries: impl IntoIterator<Item = (Address, Option<Observed>)>) -> Observations {
        entries.into_iter().collect()
    }

    #[test]
    fn settings_of_the_spec_account_pass() {
        let read = observations([
            (recording_settings_address(), observed(SPEC_ACCOUNT)),
            (composition_settings_address(), observed(SPEC_ACCOUNT)),
        ]);
        assert_eq!(check_twilio_account(&expected(), &read), Ok(()));
    }

    #[test]
    fn settings_of_another_account_name_both_accounts() {
        let read = observations([
            (recording_settings_address(), observed(OTHER_ACCOUNT)),
            (composition_settings_address(), observed(OTHER_ACCOUNT)),
        ]);
        let mismatch = check_twilio_account(&expected(), &read).unwrap_err();
        assert_eq!(mismatch.expected, SPEC_ACCOUNT);
        assert_eq!(mismatch.actual, OTHER_ACCOUNT);
        assert_eq!(mismatch.address, recording_settings_address(), "the first in address order");
        insta::assert_snapshot!(
            mismatch,
            @"the Twilio credentials act as account ACfedcba9876543210fedcba9876543210, but the spec's `[twilio] account_sid` is AC0123456789abcdef0123456789abcdef"
        );
    }

    #[test]
    fn one_settings_read_is_enough() {
        // A saved plan's apply reads only what the plan touches.
        let read = observations([(composition_settings_address(), observed(OTHER_ACCOUNT))]);
        let mismatch = check_twilio_account(&expected(), &read).unwrap_err();
        assert_eq!(mismatch.address, composition_settings_address());
    }

    #[test]
    fn nothing_to_compare_passes() {
        // No settings read (no storage in the spec), none found, or Twilio gave no account.
        assert_eq!(check_twilio_account(&expected(), &Observations::new()), Ok(()));
        let read =
            observations([(recording_settings_address(), None), (composition_settings_address(), observed("Default"))]);
        assert_eq!(check_twilio_account(&expected(), &read), Ok(()));
    }

    #[test]
    fn only_the_settings_say_which_account() {
        // A credential's id is its own SID, and its `account_sid` may be a subaccount's.
        let mut credential = observed("CR0123456789abcdef0123456789abcdef").unwrap();
        credential.attributes.insert("account_sid".to_owned(), json!(OTHER_ACCOUNT));
        let read = observations([
            (credential_address(), Some(credential)),
            (recording_settings_address(), observed(SPEC_ACCOUNT)),
        ]);
        assert_eq!(check_twilio_account(&expected(), &read), Ok(()));
        assert!(is_settings(ResourceType::TwilioRecordingSettings));
        assert!(is_settings(ResourceType::TwilioCompositionSettings));
        assert!(!is_settings(ResourceType::TwilioAwsCredential));
    }

    #[test]
    fn a_fleet_members_settings_answer_for_the_member() {
        let member = "AC00000000000000000000000000000001";
        let at_member = recording_settings_address().instance(member);
        assert_eq!(check_twilio_account(&expected(), &observations([(at_member.clone(), observed(member))])), Ok(()));
        let mismatch = check_twilio_account(&expected(), &observations([(at_member.clone(), observed(SPEC_ACCOUNT))]));
        assert_eq!(mismatch.map_err(|error| (error.expected, error.address)), Err((member.to_owned(), at_member)));
    }
}

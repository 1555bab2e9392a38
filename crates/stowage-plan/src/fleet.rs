//! Which of the main account's subaccounts a fleet spec manages, from what discovery found.
//!
//! The engine cannot list subaccounts itself (the 2010 Accounts API is the Twilio provider's,
//! not a resource), so the caller discovers the active ones and this decides, purely, which
//! are members: `subaccounts = "all"` takes every active one, a list takes those listed that
//! are active, and `exclude` takes any back. A listed subaccount that is not active is no
//! member (closed or suspended: what the state records of it is cleaned up like an excluded
//! one's) and is said so.

use std::collections::BTreeSet;

use stowage_provider::Address;
use stowage_spec::{Fleet, FleetMembers};

/// The members of a fleet now, and what discovery says about the spec's list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Membership {
    /// The subaccounts managed now, by SID, sorted.
    pub members: Vec<String>,
    /// Listed in `subaccounts` but not an active subaccount of the main account: closed,
    /// suspended, or not the main account's.
    pub listed_inactive: Vec<String>,
}

/// The members of `fleet`, given the SIDs of the main account's active subaccounts.
pub fn members(fleet: &Fleet, active: &[String]) -> Membership {
    let active: BTreeSet<&str> = active.iter().map(String::as_str).collect();
    let excluded: BTreeSet<&str> = fleet.exclude.iter().map(|sid| sid.as_str()).collect();
    let (candidates, listed_inactive): (Vec<&str>, Vec<String>) = match &fleet.subaccounts {
        FleetMembers::All => (active.iter().copied().collect(), Vec::new()),
        FleetMembers::Listed(listed) => {
            let listed: BTreeSet<&str> = listed.iter().map(|sid| sid.as_str()).collect();
            (
                listed.iter().copied().filter(|sid| active.contains(sid)).collect(),
                listed.iter().filter(|sid| !active.contains(*sid)).map(|sid| (*sid).to_owned()).collect(),
            )
        }
    };
    let members = candidates.into_iter().filter(|sid| !excluded.contains(sid)).map(str::to_owned).collect();
    Membership { members, listed_inactive }
}

/// The subaccounts whose resources `addresses` (the state's) hold that are not active now:
/// closed or suspended since. Twilio's API no longer answers for them (a closed account's
/// credentials are refused, its resources go with it), so what the state records of them in
/// Twilio is gone for stowage, while their uploaders in AWS are still to delete.
pub fn departed<'a>(addresses: impl IntoIterator<Item = &'a Address>, active: &[String]) -> Vec<String> {
    let active: BTreeSet<&str> = active.iter().map(String::as_str).collect();
    let keys: BTreeSet<&str> = addresses.into_iter().filter_map(|address| address.key.as_deref()).collect();
    keys.into_iter().filter(|key| !active.contains(key)).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use stowage_provider::ResourceType;
    use stowage_spec::{AccountSid, UploaderMode};

    use super::*;

    fn sid(n: u8) -> String {
        format!("AC{:032x}", n)
    }

    fn fleet(subaccounts: FleetMembers, exclude: &[u8]) -> Fleet {
        Fleet {
            subaccounts,
            exclude: exclude.iter().map(|&n| AccountSid::new(&sid(n)).unwrap()).collect(),
            uploader: UploaderMode::PerSubaccount,
        }
    }

    #[test]
    fn all_takes_every_active_subaccount_but_the_excluded() {
        let active = [sid(3), sid(1), sid(2)];
        let membership = members(&fleet(FleetMembers::All, &[2]), &active);
        assert_eq!(membership.members, [sid(1), sid(3)]);
        assert!(membership.listed_inactive.is_empty());
    }

    #[test]
    fn a_list_takes_the_listed_that_are_active_and_names_the_others() {
        let listed = FleetMembers::Listed(vec![AccountSid::new(&sid(1)).unwrap(), AccountSid::new(&sid(9)).unwrap()]);
        let membership = members(&fleet(listed, &[]), &[sid(1), sid(2)]);
        assert_eq!(membership.members, [sid(1)]);
        assert_eq!(membership.listed_inactive, [sid(9)]);
    }

    #[test]
    fn recorded_subaccounts_no_longer_active_have_departed() {
        let addresses = [
            Address::new(ResourceType::TwilioAwsCredential, "main").instance(sid(1)),
            Address::new(ResourceType::TwilioAwsCredential, "main").instance(sid(2)),
            Address::new(ResourceType::IamUser, "uploader").instance(sid(2)),
            Address::new(ResourceType::S3Bucket, "main"),
        ];
        assert_eq!(departed(&addresses, &[sid(1)]), [sid(2)]);
    }
}

//! Twilio credentials (AWS and public key alike) carry the apply's intent marker at the end of
//! their `FriendlyName`, so that what an interrupted create left can be found again.

use serde_json::json;
use stowage_provider::{Attributes, LeftoverRequest, Observed, marker};

/// The name with the apply's marker at its end, within Twilio's 64 characters.
pub(crate) fn marked(name: Option<&str>, with: Option<&str>) -> Option<String> {
    match with {
        Some(with) => Some(marker::with_marker(name.unwrap_or_default(), with, marker::FRIENDLY_NAME_LIMIT)),
        None => name.map(str::to_owned),
    }
}

/// One credential as a list returns it.
pub(crate) struct Listed {
    pub sid: Option<String>,
    pub friendly_name: Option<String>,
    pub account_sid: Option<String>,
}

/// The listed credentials whose `FriendlyName` carries this state's marker and that the state
/// does not record. The marker names the environment and the state's lineage, so another
/// environment's credentials, or another state's, never match.
pub(crate) fn leftovers(listed: impl IntoIterator<Item = Listed>, request: &LeftoverRequest<'_>) -> Vec<Observed> {
    let Some(wanted) = request.marker else { return Vec::new() };
    listed
        .into_iter()
        .filter_map(|credential| {
            let sid = credential.sid?;
            let name = credential.friendly_name.unwrap_or_default();
            let ours = marker::has_marker(&name, wanted) && !request.known_ids.contains(&sid);
            ours.then(|| Observed {
                id: sid.clone(),
                attributes: Attributes::from([
                    ("sid".to_owned(), json!(sid)),
                    ("friendly_name".to_owned(), json!(name)),
                    ("account_sid".to_owned(), json!(credential.account_sid)),
                ]),
            })
        })
        .collect()
}

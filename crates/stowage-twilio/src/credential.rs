//! What Twilio's two credential kinds (AWS credentials and public keys) share as resources.
//!
//! Both are found by the SID the state recorded, both take only `FriendlyName` on update, and
//! neither returns its secret part, so the state supplies it on read. Both carry the apply's
//! intent marker at the end of their `FriendlyName` (see [`stowage_provider::marker`]), so that
//! what an interrupted create left can be found again, and a read strips it.

use serde_json::json;
use stowage_provider::{
    Applied, Attributes, AttributesExt, ErrorKind, LeftoverRequest, Observed, ProviderError, ReadRequest,
    UpdateRequest, marker,
};

use crate::client::{AwsCredential, PublicKey};

/// A credential as Twilio answers it, whichever its kind.
pub(crate) struct Credential {
    pub sid: Option<String>,
    pub friendly_name: Option<String>,
    pub account_sid: Option<String>,
}

impl From<AwsCredential> for Credential {
    fn from(credential: AwsCredential) -> Self {
        Self { sid: credential.sid, friendly_name: credential.friendly_name, account_sid: credential.account_sid }
    }
}

impl From<PublicKey> for Credential {
    fn from(key: PublicKey) -> Self {
        Self { sid: key.sid, friendly_name: key.friendly_name, account_sid: key.account_sid }
    }
}

/// The name with the apply's marker at its end, within Twilio's 64 characters.
pub(crate) fn marked(name: Option<&str>, with: Option<&str>) -> Option<String> {
    match with {
        Some(with) => Some(marker::with_marker(name.unwrap_or_default(), with, marker::FRIENDLY_NAME_LIMIT)),
        None => name.map(str::to_owned),
    }
}

/// What a read observes of the credential at `sid`: what Twilio says, the name without the
/// marker (the spec's name is what compares), and `recorded_only` taken from the state.
pub(crate) fn observed(
    sid: &str,
    credential: Credential,
    request: &ReadRequest<'_>,
    recorded_only: &[&str],
) -> Observed {
    let wanted = request.attribute("friendly_name");
    let friendly_name = credential.friendly_name.as_deref().map(|name| marker::without_marker(name, wanted));
    let mut attributes = Attributes::from([
        ("sid".to_owned(), json!(credential.sid.as_deref().unwrap_or(sid))),
        ("friendly_name".to_owned(), json!(friendly_name)),
        ("account_sid".to_owned(), json!(credential.account_sid)),
    ]);
    for name in recorded_only {
        if let Some(value) = request.recorded.and_then(|recorded| recorded.get(*name)) {
            attributes.insert((*name).to_owned(), value.clone());
        }
    }
    Observed { id: sid.to_owned(), attributes }
}

/// What a create made: the attributes asked for, with the SID and account Twilio answered.
pub(crate) fn created(
    attributes: &Attributes,
    credential: Credential,
    operation: &str,
) -> Result<Applied, ProviderError> {
    let Some(sid) = credential.sid else {
        return Err(ProviderError::new(ErrorKind::Internal, "twilio", operation, "the response has no `sid`"));
    };
    let mut applied = attributes.clone();
    applied.insert("sid".to_owned(), json!(sid));
    if let Some(account) = credential.account_sid {
        applied.insert("account_sid".to_owned(), json!(account));
    }
    Ok(Applied { id: sid, attributes: applied })
}

/// The name an update sends (the marker stays: without it a lost answer to a later replace
/// could not be told apart), and what the update leaves.
pub(crate) fn renamed(request: &UpdateRequest<'_>) -> (String, Applied) {
    let friendly_name = marked(request.after.str("friendly_name"), request.marker).unwrap_or_default();
    let mut applied = request.after.clone();
    applied.insert("sid".to_owned(), json!(request.id));
    (friendly_name, Applied { id: request.id.to_owned(), attributes: applied })
}

/// The listed credentials whose `FriendlyName` carries this state's marker and that the state
/// does not record. The marker names the environment and the state's lineage, so another
/// environment's credentials, or another state's, never match.
pub(crate) fn leftovers(listed: impl IntoIterator<Item = Credential>, request: &LeftoverRequest<'_>) -> Vec<Observed> {
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

//! What Twilio's two credential kinds (AWS credentials and public keys) share as resources.
//!
//! Both are found by the SID the state recorded, both take only `FriendlyName` on update, and
//! neither returns its secret part, so the state supplies it on read. Both carry the apply's
//! intent marker at the end of their `FriendlyName` (see [`stowage_provider::marker`]), so that
//! what an interrupted create left can be found again, and a read strips it.

use std::marker::PhantomData;

use stowage_provider::resource::{Operations, decode};
use stowage_provider::{
    Address, Applied, AttributesExt, CreateRequest, DeleteRequest, ErrorKind, LeftoverRequest, Observed, ProviderError,
    ReadRequest, UpdateRequest, encode, marker,
};

use crate::TwilioProvider;
use crate::client::{StoredCredential, TwilioClient};
use crate::provider::Acting;

/// What differs between the two kinds: their endpoints, and what a create sends.
pub(crate) trait StoredKind {
    type Attributes: CredentialAttributes + Send + Sync;

    fn fetch(
        client: &TwilioClient,
        sid: &str,
    ) -> impl Future<Output = Result<Option<Credential>, ProviderError>> + Send;
    /// Create the credential `wanted` describes, named `friendly_name`, as `acting`, in
    /// `account_sid` when that is a subaccount of the account `acting` authenticates as.
    fn create(
        acting: Acting<'_>,
        request: &CreateRequest<'_>,
        wanted: &Self::Attributes,
        friendly_name: Option<&str>,
    ) -> impl Future<Output = Result<Credential, ProviderError>> + Send;
    fn rename(client: &TwilioClient, sid: &str, name: &str) -> impl Future<Output = Result<(), ProviderError>> + Send;
    /// Already gone is fine: that is what delete wants.
    fn delete(client: &TwilioClient, sid: &str) -> impl Future<Output = Result<(), ProviderError>> + Send;
    fn list(client: &TwilioClient) -> impl Future<Output = Result<Vec<Credential>, ProviderError>> + Send;
}

/// The operations of a credential kind: what both share, over what differs.
pub(crate) struct Credentials<K>(PhantomData<K>);

impl<K: StoredKind> Operations<TwilioProvider> for Credentials<K> {
    async fn read(twilio: &TwilioProvider, request: ReadRequest<'_>) -> Result<Option<Observed>, ProviderError> {
        let acting = twilio.acting_for(request.address)?;
        // Only a credential stowage made is ours: it is found by the SID the state recorded.
        let Some(sid) = request.id else { return Ok(None) };
        let Some(credential) = K::fetch(acting.client, sid).await? else { return Ok(None) };
        Ok(Some(observed::<K::Attributes>(sid, credential, &request)))
    }

    async fn create(twilio: &TwilioProvider, request: CreateRequest<'_>) -> Result<Applied, ProviderError> {
        let acting = twilio.acting_for(request.address)?;
        let mut wanted: K::Attributes = request.attributes.decode(request.address)?;
        same_account(acting, request.address, wanted.shared().account_sid.as_deref())?;
        let friendly_name = marked(wanted.shared().friendly_name.as_deref(), request.marker);
        let credential = K::create(acting, &request, &wanted, friendly_name.as_deref()).await?;
        created(wanted, credential)
    }

    /// Twilio's update takes only `FriendlyName`; the planner replaces on any other change (the
    /// key and the account are identity), so the name is all an update can be about.
    async fn update(twilio: &TwilioProvider, request: UpdateRequest<'_>) -> Result<Applied, ProviderError> {
        let acting = twilio.acting_for(request.address)?;
        let wanted: K::Attributes = request.after.decode(request.address)?;
        let (friendly_name, applied) = renamed(request.id, wanted, request.marker);
        K::rename(acting.client, request.id, &friendly_name).await?;
        Ok(applied)
    }

    async fn delete(twilio: &TwilioProvider, request: DeleteRequest<'_>) -> Result<(), ProviderError> {
        let acting = twilio.acting_for(request.address)?;
        K::delete(acting.client, request.id).await
    }

    /// Credentials an interrupted create left: those whose `FriendlyName` carries this state's
    /// marker and that the state does not record. The marker names the environment and the
    /// state's lineage, so another environment's credentials, or another state's, never match.
    /// Which key such a credential holds is lost with the create's answer, so a leftover is
    /// deleted, never adopted.
    async fn find_leftovers(
        twilio: &TwilioProvider,
        request: LeftoverRequest<'_>,
    ) -> Result<Vec<Observed>, ProviderError> {
        let acting = twilio.acting_for(request.address)?;
        if request.marker.is_none() {
            return Ok(Vec::new());
        }
        let listed = K::list(acting.client).await?;
        Ok(leftovers::<K::Attributes>(listed, &request))
    }
}

/// A fleet's instance for a subaccount makes its credential in that subaccount, authenticated
/// as it: an `account_sid` naming another account is refused before any request, rather than
/// sent (it would put the credential in another account than the settings that name it).
fn same_account(acting: Acting<'_>, address: &Address, account_sid: Option<&str>) -> Result<(), ProviderError> {
    match (acting.subaccount, account_sid) {
        (Some(subaccount), Some(wanted)) if wanted != subaccount => Err(ProviderError::new(
            ErrorKind::Invalid,
            "twilio",
            "configuration",
            format!("{address} is for Twilio account {subaccount}, but its `account_sid` is {wanted}"),
        )),
        _ => Ok(()),
    }
}

/// A credential as Twilio answers it, whichever its kind.
pub(crate) type Credential = StoredCredential;

/// The name with the apply's marker at its end, within Twilio's 64 characters.
pub(crate) fn marked(name: Option<&str>, with: Option<&str>) -> Option<String> {
    match with {
        Some(with) => Some(marker::with_marker(name.unwrap_or_default(), with, marker::FRIENDLY_NAME_LIMIT)),
        None => name.map(str::to_owned),
    }
}

/// The typed attributes of one of Twilio's credential kinds, by what they share.
pub(crate) trait CredentialAttributes: Default + serde::Serialize + serde::de::DeserializeOwned {
    /// The SID, the name and the account.
    fn shared(&mut self) -> Shared<'_>;
    /// What only the state knows of the credential (Twilio never returns the key).
    fn recorded_only(recorded: Self) -> Self;
}

/// What both credential kinds have.
pub(crate) struct Shared<'a> {
    pub sid: &'a mut Option<String>,
    pub friendly_name: &'a mut Option<String>,
    pub account_sid: &'a mut Option<String>,
}

/// What a read observes of the credential at `sid`: what Twilio says, the name without the
/// marker (the spec's name is what compares), and what only the state knows.
fn observed<T: CredentialAttributes>(sid: &str, credential: Credential, request: &ReadRequest<'_>) -> Observed {
    let mut wanted: T = request.known();
    let wanted_name = wanted.shared().friendly_name.take();
    let recorded: T = request.recorded.and_then(|recorded| decode(request.address, recorded).ok()).unwrap_or_default();
    let mut found = T::recorded_only(recorded);
    let shared = found.shared();
    *shared.sid = Some(credential.sid.unwrap_or_else(|| sid.to_owned()));
    *shared.friendly_name =
        credential.friendly_name.as_deref().map(|name| marker::without_marker(name, wanted_name.as_deref()));
    *shared.account_sid = credential.account_sid;
    Observed { id: sid.to_owned(), attributes: encode(&found) }
}

/// What a create made: the attributes asked for, with the SID and account Twilio answered.
fn created<T: CredentialAttributes>(mut wanted: T, credential: Credential) -> Result<Applied, ProviderError> {
    let Some(sid) = credential.sid else {
        return Err(ProviderError::new(ErrorKind::Internal, "twilio", "create", "the response has no `sid`"));
    };
    let shared = wanted.shared();
    *shared.sid = Some(sid.clone());
    if let Some(account) = credential.account_sid {
        *shared.account_sid = Some(account);
    }
    Ok(Applied { id: sid, attributes: encode(&wanted) })
}

/// The name an update sends (the marker stays: without it a lost answer to a later replace
/// could not be told apart), and what the update leaves.
fn renamed<T: CredentialAttributes>(id: &str, mut wanted: T, with_marker: Option<&str>) -> (String, Applied) {
    let shared = wanted.shared();
    let friendly_name = marked(shared.friendly_name.as_deref(), with_marker).unwrap_or_default();
    *shared.sid = Some(id.to_owned());
    (friendly_name, Applied { id: id.to_owned(), attributes: encode(&wanted) })
}

/// The listed credentials whose `FriendlyName` carries this state's marker and that the state
/// does not record. The marker names the environment and the state's lineage, so another
/// environment's credentials, or another state's, never match.
fn leftovers<T: CredentialAttributes>(
    listed: impl IntoIterator<Item = Credential>,
    request: &LeftoverRequest<'_>,
) -> Vec<Observed> {
    let Some(wanted) = request.marker else { return Vec::new() };
    listed
        .into_iter()
        .filter_map(|credential| {
            let sid = credential.sid?;
            let name = credential.friendly_name.unwrap_or_default();
            let ours = marker::has_marker(&name, wanted) && !request.known_ids.contains(&sid);
            ours.then(|| {
                let mut found = T::default();
                let shared = found.shared();
                *shared.sid = Some(sid.clone());
                *shared.friendly_name = Some(name);
                *shared.account_sid = credential.account_sid;
                Observed { id: sid, attributes: encode(&found) }
            })
        })
        .collect()
}

//! Refresh: read every target at the same time, each once, at most the parallelism at once per
//! service (AWS and Twilio each: one service's slow answers never hold the other's reads
//! back); and look for what interrupted applies left behind.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use futures::stream::{self, StreamExt};
use stowage_plan::{Leftovers, Observations, Prior, ReadTarget};
use stowage_provider::resource::CREATE_WINDOW;
use stowage_provider::{
    Address, Attributes, Contents, DeleteRequest, LeftoverRequest, Observed, ProviderError, ProviderName, ReadRequest,
};
use stowage_state::{Intent, State};

use crate::{Engine, Event};

/// Reads that failed, each with its error; the reads that succeeded are not lost on the way.
#[derive(Debug, thiserror::Error)]
#[error("could not read {} resource(s): {}", failures.len(), summary(failures))]
pub struct RefreshError {
    pub failures: Vec<(Address, ProviderError)>,
}

fn summary(failures: &[(Address, ProviderError)]) -> String {
    failures.iter().map(|(address, error)| format!("{address}: {error}")).collect::<Vec<_>>().join("; ")
}

/// Read every target. Targets are distinct addresses, so nothing is read twice.
pub async fn refresh(engine: &Engine, targets: &[ReadTarget]) -> Result<Observations, RefreshError> {
    let started = Instant::now();
    engine.progress.event(Event::RefreshStarted { reads: targets.len() });
    let observations =
        each_address(engine, targets, |target| async move { (target.address.clone(), read_one(engine, target).await) })
            .await?;
    engine.progress.event(Event::Refreshed { reads: targets.len(), elapsed: started.elapsed() });
    Ok(observations)
}

/// One read, with its progress events.
async fn read_one(engine: &Engine, target: &ReadTarget) -> Result<Option<Observed>, ProviderError> {
    let started = Instant::now();
    let address = &target.address;
    engine.progress.event(Event::ReadStarted { address });
    let found = engine
        .provider_for(address)?
        .read(ReadRequest {
            address,
            id: target.id.as_deref(),
            desired: target.desired.as_ref(),
            recorded: target.recorded.as_ref(),
        })
        .await?;
    engine.progress.event(Event::ReadFinished { address, found: found.is_some(), elapsed: started.elapsed() });
    Ok(found)
}

/// Work about one address.
trait Addressed {
    fn address(&self) -> &Address;
}

impl Addressed for &ReadTarget {
    fn address(&self) -> &Address {
        &self.address
    }
}

impl<T> Addressed for (Address, T) {
    fn address(&self) -> &Address {
        &self.0
    }
}

/// The one loop over the answers of a refresh and of a leftover search: `call` for every item
/// at once, at most the parallelism at once per service, then the answers by address, or
/// every failure, sorted by address.
async fn each_address<W: Addressed, T, Call>(
    engine: &Engine,
    work: impl IntoIterator<Item = W>,
    call: impl Fn(W) -> Call,
) -> Result<BTreeMap<Address, T>, RefreshError>
where
    Call: Future<Output = (Address, Result<T, ProviderError>)>,
{
    let (aws, twilio): (Vec<W>, Vec<W>) =
        work.into_iter().partition(|item| item.address().resource_type.provider() == ProviderName::Aws);
    let call = &call;
    let per_service =
        |items: Vec<W>| stream::iter(items).map(call).buffer_unordered(engine.parallelism()).collect::<Vec<_>>();
    let (aws, twilio) = futures::join!(per_service(aws), per_service(twilio));
    let results: Vec<(Address, Result<T, ProviderError>)> = aws.into_iter().chain(twilio).collect();
    let mut found = BTreeMap::new();
    let mut failures = Vec::new();
    for (address, result) in results {
        match result {
            Ok(value) => {
                found.insert(address, value);
            }
            Err(error) => failures.push((address, error)),
        }
    }
    if failures.is_empty() {
        Ok(found)
    } else {
        failures.sort_by(|a, b| a.0.cmp(&b.0));
        Err(RefreshError { failures })
    }
}

/// Ask the providers for what interrupted applies left behind: one search per address with
/// an intent in the state, from the earliest such intent on. The objects the state records
/// there (current and deposed) are never leftovers.
pub async fn find_leftovers(engine: &Engine, state: &State) -> Result<Leftovers, RefreshError> {
    let found = each_address(engine, searches(state), |(address, search)| async move {
        let result = search_one(engine, state, &address, search).await;
        (address, result)
    })
    .await?;
    Ok(found.into_iter().filter(|(_, objects)| !objects.is_empty()).collect())
}

/// One search per address with an intent in `state`, from its earliest intent to the end of
/// its latest's create window.
fn searches(state: &State) -> BTreeMap<Address, Search<'_>> {
    let mut searches: BTreeMap<Address, Search<'_>> = BTreeMap::new();
    for intent in &state.intents {
        // Intents are written by stowage with addresses it knows; one edited beyond
        // recognition names nothing to look for.
        let Ok(address) = intent.address.parse::<Address>() else {
            tracing::warn!(address = intent.address, "ignoring an intent whose address is not one stowage knows");
            continue;
        };
        // An unreadable time means "look at everything": a wider search only finds more of
        // what nothing records.
        let started = jiff::Timestamp::from_str(&intent.started_at).map(SystemTime::from).ok();
        let since = started.unwrap_or(UNIX_EPOCH);
        // Unreadable: no end either.
        let until = started.map_or_else(far_future, |started| started + CREATE_WINDOW);
        let search = searches.entry(address).or_insert_with(|| Search { since, until, intent });
        if since < search.since {
            *search = Search { since, until: search.until.max(until), intent };
        }
        search.until = search.until.max(until);
    }
    searches
}

/// One leftover search: what the provider finds that `state` does not record at `address`.
async fn search_one(
    engine: &Engine,
    state: &State,
    address: &Address,
    search: Search<'_>,
) -> Result<Vec<Observed>, ProviderError> {
    let recorded = state.get(&address.to_string());
    let known_ids: Vec<String> = recorded
        .map(|resource| {
            std::iter::once(resource.id.clone())
                .chain(resource.deposed.iter().map(|deposed| deposed.id.clone()))
                .collect()
        })
        .unwrap_or_default();
    let attributes: Attributes =
        search.intent.attributes.iter().map(|(name, value)| (name.clone(), value.clone())).collect();
    engine
        .provider_for(address)?
        .find_leftovers(LeftoverRequest {
            address,
            marker: search.intent.marker.as_deref(),
            since: search.since,
            until: search.until,
            attributes: &attributes,
            known_ids: &known_ids,
        })
        .await
}

/// For each `(address, attributes)`, every object of the address's type among the parent the
/// attributes name (an access key among its user's keys): what the provider's `find_leftovers`
/// finds with no window, marker or known id. How `import` lists what a person made, and how a
/// plan that makes an object under a quota learns what fills it.
pub(crate) async fn list_children(
    engine: &Engine,
    searches: Vec<(Address, Attributes)>,
) -> Result<BTreeMap<Address, Vec<Observed>>, RefreshError> {
    each_address(engine, searches, |(address, attributes)| async move {
        let result = match engine.provider_for(&address) {
            Ok(provider) => {
                provider
                    .find_leftovers(LeftoverRequest {
                        address: &address,
                        marker: None,
                        since: UNIX_EPOCH,
                        until: far_future(),
                        attributes: &attributes,
                        known_ids: &[],
                    })
                    .await
            }
            Err(error) => Err(error),
        };
        (address, result)
    })
    .await
}

/// What each of `objects` (an address and the id of the object there) holds, asked of its
/// provider ([`stowage_provider::Provider::contents`]) with the attributes `prior` records: how
/// destroy learns which buckets hold recordings.
pub(crate) async fn contents(
    engine: &Engine,
    prior: &Prior,
    objects: Vec<(Address, String)>,
) -> Result<BTreeMap<Address, Contents>, RefreshError> {
    each_address(engine, objects, |(address, id)| async move {
        let no_attributes = Attributes::new();
        let attributes = prior.get(&address).map_or(&no_attributes, |recorded| &recorded.attributes);
        let result = match engine.provider_for(&address) {
            Ok(provider) => provider.contents(DeleteRequest { address: &address, id: &id, attributes }).await,
            Err(error) => Err(error),
        };
        (address, result)
    })
    .await
}

/// The intents for one address: from the earliest to the end of the latest's create window.
struct Search<'a> {
    since: SystemTime,
    until: SystemTime,
    intent: &'a Intent,
}

/// The end of a window that has none: far beyond any creation date.
fn far_future() -> SystemTime {
    UNIX_EPOCH + std::time::Duration::from_secs(1 << 40)
}

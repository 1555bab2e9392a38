//! Import's reads and its one write: find, by the spec's own names, what already exists of an
//! environment made by hand ([`discover`], [`read_by_id`]), and record what
//! `stowage_plan::import::plan_import` chose ([`record_imports`]). Discovery only reads: every
//! read goes through [`read`], which checks the Twilio account, and the one search among a
//! parent's children through the provider's `find_leftovers`.

use std::collections::{BTreeMap, BTreeSet};

use stowage_plan::import::{Import, reference_reads, superseded_address};
use stowage_plan::{Observations, ReadTarget};
use stowage_provider::{Address, Attributes, ErrorKind, FoundBy, Lifecycle, Observed, ProviderError, ResourceType};
use stowage_state::{State, StateError, StateStore};

use crate::refresh::list_children;
use crate::{Engine, Environment, ReadError, RefreshError, read};

/// Everything that exists for the spec's resources, found by the spec's own names: reads by
/// natural key (the environment's read targets), then `reference_reads` of what those found
/// (repeated until nothing new), then, for a `Created { found_by: FoundBy::Parent, .. }` type
/// not found yet (the access key), every object of its parent; and, under each found parent of
/// a `Lifecycle::Superseded` type, its objects (the managed policies attached to the user by
/// hand). Reads only.
///
/// Each address maps to every distinct object found for it (sorted by id); an address where
/// nothing was found is left out.
pub async fn discover(
    engine: &Engine,
    environment: &Environment<'_>,
) -> Result<BTreeMap<Address, Vec<Observed>>, ReadError> {
    let mut observations = read(engine, environment, &environment.read_targets()).await?;
    let mut found: BTreeMap<Address, Vec<Observed>> = BTreeMap::new();
    for (address, object) in &observations {
        if let Some(object) = object {
            add(&mut found, address, object.clone());
        }
    }

    // The first read checked the Twilio account (it reads the settings): what follows from it
    // is read without adding a settings read each time.
    let following = Environment { account: None, ..*environment };
    let mut followed: BTreeSet<(Address, Option<String>)> = BTreeSet::new();
    loop {
        let reads: Vec<ReadTarget> = reference_reads(environment.desired, &observations)
            .into_iter()
            .filter(|target| followed.insert((target.address.clone(), target.id.clone())))
            .collect();
        if reads.is_empty() {
            break;
        }
        // One read per address at a time: two objects named at one address (two settings
        // pointing at two credentials) are read one after the other.
        for layer in distinct_addresses(reads) {
            for (address, object) in read(engine, &following, &layer).await? {
                if let Some(object) = object {
                    add(&mut found, &address, object.clone());
                    observations.insert(address, Some(object));
                }
            }
        }
    }

    for (address, objects) in among_parents(engine, environment, &found).await? {
        for object in objects {
            add(&mut found, &address, object);
        }
    }
    for (address, object) in superseded(engine, &found).await? {
        add(&mut found, &address, object);
    }
    for objects in found.values_mut() {
        objects.sort_by(|left, right| left.id.cmp(&right.id));
    }
    Ok(found)
}

/// `object` found at `address`, once.
fn add(found: &mut BTreeMap<Address, Vec<Observed>>, address: &Address, object: Observed) {
    let objects = found.entry(address.clone()).or_default();
    if !objects.iter().any(|known| known.id == object.id) {
        objects.push(object);
    }
}

/// `targets` in rounds in which each address is read at most once (a refresh reads each
/// address once).
fn distinct_addresses(targets: Vec<ReadTarget>) -> Vec<Vec<ReadTarget>> {
    let mut layers: Vec<Vec<ReadTarget>> = Vec::new();
    for target in targets {
        match layers.iter_mut().find(|layer| layer.iter().all(|read| read.address != target.address)) {
            Some(layer) => layer.push(target),
            None => layers.push(vec![target]),
        }
    }
    layers
}

/// For each desired resource found among its parent's children (the access key) that nothing
/// found yet, every such child.
async fn among_parents(
    engine: &Engine,
    environment: &Environment<'_>,
    found: &BTreeMap<Address, Vec<Observed>>,
) -> Result<BTreeMap<Address, Vec<Observed>>, ReadError> {
    let searches = environment
        .desired
        .iter()
        .filter(|resource| {
            matches!(
                resource.address.resource_type.schema().lifecycle,
                Lifecycle::Created { found_by: FoundBy::Parent, .. }
            ) && !found.contains_key(&resource.address)
        })
        .map(|resource| (resource.address.clone(), resource.known_attributes()))
        .collect();
    list_children(engine, searches).await.map_err(ReadError::Refresh)
}

/// The objects of each `Lifecycle::Superseded` type found under a found parent (the managed
/// policies attached to the user), each at its `superseded_address`.
async fn superseded(
    engine: &Engine,
    found: &BTreeMap<Address, Vec<Observed>>,
) -> Result<Vec<(Address, Observed)>, ReadError> {
    let mut searches = Vec::new();
    for resource_type in ResourceType::ALL {
        let Lifecycle::Superseded { parent, parent_key, link, .. } = resource_type.schema().lifecycle else {
            continue;
        };
        for (parent_address, objects) in found.iter().filter(|(address, _)| address.resource_type == parent) {
            for object in objects {
                let Some(value) = object.attributes.get(parent_key) else { continue };
                let attributes: Attributes = [(link.to_owned(), value.clone())].into_iter().collect();
                searches.push((Address::new(resource_type, parent_address.name.clone()), attributes));
            }
        }
    }
    Ok(list_children(engine, searches)
        .await
        .map_err(ReadError::Refresh)?
        .into_iter()
        .flat_map(|(address, objects)| {
            objects
                .into_iter()
                .filter_map(move |object| Some((superseded_address(address.resource_type, &object)?, object)))
        })
        .collect())
}

/// The object `id` at `address` (which the spec must want, unless its type is superseded),
/// read by that id; `None` when it does not exist. An address the spec does not want is an
/// error: nothing would record it.
pub async fn read_by_id(
    engine: &Engine,
    environment: &Environment<'_>,
    address: &Address,
    id: &str,
) -> Result<Option<Observed>, ReadError> {
    let superseded = matches!(address.resource_type.schema().lifecycle, Lifecycle::Superseded { .. });
    let wanted = environment.desired.iter().find(|resource| &resource.address == address);
    if wanted.is_none() && !superseded {
        let error = ProviderError::new(
            ErrorKind::Invalid,
            "stowage",
            "import",
            format!("the spec does not ask for `{address}`: there is nothing to import it as"),
        );
        return Err(ReadError::Refresh(RefreshError { failures: vec![(address.clone(), error)] }));
    };
    let target = ReadTarget {
        address: address.clone(),
        id: Some(id.to_owned()),
        desired: wanted.map(|wanted| wanted.known_attributes()),
        recorded: None,
    };
    let mut observations: Observations = read(engine, environment, std::slice::from_ref(&target)).await?;
    Ok(observations.remove(address).flatten())
}

/// Records the imports in one write (`StateStore::commit`), the state read under the caller's
/// lock. Nothing to import writes nothing.
pub async fn record_imports<S: StateStore>(imports: &[Import], state: &mut State, store: &S) -> Result<(), StateError> {
    if imports.is_empty() {
        return Ok(());
    }
    let before = state.clone();
    stowage_plan::import::record(state, imports);
    let committed = store.commit(state).await;
    if committed.is_err() {
        // The store holds what it held: so does the caller's state.
        *state = before;
    }
    committed
}

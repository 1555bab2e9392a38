//! The prior state, as the planner sees it: typed addresses instead of the file's strings.

use std::collections::BTreeMap;

use stowage_provider::{Address, AddressError, Attributes};
use stowage_state::State;

/// One resource recorded in the state.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorResource {
    pub address: Address,
    pub id: String,
    pub attributes: Attributes,
    pub depends_on: Vec<Address>,
    pub tainted: Option<String>,
    /// Replaced objects still waiting to be deleted.
    pub deposed: Vec<Deposed>,
}

/// An object to delete that is not the resource's current one: the old half of a replacement
/// (see `stowage_state::DeposedObject`), or what an interrupted apply left behind.
#[derive(Debug, Clone, PartialEq)]
pub struct Deposed {
    pub id: String,
    pub attributes: Attributes,
    pub origin: DeposedOrigin,
}

/// How an object came to be deposed: what the plan says about it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DeposedOrigin {
    /// Recorded in the state as the old half of a create-before-destroy replacement.
    #[default]
    Replacement,
    /// Found by a refresh after an interrupted create: nothing records it (see
    /// `stowage_provider::Provider::find_leftovers`).
    InterruptedApply,
}

impl DeposedOrigin {
    /// Why the object is destroyed, for people.
    pub fn describe(self) -> &'static str {
        match self {
            DeposedOrigin::Replacement => "left behind by an earlier replacement",
            DeposedOrigin::InterruptedApply => "left by an interrupted apply",
        }
    }
}

/// Everything the state records, by address.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prior {
    resources: BTreeMap<Address, PriorResource>,
}

#[derive(Debug, thiserror::Error)]
#[error("state records `{address}`, which this stowage does not know: {source}")]
pub struct PriorError {
    pub address: String,
    #[source]
    pub source: AddressError,
}

impl Prior {
    pub fn empty() -> Self {
        Self::default()
    }

    pub fn from_state(state: &State) -> Result<Self, PriorError> {
        let parse =
            |text: &str| text.parse::<Address>().map_err(|source| PriorError { address: text.to_owned(), source });
        let mut resources = BTreeMap::new();
        for resource in &state.resources {
            let address = parse(&resource.address)?;
            let depends_on = resource.depends_on.iter().map(|text| parse(text)).collect::<Result<_, _>>()?;
            resources.insert(
                address.clone(),
                PriorResource {
                    address,
                    id: resource.id.clone(),
                    attributes: resource.attributes.iter().map(|(name, value)| (name.clone(), value.clone())).collect(),
                    depends_on,
                    tainted: resource.tainted.clone(),
                    deposed: resource
                        .deposed
                        .iter()
                        .map(|object| Deposed {
                            id: object.id.clone(),
                            attributes: object.attributes.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                            origin: DeposedOrigin::Replacement,
                        })
                        .collect(),
                },
            );
        }
        Ok(Self { resources })
    }

    pub fn insert(&mut self, resource: PriorResource) {
        self.resources.insert(resource.address.clone(), resource);
    }

    pub fn remove(&mut self, address: &Address) -> Option<PriorResource> {
        self.resources.remove(address)
    }

    pub fn get(&self, address: &Address) -> Option<&PriorResource> {
        self.resources.get(address)
    }

    pub fn resources(&self) -> impl Iterator<Item = &PriorResource> {
        self.resources.values()
    }
}

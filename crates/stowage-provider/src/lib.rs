//! The resource contract shared by the planner, the providers and the engine: resource
//! addresses and types, each type's attribute schema, the `Provider` trait, provider errors
//! with kinds, secrets, and IAM policy documents compared by meaning.
//!
//! Architecture invariant: this crate does no IO. It is the bottom of the dependency graph
//! for everything that handles resources.

pub mod address;
pub mod error;
pub mod evaluate;
pub mod marker;
pub mod network;
pub mod policy;
pub mod resource;
pub mod schema;
pub mod secret;
pub mod types;

#[doc(hidden)]
pub use futures;

pub use address::{Address, AddressError, ProviderName, ResourceType};
pub use error::{ErrorKind, ProviderError};
pub use network::{NetworkCause, NetworkFailure};
pub use resource::{
    Applied, Attributes, AttributesExt, Contents, CreateRequest, DeleteRequest, LeftoverRequest, NewAccessKey,
    Observed, Provider, ReadRequest, SecretHandoff, UpdateRequest, encode, encode_known, required,
};
pub use schema::{
    AttributeDrift, AttributeSchema, Comparison, DriftMeaning, FoundBy, Harm, Immovable, Leftover, Lifecycle,
    ReplaceOrder, ResourceSchema, Rotation,
};
pub use secret::Secret;

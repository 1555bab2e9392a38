//! The provider contract: how the engine reads, creates, updates and deletes one resource.
//!
//! Providers never see spec files, state files or the command line: they get an address,
//! an id and attribute values, and answer with attribute values.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::address::Address;
use crate::error::ProviderError;
use crate::secret::Secret;

/// Attribute values of one resource, by attribute name (see [`crate::schema`]).
pub type Attributes = BTreeMap<String, Value>;

/// What a read found.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// The provider's id: bucket name, user name, `user:policy`, access key id, credential SID.
    pub id: String,
    pub attributes: Attributes,
}

/// Read one resource. `id` comes from the state when the resource is recorded there; `desired`
/// carries the spec's attributes, from which resources with a natural key (a bucket name, a
/// user name) can be found before stowage has recorded them.
#[derive(Debug, Clone, Copy)]
pub struct ReadRequest<'a> {
    pub address: &'a Address,
    pub id: Option<&'a str>,
    pub desired: Option<&'a Attributes>,
    /// The attributes the state recorded, for resources no longer in the spec.
    pub recorded: Option<&'a Attributes>,
}

impl ReadRequest<'_> {
    /// What the spec and the state say of the object, typed: each attribute from the spec,
    /// else from the state. Only what a lookup needs is read from this (a name, a key), so an
    /// attribute of another shape than the type's is left out rather than refused.
    pub fn known<T: DeserializeOwned + Default>(&self) -> T {
        let mut merged = self.recorded.cloned().unwrap_or_default();
        if let Some(desired) = self.desired {
            merged.extend(desired.iter().filter(|(_, value)| !value.is_null()).map(|(k, v)| (k.clone(), v.clone())));
        }
        T::deserialize(Value::Object(merged.into_iter().collect())).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy)]
pub struct CreateRequest<'a> {
    pub address: &'a Address,
    /// Desired attributes, every reference already resolved.
    pub attributes: &'a Attributes,
    pub handoff: &'a SecretHandoff,
    /// For types that record an intent ([`crate::ResourceSchema::records_intent`]): what to
    /// put on the new object so that `find_leftovers` can recognise it (see [`crate::marker`]).
    pub marker: Option<&'a str>,
}

#[derive(Debug, Clone, Copy)]
pub struct UpdateRequest<'a> {
    pub address: &'a Address,
    pub id: &'a str,
    pub before: &'a Attributes,
    /// Desired attributes, every reference already resolved.
    pub after: &'a Attributes,
    /// The attributes that differ; the provider changes only these.
    pub changed: &'a [String],
    /// The marker the object carries (as in [`CreateRequest::marker`]): an update keeps it.
    pub marker: Option<&'a str>,
}

/// How long after its intent a create may still make its object: longer than any create
/// stowage sends can last (one attempt of `CreateAccessKey`, a credential POST, the KMS key's
/// wait for IAM to propagate), so that what an interrupted create made is always found, yet an
/// object someone makes later, while the intent waits for an apply to complete, is not taken.
pub const CREATE_WINDOW: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// Look for objects an interrupted create may have left: the create was recorded as an
/// intent, then the process died (or the answer was lost) before the object was recorded.
#[derive(Debug, Clone, Copy)]
pub struct LeftoverRequest<'a> {
    pub address: &'a Address,
    /// What the create put on the object, if the type carries a marker.
    pub marker: Option<&'a str>,
    /// When the earliest such create was about to be sent: older objects are not leftovers.
    pub since: std::time::SystemTime,
    /// When the latest such create had surely ended ([`CREATE_WINDOW`] after it was about to be
    /// sent): objects made later are someone else's, however long the intent stays.
    pub until: std::time::SystemTime,
    /// The attributes the create was sent with (e.g. the access key's user).
    pub attributes: &'a Attributes,
    /// Objects the state records at this address (current and deposed): never leftovers.
    pub known_ids: &'a [String],
}

#[derive(Debug, Clone, Copy)]
pub struct DeleteRequest<'a> {
    pub address: &'a Address,
    pub id: &'a str,
    pub attributes: &'a Attributes,
}

/// What an object holds that others put there (a bucket's objects, every version counted),
/// besides what only tests the way in (Twilio's and stowage's write test files).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Contents {
    pub objects: u64,
    pub bytes: u64,
}

impl Contents {
    pub fn is_empty(&self) -> bool {
        self.objects == 0
    }
}

impl std::fmt::Display for Contents {
    /// `1,204 objects, 3.1 GB` (decimal units, as the S3 console shows sizes).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let noun = if self.objects == 1 { "object" } else { "objects" };
        write!(f, "{} {noun}, {}", thousands(self.objects), decimal_size(self.bytes))
    }
}

/// `1204` as `1,204`.
fn thousands(number: u64) -> String {
    let digits = number.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A size in bytes as people read it: `812 bytes`, `3.1 GB`.
fn decimal_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["kB", "MB", "GB", "TB", "PB", "EB"];
    if bytes < 1000 {
        return format!("{bytes} {}", if bytes == 1 { "byte" } else { "bytes" });
    }
    #[expect(clippy::cast_precision_loss, reason = "one decimal is shown")]
    let mut size = bytes as f64 / 1000.0;
    let mut unit = 0;
    while size >= 999.95 && unit < UNITS.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    format!("{size:.1} {}", UNITS[unit])
}

/// The result of a create or an update: what now exists.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub id: String,
    pub attributes: Attributes,
}

/// A freshly created access key: the only moment its secret exists.
#[derive(Debug, Clone)]
pub struct NewAccessKey {
    pub access_key_id: String,
    pub secret_access_key: Secret,
}

/// Carries access key secrets from `CreateAccessKey` to the Twilio credential that needs them,
/// in memory, within one apply. Whatever is left here when the apply ends was never handed to
/// Twilio: the engine marks those keys as orphaned so the next apply replaces them.
#[derive(Debug, Default)]
pub struct SecretHandoff {
    keys: Mutex<HashMap<String, Secret>>,
}

impl SecretHandoff {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn put(&self, key: NewAccessKey) {
        self.lock().insert(key.access_key_id, key.secret_access_key);
    }

    /// The secret of `access_key_id`, if it was created in this apply.
    pub fn get(&self, access_key_id: &str) -> Option<Secret> {
        self.lock().get(access_key_id).cloned()
    }

    /// Mark the secret as delivered: it is dropped from memory.
    pub fn delivered(&self, access_key_id: &str) {
        self.lock().remove(access_key_id);
    }

    /// Access key ids whose secrets were never delivered.
    pub fn undelivered(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.lock().keys().cloned().collect();
        ids.sort();
        ids
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Secret>> {
        // A panic while holding this lock cannot leave the map half-updated (every operation is
        // a single insert/remove/read), so a poisoned lock is still safe to use.
        self.keys.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A provider: one per service family. The engine routes each resource to the provider of its
/// type ([`crate::ResourceType::provider`]).
pub trait Provider: Send + Sync {
    /// `Ok(None)` when the resource does not exist.
    fn read<'a>(&'a self, request: ReadRequest<'a>) -> BoxFuture<'a, Result<Option<Observed>, ProviderError>>;
    fn create<'a>(&'a self, request: CreateRequest<'a>) -> BoxFuture<'a, Result<Applied, ProviderError>>;
    fn update<'a>(&'a self, request: UpdateRequest<'a>) -> BoxFuture<'a, Result<Applied, ProviderError>>;
    /// Deleting something that is already gone succeeds.
    fn delete<'a>(&'a self, request: DeleteRequest<'a>) -> BoxFuture<'a, Result<(), ProviderError>>;

    /// What the object `request` would delete holds ([`Contents`]). Only types whose schema
    /// [`holds_data`](crate::ResourceSchema::holds_data) are asked; the default holds nothing.
    fn contents<'a>(&'a self, request: DeleteRequest<'a>) -> BoxFuture<'a, Result<Contents, ProviderError>> {
        let _ = request;
        Box::pin(async { Ok(Contents::default()) })
    }

    /// Objects an interrupted create of `request.address` left behind, which nothing records
    /// (each with the attributes its delete needs). Only types with
    /// [`crate::ResourceSchema::records_intent`] are asked; the default finds nothing, which
    /// is right for a type whose create cannot be lost.
    fn find_leftovers<'a>(
        &'a self,
        request: LeftoverRequest<'a>,
    ) -> BoxFuture<'a, Result<Vec<Observed>, ProviderError>> {
        let _ = request;
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// One resource type's operations, in its provider's file for that type; the provider routes
/// to it with one line of [`crate::routes!`]. Reads, creates and the rest get the provider
/// (its clients) and the request.
pub trait Operations<P> {
    /// `Ok(None)` when the resource does not exist.
    fn read(
        provider: &P,
        request: ReadRequest<'_>,
    ) -> impl Future<Output = Result<Option<Observed>, ProviderError>> + Send;
    fn create(provider: &P, request: CreateRequest<'_>) -> impl Future<Output = Result<Applied, ProviderError>> + Send;
    fn update(provider: &P, request: UpdateRequest<'_>) -> impl Future<Output = Result<Applied, ProviderError>> + Send;
    /// Deleting something that is already gone succeeds.
    fn delete(provider: &P, request: DeleteRequest<'_>) -> impl Future<Output = Result<(), ProviderError>> + Send;
    /// What the object holds (see [`Provider::contents`]); nothing, for a type that holds no
    /// data.
    fn contents(
        provider: &P,
        request: DeleteRequest<'_>,
    ) -> impl Future<Output = Result<Contents, ProviderError>> + Send {
        let _ = (provider, request);
        async { Ok(Contents::default()) }
    }
    /// What an interrupted create left (see [`Provider::find_leftovers`]); nothing, for a type
    /// whose create cannot be lost.
    fn find_leftovers(
        provider: &P,
        request: LeftoverRequest<'_>,
    ) -> impl Future<Output = Result<Vec<Observed>, ProviderError>> + Send {
        let _ = (provider, request);
        async { Ok(Vec::new()) }
    }
}

/// The [`Provider`] of `$provider`: each resource type it serves, routed to the
/// [`Operations`] of that type. A type it does not serve is an internal error (and has no
/// leftovers).
#[macro_export]
macro_rules! routes {
    ($provider:ty { $($($variant:ident)|+ => $operations:ty),+ $(,)? }) => {
        impl $crate::Provider for $provider {
            $crate::routes!(@route $provider, read, ReadRequest, Option<$crate::Observed>,
                other => Err($crate::resource::not_served(other, stringify!($provider))),
                $($($variant)|+ => $operations),+);
            $crate::routes!(@route $provider, create, CreateRequest, $crate::Applied,
                other => Err($crate::resource::not_served(other, stringify!($provider))),
                $($($variant)|+ => $operations),+);
            $crate::routes!(@route $provider, update, UpdateRequest, $crate::Applied,
                other => Err($crate::resource::not_served(other, stringify!($provider))),
                $($($variant)|+ => $operations),+);
            $crate::routes!(@route $provider, delete, DeleteRequest, (),
                other => Err($crate::resource::not_served(other, stringify!($provider))),
                $($($variant)|+ => $operations),+);
            $crate::routes!(@route $provider, contents, DeleteRequest, $crate::resource::Contents,
                _ => Ok($crate::resource::Contents::default()),
                $($($variant)|+ => $operations),+);
            $crate::routes!(@route $provider, find_leftovers, LeftoverRequest, Vec<$crate::Observed>,
                _ => Ok(Vec::new()),
                $($($variant)|+ => $operations),+);
        }
    };
    (@route $provider:ty, $method:ident, $request:ident, $answer:ty, $other:pat => $otherwise:expr,
        $($($variant:ident)|+ => $operations:ty),+) => {
        fn $method<'a>(
            &'a self,
            request: $crate::$request<'a>,
        ) -> $crate::futures::future::BoxFuture<'a, Result<$answer, $crate::ProviderError>> {
            Box::pin(async move {
                match request.address.resource_type {
                    $($($crate::ResourceType::$variant)|+ => {
                        <$operations as $crate::resource::Operations<$provider>>::$method(self, request).await
                    })+
                    #[allow(unreachable_patterns)]
                    $other => $otherwise,
                }
            })
        }
    };
}

/// A request routed to a provider that does not serve its type: a bug in the engine.
#[doc(hidden)]
pub fn not_served(resource_type: crate::ResourceType, provider: &str) -> ProviderError {
    ProviderError::new(
        crate::ErrorKind::Internal,
        "stowage",
        "route",
        format!("{provider} does not manage `{resource_type}`"),
    )
}

/// Attributes as the type's typed value (see [`crate::types`]): the one way from the generic map.
/// A value of the wrong shape is a bug in the planner, reported as such.
pub fn decode<T: DeserializeOwned>(address: &Address, attributes: &Attributes) -> Result<T, ProviderError> {
    T::deserialize(Value::Object(attributes.clone().into_iter().collect())).map_err(|error| {
        ProviderError::new(crate::ErrorKind::Internal, "stowage", "resolve", format!("{address}: {error}"))
    })
}

/// A typed value as attributes: the one way back to the generic map.
pub fn encode<T: Serialize>(typed: &T) -> Attributes {
    match serde_json::to_value(typed) {
        Ok(Value::Object(map)) => map.into_iter().collect(),
        // The types are structs of plain fields: nothing else can come out.
        _ => unreachable!("typed attributes serialize to a JSON object"),
    }
}

/// A typed value as attributes, leaving out what it does not know (its `None`s): what a search
/// found of an object, before a read tells the rest.
pub fn encode_known<T: Serialize>(typed: &T) -> Attributes {
    let mut attributes = encode(typed);
    attributes.retain(|_, value| !value.is_null());
    attributes
}

/// A required attribute of a typed value; a missing one is a bug in the planner, reported as
/// such.
pub fn required<'a, T: ?Sized>(value: Option<&'a T>, address: &Address, name: &str) -> Result<&'a T, ProviderError> {
    value.ok_or_else(|| {
        ProviderError::new(
            crate::ErrorKind::Internal,
            "stowage",
            "resolve",
            format!("{address}: attribute `{name}` is missing"),
        )
    })
}

/// Typed access to attribute maps.
pub trait AttributesExt {
    /// As [`decode`].
    fn decode<T: DeserializeOwned>(&self, address: &Address) -> Result<T, ProviderError>;
    /// A string attribute, for readers of observations outside a provider (verify).
    fn str(&self, name: &str) -> Option<&str>;
}

impl AttributesExt for Attributes {
    fn decode<T: DeserializeOwned>(&self, address: &Address) -> Result<T, ProviderError> {
        decode(address, self)
    }

    fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contents_read_as_the_s3_console_shows_them() {
        let shown = |objects, bytes| Contents { objects, bytes }.to_string();
        assert_eq!(shown(1204, 3_100_000_000), "1,204 objects, 3.1 GB");
        assert_eq!(shown(1, 1), "1 object, 1 byte");
        assert_eq!(shown(0, 0), "0 objects, 0 bytes");
        assert_eq!(shown(999, 999), "999 objects, 999 bytes");
        assert_eq!(shown(1_000_000, 1000), "1,000,000 objects, 1.0 kB");
        assert_eq!(shown(12_345, 999_960), "12,345 objects, 1.0 MB");
        assert_eq!(shown(100, 45_600_000_000_000), "100 objects, 45.6 TB");
    }

    #[test]
    fn handoff_forgets_delivered_secrets_and_reports_the_rest() {
        let handoff = SecretHandoff::new();
        for id in ["AKIAFIRST", "AKIASECOND"] {
            handoff.put(NewAccessKey { access_key_id: id.into(), secret_access_key: Secret::new("s3cr3t") });
        }
        assert_eq!(handoff.get("AKIAFIRST").map(|secret| secret.expose().to_owned()), Some("s3cr3t".into()));
        handoff.delivered("AKIAFIRST");
        assert!(handoff.get("AKIAFIRST").is_none());
        assert_eq!(handoff.undelivered(), vec!["AKIASECOND".to_owned()]);
        assert!(!format!("{handoff:?}").contains("s3cr3t"));
    }
}

//! The state model: serde boundary types, serialized canonically (resources by address, object
//! keys sorted) so that the same state always gives the same bytes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};
use uuid::Uuid;

/// The state file format this stowage reads and writes. Readers refuse newer formats.
pub const FORMAT_VERSION: u32 = 1;

/// The state of one stowage environment: every resource stowage manages there, with its
/// provider id and its last observed or applied attributes. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "stowage state, format 1")]
pub struct State {
    /// Format version of this file. Stowage refuses to read a format newer than its own.
    #[schemars(extend("const" = FORMAT_VERSION))]
    pub version: u32,
    /// Incremented on every write that changes anything; a saved plan records it to detect that
    /// the state moved on since.
    pub serial: u64,
    /// Identity of this state, fixed when it is first created; a saved plan records it too.
    pub lineage: Uuid,
    /// Version of stowage that last wrote this file.
    pub stowage_version: String,
    /// Name of the spec's `[environment]`: a state belongs to exactly one environment.
    pub environment: String,
    /// The managed resources, sorted by address; addresses are unique.
    #[serde(serialize_with = "serialize_by_address")]
    pub resources: Vec<ResourceState>,
    /// Creates that were about to start and whose outcome is not recorded yet: written before
    /// each create whose result could be lost (an access key's secret exists only in the
    /// create's answer), cleared once the object is recorded above. An intent left here means
    /// an apply was interrupted: the next refresh looks for what it may have left behind.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intents: Vec<Intent>,
}

/// One managed resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceState {
    /// `TYPE.NAME`, e.g. `aws_s3_bucket.main`; a fleet member's instance carries its key,
    /// the subaccount's SID: `TYPE.NAME["KEY"]`, e.g. `twilio_aws_credential.main["AC…"]`.
    pub address: String,
    /// Resource type, e.g. `aws_s3_bucket`; the address starts with it.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// Provider id: bucket name, IAM user name, access key id, Twilio credential SID.
    pub id: String,
    /// Last observed or applied attributes. Never a secret: for an access key only its id.
    #[serde(serialize_with = "serialize_sorted_object")]
    pub attributes: Map<String, Value>,
    /// Addresses of the resources this one depends on.
    pub depends_on: Vec<String>,
    /// Why this resource must be replaced on the next apply (e.g. an access key whose secret
    /// was lost before it reached Twilio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tainted: Option<String>,
    /// Objects this resource replaced that still exist: the old half of a create-before-destroy
    /// replacement whose deletion has not happened yet. The next apply deletes them, so an
    /// interrupted rotation never loses track of an old access key or credential.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deposed: Vec<DeposedObject>,
    /// What the state takes on trust about this object, not from a read or from stowage's own
    /// create, and why: e.g. which access key a credential imported with `import --keep-key`
    /// holds, which Twilio never returns. `verify` reports it; it goes when the object is
    /// replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unproven: Option<String>,
}

/// An object replaced by a newer one, waiting to be deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeposedObject {
    /// Provider id of the old object.
    pub id: String,
    /// Its last known attributes (what its deletion needs, e.g. the user of an access key).
    #[serde(serialize_with = "serialize_sorted_object")]
    pub attributes: Map<String, Value>,
}

/// A create about to be sent, recorded (and written) before it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Intent {
    /// Identifies this intent; one per create attempt.
    pub id: Uuid,
    /// Address of the resource being created, e.g. `aws_iam_access_key.main`.
    pub address: String,
    /// When the create was about to be sent (RFC 3339, UTC): objects made before cannot be
    /// what this create left behind.
    pub started_at: String,
    /// What the create puts on the object so that it can be found again (for a Twilio
    /// credential, a suffix of its `FriendlyName`); absent when the object cannot carry one
    /// (an access key, found among its user's keys instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
    /// The attributes the create was sent with (never a secret): where to look for it.
    #[serde(serialize_with = "serialize_sorted_object")]
    pub attributes: Map<String, Value>,
}

impl State {
    /// A fresh state for `environment`: a new lineage, serial 0, no resources.
    pub fn new(environment: impl Into<String>, stowage_version: impl Into<String>) -> Self {
        Self {
            version: FORMAT_VERSION,
            serial: 0,
            lineage: Uuid::new_v4(),
            stowage_version: stowage_version.into(),
            environment: environment.into(),
            resources: Vec::new(),
            intents: Vec::new(),
        }
    }

    pub fn get(&self, address: &str) -> Option<&ResourceState> {
        let index = self.position(address).ok()?;
        Some(&self.resources[index])
    }

    /// Inserts `resource`, or replaces the one at its address, keeping resources sorted;
    /// returns the replaced one.
    pub fn upsert(&mut self, resource: ResourceState) -> Option<ResourceState> {
        match self.position(&resource.address) {
            Ok(index) => Some(std::mem::replace(&mut self.resources[index], resource)),
            Err(index) => {
                self.resources.insert(index, resource);
                None
            }
        }
    }

    pub fn remove(&mut self, address: &str) -> Option<ResourceState> {
        let index = self.position(address).ok()?;
        Some(self.resources.remove(index))
    }

    /// Addresses of all resources, in order.
    pub fn addresses(&self) -> impl Iterator<Item = &str> {
        self.resources.iter().map(|resource| resource.address.as_str())
    }

    fn position(&self, address: &str) -> Result<usize, usize> {
        self.resources.binary_search_by(|resource| resource.address.as_str().cmp(address))
    }
}

// `resources` is public, so a caller may have pushed out of order: serialize sorted anyway.
fn serialize_by_address<S: Serializer>(resources: &[ResourceState], serializer: S) -> Result<S::Ok, S::Error> {
    let mut sorted: Vec<&ResourceState> = resources.iter().collect();
    sorted.sort_by(|left, right| left.address.cmp(&right.address));
    serializer.collect_seq(sorted)
}

// The workspace's serde_json keeps insertion order (`preserve_order`), which depends on how a
// provider built the map: sort keys, at every depth, so the output is byte-stable.
fn serialize_sorted_object<S: Serializer>(object: &Map<String, Value>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut entries: Vec<(&String, &Value)> = object.iter().collect();
    entries.sort_unstable_by(|left, right| left.0.cmp(right.0));
    serializer.collect_map(entries.into_iter().map(|(key, value)| (key, SortedKeys(value))))
}

/// A JSON value serialized with the keys of every object in sorted order.
struct SortedKeys<'a>(&'a Value);

impl Serialize for SortedKeys<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(object) => serialize_sorted_object(object, serializer),
            Value::Array(items) => serializer.collect_seq(items.iter().map(SortedKeys)),
            scalar => scalar.serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(address: &str, id: &str) -> ResourceState {
        let (resource_type, _) = address.split_once('.').expect("test addresses are TYPE.NAME");
        ResourceState {
            address: address.to_owned(),
            resource_type: resource_type.to_owned(),
            id: id.to_owned(),
            attributes: Map::new(),
            depends_on: Vec::new(),
            tainted: None,
            deposed: Vec::new(),
            unproven: None,
        }
    }

    #[test]
    fn new_state_is_empty_at_serial_zero_in_the_current_format() {
        let state = State::new("dev", "0.1.0");
        assert_eq!(state.version, FORMAT_VERSION);
        assert_eq!(state.serial, 0);
        assert_eq!(state.environment, "dev");
        assert_eq!(state.stowage_version, "0.1.0");
        assert!(state.resources.is_empty());
        assert_ne!(state.lineage, State::new("dev", "0.1.0").lineage, "each state gets its own lineage");
    }

    #[test]
    fn upsert_keeps_resources_sorted_and_replaces_by_address() {
        let mut state = State::new("dev", "0.1.0");
        assert_eq!(state.upsert(resource("aws_s3_bucket.main", "acme")), None);
        assert_eq!(state.upsert(resource("aws_iam_user.main", "uploader")), None);
        assert_eq!(state.upsert(resource("twilio_aws_credential.main", "CR1")), None);
        assert_eq!(
            state.addresses().collect::<Vec<_>>(),
            ["aws_iam_user.main", "aws_s3_bucket.main", "twilio_aws_credential.main"]
        );

        let replaced = state.upsert(resource("aws_s3_bucket.main", "acme-2"));
        assert_eq!(replaced.map(|old| old.id).as_deref(), Some("acme"));
        assert_eq!(state.resources.len(), 3);
        assert_eq!(state.get("aws_s3_bucket.main").map(|bucket| bucket.id.as_str()), Some("acme-2"));
    }

    #[test]
    fn remove_takes_the_resource_out_and_get_no_longer_finds_it() {
        let mut state = State::new("dev", "0.1.0");
        state.upsert(resource("aws_s3_bucket.main", "acme"));
        state.upsert(resource("aws_iam_user.main", "uploader"));

        assert_eq!(state.remove("aws_s3_bucket.main").map(|old| old.id).as_deref(), Some("acme"));
        assert_eq!(state.remove("aws_s3_bucket.main"), None);
        assert_eq!(state.get("aws_s3_bucket.main"), None);
        assert_eq!(state.addresses().collect::<Vec<_>>(), ["aws_iam_user.main"]);
    }

    #[test]
    fn serialization_sorts_resources_and_object_keys_at_every_depth() {
        let mut state = State::new("dev", "0.1.0");
        let mut bucket = resource("aws_s3_bucket.main", "acme");
        let attributes = serde_json::json!({
            "versioning": true,
            "tags": {"team": "video", "cost_center": "42"},
            "lifecycle": [{"prefix": "recordings/", "expire_after_days": 90}],
        });
        bucket.attributes = attributes.as_object().cloned().expect("an object");
        // Pushed directly, out of order: serialization must still sort.
        state.resources.push(bucket);
        state.resources.push(resource("aws_iam_user.main", "uploader"));

        let json = serde_json::to_string(&state).expect("serializable");
        let user = json.find("aws_iam_user.main").expect("user serialized");
        let bucket = json.find("aws_s3_bucket.main").expect("bucket serialized");
        assert!(user < bucket, "resources out of order: {json}");
        assert!(json.contains(
            r#""attributes":{"lifecycle":[{"expire_after_days":90,"prefix":"recordings/"}],"tags":{"cost_center":"42","team":"video"},"versioning":true}"#
        ), "attribute keys not sorted: {json}");
    }
}

//! What the end-to-end tests of the `stowage` binary need besides `stowage-test-support`: its
//! [`World`] bound to the binary Cargo built for them, and what stowage recorded, read through
//! `stowage-state` (the one crate that knows the file's format).
#![allow(dead_code)] // each test binary uses a different part

use std::path::Path;

use serde_json::Value;
use stowage_state::{LocalStateFile, State};
use stowage_test_support::dev::{POLICY_NAME, USER};
use stowage_test_support::{World, WorldBuilder};

/// The `stowage` binary Cargo built for these tests.
pub const STOWAGE: &str = env!("CARGO_BIN_EXE_stowage");

/// A world that runs this crate's `stowage`: moto and the emulator behind their proxies, and
/// `examples/dev.toml` in a sandbox unless the builder says otherwise.
pub fn world() -> WorldBuilder {
    World::builder(STOWAGE)
}

/// The state at `path`.
///
/// # Panics
/// When there is none, or it does not load.
pub fn state(path: &Path) -> State {
    LocalStateFile::new(path)
        .load()
        .unwrap_or_else(|error| panic!("the state {} does not load: {error}", path.display()))
        .unwrap_or_else(|| panic!("there is no state file {}", path.display()))
}

/// The id the state at `path` records for `address`.
///
/// # Panics
/// When it records none.
pub fn recorded_id(path: &Path, address: &str) -> String {
    let state = state(path);
    let resource = state.get(address).unwrap_or_else(|| panic!("no {address} in the state {}", path.display()));
    resource.id.clone()
}

/// Replaces the dev uploader's policy with `document` behind stowage's back, as someone in
/// IAM's console would.
///
/// # Panics
/// When moto refuses it.
pub async fn put_policy(world: &World, document: Value) {
    let iam = world.moto.iam_client();
    let put = iam.put_user_policy().user_name(USER).policy_name(POLICY_NAME).policy_document(document.to_string());
    put.send().await.unwrap_or_else(|error| panic!("moto takes the policy: {error:?}"));
}

/// A day, as the planner counts a key's age.
pub const DAY: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

/// `examples/dev.toml` with `rotate_after_days = DAYS` in `[uploader]`.
pub fn dev_spec_rotating_after(days: u32) -> String {
    stowage_test_support::dev_spec()
        .replace("path = \"/twilio/\"\n", &format!("path = \"/twilio/\"\nrotate_after_days = {days}\n"))
}

/// The day (UTC) the uploader's key is `days` days old, from the creation time IAM gives.
///
/// # Panics
/// When moto cannot list the uploader's keys, or it has none.
pub async fn day_key_is(world: &World, days: u32) -> String {
    let keys = world.moto.iam_client().list_access_keys().user_name(USER).send().await.unwrap();
    let created = keys.access_key_metadata()[0].create_date().expect("IAM says when the key was made");
    let created = jiff::Timestamp::from_second(created.secs()).unwrap();
    let due = created + jiff::SignedDuration::from_hours(24 * i64::from(days));
    due.to_zoned(jiff::tz::TimeZone::UTC).date().to_string()
}

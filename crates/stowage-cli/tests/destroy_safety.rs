//! Destroy's safety: `stowage destroy dev.toml --auto-approve` killed (SIGKILL) at every
//! request it sends, reads and writes, AWS's and Twilio's alike; after each, the next
//! `destroy` must converge (a `plan --destroy` after it finds nothing, nothing the environment
//! had is left), and no recording may be lost. And at no moment anyone can look (after the
//! clean destroy, after each kill before anything repairs it, after the destroy that converges)
//! may Twilio store in S3 with a credential that is gone: it would fail every upload.
//!
//! Two environments, both encrypted (a KMS key stowage made, recordings encrypted with a
//! public key): one whose bucket holds recordings (kept, with its KMS key), one whose bucket
//! holds only Twilio's test files (deleted, its key scheduled for deletion).
//!
//! The matrix is `reliability`'s, shared with `crash_lifecycle.rs` and `rotation_safety.rs`.

mod common;
mod destroying;
mod reliability;

use std::time::Duration;

use common::{state, world};
use destroying::{destroyed, kms_key_state, put_recordings, recordings, recordings_in};
use reliability::{Requests, Scenario, apply_clean, copy_fixture, crash_matrix, encrypted_spec};
use stowage_test_support::dev::{BUCKET, REGION};
use stowage_test_support::{World, within};

/// Far beyond what either matrix takes (about a minute on two cores): a bound, not an estimate.
const TEST_LIMIT: Duration = Duration::from_secs(10 * 60);

/// The encrypted dev environment applied, with recordings in its bucket or without, destroyed.
struct Destroy {
    recordings: bool,
}

impl Scenario for Destroy {
    async fn before(&self, world: &World) {
        apply_clean(world, &encrypted_spec("recordings.pem")).await;
        if self.recordings {
            put_recordings(world).await;
        }
    }

    fn command(&self) -> &'static str {
        "destroy"
    }

    fn converging_command(&self) -> &'static str {
        "destroy"
    }

    fn settled_plan(&self) -> &'static [&'static str] {
        &["plan", "--destroy"]
    }

    /// What the environment had that is still there, besides what destroy keeps; an error when
    /// the state still records anything, or a recording, the kept bucket or its key is lost.
    async fn orphans(&self, world: &World) -> Result<Vec<String>, String> {
        let recorded = state(&world.state_path());
        if !recorded.resources.is_empty() || !recorded.intents.is_empty() {
            return Err(format!(
                "the state still records {} resource(s) and {} intent(s)",
                recorded.resources.len(),
                recorded.intents.len()
            ));
        }
        let mut left: Vec<String> = match destroyed(world).await {
            Ok(()) => Vec::new(),
            Err(left) => vec![left],
        };
        let keys = world.moto.kms_keys_in_use(REGION).await;
        let bucket = world.moto.s3_client(REGION).head_bucket().bucket(BUCKET).send().await;
        if self.recordings {
            self.invariant(world).await.unwrap_or(Ok(()))?;
            let [key] = keys.as_slice() else {
                return Err(format!("the kept bucket's key is not the one in use: {keys:?}"));
            };
            let key_state = kms_key_state(world, key).await;
            if key_state != "Enabled" {
                return Err(format!("the kept bucket's KMS key {key} is {key_state}"));
            }
        } else {
            left.extend(keys.into_iter().map(|key| format!("KMS key {key}")));
            if bucket.is_ok() {
                left.push(format!("bucket {BUCKET}"));
            }
        }
        Ok(left)
    }

    /// Storage is never on with a credential Twilio no longer has, and every recording is
    /// where Twilio put it.
    async fn invariant(&self, world: &World) -> Option<Result<(), String>> {
        let mut problems = Vec::new();
        for settings in ["RecordingSettings", "CompositionSettings"] {
            let found = world.twilio_get(&format!("/v1/{settings}/Default")).await;
            if found["aws_storage_enabled"] != true {
                continue;
            }
            let Some(sid) = found["aws_credentials_sid"].as_str() else {
                problems.push(format!("{settings} store in S3 with no credential: {found}"));
                continue;
            };
            let path = format!("/v1/Credentials/AWS/{sid}");
            let fetched = world.twilio_request(reqwest::Method::GET, &path).send().await.expect("the emulator answers");
            if fetched.status() != reqwest::StatusCode::OK {
                problems.push(format!("{settings} store in S3 with credential {sid}, which is {}", fetched.status()));
            }
        }
        if self.recordings && recordings_in(world).await != recordings() {
            problems.push(format!("recordings were lost: the bucket holds {:?}", recordings_in(world).await));
        }
        Some(if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) })
    }
}

/// A world whose sandbox has the public key the encrypted spec names.
async fn encrypted_world() -> World {
    let world = world().spec(&encrypted_spec("recordings.pem")).start().await;
    copy_fixture(&world, "recordings-2025.pem", "recordings.pem");
    world
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destroy_killed_at_any_request_converges_and_never_loses_a_recording() {
    within(TEST_LIMIT, async {
        let scenario = Destroy { recordings: true };
        let tally = crash_matrix("destroy, recordings kept", encrypted_world().await, scenario, Requests::Every).await;
        assert!(tally.converged > 0, "no run converged");
        assert_eq!(tally.checks, 2 * tally.converged, "the invariant is checked before and after each converging run");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destroy_of_everything_killed_at_any_request_converges_with_nothing_left() {
    within(TEST_LIMIT, async {
        let scenario = Destroy { recordings: false };
        let tally = crash_matrix("destroy, everything", encrypted_world().await, scenario, Requests::Every).await;
        assert!(tally.converged > 0, "no run converged");
    })
    .await;
}

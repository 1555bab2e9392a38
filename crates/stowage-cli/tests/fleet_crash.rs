//! Crash safety of a fleet: `stowage apply` of a fresh fleet of three subaccounts killed
//! (SIGKILL) at each of its writes, AWS and Twilio alike, then applied again, must converge
//! with nothing orphaned in any member: exactly the state's access key for each member's
//! uploader, exactly the state's credential in each subaccount, and each member's settings
//! storing with it. Phases commit intents before any create is sent, and results after the
//! last step of the phase ends: a kill inside a phase loses only what the intents find.

mod common;
mod reliability;

use common::world;
use reliability::{Requests, Scenario, crash_matrix};
use stowage_test_support::{TEST_ACCOUNT_SID, World};

const USER: &str = "twilio-uploader";

struct FreshFleet;

impl Scenario for FreshFleet {
    async fn before(&self, world: &World) {
        for name in ["customer-a", "customer-b", "customer-c"] {
            world.emulator.create_subaccount(TEST_ACCOUNT_SID, Some(name)).expect("a subaccount");
        }
    }

    async fn orphans(&self, world: &World) -> Result<Vec<String>, String> {
        fleet_orphans(world).await
    }
}

/// For each active subaccount: what exists of its uploader's keys and its Twilio credentials
/// that the state does not record; an error when the state lacks what a converged member has,
/// or its settings do not store with the state's credential.
async fn fleet_orphans(world: &World) -> Result<Vec<String>, String> {
    let state = stowage_state::LocalStateFile::new(world.state_path())
        .load()
        .map_err(|error| format!("the state does not load: {error}"))?
        .ok_or("there is no state file")?;
    if !state.intents.is_empty() {
        return Err(format!("the state still holds {} intent(s) after a complete apply", state.intents.len()));
    }
    let mut orphans = Vec::new();
    let members = world.emulator.subaccounts(TEST_ACCOUNT_SID);
    for member in &members {
        let sid = &member.sid;
        let id_of = |address: String| {
            state
                .get(&address)
                .map(|resource| resource.id.clone())
                .ok_or(format!("the state does not record `{address}`"))
        };
        let key = id_of(format!("aws_iam_access_key.uploader[\"{sid}\"]"))?;
        let credential = id_of(format!("twilio_aws_credential.main[\"{sid}\"]"))?;
        let keys = world.moto.access_key_ids(&format!("{USER}-{sid}")).await;
        if !keys.contains(&key) {
            return Err(format!("{sid}: the state's key `{key}` does not exist; IAM has {keys:?}"));
        }
        orphans.extend(keys.into_iter().filter(|id| *id != key).map(|id| format!("{sid}: access key {id}")));
        let token = member.auth_token.clone();
        let listed: serde_json::Value = get_as(world, sid, &token, "/v1/Credentials/AWS").await;
        let credentials: Vec<String> = listed["credentials"]
            .as_array()
            .map(|all| all.iter().filter_map(|found| found["sid"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        if !credentials.contains(&credential) {
            return Err(format!("{sid}: the state's credential `{credential}` does not exist; it has {credentials:?}"));
        }
        orphans.extend(
            credentials
                .into_iter()
                .filter(|found| *found != credential)
                .map(|found| format!("{sid}: credential {found}")),
        );
        for settings in ["RecordingSettings", "CompositionSettings"] {
            let found = get_as(world, sid, &token, &format!("/v1/{settings}/Default")).await;
            if found["aws_credentials_sid"].as_str() != Some(&credential) || found["aws_storage_enabled"] != true {
                return Err(format!(
                    "{sid}: {settings} do not store with the state's credential `{credential}`: {found}"
                ));
            }
        }
    }
    // The main account has nothing of the fleet.
    orphans
        .extend(world.twilio_aws_credentials().await.into_iter().map(|sid| format!("main account credential {sid}")));
    Ok(orphans)
}

async fn get_as(world: &World, sid: &str, token: &str, path: &str) -> serde_json::Value {
    let response =
        world.twilio_request_as(sid, token, reqwest::Method::GET, path).send().await.expect("the emulator answers");
    assert!(response.status().is_success(), "GET {path} as {sid}: {}", response.status());
    response.json().await.expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_apply_killed_at_any_write_converges_with_nothing_orphaned() {
    let spec = include_str!("../../../examples/fleet.toml");
    let world = world().spec_named("fleet.toml", spec).start().await;
    let tally = crash_matrix("fleet", world, FreshFleet, Requests::Writes).await;
    assert!(tally.converged >= 30, "only {} kill points: the issue asks for at least 30", tally.converged);
}

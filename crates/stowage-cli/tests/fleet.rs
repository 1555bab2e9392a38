//! Fleets end to end: one spec for every Twilio subaccount of the main account, against moto
//! (enforcing IAM, as AWS does) and the Twilio emulator's 2010 Accounts API. Each member's
//! settings point at its own credential and its own prefixes, checked by authenticating to the
//! emulator as that subaccount; a member's key cannot write under another's prefix; a new
//! subaccount is configured by the next apply, a closed one cleaned up with its recordings
//! kept; and a fleet throttled by Twilio's concurrency limit slows down instead of failing.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::world;
use serde_json::Value;
use stowage_test_support::twilio_emulator::{AlertRequest, FaultRule, MediaKind, MediaRequest};
use stowage_test_support::{TEST_ACCOUNT_SID, TEST_AUTH_TOKEN};
use stowage_test_support::{World, insta_filters, within};

const SPEC: &str = "fleet.toml";
const REGION: &str = "us-east-2";
const BUCKET: &str = "acme-video-fleet";
const USER: &str = "twilio-uploader";
const TEST_TIMEOUT: Duration = Duration::from_secs(300);

fn fleet_spec(uploader: &str) -> String {
    include_str!("../../../examples/fleet.toml")
        .replace(r#"uploader = "per-subaccount""#, &format!(r#"uploader = "{uploader}""#))
}

async fn fleet_world(uploader: &str) -> World {
    world().enforce_iam().spec_named(SPEC, &fleet_spec(uploader)).start().await
}

/// [`fleet_world`] with moto not enforcing IAM: under enforcement moto 5.2.1 refuses the
/// signature of a `ListObjectsV2` whose `prefix` holds a `/`, which `verify` sends to find
/// Twilio's test files (AWS accepts it).
async fn fleet_world_unenforced(uploader: &str) -> World {
    world().spec_named(SPEC, &fleet_spec(uploader)).start().await
}

/// A subaccount of the test account: its SID and auth token.
struct Member {
    sid: String,
    token: String,
}

fn subaccount(world: &World, name: &str) -> Member {
    let (sid, token) = world.emulator.create_subaccount(TEST_ACCOUNT_SID, Some(name)).expect("a subaccount");
    Member { sid, token }
}

async fn applied(world: &World) {
    let apply = world.stowage(&["apply", SPEC, "--auto-approve"]).await;
    assert_eq!(apply.code, Some(0), "the apply failed\n{apply}");
}

async fn settled(world: &World) {
    let plan = world.stowage(&["plan", SPEC]).await;
    assert_eq!(plan.code, Some(0), "the plan after apply failed\n{plan}");
    assert!(plan.stdout.contains("No changes"), "the fleet did not converge\n{plan}");
}

/// `GET path` as `member` (its own SID and auth token): status and body.
async fn get_as(world: &World, member: &Member, path: &str) -> (u16, Value) {
    let response = world
        .twilio_request_as(&member.sid, &member.token, reqwest::Method::GET, path)
        .send()
        .await
        .expect("the emulator answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// What `member`'s settings of `kind` say, read as the member; checks they point at a
/// credential of the member's own, under its own prefix. Returns the credential's SID.
async fn check_settings(world: &World, member: &Member, kind: &str, prefix: &str) -> String {
    let (status, settings) = get_as(world, member, &format!("/v1/{kind}/Default")).await;
    assert_eq!(status, 200, "{kind} of {}: {settings}", member.sid);
    assert_eq!(settings["aws_storage_enabled"], true, "{kind} of {}: {settings}", member.sid);
    let url = settings["aws_s3_url"].as_str().unwrap_or_default();
    assert!(url.ends_with(&format!("/{prefix}/{}", member.sid)), "{kind} of {} write elsewhere: {url}", member.sid);
    let credential = settings["aws_credentials_sid"].as_str().expect("a credential").to_owned();
    let (status, found) = get_as(world, member, &format!("/v1/Credentials/AWS/{credential}")).await;
    assert_eq!(status, 200, "{kind} of {} name credential {credential}, not the member's own", member.sid);
    assert_eq!(found["account_sid"], member.sid.as_str());
    credential
}

/// Checks `member` is configured: both settings point at its own one credential, which holds
/// an access key of `user`. Returns the access key id.
async fn check_member(world: &World, member: &Member, user: &str) -> String {
    let recordings = check_settings(world, member, "RecordingSettings", "recordings").await;
    let compositions = check_settings(world, member, "CompositionSettings", "compositions").await;
    assert_eq!(recordings, compositions, "one credential per member");
    let key = world.emulator.aws_credential_key(&recordings).expect("the credential holds a key");
    assert!(
        access_keys(world, user).await.contains(&key),
        "the credential of {} holds {key}, not {user}'s",
        member.sid
    );
    key
}

async fn access_keys(world: &World, user: &str) -> BTreeSet<String> {
    let listed = world.moto.iam_client().list_access_keys().user_name(user).send().await;
    listed
        .map(|listed| {
            listed.access_key_metadata().iter().filter_map(|key| key.access_key_id().map(str::to_owned)).collect()
        })
        .unwrap_or_default()
}

async fn user_exists(world: &World, user: &str) -> bool {
    world.moto.iam_client().get_user().user_name(user).send().await.is_ok()
}

/// How many of `keys` are in the bucket.
async fn still_stored(world: &World, keys: &[String]) -> usize {
    let s3 = world.moto.s3_client(REGION);
    let mut found = 0;
    for key in keys {
        found += usize::from(s3.head_object().bucket(BUCKET).key(key).send().await.is_ok());
    }
    found
}

fn per_subaccount_user(member: &Member) -> String {
    format!("{USER}-{}", member.sid)
}

fn state_addresses(world: &World) -> Vec<String> {
    common::state(&world.state_path()).addresses().map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_member_writes_with_its_own_user_under_its_own_prefix_and_nowhere_else() {
    within(TEST_TIMEOUT, async {
        let world = fleet_world("per-subaccount").await;
        let mut members =
            [subaccount(&world, "customer-a"), subaccount(&world, "customer-b"), subaccount(&world, "customer-c")];
        // As a plan lists them: by SID.
        members.sort_by(|left, right| left.sid.cmp(&right.sid));

        let plan = world.stowage(&["plan", SPEC]).await;
        assert_eq!(plan.code, Some(0), "{plan}");
        let mut settings = insta::Settings::clone_current();
        for (filter, replacement) in insta_filters() {
            settings.add_filter(filter, replacement);
        }
        for (member, name) in members.iter().zip(["[SUBACCOUNT_A]", "[SUBACCOUNT_B]", "[SUBACCOUNT_C]"]) {
            settings.add_filter(&regex_escape(&member.sid), name);
        }
        settings.bind(|| insta::assert_snapshot!("fleet_plan", plan.stdout));

        // Terraform's `index`: the member's SID, for each of its instances.
        let json = world.stowage(&["plan", SPEC, "--format", "json"]).await;
        let json: Value = serde_json::from_str(&json.stdout).expect("plan JSON");
        let credentials: Vec<&Value> = json["resource_changes"]
            .as_array()
            .expect("resource_changes")
            .iter()
            .filter(|change| change["type"] == "twilio_aws_credential")
            .collect();
        assert_eq!(credentials.len(), 3);
        for (credential, member) in credentials.iter().zip(&members) {
            assert_eq!(credential["index"], member.sid.as_str());
            assert_eq!(credential["address"], format!("twilio_aws_credential.main[\"{}\"]", member.sid));
        }

        applied(&world).await;
        let mut keys = BTreeSet::new();
        for member in &members {
            keys.insert(check_member(&world, member, &per_subaccount_user(member)).await);
        }
        assert_eq!(keys.len(), 3, "members share a key");
        // The main account's own settings are untouched.
        let main = world.twilio_get("/v1/RecordingSettings/Default").await;
        assert_ne!(main["aws_storage_enabled"], true, "the main account was configured: {main}");

        // A's key cannot write under B's prefix: pointing A's settings there (as A) fails
        // Twilio's write test with IAM's refusal.
        let (a, b) = (&members[0], &members[1]);
        let (_, a_settings) = get_as(&world, a, "/v1/RecordingSettings/Default").await;
        let b_url = a_settings["aws_s3_url"].as_str().unwrap().replace(&a.sid, &b.sid);
        let refused = world
            .twilio_request_as(&a.sid, &a.token, reqwest::Method::POST, "/v1/RecordingSettings/Default")
            .form(&[
                ("FriendlyName", "moved by hand"),
                ("AwsCredentialsSid", a_settings["aws_credentials_sid"].as_str().unwrap()),
                ("AwsS3Url", b_url.as_str()),
                ("AwsStorageEnabled", "true"),
                ("EncryptionEnabled", "false"),
            ])
            .send()
            .await
            .expect("the emulator answers");
        assert_eq!(refused.status().as_u16(), 400, "A's key wrote under B's prefix");
        let refused: Value = refused.json().await.unwrap();
        assert_eq!(refused["code"], 53615, "{refused}");

        // Twilio keeps alerts per account: `alerts` reads each member's, as that member.
        let quiet = world.stowage(&["alerts", SPEC, "--since", "1h", "--format", "json"]).await;
        assert_eq!(quiet.code, Some(0), "{quiet}");
        let request =
            AlertRequest { error_code: 53615, count: 3, account_sid: Some(b.sid.clone()), ..AlertRequest::default() };
        world.emulator.add_alerts(&request).expect("alerts");
        let raised = world.stowage(&["alerts", SPEC, "--since", "1h", "--format", "json"]).await;
        assert_eq!(raised.code, Some(2), "a member's alerts were not read\n{raised}");
        let report: Value = serde_json::from_str(&raised.stdout).expect("alerts JSON");
        let group = report["codes"].as_array().and_then(|codes| codes.iter().find(|group| group["code"] == 53615));
        assert_eq!(group.map(|group| group["count"].clone()), Some(Value::from(3)), "{report:#}");
        let drift = world.stowage(&["drift", SPEC]).await;
        assert_eq!(drift.stderr.matches("storage alert(s) in the last 24 hours").count(), 1, "{drift}");
        world.emulator.backdate(Duration::from_secs(2 * 60 * 60));

        // Media of each member land under its own prefix.
        for member in &members {
            let request = MediaRequest { kind: MediaKind::Recording, count: 1, account_sid: Some(member.sid.clone()) };
            let outcome = world.emulator.simulate(&request).await.expect("media");
            assert_eq!(outcome.stored.len(), 1, "{outcome:?}");
            assert!(outcome.stored[0].key.starts_with(&format!("recordings/{}/", member.sid)), "{outcome:?}");
        }
        settled(&world).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_subaccount_is_configured_and_a_closed_one_cleaned_up_with_its_recordings_kept() {
    within(TEST_TIMEOUT, async {
        let world = fleet_world("per-subaccount").await;
        let (a, c) = (subaccount(&world, "customer-a"), subaccount(&world, "customer-c"));
        applied(&world).await;
        let request = MediaRequest { kind: MediaKind::Recording, count: 2, account_sid: Some(c.sid.clone()) };
        let recordings: Vec<String> =
            world.emulator.simulate(&request).await.expect("media").stored.into_iter().map(|file| file.key).collect();
        assert_eq!(recordings.len(), 2);
        assert!(recordings.iter().all(|key| key.starts_with(&format!("recordings/{}/", c.sid))), "{recordings:?}");

        // A subaccount made after the first apply: the next plan creates its share only.
        let d = subaccount(&world, "customer-d");
        let plan = world.stowage(&["plan", SPEC, "--detail"]).await;
        assert_eq!(plan.code, Some(0), "{plan}");
        assert!(plan.stdout.contains(&format!("twilio_aws_credential.main[\"{}\"]", d.sid)), "{plan}");
        assert!(!plan.stdout.contains(&a.sid), "a configured member changes\n{plan}");
        applied(&world).await;
        check_member(&world, &d, &per_subaccount_user(&d)).await;

        // C closes: its uploader goes (its key would still open the bucket), Twilio took the
        // rest with the account, its recordings stay.
        world.emulator.close_subaccount(&c.sid).expect("closed");
        applied(&world).await;
        assert!(!user_exists(&world, &per_subaccount_user(&c)).await, "the closed member's uploader is left");
        assert!(
            state_addresses(&world).iter().all(|address| !address.contains(&c.sid)),
            "{:?}",
            state_addresses(&world)
        );
        assert_eq!(still_stored(&world, &recordings).await, 2, "a recording was lost");
        for member in [&a, &d] {
            check_member(&world, member, &per_subaccount_user(member)).await;
        }
        settled(&world).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_excluded_subaccount_is_switched_off_and_cleaned_up_with_its_recordings_kept() {
    within(TEST_TIMEOUT, async {
        let world = fleet_world("per-subaccount").await;
        let (a, b) = (subaccount(&world, "customer-a"), subaccount(&world, "customer-b"));
        applied(&world).await;
        let request = MediaRequest { kind: MediaKind::Recording, count: 1, account_sid: Some(b.sid.clone()) };
        let stored: Vec<String> =
            world.emulator.simulate(&request).await.expect("media").stored.into_iter().map(|file| file.key).collect();

        world
            .rewrite_spec(&fleet_spec("per-subaccount").replace("exclude = []", &format!("exclude = [\"{}\"]", b.sid)));
        applied(&world).await;
        for kind in ["RecordingSettings", "CompositionSettings"] {
            let (_, settings) = get_as(&world, &b, &format!("/v1/{kind}/Default")).await;
            assert_ne!(settings["aws_storage_enabled"], true, "the excluded member still stores in S3: {settings}");
        }
        let (_, credentials) = get_as(&world, &b, "/v1/Credentials/AWS").await;
        assert_eq!(credentials["credentials"].as_array().map(Vec::len), Some(0), "{credentials}");
        assert!(!user_exists(&world, &per_subaccount_user(&b)).await, "the excluded member's uploader is left");
        assert_eq!(still_stored(&world, &stored).await, 1, "a recording was lost");
        check_member(&world, &a, &per_subaccount_user(&a)).await;
        settled(&world).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_uploader_gives_every_member_a_credential_of_one_key_and_verify_checks_each() {
    within(TEST_TIMEOUT, async {
        let world = fleet_world_unenforced("shared").await;
        let members =
            [subaccount(&world, "customer-a"), subaccount(&world, "customer-b"), subaccount(&world, "customer-c")];
        applied(&world).await;
        let mut keys = BTreeSet::new();
        for member in &members {
            keys.insert(check_member(&world, member, USER).await);
            assert!(!user_exists(&world, &per_subaccount_user(member)).await);
        }
        assert_eq!(keys.len(), 1, "the shared uploader has one key: {keys:?}");
        settled(&world).await;
        let drift = world.stowage(&["drift", SPEC]).await;
        assert_eq!(drift.code, Some(0), "{drift}");
        let verify = world.stowage(&["verify", SPEC, "--format", "json"]).await;
        assert_eq!(verify.code, Some(0), "{verify}");
        let report: Value = serde_json::from_str(&verify.stdout).expect("verify JSON");
        let checks: Vec<&str> = report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter_map(|finding| finding["check"].as_str())
            .collect();
        for member in &members {
            let credential = format!("twilio_credential[\"{}\"]", member.sid);
            assert!(checks.contains(&credential.as_str()), "{credential} is not checked: {checks:?}");
        }
        assert_eq!(checks.iter().filter(|check| **check == "bucket").count(), 1, "{checks:?}");

        // A member's settings pointed elsewhere by hand: verify names that member.
        let (a, b) = (&members[0], &members[1]);
        let (_, b_settings) = get_as(&world, b, "/v1/RecordingSettings/Default").await;
        let (_, a_settings) = get_as(&world, a, "/v1/RecordingSettings/Default").await;
        let moved = world
            .twilio_request_as(&a.sid, &a.token, reqwest::Method::POST, "/v1/RecordingSettings/Default")
            .form(&[
                ("FriendlyName", "moved by hand"),
                ("AwsCredentialsSid", a_settings["aws_credentials_sid"].as_str().unwrap()),
                ("AwsS3Url", b_settings["aws_s3_url"].as_str().unwrap()),
                ("AwsStorageEnabled", "true"),
                ("EncryptionEnabled", "false"),
            ])
            .send()
            .await
            .expect("the emulator answers");
        assert!(moved.status().is_success(), "{}", moved.text().await.unwrap_or_default());
        let verify = world.stowage(&["verify", SPEC]).await;
        assert_eq!(verify.code, Some(2), "{verify}");
        let failed = format!("✗ recordings.s3_url[\"{}\"]", a.sid);
        assert!(verify.stdout.contains(&failed), "{verify}");
        assert_eq!(verify.stdout.matches("✗").count(), 1, "only A's settings are wrong\n{verify}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_throttled_by_twilio_slows_down_and_completes() {
    within(TEST_TIMEOUT, async {
        let world = fleet_world("per-subaccount").await;
        let members: Vec<Member> = (0..6).map(|n| subaccount(&world, &format!("customer-{n}"))).collect();
        world.emulator.set_concurrency_limit(Some(5));
        world.emulator.set_latency(Duration::from_millis(20));
        let apply = world.stowage(&["apply", SPEC, "--auto-approve", "--parallelism", "16"]).await;
        assert_eq!(apply.code, Some(0), "a throttled fleet failed\n{apply}");
        assert!(world.emulator.throttled() > 0, "the limit never bit: the test proves nothing");
        for member in &members {
            check_member(&world, member, &per_subaccount_user(member)).await;
        }
        settled(&world).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_members_failure_stops_only_that_member_and_the_summary_names_it() {
    within(TEST_TIMEOUT, async {
        let world = fleet_world("per-subaccount").await;
        let members =
            [subaccount(&world, "customer-a"), subaccount(&world, "customer-b"), subaccount(&world, "customer-c")];
        // One credential create fails (a 500: never retried, it may have reached Twilio).
        let rule = FaultRule { method: Some("POST".to_owned()), ..FaultRule::new(500, "/v1/Credentials/AWS") };
        world.emulator.add_fault(rule).expect("a fault");
        let apply = world.stowage(&["apply", SPEC, "--auto-approve"]).await;
        assert_eq!(apply.code, Some(1), "{apply}");

        // Which member's credential failed: the one whose settings are not switched on.
        let mut failed = Vec::new();
        for member in &members {
            let (_, settings) = get_as(&world, member, "/v1/RecordingSettings/Default").await;
            if settings["aws_storage_enabled"] == true {
                check_member(&world, member, &per_subaccount_user(member)).await;
            } else {
                failed.push(member.sid.clone());
            }
        }
        assert_eq!(failed.len(), 1, "one member failed, the others went on\n{apply}");
        assert!(apply.stderr.contains(&format!("failed subaccounts (1): {}", failed[0])), "{apply}");

        applied(&world).await;
        for member in &members {
            check_member(&world, member, &per_subaccount_user(member)).await;
        }
        settled(&world).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_is_destroyed_member_by_member_with_its_recordings_kept() {
    within(TEST_TIMEOUT, async {
        let world = fleet_world("per-subaccount").await;
        let members = [subaccount(&world, "customer-a"), subaccount(&world, "customer-b")];
        applied(&world).await;
        let request = MediaRequest { kind: MediaKind::Recording, count: 1, account_sid: Some(members[0].sid.clone()) };
        let stored: Vec<String> =
            world.emulator.simulate(&request).await.expect("media").stored.into_iter().map(|file| file.key).collect();

        let destroy = world.stowage(&["destroy", SPEC, "--auto-approve"]).await;
        assert_eq!(destroy.code, Some(0), "{destroy}");
        for member in &members {
            let (_, settings) = get_as(&world, member, "/v1/RecordingSettings/Default").await;
            assert_ne!(settings["aws_storage_enabled"], true, "{} still stores in S3: {settings}", member.sid);
            let (_, credentials) = get_as(&world, member, "/v1/Credentials/AWS").await;
            assert_eq!(credentials["credentials"].as_array().map(Vec::len), Some(0), "{credentials}");
            assert!(!user_exists(&world, &per_subaccount_user(member)).await);
        }
        assert_eq!(still_stored(&world, &stored).await, 1, "a recording was lost");
    })
    .await;
}

fn regex_escape(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_string() } else { format!("\\{c}") }).collect()
}

#[allow(dead_code)]
const MAIN_TOKEN: &str = TEST_AUTH_TOKEN;

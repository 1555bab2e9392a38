//! The state in S3, end to end: the `stowage` binary against moto (through the recording proxy,
//! which also reaches the state bucket) and the Twilio emulator. Two runs on one state, a
//! holder killed with its lock, the lock forced away and the state written from outside
//! during an apply, the final state write failing, a local state migrated, and every `state`
//! command on both backends. What is stored is read with the AWS SDK, never through stowage.

mod common;

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use common::world;
use serde_json::Value;
use stowage_state::State;
use stowage_test_support::dev::REGION;
use stowage_test_support::{Fault, FaultAction, FaultMatch, SecretScan, World, dev_spec, within};

const SPEC: &str = "dev.toml";
const STATE_BUCKET: &str = "acme-stowage-state";
const STATE_KEY: &str = "envs/dev.state.json";
const LOCK_KEY: &str = "envs/dev.state.json.lock";
const REMOTE: &str = "s3://acme-stowage-state/envs/dev.state.json";
const TEST_TIMEOUT: Duration = Duration::from_secs(240);

/// Every address the dev environment records after one apply.
const DEV_ADDRESSES: usize = 7;

/// `examples/dev.toml` keeping its state in S3.
fn remote_spec() -> String {
    format!("{}\n[state]\nbackend = \"s3\"\nbucket = \"{STATE_BUCKET}\"\nkey = \"{STATE_KEY}\"\n", dev_spec())
}

/// A world whose spec keeps its state in S3, and the state bucket, versioned, encrypted
/// (SSE-KMS) and private, as `docs/remote-state.md` recommends.
async fn remote_world() -> World {
    let world = world().spec(&remote_spec()).start().await;
    state_bucket(&world, true).await;
    world
}

async fn state_bucket(world: &World, recommended: bool) {
    use aws_sdk_s3::types::{
        BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, PublicAccessBlockConfiguration,
        ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
        ServerSideEncryptionRule, VersioningConfiguration,
    };
    let s3 = world.moto.s3_client(REGION);
    let configuration =
        CreateBucketConfiguration::builder().location_constraint(BucketLocationConstraint::from(REGION)).build();
    s3.create_bucket().bucket(STATE_BUCKET).create_bucket_configuration(configuration).send().await.unwrap();
    if !recommended {
        return;
    }
    let versioning = VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build();
    s3.put_bucket_versioning().bucket(STATE_BUCKET).versioning_configuration(versioning).send().await.unwrap();
    let by_default =
        ServerSideEncryptionByDefault::builder().sse_algorithm(ServerSideEncryption::AwsKms).build().unwrap();
    let rule = ServerSideEncryptionRule::builder().apply_server_side_encryption_by_default(by_default).build();
    let encryption = ServerSideEncryptionConfiguration::builder().rules(rule).build().unwrap();
    s3.put_bucket_encryption()
        .bucket(STATE_BUCKET)
        .server_side_encryption_configuration(encryption)
        .send()
        .await
        .unwrap();
    let block = PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    s3.put_public_access_block().bucket(STATE_BUCKET).public_access_block_configuration(block).send().await.unwrap();
}

/// The bytes of `key` in the state bucket, if it exists.
async fn object(world: &World, key: &str) -> Option<Vec<u8>> {
    let got = world.moto.s3_client(REGION).get_object().bucket(STATE_BUCKET).key(key).send().await.ok()?;
    Some(got.body.collect().await.expect("the body reads").to_vec())
}

/// The state stored in S3.
async fn stored(world: &World) -> State {
    let bytes = object(world, STATE_KEY).await.expect("a state object");
    stowage_state::decode_state(std::path::Path::new(REMOTE), &bytes).expect("the stored state decodes")
}

/// The lock object's holder record.
async fn lock_holder(world: &World) -> Option<Value> {
    let bytes = object(world, LOCK_KEY).await?;
    Some(serde_json::from_slice(&bytes).expect("the lock object is JSON"))
}

fn apply(world: &World) -> stowage_test_support::Invocation<'_> {
    world.stowage(&["apply", SPEC, "--auto-approve"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_applies_on_one_s3_state_one_runs_and_the_other_is_refused_naming_the_holder() {
    within(TEST_TIMEOUT, async {
        let world = remote_world().await;
        // The first apply holds the lock while its CreateUser is held.
        let hold = FaultMatch::Occurrence { operation: "CreateUser".to_owned(), nth: 0 };
        world.aws.inject(Fault::new(hold, FaultAction::HoldRequest, 1));
        let first = apply(&world).spawn();
        world.aws.held().await;
        let holder = lock_holder(&world).await.expect("the first apply holds the lock object");
        let id = holder["id"].as_str().expect("a lock id").to_owned();
        assert_eq!(holder["operation"], "apply");

        let second = apply(&world).await;
        assert_eq!(second.code, Some(1), "the second apply ran\n{second}");
        assert!(second.stderr.contains(&format!("state `{REMOTE}` is locked by another stowage run")), "{second}");
        assert!(second.stderr.contains(&format!("lock id: {id}")), "{second}");
        assert!(second.stderr.contains("`apply` by"), "{second}");
        // A read-only plan takes no lock: it reads one version of the object.
        let plan = world.stowage(&["plan", SPEC]).await;
        assert_eq!(plan.code, Some(0), "a read-only plan was refused\n{plan}");

        world.aws.clear(); // lets the held CreateUser go: the SDK sends it again
        let first = first.finish().await;
        assert_eq!(first.code, Some(0), "the first apply failed\n{first}");
        let state = stored(&world).await;
        assert_eq!(state.resources.len(), DEV_ADDRESSES, "{:?}", state.addresses().collect::<Vec<_>>());
        assert!(state.intents.is_empty());
        assert_eq!(lock_holder(&world).await, None, "the lock was not released");

        // The state object holds no secret, as the local file does not.
        let mut scan = SecretScan::new(&[]);
        for (user, secret) in world.moto.access_key_secrets() {
            scan.secret(&format!("{user}'s access key secret"), &secret);
        }
        let text = String::from_utf8(object(&world, STATE_KEY).await.unwrap()).unwrap();
        assert_eq!(scan.leaks_in("the S3 state object", &text), Vec::<String>::new());
        let again = world.stowage(&["plan", SPEC, "--detailed-exitcode"]).await;
        assert_eq!(again.code, Some(0), "the S3 state does not converge\n{again}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_holders_lock_is_reported_and_force_unlock_removes_it_only_by_its_id() {
    within(TEST_TIMEOUT, async {
        let world = remote_world().await;
        let hold = FaultMatch::Occurrence { operation: "CreateUser".to_owned(), nth: 0 };
        world.aws.inject(Fault::new(hold, FaultAction::HoldRequest, 1));
        let (_, held) = apply(&world).kill_at_hold(&world.aws).await;
        assert!(held.is_some(), "the apply was not killed at its hold");
        world.aws.clear();
        let id = lock_holder(&world).await.expect("the killed apply left its lock")["id"].as_str().unwrap().to_owned();

        let refused = world.stowage(&["plan", SPEC, "--out", "dev.plan"]).await;
        assert_eq!(refused.code, Some(1), "a run took a lock that is held\n{refused}");
        assert!(refused.stderr.contains(&format!("lock id: {id}")), "{refused}");
        assert!(refused.stderr.contains("ago)"), "the lock's age is not shown\n{refused}");

        let wrong = world.stowage(&["force-unlock", "00000000-0000-4000-8000-000000000000", "--state", REMOTE]).await;
        assert_eq!(wrong.code, Some(1), "a wrong id removed the lock\n{wrong}");
        assert!(wrong.stderr.contains(&id), "{wrong}");
        assert!(lock_holder(&world).await.is_some(), "a wrong id removed the lock");

        let unlocked = world.stowage(&["force-unlock", &id, "--state", REMOTE]).await;
        assert_eq!(unlocked.code, Some(0), "force-unlock failed\n{unlocked}");
        assert_eq!(lock_holder(&world).await, None);
        let converged = apply(&world).await;
        assert_eq!(converged.code, Some(0), "apply after force-unlock failed\n{converged}");
        assert_eq!(stored(&world).await.resources.len(), DEV_ADDRESSES);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_whose_state_was_written_from_outside_stops_and_keeps_its_state_locally() {
    within(TEST_TIMEOUT, async {
        let world = remote_world().await;
        let puts = state_writes_of_a_clean_apply(&world).await;
        // Held: the state write that records the Twilio credential. Only the write of the
        // settings' phase (the two settings, which record no intent) comes after it.
        let hold = FaultMatch::Occurrence { operation: "PutObject".to_owned(), nth: puts - 2 };
        world.aws.inject(Fault::new(hold, FaultAction::HoldRequest, 1));
        let running = apply(&world).spawn();
        world.aws.held().await;

        // Someone forces the lock away and writes the state.
        let id = lock_holder(&world).await.expect("the apply holds the lock")["id"].as_str().unwrap().to_owned();
        let unlocked = world.stowage(&["force-unlock", &id, "--state", REMOTE]).await;
        assert_eq!(unlocked.code, Some(0), "{unlocked}");
        let mut outsider = stored(&world).await;
        outsider.serial += 10;
        let outsider_bytes = stowage_state::encode_state(&outsider).unwrap();
        let s3 = world.moto.s3_client(REGION);
        let put = s3.put_object().bucket(STATE_BUCKET).key(STATE_KEY).body(ByteStream::from(outsider_bytes.clone()));
        put.send().await.expect("the outsider writes the state");

        world.aws.clear(); // lets the held state write go unanswered: the SDK sends it again
        let run = running.finish().await;
        assert_eq!(run.code, Some(1), "the apply went on over someone else's state\n{run}");
        assert!(run.stderr.contains("could not store the state"), "{run}");
        assert!(run.stderr.contains("errored.state.json"), "{run}");
        assert_eq!(object(&world, STATE_KEY).await, Some(outsider_bytes), "the outsider's state was overwritten");
        let errored = common::state(&world.sandbox.path().join("errored.state.json"));
        assert!(errored.get("twilio_aws_credential.main").is_some(), "the step that completed is not kept");
        assert_eq!(errored.lineage, outsider.lineage);
        // No step started after the write failed: Twilio still stores in its own cloud.
        assert!(errored.get("twilio_video_recording_settings.main").is_none(), "a step started after the failure");
        for settings in ["RecordingSettings", "CompositionSettings"] {
            let found = world.twilio_get(&format!("/v1/{settings}/Default")).await;
            assert_ne!(found["aws_storage_enabled"], true, "{settings} were switched on after the failure");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(world.sandbox.path().join("errored.state.json")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Pushing it back would undo the outsider's write: refused until someone reconciles.
        let push = world.stowage(&["state", "push", "errored.state.json", "--spec", SPEC]).await;
        assert_eq!(push.code, Some(1), "{push}");
        assert!(push.stderr.contains("would undo what was recorded since"), "{push}");
    })
    .await;
}

/// How many `PutObject` requests a clean apply sends (its state writes and its write test),
/// then the world as it was: the run under test counts its points from these.
async fn state_writes_of_a_clean_apply(world: &World) -> usize {
    let clean = apply(world).await;
    assert_eq!(clean.code, Some(0), "{clean}");
    let puts = world.aws.requests().iter().filter(|request| request.operation == "PutObject").count();
    world.reset();
    state_bucket(world, true).await;
    puts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_final_state_write_keeps_the_complete_state_locally() {
    within(TEST_TIMEOUT, async {
        let world = remote_world().await;
        let puts = state_writes_of_a_clean_apply(&world).await;

        // The last PutObject of the same apply is the final state write: refused.
        let last = FaultMatch::Occurrence { operation: "PutObject".to_owned(), nth: puts - 1 };
        world.aws.inject(Fault::new(last, FaultAction::Error { status: 403, code: "AccessDenied".to_owned() }, 1));
        let run = apply(&world).await;
        assert_eq!(run.code, Some(1), "{run}");
        assert!(run.stderr.contains("could not store the state"), "{run}");
        let errored = common::state(&world.sandbox.path().join("errored.state.json"));
        assert_eq!(errored.resources.len(), DEV_ADDRESSES, "the kept state is not complete");
        assert!(errored.intents.is_empty());
        assert!(stored(&world).await.resources.len() < DEV_ADDRESSES);

        // Reconciled: the kept state pushed, then nothing left to do.
        let push = world.stowage(&["state", "push", "errored.state.json", "--spec", SPEC]).await;
        assert_eq!(push.code, Some(0), "{push}");
        let plan = world.stowage(&["plan", SPEC, "--detailed-exitcode"]).await;
        assert_eq!(plan.code, Some(0), "{plan}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_state_migrated_to_s3_plans_clean_there_and_is_not_used_locally_again() {
    within(TEST_TIMEOUT, async {
        let world = world().start().await;
        let applied = apply(&world).await;
        assert_eq!(applied.code, Some(0), "{applied}");
        let local = common::state(&world.state_path());
        state_bucket(&world, true).await;

        let migrate = world.stowage(&["state", "migrate", "--spec", SPEC, "--to", REMOTE]).await;
        assert_eq!(migrate.code, Some(0), "{migrate}");
        let remote = stored(&world).await;
        assert_eq!((remote.lineage, remote.serial), (local.lineage, local.serial));
        assert_eq!(remote.resources, local.resources);
        assert!(!world.state_path().exists(), "the local state is still where runs look for it");
        assert!(migrate.stderr.contains("backend = \"s3\""), "{migrate}");

        let stale = world.stowage(&["plan", SPEC]).await;
        assert_eq!(stale.code, Some(1), "a run started a new local state\n{stale}");
        assert!(stale.stderr.contains(&format!("was moved to `{REMOTE}`")), "{stale}");

        world.rewrite_spec(&remote_spec());
        let plan = world.stowage(&["plan", SPEC, "--detailed-exitcode"]).await;
        assert_eq!(plan.code, Some(0), "{plan}");
        let again = world.stowage(&["state", "migrate", "--state", REMOTE, "--spec", SPEC, "--to", REMOTE]).await;
        assert_eq!(again.code, Some(1), "{again}");
    })
    .await;
}

/// `state list`, `show`, `rm`, `pull` and `push` on a state named by `target`.
async fn every_state_command(world: &World, target: &[&str]) {
    let run = |args: &[&str]| world.stowage(&[args, target].concat());
    let list = run(&["state", "list"]).await;
    assert_eq!(list.code, Some(0), "{list}");
    let listed: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(listed.len(), DEV_ADDRESSES, "{list}");
    assert!(listed.contains(&"aws_iam_access_key.uploader"));

    let show = run(&["state", "show", "aws_s3_bucket.main"]).await;
    assert_eq!(show.code, Some(0), "{show}");
    let shown: Value = serde_json::from_str(&show.stdout).expect("show prints JSON");
    assert_eq!(shown["id"], "acme-video-dev");
    let missing = run(&["state", "show", "aws_s3_bucket.other"]).await;
    assert_eq!(missing.code, Some(1), "{missing}");

    let pull = run(&["state", "pull"]).await;
    assert_eq!(pull.code, Some(0), "{pull}");
    let pulled: State = serde_json::from_str(&pull.stdout).expect("pull prints the state");
    std::fs::write(world.sandbox.path().join("pulled.json"), &pull.stdout).unwrap();

    let rm = run(&["state", "rm", "aws_iam_access_key.uploader"]).await;
    assert_eq!(rm.code, Some(0), "{rm}");
    let listed = run(&["state", "list"]).await;
    assert!(!listed.stdout.contains("aws_iam_access_key.uploader"), "{listed}");
    let unknown = run(&["state", "rm", "aws_iam_access_key.other"]).await;
    assert_eq!(unknown.code, Some(1), "{unknown}");

    // The pulled state is older than what rm stored: refused, then forced.
    let push = run(&["state", "push", "pulled.json"]).await;
    assert_eq!(push.code, Some(1), "an older state was pushed\n{push}");
    assert!(push.stderr.contains("would undo what was recorded since"), "{push}");
    let forced = run(&["state", "push", "pulled.json", "--force"]).await;
    assert_eq!(forced.code, Some(0), "{forced}");
    let listed = run(&["state", "list"]).await;
    assert!(listed.stdout.contains("aws_iam_access_key.uploader"), "{listed}");
    let after = run(&["state", "pull"]).await;
    let after: State = serde_json::from_str(&after.stdout).unwrap();
    assert_eq!(after.lineage, pulled.lineage);
    assert_eq!(after.serial, pulled.serial + 2, "forced, it is stored at the next serial");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_state_command_works_on_a_local_state() {
    within(TEST_TIMEOUT, async {
        let world = world().start().await;
        assert_eq!(apply(&world).await.code, Some(0));
        every_state_command(&world, &["--spec", SPEC]).await;
        every_state_command(&world, &["--state", "dev.state.json"]).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_state_command_works_on_an_s3_state() {
    within(TEST_TIMEOUT, async {
        let world = remote_world().await;
        assert_eq!(apply(&world).await.code, Some(0));
        every_state_command(&world, &["--spec", SPEC]).await;
        every_state_command(&world, &["--state", REMOTE, "--spec", SPEC]).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_on_an_s3_state_applies_once_and_is_stale_after_the_object_changed() {
    within(TEST_TIMEOUT, async {
        let world = world().spec(&remote_spec()).start().await;
        // A bucket without the recommended settings: each is warned about.
        state_bucket(&world, false).await;
        let plan = world.stowage(&["plan", SPEC, "--out", "dev.plan"]).await;
        assert_eq!(plan.code, Some(0), "{plan}");
        for missing in ["versioning", "encrypt", "public access"] {
            assert!(plan.stderr.contains(missing), "no warning about {missing}\n{plan}");
        }
        let applied = world.stowage(&["apply", "dev.plan"]).await;
        assert_eq!(applied.code, Some(0), "{applied}");

        let plan = world.stowage(&["plan", SPEC, "--out", "dev.plan"]).await;
        assert_eq!(plan.code, Some(0), "{plan}");
        let rotate = world.stowage(&["rotate", SPEC, "--auto-approve"]).await;
        assert_eq!(rotate.code, Some(0), "{rotate}");
        let stale = world.stowage(&["apply", "dev.plan"]).await;
        assert_eq!(stale.code, Some(1), "{stale}");
        assert!(stale.stderr.contains("is stale"), "{stale}");
        assert!(stale.stderr.contains(REMOTE), "{stale}");
    })
    .await;
}

//! Leftover safety: after an interrupted apply, the next run looks for what the interrupted
//! create may have made (ARCHITECTURE.md, "Intents and the crash guarantee"). What it finds is
//! deleted (an access key) or recorded (a bucket, a user, a KMS key). These tests put things of
//! the same kind that stowage did not make into the account, made *before* the intent, and
//! check through the AWS SDK that the runs after the interruption leave them alone: not
//! deleted, not changed, not recorded in the state.
//!
//! "Before the intent" has to be more than the clock-skew allowance the search grants
//! (`stowage_aws::leftovers::CLOCK_SKEW`, five minutes) before it, or the real code could not
//! tell them apart either. A test cannot wait that long, so moto runs here with a clock the
//! test can turn back: what the "person" makes is made while moto's clock is an hour behind,
//! and moto reports it, everywhere (`CreateDate`, `CreationDate`), as made an hour before the
//! intent. stowage's own runs see moto's real clock. Each test checks that the shift took,
//! so a moto that ignored it would fail the test rather than let it pass vacuously.
//!
//! The interruptions are the crash tests': the proxy in front of moto holds a request (it
//! never arrives) or its answer (the change is made, the answer is lost), tells the test, and
//! the test kills `stowage apply` there with SIGKILL.
//!
//! The other way round, one test checks that a create whose answer is lost to a timeout is not
//! sent again behind the intent's back, which would leave a key no search ever finds.

mod common;
mod reliability;

use std::time::{Duration, SystemTime};

use aws_sdk_iam::primitives::DateTime;
use aws_sdk_kms::types::{KeyState, Tag};
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration, Tagging};
use common::world;
use reliability::{CONVERGING_TIMEOUT, SHORT_TIMEOUT};
use stowage_state::State;
use stowage_test_support::dev::{BUCKET as DEV_BUCKET, REGION, USER as DEV_USER};
use stowage_test_support::{Fault, FaultAction, Moto, Run, World, example_spec, insta_filters};

/// How far back moto's clock is turned while the person makes their things: far beyond the
/// five minutes of clock skew the leftover search allows.
const CLOCK_BACK: Duration = Duration::from_secs(3600);
/// What a shifted creation time must at least show: well beyond the allowance, well within
/// the shift.
const SHOWN_OLDER_BY: Duration = Duration::from_secs(1800);
/// The request timeout of the runs that are killed: long, so that the kill, which follows the
/// hold at once, always comes before stowage gives up on the held request (and perhaps tries
/// again, which would let the create through).
const KILLED_RUN_TIMEOUT: &str = "30s";
/// A delay that outlasts [`SHORT_TIMEOUT`]: the request arrives, its answer is lost.
const SLOWER_THAN_THE_TIMEOUT: Duration = Duration::from_secs(4);
const INTENT_TAG: &str = "stowage-intent";

/// An access key of the uploader that a person added, older than the intent of the key
/// create that a kill interrupted. The next runs delete the key that create made (its secret
/// is lost) and leave the person's key alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_access_key_of_the_uploader_is_not_taken_for_a_leftover() {
    let world = start("dev.toml").await;

    // The first apply dies while its key create is on the way (it never reaches IAM): the
    // uploader is made and recorded, and the state holds the key's intent.
    interrupt_create(&world, "CreateAccessKey", "access_key").await;

    // A person's own key on the uploader, from before the intent.
    let iam = world.moto.iam_client();
    let person_key = world.moto.with_clock_behind(CLOCK_BACK, || person_access_key(&iam)).await;
    let created = key_metadata(&iam, &person_key).await.expect("the person's key").create_date().copied();
    assert_made_an_hour_ago(created.as_ref(), "the person's access key");

    // The second apply makes a key and dies with the answer lost: a key nobody can use.
    let held = kill_at(&world, "CreateAccessKey", FaultAction::HoldAnswer).await;
    let lost: Vec<String> =
        world.moto.access_key_ids(DEV_USER).await.into_iter().filter(|id| *id != person_key).collect();

    let apply = apply_again(&world).await;
    assert_converged(&world, &apply).await;
    assert_person_key_kept(&world, &person_key, "made before the intent", &apply).await;

    // And stowage's own leftover is gone, its current key the only other key.
    assert!(held.is_some(), "the second apply never reached CreateAccessKey: it took something else for its key");
    assert_eq!(lost.len(), 1, "the interrupted create left exactly one key: {lost:?}");
    let recorded = state(&world).get(&address("access_key")).map(|key| key.id.clone()).expect("a recorded key");
    let mut keys = world.moto.access_key_ids(DEV_USER).await;
    keys.sort();
    let mut expected = vec![person_key.clone(), recorded.clone()];
    expected.sort();
    assert_eq!(keys, expected, "the uploader has the person's key and the recorded one, nothing else");
    assert!(!keys.contains(&lost[0]), "the key whose answer was lost is still there");
    assert_eq!(world.twilio_aws_credentials().await.len(), 1, "exactly one Twilio credential");
}

/// An intent stays in the state until an apply completes, which may be days after it was
/// written. A key a person makes on the uploader in the meantime, long after any create of the
/// intent could have ended, is theirs: the next apply keeps it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_made_long_after_the_intent_is_not_taken_for_a_leftover() {
    let world = start("dev.toml").await;

    // The first apply dies while its key create is on the way: the state holds the intent.
    interrupt_create(&world, "CreateAccessKey", "access_key").await;

    // Two hours later by moto's clock, a person makes a key on the uploader.
    let iam = world.moto.iam_client();
    let person_key = world.moto.with_clock_ahead(Duration::from_secs(2 * 3600), || person_access_key(&iam)).await;

    let apply = apply_again(&world).await;
    assert_converged(&world, &apply).await;
    assert_person_key_kept(&world, &person_key, "made long after the intent", &apply).await;
}

/// KMS keys tagged `stowage-intent` that the interrupted create did not make: one tagged by
/// another environment, one by another state of this environment, and one with this state's
/// own marker but made before the intent. The next runs adopt the key the create made and
/// leave the others exactly as they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kms_keys_the_interrupted_create_did_not_make_are_neither_adopted_nor_deleted() {
    let world = start("prod.toml").await;
    let kms = world.moto.kms_client(REGION);

    // Another environment's key and another state's, there before any run.
    let others = world
        .moto
        .with_clock_behind(CLOCK_BACK, || async {
            let staging = person_kms_key(&kms, "[staging:0badc0de]", "staging recordings").await;
            let other_state = person_kms_key(&kms, "[prod:0badc0de]", "recordings of another prod state").await;
            [staging, other_state]
        })
        .await;

    // The first apply dies while its CreateKey is on the way: the state holds the key's intent.
    let held = kill_at(&world, "CreateKey", FaultAction::HoldRequest).await;
    assert!(held.is_some(), "the first apply never sent CreateKey");
    let marker = state(&world)
        .intents
        .iter()
        .find(|intent| intent.address == address("kms_key"))
        .and_then(|intent| intent.marker.clone())
        .expect("the state holds the key's intent, with its marker");
    let same_marker = world
        .moto
        .with_clock_behind(CLOCK_BACK, || person_kms_key(&kms, &marker, "older key with this state's marker"))
        .await;
    let created = kms.describe_key().key_id(&same_marker).send().await.expect("moto describes the key");
    assert_made_an_hour_ago(created.key_metadata().and_then(|key| key.creation_date()), "the older KMS key");

    let people: Vec<String> = others.into_iter().chain([same_marker]).collect();
    let before = kms_snapshots(&kms, &people).await;

    // The second apply makes its key and dies with the answer lost.
    let held = kill_at(&world, "CreateKey", FaultAction::HoldAnswer).await;
    let apply = apply_again(&world).await;
    assert_converged(&world, &apply).await;

    let after = kms_snapshots(&kms, &people).await;
    for ((key, before), after) in people.iter().zip(&before).zip(&after) {
        assert_eq!(before, after, "KMS key {key} (not stowage's) was changed:\n{}", apply);
        assert_not_in_state(&world, key);
    }
    let aliases = kms.list_aliases().send().await.expect("moto lists the aliases");
    for alias in aliases.aliases() {
        assert!(
            !alias.target_key_id().is_some_and(|target| people.iter().any(|key| key == target)),
            "{:?} points at a key that is not stowage's",
            alias.alias_name()
        );
    }

    assert!(held.is_some(), "the second apply never reached CreateKey: it took another key for its own");
    let recorded = state(&world).get(&address("kms_key")).map(|key| key.id.clone()).expect("a recorded KMS key");
    let tags = kms.list_resource_tags().key_id(&recorded).send().await.expect("moto lists the tags");
    assert!(
        tags.tags().iter().any(|tag| tag.tag_key() == INTENT_TAG && tag.tag_value() == marker),
        "the recorded key {recorded} is not the one the interrupted create made"
    );
    let encryption = world.moto.s3_client(REGION).get_bucket_encryption().bucket("acme-video-prod").send().await;
    let encryption = encryption.expect("the bucket has default encryption");
    let rules = encryption.server_side_encryption_configuration().map(|configuration| configuration.rules());
    let key = rules
        .and_then(|rules| rules.first())
        .and_then(|rule| rule.apply_server_side_encryption_by_default())
        .and_then(|default| default.kms_master_key_id());
    assert!(
        key.is_some_and(|key| key == recorded || key.ends_with(&format!("key/{recorded}"))),
        "the bucket encrypts with {key:?}, not with the recorded key {recorded}"
    );
}

/// The other half of "nothing taken, nothing left": a `CreateKey` whose answer is lost to a
/// timeout (the request still reaches KMS, late) is not sent again, so no second key is made
/// behind the first one's back. The apply fails with the intent in the state, and the next
/// run adopts the key that attempt made; KMS then holds exactly the recorded key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_key_whose_answer_times_out_leaves_no_second_key() {
    let world = start("prod.toml").await;
    world.aws.inject(Fault::once("CreateKey", FaultAction::Delay(SLOWER_THAN_THE_TIMEOUT)));
    let first = reliability::apply(&world).request_timeout(SHORT_TIMEOUT).await;
    // The late CreateKey reaches moto after the run gave up on it.
    world.settled().await;
    let creates = world.aws.requests().iter().filter(|request| request.operation == "CreateKey").count();
    assert_eq!(creates, 1, "CreateKey was sent again after its answer was lost:\n{}", first);
    assert_eq!(first.code, Some(1), "the apply did not fail with its CreateKey:\n{}", first);

    let apply = apply_again(&world).await;
    assert_converged(&world, &apply).await;
    let recorded = state(&world).get(&address("kms_key")).map(|key| key.id.clone()).expect("a recorded KMS key");
    let in_use = world.moto.kms_keys_in_use(REGION).await;
    assert_eq!(in_use, vec![recorded], "KMS holds keys the state does not record");
}

/// A user of the spec's name, made before the intent of the user create a kill interrupted
/// (that create never reached IAM). It is not what the create made: the next apply refuses it
/// as not recorded, and neither adopts, changes nor deletes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_user_of_the_spec_name_is_not_adopted() {
    let world = start("dev.toml").await;
    interrupt_create(&world, "CreateUser", "user").await;

    let iam = world.moto.iam_client();
    world
        .moto
        .with_clock_behind(CLOCK_BACK, || async {
            let owner = aws_sdk_iam::types::Tag::builder().key("owner").value("a person").build().expect("a tag");
            iam.create_user().user_name(DEV_USER).path("/people/").tags(owner).send().await.expect("moto makes it");
        })
        .await;
    let before = user_snapshot(&world.moto).await;
    assert_made_an_hour_ago(Some(&before.created), "the person's user");

    let apply = apply_again(&world).await;
    assert_eq!(apply.code, Some(1), "the apply took the person's user:\n{}", apply);
    assert_eq!(user_snapshot(&world.moto).await, before, "the person's user was changed:\n{}", apply);
    assert!(state(&world).get(&address("user")).is_none(), "the person's user is recorded");
    assert_refusal(&apply, "user");
}

/// A bucket of the spec's name, made before the intent of the bucket create a kill
/// interrupted. The next apply refuses it as not recorded, and leaves its configuration and
/// objects as they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_bucket_of_the_spec_name_is_not_adopted() {
    let world = start("dev.toml").await;
    interrupt_create(&world, "CreateBucket", "bucket").await;

    let s3 = world.moto.s3_client(REGION);
    world
        .moto
        .with_clock_behind(CLOCK_BACK, || async {
            let location = CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(REGION))
                .build();
            s3.create_bucket().bucket(DEV_BUCKET).create_bucket_configuration(location).send().await.expect("made");
            let tag = aws_sdk_s3::types::Tag::builder().key("owner").value("a person").build().expect("a tag");
            let tagging = Tagging::builder().tag_set(tag).build().expect("tags");
            s3.put_bucket_tagging().bucket(DEV_BUCKET).tagging(tagging).send().await.expect("tagged");
            let body = aws_sdk_s3::primitives::ByteStream::from_static(b"the person's");
            s3.put_object().bucket(DEV_BUCKET).key("notes.txt").body(body).send().await.expect("written");
        })
        .await;
    let before = bucket_snapshot(&world.moto).await;
    assert_made_an_hour_ago(before.created.as_ref(), "the person's bucket");

    let apply = apply_again(&world).await;
    assert_eq!(apply.code, Some(1), "the apply took the person's bucket:\n{}", apply);
    assert_eq!(bucket_snapshot(&world.moto).await, before, "the person's bucket was changed:\n{}", apply);
    assert!(state(&world).get(&address("bucket")).is_none(), "the person's bucket is recorded");
    assert_refusal(&apply, "bucket");
}

/// moto with a clock the test turns back ([`Moto::with_clock_behind`]), behind its proxy, the
/// Twilio emulator (its write test goes to moto directly), and a sandbox holding the example
/// spec `spec_name`.
async fn start(spec_name: &str) -> World {
    world().spec_named(spec_name, &example_spec(spec_name)).clocked_moto().start().await
}

/// `stowage apply` after an interruption, to its end.
async fn apply_again(world: &World) -> Run {
    reliability::apply(world).request_timeout(CONVERGING_TIMEOUT).await
}

/// Starts an apply with `action` on its next `operation`, and kills it (SIGKILL) once the
/// proxy holds that request. Returns the held request, or `None` when the apply ended without
/// sending one (it then ran to its end).
async fn kill_at(world: &World, operation: &str, action: FaultAction) -> Option<String> {
    world.aws.inject(Fault::once(operation, action));
    let (_, held) = reliability::apply(world).request_timeout(KILLED_RUN_TIMEOUT).kill_at_hold(&world.aws).await;
    // Lets go of the held connection, and of the fault if it was never used; then waits for
    // what the process sent before it died to reach moto, so nothing of stowage's is made
    // while moto's clock is turned back.
    world.aws.clear();
    world.settled().await;
    held.map(|held| held.to_string())
}

fn state(world: &World) -> State {
    common::state(&world.state_path())
}

/// The first apply dies while its create of `resource` (`operation`) is on the way: it never
/// reaches AWS, and the state holds the create's intent.
async fn interrupt_create(world: &World, operation: &str, resource: &str) {
    let held = kill_at(world, operation, FaultAction::HoldRequest).await;
    assert!(held.is_some(), "the first apply never sent {operation}");
    assert!(state(world).intents.iter().any(|intent| intent.address == address(resource)));
}

/// A key a person makes on the uploader; its id.
async fn person_access_key(iam: &aws_sdk_iam::Client) -> String {
    let made = iam.create_access_key().user_name(DEV_USER).send().await.expect("moto makes the key");
    made.access_key().expect("a key").access_key_id().to_owned()
}

/// The person's key `id` (`made` when) is there after `apply`, still active, and nobody's in
/// the state.
async fn assert_person_key_kept(world: &World, id: &str, made: &str, apply: &Run) {
    let Some(metadata) = key_metadata(&world.moto.iam_client(), id).await else {
        panic!("the person's access key {id}, {made}, was deleted as a leftover:\n{apply}");
    };
    assert_eq!(metadata.status().map(|status| status.as_str()), Some("Active"), "the person's key was deactivated");
    assert_not_in_state(world, id);
}

/// `id` appears nowhere in the state: not as a resource, not deposed, not in an attribute.
fn assert_not_in_state(world: &World, id: &str) {
    let text = std::fs::read_to_string(world.state_path()).expect("the state is readable");
    assert!(!text.contains(id), "`{id}`, which stowage did not make, is in the state:\n{text}");
}

/// The apply succeeded, the state holds no intent, and the next plan has nothing to do.
async fn assert_converged(world: &World, apply: &Run) {
    assert_eq!(apply.code, Some(0), "the apply after the kill failed:\n{apply}");
    assert!(state(world).intents.is_empty(), "intents are left after a complete apply");
    let plan = world.stowage(&["plan", &world.spec.display().to_string(), "--detailed-exitcode"]);
    let plan = plan.request_timeout(CONVERGING_TIMEOUT).await;
    assert_eq!(plan.code, Some(0), "the plan after the apply has changes:\n{plan}");
}

/// The apply refused the unrecorded `resource` (the error and its hint), as a person reads it.
fn assert_refusal(apply: &Run, resource: &str) {
    let address = address(resource);
    let refusal: Vec<&str> = apply
        .stdout
        .lines()
        .skip_while(|line| !line.starts_with(&format!("error: {address}:")))
        .take_while(|line| line.starts_with("error: ") || line.starts_with("  hint: "))
        .take(2)
        .collect();
    assert!(!refusal.is_empty(), "the apply did not say why it refused `{address}`:\n{apply}");
    insta::with_settings!({ filters => insta_filters() }, {
        insta::assert_snapshot!(format!("refusal_of_an_older_{resource}"), refusal.join("\n"));
    });
}

/// The state address of one of the spec's resources.
fn address(resource: &str) -> String {
    use stowage_plan::desired;
    match resource {
        "access_key" => desired::access_key_address(),
        "kms_key" => desired::kms_key_address(),
        "user" => desired::user_address(),
        "bucket" => desired::bucket_address(),
        other => panic!("no resource `{other}` in these tests"),
    }
    .to_string()
}

fn assert_made_an_hour_ago(created: Option<&DateTime>, what: &str) {
    let created = created.and_then(|created| SystemTime::try_from(*created).ok());
    let created = created.unwrap_or_else(|| panic!("moto gives {what} no creation time"));
    let age = SystemTime::now().duration_since(created).unwrap_or_default();
    assert!(
        age >= SHOWN_OLDER_BY,
        "moto shows {what} as made {age:?} ago: its clock was not turned back, so the test proves nothing"
    );
}

async fn key_metadata(iam: &aws_sdk_iam::Client, id: &str) -> Option<aws_sdk_iam::types::AccessKeyMetadata> {
    let keys = iam.list_access_keys().user_name(DEV_USER).send().await.expect("moto lists the keys");
    keys.access_key_metadata().iter().find(|key| key.access_key_id() == Some(id)).cloned()
}

/// A KMS key a person made, tagged `stowage-intent` with `marker`.
async fn person_kms_key(kms: &aws_sdk_kms::Client, marker: &str, description: &str) -> String {
    let tag = |key: &str, value: &str| Tag::builder().tag_key(key).tag_value(value).build().expect("a tag");
    let made = kms
        .create_key()
        .description(description)
        .tags(tag(INTENT_TAG, marker))
        .tags(tag("owner", "a person"))
        .send()
        .await
        .expect("moto makes the key");
    made.key_metadata().expect("key metadata").key_id().to_owned()
}

/// What must not change about a KMS key that is not stowage's.
#[derive(Debug, PartialEq)]
struct KmsSnapshot {
    state: Option<KeyState>,
    deletion_date: Option<DateTime>,
    description: Option<String>,
    tags: Vec<(String, String)>,
    policy: Option<String>,
    rotation: bool,
}

async fn kms_snapshots(kms: &aws_sdk_kms::Client, keys: &[String]) -> Vec<KmsSnapshot> {
    let mut snapshots = Vec::new();
    for key in keys {
        let described = kms.describe_key().key_id(key).send().await.expect("moto describes the key");
        let metadata = described.key_metadata().expect("key metadata");
        let tags = kms.list_resource_tags().key_id(key).send().await.expect("moto lists the tags");
        let mut tags: Vec<(String, String)> =
            tags.tags().iter().map(|tag| (tag.tag_key().to_owned(), tag.tag_value().to_owned())).collect();
        tags.sort();
        let policy = kms.get_key_policy().key_id(key).policy_name("default").send().await.expect("the key policy");
        let rotation = kms.get_key_rotation_status().key_id(key).send().await.expect("the rotation status");
        snapshots.push(KmsSnapshot {
            state: metadata.key_state().cloned(),
            deletion_date: metadata.deletion_date().copied(),
            description: metadata.description().map(str::to_owned),
            tags,
            policy: policy.policy().map(str::to_owned),
            rotation: rotation.key_rotation_enabled(),
        });
    }
    snapshots
}

/// What must not change about the person's user.
#[derive(Debug, PartialEq)]
struct UserSnapshot {
    created: DateTime,
    path: String,
    tags: Vec<(String, String)>,
    inline_policies: Vec<String>,
    attached_policies: usize,
    access_keys: Vec<String>,
}

async fn user_snapshot(moto: &Moto) -> UserSnapshot {
    let iam = moto.iam_client();
    let user = iam.get_user().user_name(DEV_USER).send().await.expect("the person's user exists");
    let user = user.user().expect("a user");
    let tags = user.tags().iter().map(|tag| (tag.key().to_owned(), tag.value().to_owned())).collect();
    let inline = iam.list_user_policies().user_name(DEV_USER).send().await.expect("moto lists the policies");
    let attached = iam.list_attached_user_policies().user_name(DEV_USER).send().await.expect("moto lists them");
    UserSnapshot {
        created: *user.create_date(),
        path: user.path().to_owned(),
        tags,
        inline_policies: inline.policy_names().to_vec(),
        attached_policies: attached.attached_policies().len(),
        access_keys: moto.access_key_ids(DEV_USER).await,
    }
}

/// What must not change about the person's bucket.
#[derive(Debug, PartialEq)]
struct BucketSnapshot {
    created: Option<DateTime>,
    tags: Vec<(String, String)>,
    /// moto's `GetBucketVersioning` answer as it is: the SDK cannot parse moto's root element
    /// (stowage repairs it in `moto_compat.rs`).
    versioning: String,
    lifecycle: bool,
    policy: bool,
    public_access_block: bool,
    objects: Vec<String>,
}

async fn bucket_snapshot(moto: &Moto) -> BucketSnapshot {
    let s3 = moto.s3_client(REGION);
    let buckets = s3.list_buckets().send().await.expect("moto lists the buckets");
    let bucket = buckets.buckets().iter().find(|bucket| bucket.name() == Some(DEV_BUCKET)).expect("the bucket exists");
    let tags = s3.get_bucket_tagging().bucket(DEV_BUCKET).send().await.expect("the bucket's tags");
    let versioning = moto.versioning_configuration(DEV_BUCKET);
    let objects = s3.list_objects_v2().bucket(DEV_BUCKET).send().await.expect("the bucket's objects");
    BucketSnapshot {
        created: bucket.creation_date().copied(),
        tags: tags.tag_set().iter().map(|tag| (tag.key().to_owned(), tag.value().to_owned())).collect(),
        versioning,
        lifecycle: s3.get_bucket_lifecycle_configuration().bucket(DEV_BUCKET).send().await.is_ok(),
        policy: s3.get_bucket_policy().bucket(DEV_BUCKET).send().await.is_ok(),
        public_access_block: s3.get_public_access_block().bucket(DEV_BUCKET).send().await.is_ok(),
        objects: objects.contents().iter().filter_map(|object| object.key().map(str::to_owned)).collect(),
    }
}

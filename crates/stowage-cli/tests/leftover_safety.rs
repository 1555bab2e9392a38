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

mod reliability;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, SystemTime};

use aws_sdk_iam::primitives::DateTime;
use aws_sdk_kms::types::{KeyState, Tag};
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration, Tagging};
use reliability::{BIN, RUN_LIMIT, SHORT_TIMEOUT, describe, dev_spec};
use serde_json::Value;
use stowage_state::{LocalStateFile, State};
use stowage_test_support::twilio_emulator::RunningEmulator;
use stowage_test_support::{
    AwsProxy, Fault, FaultAction, Moto, Sandbox, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, insta_filters, start_emulator,
    stowage_command, twilio_env,
};

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
const REGION: &str = "us-east-2";
const DEV_USER: &str = "twilio-video-uploader-dev";
const DEV_BUCKET: &str = "acme-video-dev";
const INTENT_TAG: &str = "stowage-intent";

/// An access key of the uploader that a person added, older than the intent of the key
/// create that a kill interrupted. The next runs delete the key that create made (its secret
/// is lost) and leave the person's key alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_access_key_of_the_uploader_is_not_taken_for_a_leftover() {
    let rig = Rig::start("dev.toml", &dev_spec()).await;

    // The first apply dies while its key create is on the way (it never reaches IAM): the
    // uploader is made and recorded, and the state holds the key's intent.
    let held = rig.kill_at("CreateAccessKey", FaultAction::HoldRequest).await;
    assert!(held.is_some(), "the first apply never sent CreateAccessKey");
    assert!(rig.state().intents.iter().any(|intent| intent.address == address("access_key")));

    // A person's own key on the uploader, from before the intent.
    let iam = rig.moto.iam();
    let person_key = rig
        .moto
        .an_hour_ago(|| async {
            let made = iam.create_access_key().user_name(DEV_USER).send().await.expect("moto makes the key");
            made.access_key().expect("a key").access_key_id().to_owned()
        })
        .await;
    let created = key_metadata(&iam, &person_key).await.expect("the person's key").create_date().copied();
    assert_made_an_hour_ago(created.as_ref(), "the person's access key");

    // The second apply makes a key and dies with the answer lost: a key nobody can use.
    let held = rig.kill_at("CreateAccessKey", FaultAction::HoldAnswer).await;
    let lost: Vec<String> = user_keys(&iam).await.into_iter().filter(|id| *id != person_key).collect();

    let apply = rig.apply().await;
    rig.assert_converged(&apply).await;

    // The person's key: there, still active, and nobody's in the state.
    let metadata = key_metadata(&iam, &person_key).await;
    let Some(metadata) = metadata else {
        panic!(
            "the person's access key {person_key}, made before the intent, was deleted as a leftover:\n{}",
            describe(&apply)
        );
    };
    assert_eq!(metadata.status().map(|status| status.as_str()), Some("Active"), "the person's key was deactivated");
    rig.assert_not_in_state(&person_key);

    // And stowage's own leftover is gone, its current key the only other key.
    assert!(held.is_some(), "the second apply never reached CreateAccessKey: it took something else for its key");
    assert_eq!(lost.len(), 1, "the interrupted create left exactly one key: {lost:?}");
    let recorded = rig.state().get(&address("access_key")).map(|key| key.id.clone()).expect("a recorded key");
    let mut keys = user_keys(&iam).await;
    keys.sort();
    let mut expected = vec![person_key.clone(), recorded.clone()];
    expected.sort();
    assert_eq!(keys, expected, "the uploader has the person's key and the recorded one, nothing else");
    assert!(!keys.contains(&lost[0]), "the key whose answer was lost is still there");
    assert_eq!(rig.credentials().await.len(), 1, "exactly one Twilio credential");
}

/// An intent stays in the state until an apply completes, which may be days after it was
/// written. A key a person makes on the uploader in the meantime, long after any create of the
/// intent could have ended, is theirs: the next apply keeps it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_made_long_after_the_intent_is_not_taken_for_a_leftover() {
    let rig = Rig::start("dev.toml", &dev_spec()).await;

    // The first apply dies while its key create is on the way: the state holds the intent.
    let held = rig.kill_at("CreateAccessKey", FaultAction::HoldRequest).await;
    assert!(held.is_some(), "the first apply never sent CreateAccessKey");
    assert!(rig.state().intents.iter().any(|intent| intent.address == address("access_key")));

    // Two hours later by moto's clock, a person makes a key on the uploader.
    let iam = rig.moto.iam();
    let person_key = rig
        .moto
        .later(Duration::from_secs(2 * 3600), || async {
            let made = iam.create_access_key().user_name(DEV_USER).send().await.expect("moto makes the key");
            made.access_key().expect("a key").access_key_id().to_owned()
        })
        .await;

    let apply = rig.apply().await;
    rig.assert_converged(&apply).await;
    let Some(metadata) = key_metadata(&iam, &person_key).await else {
        panic!(
            "the person's access key {person_key}, made long after the intent, was deleted as a leftover:\n{}",
            describe(&apply)
        );
    };
    assert_eq!(metadata.status().map(|status| status.as_str()), Some("Active"), "the person's key was deactivated");
    rig.assert_not_in_state(&person_key);
}

/// KMS keys tagged `stowage-intent` that the interrupted create did not make: one tagged by
/// another environment, one by another state of this environment, and one with this state's
/// own marker but made before the intent. The next runs adopt the key the create made and
/// leave the others exactly as they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kms_keys_the_interrupted_create_did_not_make_are_neither_adopted_nor_deleted() {
    let rig = Rig::start("prod.toml", &example("prod.toml")).await;
    let kms = rig.moto.kms();

    // Another environment's key and another state's, there before any run.
    let others = rig
        .moto
        .an_hour_ago(|| async {
            let staging = person_kms_key(&kms, "[staging:0badc0de]", "staging recordings").await;
            let other_state = person_kms_key(&kms, "[prod:0badc0de]", "recordings of another prod state").await;
            [staging, other_state]
        })
        .await;

    // The first apply dies while its CreateKey is on the way: the state holds the key's intent.
    let held = rig.kill_at("CreateKey", FaultAction::HoldRequest).await;
    assert!(held.is_some(), "the first apply never sent CreateKey");
    let marker = rig
        .state()
        .intents
        .iter()
        .find(|intent| intent.address == address("kms_key"))
        .and_then(|intent| intent.marker.clone())
        .expect("the state holds the key's intent, with its marker");
    let same_marker =
        rig.moto.an_hour_ago(|| person_kms_key(&kms, &marker, "older key with this state's marker")).await;
    let created = kms.describe_key().key_id(&same_marker).send().await.expect("moto describes the key");
    assert_made_an_hour_ago(created.key_metadata().and_then(|key| key.creation_date()), "the older KMS key");

    let people: Vec<String> = others.into_iter().chain([same_marker]).collect();
    let before = kms_snapshots(&kms, &people).await;

    // The second apply makes its key and dies with the answer lost.
    let held = rig.kill_at("CreateKey", FaultAction::HoldAnswer).await;
    let apply = rig.apply().await;
    rig.assert_converged(&apply).await;

    let after = kms_snapshots(&kms, &people).await;
    for ((key, before), after) in people.iter().zip(&before).zip(&after) {
        assert_eq!(before, after, "KMS key {key} (not stowage's) was changed:\n{}", describe(&apply));
        rig.assert_not_in_state(key);
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
    let recorded = rig.state().get(&address("kms_key")).map(|key| key.id.clone()).expect("a recorded KMS key");
    let tags = kms.list_resource_tags().key_id(&recorded).send().await.expect("moto lists the tags");
    assert!(
        tags.tags().iter().any(|tag| tag.tag_key() == INTENT_TAG && tag.tag_value() == marker),
        "the recorded key {recorded} is not the one the interrupted create made"
    );
    let encryption = rig.moto.s3().get_bucket_encryption().bucket("acme-video-prod").send().await;
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
    let rig = Rig::start("prod.toml", &example("prod.toml")).await;
    rig.aws.inject(Fault::once("CreateKey", FaultAction::Delay(SLOWER_THAN_THE_TIMEOUT)));
    let spec = rig.spec.display().to_string();
    let run = rig.command(&["apply", &spec, "--auto-approve"], SHORT_TIMEOUT).output();
    let first = tokio::time::timeout(RUN_LIMIT, run).await.expect("stowage finished in time").expect("stowage ran");
    // The late CreateKey reaches moto after the run gave up on it.
    tokio::time::timeout(reliability::HOLD_LIMIT, rig.aws.settled()).await.expect("the late request arrived");
    let creates = rig.aws.requests().iter().filter(|request| request.operation == "CreateKey").count();
    assert_eq!(creates, 1, "CreateKey was sent again after its answer was lost:\n{}", describe(&first));
    assert_eq!(first.status.code(), Some(1), "the apply did not fail with its CreateKey:\n{}", describe(&first));

    let apply = rig.apply().await;
    rig.assert_converged(&apply).await;
    let recorded = rig.state().get(&address("kms_key")).map(|key| key.id.clone()).expect("a recorded KMS key");
    let kms = rig.moto.kms();
    let listed = kms.list_keys().send().await.expect("moto lists the keys");
    let mut in_use = Vec::new();
    for key in listed.keys().iter().filter_map(|key| key.key_id()) {
        let described = kms.describe_key().key_id(key).send().await.expect("moto describes the key");
        if described.key_metadata().and_then(|metadata| metadata.key_state()) != Some(&KeyState::PendingDeletion) {
            in_use.push(key.to_owned());
        }
    }
    assert_eq!(in_use, vec![recorded], "KMS holds keys the state does not record");
}

/// A user of the spec's name, made before the intent of the user create a kill interrupted
/// (that create never reached IAM). It is not what the create made: the next apply refuses it
/// as not recorded, and neither adopts, changes nor deletes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_user_of_the_spec_name_is_not_adopted() {
    let rig = Rig::start("dev.toml", &dev_spec()).await;
    let held = rig.kill_at("CreateUser", FaultAction::HoldRequest).await;
    assert!(held.is_some(), "the first apply never sent CreateUser");
    assert!(rig.state().intents.iter().any(|intent| intent.address == address("user")));

    let iam = rig.moto.iam();
    rig.moto
        .an_hour_ago(|| async {
            let owner = aws_sdk_iam::types::Tag::builder().key("owner").value("a person").build().expect("a tag");
            iam.create_user().user_name(DEV_USER).path("/people/").tags(owner).send().await.expect("moto makes it");
        })
        .await;
    let before = user_snapshot(&iam).await;
    assert_made_an_hour_ago(Some(&before.created), "the person's user");

    let apply = rig.apply().await;
    assert_eq!(apply.status.code(), Some(1), "the apply took the person's user:\n{}", describe(&apply));
    assert_eq!(user_snapshot(&iam).await, before, "the person's user was changed:\n{}", describe(&apply));
    assert!(rig.state().get(&address("user")).is_none(), "the person's user is recorded");
    rig.assert_refusal(&apply, "user");
}

/// A bucket of the spec's name, made before the intent of the bucket create a kill
/// interrupted. The next apply refuses it as not recorded, and leaves its configuration and
/// objects as they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_bucket_of_the_spec_name_is_not_adopted() {
    let rig = Rig::start("dev.toml", &dev_spec()).await;
    let held = rig.kill_at("CreateBucket", FaultAction::HoldRequest).await;
    assert!(held.is_some(), "the first apply never sent CreateBucket");
    assert!(rig.state().intents.iter().any(|intent| intent.address == address("bucket")));

    let s3 = rig.moto.s3();
    rig.moto
        .an_hour_ago(|| async {
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
    let before = bucket_snapshot(&rig.moto).await;
    assert_made_an_hour_ago(before.created.as_ref(), "the person's bucket");

    let apply = rig.apply().await;
    assert_eq!(apply.status.code(), Some(1), "the apply took the person's bucket:\n{}", describe(&apply));
    assert_eq!(bucket_snapshot(&rig.moto).await, before, "the person's bucket was changed:\n{}", describe(&apply));
    assert!(rig.state().get(&address("bucket")).is_none(), "the person's bucket is recorded");
    rig.assert_refusal(&apply, "bucket");
}

/// moto, with the AWS SDK clients and `stowage`'s environment for it, one proxy in front, the
/// Twilio emulator (its write test goes to moto directly), and a sandbox holding one spec.
struct Rig {
    moto: ClockedMoto,
    aws: AwsProxy,
    emulator: RunningEmulator,
    sandbox: Sandbox,
    spec_name: &'static str,
    spec: PathBuf,
}

impl Rig {
    async fn start(spec_name: &'static str, spec_text: &str) -> Rig {
        let moto = ClockedMoto::start().await;
        let aws = AwsProxy::start(&moto.endpoint()).await;
        let emulator = start_emulator(&moto.endpoint()).await;
        let sandbox = Sandbox::new();
        let spec = sandbox.write_spec(spec_name, spec_text);
        Rig { moto, aws, emulator, sandbox, spec_name, spec }
    }

    fn command(&self, args: &[&str], timeout: &str) -> tokio::process::Command {
        let mut environment = self.moto.aws_env_via(&self.aws.endpoint());
        environment.extend(twilio_env(&self.emulator.base_url()));
        environment.push(("STOWAGE_REQUEST_TIMEOUT".to_owned(), timeout.to_owned()));
        let mut command = tokio::process::Command::from(stowage_command(Path::new(BIN), &self.sandbox, environment));
        command.args(args).kill_on_drop(true);
        command
    }

    async fn run(&self, args: &[&str]) -> Output {
        let run = self.command(args, "30s").output();
        tokio::time::timeout(RUN_LIMIT, run).await.expect("stowage finished in time").expect("stowage ran")
    }

    async fn apply(&self) -> Output {
        self.run(&["apply", &self.spec.display().to_string(), "--auto-approve"]).await
    }

    /// Starts an apply with `action` on its next `operation`, and kills it (SIGKILL) once the
    /// proxy holds that request. Returns the held request, or `None` when the apply ended
    /// without sending one (it then ran to its end).
    async fn kill_at(&self, operation: &str, action: FaultAction) -> Option<String> {
        self.aws.inject(Fault::once(operation, action));
        let spec = self.spec.display().to_string();
        let command = self.command(&["apply", &spec, "--auto-approve"], KILLED_RUN_TIMEOUT);
        let outcome = reliability::kill_at_hold(command, &self.aws).await;
        // Lets go of the held connection, and of the fault if it was never used; then waits
        // for what the process sent before it died to reach moto, so nothing of stowage's is
        // made while moto's clock is turned back.
        self.aws.clear();
        tokio::time::timeout(reliability::HOLD_LIMIT, self.aws.settled())
            .await
            .expect("the killed run's requests settled");
        outcome
    }

    fn state(&self) -> State {
        LocalStateFile::new(self.sandbox.state_path(self.spec_name))
            .load()
            .expect("the state loads")
            .expect("there is a state file")
    }

    /// `id` appears nowhere in the state: not as a resource, not deposed, not in an attribute.
    fn assert_not_in_state(&self, id: &str) {
        let text = std::fs::read_to_string(self.sandbox.state_path(self.spec_name)).expect("the state is readable");
        assert!(!text.contains(id), "`{id}`, which stowage did not make, is in the state:\n{text}");
    }

    /// The apply succeeded, the state holds no intent, and the next plan has nothing to do.
    async fn assert_converged(&self, apply: &Output) {
        assert_eq!(apply.status.code(), Some(0), "the apply after the kill failed:\n{}", describe(apply));
        assert!(self.state().intents.is_empty(), "intents are left after a complete apply");
        let plan = self.run(&["plan", &self.spec.display().to_string(), "--detailed-exitcode"]).await;
        assert_eq!(plan.status.code(), Some(0), "the plan after the apply has changes:\n{}", describe(&plan));
    }

    /// The apply refused the unrecorded `resource` (the error and its hint), as a person reads
    /// it.
    fn assert_refusal(&self, apply: &Output, resource: &str) {
        let address = address(resource);
        let stdout = String::from_utf8_lossy(&apply.stdout);
        let refusal: Vec<&str> = stdout
            .lines()
            .skip_while(|line| !line.starts_with(&format!("error: {address}:")))
            .take_while(|line| line.starts_with("error: ") || line.starts_with("  hint: "))
            .take(2)
            .collect();
        assert!(!refusal.is_empty(), "the apply did not say why it refused `{address}`:\n{}", describe(apply));
        insta::with_settings!({ filters => insta_filters() }, {
            insta::assert_snapshot!(format!("refusal_of_an_older_{resource}"), refusal.join("\n"));
        });
    }

    /// The SIDs of the emulator's AWS credentials.
    async fn credentials(&self) -> Vec<String> {
        let response = reqwest::Client::new()
            .get(format!("{}/v1/Credentials/AWS?PageSize=100", self.emulator.base_url()))
            .basic_auth(TEST_ACCOUNT_SID, Some(TEST_AUTH_TOKEN))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .expect("the emulator answers");
        assert!(response.status().is_success(), "listing credentials: {}", response.status());
        let list: Value = response.json().await.expect("JSON");
        list["credentials"]
            .as_array()
            .expect("a list of credentials")
            .iter()
            .filter_map(|credential| credential["sid"].as_str().map(str::to_owned))
            .collect()
    }
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

fn example(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(name);
    std::fs::read_to_string(path).expect("the example is readable")
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

/// The uploader's access key ids, from moto.
async fn user_keys(iam: &aws_sdk_iam::Client) -> Vec<String> {
    let keys = iam.list_access_keys().user_name(DEV_USER).send().await.expect("moto lists the keys");
    keys.access_key_metadata().iter().filter_map(|key| key.access_key_id().map(str::to_owned)).collect()
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

async fn user_snapshot(iam: &aws_sdk_iam::Client) -> UserSnapshot {
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
        access_keys: user_keys(iam).await,
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

async fn bucket_snapshot(moto: &ClockedMoto) -> BucketSnapshot {
    let s3 = moto.s3();
    let buckets = s3.list_buckets().send().await.expect("moto lists the buckets");
    let bucket = buckets.buckets().iter().find(|bucket| bucket.name() == Some(DEV_BUCKET)).expect("the bucket exists");
    let tags = s3.get_bucket_tagging().bucket(DEV_BUCKET).send().await.expect("the bucket's tags");
    let versioning = reqwest::Client::new()
        .get(format!("{}/{DEV_BUCKET}?versioning", moto.endpoint()))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("moto answers GetBucketVersioning");
    assert!(versioning.status().is_success(), "GetBucketVersioning: {}", versioning.status());
    let versioning = versioning.text().await.expect("the versioning configuration");
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

/// The project's moto with a clock the test turns back ([`Moto::start_with_clock`]): what a
/// person makes "an hour ago" carries creation times an hour old in IAM, S3 and KMS alike.
struct ClockedMoto(Moto);

impl ClockedMoto {
    async fn start() -> ClockedMoto {
        ClockedMoto(Moto::start_with_clock())
    }

    /// `http://127.0.0.1:PORT`.
    fn endpoint(&self) -> String {
        self.0.endpoint()
    }

    /// Runs `make` with moto's clock [`CLOCK_BACK`] behind, and puts it right again after.
    async fn an_hour_ago<Make, Made, Output>(&self, make: Make) -> Output
    where
        Make: FnOnce() -> Made,
        Made: std::future::Future<Output = Output>,
    {
        self.0.clock_behind(CLOCK_BACK);
        let made = make().await;
        self.0.clock_behind(Duration::ZERO);
        made
    }

    /// Runs `make` with moto's clock `by` ahead, and puts it right again after.
    async fn later<Make, Made, Output>(&self, by: Duration, make: Make) -> Output
    where
        Make: FnOnce() -> Made,
        Made: std::future::Future<Output = Output>,
    {
        self.0.clock_ahead(by);
        let made = make().await;
        self.0.clock_behind(Duration::ZERO);
        made
    }

    /// `stowage`'s AWS environment for this moto, through `endpoint`.
    fn aws_env_via(&self, endpoint: &str) -> Vec<(String, String)> {
        self.0.aws_env_via(endpoint)
    }

    fn iam(&self) -> aws_sdk_iam::Client {
        self.0.iam_client()
    }

    fn kms(&self) -> aws_sdk_kms::Client {
        self.0.kms_client(REGION)
    }

    fn s3(&self) -> aws_sdk_s3::Client {
        stowage_test_support::path_style_s3_client(&self.0.aws_sdk_config(REGION))
    }
}

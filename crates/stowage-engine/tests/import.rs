//! Discovery of an environment made by hand from Twilio's guide
//! (`stowage_test_support::follow_the_guide`), in process: the engine with the real AWS and
//! Twilio providers, through the World's proxies, against moto and the emulator. Discovery
//! finds every object the spec names and writes nothing; a second access key makes the
//! import ambiguous; the import is recorded in one commit.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use stowage_engine::{Engine, Environment, NoProgress, discover, read_by_id, record_imports};
use stowage_plan::desired::{
    access_key_address, bucket_address, credential_address, kms_key_address, policy_address,
    recording_settings_address, user_address,
};
use stowage_plan::import::{IMPORTED_KEY, plan_import};
use stowage_plan::{DesiredResource, Prior};
use stowage_provider::{Address, Lifecycle, Observed};
use stowage_state::{LocalStateFile, State, StateStore};
use stowage_test_support::dev::{BUCKET, REGION, USER};
use stowage_test_support::{
    GuideVariant, HandMade, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, World, dev_spec, follow_the_guide, within,
};
use stowage_twilio::{RetryPolicy, TwilioAuth, TwilioEndpoints, TwilioProvider};

/// A whole test, once moto is up.
const TEST_TIMEOUT: Duration = Duration::from_secs(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discover_finds_what_the_guide_made_and_writes_nothing() {
    within(TEST_TIMEOUT, discover_after_the_guide(GuideVariant::PolicyTemplate)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discover_finds_the_kms_key_the_guide_encrypts_with() {
    within(TEST_TIMEOUT, discover_after_the_guide(GuideVariant::SseKms)).await;
}

/// The spec a person who followed `variant` writes: the dev example, with the bucket
/// encrypted by a KMS key for the SSE-KMS variant.
fn spec_for(variant: GuideVariant) -> stowage_spec::Spec {
    let text = match variant {
        GuideVariant::PolicyTemplate => dev_spec(),
        GuideVariant::SseKms => {
            dev_spec().replacen("versioning = true", "versioning = true\nencryption = { kms_key = \"create\" }", 1)
        }
    };
    stowage_spec::parse("dev.toml", &text).unwrap_or_else(|errors| panic!("{errors}")).spec
}

/// The engine with the real providers, through the World's proxies (which log every request).
fn engine(world: &World) -> Engine {
    let aws = stowage_aws::AwsProvider::from_config(
        &world.moto.aws_sdk_config_via(&world.aws.endpoint(), REGION),
        REGION.to_owned(),
    );
    let credentials =
        BTreeMap::from([("TWILIO_ACCOUNT_SID", TEST_ACCOUNT_SID), ("TWILIO_AUTH_TOKEN", TEST_AUTH_TOKEN)]);
    let auth = TwilioAuth::from_lookup(|name| credentials.get(name).map(|value| (*value).to_owned()))
        .expect("the test account's credentials");
    let through = world.twilio.endpoint();
    let endpoints =
        TwilioEndpoints::from_overrides(Some(&through), Some(&through), Some(&through)).expect("the proxy's address");
    let twilio = TwilioProvider::connect(auth, endpoints, RetryPolicy::default()).expect("a Twilio client");
    Engine { aws: Arc::new(aws), twilio: Some(Arc::new(twilio)), parallelism: 4, progress: Arc::new(NoProgress) }
}

/// The ids found for each address whose type stowage creates (what an import records).
fn created(found: &BTreeMap<Address, Vec<Observed>>) -> BTreeMap<String, Vec<String>> {
    found
        .iter()
        .filter(|(address, _)| matches!(address.resource_type.schema().lifecycle, Lifecycle::Created { .. }))
        .map(|(address, objects)| (address.to_string(), objects.iter().map(|object| object.id.clone()).collect()))
        .collect()
}

fn expected(made: &HandMade, kms_key_id: Option<&str>) -> BTreeMap<String, Vec<String>> {
    let mut expected = BTreeMap::from([
        (bucket_address().to_string(), vec![BUCKET.to_owned()]),
        (user_address().to_string(), vec![USER.to_owned()]),
        (access_key_address().to_string(), vec![made.access_key_id.clone()]),
        (credential_address().to_string(), vec![made.credential_sid.clone()]),
    ]);
    if let Some(id) = kms_key_id {
        expected.insert(kms_key_address().to_string(), vec![id.to_owned()]);
    }
    expected
}

/// Every request both proxies and the emulator saw since they were cleared is a read.
fn assert_reads_only(world: &World, twilio_mark: usize) {
    assert!(!world.aws.requests().is_empty(), "discovery read nothing in AWS");
    assert_eq!(world.aws.writes(), [], "discovery wrote to AWS");
    assert!(!world.twilio.requests().is_empty(), "discovery read nothing in Twilio");
    assert_eq!(world.twilio.writes(), [], "discovery wrote to Twilio (proxy)");
    assert_eq!(world.twilio_writes_since(twilio_mark), Vec::<String>::new(), "discovery wrote to Twilio (emulator)");
}

async fn discover_after_the_guide(variant: GuideVariant) {
    // Only the engine runs here: the binary the World could run is never started.
    let world = World::builder("stowage-is-not-run").start().await;
    let made = follow_the_guide(&world, variant).await;
    let spec = spec_for(variant);
    let desired: Vec<DesiredResource> = stowage_plan::desired_resources(&spec);
    let state = State::new("dev", "0.0.0");
    let prior = Prior::from_state(&state).expect("an empty state");
    let account = spec.twilio.as_ref().map(|twilio| &twilio.account_sid);
    let environment = Environment { desired: &desired, prior: &prior, state: &state, account };
    let engine = engine(&world);

    world.aws.clear();
    world.twilio.clear();
    let twilio_mark = world.twilio_log_mark();
    let found = discover(&engine, &environment).await.expect("discovery reads");
    assert_reads_only(&world, twilio_mark);

    let kms_key_id = found.get(&kms_key_address()).map(|objects| objects[0].id.clone());
    match (&made.kms_key, &kms_key_id) {
        (None, None) => {}
        (Some(key), Some(id)) => assert!(key.arn.ends_with(id.as_str()) || key.arn == *id, "{id} is not {key:?}"),
        (made, found) => panic!("the guide made KMS key {made:?}, discovery found {found:?}"),
    }
    assert_eq!(created(&found), expected(&made, kms_key_id.as_deref()));
    // The settings are found (and point at the person's credential); the person made no inline
    // policy, only the guide's managed one.
    let settings = &found[&recording_settings_address()];
    assert_eq!(settings[0].attributes["aws_credentials_sid"], made.credential_sid.as_str());
    assert!(!found.contains_key(&policy_address()));

    // What the import records: the key tainted, the credential holding it.
    let plan = plan_import(&desired, &prior, &found, false);
    assert!(plan.ambiguous.is_empty() && plan.absent.is_empty() && plan.already_recorded.is_empty(), "{plan:#?}");
    let key = plan.imports.iter().find(|import| import.address == access_key_address()).expect("the key");
    assert_eq!(key.tainted.as_deref(), Some(IMPORTED_KEY));
    let credential = plan.imports.iter().find(|import| import.address == credential_address()).expect("it");
    assert_eq!(credential.object.attributes["access_key_id"], made.access_key_id.as_str());

    // By id: what exists, and what does not.
    let by_id = read_by_id(&engine, &environment, &credential_address(), &made.credential_sid).await;
    assert_eq!(by_id.expect("a read").map(|object| object.id), Some(made.credential_sid.clone()));
    let missing = read_by_id(&engine, &environment, &credential_address(), "CR00000000000000000000000000000000").await;
    assert_eq!(missing.expect("a read"), None);
    let by_id = read_by_id(&engine, &environment, &access_key_address(), &made.access_key_id).await;
    assert_eq!(by_id.expect("a read").map(|object| object.id), Some(made.access_key_id.clone()));
    let missing = read_by_id(&engine, &environment, &access_key_address(), "AKIAEXAMPLE000000099").await;
    assert_eq!(missing.expect("a read"), None);
    assert_reads_only(&world, twilio_mark);

    // Recorded in one commit, and read back as recorded.
    let directory = tempfile::tempdir().expect("a directory");
    let store = LocalStateFile::new(directory.path().join("dev.state.json"));
    let mut recorded = state.clone();
    record_imports(&plan.imports, &mut recorded, &store).await.expect("the import is recorded");
    assert_eq!(recorded.serial, 1);
    let stored = store.read().await.expect("the state reads").expect("a state");
    assert_eq!(stored, recorded);
    let again = plan_import(&desired, &Prior::from_state(&stored).expect("a prior"), &found, false);
    assert!(again.imports.is_empty());
    assert_eq!(again.already_recorded.len(), plan.imports.len());
    // Nothing to import writes nothing.
    record_imports(&again.imports, &mut recorded, &store).await.expect("nothing to record");
    assert_eq!(store.read().await.expect("the state reads").expect("a state").serial, 1);

    // A second key the person made: which one Twilio holds, nobody can tell.
    let second = world.moto.iam_client().create_access_key().user_name(USER).send().await.expect("a second key");
    let second = second.access_key().expect("the key").access_key_id().to_owned();
    world.aws.clear();
    let found = discover(&engine, &environment).await.expect("discovery reads");
    assert_reads_only(&world, twilio_mark);
    let plan = plan_import(&desired, &prior, &found, false);
    let mut keys = vec![made.access_key_id.clone(), second];
    keys.sort();
    assert_eq!(plan.ambiguous, [(access_key_address(), keys)]);
    assert!(plan.imports.iter().all(|import| import.address != access_key_address()));
}

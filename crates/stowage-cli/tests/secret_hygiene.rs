//! Secret hygiene: with `RUST_LOG=trace`, `stowage` runs against moto (with an admin key of
//! its own, so the operator's AWS secret is a real one) and the Twilio emulator, each behind a
//! recording proxy, and no secret reaches anything it prints, writes or sends outside the one
//! place a secret belongs (the credential POST's form).
//!
//! The secrets: every access key secret moto handed out for an uploader (learnt from moto's own
//! model dump, deleted keys included), the operator's AWS secret, the Twilio auth token and the
//! API key secret, and HTTP Basic headers made of them. Each is searched as is, form-encoded,
//! JSON-escaped, base64 of the secret alone (padded, unpadded, URL-safe) and as every run of 16
//! characters of it (a truncated or partial leak), runs that are part of a public identifier
//! (an account SID) aside.
//!
//! Where: stdout and stderr of every run, every file in the sandbox (state, backup, saved plans,
//! lock and lock record), and what reached the services: moto's whole model dump with the
//! access keys' own secret fields taken out, the IAM users, tags and policies, the buckets'
//! tags, policies, configuration and every object version's body, the KMS keys' descriptions,
//! policies, tags and aliases (all read with the AWS SDK); the emulator's credentials, public
//! keys, settings and request log; the proxies' journals. The proxies record no bodies, and the
//! emulator's log names parameters without values, so what was *sent* is checked by what the
//! services kept of it.
//!
//! The paths: every command, once with Account SID + auth token and once with API key +
//! secret, including an apply that replaces the access key; applies failing on injected faults
//! (a `CreateAccessKey` that times out after making a key, a 500 on the credential POST, 500s
//! on the settings); an apply SIGKILLed while the credential POST's answer is held, then
//! `force-unlock` with a wrong and the recorded id; a new key failing its write test (denied
//! `PutObject`) and deleted; `examples/prod.toml` (SSE-KMS, a key stowage creates) and the same
//! with an encryption public key for recordings; `init --from-existing` on a setup made by hand
//! from Twilio's guide (with either kind of Twilio credentials, at trace and at debug level).
//! State, backup, lock and plan files are private (0600).

mod common;

use std::path::Path;
use std::time::Duration;

use common::{recorded_id, world};
use serde_json::Value;
use stowage_test_support::dev::{REGION, USER};
use stowage_test_support::twilio_emulator::FaultRule;
use stowage_test_support::{
    AwsProxy, Fault, FaultAction, GuideVariant, Invocation, Run, Sandbox, SecretScan, TEST_ACCOUNT_SID,
    TEST_AUTH_TOKEN, TwilioCredentials, World, dev_spec, example_spec, follow_the_guide, within,
};

const SPEC: &str = "dev.toml";
/// Every uploader of the specs here is named so; moto's admin user is not.
const UPLOADER_PREFIX: &str = "twilio-video-uploader-";
const ACCESS_KEY_ADDRESS: &str = "aws_iam_access_key.uploader";
/// An API key of the test account, known to the emulator only for this test.
const API_KEY_SID: &str = "SK00112233445566778899aabbccddeeff";
const API_KEY_SECRET: &str = "hygieneApiKeySecret0123456789abcdefXYZ";
/// Identifiers that are public by nature: a run of a secret's characters found inside one of
/// them is no leak.
const PUBLIC_IDENTIFIERS: [&str; 2] = [TEST_ACCOUNT_SID, API_KEY_SID];
const DENY_PUT_OBJECT: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:PutObject","Resource":"*"}]}"#;

const TEST_TIMEOUT: Duration = Duration::from_secs(400);

#[derive(Debug, Clone, Copy)]
enum TwilioAuth {
    AuthToken,
    ApiKey,
}

impl TwilioAuth {
    fn credentials(self) -> TwilioCredentials {
        match self {
            TwilioAuth::AuthToken => TwilioCredentials::TEST_ACCOUNT,
            TwilioAuth::ApiKey => TwilioCredentials::ApiKey { sid: API_KEY_SID, secret: API_KEY_SECRET },
        }
    }
}

/// moto and the emulator (which knows the test account's API key too), each behind a
/// recording proxy; every run logs at trace level. Each path runs in a sandbox of its own.
async fn start() -> World {
    world().twilio_api_key(API_KEY_SID, API_KEY_SECRET, TEST_ACCOUNT_SID).env("RUST_LOG", "trace").start().await
}

/// An untouched account on both sides. The operator's key is an admin key of its own, not
/// moto's `testing`: a real secret to search for. IAM is not enforced (moto's enforcement
/// refuses the signature of `verify`'s `ListObjectsV2` with a prefix), except where a path
/// turns it on.
fn reset(world: &World) {
    world.reset();
    world.moto.enforce_iam(true);
    world.moto.enforce_iam(false);
}

/// `stowage ARGUMENTS` in `sandbox`, with `auth`'s credentials for Twilio.
fn stowage<'a>(world: &'a World, sandbox: &'a Sandbox, auth: TwilioAuth, arguments: &[&str]) -> Invocation<'a> {
    world.stowage(arguments).in_sandbox(sandbox).twilio_credentials(auth.credentials())
}

/// Runs `invocation`; returns once every request it sent has landed (a delayed one reaches
/// moto after its client gave up).
async fn run_settled(world: &World, invocation: Invocation<'_>) -> Run {
    let run = invocation.await;
    world.settled().await;
    run
}

async fn run_in(world: &World, sandbox: &Sandbox, auth: TwilioAuth, arguments: &[&str]) -> Run {
    run_settled(world, stowage(world, sandbox, auth, arguments)).await
}

/// Every access key secret moto ever handed out for an uploader (deleted keys included):
/// the secrets `CreateAccessKey` returned to stowage.
fn uploader_key_secrets(world: &World) -> Vec<String> {
    let secrets = world.moto.access_key_secrets().into_iter();
    secrets.filter(|(user, _)| user.starts_with(UPLOADER_PREFIX)).map(|(_, secret)| secret).collect()
}

/// The operator's own AWS secret: the one `stowage` is given in `AWS_SECRET_ACCESS_KEY`.
fn operator_secret(world: &World) -> String {
    let environment = world.moto.aws_env();
    let secret = environment
        .iter()
        .find(|(name, _)| name == "AWS_SECRET_ACCESS_KEY")
        .map(|(_, value)| value.clone())
        .expect("the environment has an AWS secret");
    assert!(secret.len() >= 40, "the operator's secret is a real one, not moto's `testing`");
    secret
}

/// What AWS and Twilio kept of what stowage sent them, and what the proxies saw, each with a
/// name: the places the secrets must not be, besides stowage's own output and files.
async fn what_reached_the_services(world: &World) -> Vec<(String, String)> {
    let mut places = Vec::new();
    let journal = |proxy: &AwsProxy| proxy.requests().iter().map(ToString::to_string).collect::<Vec<_>>();
    places.push(("the AWS proxy's journal".to_owned(), journal(&world.aws).join("\n")));
    places.push(("the Twilio proxy's journal".to_owned(), journal(&world.twilio).join("\n")));

    // moto keeps the access keys' secrets on purpose: everything else it holds is searched.
    let mut dump = world.moto.model_dump();
    without_secret_fields(&mut dump);
    places.push(("moto's model dump (access key secrets aside)".to_owned(), dump.to_string()));

    places.extend(what_iam_kept(world).await);
    places.extend(what_s3_kept(world).await);
    places.extend(what_kms_kept(world).await);
    places.extend(what_twilio_kept(world).await);
    places
}

/// The IAM users, their tags and their policies.
async fn what_iam_kept(world: &World) -> Vec<(String, String)> {
    let mut places = Vec::new();
    let iam = world.moto.iam_client();
    let users = iam.list_users().send().await.expect("moto lists the users");
    for user in users.users() {
        let name = user.user_name();
        places.push((format!("IAM user {name}"), format!("{} {} {}", name, user.path(), user.arn())));
        let tags = iam.list_user_tags().user_name(name).send().await.expect("moto lists a user's tags");
        let tags: Vec<String> = tags.tags().iter().map(|tag| format!("{}={}", tag.key(), tag.value())).collect();
        places.push((format!("tags of IAM user {name}"), tags.join("\n")));
        let policies = iam.list_user_policies().user_name(name).send().await.expect("moto lists the policies");
        for policy in policies.policy_names() {
            let got = iam.get_user_policy().user_name(name).policy_name(policy).send().await.expect("a policy");
            places.push((
                format!("policy {policy} of IAM user {name}"),
                format!("{policy}\n{}", percent_decoded(got.policy_document())),
            ));
        }
    }
    places
}

/// The buckets' tags, policies, configuration, and every object version's body.
async fn what_s3_kept(world: &World) -> Vec<(String, String)> {
    let mut places = Vec::new();
    let s3 = world.moto.s3_client(REGION);
    let buckets = s3.list_buckets().send().await.expect("moto lists the buckets");
    for bucket in buckets.buckets().iter().filter_map(|bucket| bucket.name()) {
        if let Ok(tags) = s3.get_bucket_tagging().bucket(bucket).send().await {
            let tags: Vec<String> = tags.tag_set().iter().map(|tag| format!("{}={}", tag.key(), tag.value())).collect();
            places.push((format!("tags of bucket {bucket}"), tags.join("\n")));
        }
        if let Ok(policy) = s3.get_bucket_policy().bucket(bucket).send().await {
            places.push((format!("policy of bucket {bucket}"), policy.policy().unwrap_or_default().to_owned()));
        }
        if let Ok(rules) = s3.get_bucket_lifecycle_configuration().bucket(bucket).send().await {
            places.push((format!("lifecycle of bucket {bucket}"), format!("{:?}", rules.rules())));
        }
        if let Ok(encryption) = s3.get_bucket_encryption().bucket(bucket).send().await {
            let configuration = encryption.server_side_encryption_configuration();
            places.push((format!("default encryption of bucket {bucket}"), format!("{configuration:?}")));
        }
        let versions = s3.list_object_versions().bucket(bucket).send().await.expect("moto lists versions");
        for version in versions.versions() {
            let (Some(key), Some(id)) = (version.key(), version.version_id()) else { continue };
            let object = s3.get_object().bucket(bucket).key(key).version_id(id).send().await.expect("an object");
            let body = object.body.collect().await.expect("an object body").into_bytes();
            places.push((
                format!("object {key} (version {id}) in bucket {bucket}"),
                format!("{key}\n{}", String::from_utf8_lossy(&body)),
            ));
        }
    }
    places
}

/// The KMS keys' descriptions, policies and tags, and the aliases.
async fn what_kms_kept(world: &World) -> Vec<(String, String)> {
    let mut places = Vec::new();
    let kms = world.moto.kms_client(REGION);
    let keys = kms.list_keys().send().await.expect("moto lists the KMS keys");
    for key in keys.keys().iter().filter_map(|key| key.key_id()) {
        let described = kms.describe_key().key_id(key).send().await.expect("moto describes the key");
        let description = described.key_metadata().and_then(|metadata| metadata.description()).unwrap_or_default();
        places.push((format!("description of KMS key {key}"), description.to_owned()));
        let policy = kms.get_key_policy().key_id(key).policy_name("default").send().await.expect("a key policy");
        places.push((format!("policy of KMS key {key}"), policy.policy().unwrap_or_default().to_owned()));
        let tags = kms.list_resource_tags().key_id(key).send().await.expect("moto lists the key's tags");
        let tags: Vec<String> =
            tags.tags().iter().map(|tag| format!("{}={}", tag.tag_key(), tag.tag_value())).collect();
        places.push((format!("tags of KMS key {key}"), tags.join("\n")));
    }
    let aliases = kms.list_aliases().send().await.expect("moto lists the aliases");
    let aliases: Vec<String> = aliases.aliases().iter().map(|alias| format!("{alias:?}")).collect();
    places.push(("KMS aliases".to_owned(), aliases.join("\n")));
    places
}

/// The emulator's credentials, public keys, settings and request log.
async fn what_twilio_kept(world: &World) -> Vec<(String, String)> {
    let mut places = Vec::new();
    for path in [
        "/v1/Credentials/AWS?PageSize=100",
        "/v1/Credentials/PublicKeys?PageSize=100",
        "/v1/RecordingSettings/Default",
        "/v1/CompositionSettings/Default",
    ] {
        places.push((format!("the emulator's GET {path}"), world.twilio_get(path).await.to_string()));
    }
    let log = serde_json::to_string(&world.emulator.requests()).expect("the log serializes");
    places.push(("the emulator's request log".to_owned(), log));
    places
}

/// Takes every `secret_access_key` out of moto's dump, wherever it is.
fn without_secret_fields(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("secret_access_key");
            map.values_mut().for_each(without_secret_fields);
        }
        Value::Array(items) => items.iter_mut().for_each(without_secret_fields),
        _ => {}
    }
}

/// IAM answers policy documents URL-encoded.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = bytes.get(index + 1..index + 3).and_then(|pair| std::str::from_utf8(pair).ok());
        match (bytes[index], hex.and_then(|hex| u8::from_str_radix(hex, 16).ok())) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                index += 3;
            }
            (b'+', _) => {
                decoded.push(b' ');
                index += 1;
            }
            (byte, _) => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

fn recorded_access_key_id(sandbox: &Sandbox) -> String {
    recorded_id(&sandbox.state_path(SPEC), ACCESS_KEY_ADDRESS)
}

/// What one path searched: how many secrets, forms of them and places, and the leaks found.
struct Searched {
    secrets: usize,
    patterns: usize,
    places: usize,
    place_names: Vec<String>,
    leaks: Vec<String>,
}

/// Searches everything `runs` printed, every file in `sandbox` and what reached the services
/// for every secret of this world, and checks that stowage's files are private.
async fn search(world: &World, path: &str, sandbox: &Sandbox, runs: &[Run]) -> Searched {
    assert!(
        runs.iter().any(|run| run.stderr.contains("TRACE")),
        "{path}: RUST_LOG=trace should have reached stowage, or this test proves little"
    );
    let scan = secrets(world, path);
    let files = sandbox.entries();
    let mut places: Vec<(String, String)> = Vec::new();
    for run in runs {
        places.push((format!("stdout of `stowage {}`", run.command), run.stdout.clone()));
        places.push((format!("stderr of `stowage {}`", run.command), run.stderr.clone()));
    }
    for (file, entry) in &files {
        places.push((format!("file {}", file.display()), entry.text()));
    }
    places.extend(what_reached_the_services(world).await);
    let leaks = places.iter().flat_map(|(place, text)| scan.leaks_in(place, text)).collect();

    // Everything stowage writes is private: state, backup, plans, and locks.
    for (file, entry) in &files {
        let name = file.to_string_lossy();
        if name.contains(".state.json") || name.ends_with(".plan") {
            assert_eq!(entry.mode, 0o600, "{path}: {name} should be mode 0600");
        }
    }
    let place_names = places.iter().map(|(name, _)| name.clone()).collect();
    Searched { secrets: scan.secrets(), patterns: scan.forms(), places: places.len(), place_names, leaks }
}

/// Every secret of this world: each uploader key moto made, the operator's AWS secret, the
/// Twilio auth token and API key secret, and HTTP Basic headers made of them.
fn secrets(world: &World, path: &str) -> SecretScan {
    let mut scan = SecretScan::new(&PUBLIC_IDENTIFIERS);
    let key_secrets = uploader_key_secrets(world);
    assert!(!key_secrets.is_empty(), "{path}: moto made no uploader key");
    for (index, secret) in key_secrets.iter().enumerate() {
        assert_eq!(secret.len(), 40, "an AWS secret is 40 characters");
        scan.secret(&format!("access key secret #{}", index + 1), secret);
    }
    scan.secret("the operator's AWS secret", &operator_secret(world));
    scan.secret("Twilio auth token", TEST_AUTH_TOKEN);
    scan.secret("Twilio API key secret", API_KEY_SECRET);
    scan.basic_credentials("Basic header (auth token)", TEST_ACCOUNT_SID, TEST_AUTH_TOKEN);
    scan.basic_credentials("Basic header (API key)", API_KEY_SID, API_KEY_SECRET);
    scan
}

#[expect(clippy::print_stderr, reason = "the counts are the report of this test")]
fn report(path: &str, searched: &Searched) {
    eprintln!(
        "secret hygiene, {path}: {} secrets in {} forms searched in {} places, {} hits",
        searched.secrets,
        searched.patterns,
        searched.places,
        searched.leaks.len()
    );
    assert!(searched.leaks.is_empty(), "{path}: secrets leaked:\n{}", searched.leaks.join("\n"));
}

/// Drives every command once in a fresh sandbox and returns what they printed.
async fn drive_every_command(world: &World, sandbox: &Sandbox, auth: TwilioAuth) -> Vec<Run> {
    let mut runs = Vec::new();
    let mut step = async |arguments: &[&str], expected: &[i32]| {
        let run = run_in(world, sandbox, auth, arguments).await;
        assert!(run.code.is_some_and(|code| expected.contains(&code)), "{auth:?}: unexpected exit code\n{run}");
        runs.push(run);
    };
    step(&["validate", SPEC], &[0]).await;
    step(&["plan", SPEC], &[0]).await;
    step(&["plan", SPEC, "--out", "first.plan", "--format", "json"], &[0]).await;
    step(&["show", "first.plan"], &[0]).await;
    step(&["show", "first.plan", "--format", "markdown"], &[0]).await;
    step(&["apply", "first.plan"], &[0]).await;
    step(&["plan", SPEC, "--detailed-exitcode"], &[0]).await;
    step(&["drift", SPEC, "--format", "json"], &[0]).await;
    step(&["verify", SPEC], &[0]).await;

    // The key disappears outside stowage: the next apply makes a new one, with a new secret,
    // and hands it to Twilio in a new credential.
    let old_key = recorded_access_key_id(sandbox);
    world.moto.iam_client().delete_access_key().user_name(USER).access_key_id(&old_key).send().await.unwrap();
    step(&["drift", SPEC], &[2]).await;
    step(&["plan", SPEC, "--out", "second.plan"], &[0]).await;
    step(&["apply", SPEC, "--auto-approve"], &[0]).await;
    assert_ne!(recorded_access_key_id(sandbox), old_key, "{auth:?}: the apply should have made a new access key");
    step(&["verify", SPEC, "--format", "json"], &[0]).await;
    step(&["drift", SPEC], &[0]).await;
    runs
}

async fn no_secret_leaks(world: &World, auth: TwilioAuth) {
    reset(world);
    let sandbox = Sandbox::new();
    sandbox.write_spec(SPEC, &dev_spec());

    let runs = drive_every_command(world, &sandbox, auth).await;
    assert_eq!(uploader_key_secrets(world).len(), 2, "{auth:?}: moto should have made two uploader keys");
    let files = sandbox.entries();
    for expected in ["dev.state.json", "dev.state.json.backup", "first.plan", "second.plan"] {
        assert!(files.contains_key(Path::new(expected)), "{auth:?}: {expected} should exist: {:?}", files.keys());
    }
    report(&format!("every command ({auth:?})"), &search(world, &format!("{auth:?}"), &sandbox, &runs).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_command_leaks_a_secret_with_either_kind_of_twilio_credentials() {
    let world = start().await;
    within(TEST_TIMEOUT, async {
        no_secret_leaks(&world, TwilioAuth::AuthToken).await;
        no_secret_leaks(&world, TwilioAuth::ApiKey).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_error_crash_or_encryption_path_leaks_a_secret() {
    let world = start().await;
    within(TEST_TIMEOUT, async {
        for (path, auth) in [
            ("faults mid-apply", TwilioAuth::AuthToken),
            ("SIGKILL and force-unlock", TwilioAuth::ApiKey),
            ("a failed write test", TwilioAuth::AuthToken),
            ("SSE-KMS and a public key", TwilioAuth::ApiKey),
        ] {
            reset(&world);
            let sandbox = Sandbox::new();
            let runs = match path {
                "faults mid-apply" => faults_mid_apply(&world, &sandbox, auth).await,
                "SIGKILL and force-unlock" => killed_then_unlocked(&world, &sandbox, auth).await,
                "a failed write test" => failed_write_test(&world, &sandbox, auth).await,
                _ => encrypted(&world, &sandbox, auth).await,
            };
            let searched = search(&world, path, &sandbox, &runs).await;
            if path == "SSE-KMS and a public key" {
                // The key stowage made was read, and searched.
                let kms = ["description of KMS key", "policy of KMS key", "tags of KMS key"];
                for place in kms {
                    assert!(searched.place_names.iter().any(|name| name.starts_with(place)), "{path}: no {place}");
                }
            }
            report(path, &searched);
        }
    })
    .await;
}

/// `stowage init --from-existing` on a setup made by hand from Twilio's guide: it signs in to
/// Twilio (with either kind of credentials) and AWS and reads everything the guide made,
/// including the access key whose secret the guide handed to Twilio. Run once at trace level
/// and once at `RUST_LOG=debug`, each writing a spec of its own.
#[tokio::test(flavor = "multi_thread")]
async fn init_from_existing_leaks_no_secret_with_either_kind_of_twilio_credentials() {
    let world = start().await;
    within(TEST_TIMEOUT, async {
        for (auth, variant) in
            [(TwilioAuth::AuthToken, GuideVariant::PolicyTemplate), (TwilioAuth::ApiKey, GuideVariant::SseKms)]
        {
            let path = format!("init --from-existing ({auth:?}, {variant:?})");
            reset(&world);
            let made = follow_the_guide(&world, variant).await;
            let sandbox = Sandbox::new();
            let mut runs = Vec::new();
            for (spec, log) in [("from-trace.toml", "trace"), ("from-debug.toml", "debug")] {
                let init = stowage(&world, &sandbox, auth, &["init", "--from-existing", spec, "--name", "dev"]);
                let run = run_settled(&world, init.env("RUST_LOG", log)).await;
                expect_exit(&path, &run, 0);
                let written = std::fs::read_to_string(sandbox.path().join(spec)).expect("init wrote the spec");
                assert!(written.contains(&made.user_name), "{path}: init found the guide's user:\n{written}");
                let level = log.to_ascii_uppercase();
                assert!(run.stderr.contains(&format!(" {level} ")), "{path}: RUST_LOG={log} reached stowage\n{run}");
                runs.push(run);
            }
            // The guide's key, whose secret Twilio was given, is among the secrets searched.
            let guides = [made.secret_access_key.expose().to_owned()];
            assert_eq!(uploader_key_secrets(&world), guides, "{path}: the guide's key is the one uploader key");
            let searched = search(&world, &path, &sandbox, &runs).await;
            report(&path, &searched);
        }
    })
    .await;
}

fn expect_exit(path: &str, run: &Run, code: i32) {
    assert_eq!(run.code, Some(code), "{path}: unexpected exit code\n{run}");
}

/// Applies failing on a fault each, then one that converges: a `CreateAccessKey` delayed
/// beyond the request timeout (the key is made, its secret never reaches stowage), a 500 on the
/// credential POST (the secret was sent, the answer is an error), 500s on the recording
/// settings until the client gives up (the credential exists).
async fn faults_mid_apply(world: &World, sandbox: &Sandbox, auth: TwilioAuth) -> Vec<Run> {
    const PATH: &str = "faults mid-apply";
    sandbox.write_spec(SPEC, &dev_spec());
    let apply = ["apply", SPEC, "--auto-approve"];
    let mut runs = Vec::new();

    world.aws.inject(Fault::once("CreateAccessKey", FaultAction::Delay(Duration::from_millis(2500))));
    let run = run_settled(world, stowage(world, sandbox, auth, &apply).request_timeout("2s")).await;
    expect_exit(PATH, &run, 1);
    assert!(run.stderr.contains("iam CreateAccessKey"), "{PATH}: the error names the create\n{run}");
    runs.push(run);

    let post = FaultRule { method: Some("POST".to_owned()), ..FaultRule::new(500, "/v1/Credentials/AWS") };
    world.emulator.add_fault(post).expect("a valid fault rule");
    let run = run_in(world, sandbox, auth, &apply).await;
    expect_exit(PATH, &run, 1);
    assert!(run.stderr.contains("twilio CreateAwsCredential"), "{PATH}: the error names the create\n{run}");
    runs.push(run);

    let settings =
        FaultRule { method: Some("POST".to_owned()), times: 10, ..FaultRule::new(500, "/v1/RecordingSettings") };
    world.emulator.add_fault(settings).expect("a valid fault rule");
    let run = run_in(world, sandbox, auth, &apply).await;
    expect_exit(PATH, &run, 1);
    runs.push(run);

    world.clear_emulator_faults().await;
    let run = run_in(world, sandbox, auth, &apply).await;
    expect_exit(PATH, &run, 0);
    runs.push(run);
    let run = run_in(world, sandbox, auth, &["plan", SPEC, "--detailed-exitcode"]).await;
    expect_exit(PATH, &run, 0);
    runs.push(run);
    assert!(uploader_key_secrets(world).len() >= 3, "{PATH}: each fault run made a key");
    runs
}

/// An apply SIGKILLed while the credential POST's answer is held (the credential exists, the
/// secret was sent, the process dies), `force-unlock` with a wrong id and with the recorded
/// one, and the apply that converges.
async fn killed_then_unlocked(world: &World, sandbox: &Sandbox, auth: TwilioAuth) -> Vec<Run> {
    const PATH: &str = "SIGKILL and force-unlock";
    sandbox.write_spec(SPEC, &dev_spec());
    let mut runs = Vec::new();

    world.twilio.inject(Fault::once("POST /v1/Credentials/AWS", FaultAction::HoldAnswer));
    let apply = ["apply", SPEC, "--auto-approve"];
    let (run, held) = stowage(world, sandbox, auth, &apply).kill_at_hold(&world.twilio).await;
    let held = held.unwrap_or_else(|| panic!("{PATH}: `stowage {}` ended before the held request\n{run}", run.command));
    let held = held.to_string();
    assert!(held.contains("201"), "{PATH}: the credential was made before the kill: {held}");
    runs.push(run);
    world.twilio.clear();

    let state = sandbox.state_path(SPEC);
    let info = stowage_state::lock::read_info(&state).unwrap().expect("the killed apply left its lock record");
    let run = run_in(world, sandbox, auth, &["force-unlock", "0b9d1c3e-6f2a-4e8b-9c1d-2a3b4c5d6e7f", SPEC]).await;
    expect_exit(PATH, &run, 1);
    runs.push(run);
    let run = run_in(world, sandbox, auth, &["force-unlock", &info.id.to_string(), SPEC]).await;
    expect_exit(PATH, &run, 0);
    runs.push(run);

    let run = run_in(world, sandbox, auth, &["apply", SPEC, "--auto-approve"]).await;
    expect_exit(PATH, &run, 0);
    assert!(run.stdout.contains("left by an interrupted apply"), "{PATH}: the leftovers were found\n{run}");
    runs.push(run);
    let run = run_in(world, sandbox, auth, &["plan", SPEC, "--detailed-exitcode"]).await;
    expect_exit(PATH, &run, 0);
    runs.push(run);
    runs
}

/// A new key that cannot write (the uploader is denied `PutObject`): the apply fails, the key
/// is deleted, Twilio is untouched; once the denial is gone, an apply converges.
async fn failed_write_test(world: &World, sandbox: &Sandbox, auth: TwilioAuth) -> Vec<Run> {
    const PATH: &str = "a failed write test";
    // Only an enforcing moto refuses the denied `PutObject`.
    world.moto.enforce_iam(true);
    sandbox.write_spec(SPEC, &dev_spec());
    let apply = ["apply", SPEC, "--auto-approve"];
    let mut runs = Vec::new();
    let run = run_in(world, sandbox, auth, &apply).await;
    expect_exit(PATH, &run, 0);
    runs.push(run);

    let iam = world.moto.iam_client();
    let deny = iam.put_user_policy().user_name(USER).policy_name("deny-put-object").policy_document(DENY_PUT_OBJECT);
    deny.send().await.expect("moto takes the denial");
    let old_key = recorded_access_key_id(sandbox);
    iam.delete_access_key().user_name(USER).access_key_id(&old_key).send().await.expect("the key is deleted");
    let run = run_in(world, sandbox, auth, &apply).await;
    expect_exit(PATH, &run, 1);
    assert!(run.stderr.contains("write test failed"), "{PATH}: the write test failed\n{run}");
    runs.push(run);

    iam.delete_user_policy().user_name(USER).policy_name("deny-put-object").send().await.expect("denial removed");
    let run = run_in(world, sandbox, auth, &apply).await;
    expect_exit(PATH, &run, 0);
    runs.push(run);
    assert_eq!(uploader_key_secrets(world).len(), 3, "{PATH}: three keys were made, one failed its test");
    runs
}

/// `examples/prod.toml` as it is (a KMS key stowage creates, its policy naming the uploader),
/// then the same with an encryption public key for recordings, through a saved plan.
async fn encrypted(world: &World, sandbox: &Sandbox, auth: TwilioAuth) -> Vec<Run> {
    const PATH: &str = "SSE-KMS and a public key";
    let prod = example_spec("prod.toml");
    sandbox.write_spec("prod.toml", &prod);
    let mut runs = Vec::new();
    let run = run_in(world, sandbox, auth, &["apply", "prod.toml", "--auto-approve"]).await;
    expect_exit(PATH, &run, 0);
    runs.push(run);
    for arguments in [&["plan", "prod.toml", "--detailed-exitcode"][..], &["drift", "prod.toml"]] {
        let run = run_in(world, sandbox, auth, arguments).await;
        expect_exit(PATH, &run, 0);
        runs.push(run);
    }
    let run = run_in(world, sandbox, auth, &["verify", "prod.toml"]).await;
    assert!(matches!(run.code, Some(0 | 2)), "{PATH}: verify ran\n{run}");
    runs.push(run);

    let pem = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recordings-2025.pem");
    std::fs::copy(pem, sandbox.path().join("recordings.pem")).expect("the key is copied");
    let with_key = prod.replace(
        "[recordings]\nstore_in_s3 = true\n",
        "[recordings]\nstore_in_s3 = true\nencryption_public_key = \"recordings.pem\"\n",
    );
    assert_ne!(with_key, prod, "{PATH}: the public key was added to the spec");
    sandbox.write_spec("prod.toml", &with_key);
    for arguments in [
        &["plan", "prod.toml", "--out", "prod.plan"][..],
        &["show", "prod.plan", "--format", "json"],
        &["apply", "prod.plan"],
        &["plan", "prod.toml", "--detailed-exitcode"],
    ] {
        let run = run_in(world, sandbox, auth, arguments).await;
        expect_exit(PATH, &run, 0);
        runs.push(run);
    }
    let kms_keys = world.moto.kms_client(REGION).list_keys().send().await.expect("moto lists the keys");
    assert_eq!(kms_keys.keys().len(), 1, "{PATH}: stowage made the KMS key");
    runs
}

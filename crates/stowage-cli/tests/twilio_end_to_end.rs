//! The Twilio side, end to end: the `stowage` binary applies `examples/dev.toml` against a
//! real moto (behind a recording proxy) and the Twilio emulator. What exists is checked through
//! the AWS SDK and the emulator's own HTTP API and request log, never through stowage's state
//! (the state is read only for the ids stowage recorded).

mod common;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::{recorded_id, world};
use serde_json::Value;
use stowage_test_support::dev::{BUCKET, POLICY_NAME, REGION, USER};
use stowage_test_support::twilio_emulator::RecordedRequest;
use stowage_test_support::{
    Run, SecretScan, TEST_AUTH_TOKEN, World, dev_spec, insta_filters, looks_like_aws_secret, within,
};

const SPEC: &str = "dev.toml";
// Where Twilio keeps what `examples/dev.toml` makes.
const RECORDINGS_URL: &str = "https://acme-video-dev.s3-us-east-2.amazonaws.com/recordings";
const COMPOSITIONS_URL: &str = "https://acme-video-dev.s3-us-east-2.amazonaws.com/compositions";
const CREDENTIALS_PATH: &str = "/v1/Credentials/AWS";
const RECORDING_SETTINGS_PATH: &str = "/v1/RecordingSettings/Default";
const COMPOSITION_SETTINGS_PATH: &str = "/v1/CompositionSettings/Default";
// The state addresses whose ids the tests need.
const ACCESS_KEY_ADDRESS: &str = "aws_iam_access_key.uploader";
const CREDENTIAL_ADDRESS: &str = "twilio_aws_credential.main";

/// A whole test, once moto is up (moto's own start is bounded by the support crate).
const TEST_TIMEOUT: Duration = Duration::from_secs(300);

/// Fails the test instead of hanging when `body` does not finish within [`TEST_TIMEOUT`].
async fn bounded<Output>(body: impl Future<Output = Output>) -> Output {
    within(TEST_TIMEOUT, body).await
}

async fn apply(world: &World) -> Run {
    let run = world.stowage(&["apply", SPEC, "--auto-approve"]).await;
    assert_eq!(run.code, Some(0), "apply failed\n{run}");
    run
}

async fn plan(world: &World) -> Run {
    world.stowage(&["plan", SPEC, "--detailed-exitcode"]).await
}

async fn assert_plan_is_clean(world: &World) {
    let plan = plan(world).await;
    assert_eq!(plan.code, Some(0), "the plan after this apply should have nothing to do\n{plan}");
}

/// The id the state records for `address`.
fn recorded(world: &World, address: &str) -> String {
    recorded_id(&world.state_path(), address)
}

async fn credential_exists(world: &World, sid: &str) -> bool {
    let response = world.twilio_request(reqwest::Method::GET, &format!("{CREDENTIALS_PATH}/{sid}")).send().await;
    match response.unwrap().status().as_u16() {
        200 => true,
        404 => false,
        other => panic!("GET credential {sid} answered {other}"),
    }
}

/// Deletes a credential as someone in Twilio's console would: through the API.
async fn delete_credential_out_of_band(world: &World, sid: &str) {
    let path = format!("{CREDENTIALS_PATH}/{sid}");
    let response = world.twilio_request(reqwest::Method::DELETE, &path).send().await.unwrap();
    assert_eq!(response.status(), 204);
}

async fn delete_access_key_out_of_band(world: &World, access_key_id: &str) {
    world.moto.iam_client().delete_access_key().user_name(USER).access_key_id(access_key_id).send().await.unwrap();
}

/// The secret of the uploader's current access key, from moto's own model dump: the one place
/// besides stowage's memory that holds it.
fn uploader_secret_from_moto(world: &World) -> String {
    let secrets: Vec<String> = world
        .moto
        .access_key_secrets()
        .into_iter()
        .filter(|(user, _)| user == USER)
        .map(|(_, secret)| secret)
        .collect();
    assert_eq!(secrets.len(), 1, "the uploader should have one key in moto");
    secrets[0].clone()
}

/// Both settings as `(aws_storage_enabled, aws_credentials_sid, aws_s3_url)`.
async fn storage_settings(world: &World) -> [(Value, Value, Value); 2] {
    let read = |settings: Value| {
        (
            settings["aws_storage_enabled"].clone(),
            settings["aws_credentials_sid"].clone(),
            settings["aws_s3_url"].clone(),
        )
    };
    [read(world.twilio_get(RECORDING_SETTINGS_PATH).await), read(world.twilio_get(COMPOSITION_SETTINGS_PATH).await)]
}

/// What both settings hold when they store into the dev bucket with `credential_sid`.
fn storing_with(credential_sid: &str) -> [(Value, Value, Value); 2] {
    [
        (Value::Bool(true), Value::from(credential_sid), Value::from(RECORDINGS_URL)),
        (Value::Bool(true), Value::from(credential_sid), Value::from(COMPOSITIONS_URL)),
    ]
}

/// `text` with miette's line wrapping and gutters undone, whitespace collapsed: a phrase
/// reads whole wherever the 80-column wrap broke it.
fn unwrapped(text: &str) -> String {
    text.split(|character: char| character.is_whitespace() || character == '│')
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn sorted(mut lines: Vec<String>) -> Vec<String> {
    lines.sort();
    lines
}

#[tokio::test(flavor = "multi_thread")]
async fn one_apply_of_dev_wires_twilio_to_the_bucket_and_the_next_plan_writes_nothing() {
    let world = world().start().await;
    bounded(async {
        let first_plan = plan(&world).await;
        assert_eq!(first_plan.code, Some(2), "the first plan has everything to create\n{first_plan}");
        insta::with_settings!({ filters => insta_filters() }, {
            insta::assert_snapshot!("first_plan_of_dev", first_plan.stdout);
        });

        apply(&world).await;

        // AWS, as the SDK sees it.
        let s3 = world.moto.s3_client(REGION);
        s3.head_bucket().bucket(BUCKET).send().await.unwrap();
        let iam = world.moto.iam_client();
        iam.get_user().user_name(USER).send().await.unwrap();
        let policies = iam.list_user_policies().user_name(USER).send().await.unwrap();
        assert_eq!(policies.policy_names(), [POLICY_NAME]);
        let key_ids = world.moto.access_key_ids(USER).await;
        assert_eq!(key_ids, [recorded(&world, ACCESS_KEY_ADDRESS)]);

        // Twilio, as its API answers.
        let credential_sid = recorded(&world, CREDENTIAL_ADDRESS);
        assert!(credential_exists(&world, &credential_sid).await);
        assert_eq!(storage_settings(&world).await, storing_with(&credential_sid));

        // The bucket holds Twilio's test files and nothing of stowage's own write test, not
        // even an old version or a delete marker.
        let listed = s3.list_objects_v2().bucket(BUCKET).send().await.unwrap();
        let keys: Vec<&str> = listed.contents().iter().filter_map(|object| object.key()).collect();
        assert_eq!(
            keys,
            ["compositions/twilio-storage-test-compositions.txt", "recordings/twilio-storage-test-recordings.txt"]
        );
        let versions = s3.list_object_versions().bucket(BUCKET).send().await.unwrap();
        let version_keys: Vec<&str> = versions
            .versions()
            .iter()
            .filter_map(|version| version.key())
            .chain(versions.delete_markers().iter().filter_map(|marker| marker.key()))
            .collect();
        assert!(
            version_keys.iter().all(|key| !key.contains("stowage-write-test-")),
            "stowage's write test left {version_keys:?}"
        );

        // A converged environment: the plan reads, and writes nowhere.
        world.aws.clear();
        let mark = world.twilio_log_mark();
        assert_plan_is_clean(&world).await;
        assert_eq!(world.twilio_writes_since(mark), Vec::<String>::new(), "the plan wrote to Twilio");
        assert!(!world.twilio_requests_since(mark).is_empty(), "the plan should have read Twilio");
        assert_eq!(world.aws.writes(), vec![], "the plan wrote to AWS");
        assert!(!world.aws.requests().is_empty(), "the plan should have read AWS");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_deleted_out_of_band_is_rotated_new_credential_first_old_credential_last() {
    let world = world().start().await;
    bounded(async {
        apply(&world).await;
        let old_key = recorded(&world, ACCESS_KEY_ADDRESS);
        let old_credential = recorded(&world, CREDENTIAL_ADDRESS);
        delete_access_key_out_of_band(&world, &old_key).await;

        let mark = world.twilio_log_mark();
        let rotation = apply(&world).await;
        insta::with_settings!({ filters => insta_filters() }, {
            insta::assert_snapshot!("rotation_apply", rotation.stdout);
        });

        let new_key = recorded(&world, ACCESS_KEY_ADDRESS);
        let new_credential = recorded(&world, CREDENTIAL_ADDRESS);
        assert_ne!(new_key, old_key);
        assert_ne!(new_credential, old_credential);
        assert_eq!(world.moto.access_key_ids(USER).await, [new_key]);

        // Twilio never points at a missing credential: the new one exists before the settings
        // move to it, and the old one goes only after both have moved.
        let writes = world.twilio_writes_since(mark);
        assert_eq!(writes.len(), 4, "{writes:#?}");
        assert_eq!(writes[0], format!("POST {CREDENTIALS_PATH} 201"), "{writes:#?}");
        assert_eq!(
            sorted(writes[1..3].to_vec()),
            [format!("POST {COMPOSITION_SETTINGS_PATH} 200"), format!("POST {RECORDING_SETTINGS_PATH} 200")],
            "{writes:#?}"
        );
        assert_eq!(writes[3], format!("DELETE {CREDENTIALS_PATH}/{old_credential} 204"), "{writes:#?}");

        assert!(!credential_exists(&world, &old_credential).await);
        assert!(credential_exists(&world, &new_credential).await);
        assert_eq!(storage_settings(&world).await, storing_with(&new_credential));
        assert_plan_is_clean(&world).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_credential_deleted_in_twilio_is_replaced_with_a_new_key_and_the_old_key_goes() {
    let world = world().start().await;
    bounded(async {
        apply(&world).await;
        let old_key = recorded(&world, ACCESS_KEY_ADDRESS);
        let old_credential = recorded(&world, CREDENTIAL_ADDRESS);
        delete_credential_out_of_band(&world, &old_credential).await;

        apply(&world).await;

        // The new credential needs a secret, and only a new key has one to give.
        let new_key = recorded(&world, ACCESS_KEY_ADDRESS);
        let new_credential = recorded(&world, CREDENTIAL_ADDRESS);
        assert_ne!(new_key, old_key);
        assert_ne!(new_credential, old_credential);
        assert_eq!(world.moto.access_key_ids(USER).await, [new_key], "the old key should be deleted");
        assert!(credential_exists(&world, &new_credential).await);
        assert_eq!(storage_settings(&world).await, storing_with(&new_credential));
        assert_plan_is_clean(&world).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_reaches_stdout_stderr_the_state_or_its_backup_even_at_trace_level() {
    let world = world().start().await;
    bounded(async {
        let run = world.stowage(&["apply", SPEC, "--auto-approve"]).env("RUST_LOG", "trace").await;
        assert_eq!(run.code, Some(0), "{run}");
        assert!(run.stderr.lines().count() > 100, "RUST_LOG=trace should log plenty:\n{}", run.stderr);

        let secret = uploader_secret_from_moto(&world);
        let state_path = world.state_path();
        let backup_path = world.sandbox.backup_path(SPEC);
        // What the spec says is public, whatever it looks like.
        let spec = dev_spec();
        let mut scan = SecretScan::new(&[&spec]);
        scan.secret("the access key's secret", &secret);
        scan.secret("the Twilio auth token", TEST_AUTH_TOKEN);
        let outputs = [
            ("stdout", run.stdout.clone()),
            ("stderr", run.stderr.clone()),
            ("the state", std::fs::read_to_string(&state_path).unwrap()),
            ("the backup", std::fs::read_to_string(&backup_path).unwrap()),
        ];
        // The heuristic would have caught this very secret, wherever it appeared.
        assert!(looks_like_aws_secret(&secret), "moto's secret is shaped unlike AWS's");
        let coloured_log_line = format!("\x1b[3msecret_access_key\x1b[0m\x1b[2m=\x1b[0m{secret}\x1b[0m\n");
        assert_eq!(scan.aws_secret_lookalikes(&coloured_log_line), [secret.as_str()]);
        for (name, text) in &outputs {
            assert_eq!(scan.leaks_in(name, text), Vec::<String>::new(), "a secret is in {name}");
            let lookalikes = scan.aws_secret_lookalikes(text);
            assert_eq!(lookalikes, Vec::<String>::new(), "something like a secret is in {name}");
        }

        // Readable by their owner only.
        for path in [state_path, backup_path] {
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{} has mode {mode:o}", path.display());
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_key_that_cannot_write_fails_the_apply_and_leaves_twilio_untouched() {
    let world = world().enforce_iam().start().await;
    bounded(async {
        apply(&world).await;
        let old_key = recorded(&world, ACCESS_KEY_ADDRESS);
        let old_credential = recorded(&world, CREDENTIAL_ADDRESS);

        // Someone denies the uploader its one permission, and the key must be replaced.
        let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:PutObject","Resource":"*"}]}"#;
        let iam = world.moto.iam_client();
        iam.put_user_policy()
            .user_name(USER)
            .policy_name("deny-put-object")
            .policy_document(deny)
            .send()
            .await
            .unwrap();
        delete_access_key_out_of_band(&world, &old_key).await;

        world.aws.clear();
        let mark = world.twilio_log_mark();
        let failed = world.stowage(&["apply", SPEC, "--auto-approve"]).await;
        assert_eq!(failed.code, Some(1), "{failed}");
        assert!(unwrapped(&failed.stderr).contains("write test failed"), "{failed}");

        // The key was made, failed its test, and was deleted; Twilio never heard of it.
        let aws_writes: Vec<String> = world.aws.writes().iter().map(ToString::to_string).collect();
        assert_eq!(
            aws_writes,
            ["iam CreateAccessKey write 200", "s3 PutObject write 403", "iam DeleteAccessKey write 200"]
        );
        assert_eq!(world.moto.access_key_ids(USER).await, Vec::<String>::new(), "the failed key should be deleted");
        assert_eq!(world.twilio_writes_since(mark), Vec::<String>::new(), "Twilio should not be changed");
        assert_eq!(storage_settings(&world).await, storing_with(&old_credential));
        assert!(credential_exists(&world, &old_credential).await);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_request_to_twilio_conforms_to_its_openapi_documents() {
    let world = world().start().await;
    bounded(async {
        apply(&world).await;
        delete_access_key_out_of_band(&world, &recorded(&world, ACCESS_KEY_ADDRESS)).await;
        apply(&world).await;
        assert_plan_is_clean(&world).await;

        let requests = world.emulator.requests();
        let nonconforming: Vec<&RecordedRequest> =
            requests.iter().filter(|request| !request.conforms || !request.violations.is_empty()).collect();
        assert!(nonconforming.is_empty(), "{nonconforming:#?}");
        // Every operation stowage uses was exercised, so the check above covered them all.
        let operations: BTreeSet<String> = requests
            .iter()
            .map(|request| {
                let path = match request.path.strip_prefix(CREDENTIALS_PATH) {
                    Some("") | None => request.path.clone(),
                    Some(_) => format!("{CREDENTIALS_PATH}/{{sid}}"),
                };
                format!("{} {path}", request.method)
            })
            .collect();
        let expected = [
            "DELETE /v1/Credentials/AWS/{sid}",
            "GET /v1/CompositionSettings/Default",
            "GET /v1/Credentials/AWS/{sid}",
            "GET /v1/RecordingSettings/Default",
            "POST /v1/CompositionSettings/Default",
            "POST /v1/Credentials/AWS",
            "POST /v1/RecordingSettings/Default",
        ];
        let missing: Vec<&str> = expected.into_iter().filter(|operation| !operations.contains(*operation)).collect();
        assert!(missing.is_empty(), "never exercised: {missing:?}; seen: {operations:#?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_without_twilio_credentials_names_the_variables_and_calls_nothing() {
    let world = world().start().await;
    bounded(async {
        let plan = world
            .stowage(&["plan", SPEC])
            .env_remove("TWILIO_ACCOUNT_SID")
            .env_remove("TWILIO_AUTH_TOKEN")
            // Without the AWS SDK's warnings about the absent config files the test points it
            // at: they carry timestamps, and no user would see them.
            .env("RUST_LOG", "error")
            .await;
        assert_eq!(plan.code, Some(1), "{plan}");
        assert_eq!(plan.stdout, "");
        for variable in ["TWILIO_API_KEY", "TWILIO_API_SECRET", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"] {
            assert!(unwrapped(&plan.stderr).contains(variable), "{variable} is not named\n{plan}");
        }
        insta::with_settings!({ filters => insta_filters() }, {
            insta::assert_snapshot!("missing_twilio_credentials", plan.stderr);
        });
        assert_eq!(world.aws.requests(), vec![], "nothing should reach AWS before the Twilio check");
        assert_eq!(world.emulator.requests(), vec![], "nothing should reach Twilio without credentials");
        assert!(!world.state_path().exists());
    })
    .await;
}

/// Fails until `init_logging` in `src/main.rs` colours only a terminal (see the report).
#[tokio::test(flavor = "multi_thread")]
async fn log_lines_on_a_stderr_that_is_not_a_terminal_carry_no_colour_codes() {
    let world = world().start().await;
    bounded(async {
        let plan = world.stowage(&["plan", SPEC]).env("RUST_LOG", "info").await;
        assert_eq!(plan.code, Some(0), "{plan}");
        assert!(plan.stderr.contains("refreshed"), "the refresh should log at info level\n{plan}");
        assert!(!plan.stderr.contains('\x1b'), "colour codes in a log written to a pipe:\n{}", plan.stderr);
    })
    .await;
}

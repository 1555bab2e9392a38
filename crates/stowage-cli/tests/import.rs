//! `stowage import` (issue 13) on an environment made by hand from Twilio's guide
//! (`stowage_test_support::follow_the_guide`), both variants where it is cheap: the guide's
//! first policy template, and its SSE-KMS template with a key the person made.
//!
//! Through the binary only: what exists is checked through the AWS SDK against moto and the
//! emulator's API; the state is read (through `stowage-state`) for what import recorded; the
//! proxy's journal and the emulator's request log prove that import writes nothing.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{state, world};
use serde_json::Value;
use stowage_test_support::dev::{BUCKET, REGION, USER};
use stowage_test_support::{
    GuideVariant, HandMade, Run, SecretScan, TEST_ACCOUNT_SID, World, dev_spec, follow_the_guide, insta_filters, within,
};

const SPEC: &str = "dev.toml";
const BUCKET_ADDRESS: &str = "aws_s3_bucket.main";
const USER_ADDRESS: &str = "aws_iam_user.uploader";
const POLICY_ADDRESS: &str = "aws_iam_user_policy.uploader";
const ACCESS_KEY_ADDRESS: &str = "aws_iam_access_key.uploader";
const CREDENTIAL_ADDRESS: &str = "twilio_aws_credential.main";
const KMS_KEY_ADDRESS: &str = "aws_kms_key.main";
const PUBLIC_KEY_ADDRESS: &str = "twilio_public_key.recordings";
const PUBLIC_KEYS_PATH: &str = "/v1/Credentials/PublicKeys";
/// The guide's managed policy, attached to the user: its address is named after the policy.
const ATTACHMENT_ADDRESS: &str = "aws_iam_user_policy_attachment.stowage-twilio-video-upload";
const CREDENTIALS_PATH: &str = "/v1/Credentials/AWS";
const RECORDING_SETTINGS_PATH: &str = "/v1/RecordingSettings/Default";
const COMPOSITION_SETTINGS_PATH: &str = "/v1/CompositionSettings/Default";
/// The test files Twilio writes when storage is switched on, under the spec's prefixes.
const TWILIO_TEST_FILES: [&str; 2] =
    ["compositions/twilio-storage-test-compositions.txt", "recordings/twilio-storage-test-recordings.txt"];
/// A credential SID of the right shape that no Twilio account has.
const MISSING_CREDENTIAL_SID: &str = "CR00000000000000000000000000000000";
/// The plan's refusal of an existing object it does not record, before import existed.
const REFUSAL: &str = "already exists but is not recorded in this environment's state";
/// A whole test, once moto is up.
const TEST_TIMEOUT: Duration = Duration::from_secs(300);

// --- 1, 3 and 8: import records what the guide made, writes nothing, and is a no-op again.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_records_what_the_guide_made_and_writes_nothing() {
    within(TEST_TIMEOUT, import_then_import_again(GuideVariant::PolicyTemplate)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_records_what_the_guide_with_sse_kms_made_and_writes_nothing() {
    within(TEST_TIMEOUT, import_then_import_again(GuideVariant::SseKms)).await;
}

async fn import_then_import_again(variant: GuideVariant) {
    let (world, made) = after_the_guide(variant).await;
    let marks = Marks::now(&world);

    let import = world.stowage(&["import", SPEC, "--auto-approve"]).await;
    assert_eq!(import.code, Some(0), "the import failed\n{import}");
    assert_no_writes(&world, &marks, "the import").await;
    // Its output lists each object it records, by address and id.
    for (address, id) in [
        (BUCKET_ADDRESS, BUCKET),
        (USER_ADDRESS, USER),
        (ACCESS_KEY_ADDRESS, made.access_key_id.as_str()),
        (CREDENTIAL_ADDRESS, made.credential_sid.as_str()),
        (ATTACHMENT_ADDRESS, made.policy_arn.as_str()),
    ] {
        assert!(
            import.stdout.lines().any(|line| line.contains(address) && line.contains(id)),
            "the import's output has no line naming {address} and `{id}`\n{import}"
        );
    }

    // The state records the objects the person made, the access key tainted.
    let recorded = state(&world.state_path());
    let id_of = |address: &str| recorded.get(address).map(|resource| resource.id.clone());
    assert_eq!(id_of(BUCKET_ADDRESS).as_deref(), Some(BUCKET), "the bucket\n{import}");
    assert_eq!(id_of(USER_ADDRESS).as_deref(), Some(USER), "the user\n{import}");
    assert_eq!(id_of(ACCESS_KEY_ADDRESS), Some(made.access_key_id.clone()), "the hand-made access key\n{import}");
    assert_eq!(id_of(CREDENTIAL_ADDRESS), Some(made.credential_sid.clone()), "the hand-made credential\n{import}");
    let key = recorded.get(ACCESS_KEY_ADDRESS).expect("the access key is recorded");
    assert!(key.tainted.is_some(), "the imported access key is not marked for replacement: {key:?}");
    // The guide's managed policy, as attached to the user.
    let attachment = recorded.get(ATTACHMENT_ADDRESS).unwrap_or_else(|| panic!("no attachment recorded\n{import}"));
    assert_eq!(attachment.id, format!("{USER}/{}", made.policy_arn), "the recorded attachment");
    assert_eq!(attachment.depends_on, vec![USER_ADDRESS.to_owned()], "the attachment hangs on the user");
    // The guide made no inline policy, and dev.toml asks for no KMS key: neither is recorded.
    assert_eq!(id_of(POLICY_ADDRESS), None, "an inline policy nobody made is recorded\n{import}");
    assert_eq!(id_of(KMS_KEY_ADDRESS), None, "a KMS key the spec does not ask for is recorded\n{import}");
    assert!(recorded.intents.is_empty(), "the import left intents: {:?}", recorded.intents);

    // A second import is a no-op that says so.
    let bytes = state_bytes(&world);
    let marks = Marks::now(&world);
    let again = world.stowage(&["import", SPEC, "--auto-approve"]).await;
    assert_eq!(again.code, Some(0), "the second import failed\n{again}");
    assert_eq!(state_bytes(&world), bytes, "the second import changed the state\n{again}");
    assert!(again.stdout.contains("already"), "the second import does not say it is recorded already\n{again}");
    assert_no_writes(&world, &marks, "the second import").await;

    assert_no_secret(&made, &[&import, &again], Some(&world));
}

// --- 2: --dry-run, and asking when stdin is not a terminal.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_shows_the_import_and_records_nothing() {
    within(TEST_TIMEOUT, async {
        let (world, made) = after_the_guide(GuideVariant::PolicyTemplate).await;
        let marks = Marks::now(&world);

        let dry_run = world.stowage(&["import", SPEC, "--dry-run"]).await;
        assert_eq!(dry_run.code, Some(0), "the dry run failed\n{dry_run}");
        assert!(!world.state_path().exists(), "the dry run recorded a state\n{dry_run}");
        for (address, id) in [
            (BUCKET_ADDRESS, BUCKET),
            (USER_ADDRESS, USER),
            (ACCESS_KEY_ADDRESS, made.access_key_id.as_str()),
            (CREDENTIAL_ADDRESS, made.credential_sid.as_str()),
        ] {
            assert!(
                dry_run.stdout.lines().any(|line| line.contains(address) && line.contains(id)),
                "the dry run does not show {address} `{id}`\n{dry_run}"
            );
        }

        // Without --auto-approve and with stdin not a terminal, import asks nobody and refuses.
        let unapproved = world.stowage(&["import", SPEC]).await;
        assert_eq!(unapproved.code, Some(1), "an import nobody approved\n{unapproved}");
        assert!(!world.state_path().exists(), "an import nobody approved recorded a state\n{unapproved}");

        assert_no_writes(&world, &marks, "the dry run and the refused import").await;
        assert_no_secret(&made, &[&dry_run, &unapproved], None);
    })
    .await;
}

// --- 4, 5 and 8: the plan after an import, then apply.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_import_apply_replaces_the_hand_made_key_and_credential() {
    within(TEST_TIMEOUT, import_plan_apply(GuideVariant::PolicyTemplate, "plan_after_import")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_import_with_sse_kms_apply_replaces_the_hand_made_key_and_credential() {
    within(TEST_TIMEOUT, import_plan_apply(GuideVariant::SseKms, "plan_after_import_with_sse_kms")).await;
}

async fn import_plan_apply(variant: GuideVariant, snapshot: &str) {
    let (world, made) = after_the_guide(variant).await;
    // The policy edited once in the console: a second version, the default (IAM refuses to
    // delete a policy with other versions, so the delete must remove them first).
    let edited = world.moto.iam_client().create_policy_version().policy_arn(&made.policy_arn);
    let edited = edited.policy_document(made.policy_document.to_string()).set_as_default(true).send().await;
    edited.expect("moto makes a second version of the guide's policy");
    let import = world.stowage(&["import", SPEC, "--auto-approve"]).await;
    assert_eq!(import.code, Some(0), "the import failed\n{import}");

    // The plan no longer refuses: it replaces the key and the credential, creates the policy.
    let plan = world.stowage(&["plan", SPEC]).await;
    assert_eq!(plan.code, Some(0), "the plan after the import\n{plan}");
    assert!(!plan.stdout.contains(REFUSAL), "the plan still refuses what was imported\n{plan}");
    assert!(!plan.stdout.contains("error:"), "the plan after the import has errors\n{plan}");
    for (address, what) in [
        (ACCESS_KEY_ADDRESS, "must be replaced"),
        (CREDENTIAL_ADDRESS, "must be replaced"),
        (POLICY_ADDRESS, "will be created"),
        (ATTACHMENT_ADDRESS, "will be destroyed"),
    ] {
        let header = format!("# {address} {what}");
        assert!(plan.stdout.contains(&header), "the plan has no `{header}`\n{plan}");
    }
    insta::with_settings!({ filters => insta_filters() }, {
        insta::assert_snapshot!(snapshot, plan.stdout);
    });

    // Apply, watching Twilio's log: the settings move to the new credential before the old one
    // is deleted.
    let twilio_mark = world.twilio_log_mark();
    let apply = world.stowage(&["apply", SPEC, "--auto-approve"]).await;
    assert_eq!(apply.code, Some(0), "the apply after the import failed\n{apply}");
    let detailed = world.stowage(&["plan", SPEC, "--detailed-exitcode"]).await;
    assert_eq!(detailed.code, Some(0), "the plan after the apply still has something to do\n{detailed}");

    // AWS: the user's one key is a new one; the hand-made one is gone.
    let keys = world.moto.access_key_ids(USER).await;
    assert_eq!(keys.len(), 1, "the user's access keys after the apply: {keys:?}\n{apply}");
    let new_key = keys[0].clone();
    assert_ne!(new_key, made.access_key_id, "the hand-made access key was kept\n{apply}");

    // IAM: the inline policy was put before the guide's managed policy was detached (the user
    // could write throughout), and the policy, which nothing else uses, is deleted.
    let iam: Vec<String> = world.aws.requests().iter().map(|request| request.operation.clone()).collect();
    let put = iam.iter().position(|operation| operation == "PutUserPolicy");
    let detached = iam.iter().position(|operation| operation == "DetachUserPolicy");
    assert!(
        matches!((put, detached), (Some(put), Some(detached)) if put < detached),
        "the managed policy was not detached after the inline policy was put: {iam:?}"
    );
    assert_eq!(attached_policies(&world, USER).await, Vec::<String>::new(), "the user's managed policies");
    let policy = world.moto.iam_client().get_policy().policy_arn(&made.policy_arn).send().await;
    assert!(policy.is_err(), "the guide's policy, which nothing else uses, still exists: {policy:?}");
    assert!(state(&world.state_path()).get(ATTACHMENT_ADDRESS).is_none(), "the detached attachment is recorded");

    // Twilio: one credential, a new one, which both settings store with.
    let credentials = world.twilio_aws_credentials().await;
    assert_eq!(credentials.len(), 1, "Twilio's credentials after the apply: {credentials:?}\n{apply}");
    let new_credential = credentials[0].clone();
    assert_ne!(new_credential, made.credential_sid, "the hand-made credential was kept\n{apply}");
    let gone = world.twilio_request(reqwest::Method::GET, &format!("{CREDENTIALS_PATH}/{}", made.credential_sid));
    assert_eq!(gone.send().await.expect("the emulator answers").status(), 404, "the hand-made credential");
    for path in [RECORDING_SETTINGS_PATH, COMPOSITION_SETTINGS_PATH] {
        let settings = world.twilio_get(path).await;
        assert_eq!(settings["aws_credentials_sid"], new_credential.as_str(), "{path}: {settings}");
        assert_eq!(settings["aws_storage_enabled"], true, "{path}: {settings}");
    }

    // The state records the new objects, the taint spent.
    let recorded = state(&world.state_path());
    let key = recorded.get(ACCESS_KEY_ADDRESS).expect("the access key is recorded");
    assert_eq!((key.id.as_str(), &key.tainted), (new_key.as_str(), &None), "the recorded access key");
    assert!(key.deposed.is_empty(), "the old key is still recorded as deposed: {key:?}");
    let credential = recorded.get(CREDENTIAL_ADDRESS).expect("the credential is recorded");
    assert_eq!(credential.id, new_credential, "the recorded credential");
    assert!(credential.deposed.is_empty(), "the old credential is still recorded as deposed: {credential:?}");

    // In Twilio's log: the new credential made, both settings switched to it (each switch runs
    // Twilio's write test with it and succeeds), and only then the old one deleted.
    let twilio = world.twilio_writes_since(twilio_mark);
    let position = |wanted: &str| twilio.iter().position(|request| request == wanted);
    let created = position(&format!("POST {CREDENTIALS_PATH} 201"));
    let recordings = position(&format!("POST {RECORDING_SETTINGS_PATH} 200"));
    let compositions = position(&format!("POST {COMPOSITION_SETTINGS_PATH} 200"));
    let deleted = position(&format!("DELETE {CREDENTIALS_PATH}/{} 204", made.credential_sid));
    let order = (created, recordings, compositions, deleted);
    let in_order = matches!(order, (Some(c), Some(r), Some(s), Some(d)) if c < r && c < s && r < d && s < d);
    assert!(
        in_order,
        "Twilio's writes during the apply are not create, switch both settings, delete the old: {twilio:#?}"
    );

    // A new Twilio test file, written over the guide's one: versioning is on since the apply,
    // so each test file has the guide's version and the one the switch wrote.
    let s3 = world.moto.s3_client(REGION);
    for file in TWILIO_TEST_FILES {
        let versions = s3.list_object_versions().bucket(BUCKET).prefix(file).send().await.expect("moto lists them");
        let count = versions.versions().iter().filter(|version| version.key() == Some(file)).count();
        assert!(count >= 2, "no new version of Twilio's test file {file}: {versions:?}");
    }

    assert_no_secret(&made, &[&import, &plan, &apply, &detailed], Some(&world));
}

// --- --keep-key: the imported key and credential are kept.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_keep_key_the_next_plan_keeps_the_hand_made_key_and_credential() {
    within(TEST_TIMEOUT, async {
        let (world, made) = after_the_guide(GuideVariant::PolicyTemplate).await;
        // Renamed in the console since: the apply updates it in place, and keeps it unproven.
        let renamed = world
            .twilio_request(reqwest::Method::POST, &format!("{CREDENTIALS_PATH}/{}", made.credential_sid))
            .form(&[("FriendlyName", "renamed by hand")])
            .send()
            .await
            .expect("the emulator answers");
        assert_eq!(renamed.status(), 200, "the credential is renamed by hand");
        let marks = Marks::now(&world);

        let import = world.stowage(&["import", SPEC, "--keep-key", "--auto-approve"]).await;
        assert_eq!(import.code, Some(0), "the import failed\n{import}");
        assert_no_writes(&world, &marks, "the import").await;
        let recorded = state(&world.state_path());
        let key = recorded.get(ACCESS_KEY_ADDRESS).expect("the access key is recorded");
        assert_eq!(key.id, made.access_key_id, "the hand-made access key\n{import}");
        assert_eq!(key.tainted, None, "--keep-key, yet the key is marked for replacement\n{import}");
        // Which key the credential holds is recorded, and marked as taken on trust.
        let credential = recorded.get(CREDENTIAL_ADDRESS).expect("the credential is recorded");
        assert_eq!(credential.tainted, None, "--keep-key, yet the credential is marked for replacement\n{import}");
        assert_eq!(
            credential.attributes.get("access_key_id").and_then(Value::as_str),
            Some(made.access_key_id.as_str()),
            "the credential is not recorded as holding the hand-made key"
        );
        let unproven = credential.unproven.as_deref().unwrap_or_default();
        assert!(unproven.contains("taken on trust"), "the pairing is not marked unproven: {credential:?}");
        assert!(import.stdout.contains("taken on trust"), "the import does not say what it takes on trust\n{import}");

        let plan = world.stowage(&["plan", SPEC]).await;
        assert_eq!(plan.code, Some(0), "the plan after the import\n{plan}");
        assert!(
            !plan.stdout.contains(&format!("# {ACCESS_KEY_ADDRESS} ")),
            "--keep-key, yet the plan changes the key\n{plan}"
        );
        let in_place = format!("# {CREDENTIAL_ADDRESS} will be updated in place");
        assert!(plan.stdout.contains(&in_place), "the renamed credential is not updated in place\n{plan}");

        // The apply keeps them (and the mark); verify warns of the unproven pairing.
        let apply = world.stowage(&["apply", SPEC, "--auto-approve"]).await;
        assert_eq!(apply.code, Some(0), "the apply after the import failed\n{apply}");
        assert_eq!(world.moto.access_key_ids(USER).await, vec![made.access_key_id.clone()], "the user's keys");
        assert_eq!(world.twilio_aws_credentials().await, vec![made.credential_sid.clone()], "Twilio's credentials");
        let after = state(&world.state_path());
        let credential = after.get(CREDENTIAL_ADDRESS).expect("the credential is recorded");
        assert_eq!(credential.unproven.as_deref(), Some(unproven), "the apply dropped the unproven mark");
        let verify = world.stowage(&["verify", SPEC]).await;
        assert_eq!(verify.code, Some(0), "a warning fails verify\n{verify}");
        insta::with_settings!({ filters => insta_filters() }, {
            insta::assert_snapshot!("verify_after_keep_key", verify.stdout);
        });
        let json = world.stowage(&["verify", SPEC, "--format", "json"]).await;
        let report: Value = serde_json::from_str(&json.stdout).unwrap_or_else(|error| panic!("{error}\n{json}"));
        let checks = report["findings"].as_array().cloned().unwrap_or_default();
        let pairing = checks.iter().find(|check| check["check"] == "twilio_aws_credential.main.unproven");
        assert_eq!(pairing.map(|check| check["status"].clone()), Some(Value::from("warn")), "{report:#}");
        // As the hint says: a rotation replaces both with what stowage makes and tests.
        let rotate = world.stowage(&["rotate", SPEC, "--auto-approve"]).await;
        assert_eq!(rotate.code, Some(0), "the rotation failed\n{rotate}");
        let rotated = state(&world.state_path());
        let credential = rotated.get(CREDENTIAL_ADDRESS).expect("the credential is recorded");
        assert_ne!(credential.id, made.credential_sid, "the hand-made credential was kept");
        assert_eq!(credential.unproven, None, "the new credential is still marked unproven");
        assert_no_secret(&made, &[&import, &plan, &apply, &verify, &json, &rotate], Some(&world));
    })
    .await;
}

// --- Before any import, plan's refusal points at it.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_refuses_what_the_guide_made_and_says_to_import_it() {
    within(TEST_TIMEOUT, async {
        let (world, made) = after_the_guide(GuideVariant::PolicyTemplate).await;
        let plan = world.stowage(&["plan", SPEC]).await;
        assert_eq!(plan.code, Some(1), "the plan took what the person made\n{plan}");
        for address in [BUCKET_ADDRESS, USER_ADDRESS] {
            let mut refusal =
                plan.stdout.lines().skip_while(|line| !(line.contains(address) && line.contains(REFUSAL)));
            let hint = refusal.nth(1).unwrap_or_default();
            assert!(hint.contains("stowage import"), "the refusal of {address} does not hint `stowage import`\n{plan}");
        }
        assert!(!world.state_path().exists(), "the refused plan wrote a state\n{plan}");
        assert_no_secret(&made, &[&plan], None);
    })
    .await;
}

// --- 6: two access keys, then the one picked.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_access_keys_are_refused_until_one_is_picked() {
    within(TEST_TIMEOUT, async {
        let (world, made) = after_the_guide(GuideVariant::PolicyTemplate).await;
        let second = world.moto.iam_client().create_access_key().user_name(USER).send().await;
        let second = second.expect("moto makes a second access key");
        let second = second.access_key().expect("CreateAccessKey answers with the key");
        let (second_id, second_secret) = (second.access_key_id().to_owned(), second.secret_access_key().to_owned());
        let marks = Marks::now(&world);

        let ambiguous = world.stowage(&["import", SPEC, "--auto-approve"]).await;
        assert_eq!(ambiguous.code, Some(1), "an import with two candidate keys\n{ambiguous}");
        assert!(!world.state_path().exists(), "the refused import recorded a state\n{ambiguous}");
        let said = format!("{}{}", ambiguous.stdout, ambiguous.stderr);
        for id in [&made.access_key_id, &second_id] {
            assert!(said.contains(id.as_str()), "the refusal does not name candidate {id}\n{ambiguous}");
        }
        let command = format!("stowage import {SPEC} {ACCESS_KEY_ADDRESS} ");
        assert!(said.contains(&command), "the refusal does not say `{command}ID`\n{ambiguous}");

        // The person picks the key Twilio holds.
        let picked = world.stowage(&["import", SPEC, ACCESS_KEY_ADDRESS, &made.access_key_id, "--auto-approve"]).await;
        assert_eq!(picked.code, Some(0), "the import of the picked key\n{picked}");
        let recorded = state(&world.state_path());
        let addresses: Vec<&str> = recorded.addresses().collect();
        assert_eq!(addresses, [ACCESS_KEY_ADDRESS], "an explicit import records that one object\n{picked}");
        let key = recorded.get(ACCESS_KEY_ADDRESS).expect("the picked key is recorded");
        assert_eq!(key.id, made.access_key_id, "the picked key\n{picked}");
        assert!(key.tainted.is_some(), "the explicitly imported key is not marked for replacement: {key:?}");

        // With the key picked, discovery records the rest and keeps the pick.
        let rest = world.stowage(&["import", SPEC, "--auto-approve"]).await;
        assert_eq!(rest.code, Some(0), "the import after the key was picked\n{rest}");
        let recorded = state(&world.state_path());
        let id_of = |address: &str| recorded.get(address).map(|resource| resource.id.clone());
        assert_eq!(id_of(ACCESS_KEY_ADDRESS), Some(made.access_key_id.clone()), "the pick was kept\n{rest}");
        assert_eq!(id_of(BUCKET_ADDRESS).as_deref(), Some(BUCKET), "the bucket\n{rest}");
        assert_eq!(id_of(USER_ADDRESS).as_deref(), Some(USER), "the user\n{rest}");
        assert_eq!(id_of(CREDENTIAL_ADDRESS), Some(made.credential_sid.clone()), "the credential\n{rest}");

        assert_no_writes(&world, &marks, "the imports").await;
        let mut scan = secret_scan(&made);
        scan.secret("the second key's secret", &second_secret);
        for run in [&ambiguous, &picked, &rest] {
            assert_scan_clean(&scan, run);
        }
    })
    .await;
}

// --- 7: an id that does not exist, an address the spec does not ask for.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_that_does_not_exist_records_nothing() {
    within(TEST_TIMEOUT, async {
        let (world, made) = after_the_guide(GuideVariant::PolicyTemplate).await;
        let marks = Marks::now(&world);

        let missing =
            world.stowage(&["import", SPEC, CREDENTIAL_ADDRESS, MISSING_CREDENTIAL_SID, "--auto-approve"]).await;
        assert_eq!(missing.code, Some(1), "the import of a credential that does not exist\n{missing}");
        assert!(!world.state_path().exists(), "the failed import recorded a state\n{missing}");
        let said = format!("{}{}", missing.stdout, missing.stderr);
        assert!(said.contains(MISSING_CREDENTIAL_SID), "the failure does not name the id\n{missing}");

        // dev.toml asks for no KMS key.
        let unasked = world
            .stowage(&["import", SPEC, KMS_KEY_ADDRESS, "1234abcd-12ab-34cd-56ef-1234567890ab", "--auto-approve"])
            .await;
        assert_eq!(unasked.code, Some(1), "the import of an address the spec does not ask for\n{unasked}");
        assert!(!world.state_path().exists(), "the refused import recorded a state\n{unasked}");

        // With a state: the bucket imported by its name, then the missing credential again.
        let bucket = world.stowage(&["import", SPEC, BUCKET_ADDRESS, BUCKET, "--auto-approve"]).await;
        assert_eq!(bucket.code, Some(0), "the import of the bucket by its name\n{bucket}");
        let bytes = state_bytes(&world);
        let missing_again =
            world.stowage(&["import", SPEC, CREDENTIAL_ADDRESS, MISSING_CREDENTIAL_SID, "--auto-approve"]).await;
        assert_eq!(missing_again.code, Some(1), "the import of a missing credential\n{missing_again}");
        assert_eq!(state_bytes(&world), bytes, "the failed import changed the state\n{missing_again}");
        let missing_key =
            world.stowage(&["import", SPEC, ACCESS_KEY_ADDRESS, "AKIA0000000000000000", "--auto-approve"]).await;
        assert_eq!(missing_key.code, Some(1), "the import of a missing access key\n{missing_key}");
        assert_eq!(state_bytes(&world), bytes, "the failed import changed the state\n{missing_key}");

        assert_no_writes(&world, &marks, "the imports").await;
        assert_no_secret(&made, &[&missing, &unasked, &bucket, &missing_again, &missing_key], Some(&world));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_object_is_imported_by_its_id_and_what_is_taken_over_needs_no_import() {
    within(TEST_TIMEOUT, async {
        let (world, made) = after_the_guide(GuideVariant::PolicyTemplate).await;
        let marks = Marks::now(&world);

        // The bucket and user by their names, the key by its id, the credential by its SID, the
        // managed policy's attachment as `USER/POLICY_ARN`: each recorded.
        let attachment = format!("{USER}/{}", made.policy_arn);
        for (address, id) in [
            (BUCKET_ADDRESS, BUCKET),
            (USER_ADDRESS, USER),
            (ACCESS_KEY_ADDRESS, made.access_key_id.as_str()),
            (CREDENTIAL_ADDRESS, made.credential_sid.as_str()),
            (ATTACHMENT_ADDRESS, attachment.as_str()),
        ] {
            let import = world.stowage(&["import", SPEC, address, id, "--auto-approve"]).await;
            assert_eq!(import.code, Some(0), "the import of {address} {id}\n{import}");
            let recorded = state(&world.state_path());
            let resource = recorded.get(address).unwrap_or_else(|| panic!("{address} is not recorded\n{import}"));
            assert_eq!(resource.id, id, "{address} is recorded with another id");
        }
        // The credential, imported after the key, is recorded as holding it.
        let recorded = state(&world.state_path());
        let credential = recorded.get(CREDENTIAL_ADDRESS).expect("the credential is recorded");
        assert_eq!(
            credential.attributes.get("access_key_id").and_then(Value::as_str),
            Some(made.access_key_id.as_str()),
            "the credential imported alone does not record the key it holds: {credential:?}"
        );

        // The inline policy is taken over by the plan: asking to import it says so, records nothing.
        let bytes = state_bytes(&world);
        let policy = world
            .stowage(&["import", SPEC, POLICY_ADDRESS, "twilio-video-uploader-dev:stowage-twilio-video-upload"])
            .await;
        assert_eq!(policy.code, Some(1), "the import of what needs none\n{policy}");
        assert!(format!("{policy}").contains("needs no import"), "the refusal does not say why\n{policy}");
        assert_eq!(state_bytes(&world), bytes, "the refused import changed the state\n{policy}");

        assert_no_writes(&world, &marks, "the imports").await;
    })
    .await;
}

// --- The SSE-KMS variant with a spec that asks for a KMS key: the bucket's is imported.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kms_key_the_bucket_encrypts_with_is_imported_and_kept() {
    within(TEST_TIMEOUT, async {
        let spec = dev_spec().replace(
            "block_public_access = true\n",
            "block_public_access = true\nencryption = { kms_key = \"create\" }\n",
        );
        assert!(spec.contains("kms_key = \"create\""), "dev.toml changed: {spec}");
        let world = world().plain_output().spec(&spec).start().await;
        let made = follow_the_guide(&world, GuideVariant::SseKms).await;
        let kms_key = made.kms_key.clone().expect("the SSE-KMS variant makes a key");
        let marks = Marks::now(&world);

        let import = world.stowage(&["import", SPEC, "--auto-approve"]).await;
        assert_eq!(import.code, Some(0), "the import failed\n{import}");
        assert_no_writes(&world, &marks, "the import").await;
        let recorded = state(&world.state_path());
        let id = recorded.get(KMS_KEY_ADDRESS).map(|resource| resource.id.as_str());
        assert_eq!(id, Some(kms_key.id.as_str()), "the bucket's KMS key\n{import}");

        let plan = world.stowage(&["plan", SPEC]).await;
        assert_eq!(plan.code, Some(0), "the plan after the import\n{plan}");
        assert!(!plan.stdout.contains(REFUSAL), "the plan still refuses what was imported\n{plan}");
        for what in ["will be destroyed", "must be replaced", "will be created"] {
            let header = format!("# {KMS_KEY_ADDRESS} {what}");
            assert!(!plan.stdout.contains(&header), "the plan after the import: `{header}`\n{plan}");
        }
        assert_no_secret(&made, &[&import, &plan], Some(&world));
    })
    .await;
}

// --- Helpers.

/// A fresh world (plain output, for snapshots) in which the person followed the guide.
// --- Another environment's state: refused before anything is read.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_environments_state_is_refused_and_left_as_it_was() {
    within(TEST_TIMEOUT, async {
        let (world, _made) = after_the_guide(GuideVariant::PolicyTemplate).await;
        let prod = stowage_state::State::new("prod", "0.0.0");
        stowage_state::LocalStateFile::new(world.state_path()).overwrite(&prod).expect("the state is written");
        let bytes = state_bytes(&world);
        let marks = Marks::now(&world);

        let import = world.stowage(&["import", SPEC, "--auto-approve"]).await;
        assert_eq!(import.code, Some(1), "the import into prod's state\n{import}");
        assert!(
            format!("{import}").contains("state belongs to environment `prod`"),
            "the refusal does not say whose state it is\n{import}"
        );
        assert_eq!(state_bytes(&world), bytes, "the refused import changed the state\n{import}");
        world.settled().await;
        assert_eq!(world.aws.requests().len(), marks.aws, "the refused import read AWS\n{import}");
        assert!(world.twilio_requests_since(marks.twilio).is_empty(), "the refused import read Twilio\n{import}");
    })
    .await;
}

// --- Encrypted recordings: the public key the settings name is imported, and replaced.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_key_made_by_hand_is_imported_and_replaced_from_the_spec() {
    within(TEST_TIMEOUT, async {
        let (world, made) = after_the_guide(GuideVariant::PolicyTemplate).await;
        // By hand: the recordings' public key stored in Twilio, and the settings encrypting with it.
        let pem_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recordings-2025.pem");
        let pem = std::fs::read_to_string(&pem_path).expect("the fixture key is readable");
        std::fs::write(world.sandbox.path().join("recordings.pem"), &pem).expect("the key is copied");
        let created = world
            .twilio_request(reqwest::Method::POST, PUBLIC_KEYS_PATH)
            .form(&[("PublicKey", pem.as_str()), ("FriendlyName", "recordings key")])
            .send()
            .await
            .expect("the emulator answers");
        assert_eq!(created.status(), 201, "the public key is made by hand");
        let key: Value = created.json().await.expect("a public key");
        let key_sid = key["sid"].as_str().expect("the key has a SID").to_owned();
        let encrypted = world
            .twilio_request(reqwest::Method::POST, RECORDING_SETTINGS_PATH)
            .form(&[
                ("FriendlyName", "stowage dev"),
                ("AwsCredentialsSid", made.credential_sid.as_str()),
                ("AwsS3Url", made.recordings_url.as_str()),
                ("AwsStorageEnabled", "true"),
                ("EncryptionKeySid", key_sid.as_str()),
                ("EncryptionEnabled", "true"),
            ])
            .send()
            .await
            .expect("the emulator answers");
        assert_eq!(encrypted.status(), 200, "the recordings are encrypted by hand");
        world.rewrite_spec(&dev_spec().replace(
            "[recordings]\nstore_in_s3 = true\n",
            "[recordings]\nstore_in_s3 = true\nencryption_public_key = \"recordings.pem\"\n",
        ));
        let marks = Marks::now(&world);

        // Found through the settings, recorded, and marked for replacement: Twilio never returns
        // the key, so whether it is the spec's cannot be known.
        let import = world.stowage(&["import", SPEC, "--auto-approve"]).await;
        assert_eq!(import.code, Some(0), "the import failed\n{import}");
        assert_no_writes(&world, &marks, "the import").await;
        let recorded = state(&world.state_path());
        let public_key = recorded.get(PUBLIC_KEY_ADDRESS).unwrap_or_else(|| panic!("no public key recorded\n{import}"));
        assert_eq!(public_key.id, key_sid, "the recorded public key");
        let why = public_key.tainted.as_deref().unwrap_or_default();
        assert!(why.contains("`public_key_sha256` cannot be read back"), "not marked for replacement: {public_key:?}");

        // The same, explicitly by its SID, into a fresh state.
        std::fs::remove_file(world.state_path()).expect("the state is removed");
        let one = world.stowage(&["import", SPEC, PUBLIC_KEY_ADDRESS, &key_sid, "--auto-approve"]).await;
        assert_eq!(one.code, Some(0), "the import by SID failed\n{one}");
        let recorded = state(&world.state_path());
        let public_key = recorded.get(PUBLIC_KEY_ADDRESS).unwrap_or_else(|| panic!("no public key recorded\n{one}"));
        assert_eq!((public_key.id.as_str(), public_key.tainted.is_some()), (key_sid.as_str(), true), "{one}");
        std::fs::remove_file(world.state_path()).expect("the state is removed");
        let import = world.stowage(&["import", SPEC, "--auto-approve"]).await;
        assert_eq!(import.code, Some(0), "the import failed\n{import}");

        // Apply: a public key made from the spec's PEM, the recordings encrypted with it, the
        // hand-made one deleted; then nothing left to do.
        let apply = world.stowage(&["apply", SPEC, "--auto-approve"]).await;
        assert_eq!(apply.code, Some(0), "the apply after the import failed\n{apply}");
        let keys = world.twilio_public_keys().await;
        assert_eq!(keys.len(), 1, "Twilio's public keys after the apply: {keys:?}\n{apply}");
        assert_ne!(keys[0], key_sid, "the hand-made public key was kept\n{apply}");
        let settings = world.twilio_get(RECORDING_SETTINGS_PATH).await;
        assert_eq!(settings["encryption_key_sid"], keys[0].as_str(), "{settings}");
        assert_eq!(settings["encryption_enabled"], true, "{settings}");
        let detailed = world.stowage(&["plan", SPEC, "--detailed-exitcode"]).await;
        assert_eq!(detailed.code, Some(0), "the plan after the apply still has something to do\n{detailed}");
    })
    .await;
}

// --- The guide's managed policy, used elsewhere too: detached, never deleted.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_policy_another_user_uses_is_detached_and_kept() {
    within(TEST_TIMEOUT, async {
        let (world, made) = after_the_guide(GuideVariant::PolicyTemplate).await;
        let iam = world.moto.iam_client();
        iam.create_user().user_name("someone-else").send().await.expect("moto creates the other user");
        let attached = iam.attach_user_policy().user_name("someone-else").policy_arn(&made.policy_arn).send().await;
        attached.expect("moto attaches the policy to the other user");

        let import = world.stowage(&["import", SPEC, "--auto-approve"]).await;
        assert_eq!(import.code, Some(0), "the import failed\n{import}");
        let apply = world.stowage(&["apply", SPEC, "--auto-approve"]).await;
        assert_eq!(apply.code, Some(0), "the apply after the import failed\n{apply}");

        assert_eq!(attached_policies(&world, USER).await, Vec::<String>::new(), "the uploader's managed policies");
        assert_eq!(attached_policies(&world, "someone-else").await, vec![made.policy_arn.clone()], "the other user's");
        let policy = iam.get_policy().policy_arn(&made.policy_arn).send().await;
        assert!(policy.is_ok(), "the policy another user uses was deleted: {policy:?}");
        let detailed = world.stowage(&["plan", SPEC, "--detailed-exitcode"]).await;
        assert_eq!(detailed.code, Some(0), "the plan after the apply still has something to do\n{detailed}");
    })
    .await;
}

/// The ARNs of the managed policies attached to `user`, as moto lists them.
async fn attached_policies(world: &World, user: &str) -> Vec<String> {
    let listed = world.moto.iam_client().list_attached_user_policies().user_name(user).send().await;
    let listed = listed.unwrap_or_else(|error| panic!("moto lists {user}'s managed policies: {error:?}"));
    listed.attached_policies().iter().filter_map(|policy| policy.policy_arn().map(str::to_owned)).collect()
}

async fn after_the_guide(variant: GuideVariant) -> (World, HandMade) {
    let world = world().plain_output().start().await;
    let made = follow_the_guide(&world, variant).await;
    assert!(world.aws.requests().is_empty(), "the person's AWS calls went through stowage's proxy");
    (world, made)
}

/// Where the proxy's journal and the emulator's log end now. The guide's own requests bypass
/// the AWS proxy but its Twilio POSTs are in the emulator's log, hence the mark.
struct Marks {
    aws: usize,
    twilio: usize,
}

impl Marks {
    fn now(world: &World) -> Marks {
        Marks { aws: world.aws.requests().len(), twilio: world.twilio_log_mark() }
    }
}

/// Neither AWS (through the proxy) nor Twilio (in the emulator's log) saw a write since `marks`.
async fn assert_no_writes(world: &World, marks: &Marks, what: &str) {
    world.settled().await;
    let aws: Vec<String> =
        world.aws.requests()[marks.aws..].iter().filter(|request| request.is_write).map(ToString::to_string).collect();
    assert!(aws.is_empty(), "{what} wrote to AWS: {aws:?}");
    let twilio = world.twilio_writes_since(marks.twilio);
    assert!(twilio.is_empty(), "{what} wrote to Twilio: {twilio:?}");
}

fn state_bytes(world: &World) -> Vec<u8> {
    std::fs::read(world.state_path()).expect("the state file is readable")
}

/// The hand-made secret, searched for in every form; the spec and the account are public.
fn secret_scan(made: &HandMade) -> SecretScan {
    let spec = dev_spec();
    let mut scan = SecretScan::new(&[spec.as_str(), TEST_ACCOUNT_SID]);
    scan.secret("the hand-made secret access key", made.secret_access_key.expose());
    scan
}

fn assert_scan_clean(scan: &SecretScan, run: &Run) {
    let printed = format!("{}\n{}", run.stdout, run.stderr);
    let leaks = scan.leaks_in(&format!("`stowage {}`", run.command), &printed);
    assert!(leaks.is_empty(), "{leaks:?}\n{run}");
    let lookalikes = scan.aws_secret_lookalikes(&printed);
    assert!(lookalikes.is_empty(), "AWS secrets in `stowage {}`: {lookalikes:?}", run.command);
}

/// No run printed the hand-made secret, and the state (when `world` is given and has one)
/// holds it nowhere.
fn assert_no_secret(made: &HandMade, runs: &[&Run], world: Option<&World>) {
    let scan = secret_scan(made);
    for run in runs {
        assert_scan_clean(&scan, run);
    }
    let Some(world) = world else { return };
    let files: BTreeSet<_> = [world.state_path(), world.sandbox.backup_path(SPEC)].into_iter().collect();
    for path in files.into_iter().filter(|path| path.exists()) {
        let text = std::fs::read_to_string(&path).expect("the state is text");
        let leaks = scan.leaks_in(&path.display().to_string(), &text);
        assert!(leaks.is_empty(), "{leaks:?}");
        let parsed: Value = serde_json::from_str(&text).expect("the state is JSON");
        assert!(parsed.is_object(), "{}", path.display());
    }
}

//! `stowage alerts` end to end, against moto (enforcing IAM, as AWS does) and the Twilio
//! emulator, which finishes media files on demand and uploads them as Twilio does: a healthy
//! environment stores them under its prefixes and `alerts` finds nothing; each breakage made
//! outside stowage makes the uploads fail with the code real Twilio raises, `alerts` names the
//! code, the count and the cause; `apply` repairs; media are stored again; and a window after
//! the repair is quiet.

mod common;

use std::time::Duration;

use common::{put_policy, world};
use serde_json::{Value, json};
use stowage_test_support::dev::{BUCKET, REGION, USER};
use stowage_test_support::twilio_emulator::{AlertRequest, MediaKind, MediaOutcome};
use stowage_test_support::{World, insta_filters, within};

const SPEC: &str = "dev.toml";
const TEST_TIMEOUT: Duration = Duration::from_secs(300);
/// How far the emulator's records are moved back to stand for time passing after a repair:
/// beyond the window of `alerts --since 1h`.
const LATER: Duration = Duration::from_secs(2 * 60 * 60);

async fn applied(world: &World) {
    let apply = world.stowage(&["apply", SPEC, "--auto-approve"]).await;
    assert_eq!(apply.code, Some(0), "the apply failed\n{apply}");
}

async fn media(world: &World, kind: MediaKind, count: u32) -> MediaOutcome {
    world.emulator.simulate_media(kind, count).await.expect("the emulator finishes media")
}

/// `stowage alerts dev.toml --since 1h --format json`: its exit code and report.
async fn alerts(world: &World) -> (Option<i32>, Value) {
    let run = world.stowage(&["alerts", SPEC, "--since", "1h", "--format", "json"]).await;
    let report = serde_json::from_str(&run.stdout).unwrap_or_else(|error| panic!("not JSON ({error})\n{run}"));
    (run.code, report)
}

/// The report's group for `code`.
fn group(report: &Value, code: u16) -> &Value {
    let codes = report["codes"].as_array().expect("codes");
    codes.iter().find(|group| group["code"] == code).unwrap_or_else(|| panic!("no group for {code}: {report:#}"))
}

/// The likely cause's text of a group, whatever its shape.
fn cause(group: &Value) -> String {
    group["likely_cause"].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_breakage_is_found_with_its_code_and_cause_and_quiet_again_after_apply() {
    within(TEST_TIMEOUT, async {
        let world = world().enforce_iam().start().await;
        applied(&world).await;

        // Healthy: stored under each prefix, nothing to report.
        let recordings = media(&world, MediaKind::Recording, 2).await;
        let compositions = media(&world, MediaKind::Composition, 1).await;
        assert_eq!((recordings.stored.len(), recordings.failed.len()), (2, 0), "{recordings:?}");
        assert_eq!((compositions.stored.len(), compositions.failed.len()), (1, 0), "{compositions:?}");
        let s3 = world.moto.s3_client(REGION);
        for (stored, prefix) in [(&recordings.stored, "recordings/"), (&compositions.stored, "compositions/")] {
            for file in stored {
                assert!(file.key.starts_with(prefix), "{} is not under {prefix}", file.key);
                let head = s3.head_object().bucket(BUCKET).key(&file.key).send().await;
                assert!(head.is_ok(), "{} is not in the bucket", file.key);
            }
        }
        assert_eq!(alerts(&world).await.0, Some(0));

        let iam = world.moto.iam_client();
        let breakages: Vec<(&str, u16, &str)> = vec![
            ("the policy narrowed to another prefix", 53615, "policy"),
            ("the access key deactivated", 53611, "inactive"),
            ("the Twilio credential deleted", 53613, "credential"),
            ("the bucket encrypted with a KMS key the uploader may not use", 53615, "KMS"),
        ];
        for (what, code, cause_word) in breakages {
            match code {
                53615 if what.contains("policy") => {
                    let narrowed = json!({
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Effect": "Allow",
                            "Action": "s3:PutObject",
                            "Resource": format!("arn:aws:s3:::{BUCKET}/elsewhere/*"),
                        }],
                    });
                    put_policy(&world, narrowed).await;
                }
                53611 => {
                    let key = world.moto.access_key_ids(USER).await.remove(0);
                    let inactive = aws_sdk_iam::types::StatusType::Inactive;
                    iam.update_access_key().user_name(USER).access_key_id(key).status(inactive).send().await.unwrap();
                }
                53613 => {
                    let credential = world.twilio_aws_credentials().await.remove(0);
                    let path = format!("/v1/Credentials/AWS/{credential}");
                    let deleted = world.twilio_request(reqwest::Method::DELETE, &path).send().await.unwrap();
                    assert_eq!(deleted.status(), reqwest::StatusCode::NO_CONTENT);
                }
                _ => encrypt_with_a_key_the_uploader_may_not_use(&world).await,
            }

            let failed = media(&world, MediaKind::Recording, 3).await;
            assert_eq!(failed.stored.len(), 0, "{what}: stored anyway: {failed:?}");
            assert!(failed.failed.iter().all(|file| file.error_code == u32::from(code)), "{what}: {failed:?}");
            let (exit, report) = alerts(&world).await;
            assert_eq!(exit, Some(2), "{what}: alerts found nothing\n{report:#}");
            let found = group(&report, code);
            assert_eq!(found["count"], 3, "{what}: {found:#}");
            assert!(
                cause(found).to_lowercase().contains(&cause_word.to_lowercase()),
                "{what}: the cause does not name {cause_word}: {found:#}"
            );
            assert_eq!(group(&report, 53616)["count"], 3, "{what}: the recordings deleted after their retries");
            if what.contains("credential") {
                let human = world.stowage(&["alerts", SPEC, "--since", "1h"]).await;
                insta::with_settings!({ filters => insta_filters() }, {
                    insta::assert_snapshot!("alerts_credential_deleted", human.stdout);
                });
            }

            applied(&world).await;
            let repaired = media(&world, MediaKind::Recording, 2).await;
            assert_eq!(
                (repaired.stored.len(), repaired.failed.len()),
                (2, 0),
                "{what}: apply did not repair: {repaired:?}"
            );
            world.emulator.backdate(LATER);
            let (exit, report) = alerts(&world).await;
            assert_eq!(exit, Some(0), "{what}: a window after the repair is not quiet\n{report:#}");
        }
    })
    .await;
}

/// The bucket's default encryption switched, outside stowage, to a new KMS key whose policy
/// and the uploader's policy give the uploader nothing.
async fn encrypt_with_a_key_the_uploader_may_not_use(world: &World) {
    use aws_sdk_s3::types::{
        ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
        ServerSideEncryptionRule,
    };
    let key = world.moto.kms_client(REGION).create_key().send().await.expect("moto makes a key");
    let arn = key.key_metadata().and_then(|metadata| metadata.arn()).expect("an ARN").to_owned();
    let by_default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::AwsKms)
        .kms_master_key_id(arn)
        .build()
        .unwrap();
    let rule = ServerSideEncryptionRule::builder().apply_server_side_encryption_by_default(by_default).build();
    let configuration = ServerSideEncryptionConfiguration::builder().rules(rule).build().unwrap();
    let s3 = world.moto.s3_client(REGION);
    s3.put_bucket_encryption().bucket(BUCKET).server_side_encryption_configuration(configuration).send().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_read_past_one_page_and_windows_beyond_thirty_days_are_refused() {
    within(TEST_TIMEOUT, async {
        let world = world().start().await;
        applied(&world).await;
        let request = AlertRequest { error_code: 53615, count: 1050, ..AlertRequest::default() };
        world.emulator.add_alerts(&request).expect("the emulator adds alerts");
        let (exit, report) = alerts(&world).await;
        assert_eq!(exit, Some(2), "{report:#}");
        assert_eq!(group(&report, 53615)["count"], 1050, "not every page was read");
        let pages = world
            .emulator
            .requests()
            .iter()
            .filter(|request| request.method == "GET" && request.path == "/v1/Alerts")
            .count();
        assert!(pages >= 2, "the alerts were read in {pages} page(s)");

        world.aws.clear();
        let mark = world.twilio_log_mark();
        let refused = world.stowage(&["alerts", SPEC, "--since", "31d"]).await;
        assert_eq!(refused.code, Some(1), "{refused}");
        assert!(refused.stderr.contains("keeps alerts for 30 days"), "{refused}");
        assert_eq!(world.aws.requests(), Vec::new(), "a refused window called AWS");
        assert_eq!(world.twilio_requests_since(mark), Vec::new(), "a refused window called Twilio");

        // Drift and verify mention them, in one line, and their own exit codes are unchanged.
        for command in ["drift", "verify"] {
            let run = world.stowage(&[command, SPEC]).await;
            assert_eq!(run.code, Some(0), "{run}");
            let mentions: Vec<&str> =
                run.stderr.lines().filter(|line| line.contains("storage alert(s) in the last 24 hours")).collect();
            assert_eq!(mentions.len(), 1, "{command} does not mention the alerts in one line\n{run}");
        }
    })
    .await;
}

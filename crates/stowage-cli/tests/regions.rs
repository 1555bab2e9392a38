//! Regions, end to end: a bucket in a region AWS launched after 20 March 2019 has no
//! `BUCKET.s3-REGION.amazonaws.com` host, and the Twilio emulator, like S3, does not answer
//! there. stowage gives Twilio the dot form in such a region, and `verify` checks the host.

mod common;

use common::world;
use stowage_test_support::{World, assert_exit, dev_spec};

async fn settings_url(world: &World, path: &str) -> String {
    let settings = world.twilio_get(path).await;
    settings["aws_s3_url"].as_str().unwrap_or_else(|| panic!("no URL in {settings}")).to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_in_a_region_launched_after_march_2019_gets_a_url_s3_answers_at() {
    let spec = dev_spec().replacen("region = \"us-east-2\"", "region = \"af-south-1\"", 1);
    let world = world().spec(&spec).start().await;

    assert_exit(&world.stowage(&["apply", "dev.toml", "--auto-approve"]).await, 0);
    assert_eq!(
        settings_url(&world, "/v1/RecordingSettings/Default").await,
        "https://acme-video-dev.s3.af-south-1.amazonaws.com/recordings"
    );
    assert_eq!(
        settings_url(&world, "/v1/CompositionSettings/Default").await,
        "https://acme-video-dev.s3.af-south-1.amazonaws.com/compositions"
    );

    let verify = world.stowage(&["verify", "dev.toml"]).await;
    assert_exit(&verify, 0);
    let report = verify.stdout;
    for line in [
        "✓ recordings.s3_host: S3 answers at `acme-video-dev.s3.af-south-1.amazonaws.com` for a bucket in `af-south-1`",
        "✓ compositions.s3_host: S3 answers at `acme-video-dev.s3.af-south-1.amazonaws.com` for a bucket in `af-south-1`",
    ] {
        assert!(report.contains(line), "no `{line}` in:\n{report}");
    }
    assert_exit(&world.stowage(&["plan", "dev.toml", "--detailed-exitcode"]).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guides_dash_form_stays_where_the_region_has_it() {
    let world = world().start().await;
    assert_exit(&world.stowage(&["apply", "dev.toml", "--auto-approve"]).await, 0);
    assert_eq!(
        settings_url(&world, "/v1/RecordingSettings/Default").await,
        "https://acme-video-dev.s3-us-east-2.amazonaws.com/recordings"
    );
}

//! `stowage graph`, end to end: against moto (behind a recording proxy) and the Twilio
//! emulator, the graph of `examples/dev.toml` in each format, planned now or from a saved plan,
//! and only ever read.

mod common;

use common::world;
use stowage_test_support::assert_exit;

#[tokio::test(flavor = "multi_thread")]
async fn graph_draws_the_plan_in_every_format_and_only_reads() {
    let world = world().start().await;
    let state = world.sandbox.state_path("dev.toml");
    world.aws.clear();
    let twilio_mark = world.twilio_log_mark();

    let mermaid = world.stowage(&["graph", "dev.toml", "--format", "mermaid"]).await;
    assert_exit(&mermaid, 0);
    assert!(mermaid.stdout.starts_with("flowchart LR\n"), "{}", mermaid.stdout);
    assert!(mermaid.stdout.contains("aws_iam_access_key__uploader ==>|secret| twilio_aws_credential__main"));
    insta::assert_snapshot!("dev_first_plan_mermaid", mermaid.stdout);

    let dot = world.stowage(&["graph", "dev.toml"]).await;
    assert_exit(&dot, 0);
    assert!(dot.stdout.starts_with("digraph stowage {\n"), "{}", dot.stdout);
    assert!(dot.stdout.contains("\"aws_s3_bucket.main\" [label=\"aws_s3_bucket.main\\n+ create\""), "{}", dot.stdout);

    let svg = world.stowage(&["graph", "dev.toml", "--format", "svg"]).await;
    assert_exit(&svg, 0);
    assert!(svg.stdout.contains("<svg"), "{}", svg.stdout);
    assert!(svg.stdout.contains("twilio_aws_credential.main"), "{}", svg.stdout);
    assert!(svg.stdout.trim_end().ends_with("</svg>"), "{}", svg.stdout);

    assert_eq!(world.aws.writes(), vec![], "graph must make no AWS write");
    assert!(!world.aws.requests().is_empty(), "graph planned: it read AWS");
    assert_eq!(world.twilio_writes_since(twilio_mark), Vec::<String>::new(), "graph must make no Twilio write");
    assert!(!state.exists(), "graph must not write a state");
}

#[tokio::test(flavor = "multi_thread")]
async fn graph_of_a_saved_plan_calls_nothing() {
    let world = world().start().await;
    assert_exit(&world.stowage(&["plan", "dev.toml", "--out", "first.plan"]).await, 0);
    let planned_now = world.stowage(&["graph", "dev.toml", "--format", "mermaid"]).await;
    assert_exit(&planned_now, 0);
    world.aws.clear();
    let twilio_mark = world.twilio_log_mark();

    let saved = world.stowage(&["graph", "dev.toml", "--plan", "first.plan", "--format", "mermaid"]).await;
    assert_exit(&saved, 0);
    assert_eq!(saved.stdout, planned_now.stdout, "the saved plan draws as the plan made now");
    let svg = world.stowage(&["graph", "dev.toml", "--plan", "first.plan", "--format", "svg"]).await;
    assert_exit(&svg, 0);
    assert!(svg.stdout.contains("<svg"), "{}", svg.stdout);

    assert!(world.aws.requests().is_empty(), "a saved plan's graph calls no AWS");
    assert!(world.twilio_requests_since(twilio_mark).is_empty(), "a saved plan's graph calls no Twilio");
}

#[tokio::test(flavor = "multi_thread")]
async fn graph_without_a_plan_is_the_spec_alone() {
    let world = world().start().await;
    world.aws.clear();
    let twilio_mark = world.twilio_log_mark();
    let output = world.stowage(&["graph", "dev.toml", "--no-plan", "--format", "mermaid"]).await;
    assert_exit(&output, 0);
    assert!(output.stdout.contains("classDef unplanned"), "{}", output.stdout);
    assert!(!output.stdout.contains("create"), "{}", output.stdout);
    assert!(world.aws.requests().is_empty());
    assert!(world.twilio_requests_since(twilio_mark).is_empty());

    let refused = world.stowage(&["graph", "dev.toml", "--no-plan", "--plan", "x.plan"]).await;
    assert_exit(&refused, 1);
}

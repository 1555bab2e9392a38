//! Convergence through the real engine: generated specs (the planner's own spec model) are
//! applied by the `stowage` binary against moto and the Twilio emulator, and the next plan must
//! have nothing to do, from nothing and after an edit. The planner's properties check the same
//! with a fake apply that copies the plan's result back; here every provider, the engine, the
//! state file and the services' real answers are in the loop.
//!
//! Each case is a few applies against real services, so there are few cases, and failures are
//! not shrunk (each shrinking step would be another apply): the failing spec is printed whole.

mod common;
#[path = "../../stowage-plan/tests/spec_model/mod.rs"]
mod spec_model;

use common::world;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use spec_model::{Kms, SpecModel, spec_model};
use stowage_test_support::{Run, TEST_ACCOUNT_SID, World};

/// Generated cases per property: each costs a few seconds of moto and the emulator.
const CASES: u32 = 5;

/// Regions moto 5.2.1 serves S3, IAM and KMS in, of both host forms.
const MOTO_REGIONS: [&str; 6] = ["us-east-1", "us-east-2", "eu-west-1", "ap-southeast-2", "af-south-1", "eu-central-2"];

/// The model, made servable by the local services: no named profile (the test's environment
/// holds the credentials), a KMS key stowage makes instead of one that does not exist, the
/// emulator's account, and a region moto knows. Everything else is as generated.
fn servable(mut model: SpecModel) -> SpecModel {
    model.location.profile = None;
    if matches!(model.encryption, Kms::Existing { .. }) {
        model.encryption = Kms::Create;
    }
    model.twilio.value = TEST_ACCOUNT_SID.to_owned();
    if !MOTO_REGIONS.contains(&model.location.region) {
        model.location.region = MOTO_REGIONS[model.location.bucket.len() % MOTO_REGIONS.len()];
    }
    model
}

fn runner() -> TestRunner {
    TestRunner::new(Config { cases: CASES, max_shrink_iters: 0, failure_persistence: None, ..Config::default() })
}

fn check(output: &Run, expected: i32, what: &str, spec: &str) -> Result<(), TestCaseError> {
    if output.code == Some(expected) {
        return Ok(());
    }
    Err(TestCaseError::fail(format!("{what}: expected exit {expected}\n--- spec\n{spec}\n{output}")))
}

/// Applies `spec` and checks that the next plan has nothing to do.
async fn apply_converges(world: &World, spec: &str) -> Result<(), TestCaseError> {
    world.rewrite_spec(spec);
    check(&world.stowage(&["apply", "dev.toml", "--auto-approve"]).await, 0, "apply", spec)?;
    check(&world.stowage(&["plan", "dev.toml", "--detailed-exitcode"]).await, 0, "the plan after apply", spec)
}

#[test]
fn applying_a_generated_spec_from_nothing_converges() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let world = runtime.block_on(world().start());
    runner()
        .run(&spec_model().prop_map(servable), |model| {
            runtime.block_on(async {
                world.reset();
                apply_converges(&world, &model.toml()).await
            })
        })
        .unwrap_or_else(|failure| panic!("{failure}"));
}

#[test]
fn applying_an_edit_of_a_generated_spec_converges() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let world = runtime.block_on(world().start());
    let cases = (spec_model().prop_map(servable), spec_model().prop_map(servable), 1u16..(1 << 10));
    runner()
        .run(&cases, |(model, other, mask)| {
            let mut edited = model.edited(&other, mask);
            // The bucket stays: it holds Twilio's test files now, and stowage never deletes a
            // bucket that holds objects (tested on its own). The environment stays: a state
            // belongs to one (another's is refused, tested on its own).
            edited.location = model.location.clone();
            edited.environment.clone_from(&model.environment);
            runtime.block_on(async {
                world.reset();
                apply_converges(&world, &model.toml()).await?;
                apply_converges(&world, &edited.toml()).await
            })
        })
        .unwrap_or_else(|failure| panic!("{failure}"));
}

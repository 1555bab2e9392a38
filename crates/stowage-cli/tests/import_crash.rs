//! An import killed (SIGKILL) at any request it makes leaves the state as it was: the import
//! reads, then records everything in one atomic write, so a run that dies before that write
//! leaves no state (or the old one, byte for byte), and never a part of the import.

mod common;

use std::time::Duration;

use common::world;
use stowage_test_support::{AwsProxy, Fault, FaultAction, FaultMatch, GuideVariant, World, follow_the_guide, within};

/// A whole test, once moto is up: an import is a dozen reads, killed at each.
const TEST_TIMEOUT: Duration = Duration::from_secs(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_killed_at_any_request_leaves_the_state_as_it_was() {
    within(TEST_TIMEOUT, async {
        let world = world().start().await;
        follow_the_guide(&world, GuideVariant::SseKms).await;

        // How many requests an import makes on each side: a dry run reads what an import reads.
        world.aws.clear();
        world.twilio.clear();
        let dry = world.stowage(&["import", "dev.toml", "--dry-run"]).await;
        assert_eq!(dry.code, Some(0), "the dry run fails:\n{dry}");
        let positions = [(&world.aws, world.aws.requests().len()), (&world.twilio, world.twilio.requests().len())];
        assert!(positions.iter().all(|(_, count)| *count > 0), "the dry run made no requests:\n{dry}");

        let mut killed = 0;
        for (proxy, count) in positions {
            for position in 0..count {
                killed += usize::from(kill_an_import_at(&world, proxy, position).await);
                assert!(!world.state_path().exists(), "an import killed at request {position} left a state");
            }
        }
        let runs: usize = positions.iter().map(|(_, count)| count).sum();
        assert_eq!(killed, runs, "every request of a clean import is reached again");

        // With the import recorded, a second one killed at any request leaves its bytes.
        let import = world.stowage(&["import", "dev.toml", "--auto-approve"]).await;
        assert_eq!(import.code, Some(0), "the import fails:\n{import}");
        let recorded = std::fs::read(world.state_path()).expect("the import wrote the state");
        for position in 0..positions[0].1 {
            kill_an_import_at(&world, &world.aws, position).await;
            let now = std::fs::read(world.state_path()).expect("the state is still there");
            assert_eq!(now, recorded, "an import killed at request {position} changed the recorded state");
        }
    })
    .await;
}

/// Holds the answer to request `position` at `proxy`, kills the import there; whether it was
/// killed (rather than ending before it).
async fn kill_an_import_at(world: &World, proxy: &AwsProxy, position: usize) -> bool {
    world.aws.clear();
    world.twilio.clear();
    proxy.inject(Fault::new(FaultMatch::Nth(position), FaultAction::HoldAnswer, 1));
    let (_, held) = world.stowage(&["import", "dev.toml", "--auto-approve"]).kill_at_hold(proxy).await;
    // Let go of the held connection before anything else runs.
    world.aws.clear();
    world.twilio.clear();
    held.is_some()
}

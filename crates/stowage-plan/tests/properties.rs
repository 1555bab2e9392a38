//! Properties of the planner over generated specs: it is deterministic, and planning what apply
//! produced leaves nothing to do, from nothing and after any edit of the spec.
//!
//! The specs are TOML text built from a [`SpecModel`] whose every value follows the spec's
//! rules, so each one validates; apply is the fake one of `common` (planned attributes become
//! what exists, with fake ids).

#[allow(dead_code, reason = "each test file uses a part of the shared helpers")]
mod common;
mod spec_model;

use std::collections::BTreeMap;

use common::{applied, human, untouched_account};
use proptest::prelude::*;
use spec_model::{BucketFlags, Kms, Location, Optional, Section, SpecModel, StorageModel, UploaderModel, spec_model};
use stowage_plan::render::{self, HumanOptions};
use stowage_plan::{DesiredResource, Observations, Plan, Prior, desired_resources, plan, steps};

/// Each property runs this many cases: a few seconds on two cores.
const CASES: u32 = 128;

/// What the spec text asks for; a generated spec that does not validate fails the case with
/// the text and every diagnostic.
fn desired(text: &str) -> Result<Vec<DesiredResource>, TestCaseError> {
    match stowage_spec::parse("generated.toml", text) {
        Ok(validated) => Ok(desired_resources(&validated.spec)),
        Err(errors) => {
            let diagnostics: Vec<String> = errors
                .diagnostics
                .iter()
                .map(|diagnostic| {
                    let (line, column) = diagnostic.line_col();
                    format!("{line}:{column}: {}", diagnostic.message())
                })
                .collect();
            Err(TestCaseError::fail(format!("generated spec is invalid:\n{text}\n{}", diagnostics.join("\n"))))
        }
    }
}

/// The JSON plan as the CLI writes it.
fn json_text(plan: &Plan) -> String {
    serde_json::to_string_pretty(&render::json(plan)).expect("a JSON plan serializes")
}

/// Plans twice from the same inputs and checks both plans, and their renderings, are equal.
fn plan_deterministically(
    desired: &[DesiredResource],
    prior: &Prior,
    observations: &Observations,
) -> Result<Plan, TestCaseError> {
    let first = plan(desired, prior, observations);
    let second = plan(desired, prior, observations);
    prop_assert_eq!(&first, &second, "two plans of the same inputs differ");
    prop_assert_eq!(json_text(&first), json_text(&second), "two JSON renderings of the same inputs differ");
    let options = HumanOptions { color: false, detail: true };
    prop_assert_eq!(render::human(&first, options), render::human(&second, options));
    Ok(first)
}

/// Plans from nothing and applies: the converged prior and what a refresh then finds.
fn apply_from_nothing(desired: &[DesiredResource]) -> Result<(Plan, Prior, Observations), TestCaseError> {
    let prior = Prior::empty();
    let first = plan_deterministically(desired, &prior, &untouched_account(desired, &prior))?;
    prop_assert!(!first.has_errors(), "a plan from nothing has errors: {:?}", first.diagnostics);
    let (prior, observations) = applied(desired, &first);
    Ok((first, prior, observations))
}

/// Applies `changes` and plans again: nothing may be left to do.
fn assert_converges(desired: &[DesiredResource], changes: &Plan) -> Result<(), TestCaseError> {
    prop_assert!(steps(changes).is_ok(), "the apply steps of the plan form a cycle:\n{}", human(changes));
    let (prior, observations) = applied(desired, changes);
    let again = plan_deterministically(desired, &prior, &observations)?;
    prop_assert!(!again.has_changes(), "planning what apply produced still changes things:\n{}", human(&again));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// The same spec, state and observations give equal plans and byte-identical renderings,
    /// from nothing and from a converged environment; the spec itself reads the same twice.
    #[test]
    fn planning_is_deterministic(model in spec_model()) {
        let text = model.toml();
        let desired_once = desired(&text)?;
        prop_assert_eq!(&desired_once, &desired(&text)?, "the same spec text gives different desired resources");
        let (_, prior, observations) = apply_from_nothing(&desired_once)?;
        plan_deterministically(&desired_once, &prior, &observations)?;
    }

    /// Applying the plan from nothing converges: the next plan has no changes.
    #[test]
    fn applying_from_nothing_converges(model in spec_model()) {
        let desired = desired(&model.toml())?;
        let (first, _, _) = apply_from_nothing(&desired)?;
        assert_converges(&desired, &first)?;
    }

    /// From a converged environment, any edit of the spec plans, applies and then converges.
    #[test]
    fn applying_an_edit_converges(model in spec_model(), other in spec_model(), mask in 1u16..(1 << 10)) {
        let edited = model.edited(&other, mask);
        // S3 cannot move a bucket: the planner refuses a new region for the same name (tested
        // in `planner.rs`), so an edit moves a bucket only under a new name.
        prop_assume!(
            edited.location.bucket != model.location.bucket || edited.location.region == model.location.region
        );
        let desired_before = desired(&model.toml())?;
        let (_, prior, observations) = apply_from_nothing(&desired_before)?;
        let desired_after = desired(&edited.toml())?;
        let changes = plan_deterministically(&desired_after, &prior, &observations)?;
        prop_assert!(
            !changes.has_errors(),
            "the edit is refused:\n--- before ---\n{}\n--- after ---\n{}\n{:?}",
            model.toml(),
            edited.toml(),
            changes.diagnostics
        );
        assert_converges(&desired_after, &changes)?;
    }
}

#[test]
fn generated_specs_render_the_dev_example() {
    // Guards the generator: with dev's values, the model renders a spec that means the same as
    // the example the repository ships.
    let model = SpecModel {
        environment: "dev".to_owned(),
        location: Location { region: "us-east-2", profile: None, bucket: "acme-video-dev".to_owned() },
        bucket_flags: BucketFlags { versioning: true, block_public_access: Some(true) },
        tags: BTreeMap::from([("team".to_owned(), "video".to_owned()), ("env".to_owned(), "dev".to_owned())]),
        lifecycle: vec![("recordings/".to_owned(), 90), ("compositions/".to_owned(), 365)],
        encryption: Kms::None,
        uploader: Optional {
            present: true,
            value: UploaderModel {
                user_name: "twilio-video-uploader-dev".to_owned(),
                path: Some("/twilio/".to_owned()),
            },
        },
        twilio: Optional { present: true, value: "AC0123456789abcdef0123456789abcdef".to_owned() },
        storage: StorageModel {
            recordings: Some(Section { store_in_s3: true, prefix: Some("recordings/".to_owned()) }),
            compositions: Some(Section { store_in_s3: true, prefix: Some("compositions/".to_owned()) }),
        },
        drift_ignore: Vec::new(),
    };
    assert_eq!(desired(&model.toml()).expect("the dev model validates"), common::desired(common::DEV_SPEC));
}

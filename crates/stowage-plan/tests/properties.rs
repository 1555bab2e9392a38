//! Properties of the planner over generated specs: it is deterministic, and planning what apply
//! produced leaves nothing to do, from nothing and after any edit of the spec.
//!
//! The specs are TOML text built from a [`SpecModel`] whose every value follows the spec's
//! rules, so each one validates; apply is the fake one of `common` (planned attributes become
//! what exists, with fake ids).

#[allow(dead_code, reason = "each test file uses a part of the shared helpers")]
mod common;

use std::collections::BTreeMap;

use common::{applied, human, untouched_account};
use proptest::prelude::*;
use proptest::sample::select;
use stowage_plan::render::{self, HumanOptions};
use stowage_plan::{DesiredResource, Observations, Plan, Prior, desired_resources, plan, steps};
use stowage_spec::{BucketName, KNOWN_REGIONS, Prefix, Region};

/// Each property runs this many cases: a few seconds on two cores.
const CASES: u32 = 128;

/// A spec, as the values a person writes. Rendered with [`SpecModel::toml`].
#[derive(Debug, Clone)]
struct SpecModel {
    environment: String,
    location: Location,
    bucket_flags: BucketFlags,
    tags: BTreeMap<String, String>,
    /// Written prefix and days; normalised prefixes are distinct.
    lifecycle: Vec<(String, u32)>,
    encryption: Kms,
    uploader: Optional<UploaderModel>,
    twilio: Optional<String>,
    storage: StorageModel,
    drift_ignore: Vec<&'static str>,
}

/// What only goes together: S3 cannot move a bucket, so a new region comes with a new name.
#[derive(Debug, Clone)]
struct Location {
    region: &'static str,
    profile: Option<String>,
    bucket: String,
}

#[derive(Debug, Clone)]
struct BucketFlags {
    versioning: bool,
    /// `None` leaves the key out (default `true`).
    block_public_access: Option<bool>,
}

#[derive(Debug, Clone)]
enum Kms {
    None,
    Create,
    /// An existing key, in the spec's region (the ARN is written with it).
    Existing {
        account: String,
        key_id: String,
    },
}

/// A section that may be left out unless storage needs it.
#[derive(Debug, Clone)]
struct Optional<T> {
    present: bool,
    value: T,
}

#[derive(Debug, Clone)]
struct UploaderModel {
    user_name: String,
    /// `None` leaves the key out (default `/`).
    path: Option<String>,
}

/// `[recordings]` and `[compositions]`: generated together, their prefixes never overlap.
#[derive(Debug, Clone)]
struct StorageModel {
    recordings: Option<Section>,
    compositions: Option<Section>,
}

#[derive(Debug, Clone)]
struct Section {
    store_in_s3: bool,
    /// `None` leaves the key out (the section's default prefix).
    prefix: Option<String>,
}

impl StorageModel {
    fn stores_in_s3(&self) -> bool {
        [&self.recordings, &self.compositions].into_iter().flatten().any(|section| section.store_in_s3)
    }
}

impl SpecModel {
    /// The spec file. Storing in S3 brings `[uploader]` and `[twilio]` in, as validation wants.
    fn toml(&self) -> String {
        let mut text = String::new();
        let mut line = |line: String| {
            text.push_str(&line);
            text.push('\n');
        };
        line(format!("[environment]\nname = {}\n", quoted(&self.environment)));
        line(format!("[aws]\nregion = {}", quoted(self.location.region)));
        if let Some(profile) = &self.location.profile {
            line(format!("profile = {}", quoted(profile)));
        }
        let stores = self.storage.stores_in_s3();
        if self.twilio.present || stores {
            line(format!("\n[twilio]\naccount_sid = {}", quoted(&self.twilio.value)));
        }
        line(format!("\n[bucket]\nname = {}", quoted(&self.location.bucket)));
        line(format!("versioning = {}", self.bucket_flags.versioning));
        if let Some(block) = self.bucket_flags.block_public_access {
            line(format!("block_public_access = {block}"));
        }
        let tags: Vec<String> =
            self.tags.iter().map(|(key, value)| format!("{} = {}", quoted(key), quoted(value))).collect();
        line(format!("tags = {{ {} }}", tags.join(", ")));
        match &self.encryption {
            Kms::None => {}
            Kms::Create => line("encryption = { kms_key = \"create\" }".to_owned()),
            Kms::Existing { account, key_id } => {
                let partition = Region::new(self.location.region).expect("a known region").partition();
                let arn = format!("arn:{partition}:kms:{}:{account}:key/{key_id}", self.location.region);
                line(format!("encryption = {{ kms_key = {} }}", quoted(&arn)));
            }
        }
        for (prefix, days) in &self.lifecycle {
            line(format!("\n[[bucket.lifecycle]]\nprefix = {}\nexpire_after_days = {days}", quoted(prefix)));
        }
        if self.uploader.present || stores {
            let uploader = &self.uploader.value;
            line(format!("\n[uploader]\nuser_name = {}", quoted(&uploader.user_name)));
            if let Some(path) = &uploader.path {
                line(format!("path = {}", quoted(path)));
            }
        }
        for (name, section) in [("recordings", &self.storage.recordings), ("compositions", &self.storage.compositions)]
        {
            let Some(section) = section else { continue };
            line(format!("\n[{name}]\nstore_in_s3 = {}", section.store_in_s3));
            if let Some(prefix) = &section.prefix {
                line(format!("prefix = {}", quoted(prefix)));
            }
        }
        if !self.drift_ignore.is_empty() {
            let rules: Vec<String> = self.drift_ignore.iter().map(|rule| quoted(rule)).collect();
            line(format!("\n[drift]\nignore = [{}]", rules.join(", ")));
        }
        text
    }

    /// `self` with the parts `mask` selects taken from `other`: an edit of any size, from
    /// one value to everything.
    fn edited(&self, other: &SpecModel, mask: u16) -> SpecModel {
        let take = |bit: u16| mask & (1 << bit) != 0;
        let mut edited = self.clone();
        if take(0) {
            edited.environment.clone_from(&other.environment);
        }
        if take(1) {
            edited.location = other.location.clone();
        }
        if take(2) {
            edited.bucket_flags = other.bucket_flags.clone();
        }
        if take(3) {
            edited.tags.clone_from(&other.tags);
        }
        if take(4) {
            edited.lifecycle.clone_from(&other.lifecycle);
        }
        if take(5) {
            edited.encryption = other.encryption.clone();
        }
        if take(6) {
            edited.uploader = other.uploader.clone();
        }
        if take(7) {
            edited.twilio = other.twilio.clone();
        }
        if take(8) {
            edited.storage = other.storage.clone();
        }
        if take(9) {
            edited.drift_ignore.clone_from(&other.drift_ignore);
        }
        edited
    }
}

/// A TOML basic string. JSON's escapes (`\"`, `\\`, `\n`, `\u00XX`, …) are all valid TOML.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

/// A prefix as a person may write it (leading slash or not, trailing slash or not) with its
/// normalised form, or the whole bucket.
fn written_prefix() -> impl Strategy<Value = (String, Prefix)> {
    let segments = proptest::collection::vec("[a-zA-Z0-9][a-zA-Z0-9!._()'=,+-]{0,7}", 1..=3);
    let written = (segments, any::<bool>(), any::<bool>()).prop_map(|(segments, leading, trailing)| {
        let joined = segments.join("/");
        format!("{}{joined}{}", if leading { "/" } else { "" }, if trailing { "/" } else { "" })
    });
    prop_oneof![9 => written, 1 => prop_oneof![Just("/".to_owned()), Just(String::new())]].prop_map(|written| {
        let prefix = Prefix::new(&written).expect("generated prefixes are valid");
        (written, prefix)
    })
}

/// Names without dots: Twilio cannot store into a dotted bucket (its certificate check fails),
/// so the spec refuses them whenever something is stored.
fn bucket_name() -> impl Strategy<Value = String> {
    let label = "[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?";
    proptest::collection::vec(label, 1..=3)
        .prop_map(|labels| labels.join("-"))
        .prop_filter("S3 accepts the name", |name| BucketName::new(name).is_ok())
}

/// Regions Twilio can store in (not China's partition).
fn location() -> impl Strategy<Value = Location> {
    let reachable: Vec<&'static str> = KNOWN_REGIONS
        .into_iter()
        .filter(|region| !matches!(stowage_spec::s3_host_form(region), stowage_spec::S3HostForm::Unreachable { .. }))
        .collect();
    (select(reachable), proptest::option::of("[a-z][a-z0-9_-]{0,11}"), bucket_name())
        .prop_map(|(region, profile, bucket)| Location { region, profile, bucket })
}

fn tags() -> impl Strategy<Value = BTreeMap<String, String>> {
    let key = "[A-Za-zé][A-Za-z0-9 _.:/=+@é-]{0,15}".prop_filter("`aws:` is reserved", |key| !key.starts_with("aws:"));
    proptest::collection::btree_map(key, "[A-Za-z0-9 _.:/=+@-]{0,20}", 0..6)
}

/// Lifecycle rules on distinct (normalised) prefixes.
fn lifecycle() -> impl Strategy<Value = Vec<(String, u32)>> {
    let days = prop_oneof![4 => 1u32..=3650, 1 => Just(u32::MAX)];
    proptest::collection::vec((written_prefix(), days), 0..4).prop_map(|rules| {
        let mut seen = Vec::new();
        rules
            .into_iter()
            .filter(|((_, prefix), _)| {
                let new = !seen.contains(prefix);
                seen.push(prefix.clone());
                new
            })
            .map(|((written, _), days)| (written, days))
            .collect()
    })
}

fn encryption() -> impl Strategy<Value = Kms> {
    prop_oneof![
        2 => Just(Kms::None),
        1 => Just(Kms::Create),
        1 => ("[0-9]{12}", "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
            .prop_map(|(account, key_id)| Kms::Existing { account, key_id }),
    ]
}

fn uploader() -> impl Strategy<Value = Optional<UploaderModel>> {
    let path = proptest::collection::vec("[A-Za-z0-9_.+=,@-]{1,10}", 0..=3)
        .prop_map(|segments| if segments.is_empty() { "/".to_owned() } else { format!("/{}/", segments.join("/")) });
    (any::<bool>(), "[A-Za-z0-9+=,.@_-]{1,64}", proptest::option::of(path))
        .prop_map(|(present, user_name, path)| Optional { present, value: UploaderModel { user_name, path } })
}

fn twilio() -> impl Strategy<Value = Optional<String>> {
    (any::<bool>(), "AC[0-9a-f]{32}").prop_map(|(present, value)| Optional { present, value })
}

fn section() -> impl Strategy<Value = Option<Section>> {
    proptest::option::of((any::<bool>(), proptest::option::of(written_prefix()))).prop_map(|section| {
        section.map(|(store_in_s3, prefix)| Section { store_in_s3, prefix: prefix.map(|(written, _)| written) })
    })
}

/// Both sections, their prefixes (written or default) never overlapping.
fn storage() -> impl Strategy<Value = StorageModel> {
    (section(), section()).prop_map(|(recordings, compositions)| StorageModel { recordings, compositions }).prop_filter(
        "recordings and compositions prefixes do not overlap",
        |storage| {
            let prefix = |section: &Option<Section>, default: &str| {
                let written = section.as_ref().and_then(|section| section.prefix.clone());
                Prefix::new(&written.unwrap_or_else(|| default.to_owned())).expect("generated prefixes are valid")
            };
            !prefix(&storage.recordings, "recordings/").overlaps(&prefix(&storage.compositions, "compositions/"))
        },
    )
}

fn drift_ignore() -> impl Strategy<Value = Vec<&'static str>> {
    let rules = [
        "aws_s3_bucket.main.tags",
        "aws_s3_bucket.main.versioning",
        "aws_iam_user.uploader",
        "twilio_video_recording_settings.main.aws_s3_url",
    ];
    proptest::sample::subsequence(rules.to_vec(), 0..=2)
}

fn spec_model() -> impl Strategy<Value = SpecModel> {
    (
        ("[a-z0-9][a-z0-9-]{0,15}", location(), (any::<bool>(), proptest::option::of(any::<bool>()))),
        (tags(), lifecycle(), encryption()),
        (uploader(), twilio(), storage(), drift_ignore()),
    )
        .prop_map(
            |(
                (environment, location, (versioning, block_public_access)),
                (tags, lifecycle, encryption),
                (uploader, twilio, storage, drift_ignore),
            )| SpecModel {
                environment,
                location,
                bucket_flags: BucketFlags { versioning, block_public_access },
                tags,
                lifecycle,
                encryption,
                uploader,
                twilio,
                storage,
                drift_ignore,
            },
        )
}

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
    let options = HumanOptions { color: false };
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

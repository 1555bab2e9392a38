//! Generated specs: a [`SpecModel`] whose every value follows the spec's rules, so each one
//! validates, rendered as TOML. Shared by the planner's properties (`stowage-plan`) and the
//! end-to-end convergence properties (`stowage-cli`, which includes this file by path).
#![allow(dead_code, reason = "each test file uses a part of the model")]

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::sample::select;
use stowage_spec::{BucketName, KNOWN_REGIONS, Prefix, Region};

/// A spec, as the values a person writes. Rendered with [`SpecModel::toml`].
#[derive(Debug, Clone)]
pub struct SpecModel {
    pub environment: String,
    pub location: Location,
    pub bucket_flags: BucketFlags,
    pub tags: BTreeMap<String, String>,
    /// Written prefix and days; normalised prefixes are distinct.
    pub lifecycle: Vec<(String, u32)>,
    pub encryption: Kms,
    pub uploader: Optional<UploaderModel>,
    pub twilio: Optional<String>,
    pub storage: StorageModel,
    pub drift_ignore: Vec<&'static str>,
}

/// What only goes together: S3 cannot move a bucket, so a new region comes with a new name.
#[derive(Debug, Clone)]
pub struct Location {
    pub region: &'static str,
    pub profile: Option<String>,
    pub bucket: String,
}

#[derive(Debug, Clone)]
pub struct BucketFlags {
    pub versioning: bool,
    /// `None` leaves the key out (default `true`).
    pub block_public_access: Option<bool>,
}

#[derive(Debug, Clone)]
pub enum Kms {
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
pub struct Optional<T> {
    pub present: bool,
    pub value: T,
}

#[derive(Debug, Clone)]
pub struct UploaderModel {
    pub user_name: String,
    /// `None` leaves the key out (default `/`).
    pub path: Option<String>,
}

/// `[recordings]` and `[compositions]`: generated together, their prefixes never overlap.
#[derive(Debug, Clone)]
pub struct StorageModel {
    pub recordings: Option<Section>,
    pub compositions: Option<Section>,
}

#[derive(Debug, Clone)]
pub struct Section {
    pub store_in_s3: bool,
    /// `None` leaves the key out (the section's default prefix).
    pub prefix: Option<String>,
}

impl StorageModel {
    pub fn stores_in_s3(&self) -> bool {
        [&self.recordings, &self.compositions].into_iter().flatten().any(|section| section.store_in_s3)
    }
}

impl SpecModel {
    /// The spec file. Storing in S3 brings `[uploader]` and `[twilio]` in, as validation wants.
    pub fn toml(&self) -> String {
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
    pub fn edited(&self, other: &SpecModel, mask: u16) -> SpecModel {
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
pub fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

/// A prefix as a person may write it (leading slash or not, trailing slash or not) with its
/// normalised form, or the whole bucket.
pub fn written_prefix() -> impl Strategy<Value = (String, Prefix)> {
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
pub fn bucket_name() -> impl Strategy<Value = String> {
    let label = "[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?";
    proptest::collection::vec(label, 1..=3)
        .prop_map(|labels| labels.join("-"))
        .prop_filter("S3 accepts the name", |name| BucketName::new(name).is_ok())
}

/// Regions Twilio can store in (not China's partition).
pub fn location() -> impl Strategy<Value = Location> {
    let reachable: Vec<&'static str> = KNOWN_REGIONS
        .into_iter()
        .filter(|region| !matches!(stowage_spec::s3_host_form(region), stowage_spec::S3HostForm::Unreachable { .. }))
        .collect();
    (select(reachable), proptest::option::of("[a-z][a-z0-9_-]{0,11}"), bucket_name())
        .prop_map(|(region, profile, bucket)| Location { region, profile, bucket })
}

pub fn tags() -> impl Strategy<Value = BTreeMap<String, String>> {
    // Spaces inside, never at either end (the spec refuses those).
    let key = "[A-Za-zé]([A-Za-z0-9 _.:/=+@é-]{0,14}[A-Za-z0-9_.:/=+@é-])?"
        .prop_filter("`aws:` is reserved", |key| !key.starts_with("aws:"));
    let value = "([A-Za-z0-9_.:/=+@-]([A-Za-z0-9 _.:/=+@-]{0,18}[A-Za-z0-9_.:/=+@-])?)?";
    proptest::collection::btree_map(key, value, 0..6)
}

/// Lifecycle rules on distinct (normalised) prefixes.
pub fn lifecycle() -> impl Strategy<Value = Vec<(String, u32)>> {
    // The longest S3 takes: its API counts days in a 32-bit signed integer.
    let days = prop_oneof![4 => 1u32..=3650, 1 => Just(2_147_483_647)];
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

pub fn encryption() -> impl Strategy<Value = Kms> {
    prop_oneof![
        2 => Just(Kms::None),
        1 => Just(Kms::Create),
        1 => ("[0-9]{12}", "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
            .prop_map(|(account, key_id)| Kms::Existing { account, key_id }),
    ]
}

pub fn uploader() -> impl Strategy<Value = Optional<UploaderModel>> {
    let path = proptest::collection::vec("[A-Za-z0-9_.+=,@-]{1,10}", 0..=3)
        .prop_map(|segments| if segments.is_empty() { "/".to_owned() } else { format!("/{}/", segments.join("/")) });
    (any::<bool>(), "[A-Za-z0-9+=,.@_-]{1,64}", proptest::option::of(path))
        .prop_map(|(present, user_name, path)| Optional { present, value: UploaderModel { user_name, path } })
}

pub fn twilio() -> impl Strategy<Value = Optional<String>> {
    (any::<bool>(), "AC[0-9a-f]{32}").prop_map(|(present, value)| Optional { present, value })
}

pub fn section() -> impl Strategy<Value = Option<Section>> {
    proptest::option::of((any::<bool>(), proptest::option::of(written_prefix()))).prop_map(|section| {
        section.map(|(store_in_s3, prefix)| Section { store_in_s3, prefix: prefix.map(|(written, _)| written) })
    })
}

/// Both sections, their prefixes (written or default) never overlapping.
pub fn storage() -> impl Strategy<Value = StorageModel> {
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

pub fn drift_ignore() -> impl Strategy<Value = Vec<&'static str>> {
    let rules = [
        "aws_s3_bucket.main.tags",
        "aws_s3_bucket.main.versioning",
        "aws_iam_user.uploader",
        "twilio_video_recording_settings.main.aws_s3_url",
    ];
    proptest::sample::subsequence(rules.to_vec(), 0..=2)
}

pub fn spec_model() -> impl Strategy<Value = SpecModel> {
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

//! The value rules: from structurally sound sections to the typed [`Spec`], checking each
//! value, the rules that span sections, and the domain lints (warnings).

use std::collections::{BTreeMap, BTreeSet};

use serde::de::DeserializeOwned;

use crate::diagnostic::{Diagnostic, ErrorKind};
use crate::file::{
    AwsSection, BucketSection, CompositionsSection, DriftSection, EnvironmentSection, FleetSection, LifecycleRuleEntry,
    LintsSection, RecordingsSection, StateBackendKind, StateSection, SubaccountsEntry, TwilioSection,
    UploaderModeEntry, UploaderSection,
};
use crate::lint::Lint;
use crate::source::{KeyPath, SpecSource};
use crate::spec::{
    AwsSettings, BucketSpec, DriftSettings, EncryptionPublicKey, Environment, Fleet, FleetMembers, LifecycleRule,
    RemoteState, Spec, StorageSpec, TwilioSettings, Uploader, UploaderMode,
};
use crate::structure::Structure;
use crate::values::{
    AccountSid, AccountSidError, BucketName, Encryption, EnvironmentName, IamPath, IamUserName, IgnoreRule,
    InvalidValue, MAX_TAGS, Prefix, Region, check_tag,
};

/// Checks every section that survived the structural check and builds the spec when nothing
/// is wrong. Findings go to `diagnostics`, errors and warnings alike.
pub(crate) fn validate(structure: Structure, source: &SpecSource, diagnostics: &mut Vec<Diagnostic>) -> Option<Spec> {
    let mut checker = Checker { source, diagnostics, structure, allowed: BTreeSet::new() };
    // First: the lints it allows are not reported by the checks below.
    if let Some(lints) = checker.section::<LintsSection>("lints") {
        checker.allowed = lints.allow.into_iter().collect();
    }
    let environment = checker.section("environment").and_then(|section| checker.environment(section));
    let aws = checker.section("aws").and_then(|section| checker.aws(section));
    let twilio = checker.section("twilio").and_then(|section| checker.twilio(section));
    // Fleet mode is what the file asks for, even when `[fleet]` itself is broken.
    let fleet_mode = source.span_of("fleet").is_some();
    // `uploader` as written: unknown when the file's value was refused (and left out).
    let fleet_uploader_kept = source.span_of("fleet.uploader").is_none()
        || checker.structure.sections.get("fleet").is_some_and(|fleet| fleet.get("uploader").is_some());
    let fleet_section = checker.section::<FleetSection>("fleet");
    let fleet_uploader = fleet_section.as_ref().filter(|_| fleet_uploader_kept).map(|section| section.uploader);
    let fleet = fleet_section.and_then(|section| checker.fleet(section, twilio.as_ref()));
    let bucket = checker.section("bucket").and_then(|section| checker.bucket(section));
    let uploader = checker.section("uploader").and_then(|section| checker.uploader(section, fleet_uploader));
    let recordings = checker.section::<RecordingsSection>("recordings").map(|section| {
        checker.storage("recordings", section.store_in_s3, &section.prefix, section.encryption_public_key)
    });
    let compositions = checker.section::<CompositionsSection>("compositions").map(|section| {
        checker.storage("compositions", section.store_in_s3, &section.prefix, section.encryption_public_key)
    });
    let drift = checker.section("drift").map(|section| checker.drift(section));
    let state = checker.section("state").and_then(|section| checker.state(section));

    let stored: Vec<&CheckedStorage> =
        [&recordings, &compositions].into_iter().flatten().filter(|storage| storage.store_in_s3).collect();
    checker.storage_needs(&stored, fleet_mode);
    for storage in [&recordings, &compositions].into_iter().flatten() {
        checker.account_placeholder(storage, fleet_mode);
    }
    if let (Some(recordings), Some(compositions)) = (
        recordings.as_ref().and_then(CheckedStorage::stored_prefix),
        compositions.as_ref().and_then(CheckedStorage::stored_prefix),
    ) {
        checker.prefixes_apart(recordings, compositions);
    }
    if let (Some(aws), Some(bucket)) = (&aws, &bucket) {
        checker.key_in_bucket_region(aws, bucket);
    }
    if recordings.as_ref().is_some_and(|recordings| recordings.store_in_s3) {
        checker.recordings_not_composable();
    }
    // Twilio stores in the bucket: what it cannot reach is an error, not a lint.
    let twilio_stores = !stored.is_empty();
    if let Some(bucket) = &bucket {
        checker.dots_in_bucket_name(&bucket.name, twilio_stores);
    }
    if let Some(aws) = &aws {
        checker.s3_reachable_by_twilio(&aws.region, twilio_stores);
    }

    // Every value that failed a check was reported as an error, so past this point every
    // section present in the file checked out.
    let has_errors = checker.diagnostics.iter().any(|diagnostic| diagnostic.severity() == crate::Severity::Error);
    if has_errors {
        return None;
    }
    Some(Spec {
        environment: environment?,
        aws: aws?,
        twilio,
        fleet,
        bucket: bucket?,
        uploader,
        recordings: recordings.map(CheckedStorage::into_spec).unwrap_or_default(),
        compositions: compositions.map(CheckedStorage::into_spec).unwrap_or_default(),
        drift: drift.unwrap_or_default(),
        state,
        source: source.clone(),
    })
}

/// `[recordings]` or `[compositions]` after its checks; `prefix` is `None` when invalid, and so
/// is `encryption_public_key` (an error was reported then).
struct CheckedStorage {
    name: &'static str,
    store_in_s3: bool,
    prefix: Option<Prefix>,
    encryption_public_key: Option<EncryptionPublicKey>,
}

impl CheckedStorage {
    /// The prefix Twilio writes under, when stored in S3 and valid.
    fn stored_prefix(&self) -> Option<&Prefix> {
        self.prefix.as_ref().filter(|_| self.store_in_s3)
    }

    fn into_spec(self) -> Option<StorageSpec> {
        Some(StorageSpec {
            store_in_s3: self.store_in_s3,
            prefix: self.prefix?,
            encryption_public_key: self.encryption_public_key,
        })
    }
}

struct Checker<'a> {
    source: &'a SpecSource,
    diagnostics: &'a mut Vec<Diagnostic>,
    structure: Structure,
    /// `[lints] allow`: warnings not to report.
    allowed: BTreeSet<Lint>,
}

impl Checker<'_> {
    /// The section's entries as its serde type, if the structural check let it through.
    fn section<T: DeserializeOwned>(&mut self, name: &str) -> Option<T> {
        let value = self.structure.sections.remove(name)?;
        match serde_json::from_value(value) {
            Ok(section) => Some(section),
            Err(error) => {
                // The structural check walks the schema generated from these very types, so
                // this means the two disagree: a bug, reported rather than hidden.
                let path = KeyPath::root().key(name);
                let span = self.source.nearest_span(&path);
                self.push(
                    Diagnostic::error_of(
                        ErrorKind::InvalidValue,
                        self.source,
                        format!("internal error: `[{name}]` passed the schema check but not deserialization: {error}"),
                    )
                    .with_label(span, None),
                );
                None
            }
        }
    }

    fn environment(&mut self, section: EnvironmentSection) -> Option<Environment> {
        let path = KeyPath::root().key("environment");
        let name = self.value(&path.key("name"), EnvironmentName::new(&section.name))?;
        Some(Environment { name, prevent_destroy: section.prevent_destroy })
    }

    fn aws(&mut self, section: AwsSection) -> Option<AwsSettings> {
        let path = KeyPath::root().key("aws");
        let region = self.value(&path.key("region"), Region::new(&section.region));
        if let Some(region) = &region {
            self.known_region(region, &path.key("region"));
        }
        let profile_is_empty = section.profile.as_deref().is_some_and(str::is_empty);
        if profile_is_empty {
            let span = self.source.nearest_span(&path.key("profile"));
            self.push(
                Diagnostic::error_of(ErrorKind::InvalidValue, self.source, "`aws.profile` is empty")
                    .with_label(span, None)
                    .with_help("remove `profile` to use the standard AWS credential chain"),
            );
            return None;
        }
        Some(AwsSettings { region: region?, profile: section.profile })
    }

    fn known_region(&mut self, region: &Region, path: &KeyPath) {
        if region.is_known() {
            return;
        }
        let help = match region.closest_known() {
            Some(known) => format!("did you mean `{known}`? if `{region}` is a new region, ignore this warning"),
            None => format!("if `{region}` is a new region, ignore this warning"),
        };
        let span = self.source.nearest_span(path);
        self.push(
            Diagnostic::warning(Lint::UnknownRegion, self.source, format!("unknown AWS region `{region}`"))
                .with_label(span, None)
                .with_help(help),
        );
    }

    fn twilio(&mut self, section: TwilioSection) -> Option<TwilioSettings> {
        let path = KeyPath::root().key("twilio").key("account_sid");
        let account_sid = self.value(&path, AccountSid::new(&section.account_sid))?;
        Some(TwilioSettings { account_sid })
    }

    fn bucket(&mut self, section: BucketSection) -> Option<BucketSpec> {
        let path = KeyPath::root().key("bucket");
        let name = self.value(&path.key("name"), BucketName::new(&section.name));
        let tags_valid = self.tags(&path.key("tags"), &section.tags);
        let lifecycle = self.lifecycle(&path.key("lifecycle"), &section.lifecycle);
        let encryption = match &section.encryption {
            None => Some(None),
            Some(entry) => {
                let path = path.key("encryption").key("kms_key");
                self.value(&path, Encryption::new(&entry.kms_key)).map(Some)
            }
        };
        tags_valid.then_some(())?;
        Some(BucketSpec {
            name: name?,
            versioning: section.versioning,
            block_public_access: section.block_public_access,
            tags: section.tags,
            lifecycle: lifecycle?,
            encryption: encryption?,
        })
    }

    /// Whether every tag is acceptable; each one that is not is reported.
    fn tags(&mut self, path: &KeyPath, tags: &BTreeMap<String, String>) -> bool {
        let mut valid = true;
        if tags.len() > MAX_TAGS {
            let span = self.source.nearest_span(path);
            self.push(
                Diagnostic::error_of(
                    ErrorKind::InvalidValue,
                    self.source,
                    format!("`bucket.tags` has {} tags, S3 allows at most {MAX_TAGS}", tags.len()),
                )
                .with_label(span, None),
            );
            valid = false;
        }
        for (key, value) in tags {
            if let Err(error) = check_tag(key, value) {
                let entry = path.key(key);
                // Problems with the key point at the key, problems with the value at the value.
                let span = match error {
                    crate::values::TagError::ValueTooLong { .. } => None,
                    _ => self.source.key_span_of(&entry.to_string()),
                }
                .unwrap_or_else(|| self.source.nearest_span(&entry));
                self.report_at(span, &error);
                valid = false;
            }
        }
        valid
    }

    fn lifecycle(&mut self, path: &KeyPath, entries: &[LifecycleRuleEntry]) -> Option<Vec<LifecycleRule>> {
        let mut rules: Vec<LifecycleRule> = Vec::with_capacity(entries.len());
        let mut valid = true;
        let mut rule_paths: Vec<KeyPath> = Vec::with_capacity(entries.len());
        // Each prefix's rule, by prefix: finding a repeat stays linear in a file of many rules.
        let mut first_rule: BTreeMap<Prefix, usize> = BTreeMap::new();
        for (index, entry) in entries.iter().enumerate() {
            let rule_path = self.structure.item_path(path, index);
            let prefix_path = rule_path.key("prefix");
            let Some(prefix) = self.prefix(&prefix_path, &entry.prefix) else {
                valid = false;
                continue;
            };
            if prefix.has_account_placeholder() {
                self.lifecycle_placeholder(&prefix_path, &prefix);
                valid = false;
                continue;
            }
            if let Some(&first) = first_rule.get(&prefix) {
                let first_span = self.source.nearest_span(&rule_paths[first].key("prefix"));
                let span = self.source.nearest_span(&prefix_path);
                let shown =
                    if prefix.is_whole_bucket() { "the whole bucket".to_owned() } else { format!("`{prefix}`") };
                self.push(
                    Diagnostic::error_of(
                        ErrorKind::InvalidValue,
                        self.source,
                        format!("two lifecycle rules for {shown}"),
                    )
                    .with_label(span, Some("second rule here".to_owned()))
                    .with_label(first_span, Some("first rule here".to_owned()))
                    .with_help("keep one rule per prefix"),
                );
                valid = false;
                continue;
            }
            first_rule.insert(prefix.clone(), rules.len());
            rules.push(LifecycleRule { prefix, expire_after_days: entry.expire_after_days });
            rule_paths.push(rule_path);
        }
        valid.then_some(rules)
    }

    /// `[uploader]`; `fleet_uploader` is `[fleet] uploader`, when the file has a sound `[fleet]`.
    fn uploader(&mut self, section: UploaderSection, fleet_uploader: Option<UploaderModeEntry>) -> Option<Uploader> {
        let path = KeyPath::root().key("uploader");
        let user_name = self.value(&path.key("user_name"), IamUserName::new(&section.user_name));
        let iam_path = self.value(&path.key("path"), IamPath::new(&section.path));
        let user_name = match user_name {
            Some(name) if fleet_uploader == Some(UploaderModeEntry::PerSubaccount) => {
                self.per_subaccount_user_name(&path.key("user_name"), name)
            }
            name => name,
        };
        Some(Uploader { user_name: user_name?, path: iam_path?, rotate_after_days: section.rotate_after_days })
    }

    /// With a user per subaccount, `{user_name}-{account_sid}` must fit IAM's 64 characters.
    fn per_subaccount_user_name(&mut self, path: &KeyPath, name: IamUserName) -> Option<IamUserName> {
        let length = name.as_str().chars().count();
        let limit = Uploader::MAX_PER_SUBACCOUNT_USER_NAME;
        if length <= limit {
            return Some(name);
        }
        let span = self.source.nearest_span(path);
        let mode_span = self.source.nearest_span(&KeyPath::root().key("fleet").key("uploader"));
        let mode_label = if self.source.span_of("fleet.uploader").is_some() {
            "a user per subaccount"
        } else {
            "a user per subaccount (`uploader = \"per-subaccount\"`, the default)"
        };
        self.push(
            Diagnostic::error_of(
                ErrorKind::InvalidValue,
                self.source,
                format!(
                    "IAM user name `{name}` is {length} characters long, at most {limit} are allowed with \
                     `[fleet] uploader = \"per-subaccount\"`"
                ),
            )
            .with_label(span, Some(format!("`{name}-AC…` would be {} characters", length + 35)))
            .with_label(mode_span, Some(mode_label.to_owned()))
            .with_help(format!(
                "each subaccount writes with an IAM user of its own, named `{{user_name}}-{{account_sid}}` (35 \
                 characters more), and IAM user names are at most 64 characters: shorten `user_name` to {limit} \
                 characters or fewer, or set `uploader = \"shared\"` in `[fleet]` for one user for every subaccount"
            )),
        );
        None
    }

    /// `[fleet]`: the members and exclusions, each a subaccount SID, none listed twice, none the
    /// main account, none both listed and excluded.
    fn fleet(&mut self, section: FleetSection, twilio: Option<&TwilioSettings>) -> Option<Fleet> {
        let path = KeyPath::root().key("fleet");
        let main = twilio.map(|twilio| &twilio.account_sid);
        let mut valid = true;
        let listed = match &section.subaccounts {
            SubaccountsEntry::All(_) => None,
            SubaccountsEntry::Listed(sids) => {
                let list_path = path.key("subaccounts");
                if sids.is_empty() {
                    let span = self.source.nearest_span(&list_path);
                    self.push(
                        Diagnostic::error_of(ErrorKind::InvalidValue, self.source, "`fleet.subaccounts` is empty").with_label(span, None).with_help(
                            "list the SIDs of the subaccounts to manage, or write `subaccounts = \"all\"` for every \
                             active subaccount",
                        ),
                    );
                    valid = false;
                }
                let (listed, listed_valid) = self.sid_list(&list_path, sids, "listed", main);
                valid &= listed_valid;
                Some(listed)
            }
        };
        let (excluded, excluded_valid) = self.sid_list(&path.key("exclude"), &section.exclude, "excluded", None);
        valid &= excluded_valid;
        let listed_at: BTreeMap<&AccountSid, &KeyPath> =
            listed.iter().flatten().map(|(sid, path)| (sid, path)).collect();
        for (sid, exclude_path) in &excluded {
            let Some(listed_path) = listed_at.get(sid) else {
                continue;
            };
            let span = self.source.nearest_span(exclude_path);
            let listed_span = self.source.nearest_span(listed_path);
            self.push(
                Diagnostic::error_of(
                    ErrorKind::InvalidValue,
                    self.source,
                    format!("subaccount `{sid}` is both listed in `fleet.subaccounts` and excluded in `fleet.exclude`"),
                )
                .with_label(span, Some("excluded here".to_owned()))
                .with_label(listed_span, Some("listed here".to_owned()))
                .with_help(
                    "a subaccount is either managed or left alone: remove it from `exclude` to manage it, or from \
                     `subaccounts` to leave it alone",
                ),
            );
            valid = false;
        }
        if !valid {
            return None;
        }
        let subaccounts = match listed {
            None => FleetMembers::All,
            Some(listed) => FleetMembers::Listed(listed.into_iter().map(|(sid, _)| sid).collect()),
        };
        let uploader = match section.uploader {
            UploaderModeEntry::PerSubaccount => UploaderMode::PerSubaccount,
            UploaderModeEntry::Shared => UploaderMode::Shared,
        };
        Some(Fleet { subaccounts, exclude: excluded.into_iter().map(|(sid, _)| sid).collect(), uploader })
    }

    /// The account SIDs of a `[fleet]` list, each with where it is written, and whether all of
    /// them are valid, none twice and none `main`.
    fn sid_list(
        &mut self,
        path: &KeyPath,
        sids: &[String],
        verb: &str,
        main: Option<&AccountSid>,
    ) -> (Vec<(AccountSid, KeyPath)>, bool) {
        let mut checked: Vec<(AccountSid, KeyPath)> = Vec::with_capacity(sids.len());
        // Where each SID was first written (an index into `checked`): linear in a long list.
        let mut first_seen: BTreeMap<AccountSid, usize> = BTreeMap::new();
        let mut valid = true;
        for (index, sid) in sids.iter().enumerate() {
            let item = self.structure.item_path(path, index);
            let sid = match AccountSid::new(sid) {
                Err(error @ AccountSidError::ApiKey { .. }) => {
                    let span = self.source.nearest_span(&item);
                    self.push(
                        Diagnostic::error_of(ErrorKind::InvalidValue, self.source, error.to_string())
                            .with_label(span, None)
                            .with_help(format!("`{path}` takes the account SIDs (`AC…`) of subaccounts")),
                    );
                    None
                }
                result => self.value(&item, result),
            };
            let Some(sid) = sid else {
                valid = false;
                continue;
            };
            if let Some((_, first)) = first_seen.get(&sid).map(|&position| &checked[position]) {
                let span = self.source.nearest_span(&item);
                let first_span = self.source.nearest_span(first);
                self.push(
                    Diagnostic::error_of(
                        ErrorKind::InvalidValue,
                        self.source,
                        format!("subaccount `{sid}` is {verb} twice in `{path}`"),
                    )
                    .with_label(span, Some("again here".to_owned()))
                    .with_label(first_span, Some("first here".to_owned()))
                    .with_help("write each subaccount once"),
                );
                valid = false;
                continue;
            }
            if main == Some(&sid) {
                let span = self.source.nearest_span(&item);
                let main_span = self.source.nearest_span(&KeyPath::root().key("twilio").key("account_sid"));
                self.push(
                    Diagnostic::error_of(
                        ErrorKind::InvalidValue,
                        self.source,
                        format!("`{sid}` is the main account, not a subaccount"),
                    )
                    .with_label(span, Some("listed as a subaccount".to_owned()))
                    .with_label(main_span, Some("the main account".to_owned()))
                    .with_help(
                        "`[fleet]` manages the subaccounts of `[twilio] account_sid`: remove the main account \
                             from `subaccounts`",
                    ),
                );
                valid = false;
                continue;
            }
            first_seen.insert(sid.clone(), checked.len());
            checked.push((sid, item));
        }
        (checked, valid)
    }

    /// Lifecycle rules are bucket-wide: a placeholder would ask for one rule per subaccount.
    fn lifecycle_placeholder(&mut self, path: &KeyPath, prefix: &Prefix) {
        let before = prefix.as_str().split(Prefix::ACCOUNT_SID_PLACEHOLDER).next().unwrap_or_default();
        let shared = before.rfind('/').map_or("", |slash| &before[..=slash]);
        let shared = if shared.is_empty() { "`/` (the whole bucket)".to_owned() } else { format!("`{shared}`") };
        let span = self.source.nearest_span(path);
        self.push(
            Diagnostic::error_of(
                ErrorKind::InvalidValue,
                self.source,
                format!("lifecycle rule prefix `{prefix}` contains `{{account_sid}}`"),
            )
            .with_label(span, Some("one rule for the whole bucket, not one per subaccount".to_owned()))
            .with_help(format!(
                "the bucket has one set of lifecycle rules for every subaccount: use the part before the \
                     placeholder, {shared}, which covers every subaccount's objects"
            )),
        );
    }

    /// `{account_sid}` in a storage prefix: required in every stored prefix with `[fleet]`,
    /// an error without it.
    fn account_placeholder(&mut self, storage: &CheckedStorage, fleet_mode: bool) {
        let Some(prefix) = &storage.prefix else { return };
        let name = storage.name;
        let path = KeyPath::root().key(name).key("prefix");
        let span = self.source.nearest_span(&path);
        if prefix.has_account_placeholder() && !fleet_mode {
            let without = prefix.for_account("");
            let segments: Vec<&str> = without.split('/').filter(|segment| !segment.is_empty()).collect();
            let without = if segments.is_empty() { "/".to_owned() } else { format!("{}/", segments.join("/")) };
            self.push(
                Diagnostic::error_of(
                    ErrorKind::InvalidValue,
                    self.source,
                    format!("`{{account_sid}}` in `{path}` needs `[fleet]`"),
                )
                .with_label(span, Some("stands for each subaccount's SID".to_owned()))
                .with_help(format!(
                    "`{{account_sid}}` is for a spec of the main account's subaccounts: add a `[fleet]` \
                         section, or remove it from the prefix, such as `prefix = \"{without}\"`"
                )),
            );
        } else if !prefix.has_account_placeholder() && fleet_mode && storage.store_in_s3 {
            let fleet_span = self.source.nearest_span(&KeyPath::root().key("fleet"));
            let label = if self.source.span_of(&path.to_string()).is_some() {
                "the same prefix for every subaccount".to_owned()
            } else {
                format!("`prefix` is `{prefix}` (the default) for every subaccount")
            };
            self.push(
                Diagnostic::error_of(
                    ErrorKind::InvalidValue,
                    self.source,
                    format!(
                        "`{path}` needs `{{account_sid}}`: required in fleet mode, each subaccount writes under its \
                         own prefix"
                    ),
                )
                .with_label(span, Some(label))
                .with_label(fleet_span, Some("fleet mode".to_owned()))
                .with_help(format!(
                    "put the placeholder in the prefix, such as `prefix = \"{prefix}{{account_sid}}/\"`; Twilio \
                     then writes each subaccount's {name} under its SID"
                )),
            );
        }
    }

    fn prefix(&mut self, path: &KeyPath, prefix: &str) -> Option<Prefix> {
        self.value(path, Prefix::new(prefix))
    }

    fn storage(
        &mut self,
        name: &'static str,
        store_in_s3: bool,
        prefix: &str,
        encryption_public_key: Option<String>,
    ) -> CheckedStorage {
        let prefix = self.prefix(&KeyPath::root().key(name).key("prefix"), prefix);
        let encryption_public_key =
            encryption_public_key.and_then(|path| self.encryption_public_key(name, store_in_s3, path));
        CheckedStorage { name, store_in_s3, prefix, encryption_public_key }
    }

    /// `encryption_public_key` names a file (the spec does no IO: the key is read later, see
    /// `crate::load_public_keys`), and Twilio encrypts only what it stores in the bucket.
    fn encryption_public_key(
        &mut self,
        name: &'static str,
        store_in_s3: bool,
        path: String,
    ) -> Option<EncryptionPublicKey> {
        let key_path = KeyPath::root().key(name).key("encryption_public_key");
        let span = self.source.nearest_span(&key_path);
        if path.trim().is_empty() {
            self.push(
                Diagnostic::error_of(ErrorKind::InvalidValue, self.source, format!("`{key_path}` is empty"))
                    .with_label(span, None)
                    .with_help(format!(
                        "name the PEM file of the RSA public key, relative to this spec's directory, such as \
                         `keys/{name}.pem`; or remove `encryption_public_key` to store {name} unencrypted"
                    )),
            );
            return None;
        }
        if path.contains("PRIVATE KEY") {
            self.push(
                Diagnostic::error_of(ErrorKind::InvalidValue, self.source, format!("`{key_path}` holds a private key"))
                    .with_label(span, Some("a private key, in a file meant to be shared".to_owned()))
                    .with_help(
                        "a private key must never be shared with anyone, Twilio included: remove it from this \
                         file, make a new key pair if the file was ever committed, and name the public half's PEM \
                         file here (`openssl rsa -in key.pem -pubout -out public.pem`)",
                    ),
            );
            return None;
        }
        if path.contains("-----BEGIN") {
            self.push(
                Diagnostic::error_of(
                    ErrorKind::InvalidValue,
                    self.source,
                    format!("`{key_path}` holds a key, not the path of its file"),
                )
                .with_label(span, None)
                .with_help(format!(
                    "save the key in a file beside the spec and name it here, such as `keys/{name}.pem`"
                )),
            );
            return None;
        }
        if !store_in_s3 {
            let store_span = self.source.nearest_span(&KeyPath::root().key(name).key("store_in_s3"));
            self.push(
                Diagnostic::error_of(
                    ErrorKind::InvalidValue,
                    self.source,
                    format!("`{key_path}` needs `{name}.store_in_s3 = true`"),
                )
                .with_label(span, Some("encryption asked for here".to_owned()))
                .with_label(store_span, Some(format!("{name} stay in Twilio's cloud")))
                .with_help(
                    "Twilio encrypts only what it stores in your bucket: set `store_in_s3 = true`, or remove \
                         `encryption_public_key`",
                ),
            );
            return None;
        }
        Some(EncryptionPublicKey { path, pem: None })
    }

    fn drift(&mut self, section: DriftSection) -> DriftSettings {
        let path = KeyPath::root().key("drift").key("ignore");
        let ignore = section
            .ignore
            .iter()
            .enumerate()
            .filter_map(|(index, rule)| {
                let rule_path = self.structure.item_path(&path, index);
                self.value(&rule_path, IgnoreRule::new(rule))
            })
            .collect();
        DriftSettings { ignore }
    }

    /// `[state]`: for `s3`, a bucket and a key (a region and a KMS key optional); for `local`,
    /// nothing else.
    fn state(&mut self, section: StateSection) -> Option<RemoteState> {
        let path = KeyPath::root().key("state");
        if section.backend == StateBackendKind::Local {
            let s3_only: Vec<&str> = [
                ("bucket", section.bucket.is_some()),
                ("key", section.key.is_some()),
                ("region", section.region.is_some()),
                ("kms_key", section.kms_key.is_some()),
            ]
            .into_iter()
            .filter_map(|(name, present)| present.then_some(name))
            .collect();
            for name in &s3_only {
                let span = self.source.nearest_span(&path.key(name));
                self.push(
                    Diagnostic::error_of(
                        ErrorKind::InvalidValue,
                        self.source,
                        format!("`state.{name}` is for `backend = \"s3\"`"),
                    )
                    .with_label(span, None)
                    .with_help(format!("remove `{name}`, or set `backend = \"s3\"` to keep the state in S3")),
                );
            }
            return None;
        }
        let mut missing = false;
        for (name, present, example) in [
            ("bucket", section.bucket.is_some(), "bucket = \"acme-stowage-state\""),
            ("key", section.key.is_some(), "key = \"envs/prod.state.json\""),
        ] {
            if !present {
                missing = true;
                let span = self.source.nearest_span(&path);
                self.push(
                    Diagnostic::error_of(
                        ErrorKind::MissingKey,
                        self.source,
                        format!("`[state] backend = \"s3\"` needs `{name}`"),
                    )
                    .with_label(span, None)
                    .with_help(format!("add `{example}` to `[state]`")),
                );
            }
        }
        let bucket = section.bucket.as_deref().and_then(|name| self.value(&path.key("bucket"), BucketName::new(name)));
        let key = section.key.filter(|key| self.state_key(key, &path.key("key")));
        let region = match &section.region {
            Some(region) => {
                let checked = self.value(&path.key("region"), Region::new(region));
                if let Some(checked) = &checked {
                    self.known_region(checked, &path.key("region"));
                }
                Some(checked?)
            }
            None => None,
        };
        if missing {
            return None;
        }
        Some(RemoteState { bucket: bucket?, key: key?, region, kms_key: section.kms_key })
    }

    /// Whether `key` can name the state object: not empty, no leading or trailing `/`, room
    /// for `.lock` within S3's 1,024 bytes.
    fn state_key(&mut self, key: &str, path: &KeyPath) -> bool {
        let problem = if key.is_empty() {
            Some("is empty".to_owned())
        } else if key.starts_with('/') || key.ends_with('/') {
            Some("starts or ends with `/`: it must name an object, like `envs/prod.state.json`".to_owned())
        } else if key.len() > 1019 {
            Some(format!("is {} bytes long: S3 keys are at most 1,024, and the lock adds `.lock`", key.len()))
        } else {
            None
        };
        let Some(problem) = problem else { return true };
        let span = self.source.nearest_span(path);
        self.push(
            Diagnostic::error_of(ErrorKind::InvalidValue, self.source, format!("`state.key` {problem}"))
                .with_label(span, None)
                .with_help("name the state object, e.g. `key = \"envs/prod.state.json\"`"),
        );
        false
    }

    /// Storing in S3, and `[fleet]`, need a user for Twilio to write with and an account to
    /// configure: one error per missing section, pointing at every `store_in_s3 = true` (and at
    /// `[fleet]`) that needs it.
    fn storage_needs(&mut self, stored: &[&CheckedStorage], fleet_mode: bool) {
        if stored.is_empty() {
            if fleet_mode {
                self.fleet_needs();
            }
            return;
        }
        let names: Vec<&str> = stored.iter().map(|storage| storage.name).collect();
        for (needed, why, example) in [
            ("uploader", "the IAM user Twilio writes with", "[uploader]\nuser_name = \"twilio-video-uploader\""),
            (
                "twilio",
                "the Twilio account to configure",
                "[twilio]\naccount_sid = \"AC0123456789abcdef0123456789abcdef\"",
            ),
        ] {
            // A section that is present but broken has its own errors.
            if self.source.span_of(needed).is_some() {
                continue;
            }
            let mut diagnostic = Diagnostic::error_of(
                ErrorKind::MissingKey,
                self.source,
                format!("missing section `[{needed}]`: storing {} in S3 needs {why}", names.join(" and ")),
            );
            for name in &names {
                let span = self.source.nearest_span(&KeyPath::root().key(name).key("store_in_s3"));
                diagnostic = diagnostic.with_label(span, Some(format!("{name} stored in S3 here")));
            }
            if fleet_mode {
                let span = self.source.nearest_span(&KeyPath::root().key("fleet"));
                diagnostic = diagnostic.with_label(span, Some("needed by `[fleet]` too".to_owned()));
            }
            self.push(diagnostic.with_help(format!("add it, for example:\n\n{example}")));
        }
    }

    /// `[fleet]` without storage in S3 still configures the subaccounts of an account, with
    /// users named after `[uploader]`.
    fn fleet_needs(&mut self) {
        for (needed, why, example) in [
            (
                "uploader",
                "the IAM user Twilio writes with (with `uploader = \"per-subaccount\"`, the start of each \
                 subaccount's user's name)",
                "[uploader]\nuser_name = \"twilio-video\"",
            ),
            (
                "twilio",
                "the main account whose subaccounts it configures",
                "[twilio]\naccount_sid = \"AC0123456789abcdef0123456789abcdef\"",
            ),
        ] {
            if self.source.span_of(needed).is_some() {
                continue;
            }
            let span = self.source.nearest_span(&KeyPath::root().key("fleet"));
            self.push(
                Diagnostic::error_of(
                    ErrorKind::MissingKey,
                    self.source,
                    format!("missing section `[{needed}]`: `[fleet]` needs {why}"),
                )
                .with_label(span, Some("fleet mode here".to_owned()))
                .with_help(format!("add it, for example:\n\n{example}")),
            );
        }
    }

    fn prefixes_apart(&mut self, recordings: &Prefix, compositions: &Prefix) {
        if !recordings.overlaps(compositions) {
            return;
        }
        let describe = |prefix: &Prefix| {
            if prefix.is_whole_bucket() { "the whole bucket".to_owned() } else { format!("`{prefix}`") }
        };
        let example = if recordings.has_account_placeholder() || compositions.has_account_placeholder() {
            "`recordings/{account_sid}/` and `compositions/{account_sid}/`"
        } else {
            "`recordings/` and `compositions/`"
        };
        let recordings_span = self.source.nearest_span(&KeyPath::root().key("recordings").key("prefix"));
        let compositions_span = self.source.nearest_span(&KeyPath::root().key("compositions").key("prefix"));
        self.push(
            Diagnostic::error_of(
                ErrorKind::InvalidValue,
                self.source,
                format!(
                    "compositions prefix {} overlaps recordings prefix {}",
                    describe(compositions),
                    describe(recordings)
                ),
            )
            .with_label(compositions_span, Some("compositions stored here".to_owned()))
            .with_label(recordings_span, Some("recordings stored here".to_owned()))
            .with_help(format!("give each its own prefix, such as {example}, so that neither contains the other")),
        );
    }

    fn key_in_bucket_region(&mut self, aws: &AwsSettings, bucket: &BucketSpec) {
        let Some(Encryption::KmsKeyArn(arn)) = &bucket.encryption else {
            return;
        };
        if arn.region() == aws.region.as_str() {
            return;
        }
        let key_span = self.source.nearest_span(&KeyPath::root().key("bucket").key("encryption").key("kms_key"));
        let region_span = self.source.nearest_span(&KeyPath::root().key("aws").key("region"));
        self.push(
            Diagnostic::error_of(
                ErrorKind::InvalidValue,
                self.source,
                format!("the KMS key is in `{}` but the bucket is in `{}`", arn.region(), aws.region),
            )
            .with_label(key_span, Some(format!("key in `{}`", arn.region())))
            .with_label(region_span, Some(format!("bucket in `{}`", aws.region)))
            .with_help(format!(
                "SSE-KMS keys are regional: use a key in `{}`, or `kms_key = \"create\"` to make one there",
                aws.region
            )),
        );
    }

    /// The guide: recordings stored in S3 cannot be composed.
    fn recordings_not_composable(&mut self) {
        if self.source.span_of("compositions").is_none() {
            return;
        }
        let span = self.source.nearest_span(&KeyPath::root().key("recordings").key("store_in_s3"));
        let compositions_span = self.source.nearest_span(&KeyPath::root().key("compositions"));
        self.push(
            Diagnostic::warning(Lint::RecordingsNotComposable, self.source, "recordings stored in S3 cannot be composed")
                .with_label(span, Some("recordings go to the bucket".to_owned()))
                .with_label(compositions_span, Some("compositions configured here".to_owned()))
                .with_help(
                    "if you need compositions, keep recordings in Twilio's cloud (`store_in_s3 = false`) and delete them once the composition exists",
                ),
        );
    }

    /// Twilio uploads to the virtual-hosted HTTPS URL `https://BUCKET.s3-REGION.amazonaws.com`,
    /// whose certificate (`*.s3-REGION.amazonaws.com`) covers one DNS label: a dotted name fails
    /// TLS validation. SDKs quietly fall back to path-style (so stowage's own write test would
    /// pass); Twilio's uploader does not, and every upload fails.
    fn dots_in_bucket_name(&mut self, name: &BucketName, twilio_stores: bool) {
        if !name.has_dots() {
            return;
        }
        let span = self.source.nearest_span(&KeyPath::root().key("bucket").key("name"));
        let repaired = name.as_str().replace('.', "-");
        if twilio_stores {
            self.push(
                Diagnostic::error_of(
                    ErrorKind::InvalidValue,
                    self.source,
                    format!("Twilio cannot store into bucket `{name}`: its name contains dots"),
                )
                .with_label(span, Some("dots here".to_owned()))
                .with_help(format!(
                    "Twilio uploads over HTTPS to `{name}.s3-REGION.amazonaws.com`, and S3's certificate covers \
                     one label only, so every upload would fail TLS validation (Twilio error 53610); choose a \
                     name without dots, such as `{repaired}`"
                )),
            );
        } else {
            self.push(
                Diagnostic::warning(Lint::BucketNameDots, self.source, format!("bucket name `{name}` contains dots"))
                    .with_label(span, None)
                    .with_help(format!(
                        "Twilio writes to the virtual-hosted HTTPS URL, where S3's certificate does not cover \
                         names with dots: storing in this bucket later would fail; prefer `{repaired}`"
                    )),
            );
        }
    }

    /// Twilio's uploads go to `*.amazonaws.com`: partitions whose S3 hosts are elsewhere (China)
    /// or off the internet (the isolated partitions) cannot be stored into.
    fn s3_reachable_by_twilio(&mut self, region: &Region, twilio_stores: bool) {
        let crate::values::S3HostForm::Unreachable { partition } = region.s3_host_form() else {
            return;
        };
        let span = self.source.nearest_span(&KeyPath::root().key("aws").key("region"));
        let hosts = match partition {
            "aws-cn" => format!("its S3 endpoints are under `amazonaws.com.cn` (`s3.{region}.amazonaws.com.cn`)"),
            "aws-eusc" => "its S3 endpoints are under `amazonaws.eu`".to_owned(),
            _ => "it is isolated from the internet".to_owned(),
        };
        let why = format!(
            "`{region}` is in the `{partition}` partition: {hosts}, and Twilio uploads only to S3 URLs under \
             `amazonaws.com`"
        );
        let diagnostic = if twilio_stores {
            Diagnostic::error_of(
                ErrorKind::InvalidValue,
                self.source,
                format!("Twilio cannot store into a bucket in `{region}`"),
            )
            .with_label(span, Some(format!("`{partition}` partition")))
            .with_help(format!(
                "{why}; put the bucket in a region of the `aws` partition, such as `us-east-2` or `eu-central-1`"
            ))
        } else {
            Diagnostic::warning(
                Lint::TwilioUnreachableRegion,
                self.source,
                format!("Twilio could not store into a bucket in `{region}`"),
            )
            .with_label(span, None)
            .with_help(why)
        };
        self.push(diagnostic);
    }

    /// The checked value, or `None` after reporting why it is not acceptable.
    fn value<T, E: InvalidValue>(&mut self, path: &KeyPath, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                let span = self.source.nearest_span(path);
                self.report_at(span, &error);
                None
            }
        }
    }

    fn report_at(&mut self, span: miette::SourceSpan, error: &impl InvalidValue) {
        self.push(
            Diagnostic::error_of(ErrorKind::InvalidValue, self.source, error.to_string())
                .with_label(span, None)
                .with_optional_help(error.hint()),
        );
    }

    fn push(&mut self, diagnostic: Diagnostic) {
        if diagnostic.lint().is_some_and(|lint| self.allowed.contains(&lint)) {
            return;
        }
        self.diagnostics.push(diagnostic);
    }
}

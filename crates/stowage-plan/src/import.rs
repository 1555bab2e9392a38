//! Import: what of an environment made by hand (the Twilio guide's bucket, user, key and
//! credential) to record in the state, so stowage manages it from then on.
//!
//! Pure, like the planner: the engine finds what exists ([`reference_reads`] says which reads
//! follow the spec's references from what was found), and this turns it into an [`ImportPlan`]
//! and records it. Generic over the resource schemas: an object is found by what refers to it
//! through an attribute that [`identifies`](stowage_provider::AttributeSchema::identifies) it,
//! and an object whose secret something takes at its creation (a `fresh` reference: the access
//! key) is imported tainted, since its secret has been outside stowage.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use stowage_provider::{Address, Lifecycle, Observed, ResourceType};

use crate::model::{DesiredResource, DesiredValue, Reference};
use crate::planner::{Observations, ReadTarget};
use crate::prior::Prior;

/// One object to record.
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    pub address: Address,
    pub object: Observed,
    pub depends_on: Vec<Address>,
    /// Why the next apply replaces it.
    pub tainted: Option<String>,
    /// What the state takes on trust about it (see `stowage_state::ResourceState::unproven`).
    pub unproven: Option<String>,
}

/// What an import of a spec would do.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportPlan {
    /// To record, in address order.
    pub imports: Vec<Import>,
    /// The state records these (address, id): nothing to do.
    pub already_recorded: Vec<(Address, String)>,
    /// Several objects could be it (ids, sorted): nothing is recorded until one is picked.
    pub ambiguous: Vec<(Address, Vec<String>)>,
    /// The spec wants them, none exists: apply will create them.
    pub absent: Vec<Address>,
}

/// Why an imported object is tainted: the next apply replaces it (and, through the secret
/// rules, what holds its secret).
pub const IMPORTED_KEY: &str = "imported: its secret was made and seen outside stowage";

/// The reads that follow the spec's references from what was already observed: for each
/// desired resource D with an attribute whose desired value is a reference to an attribute
/// that identifies X, and D observed with a string there, a read of X by that string (with X's
/// known desired attributes), unless X was found already. One target per (address, id),
/// sorted: two resources naming different objects at one address give two reads.
pub fn reference_reads(desired: &[DesiredResource], observed: &Observations) -> Vec<ReadTarget> {
    let wanted: BTreeMap<&Address, &DesiredResource> =
        desired.iter().map(|resource| (&resource.address, resource)).collect();
    let mut reads: BTreeSet<(Address, String)> = BTreeSet::new();
    for resource in desired {
        let Some(Some(found)) = observed.get(&resource.address) else { continue };
        for (name, value) in &resource.attributes {
            let DesiredValue::Reference(reference) = value else { continue };
            if !identifies(reference) || matches!(observed.get(&reference.address), Some(Some(_))) {
                continue;
            }
            if let Some(id) = found.attributes.get(name).and_then(Value::as_str).filter(|id| !id.is_empty()) {
                reads.insert((reference.address.clone(), id.to_owned()));
            }
        }
    }
    reads
        .into_iter()
        .map(|(address, id)| ReadTarget {
            desired: wanted.get(&address).map(|resource| resource.known_attributes()),
            address,
            id: Some(id),
            recorded: None,
        })
        .collect()
}

/// Whether the referenced attribute names its object: a read accepts it as the id.
fn identifies(reference: &Reference) -> bool {
    reference
        .address
        .resource_type
        .schema()
        .attribute(&reference.attribute)
        .is_some_and(|attribute| attribute.identifies)
}

/// From what exists for each desired address (0, 1 or several objects) to the import.
///
/// Only types whose lifecycle is `Lifecycle::Created` are imported (singletons and objects
/// inside a parent are adopted by the plan anyway), and every object found of a
/// `Lifecycle::Superseded` type (a managed policy attached to the user by hand), which the plan
/// that follows removes. An object whose secret another takes at
/// its creation (the access key) is imported tainted with [`IMPORTED_KEY`] unless `keep_key`,
/// so the next apply replaces it and, through the secret rules, what holds it. A recorded-only
/// attribute (one the object's observation lacks, e.g. the credential's `access_key_id`,
/// which Twilio never returns) whose desired value references an imported object is filled
/// from it: the credential is recorded as holding the imported key.
pub fn plan_import(
    desired: &[DesiredResource],
    prior: &Prior,
    found: &BTreeMap<Address, Vec<Observed>>,
    keep_key: bool,
) -> ImportPlan {
    let mut ordered: Vec<&DesiredResource> = desired.iter().collect();
    ordered.sort_by(|left, right| left.address.cmp(&right.address));
    let secret_holders: BTreeSet<&Address> = desired
        .iter()
        .flat_map(|resource| resource.attributes.values())
        .filter_map(|value| match value {
            DesiredValue::Reference(reference) if reference.fresh => Some(&reference.address),
            _ => None,
        })
        .collect();

    let mut plan = ImportPlan::default();
    for resource in ordered {
        let address = &resource.address;
        if !matches!(address.resource_type.schema().lifecycle, Lifecycle::Created { .. }) {
            continue;
        }
        if let Some(recorded) = prior.get(address) {
            plan.already_recorded.push((address.clone(), recorded.id.clone()));
            continue;
        }
        let mut objects: Vec<&Observed> =
            found.get(address).map(|objects| objects.iter().collect()).unwrap_or_default();
        objects.sort_by(|left, right| left.id.cmp(&right.id));
        objects.dedup_by(|left, right| left.id == right.id);
        match objects.as_slice() {
            [] => plan.absent.push(address.clone()),
            [object] => plan.imports.push(Import {
                address: address.clone(),
                object: (*object).clone(),
                depends_on: resource.depends_on.clone(),
                tainted: (!keep_key && secret_holders.contains(address)).then(|| IMPORTED_KEY.to_owned()),
                unproven: None,
            }),
            several => {
                plan.ambiguous.push((address.clone(), several.iter().map(|object| object.id.clone()).collect()));
            }
        }
    }
    plan.imports.extend(superseded_imports(desired, prior, found, &mut plan.already_recorded));
    plan.imports.sort_by(|left, right| left.address.cmp(&right.address));
    fill_recorded_only(desired, prior, &mut plan.imports, keep_key);
    taint_unreadable(desired, &mut plan.imports);
    plan
}

/// The address an object of a superseded type (see `Lifecycle::Superseded`) is recorded at:
/// its type, named after its `named_by` attribute with each character an address cannot hold
/// (anything but ASCII letters, digits, `-` and `_`) made `_`. `None` for any other type, or
/// an object without that attribute.
pub fn superseded_address(resource_type: ResourceType, object: &Observed) -> Option<Address> {
    let Lifecycle::Superseded { named_by, .. } = resource_type.schema().lifecycle else { return None };
    let name = object.attributes.get(named_by).and_then(Value::as_str).filter(|name| !name.is_empty())?;
    let name: String = name
        .chars()
        .map(
            |character| {
                if character.is_ascii_alphanumeric() || matches!(character, '-' | '_') { character } else { '_' }
            },
        )
        .collect();
    Some(Address::new(resource_type, name))
}

/// The found objects of superseded types: each recorded as depending on the desired parent it
/// was found under, unless the state records it already (by id, at any address of its type).
fn superseded_imports(
    desired: &[DesiredResource],
    prior: &Prior,
    found: &BTreeMap<Address, Vec<Observed>>,
    already_recorded: &mut Vec<(Address, String)>,
) -> Vec<Import> {
    let mut imports = Vec::new();
    for (address, objects) in found {
        let Lifecycle::Superseded { parent, parent_key, link, .. } = address.resource_type.schema().lifecycle else {
            continue;
        };
        // Two names that differ only in what an address cannot hold: the second is `NAME_2`.
        for (index, object) in objects.iter().enumerate() {
            let address = match index {
                0 => address.clone(),
                _ => Address::new(address.resource_type, format!("{}_{}", address.name, index + 1)),
            };
            let recorded = prior
                .resources()
                .find(|recorded| recorded.address.resource_type == address.resource_type && recorded.id == object.id);
            if let Some(recorded) = recorded {
                already_recorded.push((recorded.address.clone(), recorded.id.clone()));
                continue;
            }
            let linked = object.attributes.get(link);
            let parents = desired.iter().filter(|resource| {
                resource.address.resource_type == parent && resource.known_attributes().get(parent_key) == linked
            });
            imports.push(Import {
                address,
                object: object.clone(),
                depends_on: parents.map(|resource| resource.address.clone()).collect(),
                tainted: None,
                unproven: None,
            });
        }
    }
    imports
}

/// Fill each import's attributes its observation lacks, whose desired value references an
/// object imported now or recorded already, from that object. A value filled through a `fresh`
/// reference (which access key a credential holds, which Twilio never returns) is taken on
/// trust: with `keep_key` the import says so in `unproven`; otherwise it is tainted, so the
/// next apply replaces it (and, through the secret rules, the key) with objects stowage makes.
fn fill_recorded_only(desired: &[DesiredResource], prior: &Prior, imports: &mut [Import], keep_key: bool) {
    let mut sources: BTreeMap<Address, Observed> = prior
        .resources()
        .map(|recorded| {
            let object = Observed { id: recorded.id.clone(), attributes: recorded.attributes.clone() };
            (recorded.address.clone(), object)
        })
        .collect();
    sources.extend(imports.iter().map(|import| (import.address.clone(), import.object.clone())));
    for import in imports.iter_mut() {
        let Some(wanted) = desired.iter().find(|resource| resource.address == import.address) else { continue };
        for (name, value) in &wanted.attributes {
            let DesiredValue::Reference(reference) = value else { continue };
            let lacks = import.object.attributes.get(name).is_none_or(Value::is_null);
            let Some(target) = sources.get(&reference.address) else { continue };
            if !lacks {
                continue;
            }
            let from_target = target.attributes.get(&reference.attribute).filter(|value| !value.is_null()).cloned();
            let value = from_target.or_else(|| identifies(reference).then(|| Value::String(target.id.clone())));
            let Some(value) = value else { continue };
            if reference.fresh {
                let shown = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
                let why = format!(
                    "imported: that it holds {} `{shown}` is taken on trust, since that cannot be read back",
                    reference.address.resource_type.schema().noun,
                );
                if keep_key {
                    import.unproven.get_or_insert(why);
                } else {
                    import.tainted.get_or_insert(why);
                }
            }
            import.object.attributes.insert(name.clone(), value);
        }
    }
}

/// Taint each import that still lacks an attribute which the spec sets and which forces a
/// replacement (a public key's fingerprint: Twilio never returns the key): whether it is what
/// the spec asks for cannot be known, so the next apply makes one that is. Only objects whose
/// replacement loses nothing (`replaceable_without_loss`: keys and credentials) are ever
/// tainted, never a bucket, a user or a KMS key.
fn taint_unreadable(desired: &[DesiredResource], imports: &mut [Import]) {
    let replaceable = |import: &Import| import.address.resource_type.schema().lifecycle.replaceable_without_loss();
    for import in imports.iter_mut().filter(|import| import.tainted.is_none() && replaceable(import)) {
        let Some(wanted) = desired.iter().find(|resource| resource.address == import.address) else { continue };
        let schema = import.address.resource_type.schema();
        let unreadable = wanted.attributes.keys().find(|name| {
            schema.attribute(name).is_some_and(|attribute| attribute.forces_replacement)
                && import.object.attributes.get(*name).is_none_or(Value::is_null)
        });
        if let Some(name) = unreadable {
            import.tainted = Some(format!(
                "imported: its `{name}` cannot be read back, so whether it is the {} the spec asks for is unknown",
                schema.noun
            ));
        }
    }
}

/// The state with the imports recorded (resources added; nothing else changed).
pub fn record(state: &mut stowage_state::State, imports: &[Import]) {
    for import in imports {
        state.upsert(stowage_state::ResourceState {
            address: import.address.to_string(),
            resource_type: import.address.resource_type.as_str().to_owned(),
            id: import.object.id.clone(),
            attributes: import.object.attributes.iter().map(|(name, value)| (name.clone(), value.clone())).collect(),
            depends_on: import.depends_on.iter().map(ToString::to_string).collect(),
            tainted: import.tainted.clone(),
            deposed: Vec::new(),
            unproven: import.unproven.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use stowage_provider::Attributes;
    use stowage_state::State;

    use super::*;
    use crate::desired::{
        access_key_address, bucket_address, composition_settings_address, credential_address, kms_key_address,
        policy_address, recording_settings_address, user_address,
    };

    const DEV: &str = include_str!("../../../examples/dev.toml");
    const KEY_ARN: &str = "arn:aws:kms:us-east-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    fn desired(text: &str) -> Vec<DesiredResource> {
        let spec = stowage_spec::parse("dev.toml", text).unwrap_or_else(|errors| panic!("{errors}")).spec;
        crate::desired_resources(&spec)
    }

    /// The dev spec with the bucket encrypted by a KMS key stowage makes.
    fn encrypted() -> String {
        DEV.replacen("versioning = true", "versioning = true\nencryption = { kms_key = \"create\" }", 1)
    }

    fn object(id: &str, attributes: Value) -> Observed {
        let Value::Object(map) = attributes else { panic!("attributes are an object") };
        Observed { id: id.to_owned(), attributes: map.into_iter().collect::<Attributes>() }
    }

    fn settings(credential: &str) -> Observed {
        object("Default", json!({ "aws_storage_enabled": true, "aws_credentials_sid": credential }))
    }

    fn access_key(id: &str) -> Observed {
        object(id, json!({ "user_name": "twilio-video-uploader-dev", "status": "Active", "access_key_id": id }))
    }

    /// What a hand-made guide setup has: Twilio never says which key a credential holds.
    fn credential(sid: &str) -> Observed {
        object(
            sid,
            json!({ "sid": sid, "account_sid": "AC0123456789abcdef0123456789abcdef", "friendly_name": "guide" }),
        )
    }

    fn guide() -> BTreeMap<Address, Vec<Observed>> {
        BTreeMap::from([
            (bucket_address(), vec![object("acme-video-dev", json!({ "name": "acme-video-dev" }))]),
            (user_address(), vec![object("twilio-video-uploader-dev", json!({ "name": "twilio-video-uploader-dev" }))]),
            (access_key_address(), vec![access_key("AKIAGUIDE00000000001")]),
            (credential_address(), vec![credential("CRguide")]),
            (recording_settings_address(), vec![settings("CRguide")]),
            (composition_settings_address(), vec![settings("CRguide")]),
        ])
    }

    fn reads(targets: &[ReadTarget]) -> Vec<(String, Option<&str>)> {
        targets.iter().map(|target| (target.address.to_string(), target.id.as_deref())).collect()
    }

    #[test]
    fn reference_reads_follow_what_was_found_to_what_it_names() {
        let desired = desired(&encrypted());
        let bucket = object("acme-video-dev", json!({ "name": "acme-video-dev", "sse_kms_key": KEY_ARN }));
        let mut observed: Observations = BTreeMap::from([
            (bucket_address(), Some(bucket)),
            (kms_key_address(), None),
            (credential_address(), None),
            (access_key_address(), None),
            (recording_settings_address(), Some(settings("CRguide"))),
            (composition_settings_address(), Some(settings("CRguide"))),
        ]);
        let targets = reference_reads(&desired, &observed);
        assert_eq!(
            reads(&targets),
            [
                ("aws_kms_key.main".to_owned(), Some(KEY_ARN)),
                ("twilio_aws_credential.main".to_owned(), Some("CRguide"))
            ]
        );
        // Each read carries what the spec knows of its object (a credential read needs nothing
        // more; the key's alias, region and description are the spec's).
        let kms = desired.iter().find(|resource| resource.address == kms_key_address()).unwrap();
        assert_eq!(targets[0].desired, Some(kms.known_attributes()));
        assert_eq!(targets[0].recorded, None);

        // Found already: nothing to follow. The credential never says which key it holds, so
        // nothing leads from it to the access key.
        observed.insert(kms_key_address(), Some(object("1234abcd", json!({ "arn": KEY_ARN }))));
        observed.insert(credential_address(), Some(credential("CRguide")));
        assert!(reference_reads(&desired, &observed).is_empty());

        // Settings pointing at two credentials: both are read, and the import sees two.
        observed.remove(&credential_address());
        observed.insert(composition_settings_address(), Some(settings("CRother")));
        assert_eq!(
            reads(&reference_reads(&desired, &observed)),
            [
                ("twilio_aws_credential.main".to_owned(), Some("CRguide")),
                ("twilio_aws_credential.main".to_owned(), Some("CRother"))
            ]
        );

        // Settings that point at nothing, or storage switched off: nothing to read.
        observed.insert(recording_settings_address(), Some(object("Default", json!({ "aws_credentials_sid": null }))));
        observed.insert(composition_settings_address(), Some(object("Default", json!({ "aws_credentials_sid": "" }))));
        assert!(reference_reads(&desired, &observed).is_empty());
    }

    #[test]
    fn a_guide_setup_is_imported_with_its_key_tainted_and_the_credential_holding_it() {
        let desired = desired(&encrypted());
        let plan = plan_import(&desired, &Prior::empty(), &guide(), false);
        let imported: Vec<String> = plan.imports.iter().map(|import| import.address.to_string()).collect();
        assert_eq!(
            imported,
            [
                "aws_s3_bucket.main",
                "aws_iam_user.uploader",
                "aws_iam_access_key.uploader",
                "twilio_aws_credential.main"
            ]
        );
        // The settings and the inline policy are singletons or inside a parent: the plan adopts them.
        assert!(plan.imports.iter().all(|import| import.address != policy_address()));
        assert_eq!(plan.absent, [kms_key_address()]);
        assert!(plan.ambiguous.is_empty() && plan.already_recorded.is_empty());

        let key = &plan.imports[2];
        assert_eq!(key.tainted.as_deref(), Some(IMPORTED_KEY));
        assert_eq!(key.depends_on, desired.iter().find(|r| r.address == access_key_address()).unwrap().depends_on);
        // Which key the credential holds is taken on trust: it is replaced with the key.
        let credential = &plan.imports[3];
        let tainted = credential.tainted.as_deref().unwrap_or_default();
        assert!(tainted.contains("that it holds access key `AKIAGUIDE00000000001` is taken on trust"), "{tainted}");
        assert_eq!(credential.unproven, None);
        assert_eq!(credential.object.attributes.get("access_key_id"), Some(&json!("AKIAGUIDE00000000001")));
        assert_eq!(credential.depends_on, [access_key_address()]);
        assert!(plan.imports[..2].iter().all(|import| import.tainted.is_none()), "{:#?}", &plan.imports[..2]);

        // `--keep-key`: the key and credential are recorded as they are, the pairing unproven.
        let kept = plan_import(&desired, &Prior::empty(), &guide(), true);
        assert!(kept.imports.iter().all(|import| import.tainted.is_none()));
        assert_eq!(kept.imports[3].object, plan.imports[3].object);
        assert_eq!(kept.imports[3].unproven.as_deref(), Some(tainted));
        assert!(kept.imports[..3].iter().all(|import| import.unproven.is_none()));
    }

    #[test]
    fn a_credential_imported_after_its_key_is_recorded_as_holding_it() {
        let desired = desired(DEV);
        let mut state = State::new("dev", "0.0.0");
        let mut only_the_key = guide();
        only_the_key.remove(&credential_address());
        record(&mut state, &plan_import(&desired, &Prior::empty(), &only_the_key, true).imports);
        let prior = Prior::from_state(&state).unwrap();

        for keep_key in [false, true] {
            let plan = plan_import(&desired, &prior, &guide(), keep_key);
            let credential = plan.imports.iter().find(|import| import.address == credential_address()).unwrap();
            assert_eq!(credential.object.attributes.get("access_key_id"), Some(&json!("AKIAGUIDE00000000001")));
            assert_eq!(credential.tainted.is_some(), !keep_key, "{credential:?}");
            assert_eq!(credential.unproven.is_some(), keep_key, "{credential:?}");
        }
    }

    #[test]
    fn two_keys_are_ambiguous_and_the_credential_is_not_said_to_hold_either() {
        let desired = desired(DEV);
        let mut found = guide();
        found
            .insert(access_key_address(), vec![access_key("AKIAGUIDE00000000002"), access_key("AKIAGUIDE00000000001")]);
        let plan = plan_import(&desired, &Prior::empty(), &found, false);
        assert_eq!(
            plan.ambiguous,
            [(access_key_address(), vec!["AKIAGUIDE00000000001".to_owned(), "AKIAGUIDE00000000002".to_owned()])]
        );
        let credential = plan.imports.iter().find(|import| import.address == credential_address()).unwrap();
        assert_eq!(credential.object.attributes.get("access_key_id"), None);
        // Which key it holds is unknown: the next apply replaces it.
        let tainted = credential.tainted.as_deref().unwrap_or_default();
        assert!(tainted.contains("its `access_key_id` cannot be read back"), "{tainted}");
        // Without encryption there is no KMS key to want: nothing is absent.
        assert!(plan.absent.is_empty());
        // One object found twice (by two reads) is one object.
        found
            .insert(access_key_address(), vec![access_key("AKIAGUIDE00000000001"), access_key("AKIAGUIDE00000000001")]);
        assert!(plan_import(&desired, &Prior::empty(), &found, false).ambiguous.is_empty());
    }

    #[test]
    fn what_the_state_records_is_not_imported_again() {
        let desired = desired(DEV);
        let mut state = State::new("dev", "0.0.0");
        let first = plan_import(&desired, &Prior::empty(), &guide(), false);
        record(&mut state, &first.imports);
        let prior = Prior::from_state(&state).unwrap();
        let again = plan_import(&desired, &prior, &guide(), false);
        assert!(again.imports.is_empty() && again.ambiguous.is_empty() && again.absent.is_empty());
        let recorded: Vec<(String, &str)> =
            again.already_recorded.iter().map(|(address, id)| (address.to_string(), id.as_str())).collect();
        assert_eq!(
            recorded,
            [
                ("aws_s3_bucket.main".to_owned(), "acme-video-dev"),
                ("aws_iam_user.uploader".to_owned(), "twilio-video-uploader-dev"),
                ("aws_iam_access_key.uploader".to_owned(), "AKIAGUIDE00000000001"),
                ("twilio_aws_credential.main".to_owned(), "CRguide")
            ]
        );
    }

    #[test]
    fn record_adds_the_imports_and_changes_nothing_else() {
        let desired = desired(DEV);
        let mut state = State::new("dev", "0.0.0");
        state.upsert(stowage_state::ResourceState {
            address: "aws_iam_user_policy.uploader".to_owned(),
            resource_type: "aws_iam_user_policy".to_owned(),
            id: "twilio-video-uploader-dev:stowage".to_owned(),
            attributes: serde_json::Map::new(),
            depends_on: Vec::new(),
            tainted: None,
            deposed: Vec::new(),
            unproven: None,
        });
        let before = state.clone();
        let plan = plan_import(&desired, &Prior::empty(), &guide(), false);
        record(&mut state, &plan.imports);

        assert_eq!((state.serial, state.lineage, &state.intents), (before.serial, before.lineage, &before.intents));
        assert_eq!(state.get("aws_iam_user_policy.uploader"), before.get("aws_iam_user_policy.uploader"));
        let key = state.get("aws_iam_access_key.uploader").unwrap();
        assert_eq!(key.resource_type, "aws_iam_access_key");
        assert_eq!(key.id, "AKIAGUIDE00000000001");
        assert_eq!(key.tainted.as_deref(), Some(IMPORTED_KEY));
        assert_eq!(key.depends_on, ["aws_iam_user.uploader", "aws_s3_bucket.main", "aws_iam_user_policy.uploader"]);
        let credential = state.get("twilio_aws_credential.main").unwrap();
        assert_eq!(credential.attributes.get("access_key_id"), Some(&json!("AKIAGUIDE00000000001")));
        assert_eq!(credential.depends_on, ["aws_iam_access_key.uploader"]);
        assert_eq!(state.resources.len(), 5);

        // What the planner then sees: the key's taint, and the credential holding that key.
        let prior = Prior::from_state(&state).unwrap();
        assert_eq!(prior.get(&access_key_address()).unwrap().tainted.as_deref(), Some(IMPORTED_KEY));
    }
}

//! The saved-plan file of `plan --out FILE`: what this stowage wrote loads again, and it writes
//! the same bytes it always wrote. The golden files are this test's snapshots, made by the
//! format's first writer (which serialized the plan model itself): a plan holding every kind of
//! value the body can hold, and a refresh-only one. Their bodies match
//! `docs/plan-file.schema.json`.

use std::fs;
use std::path::PathBuf;

use insta::assert_snapshot;
use serde_json::{Value, json};
use stowage_plan::plan_file::{SavedPlan, SpecFingerprint, StateFingerprint, decode, encode};
use stowage_plan::{
    ActionKind, AttributeChange, Deposed, DeposedOrigin, Plan, PlanDiagnostic, PlanMode, PlannedValue, Reason,
    Reference, ResourceChange, ResourceDrift, Severity, Template,
};
use stowage_provider::{Address, Attributes, ReplaceOrder, ResourceType};

fn address(resource_type: ResourceType, name: &str) -> Address {
    Address::new(resource_type, name)
}

fn attributes(value: Value) -> Attributes {
    serde_json::from_value(value).expect("an object")
}

fn change(address: Address, action: ActionKind, reason: Option<Reason>) -> ResourceChange {
    ResourceChange {
        address,
        action,
        replace_order: None,
        reason,
        prior_id: None,
        before: None,
        after: None,
        changes: Vec::new(),
        depends_on: Vec::new(),
        deposed: Vec::new(),
    }
}

fn attribute(
    name: &str,
    before: Option<Value>,
    after: Option<PlannedValue>,
    forces_replacement: bool,
) -> AttributeChange {
    AttributeChange { name: name.to_owned(), before, after, forces_replacement }
}

/// A plan with every action, reason, replace order, planned value and deposed origin the body
/// can hold, drift of both kinds and diagnostics with and without their optional parts.
fn every_shape() -> Plan {
    let bucket = address(ResourceType::S3Bucket, "main");
    let key = address(ResourceType::IamAccessKey, "uploader");
    let key_id = Reference { address: key.clone(), attribute: "access_key_id".to_owned(), fresh: true };
    let kms_arn =
        Reference { address: address(ResourceType::KmsKey, "main"), attribute: "arn".to_owned(), fresh: false };
    let policy_template = Template {
        value: json!({"Statement": [{"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "${aws_kms_key.main.arn}"}]}),
        references: vec![kms_arn.clone()],
    };

    let mut update = change(bucket.clone(), ActionKind::Update, Some(Reason::AttributesDiffer));
    update.prior_id = Some("acme-video-dev".to_owned());
    update.before = Some(attributes(json!({"name": "acme-video-dev", "tags": {"team": "video"}, "versioning": true})));
    update.after = Some(
        [
            ("name".to_owned(), PlannedValue::Known(json!("acme-video-dev"))),
            ("tags".to_owned(), PlannedValue::Known(json!({"team": "media"}))),
            ("sse_kms_key".to_owned(), PlannedValue::Unknown(kms_arn.clone())),
        ]
        .into(),
    );
    update.changes = vec![attribute(
        "tags",
        Some(json!({"team": "video"})),
        Some(PlannedValue::Known(json!({"team": "media"}))),
        false,
    )];
    update.depends_on = vec![address(ResourceType::KmsKey, "main")];

    let mut replace_first = change(
        key.clone(),
        ActionKind::Replace,
        Some(Reason::Tainted { why: "its secret was never handed to Twilio".to_owned() }),
    );
    replace_first.replace_order = Some(ReplaceOrder::CreateBeforeDestroy);
    replace_first.prior_id = Some("AKIAEXAMPLE000000001".to_owned());
    replace_first.before =
        Some(attributes(json!({"user_name": "uploader", "access_key_id": "AKIAEXAMPLE000000001", "status": "Active"})));
    replace_first.after = Some([("user_name".to_owned(), PlannedValue::Known(json!("uploader")))].into());
    replace_first.depends_on = vec![address(ResourceType::IamUser, "uploader"), bucket.clone()];
    replace_first.deposed = vec![
        Deposed {
            id: "AKIAEXAMPLE000000000".to_owned(),
            attributes: attributes(json!({"access_key_id": "AKIAEXAMPLE000000000"})),
            origin: DeposedOrigin::Replacement,
        },
        Deposed {
            id: "AKIAEXAMPLELOST00000".to_owned(),
            attributes: attributes(json!({"user_name": "uploader"})),
            origin: DeposedOrigin::InterruptedApply,
        },
    ];

    let mut replace_after = change(
        address(ResourceType::TwilioAwsCredential, "main"),
        ActionKind::Replace,
        Some(Reason::ForcedBy { attributes: vec!["access_key_id".to_owned()] }),
    );
    replace_after.replace_order = Some(ReplaceOrder::DestroyBeforeCreate);
    replace_after.prior_id = Some("CR00000000000000000000000000000001".to_owned());
    replace_after.before =
        Some(attributes(json!({"access_key_id": "AKIAEXAMPLE000000001", "friendly_name": "stowage dev"})));
    replace_after.after = Some(
        [
            ("access_key_id".to_owned(), PlannedValue::Unknown(key_id.clone())),
            ("friendly_name".to_owned(), PlannedValue::Known(json!("stowage dev"))),
        ]
        .into(),
    );
    replace_after.changes = vec![attribute(
        "access_key_id",
        Some(json!("AKIAEXAMPLE000000001")),
        Some(PlannedValue::Unknown(key_id)),
        true,
    )];
    replace_after.depends_on = vec![key.clone()];

    let mut templated =
        change(address(ResourceType::IamUserPolicy, "uploader"), ActionKind::Update, Some(Reason::AttributesDiffer));
    templated.prior_id = Some("twilio-video-uploader-dev:stowage".to_owned());
    templated.before = Some(attributes(json!({"document": {"Statement": []}})));
    templated.after = Some([("document".to_owned(), PlannedValue::Template(policy_template.clone()))].into());
    templated.changes = vec![attribute(
        "document",
        Some(json!({"Statement": []})),
        Some(PlannedValue::Template(policy_template)),
        false,
    )];

    let mut create = change(address(ResourceType::IamUser, "uploader"), ActionKind::Create, Some(Reason::New));
    create.after = Some([("name".to_owned(), PlannedValue::Known(json!("twilio-video-uploader-dev")))].into());
    create.changes =
        vec![attribute("name", None, Some(PlannedValue::Known(json!("twilio-video-uploader-dev"))), false)];

    let mut delete = change(address(ResourceType::KmsKey, "main"), ActionKind::Delete, Some(Reason::NotInSpec));
    delete.prior_id = Some("1234abcd-12ab-34cd-56ef-1234567890ab".to_owned());
    delete.before = Some(attributes(json!({"enabled": true})));
    delete.changes = vec![attribute("enabled", Some(json!(true)), None, false)];

    let mut adopted =
        change(address(ResourceType::TwilioRecordingSettings, "main"), ActionKind::Update, Some(Reason::Adopted));
    adopted.prior_id = Some("Default".to_owned());
    adopted.before = Some(attributes(json!({"aws_storage_enabled": false, "aws_s3_url": null})));
    adopted.changes =
        vec![attribute("aws_storage_enabled", Some(json!(false)), Some(PlannedValue::Known(json!(true))), false)];

    let mut no_op = change(address(ResourceType::TwilioCompositionSettings, "main"), ActionKind::NoOp, None);
    no_op.prior_id = Some("Default".to_owned());
    no_op.before = Some(attributes(json!({"aws_storage_enabled": true})));
    no_op.after = Some([("aws_storage_enabled".to_owned(), PlannedValue::Known(json!(true)))].into());

    let changes = vec![
        delete,
        update,
        create,
        templated,
        replace_first,
        change(
            address(ResourceType::IamAccessKey, "recreated"),
            ActionKind::Create,
            Some(Reason::DeletedOutsideStowage),
        ),
        change(
            address(ResourceType::IamAccessKey, "handed_over"),
            ActionKind::Replace,
            Some(Reason::SecretNeededBy { address: address(ResourceType::TwilioAwsCredential, "main") }),
        ),
        replace_after,
        change(address(ResourceType::TwilioPublicKey, "recordings"), ActionKind::Forget, Some(Reason::AlreadyGone)),
        change(address(ResourceType::IamUser, "adopted"), ActionKind::Update, Some(Reason::CreatedByInterruptedApply)),
        adopted,
        no_op,
    ];
    let drift = vec![
        ResourceDrift { address: address(ResourceType::IamAccessKey, "uploader"), deleted: true, changes: Vec::new() },
        ResourceDrift {
            address: bucket.clone(),
            deleted: false,
            changes: vec![attribute("versioning", Some(json!(true)), Some(PlannedValue::Known(json!(false))), false)],
        },
    ];
    let diagnostics = vec![
        PlanDiagnostic {
            severity: Severity::Error,
            address: Some(bucket),
            message: "bucket `acme-video-dev` exists, but the state does not record it".to_owned(),
            hint: Some("import it, or choose another name".to_owned()),
        },
        PlanDiagnostic {
            severity: Severity::Warning,
            address: None,
            message: "versioning is on and no lifecycle rule expires noncurrent versions".to_owned(),
            hint: None,
        },
    ];
    Plan { changes, drift, diagnostics, mode: PlanMode::Normal, planned_at: None }
}

/// A refresh-only plan, made before there was a state file.
fn refresh_only() -> Plan {
    let mut plan = every_shape();
    plan.diagnostics.retain(|diagnostic| diagnostic.severity == Severity::Error);
    plan.refresh_only()
}

fn saved(plan: Plan, state: Option<StateFingerprint>) -> SavedPlan {
    SavedPlan {
        stowage_version: "0.1.0".to_owned(),
        spec: SpecFingerprint {
            path: "examples/dev.toml".to_owned(),
            sha256: "0f4b5e3b5b7c8d1a3e2f6a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d".to_owned(),
        },
        state,
        state_path: "examples/dev.state.json".to_owned(),
        plan,
    }
}

fn goldens() -> [(&'static str, SavedPlan); 2] {
    let state = StateFingerprint {
        lineage: "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b".parse().expect("a UUID"),
        serial: 7,
        version: None,
    };
    [("golden_v1", saved(every_shape(), Some(state))), ("golden_v1_refresh_only", saved(refresh_only(), None))]
}

/// The file a snapshot holds: the text after insta's header.
fn golden_bytes(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/snapshots/render_plan_file__{name}.snap"));
    let text = fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let body = text.splitn(3, "---\n").nth(2).unwrap_or_else(|| panic!("{} has no insta header", path.display()));
    body.as_bytes().to_vec()
}

#[test]
fn writes_the_bytes_the_format_always_had() {
    for (name, saved) in goldens() {
        let text = String::from_utf8(encode(&saved)).expect("a plan file is UTF-8");
        assert_snapshot!(name, text);
    }
}

#[test]
fn loads_the_files_the_format_always_had() {
    for (name, saved) in goldens() {
        assert_eq!(decode(&golden_bytes(name)), Ok(saved), "{name}");
    }
}

#[test]
fn a_refresh_only_plan_keeps_its_mode() {
    let [_, (_, saved)] = goldens();
    assert_eq!(saved.plan.mode, PlanMode::RefreshOnly);
    assert_eq!(decode(&encode(&saved)).map(|loaded| loaded.plan.mode), Ok(PlanMode::RefreshOnly));
}

#[test]
fn the_golden_bodies_validate_against_the_schema() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/plan-file.schema.json");
    let schema: Value = serde_json::from_slice(&fs::read(path).expect("schema readable")).expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    for (name, _) in goldens() {
        let bytes = golden_bytes(name);
        let body = bytes.splitn(2, |&byte| byte == b'\n').nth(1).expect("a header line");
        let document: Value = serde_json::from_slice(body).expect("the body is JSON");
        let errors: Vec<String> =
            validator.iter_errors(&document).map(|error| format!("{}: {error}", error.instance_path())).collect();
        assert_eq!(errors, Vec::<String>::new(), "{name}");
        let mut unknown_type = document.clone();
        unknown_type["plan"]["drift"][0]["address"] = json!("aws_instance.main");
        assert!(!validator.is_valid(&unknown_type), "{name}: the schema accepts an unknown resource type");
    }
}

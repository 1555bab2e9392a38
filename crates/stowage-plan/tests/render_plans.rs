//! The human, JSON and Markdown renders of realistic plans of the dev environment: snapshots of
//! each, the JSON checked against `docs/plan-json.schema.json` (which `render_schemas.rs` checks
//! is the types'), and the three checked to agree.

#[allow(dead_code, reason = "each test file uses a part of the shared helpers")]
mod common;

use std::fs;
use std::path::PathBuf;

use common::{
    DEV_SPEC, account_with_someone_elses_bucket, converged, desired, edit, human, observed_mut, untouched_account,
};
use insta::assert_snapshot;
use serde_json::{Value, json};
use stowage_plan::desired::{access_key_address, bucket_address, policy_address};
use stowage_plan::render::{self, MarkdownOptions};
use stowage_plan::{Deposed, Plan, PlanDiagnostic, Prior, PriorResource, Severity, plan};

/// A plan worth rendering, with the name its snapshots carry.
struct Scenario {
    name: &'static str,
    plan: Plan,
}

fn create_everything() -> Plan {
    let desired = desired(DEV_SPEC);
    let prior = Prior::empty();
    plan(&desired, &prior, &untouched_account(&desired, &prior))
}

fn update_of_tags() -> Plan {
    let (_, prior, observations) = converged();
    let desired = desired(&edit(
        DEV_SPEC,
        r#"tags = { team = "video", env = "dev" }"#,
        r#"tags = { team = "media", env = "dev", owner = "ops" }"#,
    ));
    plan(&desired, &prior, &observations)
}

/// Someone let the uploader read recordings too; the plan narrows the policy again.
fn policy_change() -> Plan {
    let (desired, prior, mut observations) = converged();
    let document = observed_mut(&mut observations, &policy_address()).get_mut("document").expect("document observed");
    document["Statement"][0]["Action"] = json!(["s3:GetObject", "s3:PutObject"]);
    plan(&desired, &prior, &observations)
}

/// A tainted access key: the key is replaced, and with it the credential made from it.
fn replace_of_access_key_and_credential() -> Plan {
    let (desired, mut prior, observations) = converged();
    let key = prior.get(&access_key_address()).expect("key recorded").clone();
    prior.insert(PriorResource { tainted: Some("its secret was never handed to Twilio".to_owned()), ..key });
    plan(&desired, &prior, &observations)
}

/// The uploader and storage removed from the spec: everything made for them goes.
fn delete() -> Plan {
    let (_, prior, observations) = converged();
    let spec = DEV_SPEC.split("[uploader]").next().expect("the spec has a part before [uploader]");
    plan(&desired(spec), &prior, &observations)
}

fn no_changes() -> Plan {
    let (desired, prior, observations) = converged();
    plan(&desired, &prior, &observations)
}

fn access_key_deleted_outside() -> Plan {
    let (desired, prior, mut observations) = converged();
    observations.insert(access_key_address(), None);
    plan(&desired, &prior, &observations)
}

/// An earlier replacement stopped after making the new key: the old one is still recorded.
fn deposed_access_key() -> Plan {
    let (desired, mut prior, observations) = converged();
    let key = prior.get(&access_key_address()).expect("key recorded").clone();
    let old_id = "AKIAEXAMPLE000000000";
    let mut old_attributes = key.attributes.clone();
    old_attributes.insert("access_key_id".to_owned(), json!(old_id));
    prior.insert(PriorResource {
        deposed: vec![Deposed { id: old_id.to_owned(), attributes: old_attributes, origin: Default::default() }],
        ..key
    });
    plan(&desired, &prior, &observations)
}

/// The uploader removed from the spec after its key was deleted by hand: the key is forgotten.
fn teardown_with_key_already_gone() -> Plan {
    let (_, prior, mut observations) = converged();
    observations.insert(access_key_address(), None);
    let spec = DEV_SPEC.split("[uploader]").next().expect("the spec has a part before [uploader]");
    plan(&desired(spec), &prior, &observations)
}

fn someone_elses_bucket() -> Plan {
    let desired = desired(DEV_SPEC);
    let prior = Prior::empty();
    plan(&desired, &prior, &account_with_someone_elses_bucket(&desired, &prior))
}

/// The planner has no warning of its own yet; the CLI adds the spec's.
fn with_a_warning(mut plan: Plan) -> Plan {
    plan.diagnostics.push(PlanDiagnostic {
        severity: Severity::Warning,
        address: Some(bucket_address()),
        message: "versioning is on and no lifecycle rule expires noncurrent versions".to_owned(),
        hint: Some("add `noncurrent_expire_after_days` to a `[[bucket.lifecycle]]` rule".to_owned()),
    });
    plan
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario { name: "create_everything", plan: create_everything() },
        Scenario { name: "update_of_tags", plan: update_of_tags() },
        Scenario { name: "policy_change", plan: policy_change() },
        Scenario { name: "replace_of_access_key_and_credential", plan: replace_of_access_key_and_credential() },
        Scenario { name: "delete", plan: delete() },
        Scenario { name: "no_changes", plan: no_changes() },
        Scenario { name: "access_key_deleted_outside", plan: access_key_deleted_outside() },
        Scenario { name: "deposed_access_key", plan: deposed_access_key() },
        Scenario { name: "teardown_with_key_already_gone", plan: teardown_with_key_already_gone() },
        Scenario { name: "someone_elses_bucket", plan: someone_elses_bucket() },
        Scenario { name: "update_with_a_warning", plan: with_a_warning(update_of_tags()) },
    ]
}

fn json_text(plan: &Plan) -> String {
    serde_json::to_string_pretty(&render::json(plan)).expect("JSON serializes")
}

fn markdown(plan: &Plan) -> String {
    render::markdown(plan, MarkdownOptions::default())
}

/// Snapshots of the three renders of `plan`.
fn assert_renders(name: &str, plan: &Plan) {
    assert_snapshot!(format!("{name}-human"), human(plan));
    assert_snapshot!(format!("{name}-json"), json_text(plan));
    assert_snapshot!(format!("{name}-markdown"), markdown(plan));
}

/// The entry of `resource_changes` for `address` (not a deposed one).
fn entry<'a>(json: &'a Value, address: &str) -> &'a Value {
    json["resource_changes"]
        .as_array()
        .expect("resource_changes is an array")
        .iter()
        .find(|entry| entry["address"] == address && entry.get("deposed").is_none())
        .unwrap_or_else(|| panic!("no entry for `{address}` in {json:#}"))
}

#[test]
fn create_everything_renders() {
    let plan = create_everything();
    let json = render::json(&plan);

    let credential = entry(&json, "twilio_aws_credential.main");
    assert_eq!(credential["change"]["actions"], json!(["create"]));
    assert_eq!(credential["change"]["before"], Value::Null);
    assert_eq!(
        credential["change"]["after_unknown"],
        json!({"access_key_id": true, "sid": true}),
        "the key id comes from the new key, the SID from Twilio"
    );
    assert!(credential["change"]["after"].get("access_key_id").is_none(), "unknown values are left out of `after`");
    let policy = entry(&json, "aws_iam_user_policy.uploader");
    assert!(policy["change"]["after"]["document"].is_object(), "a policy is a JSON object, not an escaped string");
    let settings = entry(&json, "twilio_video_recording_settings.main");
    assert_eq!(settings["change"]["actions"], json!(["update"]));
    assert_eq!(settings["action_reason"], "update_because_not_yet_managed");
    assert_eq!(json["applyable"], true);
    assert_renders("create_everything", &plan);
}

#[test]
fn update_of_tags_renders() {
    let plan = update_of_tags();
    let json = render::json(&plan);

    let bucket = entry(&json, "aws_s3_bucket.main");
    assert_eq!(bucket["change"]["actions"], json!(["update"]));
    assert!(bucket.get("action_reason").is_none(), "a plain update has no reason, as in Terraform");
    let (mut before, mut after) = (bucket["change"]["before"].clone(), bucket["change"]["after"].clone());
    assert_ne!(before["tags"], after["tags"]);
    before["tags"] = Value::Null;
    after["tags"] = Value::Null;
    assert_eq!(before, after, "only the tags change");
    assert_renders("update_of_tags", &plan);
}

#[test]
fn policy_change_renders() {
    let plan = policy_change();
    let json = render::json(&plan);

    let policy = entry(&json, "aws_iam_user_policy.uploader");
    assert_eq!(policy["change"]["actions"], json!(["update"]));
    assert!(policy["change"]["before"]["document"].is_object());
    assert!(policy["change"]["after"]["document"].is_object());
    let drift = json["resource_drift"].as_array().expect("resource_drift is an array");
    assert_eq!(drift.len(), 1, "{json:#}");
    assert_eq!(drift[0]["address"], "aws_iam_user_policy.uploader");
    assert_eq!(drift[0]["change"]["actions"], json!(["update"]));
    assert_eq!(
        drift[0]["change"]["after"]["document"]["Statement"][0]["Action"],
        json!(["s3:GetObject", "s3:PutObject"]),
        "a drift's `after` is what exists now"
    );
    assert!(human(&plan).contains("objects have changed outside of stowage"));
    assert_renders("policy_change", &plan);
}

#[test]
fn replace_of_access_key_and_credential_renders() {
    let plan = replace_of_access_key_and_credential();
    let json = render::json(&plan);

    let key = entry(&json, "aws_iam_access_key.uploader");
    assert_eq!(key["change"]["actions"], json!(["create", "delete"]), "the new key exists before the old one goes");
    assert_eq!(key["action_reason"], "replace_because_tainted");
    assert_eq!(key["change"]["after_unknown"], json!({"access_key_id": true, "created_at": true}));
    let credential = entry(&json, "twilio_aws_credential.main");
    assert_eq!(credential["change"]["actions"], json!(["create", "delete"]));
    assert_eq!(credential["action_reason"], "replace_because_cannot_update");
    assert_eq!(credential["change"]["replace_paths"], json!([["access_key_id"]]));
    assert_eq!(json["summary"], json!({"add": 2, "change": 2, "destroy": 2, "forget": 0}));
    assert_renders("replace_of_access_key_and_credential", &plan);
}

#[test]
fn delete_renders() {
    let plan = delete();
    let json = render::json(&plan);

    let user = entry(&json, "aws_iam_user.uploader");
    assert_eq!(user["change"]["actions"], json!(["delete"]));
    assert_eq!(user["change"]["after"], Value::Null);
    assert_eq!(user["action_reason"], "delete_because_no_resource_config");
    let settings = entry(&json, "twilio_video_composition_settings.main");
    assert_eq!(settings["change"]["actions"], json!(["update"]), "Twilio's settings are switched off, not deleted");
    assert_eq!(settings["action_reason"], "switch_off_because_no_resource_config");
    assert_eq!(settings["change"]["after"]["aws_storage_enabled"], false);
    assert_renders("delete", &plan);
}

#[test]
fn no_changes_renders() {
    let plan = no_changes();
    let json = render::json(&plan);

    let entries = json["resource_changes"].as_array().expect("resource_changes is an array");
    assert_eq!(entries.len(), plan.changes.len(), "every resource is listed, as Terraform lists no-ops");
    for entry in entries {
        assert_eq!(entry["change"]["actions"], json!(["no-op"]), "{entry:#}");
        assert_eq!(entry["change"]["before"], entry["change"]["after"], "{entry:#}");
    }
    assert_eq!((json["applyable"].clone(), json["errored"].clone()), (json!(false), json!(false)));
    assert_renders("no_changes", &plan);
}

#[test]
fn an_access_key_deleted_outside_stowage_renders() {
    let plan = access_key_deleted_outside();
    let json = render::json(&plan);

    assert_eq!(entry(&json, "aws_iam_access_key.uploader")["action_reason"], "create_because_deleted_outside");
    assert_eq!(json["resource_drift"][0]["change"]["actions"], json!(["delete"]));
    assert_eq!(json["resource_drift"][0]["change"]["after"], Value::Null);
    assert_renders("access_key_deleted_outside", &plan);
}

#[test]
fn a_deposed_object_is_one_more_entry() {
    let plan = deposed_access_key();
    let json = render::json(&plan);

    let entries: Vec<&Value> = json["resource_changes"]
        .as_array()
        .expect("resource_changes is an array")
        .iter()
        .filter(|entry| entry["address"] == "aws_iam_access_key.uploader")
        .collect();
    assert_eq!(entries.len(), 2, "the key itself and its deposed object");
    assert_eq!(entries[0]["deposed"], "AKIAEXAMPLE000000000");
    assert_eq!(entries[0]["change"]["actions"], json!(["delete"]));
    assert_eq!(entries[0]["change"]["before"]["access_key_id"], "AKIAEXAMPLE000000000");
    assert_eq!(entries[1]["change"]["actions"], json!(["no-op"]));
    assert_eq!(json["applyable"], true);
    assert_renders("deposed_access_key", &plan);
}

#[test]
fn a_resource_already_gone_is_forgotten() {
    let plan = teardown_with_key_already_gone();
    let json = render::json(&plan);

    let key = entry(&json, "aws_iam_access_key.uploader");
    assert_eq!(key["change"]["actions"], json!(["forget"]));
    assert_eq!(key["action_reason"], "forget_because_deleted_outside");
    assert_eq!(json["summary"]["forget"], 1);
    assert_renders("teardown_with_key_already_gone", &plan);
}

#[test]
fn a_plan_with_errors_is_errored_and_not_applyable() {
    let plan = someone_elses_bucket();
    let json = render::json(&plan);

    assert_eq!((json["errored"].clone(), json["applyable"].clone()), (json!(true), json!(false)));
    assert_eq!(json["diagnostics"][0]["severity"], "error");
    assert_eq!(json["diagnostics"][0]["address"], "aws_s3_bucket.main");
    assert!(markdown(&plan).contains("> [!CAUTION]"));
    assert_renders("someone_elses_bucket", &plan);
}

#[test]
fn warnings_are_highlighted() {
    let plan = with_a_warning(update_of_tags());
    let json = render::json(&plan);

    assert_eq!(json["diagnostics"][0]["severity"], "warning");
    assert_eq!((json["errored"].clone(), json["applyable"].clone()), (json!(false), json!(true)));
    assert!(markdown(&plan).contains("> [!WARNING]"));
    assert_renders("update_with_a_warning", &plan);
}

fn schema_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/plan-json.schema.json")
}

fn validator() -> jsonschema::Validator {
    let schema: Value =
        serde_json::from_slice(&fs::read(schema_path()).expect("schema readable")).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("the schema compiles")
}

fn validation_errors(validator: &jsonschema::Validator, document: &Value) -> Vec<String> {
    validator.iter_errors(document).map(|error| format!("{}: {error}", error.instance_path())).collect()
}

#[test]
fn every_json_plan_validates_against_the_schema() {
    let validator = validator();
    for scenario in scenarios() {
        let json = render::json(&scenario.plan);
        assert_eq!(validation_errors(&validator, &json), Vec::<String>::new(), "{}", scenario.name);
    }
}

#[test]
fn the_schema_rejects_what_no_plan_holds() {
    let validator = validator();
    let valid = render::json(&replace_of_access_key_and_credential());
    let mut unknown_action = valid.clone();
    unknown_action["resource_changes"][0]["change"]["actions"] = json!(["explode"]);
    let mut three_actions = valid.clone();
    three_actions["resource_changes"][0]["change"]["actions"] = json!(["create", "delete", "create"]);
    let mut sensitive = valid.clone();
    sensitive["resource_changes"][0]["change"]["after_sensitive"] = json!({"secret_access_key": true});
    let mut unknown_reason = valid.clone();
    unknown_reason["resource_changes"][3]["action_reason"] = json!("because");
    let mut unknown_type = valid.clone();
    unknown_type["resource_changes"][0]["type"] = json!("aws_instance");
    let mut without_address = valid;
    without_address["resource_changes"][0].as_object_mut().expect("an object").remove("address");

    for (name, document) in [
        ("unknown action", unknown_action),
        ("three actions", three_actions),
        ("a sensitive value", sensitive),
        ("unknown reason", unknown_reason),
        ("unknown type", unknown_type),
        ("no address", without_address),
    ] {
        assert!(!validation_errors(&validator, &document).is_empty(), "{name}: the schema accepts it");
    }
}

#[test]
fn no_render_mentions_a_secret() {
    for scenario in scenarios() {
        let renders = [human(&scenario.plan), json_text(&scenario.plan), markdown(&scenario.plan)];
        for text in renders {
            assert!(!text.to_lowercase().contains("secret_access_key"), "{}:\n{text}", scenario.name);
        }
    }
}

/// `ADDRESS ACTIONS` of each change and deposed object, in Terraform's action words, from the
/// JSON; `(drift) ADDRESS ACTION` for what changed outside stowage.
fn json_actions(json: &Value) -> Vec<String> {
    let words = |change: &Value| -> String {
        change["actions"]
            .as_array()
            .expect("actions")
            .iter()
            .map(|action| action.as_str().expect("a word"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut lines: Vec<String> = json["resource_drift"]
        .as_array()
        .expect("resource_drift")
        .iter()
        .map(|entry| format!("(drift) {} {}", entry["address"].as_str().expect("address"), words(&entry["change"])))
        .collect();
    for entry in json["resource_changes"].as_array().expect("resource_changes") {
        let actions = words(&entry["change"]);
        if actions == "no-op" {
            continue;
        }
        let address = entry["address"].as_str().expect("address");
        match entry["deposed"].as_str() {
            Some(id) => lines.push(format!("{address} (deposed {id}) {actions}")),
            None => lines.push(format!("{address} {actions}")),
        }
    }
    lines
}

/// The same from the human plan's `# ADDRESS ...` lines.
fn human_actions(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("  # ") else { continue };
        let (address, words) = rest.split_once(' ').expect("`# ADDRESS words`");
        let line = if let Some(id) = words.strip_prefix("(deposed object ").and_then(|words| words.split(')').next()) {
            format!("{address} (deposed {id}) delete")
        } else if words.starts_with("has changed outside stowage") {
            format!("(drift) {address} update")
        } else if words.starts_with("was deleted outside stowage") {
            format!("(drift) {address} delete")
        } else {
            let actions = [
                ("will be created", "create"),
                ("will be updated in place", "update"),
                ("will be switched off", "update"),
                ("will be destroyed", "delete"),
                ("will be forgotten", "forget"),
                ("must be replaced: created anew, then the old one destroyed", "create,delete"),
                ("must be replaced: destroyed, then created", "delete,create"),
            ]
            .into_iter()
            .find(|(phrase, _)| words.starts_with(phrase))
            .unwrap_or_else(|| panic!("unknown human action: {line}"))
            .1;
            format!("{address} {actions}")
        };
        lines.push(line);
    }
    lines
}

/// The same from the Markdown tables.
fn markdown_actions(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for row in text.lines().filter(|line| line.starts_with("| `")) {
        let cells: Vec<&str> = row.trim_matches('|').split(" | ").map(str::trim).collect();
        let address = cells[0].trim_matches('`');
        let action = cells[1];
        let line = if let Some(id) = action.strip_prefix("`-` destroy deposed object `") {
            format!("{address} (deposed {}) delete", id.trim_end_matches('`'))
        } else if action.starts_with("`~` changed: ") {
            format!("(drift) {address} update")
        } else if action == "`-` deleted outside stowage" {
            format!("(drift) {address} delete")
        } else {
            let actions = [
                ("`+` create", "create"),
                ("`~` update in place", "update"),
                ("`~` switch off", "update"),
                ("`-` destroy", "delete"),
                ("`-` forget", "forget"),
                ("`+/-` replace: create the new one, then destroy the old one", "create,delete"),
                ("`-/+` replace: destroy, then create", "delete,create"),
            ]
            .into_iter()
            .find(|(phrase, _)| action.starts_with(phrase))
            .unwrap_or_else(|| panic!("unknown Markdown action: {row}"))
            .1;
            format!("{address} {actions}")
        };
        lines.push(line);
    }
    // Drift comes last in Markdown, first elsewhere.
    lines.sort_by_key(|line| !line.starts_with("(drift)"));
    lines
}

#[test]
fn the_three_renders_agree_on_addresses_and_actions() {
    for scenario in scenarios() {
        let from_json = json_actions(&render::json(&scenario.plan));
        let from_human = human_actions(&human(&scenario.plan));
        let from_markdown = markdown_actions(&markdown(&scenario.plan));
        assert_eq!(from_human, from_json, "{}: human and JSON", scenario.name);
        assert_eq!(from_markdown, from_json, "{}: Markdown and JSON", scenario.name);

        let summary = &render::json(&scenario.plan)["summary"];
        if scenario.plan.has_changes() && !scenario.plan.has_errors() {
            let counts = format!(
                "{} to add, {} to change, {} to destroy",
                summary["add"], summary["change"], summary["destroy"]
            );
            assert!(human(&scenario.plan).contains(&format!("Plan: {counts}")), "{}", scenario.name);
            assert!(markdown(&scenario.plan).starts_with(&format!("### stowage plan: {counts}")), "{}", scenario.name);
        }
    }
}

#[test]
fn the_scenarios_cover_every_action() {
    let mut seen: Vec<String> = scenarios()
        .iter()
        .flat_map(|scenario| json_actions(&render::json(&scenario.plan)))
        .map(|line| {
            let actions = line.rsplit(' ').next().expect("actions last").to_owned();
            if line.starts_with("(drift)") { format!("drift {actions}") } else { actions }
        })
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(
        seen,
        ["create", "create,delete", "delete", "drift delete", "drift update", "forget", "update"],
        "destroy-before-create has no resource type yet"
    );
}

#[test]
fn a_title_replaces_the_default_heading() {
    let options = MarkdownOptions { title: Some("stowage plan for `dev`".to_owned()), ..MarkdownOptions::default() };
    let text = render::markdown(&update_of_tags(), options);
    assert!(text.starts_with("### stowage plan for `dev`: 0 to add, 1 to change, 0 to destroy\n"), "{text}");
}

//! `aws_iam_user_policy`: the uploader's inline policy, what the key Twilio holds may do.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::address::{ProviderName, ResourceType};
use crate::policy;
use crate::schema::build::{compared, identity};
use crate::schema::{AttributeDrift, Comparison, DriftMeaning, Harm, Lifecycle, ReplaceOrder, ResourceSchema};

pub(crate) static SCHEMA: ResourceSchema = ResourceSchema {
    resource_type: ResourceType::IamUserPolicy,
    name: "aws_iam_user_policy",
    provider: ProviderName::Aws,
    noun: "inline policy",
    attributes: &[identity("user_name"), identity("policy_name"), compared("document", Comparison::PolicyDocument)],
    // Replaced only when its user or name changes, so the new policy is a different object:
    // create it first, and Twilio's uploader is never without permission in between.
    replace_order: ReplaceOrder::CreateBeforeDestroy,
    lifecycle: Lifecycle::InsideParent,
    delete_notice: None,
    immovable: None,
    rotation: None,
    max_per_parent: None,
    holds_data: false,
    drift: DriftMeaning {
        deleted: "the uploader may no longer write to the bucket: recordings are lost.",
        attribute: drift,
    },
};

/// The attributes of an inline policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IamUserPolicy {
    pub user_name: Option<String>,
    pub policy_name: Option<String>,
    /// The policy document, canonical (see [`crate::policy::canonical`]).
    pub document: Option<Value>,
}

fn drift(drift: &AttributeDrift<'_>) -> Option<(Harm, String)> {
    (drift.name == "document").then(|| (Harm::Critical, policy_risk(drift.expected, drift.actual)))
}

/// Why a policy change matters: a wider policy lets the key Twilio holds do more than write
/// recordings; a narrower one may stop Twilio writing them.
fn policy_risk(expected: &Value, actual: &Value) -> String {
    if actual.is_null() {
        return "the uploader may no longer write to the bucket: recordings are lost.".to_owned();
    }
    match (grants(expected), grants(actual)) {
        (Some(expected), Some(actual)) => {
            let missing_from = |from: &Grants, other: &Grants| -> Vec<String> {
                from.iter()
                    .filter(|(pair, _)| !other.contains_key(*pair))
                    .map(|((_, resource), action)| format!("`{action}` on `{resource}`"))
                    .collect()
            };
            let wider = missing_from(&actual, &expected);
            if !wider.is_empty() {
                return format!(
                    "the uploader policy is wider: the key Twilio holds now also allows {}.",
                    wider.join(", ")
                );
            }
            format!(
                "the uploader policy is narrower: without {} Twilio cannot write (debugger 53615), and recordings are lost.",
                missing_from(&expected, &actual).join(", ")
            )
        }
        _ => {
            "the uploader policy changed in a way that may grant more or allow less than writing recordings.".to_owned()
        }
    }
}

/// What a policy allows: `(action in lowercase, as IAM compares it, resource)` to the action as
/// written.
type Grants = BTreeMap<(String, String), String>;

/// The `(action, resource)` pairs a policy of plain `Allow` statements grants, actions in
/// lowercase as IAM compares them; `None` when it has anything else (`Deny`, conditions,
/// `NotAction`...), which cannot be compared this simply.
fn grants(document: &Value) -> Option<Grants> {
    let canonical = policy::canonical(document);
    let mut pairs = Grants::new();
    for statement in canonical.get("Statement")?.as_array()? {
        let statement = statement.as_object()?;
        if statement.get("Effect")?.as_str()? != "Allow"
            || statement.keys().any(|key| !matches!(key.as_str(), "Sid" | "Effect" | "Action" | "Resource"))
        {
            return None;
        }
        let strings = |key: &str| -> Option<Vec<String>> {
            match statement.get(key)? {
                Value::String(one) => Some(vec![one.clone()]),
                Value::Array(many) => many.iter().map(|value| value.as_str().map(str::to_owned)).collect(),
                _ => None,
            }
        };
        for action in strings("Action")? {
            for resource in strings("Resource")? {
                pairs.insert((action.to_lowercase(), resource), action.clone());
            }
        }
    }
    Some(pairs)
}

#[cfg(test)]
pub(crate) fn full() -> IamUserPolicy {
    IamUserPolicy { user_name: Some("u".into()), policy_name: Some("p".into()), document: Some(Value::Null) }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn policy(actions: &[&str], resources: &[&str]) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resources}]})
    }

    #[test]
    fn a_wider_policy_names_what_it_now_allows_and_a_narrower_one_what_it_lost() {
        let expected = policy(&["s3:PutObject"], &["arn:aws:s3:::b/r/*"]);
        let wider = policy_risk(&expected, &policy(&["s3:PutObject", "S3:GetObject"], &["arn:aws:s3:::b/r/*"]));
        assert!(wider.contains("wider") && wider.contains("`S3:GetObject` on `arn:aws:s3:::b/r/*`"), "{wider}");
        let both = policy(&["s3:PutObject"], &["arn:aws:s3:::b/r/*", "arn:aws:s3:::b/c/*"]);
        let narrower = policy_risk(&both, &expected);
        assert!(
            narrower.contains("narrower") && narrower.contains("`s3:PutObject` on `arn:aws:s3:::b/c/*`"),
            "{narrower}"
        );
        let denying = json!({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]});
        assert!(policy_risk(&expected, &denying).contains("may grant more or allow less"));
    }
}

//! IAM policy documents compared by meaning, never as strings.
//!
//! IAM returns documents URL-encoded and may reorder them; people write single values where
//! IAM accepts lists, and `S3:PutObject` where IAM means `s3:PutObject`. [`canonical`] gives the
//! one form stowage shows and stores; [`same_meaning`] decides whether two documents differ.

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("policy document is not valid JSON: {0}")]
    NotJson(String),
    #[error("policy document is not a JSON object")]
    NotAnObject,
    #[error("policy document is not valid UTF-8 after URL-decoding")]
    NotUtf8,
}

/// Parse a policy document as IAM returns it: URL-encoded JSON (or plain JSON).
pub fn parse(text: &str) -> Result<Value, PolicyError> {
    let trimmed = text.trim_start();
    let decoded = if trimmed.starts_with('{') {
        trimmed.to_owned()
    } else {
        percent_decode_str(trimmed).decode_utf8().map_err(|_| PolicyError::NotUtf8)?.into_owned()
    };
    let value: Value = serde_json::from_str(&decoded).map_err(|error| PolicyError::NotJson(error.to_string()))?;
    if !value.is_object() {
        return Err(PolicyError::NotAnObject);
    }
    Ok(value)
}

/// Keys whose values IAM accepts as a string or a list of strings, meaning a set.
const SET_VALUED: [&str; 4] = ["Action", "NotAction", "Resource", "NotResource"];

/// The canonical form of a document: `Statement` always a list, sorted; set-valued elements
/// always sorted lists without duplicates; principals and condition values likewise.
/// Object keys keep a fixed order (`Version`, `Id`, `Statement`; within a statement `Sid`,
/// `Effect`, principals, actions, resources, `Condition`) so the pretty-printed form diffs well.
pub fn canonical(document: &Value) -> Value {
    let Some(object) = document.as_object() else { return document.clone() };
    let mut out = Map::new();
    for key in ["Version", "Id"] {
        if let Some(value) = object.get(key) {
            out.insert(key.to_owned(), value.clone());
        }
    }
    if let Some(statements) = object.get("Statement") {
        let mut list: Vec<Value> = match statements {
            Value::Array(items) => items.iter().map(canonical_statement).collect(),
            single => vec![canonical_statement(single)],
        };
        list.sort_by_key(statement_sort_key);
        list.dedup();
        out.insert("Statement".to_owned(), Value::Array(list));
    }
    for (key, value) in object {
        if !out.contains_key(key) {
            out.insert(key.clone(), value.clone());
        }
    }
    Value::Object(out)
}

/// Whether two documents grant and deny the same things: equal canonical forms once statement
/// ids (labels with no effect) are dropped and action names lowercased (IAM ignores their case).
pub fn same_meaning(left: &Value, right: &Value) -> bool {
    meaning(left) == meaning(right)
}

/// The canonical form without statement ids: labels with no effect, which would only be noise
/// in a diff of what a document allows. Statements keep their canonical order.
pub fn canonical_without_statement_ids(document: &Value) -> Value {
    let mut document = canonical(document);
    if let Some(Value::Array(statements)) = document.get_mut("Statement") {
        for statement in statements.iter_mut().filter_map(Value::as_object_mut) {
            // `shift_remove` keeps the other keys in canonical order.
            statement.shift_remove("Sid");
        }
    }
    document
}

fn meaning(document: &Value) -> Value {
    let mut document = canonical(document);
    if let Some(Value::Array(statements)) = document.get_mut("Statement") {
        for statement in statements.iter_mut() {
            if let Some(object) = statement.as_object_mut() {
                // `shift_remove` keeps the other keys in canonical order (`remove` swaps the
                // last key into Sid's place), which the statement sort below depends on.
                object.shift_remove("Sid");
                for key in ["Action", "NotAction"] {
                    if let Some(Value::Array(actions)) = object.get_mut(key) {
                        for action in actions.iter_mut() {
                            if let Some(text) = action.as_str() {
                                *action = Value::String(text.to_ascii_lowercase());
                            }
                        }
                        sort_dedup(actions);
                    }
                }
            }
        }
        statements.sort_by_key(statement_sort_key);
        statements.dedup();
    }
    document
}

fn canonical_statement(statement: &Value) -> Value {
    let Some(object) = statement.as_object() else { return statement.clone() };
    let order =
        ["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"];
    let mut out = Map::new();
    for key in order.iter().copied().chain(object.keys().map(String::as_str)) {
        if out.contains_key(key) {
            continue;
        }
        let Some(value) = object.get(key) else { continue };
        let value = match key {
            key if SET_VALUED.contains(&key) => as_sorted_list(value),
            "Principal" | "NotPrincipal" => canonical_principal(value),
            "Condition" => canonical_condition(value),
            _ => value.clone(),
        };
        out.insert(key.to_owned(), value);
    }
    Value::Object(out)
}

fn canonical_principal(principal: &Value) -> Value {
    match principal {
        Value::Object(kinds) => {
            let mut sorted: Vec<(&String, &Value)> = kinds.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(sorted.into_iter().map(|(kind, ids)| (kind.clone(), as_sorted_list(ids))).collect())
        }
        other => other.clone(),
    }
}

fn canonical_condition(condition: &Value) -> Value {
    match condition {
        Value::Object(operators) => {
            let mut sorted: Vec<(&String, &Value)> = operators.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                sorted
                    .into_iter()
                    .map(|(operator, keys)| {
                        let keys = match keys {
                            Value::Object(keys) => {
                                let mut keys: Vec<(&String, &Value)> = keys.iter().collect();
                                keys.sort_by(|a, b| a.0.cmp(b.0));
                                Value::Object(
                                    keys.into_iter()
                                        .map(|(key, values)| (key.clone(), as_sorted_list(values)))
                                        .collect(),
                                )
                            }
                            other => other.clone(),
                        };
                        (operator.clone(), keys)
                    })
                    .collect(),
            )
        }
        other => other.clone(),
    }
}

fn as_sorted_list(value: &Value) -> Value {
    let mut items = match value {
        Value::Array(items) => items.clone(),
        single => vec![single.clone()],
    };
    sort_dedup(&mut items);
    Value::Array(items)
}

fn sort_dedup(items: &mut Vec<Value>) {
    items.sort_by_key(Value::to_string);
    items.dedup();
}

fn statement_sort_key(statement: &Value) -> String {
    // Sid first so that labelled statements keep a readable order; the rest breaks ties.
    let sid = statement.get("Sid").and_then(Value::as_str).unwrap_or_default().to_owned();
    format!("{sid}\u{0}{statement}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn uploader() -> Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "PutRecordings", "Effect": "Allow", "Action": ["s3:PutObject"],
                 "Resource": ["arn:aws:s3:::b/compositions/*", "arn:aws:s3:::b/recordings/*"]}
            ]
        })
    }

    #[test]
    fn iam_url_encoding_is_undone() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(parse(encoded).unwrap(), json!({"Version": "2012-10-17", "Statement": []}));
    }

    #[test]
    fn reordering_and_single_values_are_no_change() {
        let reordered = json!({
            "Statement": {"Resource": ["arn:aws:s3:::b/recordings/*", "arn:aws:s3:::b/compositions/*"],
                          "Action": "S3:PutObject", "Effect": "Allow", "Sid": "Renamed"},
            "Version": "2012-10-17"
        });
        assert!(same_meaning(&uploader(), &reordered));
    }

    #[test]
    fn statement_order_is_no_change() {
        let two = |first: Value, second: Value| json!({"Version": "2012-10-17", "Statement": [first, second]});
        let allow = json!({"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/r/*"});
        let deny = json!({"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"});
        assert!(same_meaning(&two(allow.clone(), deny.clone()), &two(deny, allow)));
    }

    #[test]
    fn a_wider_policy_differs() {
        let mut wider = uploader();
        wider["Statement"][0]["Action"] = json!(["s3:PutObject", "s3:GetObject"]);
        assert!(!same_meaning(&uploader(), &wider));
        let mut other_prefix = uploader();
        other_prefix["Statement"][0]["Resource"] = json!(["arn:aws:s3:::b/*"]);
        assert!(!same_meaning(&uploader(), &other_prefix));
    }

    #[test]
    fn canonical_form_is_stable_and_ordered() {
        let messy = json!({
            "Statement": [{"Resource": "arn:aws:s3:::b/r/*", "Action": ["s3:PutObject", "s3:PutObject"], "Effect": "Allow"}],
            "Version": "2012-10-17"
        });
        let canonical_text = serde_json::to_string(&canonical(&messy)).unwrap();
        assert_eq!(
            canonical_text,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject"],"Resource":["arn:aws:s3:::b/r/*"]}]}"#
        );
        assert_eq!(canonical(&canonical(&messy)), canonical(&messy));
    }
}

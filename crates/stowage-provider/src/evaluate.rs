//! A small IAM evaluator for one identity policy: does it allow `action` on `resource`?
//!
//! It knows what stowage's policies and the Twilio guide's template are made of: `Allow` and
//! `Deny`, `Action`/`NotAction` (case-insensitive, `*` and `?` wildcards) and
//! `Resource`/`NotResource` (wildcards, case-sensitive). A statement that would decide the
//! answer but carries a `Condition` (or anything else it cannot read) makes the answer
//! [`Decision::Undetermined`]: a verifier must say "cannot tell" rather than guess.

use serde_json::Value;

/// What IAM would decide for one request, as far as this one document goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// An `Allow` statement matches and no `Deny` does.
    Allowed,
    /// A `Deny` statement matches: nothing can allow it.
    ExplicitlyDenied,
    /// No statement matches: IAM's default deny.
    ImplicitlyDenied,
    /// A statement that could decide the answer cannot be evaluated here; why.
    Undetermined(String),
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed)
    }
}

/// Evaluate `document` (a parsed policy, see [`crate::policy::parse`]) for `action` on
/// `resource` (an ARN).
pub fn evaluate(document: &Value, action: &str, resource: &str) -> Decision {
    let statements: Vec<&Value> = match document.get("Statement") {
        Some(Value::Array(statements)) => statements.iter().collect(),
        Some(statement @ Value::Object(_)) => vec![statement],
        Some(_) => return Decision::Undetermined("`Statement` is neither a statement nor a list of them".to_owned()),
        None => return Decision::ImplicitlyDenied,
    };
    let mut allowed = false;
    let mut conditional_allow: Option<String> = None;
    let mut conditional_deny: Option<String> = None;
    for (index, statement) in statements.into_iter().enumerate() {
        let label = statement_label(statement, index);
        let matched = match statement_matches(statement, action, resource) {
            Ok(matched) => matched,
            Err(problem) => return Decision::Undetermined(format!("{label}: {problem}")),
        };
        if !matched {
            continue;
        }
        let conditional = statement.get("Condition").is_some();
        match statement.get("Effect").and_then(Value::as_str) {
            Some("Deny") if conditional => {
                conditional_deny.get_or_insert_with(|| format!("{label} denies it under a `Condition`"));
            }
            // An unconditional deny wins over everything else.
            Some("Deny") => return Decision::ExplicitlyDenied,
            Some("Allow") if conditional => {
                conditional_allow.get_or_insert_with(|| format!("{label} allows it only under a `Condition`"));
            }
            Some("Allow") => allowed = true,
            _ => return Decision::Undetermined(format!("{label} has no `Effect` of `Allow` or `Deny`")),
        }
    }
    match (conditional_deny, allowed, conditional_allow) {
        (Some(why), _, _) => Decision::Undetermined(why),
        (None, true, _) => Decision::Allowed,
        (None, false, Some(why)) => Decision::Undetermined(why),
        (None, false, None) => Decision::ImplicitlyDenied,
    }
}

fn statement_label(statement: &Value, index: usize) -> String {
    match statement.get("Sid").and_then(Value::as_str) {
        Some(sid) if !sid.is_empty() => format!("statement `{sid}`"),
        _ => format!("statement {}", index + 1),
    }
}

/// Whether a statement's action and resource elements cover the request.
fn statement_matches(statement: &Value, action: &str, resource: &str) -> Result<bool, String> {
    let action_matches = element_matches(statement, "Action", "NotAction", |pattern| {
        wildcard_match(&pattern.to_ascii_lowercase(), &action.to_ascii_lowercase())
    })?;
    if !action_matches {
        return Ok(false);
    }
    element_matches(statement, "Resource", "NotResource", |pattern| wildcard_match(pattern, resource))
}

/// `positive` lists what the statement covers, `negative` what it covers everything but.
fn element_matches(
    statement: &Value,
    positive: &str,
    negative: &str,
    matches: impl Fn(&str) -> bool,
) -> Result<bool, String> {
    match (statement.get(positive), statement.get(negative)) {
        (Some(patterns), None) => Ok(strings(patterns, positive)?.into_iter().any(matches)),
        (None, Some(patterns)) => Ok(!strings(patterns, negative)?.into_iter().any(matches)),
        (Some(_), Some(_)) => Err(format!("has both `{positive}` and `{negative}`")),
        (None, None) => Err(format!("has neither `{positive}` nor `{negative}`")),
    }
}

fn strings<'a>(value: &'a Value, key: &str) -> Result<Vec<&'a str>, String> {
    let not_strings = || format!("`{key}` holds something other than strings");
    match value {
        Value::String(single) => Ok(vec![single]),
        Value::Array(items) => items.iter().map(|item| item.as_str().ok_or_else(not_strings)).collect(),
        _ => Err(not_strings()),
    }
}

/// IAM's wildcards: `*` any run of characters (`/` included), `?` any one character.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    // Greedy matching with backtracking to the last `*`: linear in practice, no recursion.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const IN_RECORDINGS: &str = "arn:aws:s3:::b/recordings/RT1.mka";

    fn uploader() -> Value {
        json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "Put", "Effect": "Allow", "Action": ["s3:PutObject"],
             "Resource": ["arn:aws:s3:::b/recordings/*", "arn:aws:s3:::b/compositions/*"]}
        ]})
    }

    #[test]
    fn the_uploader_policy_allows_put_under_its_prefixes_only() {
        let policy = uploader();
        assert_eq!(evaluate(&policy, "s3:PutObject", IN_RECORDINGS), Decision::Allowed);
        assert_eq!(evaluate(&policy, "S3:putobject", "arn:aws:s3:::b/compositions/CJ1.mp4"), Decision::Allowed);
        assert_eq!(evaluate(&policy, "s3:PutObject", "arn:aws:s3:::b/other/x"), Decision::ImplicitlyDenied);
        assert_eq!(evaluate(&policy, "s3:GetObject", IN_RECORDINGS), Decision::ImplicitlyDenied);
        assert_eq!(evaluate(&policy, "s3:ListBucket", "arn:aws:s3:::b"), Decision::ImplicitlyDenied);
        // Resources are case-sensitive.
        assert_eq!(evaluate(&policy, "s3:PutObject", "arn:aws:s3:::b/Recordings/x"), Decision::ImplicitlyDenied);
    }

    #[test]
    fn the_guides_deny_not_action_star_denies_nothing() {
        let mut policy = uploader();
        policy["Statement"].as_array_mut().unwrap().push(json!({"Effect": "Deny", "NotAction": "*", "Resource": "*"}));
        assert_eq!(evaluate(&policy, "s3:PutObject", IN_RECORDINGS), Decision::Allowed);
        assert_eq!(evaluate(&policy, "s3:GetObject", IN_RECORDINGS), Decision::ImplicitlyDenied);
    }

    #[test]
    fn a_deny_wins_and_not_action_denies_everything_else() {
        let mut policy = uploader();
        policy["Statement"]
            .as_array_mut()
            .unwrap()
            .push(json!({"Effect": "Deny", "NotAction": "s3:Get*", "Resource": "arn:aws:s3:::b/recordings/*"}));
        assert_eq!(evaluate(&policy, "s3:PutObject", IN_RECORDINGS), Decision::ExplicitlyDenied);
        assert_eq!(evaluate(&policy, "s3:PutObject", "arn:aws:s3:::b/compositions/x"), Decision::Allowed);
    }

    #[test]
    fn wildcard_grants_are_seen() {
        let policy = json!({"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}});
        assert_eq!(evaluate(&policy, "s3:DeleteObject", IN_RECORDINGS), Decision::Allowed);
        assert_eq!(evaluate(&policy, "iam:CreateUser", "*"), Decision::ImplicitlyDenied);
        let not_resource =
            json!({"Statement": {"Effect": "Allow", "Action": "s3:Put?bject", "NotResource": "arn:aws:s3:::secret/*"}});
        assert_eq!(evaluate(&not_resource, "s3:PutObject", IN_RECORDINGS), Decision::Allowed);
        assert_eq!(evaluate(&not_resource, "s3:PutObject", "arn:aws:s3:::secret/x"), Decision::ImplicitlyDenied);
    }

    #[test]
    fn conditions_and_malformed_statements_are_not_guessed() {
        let conditional = json!({"Statement": [{"Sid": "OnlyTls", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]});
        assert_eq!(
            evaluate(&conditional, "s3:PutObject", IN_RECORDINGS),
            Decision::Undetermined("statement `OnlyTls` allows it only under a `Condition`".to_owned())
        );
        // A conditional statement that does not match the request does not matter.
        assert_eq!(evaluate(&conditional, "s3:GetObject", IN_RECORDINGS), Decision::ImplicitlyDenied);
        let both = json!({"Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "NotAction": "s3:GetObject", "Resource": "*"}]});
        assert_eq!(
            evaluate(&both, "s3:PutObject", IN_RECORDINGS),
            Decision::Undetermined("statement 1: has both `Action` and `NotAction`".to_owned())
        );
    }

    #[test]
    fn wildcards_match_like_iam() {
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*b*c", "a/x/b/y/c"));
        assert!(wildcard_match("kms:reencrypt*", "kms:reencryptfrom"));
        assert!(!wildcard_match("a*b", "a/x/c"));
        assert!(wildcard_match("a?c", "abc"));
        assert!(!wildcard_match("a?c", "ac"));
    }
}

//! Checking each request against the OpenAPI documents.
//!
//! The emulator is stricter than Twilio, so that a client tested against it is proven to send
//! only what the documents describe: unknown parameters, wrong types, missing required
//! parameters, patterns and lengths are all violations. Violations name parameters, never
//! their values (a form can carry an AWS secret).

use std::collections::HashMap;

use axum::http::Method;
use serde_json::{Map, Value};

use crate::openapi::{OpenApiError, ParameterLocation, TwilioOpenApi};
use crate::operation::Operation;

/// Name-value pairs as they arrived, in order, duplicates kept.
pub(crate) type Parameters = Vec<(String, String)>;

/// The value of the first parameter called `name`.
pub(crate) fn parameter<'a>(parameters: &'a Parameters, name: &str) -> Option<&'a str> {
    parameters.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}

/// The body of a request, as far as conformance cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RequestBody {
    Empty,
    Form(Parameters),
    /// A body that is not `application/x-www-form-urlencoded`.
    Other,
}

/// The validators of every served operation, compiled once at start.
#[derive(Debug)]
pub(crate) struct RequestContracts {
    operations: HashMap<(Method, &'static str), OperationContract>,
}

#[derive(Debug)]
struct OperationContract {
    path: ParameterContract,
    query: ParameterContract,
    /// `None` when the operation takes no body.
    body: Option<ParameterContract>,
}

/// A validator for a set of parameters, and the declared type of each, used to read the text
/// of a form or query value as the JSON value the schema expects.
#[derive(Debug)]
struct ParameterContract {
    location: &'static str,
    validator: jsonschema::Validator,
    types: HashMap<String, String>,
}

/// What the check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Conformance {
    pub violations: Vec<String>,
    /// Whether any violation is outside the path: Twilio answers a malformed SID in the path
    /// with 404 (no such resource), everything else with 400.
    pub rejects_request: bool,
}

impl Conformance {
    pub fn conforms(&self) -> bool {
        self.violations.is_empty()
    }

    /// The report for a request that names no operation at all.
    pub fn unknown_operation(method: &Method, path: &str) -> Self {
        Self::rejected(format!("no operation {method} {path} in the Twilio OpenAPI documents"))
    }

    /// The report for a request rejected before it could be checked.
    pub fn rejected(violation: String) -> Self {
        Self { violations: vec![violation], rejects_request: true }
    }
}

impl RequestContracts {
    pub fn compile(openapi: &TwilioOpenApi) -> Result<Self, OpenApiError> {
        let mut operations = HashMap::new();
        for (method, path) in Operation::SERVED {
            let compile = |location: &'static str, schema: Value| {
                ParameterContract::compile(location, schema).map_err(|message| OpenApiError::InvalidSchema {
                    method: method.to_string(),
                    path: path.to_owned(),
                    message,
                })
            };
            let contract = OperationContract {
                path: compile("path", openapi.parameters_schema(path, method.as_str(), ParameterLocation::Path)?)?,
                query: compile("query", openapi.parameters_schema(path, method.as_str(), ParameterLocation::Query)?)?,
                body: openapi
                    .request_body_schema(path, method.as_str())?
                    .map(|schema| compile("form", schema))
                    .transpose()?,
            };
            operations.insert((method, path), contract);
        }
        Ok(Self { operations })
    }

    pub fn check(&self, operation: &Operation, query: &Parameters, body: &RequestBody) -> Conformance {
        let Some(contract) = self.operations.get(&(operation.method(), operation.path_template())) else {
            return Conformance::unknown_operation(&operation.method(), operation.path_template());
        };
        let path_violations = contract.path.check(&operation.path_parameters());
        let mut violations = contract.query.check(query);
        match (body, &contract.body) {
            (RequestBody::Empty, None) => {}
            // An empty body is an empty form: its required parameters are reported missing.
            (RequestBody::Empty, Some(form)) => violations.extend(form.check(&Vec::new())),
            (RequestBody::Form(parameters), Some(form)) => violations.extend(form.check(parameters)),
            (RequestBody::Other, Some(_)) => {
                violations.push("form: the body must be application/x-www-form-urlencoded".to_owned())
            }
            (RequestBody::Form(_) | RequestBody::Other, None) => {
                violations.push(format!("form: {} takes no request body", operation.method()));
            }
        }
        let rejects_request = !violations.is_empty();
        Conformance { violations: path_violations.into_iter().chain(violations).collect(), rejects_request }
    }
}

impl ParameterContract {
    fn compile(location: &'static str, schema: Value) -> Result<Self, String> {
        let types = schema
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(name, property)| {
                let kind = match property.get("type")? {
                    Value::String(kind) => kind.clone(),
                    // A nullable type: `["string", "null"]`.
                    Value::Array(kinds) => kinds.iter().find_map(Value::as_str)?.to_owned(),
                    _ => return None,
                };
                Some((name.clone(), kind))
            })
            .collect();
        let validator = crate::openapi::validator(&schema)?;
        Ok(Self { location, validator, types })
    }

    fn check(&self, parameters: &Parameters) -> Vec<String> {
        let mut violations = Vec::new();
        let mut instance = Map::new();
        for (name, text) in parameters {
            let declared_type = self.types.get(name).map(String::as_str);
            if declared_type == Some("array") {
                // An array travels as the parameter repeated, one value each.
                let values = instance.entry(name.clone()).or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(values) = values {
                    values.push(Value::String(text.clone()));
                }
                continue;
            }
            if instance.contains_key(name) {
                violations.push(format!("{} parameter {name}: given more than once", self.location));
                continue;
            }
            instance.insert(name.clone(), typed_value(declared_type, text));
        }
        let instance = Value::Object(instance);
        for error in self.validator.iter_errors(&instance) {
            let parameter = error.instance_path().to_string();
            let message = error.masked();
            violations.push(match parameter.strip_prefix('/') {
                Some(name) => format!("{} parameter {name}: {message}", self.location),
                None => format!("{}: {message}", self.location),
            });
        }
        violations
    }
}

/// The JSON value a form or query text stands for, given the declared type. Text that does
/// not read as that type stays a string, so the schema's `type` reports it.
fn typed_value(declared_type: Option<&str>, text: &str) -> Value {
    match declared_type {
        Some("boolean") => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(text.to_owned()),
        },
        Some("integer") => text.parse::<i64>().map_or_else(|_| Value::String(text.to_owned()), Value::from),
        _ => Value::String(text.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operation::{CredentialKind, SettingsKind};
    use crate::simulation::MediaKind;

    fn contracts() -> RequestContracts {
        RequestContracts::compile(&TwilioOpenApi::load().unwrap()).unwrap()
    }

    fn form(pairs: &[(&str, &str)]) -> RequestBody {
        RequestBody::Form(pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect())
    }

    #[test]
    fn a_conforming_settings_form_passes() {
        let conformance = contracts().check(
            &Operation::UpdateSettings(SettingsKind::Recordings),
            &Vec::new(),
            &form(&[
                ("FriendlyName", "stowage"),
                ("AwsCredentialsSid", "CR0123456789abcdef0123456789abcdef"),
                ("AwsS3Url", "https://bucket.s3-us-east-2.amazonaws.com/recordings"),
                ("AwsStorageEnabled", "true"),
                ("EncryptionEnabled", "false"),
            ]),
        );
        assert_eq!(conformance, Conformance::default());
    }

    #[test]
    fn violations_name_parameters_and_never_values() {
        let conformance = contracts().check(
            &Operation::CreateCredential(CredentialKind::Aws),
            &vec![("Page".to_owned(), "1".to_owned())],
            &form(&[
                ("FriendlyName", "a"),
                ("FriendlyName", "b"),
                ("AccountSid", "ACsecretlooking"),
                ("Secret", "hunter2"),
            ]),
        );
        assert!(conformance.rejects_request);
        assert_eq!(
            conformance.violations,
            [
                "query: Additional properties are not allowed ('Page' was unexpected)",
                "form parameter FriendlyName: given more than once",
                "form parameter AccountSid: value is shorter than 34 characters",
                "form parameter AccountSid: value does not match \"^AC[0-9a-fA-F]{32}$\"",
                "form: Additional properties are not allowed ('Secret' was unexpected)",
                "form: \"Credentials\" is a required property",
            ]
        );
        let report = conformance.violations.join("\n");
        assert!(!report.contains("hunter2") && !report.contains("ACsecretlooking"));
    }

    #[test]
    fn booleans_must_be_true_or_false() {
        let conformance = contracts().check(
            &Operation::UpdateSettings(SettingsKind::Compositions),
            &Vec::new(),
            &form(&[("FriendlyName", "x"), ("AwsStorageEnabled", "True")]),
        );
        assert_eq!(conformance.violations, ["form parameter AwsStorageEnabled: value is not of type \"boolean\""]);
    }

    #[test]
    fn page_size_is_bounded_and_typed() {
        let check = |value: &str| {
            contracts()
                .check(
                    &Operation::ListCredentials(CredentialKind::PublicKey),
                    &vec![("PageSize".to_owned(), value.to_owned())],
                    &RequestBody::Empty,
                )
                .violations
        };
        assert!(check("1000").is_empty());
        assert_eq!(check("1001"), ["query parameter PageSize: value is greater than the maximum of 1000"]);
        assert_eq!(check("ten"), ["query parameter PageSize: value is not of type \"integer\""]);
    }

    #[test]
    fn a_malformed_path_sid_is_a_violation_that_does_not_reject() {
        let conformance = contracts().check(
            &Operation::FetchCredential(CredentialKind::Aws, "CRnope".to_owned()),
            &Vec::new(),
            &RequestBody::Empty,
        );
        assert!(!conformance.rejects_request);
        assert_eq!(conformance.violations.len(), 2, "{:?}", conformance.violations);
    }

    #[test]
    fn bodies_where_none_belong_and_non_form_bodies_are_violations() {
        let contracts = contracts();
        let on_get = contracts.check(
            &Operation::FetchSettings(SettingsKind::Recordings),
            &Vec::new(),
            &form(&[("FriendlyName", "x")]),
        );
        assert_eq!(on_get.violations, ["form: GET takes no request body"]);
        let json_body =
            contracts.check(&Operation::UpdateSettings(SettingsKind::Recordings), &Vec::new(), &RequestBody::Other);
        assert_eq!(json_body.violations, ["form: the body must be application/x-www-form-urlencoded"]);
    }

    #[test]
    fn array_parameters_are_repeated_and_each_value_checked() {
        let check = |pairs: &[(&str, &str)]| {
            let query = pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
            contracts().check(&Operation::ListMedia(MediaKind::Recording), &query, &RequestBody::Empty).violations
        };
        let room = "RM0123456789abcdef0123456789abcdef";
        let participant = "PA0123456789abcdef0123456789abcdef";
        assert!(check(&[("GroupingSid", room), ("GroupingSid", participant), ("Status", "completed")]).is_empty());
        assert_eq!(check(&[("GroupingSid", "RMnope")]).len(), 2, "{:?}", check(&[("GroupingSid", "RMnope")]));
        assert_eq!(
            check(&[("Status", "done")]),
            ["query parameter Status: value is not one of \"processing\", \"completed\" or 2 other candidates"]
        );
        assert_eq!(
            check(&[("PageSize", "101")]),
            ["query parameter PageSize: value is greater than the maximum of 100"]
        );
    }

    #[test]
    fn alert_dates_are_date_times_or_bare_dates() {
        let check = |value: &str| {
            contracts()
                .check(
                    &Operation::ListAlerts,
                    &vec![("StartDate".to_owned(), value.to_owned()), ("LogLevel".to_owned(), "error".to_owned())],
                    &RequestBody::Empty,
                )
                .violations
        };
        assert!(check("2016-01-01").is_empty());
        assert!(check("2016-01-01T00:00:00Z").is_empty());
        assert_eq!(check("yesterday").len(), 1, "{:?}", check("yesterday"));
    }

    #[test]
    fn an_empty_body_is_an_empty_form() {
        let conformance = contracts().check(
            &Operation::CreateCredential(CredentialKind::PublicKey),
            &Vec::new(),
            &RequestBody::Empty,
        );
        assert_eq!(conformance.violations, ["form: \"PublicKey\" is a required property"]);
    }
}

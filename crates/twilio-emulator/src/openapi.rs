//! Twilio's OpenAPI documents for the APIs the emulator serves, and the JSON Schemas they give
//! for requests and responses.
//!
//! The documents are embedded byte for byte (`openapi/SOURCE.txt` says where they come from).
//! OpenAPI 3.0 schema objects are JSON Schema draft 4 with two differences that matter here:
//! `nullable: true` (turned into a `null` member of `type`) and `$ref`s into the document's own
//! `#/components/schemas` (inlined from the same document). Everything else passes through.
//!
//! Of the 2010 API's document (1.8 MB) only the Accounts resource is embedded: its two paths
//! and the schemas and tag they use, cut out unchanged (`openapi/extract_v2010_accounts.py`).
//!
//! Two readings of the documents' prose:
//!
//! - A `format: date-time` parameter whose description says it may also be given as
//!   `` `YYYY-MM-DD` `` (Monitor's `StartDate` and `EndDate`, whose own examples are bare dates)
//!   accepts a `format: date` as well.
//! - In the 2010 document, `format: uri` is a URI reference: its URIs are "relative to
//!   `https://api.twilio.com`", as its examples (`/2010-04-01/Accounts.json?…`) and Twilio's
//!   answers are. JSON Schema draft 4 has no `uri-reference`; [`validator`] checks it, and the
//!   document's own `date-time-rfc-2822`.

use serde_json::{Map, Value, json};

const ACCOUNTS_V1: (&str, &str) = ("twilio_accounts_v1.json", include_str!("../openapi/twilio_accounts_v1.json"));
const VIDEO_V1: (&str, &str) = ("twilio_video_v1.json", include_str!("../openapi/twilio_video_v1.json"));
const MONITOR_V1: (&str, &str) = ("twilio_monitor_v1.json", include_str!("../openapi/twilio_monitor_v1.json"));
const API_V2010_ACCOUNTS: (&str, &str) =
    ("twilio_api_v2010_accounts.json", include_str!("../openapi/twilio_api_v2010_accounts.json"));

/// The document whose URIs are relative references.
const RELATIVE_URI_DOCUMENT: &str = API_V2010_ACCOUNTS.0;
/// Where the 2010 API's relative URIs are relative to.
const API_V2010_HOST: &str = "https://api.twilio.com";

/// How a description says a date-time parameter may also be a bare date.
const BARE_DATE_FORM: &str = "`YYYY-MM-DD`";

/// Deeper than any schema in the Twilio documents; reached only through a `$ref` cycle.
const MAX_SCHEMA_DEPTH: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum OpenApiError {
    #[error("the embedded OpenAPI document `{document}` is not valid JSON")]
    Parse {
        document: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("no operation `{method} {path}` in the Twilio OpenAPI documents")]
    UnknownOperation { method: String, path: String },
    #[error("`{reference}` in `{document}` does not resolve")]
    UnresolvedReference { document: &'static str, reference: String },
    #[error("a schema in `{document}` nests deeper than {MAX_SCHEMA_DEPTH} levels (a `$ref` cycle?)")]
    TooDeep { document: &'static str },
    #[error("the schema for `{method} {path}` is not a usable JSON Schema: {message}")]
    InvalidSchema { method: String, path: String, message: String },
}

/// Where an operation parameter travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParameterLocation {
    Path,
    Query,
}

impl ParameterLocation {
    fn as_openapi(self) -> &'static str {
        match self {
            Self::Path => "path",
            Self::Query => "query",
        }
    }
}

/// The Twilio Accounts v1, Video v1 and Monitor v1 OpenAPI documents, and the Accounts resource
/// of the 2010 API's.
#[derive(Debug)]
pub struct TwilioOpenApi {
    documents: Vec<OpenApiDocument>,
}

#[derive(Debug)]
struct OpenApiDocument {
    name: &'static str,
    root: Value,
}

impl TwilioOpenApi {
    /// Parses the embedded documents.
    pub fn load() -> Result<Self, OpenApiError> {
        let documents = [ACCOUNTS_V1, VIDEO_V1, MONITOR_V1, API_V2010_ACCOUNTS]
            .into_iter()
            .map(|(name, text)| {
                serde_json::from_str(text)
                    .map(|root| OpenApiDocument { name, root })
                    .map_err(|source| OpenApiError::Parse { document: name, source })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { documents })
    }

    /// The JSON Schema of the JSON body answered to `method path` with `status`, or `None`
    /// when the document gives that response no JSON body (as for 204, and for errors).
    ///
    /// `path` is the document's path template, such as `/v1/Credentials/AWS/{Sid}`.
    pub fn response_schema(&self, path: &str, method: &str, status: u16) -> Result<Option<Value>, OpenApiError> {
        let (document, operation) = self.operation(path, method)?;
        operation
            .pointer(&format!("/responses/{status}/content/application~1json/schema"))
            .map(|schema| document.json_schema(schema))
            .transpose()
    }

    /// The JSON Schema of the form body of `method path`, closed to parameters the document
    /// does not name, or `None` when the operation takes no body.
    pub fn request_body_schema(&self, path: &str, method: &str) -> Result<Option<Value>, OpenApiError> {
        let (document, operation) = self.operation(path, method)?;
        let Some(schema) = operation.pointer("/requestBody/content/application~1x-www-form-urlencoded/schema") else {
            return Ok(None);
        };
        let mut schema = document.json_schema(schema)?;
        if let Value::Object(object) = &mut schema {
            object.insert("additionalProperties".into(), Value::Bool(false));
        }
        Ok(Some(schema))
    }

    /// A JSON Schema for the object of all `location` parameters of `method path` (name to
    /// value), closed to parameters the document does not name.
    pub fn parameters_schema(
        &self,
        path: &str,
        method: &str,
        location: ParameterLocation,
    ) -> Result<Value, OpenApiError> {
        let (document, operation) = self.operation(path, method)?;
        let path_item_parameters = document.root.pointer(&path_item_pointer(path, "parameters"));
        let operation_parameters = operation.get("parameters");
        let mut properties = Map::new();
        let mut required = Vec::new();
        for parameter in
            [path_item_parameters, operation_parameters].into_iter().flatten().filter_map(Value::as_array).flatten()
        {
            let parameter = document.resolve(parameter, 0)?;
            if parameter.get("in").and_then(Value::as_str) != Some(location.as_openapi()) {
                continue;
            }
            let Some(name) = parameter.get("name").and_then(Value::as_str) else {
                continue;
            };
            let schema = parameter.get("schema").unwrap_or(&Value::Null);
            let mut schema = document.json_schema(schema)?;
            let description = parameter.get("description").and_then(Value::as_str).unwrap_or_default();
            if schema.get("format").and_then(Value::as_str) == Some("date-time")
                && description.contains(BARE_DATE_FORM)
                && let Value::Object(object) = &mut schema
            {
                object.remove("format");
                object.insert("anyOf".into(), json!([{"format": "date-time"}, {"format": "date"}]));
            }
            properties.insert(name.to_owned(), schema);
            if parameter.get("required").and_then(Value::as_bool) == Some(true) {
                required.push(Value::String(name.to_owned()));
            }
        }
        let mut schema = json!({
            "type": "object",
            "properties": properties,
            "additionalProperties": false,
        });
        // Draft 4 requires `required` to be non-empty when present.
        if !required.is_empty() {
            schema["required"] = Value::Array(required);
        }
        Ok(schema)
    }

    fn operation(&self, path: &str, method: &str) -> Result<(&OpenApiDocument, &Value), OpenApiError> {
        let pointer = path_item_pointer(path, &method.to_ascii_lowercase());
        self.documents
            .iter()
            .find_map(|document| Some((document, document.root.pointer(&pointer)?)))
            .ok_or_else(|| OpenApiError::UnknownOperation { method: method.to_owned(), path: path.to_owned() })
    }
}

impl OpenApiDocument {
    /// Follows `$ref`s until `value` is not one.
    fn resolve<'a>(&'a self, value: &'a Value, depth: usize) -> Result<&'a Value, OpenApiError> {
        if depth > MAX_SCHEMA_DEPTH {
            return Err(OpenApiError::TooDeep { document: self.name });
        }
        match value.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let target =
                    reference.strip_prefix('#').and_then(|pointer| self.root.pointer(pointer)).ok_or_else(|| {
                        OpenApiError::UnresolvedReference { document: self.name, reference: reference.to_owned() }
                    })?;
                self.resolve(target, depth + 1)
            }
            None => Ok(value),
        }
    }

    /// The JSON Schema (draft 4) meaning of an OpenAPI 3.0 schema object.
    fn json_schema(&self, schema: &Value) -> Result<Value, OpenApiError> {
        self.convert(schema, 0)
    }

    fn convert(&self, schema: &Value, depth: usize) -> Result<Value, OpenApiError> {
        if depth > MAX_SCHEMA_DEPTH {
            return Err(OpenApiError::TooDeep { document: self.name });
        }
        let schema = self.resolve(schema, depth)?;
        let Value::Object(object) = schema else {
            return Ok(schema.clone());
        };
        let nullable = object.get("nullable").and_then(Value::as_bool) == Some(true);
        let mut converted = Map::with_capacity(object.len());
        for (keyword, value) in object {
            let value = match (keyword.as_str(), value) {
                ("nullable", _) => continue,
                ("format", Value::String(format)) if format == "uri" && self.name == RELATIVE_URI_DOCUMENT => {
                    Value::String("uri-reference".to_owned())
                }
                ("type", Value::String(kind)) if nullable => json!([kind, "null"]),
                ("enum", Value::Array(options)) if nullable => {
                    Value::Array(options.iter().cloned().chain([Value::Null]).collect())
                }
                ("properties" | "patternProperties", Value::Object(schemas)) => Value::Object(
                    schemas
                        .iter()
                        .map(|(name, schema)| Ok((name.clone(), self.convert(schema, depth + 1)?)))
                        .collect::<Result<_, OpenApiError>>()?,
                ),
                ("allOf" | "anyOf" | "oneOf", Value::Array(schemas)) => Value::Array(
                    schemas.iter().map(|schema| self.convert(schema, depth + 1)).collect::<Result<_, _>>()?,
                ),
                ("items" | "additionalProperties" | "not", Value::Object(_)) => self.convert(value, depth + 1)?,
                // Everything else is a plain keyword value or data (examples, defaults).
                _ => value.clone(),
            };
            converted.insert(keyword.clone(), value);
        }
        Ok(Value::Object(converted))
    }
}

/// A validator (JSON Schema draft 4, formats checked) of a schema from [`TwilioOpenApi`], which
/// also knows the formats the documents use beyond draft 4: `uri-reference` (a URI, or a
/// reference relative to `https://api.twilio.com`) and `date-time-rfc-2822` (such as
/// `Tue, 31 Aug 2010 20:36:28 +0000`).
pub fn validator(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .with_format("uri-reference", is_uri_reference)
        .with_format("date-time-rfc-2822", |text: &str| jiff::fmt::rfc2822::parse(text).is_ok())
        .build(schema)
        .map_err(|error| error.to_string())
}

/// Whether `text` is an absolute URI or a reference that resolves against the 2010 API's host.
fn is_uri_reference(text: &str) -> bool {
    let well_formed =
        !text.is_empty() && !text.chars().any(|character| character.is_whitespace() || character.is_control());
    well_formed && url::Url::parse(API_V2010_HOST).is_ok_and(|host| host.join(text).is_ok())
}

/// The JSON pointer to `key` of the path item `path` (`/` in a path is `~1` in a pointer).
fn path_item_pointer(path: &str, key: &str) -> String {
    format!("/paths/{}/{key}", path.replace('~', "~0").replace('/', "~1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn openapi() -> TwilioOpenApi {
        TwilioOpenApi::load().expect("embedded documents parse")
    }

    #[test]
    fn response_schema_inlines_components_and_turns_nullable_into_null_types() {
        let schema = openapi().response_schema("/v1/Credentials/AWS/{Sid}", "GET", 200).unwrap().expect("a JSON body");
        assert_eq!(schema["properties"]["sid"]["type"], json!(["string", "null"]));
        assert_eq!(schema["properties"]["sid"]["pattern"], "^CR[0-9a-fA-F]{32}$");
        assert!(schema["properties"]["sid"].get("nullable").is_none());
        assert!(!schema.to_string().contains("$ref"));
    }

    #[test]
    fn list_response_schema_reaches_the_item_schema() {
        let schema = openapi().response_schema("/v1/Credentials/PublicKeys", "get", 200).unwrap().expect("a JSON body");
        assert_eq!(schema["properties"]["credentials"]["items"]["properties"]["url"]["format"], "uri");
        assert_eq!(schema["properties"]["meta"]["properties"]["next_page_url"]["type"], json!(["string", "null"]));
    }

    #[test]
    fn delete_has_no_response_body() {
        let schema = openapi().response_schema("/v1/Credentials/AWS/{Sid}", "DELETE", 204);
        assert_eq!(schema.unwrap(), None);
    }

    #[test]
    fn request_body_schema_is_closed_and_keeps_required() {
        let schema =
            openapi().request_body_schema("/v1/RecordingSettings/Default", "POST").unwrap().expect("a form body");
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["required"], json!(["FriendlyName"]));
        assert_eq!(schema["properties"]["AwsStorageEnabled"]["type"], "boolean");
    }

    #[test]
    fn parameters_schema_collects_query_parameters() {
        let schema = openapi().parameters_schema("/v1/Credentials/AWS", "GET", ParameterLocation::Query).unwrap();
        let names: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
        assert_eq!(names, ["PageSize", "Page", "PageToken"]);
        assert_eq!(schema["properties"]["PageSize"]["maximum"], 1000);
        assert!(schema.get("required").is_none());
    }

    #[test]
    fn parameters_schema_requires_the_path_sid() {
        let schema =
            openapi().parameters_schema("/v1/Credentials/AWS/{Sid}", "DELETE", ParameterLocation::Path).unwrap();
        assert_eq!(schema["required"], json!(["Sid"]));
    }

    #[test]
    fn monitor_alerts_are_described_and_their_dates_may_be_bare() {
        let openapi = openapi();
        let schema = openapi.parameters_schema("/v1/Alerts", "GET", ParameterLocation::Query).unwrap();
        let names: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
        assert_eq!(names, ["LogLevel", "StartDate", "EndDate", "PageSize", "Page", "PageToken"]);
        assert_eq!(schema["properties"]["StartDate"]["anyOf"], json!([{"format": "date-time"}, {"format": "date"}]));
        assert!(schema["properties"]["StartDate"].get("format").is_none());
        let fetched = openapi.response_schema("/v1/Alerts/{Sid}", "GET", 200).unwrap().expect("a JSON body");
        assert_eq!(fetched["properties"]["sid"]["pattern"], "^NO[0-9a-fA-F]{32}$");
        // Video's date filters document only date-times.
        let recordings = openapi.parameters_schema("/v1/Recordings", "GET", ParameterLocation::Query).unwrap();
        assert_eq!(recordings["properties"]["DateCreatedBefore"]["format"], "date-time");
        assert_eq!(recordings["properties"]["GroupingSid"]["type"], "array");
    }

    #[test]
    fn the_2010_accounts_resource_is_described_with_relative_uris() {
        let openapi = openapi();
        let list = openapi.response_schema("/2010-04-01/Accounts.json", "GET", 200).unwrap().expect("a JSON body");
        assert_eq!(list["properties"]["next_page_uri"]["format"], "uri-reference");
        assert_eq!(
            list["properties"]["accounts"]["items"]["properties"]["status"]["enum"],
            json!(["active", "suspended", "closed"])
        );
        let created = openapi.response_schema("/2010-04-01/Accounts.json", "POST", 201).unwrap().expect("a JSON body");
        assert_eq!(created["properties"]["date_created"]["format"], "date-time-rfc-2822");
        let query = openapi.parameters_schema("/2010-04-01/Accounts.json", "GET", ParameterLocation::Query).unwrap();
        let names: Vec<&String> = query["properties"].as_object().unwrap().keys().collect();
        assert_eq!(names, ["FriendlyName", "Status", "PageSize", "Page", "PageToken"]);
        let update = openapi.request_body_schema("/2010-04-01/Accounts/{Sid}.json", "POST").unwrap().expect("a form");
        assert_eq!(update["properties"]["Status"]["enum"], json!(["active", "suspended", "closed"]));
        // The v1 documents' URIs stay absolute.
        let credentials = openapi.response_schema("/v1/Credentials/AWS", "GET", 200).unwrap().expect("a JSON body");
        assert_eq!(credentials["properties"]["meta"]["properties"]["url"]["format"], "uri");
    }

    #[test]
    fn the_validator_knows_the_formats_beyond_draft_4() {
        let dates = validator(&json!({"format": "date-time-rfc-2822"})).unwrap();
        assert!(dates.is_valid(&json!("Tue, 31 Aug 2010 20:36:28 +0000")));
        assert!(!dates.is_valid(&json!("2010-08-31T20:36:28Z")));
        let uris = validator(&json!({"format": "uri-reference"})).unwrap();
        assert!(uris.is_valid(&json!("/2010-04-01/Accounts.json?Status=active&PageSize=50&Page=0")));
        assert!(uris.is_valid(&json!("https://api.twilio.com/2010-04-01/Accounts.json")));
        assert!(!uris.is_valid(&json!("/2010-04-01/Accounts.json?Friendly Name")));
        assert!(!uris.is_valid(&json!("")));
        let absolute = validator(&json!({"format": "uri"})).unwrap();
        assert!(!absolute.is_valid(&json!("/2010-04-01/Accounts.json")));
    }

    #[test]
    fn the_embedded_2010_extract_holds_the_accounts_resource_only() {
        let openapi = openapi();
        let document = &openapi.documents.iter().find(|document| document.name == RELATIVE_URI_DOCUMENT).unwrap().root;
        let paths: Vec<&String> = document["paths"].as_object().unwrap().keys().collect();
        assert_eq!(paths, ["/2010-04-01/Accounts.json", "/2010-04-01/Accounts/{Sid}.json"]);
        let schemas: Vec<&String> = document["components"]["schemas"].as_object().unwrap().keys().collect();
        assert_eq!(schemas, ["api.v2010.account", "account_enum_status", "account_enum_type"]);
        assert_eq!(document["servers"], json!([{"url": "https://api.twilio.com"}]));
    }

    #[test]
    fn unknown_operations_are_errors() {
        let error = openapi().response_schema("/v1/RecordingSettings/Default", "DELETE", 204).unwrap_err();
        assert_eq!(
            error.to_string(),
            "no operation `DELETE /v1/RecordingSettings/Default` in the Twilio OpenAPI documents"
        );
    }

    #[test]
    fn reference_cycles_are_reported_not_followed_forever() {
        let document = OpenApiDocument {
            name: "cycle.json",
            root: json!({"components": {"schemas": {"a": {"$ref": "#/components/schemas/a"}}}}),
        };
        let error = document.json_schema(&json!({"$ref": "#/components/schemas/a"})).unwrap_err();
        assert!(matches!(error, OpenApiError::TooDeep { .. }));
    }
}

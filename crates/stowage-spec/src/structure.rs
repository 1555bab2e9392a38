//! The structural check: walks the parsed TOML against the spec's JSON Schema, reporting
//! unknown keys, missing keys and wrong types with their spans, every one of them.
//!
//! It hands back the sections it could make sense of as JSON, ready for serde: unknown keys and
//! ill-typed optional values are left out (they are already reported), so that a typo in one
//! place does not hide the value checks everywhere else.

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};
use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use crate::diagnostic::{Diagnostic, ErrorKind};
use crate::file::SCHEMA;
use crate::source::{KeyPath, SpecSource, to_span};
use crate::suggest;

/// What the structural check found.
pub(crate) struct Structure {
    pub diagnostics: Vec<Diagnostic>,
    /// The top-level sections that are structurally sound, by name.
    pub sections: Map<String, Value>,
    /// For each array that lost unsound items (by path): the file's index of each kept item.
    pub kept_items: BTreeMap<String, Vec<usize>>,
}

impl Structure {
    /// The path, in the file, of item `index` of the checked array at `array`.
    pub fn item_path(&self, array: &KeyPath, index: usize) -> KeyPath {
        let original = self.kept_items.get(&array.to_string()).and_then(|kept| kept.get(index)).copied();
        array.index(original.unwrap_or(index))
    }
}

pub(crate) fn check(document: &DeTable<'_>, source: &SpecSource) -> Structure {
    let mut walker = Walker { source, diagnostics: Vec::new(), kept_items: BTreeMap::new() };
    let root = walker.table(document, 0..0, &SCHEMA, &KeyPath::root());
    Structure { diagnostics: walker.diagnostics, sections: root.fields, kept_items: walker.kept_items }
}

/// The schema that accepts anything, for keys the schema leaves open.
static ANYTHING: Value = Value::Bool(true);

struct Walker<'a> {
    source: &'a SpecSource,
    diagnostics: Vec<Diagnostic>,
    kept_items: BTreeMap<String, Vec<usize>>,
}

/// A table's sound entries, and whether every required one is among them.
struct TableOutcome {
    fields: Map<String, Value>,
    complete: bool,
}

impl Walker<'_> {
    /// Checks one value against its schema; `None` when it cannot be used (already reported).
    fn value(&mut self, value: &Spanned<DeValue<'_>>, schema: &Value, path: &KeyPath) -> Option<Value> {
        let schema = resolve(schema);
        if let Some(alternatives) = schema.get("anyOf").or_else(|| schema.get("oneOf")).and_then(Value::as_array) {
            return self.alternatives(value, alternatives, path);
        }
        let expected = types(schema);
        if !expected.is_empty() && !expected.iter().any(|kind| has_type(value.get_ref(), kind)) {
            self.wrong_type(value, &expected, schema, path);
            return None;
        }
        match value.get_ref() {
            DeValue::Table(table) => {
                let outcome = self.table(table, value.span(), schema, path);
                outcome.complete.then_some(Value::Object(outcome.fields))
            }
            DeValue::Array(array) => self.array(array, schema, path),
            DeValue::String(text) => self.string(text, value, schema, path),
            DeValue::Integer(integer) => self.integer(integer, value, schema, path),
            DeValue::Float(float) => {
                let number = float.as_str().parse::<f64>().ok().and_then(Number::from_f64);
                if number.is_none() {
                    self.push(
                        Diagnostic::error_of(
                            ErrorKind::InvalidValue,
                            self.source,
                            format!("`{path}` must be a finite number"),
                        )
                        .with_label(to_span(value.span()), None),
                    );
                }
                number.map(Value::Number)
            }
            DeValue::Boolean(boolean) => Some(Value::Bool(*boolean)),
            DeValue::Datetime(datetime) => Some(Value::String(datetime.to_string())),
        }
    }

    fn table(
        &mut self,
        table: &DeTable<'_>,
        span: std::ops::Range<usize>,
        schema: &Value,
        path: &KeyPath,
    ) -> TableOutcome {
        let properties = schema.get("properties").and_then(Value::as_object);
        let required = required(schema);
        let mut outcome = TableOutcome { fields: Map::new(), complete: true };
        // Keys an unknown key was taken for a typo of: their absence is the same mistake.
        let mut suggested = Vec::new();
        for (key, value) in table {
            let name = key.get_ref().as_ref();
            let child = path.key(name);
            let property = properties.and_then(|properties| properties.get(name));
            let checked = match (property, schema.get("additionalProperties")) {
                (Some(property), _) => self.value(value, property, &child),
                (None, Some(Value::Bool(false))) => {
                    suggested.extend(self.unknown_key(key, value, properties, path));
                    continue;
                }
                (None, Some(additional)) => self.value(value, additional, &child),
                (None, None) => self.value(value, &ANYTHING, &child),
            };
            match checked {
                Some(checked) => {
                    outcome.fields.insert(name.to_owned(), checked);
                }
                None if required.contains(&name) => outcome.complete = false,
                None => {}
            }
        }
        for name in required {
            if suggested.contains(&name) {
                outcome.complete = false;
            } else if !table.contains_key(name) {
                let property = properties.and_then(|properties| properties.get(name)).unwrap_or(&ANYTHING);
                self.missing_key(name, property, span.clone(), path);
                outcome.complete = false;
            }
        }
        outcome
    }

    fn array(&mut self, array: &DeArray<'_>, schema: &Value, path: &KeyPath) -> Option<Value> {
        let items = schema.get("items").unwrap_or(&ANYTHING);
        let mut checked = Vec::with_capacity(array.len());
        let mut kept = Vec::with_capacity(array.len());
        for (index, item) in array.iter().enumerate() {
            if let Some(item) = self.value(item, items, &path.index(index)) {
                checked.push(item);
                kept.push(index);
            }
        }
        // Unsound items are left out (and reported); later checks still need to find the
        // others in the file.
        if kept.len() < array.len() {
            self.kept_items.insert(path.to_string(), kept);
        }
        Some(Value::Array(checked))
    }

    fn string(&mut self, text: &str, value: &Spanned<DeValue<'_>>, schema: &Value, path: &KeyPath) -> Option<Value> {
        let allowed: Vec<&str> = match (schema.get("enum"), schema.get("const")) {
            (Some(Value::Array(allowed)), _) => allowed.iter().filter_map(Value::as_str).collect(),
            (None, Some(Value::String(single))) => vec![single.as_str()],
            _ => return Some(Value::String(text.to_owned())),
        };
        if allowed.contains(&text) {
            return Some(Value::String(text.to_owned()));
        }
        let help = match suggest::closest(text, allowed.iter().copied()) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!("expected {}", suggest::list_alternatives(allowed.iter().copied())),
        };
        self.push(
            Diagnostic::error_of(
                ErrorKind::InvalidValue,
                self.source,
                format!("`{text}` is not a valid value for `{path}`"),
            )
            .with_label(to_span(value.span()), None)
            .with_help(help),
        );
        None
    }

    fn integer(
        &mut self,
        integer: &toml::de::DeInteger<'_>,
        value: &Spanned<DeValue<'_>>,
        schema: &Value,
        path: &KeyPath,
    ) -> Option<Value> {
        let Ok(number) = i64::from_str_radix(integer.as_str(), integer.radix()) else {
            self.push(
                Diagnostic::error_of(ErrorKind::InvalidValue, self.source, format!("`{path}` is out of range"))
                    .with_label(to_span(value.span()), None),
            );
            return None;
        };
        let (minimum, maximum) = integer_bounds(schema);
        let broken = match (minimum, maximum) {
            (Some(minimum), _) if i128::from(number) < minimum => Some(format!("at least {minimum}")),
            (_, Some(maximum)) if i128::from(number) > maximum => Some(format!("at most {maximum}")),
            _ => None,
        };
        if let Some(bound) = broken {
            self.push(
                Diagnostic::error_of(
                    ErrorKind::InvalidValue,
                    self.source,
                    format!("`{path}` must be {bound}, found {number}"),
                )
                .with_label(to_span(value.span()), None),
            );
            return None;
        }
        Some(Value::Number(number.into()))
    }

    /// `anyOf`/`oneOf`: the first alternative that takes the value without complaint wins;
    /// otherwise the complaints of the first alternative of the right type are reported.
    fn alternatives(&mut self, value: &Spanned<DeValue<'_>>, alternatives: &[Value], path: &KeyPath) -> Option<Value> {
        let mut first_failure: Option<Vec<Diagnostic>> = None;
        let mut expected = Vec::new();
        for alternative in alternatives {
            let alternative = resolve(alternative);
            let kinds = types(alternative);
            if !kinds.is_empty() && !kinds.iter().any(|kind| has_type(value.get_ref(), kind)) {
                expected.extend(kinds);
                continue;
            }
            let mut trial = Walker { source: self.source, diagnostics: Vec::new(), kept_items: BTreeMap::new() };
            match trial.value(value, alternative, path) {
                Some(accepted) if trial.diagnostics.is_empty() => {
                    self.kept_items.extend(trial.kept_items);
                    return Some(accepted);
                }
                _ => {
                    first_failure.get_or_insert(trial.diagnostics);
                }
            }
        }
        match first_failure {
            Some(diagnostics) => self.diagnostics.extend(diagnostics),
            None => self.wrong_type(value, &expected, &ANYTHING, path),
        }
        None
    }

    /// Reports a key the schema does not know; returns the key it is probably a typo of.
    fn unknown_key<'s>(
        &mut self,
        key: &Spanned<std::borrow::Cow<'_, str>>,
        value: &Spanned<DeValue<'_>>,
        properties: Option<&'s Map<String, Value>>,
        path: &KeyPath,
    ) -> Option<&'s str> {
        let name = key.get_ref().as_ref();
        let valid: Vec<&str> =
            properties.map(|properties| properties.keys().map(String::as_str).collect()).unwrap_or_default();
        let message = if path.is_root() && value.get_ref().is_table() {
            format!("unknown section `[{name}]`")
        } else if path.is_root() {
            format!("unknown key `{name}` at the top level")
        } else {
            format!("unknown key `{name}` in {}", path.table_name())
        };
        let close = suggest::closest(name, valid.iter().copied());
        let help = if let Some(close) = close {
            if path.is_root() { format!("did you mean `[{close}]`?") } else { format!("did you mean `{close}`?") }
        } else if let Some(home) = section_with_key(name, path) {
            format!("`{name}` belongs in `[{home}]`")
        } else if path.is_root() {
            format!("sections are {}", suggest::list_literals(valid.iter().copied()))
        } else {
            format!("valid keys are {}", suggest::list_literals(valid.iter().copied()))
        };
        self.push(
            Diagnostic::error_of(ErrorKind::UnknownKey, self.source, message)
                .with_label(to_span(key.span()), None)
                .with_help(help),
        );
        close
    }

    fn missing_key(&mut self, name: &str, property: &Value, table_span: std::ops::Range<usize>, path: &KeyPath) {
        let property = resolve(property);
        let is_section = path.is_root() && types(property).contains(&"object");
        let (message, label) = if is_section {
            (format!("missing section `[{name}]`"), "expected in this file".to_owned())
        } else {
            (format!("missing key `{name}` in {}", path.table_name()), format!("`{name}` is required here"))
        };
        let example = if is_section {
            section_example(name, property).map(|example| format!("add it, for example:\n\n{example}"))
        } else {
            example_value(property).map(|example| format!("for example `{name} = {example}`"))
        };
        let help = match (first_sentence(property), example) {
            (Some(description), Some(example)) if !is_section => Some(format!("{description}; {example}")),
            (_, Some(example)) => Some(example),
            (description, None) => description,
        };
        self.push(
            Diagnostic::error_of(ErrorKind::MissingKey, self.source, message)
                .with_label(to_span(table_span), Some(label))
                .with_optional_help(help),
        );
    }

    fn wrong_type(&mut self, value: &Spanned<DeValue<'_>>, expected: &[&str], schema: &Value, path: &KeyPath) {
        let expected_names: Vec<&str> = expected.iter().filter_map(|kind| type_name(kind)).collect();
        let message = format!(
            "wrong type for `{path}`: expected {}, found {}",
            expected_names.join(" or "),
            found_name(value.get_ref())
        );
        let span = value.span();
        let written = self.source.text().get(span.clone()).unwrap_or_default();
        let help = type_hint(value.get_ref(), expected, schema, path, written);
        self.push(
            Diagnostic::error_of(ErrorKind::WrongType, self.source, message)
                .with_label(to_span(span), None)
                .with_optional_help(help),
        );
    }

    fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }
}

/// Follows `$ref`s and single-entry `allOf`s (how draft 7 schemas attach a description to a
/// reference) to the schema that says something.
fn resolve(schema: &Value) -> &Value {
    let mut schema = schema;
    loop {
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            schema = reference.strip_prefix('#').and_then(|pointer| SCHEMA.pointer(pointer)).unwrap_or(&ANYTHING);
        } else if let Some([single]) = schema.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
            schema = single;
        } else {
            return schema;
        }
    }
}

/// The smallest and largest integer the schema allows: its `minimum` and `maximum`, narrowed
/// by the Rust integer type schemars names in `format` (`uint32`: 0 to 4294967295).
fn integer_bounds(schema: &Value) -> (Option<i128>, Option<i128>) {
    let bound = |name: &str| schema.get(name).and_then(Value::as_i64).map(i128::from);
    let from_format = schema.get("format").and_then(Value::as_str).and_then(|format| {
        let (signed, bits) = match format.strip_prefix("uint") {
            Some(bits) => (false, bits),
            None => (true, format.strip_prefix("int")?),
        };
        let bits: u32 = bits.parse().ok().filter(|bits| (8..=64).contains(bits))?;
        Some(if signed { (-(1_i128 << (bits - 1)), (1_i128 << (bits - 1)) - 1) } else { (0, (1_i128 << bits) - 1) })
    });
    let (format_minimum, format_maximum) = from_format.unzip();
    let minimum = bound("minimum").into_iter().chain(format_minimum).max();
    let maximum = bound("maximum").into_iter().chain(format_maximum).min();
    (minimum, maximum)
}

fn types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(kind)) => vec![kind.as_str()],
        Some(Value::Array(kinds)) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn required(schema: &Value) -> Vec<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn has_type(value: &DeValue<'_>, kind: &str) -> bool {
    match kind {
        "string" => value.is_str(),
        "integer" => value.is_integer(),
        "number" => value.is_integer() || value.is_float(),
        "boolean" => value.is_bool(),
        "array" => value.is_array(),
        "object" => value.is_table(),
        _ => false,
    }
}

fn type_name(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "string" => "a string",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "a boolean",
        "array" => "an array",
        "object" => "a table",
        _ => return None,
    })
}

pub(crate) fn found_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// How to write the value with the right type, when the fix is mechanical.
fn type_hint(value: &DeValue<'_>, expected: &[&str], schema: &Value, path: &KeyPath, written: &str) -> Option<String> {
    let expects = |kind: &str| expected.contains(&kind);
    match value {
        DeValue::String(text) if expects("boolean") && (text == "true" || text == "false") => {
            Some(format!("write `{text}` without quotes"))
        }
        DeValue::String(text) if expects("integer") && text.parse::<i64>().is_ok() => {
            Some(format!("write `{text}` without quotes"))
        }
        DeValue::String(_) if expects("boolean") => Some("write `true` or `false`, without quotes".to_owned()),
        DeValue::Integer(_) | DeValue::Float(_) | DeValue::Boolean(_) if expects("string") => {
            Some(format!("put it in quotes: `\"{written}\"`"))
        }
        DeValue::Table(_) => None,
        _ if expects("array") && !value.is_array() => Some(format!("write a list: `[{written}]`")),
        _ if expects("object") => {
            let key = path.last_key().unwrap_or_default();
            inline_table_example(schema).map(|example| format!("for example `{key} = {example}`"))
        }
        _ => None,
    }
}

/// The section among the top-level ones (other than the one at `path`) that has a key `name`.
fn section_with_key(name: &str, path: &KeyPath) -> Option<String> {
    let sections = SCHEMA.get("properties").and_then(Value::as_object)?;
    let current = if path.is_root() { None } else { path.to_string().split(['.', '[']).next().map(str::to_owned) };
    sections
        .iter()
        .filter(|(section, _)| current.as_deref() != Some(section.as_str()))
        .find(|(_, schema)| {
            resolve(schema).get("properties").and_then(Value::as_object).is_some_and(|keys| keys.contains_key(name))
        })
        .map(|(section, _)| section.clone())
}

/// The description's first sentence, as a hint fragment: lowercase start, no final period.
fn first_sentence(schema: &Value) -> Option<String> {
    let description = schema.get("description").and_then(Value::as_str)?;
    let sentence = description.split(". ").next().unwrap_or(description).trim_end_matches('.');
    let mut characters = sentence.chars();
    let first = characters.next()?;
    let second_is_lowercase = characters.next().is_some_and(char::is_lowercase);
    let rest = &sentence[first.len_utf8()..];
    Some(if second_is_lowercase { format!("{}{rest}", first.to_lowercase()) } else { sentence.to_owned() })
}

/// A TOML literal for the schema's first example.
fn example_value(schema: &Value) -> Option<String> {
    let example = schema.get("examples").and_then(Value::as_array).and_then(|examples| examples.first())?;
    toml_literal(example)
}

fn toml_literal(value: &Value) -> Option<String> {
    match value {
        // A JSON string literal is also a valid TOML basic string.
        Value::String(_) | Value::Number(_) | Value::Bool(_) => Some(value.to_string()),
        Value::Array(items) => {
            let items: Option<Vec<String>> = items.iter().map(toml_literal).collect();
            Some(format!("[{}]", items?.join(", ")))
        }
        Value::Null | Value::Object(_) => None,
    }
}

/// `[name]` and a line for each required key that has an example.
fn section_example(name: &str, schema: &Value) -> Option<String> {
    let lines = required_examples(schema)?;
    Some(format!("[{name}]\n{}", lines.join("\n")))
}

/// `{ key = value }` for the required keys that have examples.
fn inline_table_example(schema: &Value) -> Option<String> {
    let lines = required_examples(schema)?;
    Some(format!("{{ {} }}", lines.join(", ")))
}

fn required_examples(schema: &Value) -> Option<Vec<String>> {
    let schema = resolve(schema);
    let properties = schema.get("properties")?.as_object()?;
    let lines: Option<Vec<String>> = required(schema)
        .into_iter()
        .map(|name| example_value(resolve(properties.get(name)?)).map(|example| format!("{name} = {example}")))
        .collect();
    lines.filter(|lines| !lines.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integer_bounds_combine_limits_and_formats() {
        assert_eq!(integer_bounds(&json!({"type": "integer"})), (None, None));
        assert_eq!(integer_bounds(&json!({"format": "uint32", "minimum": 1})), (Some(1), Some(4_294_967_295)));
        assert_eq!(integer_bounds(&json!({"format": "int8", "maximum": 100})), (Some(-128), Some(100)));
        assert_eq!(integer_bounds(&json!({"format": "uint64"})), (Some(0), Some(18_446_744_073_709_551_615)));
    }
}

//! The environment spec: one TOML file in, a typed and validated [`Spec`] out, or every
//! problem in the file at once, each a [`Diagnostic`] with a span into the source, a message
//! and a hint. Also the JSON Schema of the file ([`json_schema`]) for editors.
//!
//! Validation runs in three passes. Past the first, a problem in one place does not hide the
//! problems elsewhere:
//! 1. TOML syntax (nothing else runs when the text does not parse);
//! 2. structure: unknown keys, missing keys and wrong types, found by walking the parsed
//!    document against the JSON Schema generated from the file's serde types;
//! 3. values: each value through its validated newtype ([`BucketName`], [`Region`], …), then
//!    the rules that span sections and the domain lints, which are warnings.
//!
//! Architecture invariant: no IO. [`parse`] takes a file name and its text; nothing here reads
//! files or the environment. The files a spec names (encryption public keys) are read by a
//! function the caller hands to [`load_public_keys`].

mod diagnostic;
mod file;
mod lint;
mod public_keys;
mod source;
mod spec;
mod structure;
mod suggest;
mod validate;
mod values;

use toml::de::DeTable;

pub use diagnostic::{Diagnostic, Label, MAX_SHOWN_DIAGNOSTICS, Severity, SpecErrors};
pub use lint::Lint;
pub use public_keys::load_public_keys;
pub use source::{KeyPath, SpecSource};
pub use spec::{
    AwsSettings, BucketSpec, DriftSettings, EncryptionPublicKey, Environment, Fleet, FleetMembers, LifecycleRule,
    RemoteState, Spec, StorageSpec, TwilioSettings, Uploader, UploaderMode,
};
pub use values::{
    AccountSid, AccountSidError, BucketName, BucketNameError, Encryption, EnvironmentName, EnvironmentNameError,
    IamPath, IamPathError, IamUserName, IamUserNameError, IgnoreRule, IgnoreRuleError, InvalidValue, KNOWN_REGIONS,
    KmsKeyArn, KmsKeyArnError, MAX_PREFIX_LENGTH, MAX_TAGS, Prefix, PrefixError, PublicKeyPem, PublicKeyPemError,
    Region, RegionError, S3HostForm, TagError, check_public_key_pem, check_tag, s3_host_form,
};

/// A spec that passed validation, with the warnings found on the way.
#[derive(Debug, Clone)]
pub struct Validated {
    pub spec: Spec,
    pub warnings: Vec<Diagnostic>,
}

/// Parses and validates one environment's spec. `file_name` is only used to name the source
/// in diagnostics.
///
/// # Errors
/// Every error found in the file (with the warnings), in the order they appear in it.
pub fn parse(file_name: &str, text: &str) -> Result<Validated, SpecErrors> {
    if let Some((message, help)) = too_large(file_name, text.len() as u64) {
        let source = SpecSource::unindexed(file_name, text);
        let diagnostic =
            Diagnostic::error(&source, message).with_label(0..0, Some("refused unread".to_owned())).with_help(help);
        return Err(SpecErrors::new(&source, vec![diagnostic]));
    }
    let (document, syntax_errors) = DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        let source = SpecSource::unindexed(file_name, text);
        let mut diagnostics: Vec<Diagnostic> =
            syntax_errors.iter().map(|error| syntax_diagnostic(&source, error)).collect();
        diagnostics.sort_by_key(|diagnostic| diagnostic.primary_span().offset());
        return Err(SpecErrors::new(&source, diagnostics));
    }
    let document = document.into_inner();
    let source = SpecSource::indexed(file_name, text, &document);

    let mut structure = structure::check(&document, &source);
    let mut diagnostics = std::mem::take(&mut structure.diagnostics);
    let spec = validate::validate(structure, &source, &mut diagnostics);
    // Reading order: top to bottom, as an editor would show them.
    diagnostics.sort_by_key(|diagnostic| diagnostic.primary_span().offset());
    match spec {
        Some(spec) if diagnostics.iter().all(|diagnostic| diagnostic.severity() == Severity::Warning) => {
            Ok(Validated { spec, warnings: diagnostics })
        }
        _ => Err(SpecErrors::new(&source, diagnostics)),
    }
}

/// The largest spec [`parse`] reads, in bytes: 1 MiB. A spec is a few kilobytes; anything
/// much larger is some other file, refused before parsing so that its errors do not take
/// minutes to list.
pub const MAX_SPEC_BYTES: usize = 1024 * 1024;

/// Why a file of `size` bytes named `file_name` is refused as a spec, and what to do about it;
/// `None` when it is not larger than [`MAX_SPEC_BYTES`]. For callers that can refuse a file
/// before reading it, with the words [`parse`] uses.
pub fn too_large(file_name: &str, size: u64) -> Option<(String, String)> {
    if size <= MAX_SPEC_BYTES as u64 {
        return None;
    }
    let tenths = size.saturating_mul(10) / (1024 * 1024);
    let mebibytes = format!("{}.{}", tenths / 10, tenths % 10);
    Some((
        format!(
            "`{file_name}` is too large for a spec: {size} bytes ({mebibytes} MiB), more than the {MAX_SPEC_BYTES} \
             bytes (1 MiB) a spec may be"
        ),
        format!(
            "a spec is a few kilobytes of TOML: check that `{file_name}` is the spec you meant and not a log, a dump or \
             a binary file"
        ),
    ))
}

/// The JSON Schema (draft 7) of the spec file, generated from the types that read it; checked
/// in as `docs/stowage-spec.schema.json`.
pub fn json_schema() -> serde_json::Value {
    file::SCHEMA.clone()
}

fn syntax_diagnostic(source: &SpecSource, error: &toml::de::Error) -> Diagnostic {
    let span = error.span().unwrap_or(0..0);
    let message = error.message().trim_end_matches('.');
    // The parser's words for its nesting limits (80 levels) say nothing about the file.
    if message == "cannot recurse further; max recursion depth met" {
        return Diagnostic::error(source, "invalid TOML: arrays or inline tables nested more than 80 deep")
            .with_label(span, Some("one level too deep".to_owned()))
            .with_help(
                "a spec nests at most a few levels, such as `tags = { team = \"video\" }`: look for a `[` or `{` \
                 that is never closed, or remove the extra levels",
            );
    }
    if message == "recursion limit" {
        return Diagnostic::error(source, "invalid TOML: a key of more than 80 dotted parts")
            .with_label(span, None)
            .with_help("a spec's keys have at most a few parts, such as `bucket.encryption.kms_key`");
    }
    let diagnostic = Diagnostic::error(source, format!("invalid TOML: {message}"));
    if message == "duplicate key" {
        let key = source.text().get(span.clone()).unwrap_or_default();
        return Diagnostic::error(source, format!("invalid TOML: duplicate key `{key}`"))
            .with_label(span, None)
            .with_help("a key may appear only once in a table");
    }
    diagnostic.with_label(span, None)
}

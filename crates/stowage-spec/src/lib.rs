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
mod public_keys;
mod source;
mod spec;
mod structure;
mod suggest;
mod validate;
mod values;

use toml::de::DeTable;

pub use diagnostic::{Diagnostic, Label, Severity, SpecErrors};
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
    let (document, syntax_errors) = DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        let source = SpecSource::unindexed(file_name, text);
        let diagnostics = syntax_errors.iter().map(|error| syntax_diagnostic(&source, error)).collect();
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

/// The JSON Schema (draft 7) of the spec file, generated from the types that read it; checked
/// in as `docs/stowage-spec.schema.json`.
pub fn json_schema() -> serde_json::Value {
    file::SCHEMA.clone()
}

fn syntax_diagnostic(source: &SpecSource, error: &toml::de::Error) -> Diagnostic {
    let span = error.span().unwrap_or(0..0);
    let message = error.message().trim_end_matches('.');
    let diagnostic = Diagnostic::error(source, format!("invalid TOML: {message}"));
    if message == "duplicate key" {
        let key = source.text().get(span.clone()).unwrap_or_default();
        return Diagnostic::error(source, format!("invalid TOML: duplicate key `{key}`"))
            .with_label(span, None)
            .with_help("a key may appear only once in a table");
    }
    diagnostic.with_label(span, None)
}

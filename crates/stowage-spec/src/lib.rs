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
//! A spec may write `extends = "base.toml"` to be read over a shared base
//! ([`parse_with_bases`]): tables merge, other values replace, and every diagnostic points at
//! the file and line the value came from.
//!
//! Architecture invariant: no IO. [`parse`] takes a file name and its text; nothing here reads
//! files or the environment. The files a spec names (the bases it extends, encryption public
//! keys) are read by a function the caller hands in ([`parse_with_bases`],
//! [`load_public_keys`]).

mod diagnostic;
pub mod draft;
mod extends;
mod file;
mod lint;
mod public_keys;
mod source;
mod spec;
mod structure;
mod suggest;
mod validate;
mod values;

use std::io;
use std::path::Path;

pub use diagnostic::{Diagnostic, ErrorKind, Label, MAX_SHOWN_DIAGNOSTICS, Severity, SpecErrors};
pub use extends::{MAX_EXTENDS_DEPTH, effective_toml};
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
/// in diagnostics. A spec that `extends` a base is refused (at its `extends`): only
/// [`parse_with_bases`] reads bases.
///
/// # Errors
/// Every error found in the file (with the warnings), in the order they appear in it.
pub fn parse(file_name: &str, text: &str) -> Result<Validated, SpecErrors> {
    parse_with_bases(file_name, text, &|_| {
        Err(io::Error::new(io::ErrorKind::Unsupported, "this caller reads no base specs"))
    })
}

/// Parses and validates one environment's spec, and the bases it `extends`, read through
/// `read`. Each `extends` is a path relative to the directory of the file that writes it;
/// `read` is given it joined to that file's name (`specs/dev.toml` extending `base.toml` reads
/// `specs/base.toml`), as a path of the same kind as `file_name`, which is also the base's name
/// in diagnostics.
///
/// The files are merged, the deepest base first: tables merge key by key, any other value of
/// the extending file (arrays included) replaces the base's. Every diagnostic points at the
/// file and line the value came from. A cycle, a base that cannot be read, and a chain of more
/// than [`MAX_EXTENDS_DEPTH`] bases are errors at the `extends` that leads there.
///
/// # Errors
/// Every error found in the files (with the warnings), the spec's first.
pub fn parse_with_bases(
    file_name: &str,
    text: &str,
    read: &dyn Fn(&Path) -> io::Result<String>,
) -> Result<Validated, SpecErrors> {
    if let Some((message, help)) = too_large(file_name, text.len() as u64) {
        let source = SpecSource::unindexed(file_name, text);
        let diagnostic = Diagnostic::error_of(ErrorKind::TooLarge, &source, message)
            .with_label(0..0, Some("refused unread".to_owned()))
            .with_help(help);
        return Err(SpecErrors::new(&source, vec![diagnostic]));
    }
    let chain = extends::read_chain(file_name, text, read);
    let starts = chain.starts();
    if !chain.syntax_errors.is_empty() || !chain.problems.is_empty() {
        let source = SpecSource::of_files(&chain.files, None);
        let mut diagnostics: Vec<Diagnostic> = chain
            .syntax_errors
            .iter()
            .map(|(file, error)| syntax_diagnostic(&source, error, starts[*file]))
            .chain(chain.problems.into_iter().map(|problem| problem.diagnostic(&source)))
            .collect();
        in_reading_order(&mut diagnostics);
        return Err(SpecErrors::new(&source, diagnostics));
    }
    let texts: Vec<&str> = chain.files.iter().map(|file| file.text.as_str()).collect();
    let document = extends::merge_files(&texts, &starts);
    let source = SpecSource::of_files(&chain.files, Some(&document));

    let mut structure = structure::check(&document, &source);
    let mut diagnostics = std::mem::take(&mut structure.diagnostics);
    let spec = validate::validate(structure, &source, &mut diagnostics);
    in_reading_order(&mut diagnostics);
    match spec {
        Some(spec) if diagnostics.iter().all(|diagnostic| diagnostic.severity() == Severity::Warning) => {
            Ok(Validated { spec, warnings: diagnostics })
        }
        _ => Err(SpecErrors::new(&source, diagnostics)),
    }
}

/// Sorts findings top to bottom, as an editor would show them (the spec's before its bases'),
/// and drops repeats: the same message at the same place says nothing new (the parser reports
/// one unclosed `[` per level of a too deeply nested array).
fn in_reading_order(diagnostics: &mut Vec<Diagnostic>) {
    diagnostics.sort_by_key(|diagnostic| diagnostic.primary_span().offset());
    let mut seen = std::collections::HashSet::new();
    diagnostics.retain(|diagnostic| {
        let span = diagnostic.primary_span();
        seen.insert((diagnostic.message().to_owned(), span.offset(), span.len()))
    });
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

/// A syntax error of the file whose text starts at `start` in `source`.
fn syntax_diagnostic(source: &SpecSource, error: &toml::de::Error, start: usize) -> Diagnostic {
    let span = error.span().unwrap_or(0..0);
    let span = span.start + start..span.end + start;
    let message = error.message().trim_end_matches('.');
    // The parser's words for its nesting limits (80 levels) say nothing about the file.
    if message == "cannot recurse further; max recursion depth met" {
        return Diagnostic::error_of(
            ErrorKind::InvalidToml,
            source,
            "invalid TOML: arrays or inline tables nested more than 80 deep",
        )
        .with_label(span, Some("one level too deep".to_owned()))
        .with_help(
            "a spec nests at most a few levels, such as `tags = { team = \"video\" }`: look for a `[` or `{` \
                 that is never closed, or remove the extra levels",
        );
    }
    if message == "recursion limit" {
        return Diagnostic::error_of(
            ErrorKind::InvalidToml,
            source,
            "invalid TOML: a key of more than 80 dotted parts",
        )
        .with_label(span, None)
        .with_help("a spec's keys have at most a few parts, such as `bucket.encryption.kms_key`");
    }
    let diagnostic = Diagnostic::error_of(ErrorKind::InvalidToml, source, format!("invalid TOML: {message}"));
    if message == "duplicate key" {
        let key = source.text().get(span.clone()).unwrap_or_default();
        return Diagnostic::error_of(ErrorKind::InvalidToml, source, format!("invalid TOML: duplicate key `{key}`"))
            .with_label(span, None)
            .with_help("a key may appear only once in a table");
    }
    diagnostic.with_label(span, None)
}

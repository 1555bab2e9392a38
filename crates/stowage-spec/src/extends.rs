//! `extends = "base.toml"`: a spec written over a shared base. The files of a chain are read
//! through the function the caller hands in (this crate does no IO), each checked as a spec
//! file is (its size, its TOML), and merged, the deepest base first: tables merge key by key,
//! at every depth; any other value (an array, an array of tables, a string) of the extending
//! file replaces the base's.
//!
//! Each file's spans are moved to where its text sits in the [`SpecSource`] made of all of
//! them, so a merged value still points at the file and line it came from.

use std::io;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diagnostic::{Diagnostic, ErrorKind};
use crate::file::SCHEMA;
use crate::source::{FileText, SpecSource};
use crate::structure::found_name;
use crate::{MAX_SPEC_BYTES, too_large};

/// The key naming the base a spec extends.
pub(crate) const EXTENDS: &str = "extends";

/// How many bases one spec may stack: a spec extends one or two; more is most likely a loop
/// that lexical paths do not show (a symbolic link).
pub const MAX_EXTENDS_DEPTH: usize = 16;

/// What reading a chain found: its files, the spec first, and what went wrong.
pub(crate) struct Chain {
    pub files: Vec<FileText>,
    /// Syntax errors, with the index of the file they are in.
    pub syntax_errors: Vec<(usize, toml::de::Error)>,
    /// Problems following `extends`, with spans into the whole chain.
    pub problems: Vec<Problem>,
}

/// A problem found while following the chain, made a [`Diagnostic`] once the source of every
/// file read is known.
pub(crate) struct Problem {
    kind: ErrorKind,
    message: String,
    span: Range<usize>,
    label: Option<String>,
    help: String,
}

impl Problem {
    pub fn diagnostic(self, source: &SpecSource) -> Diagnostic {
        Diagnostic::error_of(self.kind, source, self.message).with_label(self.span, self.label).with_help(self.help)
    }
}

impl Chain {
    /// Where each file's text starts in the source made of them.
    pub fn starts(&self) -> Vec<usize> {
        SpecSource::file_starts(self.files.iter().map(|file| file.text.as_str()))
    }
}

/// Reads the chain of bases from the spec `file_name` up: each `extends`, relative to the
/// directory of the file that writes it, through `read`. Stops at the first file with a syntax
/// error and at the first `extends` that cannot be followed.
pub(crate) fn read_chain(file_name: &str, text: &str, read: &dyn Fn(&Path) -> io::Result<String>) -> Chain {
    let mut chain =
        Chain { files: vec![FileText::spec(file_name, text)], syntax_errors: Vec::new(), problems: Vec::new() };
    let mut start = 0;
    loop {
        let index = chain.files.len() - 1;
        let file = &chain.files[index];
        let (document, errors) = DeTable::parse_recoverable(&file.text);
        if !errors.is_empty() {
            chain.syntax_errors.extend(errors.into_iter().map(|error| (index, error)));
            return chain;
        }
        let document = document.into_inner();
        let Some(value) = document.get(EXTENDS) else { return chain };
        let span = value.span().start + start..value.span().end + start;
        let Some(written) = value.get_ref().as_str() else {
            chain.problems.push(Problem {
                kind: ErrorKind::WrongType,
                message: format!(
                    "wrong type for `{EXTENDS}`: expected a string, found {}",
                    found_name(value.get_ref())
                ),
                span,
                label: None,
                help: "write the path of the base spec, relative to this file's directory: `extends = \"base.toml\"`"
                    .to_owned(),
            });
            return chain;
        };
        let name = normalize(&parent(Path::new(&file.name)).join(written)).to_string_lossy().into_owned();
        let directory = normalize(&file.directory.join(parent(Path::new(written))));
        let including = file.name.clone();
        let next_start = start + file.text.len() + 1;

        let names: Vec<String> =
            chain.files.iter().map(|file| normalize(Path::new(&file.name)).display().to_string()).collect();
        if names.contains(&name) {
            let mut cycle: Vec<&str> = chain.files.iter().map(|file| file.name.as_str()).collect();
            cycle.push(&name);
            chain.problems.push(Problem {
                kind: ErrorKind::Extends,
                message: format!("`{EXTENDS}` makes a cycle: `{}`", cycle.join(" -> ")),
                span,
                label: Some(format!("`{name}` again")),
                help: "a spec cannot extend itself, directly or through its bases: remove this `extends`, or move \
                       what the files share into a base that extends nothing"
                    .to_owned(),
            });
            return chain;
        }
        if chain.files.len() > MAX_EXTENDS_DEPTH {
            chain.problems.push(Problem {
                kind: ErrorKind::Extends,
                message: format!("`{EXTENDS}` goes more than {MAX_EXTENDS_DEPTH} bases deep"),
                span,
                label: Some(format!("base number {}", chain.files.len())),
                help: "a spec extends a base or two: look for a loop the paths hide (a symbolic link), or merge some \
                       of the bases"
                    .to_owned(),
            });
            return chain;
        }
        let text = match read(Path::new(&name)) {
            Ok(text) => text,
            Err(error) => {
                chain.problems.push(unreadable(&name, &including, &error, span));
                return chain;
            }
        };
        if let Some((message, help)) = too_large(&name, text.len() as u64) {
            chain.problems.push(Problem {
                kind: ErrorKind::TooLarge,
                message,
                span,
                label: Some(format!("the base `{including}` extends")),
                help,
            });
            return chain;
        }
        debug_assert!(text.len() <= MAX_SPEC_BYTES);
        chain.files.push(FileText { name, directory, text });
        start = next_start;
    }
}

fn unreadable(name: &str, including: &str, error: &io::Error, span: Range<usize>) -> Problem {
    let help = match error.kind() {
        io::ErrorKind::NotFound => format!(
            "`{EXTENDS}` is relative to the directory of `{including}`: correct the path, or write the base spec at \
             `{name}`"
        ),
        io::ErrorKind::InvalidData => "save the base spec as UTF-8 text".to_owned(),
        _ => "check that the file exists and that you may read it".to_owned(),
    };
    Problem {
        kind: ErrorKind::Extends,
        message: format!("cannot read the base spec `{name}`: {error}"),
        span,
        label: Some(format!("resolved to `{name}`")),
        help,
    }
}

/// The directory part of a path; empty for a bare file name.
fn parent(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new(""))
}

/// `a/./b/../c` as `a/c`, without asking the file system: the same file is named the same way
/// however the chain reached it, which is how a cycle is found.
fn normalize(path: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir if matches!(normal.components().next_back(), Some(Component::Normal(_))) => {
                normal.pop();
            }
            other => normal.push(other),
        }
    }
    normal
}

/// The files' documents merged into one, the deepest base first, each with its spans moved to
/// where its file sits in the source (`starts`), and without `extends`. The files parse: the
/// chain was read without a syntax error.
pub(crate) fn merge_files<'t>(texts: &[&'t str], starts: &[usize]) -> DeTable<'t> {
    let mut merged = DeTable::new();
    for (text, &start) in texts.iter().zip(starts).rev() {
        let (document, _) = DeTable::parse_recoverable(text);
        let mut document = document.into_inner();
        document.remove(EXTENDS);
        let document = if start == 0 { document } else { shift_table(document, start) };
        if merged.is_empty() {
            merged = document;
        } else {
            merge(&mut merged, document);
        }
    }
    merged
}

/// `over` written over `base`: tables merge key by key, anything else replaces.
fn merge<'t>(base: &mut DeTable<'t>, over: DeTable<'t>) {
    for (key, value) in over {
        let value = match base.remove(key.get_ref().as_ref()) {
            Some(under) if under.get_ref().is_table() && value.get_ref().is_table() => {
                let span = value.span();
                match (under.into_inner(), value.into_inner()) {
                    (DeValue::Table(mut under), DeValue::Table(over)) => {
                        merge(&mut under, over);
                        Spanned::new(span, DeValue::Table(under))
                    }
                    _ => unreachable!("both are tables"),
                }
            }
            _ => value,
        };
        base.insert(key, value);
    }
}

fn shift<T>(spanned: Spanned<T>, offset: usize) -> Spanned<T> {
    let span = spanned.span();
    Spanned::new(span.start + offset..span.end + offset, spanned.into_inner())
}

fn shift_table(table: DeTable<'_>, offset: usize) -> DeTable<'_> {
    table.into_iter().map(|(key, value)| (shift(key, offset), shift_value(value, offset))).collect()
}

fn shift_value(value: Spanned<DeValue<'_>>, offset: usize) -> Spanned<DeValue<'_>> {
    let span = value.span();
    let inner = match value.into_inner() {
        DeValue::Table(table) => DeValue::Table(shift_table(table, offset)),
        DeValue::Array(array) => DeValue::Array(array.into_iter().map(|item| shift_value(item, offset)).collect()),
        scalar => scalar,
    };
    Spanned::new(span.start + offset..span.end + offset, inner)
}

/// The spec `source` was read from, as one TOML document: every file merged, without
/// `extends`, after a comment naming the files in the order they were merged. It parses to the
/// same [`crate::Spec`] as the files do.
pub fn effective_toml(source: &SpecSource) -> String {
    let files: Vec<(&str, &str)> = source.files().collect();
    let texts: Vec<&str> = files.iter().map(|(_, text)| *text).collect();
    let starts = SpecSource::file_starts(texts.iter().copied());
    let merged = merge_files(&texts, &starts);
    let mut header = String::from("# The effective spec: these files merged, each over the one before it\n");
    for (name, _) in files.iter().rev() {
        header.push_str(&format!("#   {}\n", name.escape_debug()));
    }
    // Sections in the order the reference lists them (the schema's), each on its own; keys
    // outside a section (none in a valid spec) before them all, where TOML needs them.
    let order: Vec<&str> = SCHEMA
        .get("properties")
        .and_then(serde_json::Value::as_object)
        .map(|properties| properties.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut entries: Vec<(String, toml::Value)> = to_toml_table(&merged).into_iter().collect();
    entries.sort_by_key(|(key, value)| {
        (value.is_table(), order.iter().position(|section| section == key).unwrap_or(usize::MAX))
    });
    let mut body = String::new();
    for (key, value) in entries {
        let is_table = value.is_table();
        let one = toml::Table::from_iter([(key, value)]);
        let text = toml::to_string(&one).unwrap_or_else(|error| format!("# cannot be written as TOML: {error}\n"));
        if is_table {
            body.push('\n');
        }
        body.push_str(&text);
    }
    format!("{header}{body}")
}

fn to_toml_table(table: &DeTable<'_>) -> toml::Table {
    table.iter().map(|(key, value)| (key.get_ref().to_string(), to_toml(value.get_ref()))).collect()
}

fn to_toml(value: &DeValue<'_>) -> toml::Value {
    match value {
        DeValue::String(text) => toml::Value::String(text.to_string()),
        DeValue::Integer(integer) => i64::from_str_radix(integer.as_str(), integer.radix())
            .map_or_else(|_| toml::Value::String(integer.as_str().to_owned()), toml::Value::Integer),
        DeValue::Float(float) => float
            .as_str()
            .parse::<f64>()
            .map_or_else(|_| toml::Value::String(float.as_str().to_owned()), toml::Value::Float),
        DeValue::Boolean(boolean) => toml::Value::Boolean(*boolean),
        DeValue::Datetime(datetime) => toml::Value::Datetime(*datetime),
        DeValue::Array(items) => toml::Value::Array(items.iter().map(|item| to_toml(item.get_ref())).collect()),
        DeValue::Table(table) => toml::Value::Table(to_toml_table(table)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_normalize_lexically() {
        assert_eq!(normalize(Path::new("a/./b/../c.toml")), Path::new("a/c.toml"));
        assert_eq!(normalize(Path::new("../x/../base.toml")), Path::new("../base.toml"));
        assert_eq!(normalize(Path::new("./dev.toml")), Path::new("dev.toml"));
        assert_eq!(normalize(Path::new("/etc/../base.toml")), Path::new("/base.toml"));
    }
}

//! The spec's text, its name, and where each key and value sits in it.
//!
//! A spec that extends others (`extends = "base.toml"`) is read from several files. Its source
//! holds them one after another, as one text: each file's span of it is its own, so that a
//! span still says where a value sits, and now also in which file. Reading a span for miette
//! gives the file's name and the line and column within that file.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// The source text and name of one spec, shared (cheap to clone) so that diagnostics from any
/// later stage can point into it: one file, or the file and the bases it extends.
///
/// Keys are found by path: `bucket.name`, `bucket.lifecycle[1].prefix`, and quoted segments for
/// keys that are not bare TOML keys: `bucket.tags."cost.center"` (see [`KeyPath`]). A key's
/// span is in the file the merged value came from.
#[derive(Clone)]
pub struct SpecSource {
    inner: Arc<Inner>,
}

struct Inner {
    /// The text of every file, one after another, each but the last followed by a `\n` that
    /// belongs to none (so that the end of one file is not the start of the next).
    text: String,
    /// The files, in the order they were read: the spec first, then what it extends, then
    /// what that extends. Their spans of `text` are in the same order.
    files: Vec<SourceFile>,
    locations: BTreeMap<String, Location>,
}

/// One file of a source: its name, where its text sits in the source's, and its lines.
struct SourceFile {
    name: String,
    /// The file's directory relative to the spec's (empty for the spec itself); a base named
    /// by an absolute path has an absolute one.
    directory: PathBuf,
    start: usize,
    end: usize,
    /// Where each line starts (relative to the file), computed once: finding the line of an
    /// offset is a binary search, so that reporting many findings stays linear in the text (a
    /// line ends at `\n`, `\r\n` or a lone `\r`, as miette counts them).
    line_starts: Vec<usize>,
    /// Where each line starts counting `\n` only, as [`SpecSource::line_col`] numbers them.
    newline_starts: Vec<usize>,
}

/// One file of a spec, as handed to [`SpecSource`]: its name, its directory relative to the
/// spec's, and its text.
pub(crate) struct FileText {
    pub name: String,
    pub directory: PathBuf,
    pub text: String,
}

/// Lines longer than this (in bytes) are shown as a window around the span, not whole: a file
/// of one megabyte-long line must not print a megabyte per finding.
const LONG_LINE: usize = 1024;
/// How much of a long line is shown on each side of the span, in bytes.
const LONG_LINE_MARGIN: usize = 120;

/// Where one entry sits: its key (absent for array items) and its value.
#[derive(Debug, Clone, Copy)]
struct Location {
    key: Option<SourceSpan>,
    value: SourceSpan,
}

impl SpecSource {
    /// A source with no key index, for text that did not parse.
    pub(crate) fn unindexed(name: &str, text: &str) -> Self {
        Self::of_files(&[FileText::spec(name, text)], None)
    }

    /// A source indexing every key and value of the parsed document.
    #[cfg(test)]
    pub(crate) fn indexed(name: &str, text: &str, document: &DeTable<'_>) -> Self {
        Self::of_files(&[FileText::spec(name, text)], Some(document))
    }

    /// A source of several files (the spec first), indexing the keys and values of `document`
    /// when there is one: a document whose spans are offsets into the files laid out one
    /// after another, as [`SpecSource::file_starts`] gives them.
    pub(crate) fn of_files(files: &[FileText], document: Option<&DeTable<'_>>) -> Self {
        let mut locations = BTreeMap::new();
        if let Some(document) = document {
            index_table(document, &KeyPath::root(), &mut locations);
        }
        let mut text = String::with_capacity(files.iter().map(|file| file.text.len() + 1).sum());
        let mut indexed = Vec::with_capacity(files.len());
        for (position, file) in files.iter().enumerate() {
            if position > 0 {
                text.push('\n');
            }
            let start = text.len();
            text.push_str(&file.text);
            indexed.push(SourceFile {
                name: file.name.clone(),
                directory: file.directory.clone(),
                start,
                end: text.len(),
                line_starts: line_starts(&file.text),
                newline_starts: std::iter::once(0)
                    .chain(file.text.match_indices('\n').map(|(offset, _)| offset + 1))
                    .collect(),
            });
        }
        Self { inner: Arc::new(Inner { text, files: indexed, locations }) }
    }

    /// Where each of these files' texts starts in a source made of them.
    pub(crate) fn file_starts<'t>(texts: impl IntoIterator<Item = &'t str>) -> Vec<usize> {
        let mut starts = Vec::new();
        let mut next = 0;
        for text in texts {
            starts.push(next);
            next += text.len() + 1;
        }
        starts
    }

    /// The file an offset is in (the end of a file's text is in it).
    fn file_at(&self, offset: usize) -> FileView<'_> {
        let files = &self.inner.files;
        let position = files.partition_point(|file| file.start <= offset).saturating_sub(1);
        let file = &files[position];
        FileView { file, text: &self.inner.text[file.start..file.end] }
    }

    /// The name given to [`crate::parse`]: the spec's file, the one that extends the others.
    pub fn name(&self) -> &str {
        &self.inner.files[0].name
    }

    /// The name of the file an offset (a span's start) is in: the spec's, or a base's.
    pub fn file_of(&self, offset: usize) -> &str {
        &self.file_at(offset).file.name
    }

    /// The directory of the file an offset is in, relative to the spec's directory: empty for
    /// the spec itself, `shared` for a base it names as `shared/base.toml`.
    pub fn directory_of(&self, offset: usize) -> &Path {
        &self.file_at(offset).file.directory
    }

    /// Every file of the spec, as `(name, text)`: the spec first, then the bases it extends,
    /// nearest first. One file for a spec without `extends`.
    pub fn files(&self) -> impl Iterator<Item = (&str, &str)> {
        self.inner.files.iter().map(|file| (file.name.as_str(), &self.inner.text[file.start..file.end]))
    }

    /// The text of every file, one after another with a line break between them; spans are
    /// offsets into it. For a spec without `extends`, the file's text.
    pub fn text(&self) -> &str {
        &self.inner.text
    }

    /// The span of the value at `path` (for a table, its header), if the file writes it.
    pub fn span_of(&self, path: &str) -> Option<SourceSpan> {
        self.inner.locations.get(path).map(|location| location.value)
    }

    /// The span of the key at `path`, if the file writes it (array items have none).
    pub fn key_span_of(&self, path: &str) -> Option<SourceSpan> {
        self.inner.locations.get(path).and_then(|location| location.key)
    }

    /// The span of the value at `path`, or of its nearest written ancestor when the value comes
    /// from a default; the start of the spec when no ancestor is written either.
    pub fn nearest_span(&self, path: &KeyPath) -> SourceSpan {
        let mut path = path.clone();
        loop {
            if let Some(span) = self.span_of(&path.to_string()) {
                return span;
            }
            if !path.pop() {
                return SourceSpan::from(0..0);
            }
        }
    }

    /// The 1-based line and column of a byte offset within the file it is in (see
    /// [`SpecSource::file_of`]); the column counts characters, not bytes.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let view = self.file_at(offset);
        view.line_col(offset.saturating_sub(view.file.start))
    }
}

impl FileText {
    /// The spec's own file.
    pub(crate) fn spec(name: &str, text: &str) -> Self {
        Self { name: name.to_owned(), directory: PathBuf::new(), text: text.to_owned() }
    }
}

/// One file's text with its line index; offsets relative to the file.
struct FileView<'a> {
    file: &'a SourceFile,
    text: &'a str,
}

impl<'a> FileView<'a> {
    /// The 0-based line an offset is on.
    fn line_of(&self, offset: usize) -> usize {
        self.file.line_starts.partition_point(|&start| start <= offset).saturating_sub(1)
    }

    /// Where line `line` (0-based) starts; the end of the text past the last line.
    fn line_start(&self, line: usize) -> usize {
        self.file.line_starts.get(line).copied().unwrap_or(self.text.len())
    }

    /// Where line `line` ends, before its line break.
    fn line_end(&self, line: usize) -> usize {
        let text = self.text.as_bytes();
        let mut end = self.line_start(line + 1);
        if end > self.line_start(line) && end <= text.len() && line + 1 < self.file.line_starts.len() {
            end -= 1;
            if text[end] == b'\n' && end > self.line_start(line) && text[end - 1] == b'\r' {
                end -= 1;
            }
        }
        end
    }

    fn line_col(&self, offset: usize) -> (usize, usize) {
        let text = self.text;
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let starts = &self.file.newline_starts;
        let line = starts.partition_point(|&start| start <= offset).saturating_sub(1);
        let column = text[starts[line]..offset].chars().count() + 1;
        (line + 1, column)
    }

    /// miette's reading of a span of this file (offsets relative to it).
    fn read_span(
        &self,
        start: usize,
        length: usize,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<MietteSpanContents<'a>, MietteError> {
        let text = self.text;
        let name = self.file.name.clone();
        let end = start.saturating_add(length);
        // miette's own reading accepts a span reaching one byte past the end.
        if start > text.len() || end.saturating_sub(1) > text.len() {
            return Err(MietteError::OutOfBounds);
        }
        let first_line = self.line_of(start);
        let last_line = self.line_of(end.saturating_sub(1).max(start));
        // A span within one very long line: a window around it, without the context lines.
        if (context_lines_before > 0 || context_lines_after > 0)
            && first_line == last_line
            && self.line_end(first_line) - self.line_start(first_line) > LONG_LINE
        {
            let line_start = self.line_start(first_line);
            let window_start = floor_char_boundary(text, start.saturating_sub(LONG_LINE_MARGIN).max(line_start));
            let window_end = ceil_char_boundary(
                text,
                end.saturating_add(LONG_LINE_MARGIN).min(self.line_end(first_line)).max(end).min(text.len()),
            );
            return Ok(MietteSpanContents::new_named(
                name,
                &text.as_bytes()[window_start..window_end],
                SourceSpan::from(window_start..window_end),
                first_line,
                window_start - line_start,
                first_line,
            ));
        }
        // miette's own reading of a `str` scans from the start of the text on every call:
        // quadratic over many findings. It runs here over the lines that matter only (with two
        // lines to spare past the context), and its answer is moved back into place.
        // An empty span at a line's start ends, for miette, on the line before.
        let base_line = self.line_of(start.min(end.saturating_sub(1))).saturating_sub(context_lines_before);
        let base = self.line_start(base_line);
        let until = self.line_start(last_line.saturating_add(context_lines_after).saturating_add(3));
        let window = &text[base..until];
        let contents =
            window.read_span(&SourceSpan::from((start - base, length)), context_lines_before, context_lines_after)?;
        Ok(MietteSpanContents::new_named(
            name,
            contents.data(),
            SourceSpan::from((contents.span().offset() + base, contents.span().len())),
            contents.line() + base_line,
            contents.column(),
            contents.line_count() + base_line,
        ))
    }
}

impl fmt::Debug for SpecSource {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.files().map(|(name, _)| name).collect();
        formatter
            .debug_struct("SpecSource")
            .field("files", &names)
            .field("length", &self.inner.text.len())
            .finish_non_exhaustive()
    }
}

impl SourceCode for SpecSource {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let view = self.file_at(span.offset());
        let start = span.offset() - view.file.start;
        // A span is read within one file: one reaching into the next is out of bounds (miette
        // then draws two snippets instead of one).
        let contents = view.read_span(start, span.len(), context_lines_before, context_lines_after)?;
        let shifted = SourceSpan::from((contents.span().offset() + view.file.start, contents.span().len()));
        Ok(Box::new(MietteSpanContents::new_named(
            view.file.name.clone(),
            contents.data(),
            shifted,
            contents.line(),
            contents.column(),
            contents.line_count(),
        )))
    }
}

/// The offset of each line's start: 0, and after each `\n`, `\r\n` or lone `\r`.
fn line_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut starts = vec![0];
    for (offset, &byte) in bytes.iter().enumerate() {
        let breaks = byte == b'\n' || (byte == b'\r' && bytes.get(offset + 1) != Some(&b'\n'));
        if breaks {
            starts.push(offset + 1);
        }
    }
    starts
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

fn ceil_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset += 1;
    }
    offset
}

fn index_table(table: &DeTable<'_>, path: &KeyPath, locations: &mut BTreeMap<String, Location>) {
    for (key, value) in table {
        let path = path.key(key.get_ref());
        locations.insert(path.to_string(), Location { key: Some(to_span(key.span())), value: to_span(value.span()) });
        index_value(value, &path, locations);
    }
}

fn index_value(value: &Spanned<DeValue<'_>>, path: &KeyPath, locations: &mut BTreeMap<String, Location>) {
    match value.get_ref() {
        DeValue::Table(table) => index_table(table, path, locations),
        DeValue::Array(array) => {
            for (index, item) in array.iter().enumerate() {
                let path = path.index(index);
                locations.insert(path.to_string(), Location { key: None, value: to_span(item.span()) });
                index_value(item, &path, locations);
            }
        }
        _ => {}
    }
}

pub(crate) fn to_span(range: Range<usize>) -> SourceSpan {
    SourceSpan::from(range)
}

/// A path to a key or array item in the spec, displayed as `bucket.lifecycle[1].prefix`.
///
/// Keys that are not bare TOML keys (`A-Za-z0-9_-`) are quoted: `bucket.tags."cost.center"`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPath {
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

impl KeyPath {
    /// The document itself.
    pub fn root() -> Self {
        Self::default()
    }

    /// This path extended by a key.
    #[must_use]
    pub fn key(&self, key: &str) -> Self {
        let mut path = self.clone();
        path.segments.push(Segment::Key(key.to_owned()));
        path
    }

    /// This path extended by an array index.
    #[must_use]
    pub fn index(&self, index: usize) -> Self {
        let mut path = self.clone();
        path.segments.push(Segment::Index(index));
        path
    }

    /// Whether this is the document itself.
    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// The last key of the path, skipping array indexes.
    pub fn last_key(&self) -> Option<&str> {
        self.segments.iter().rev().find_map(|segment| match segment {
            Segment::Key(key) => Some(key.as_str()),
            Segment::Index(_) => None,
        })
    }

    /// How a person would name the table at this path: `[bucket]`, `[[bucket.lifecycle]]` for an
    /// item of an array of tables, `the top level` for the document.
    pub fn table_name(&self) -> String {
        if self.is_root() {
            return "the top level".to_owned();
        }
        let keys = self.keys_only();
        if matches!(self.segments.last(), Some(Segment::Index(_))) {
            format!("`[[{keys}]]`")
        } else {
            format!("`[{keys}]`")
        }
    }

    fn keys_only(&self) -> String {
        let keys: Vec<String> = self
            .segments
            .iter()
            .filter_map(|segment| match segment {
                Segment::Key(key) => Some(quote_key(key)),
                Segment::Index(_) => None,
            })
            .collect();
        keys.join(".")
    }

    fn pop(&mut self) -> bool {
        self.segments.pop().is_some()
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Key(key) if position == 0 => write!(formatter, "{}", quote_key(key))?,
                Segment::Key(key) => write!(formatter, ".{}", quote_key(key))?,
                Segment::Index(index) => write!(formatter, "[{index}]")?,
            }
        }
        Ok(())
    }
}

fn quote_key(key: &str) -> String {
    let bare = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare { key.to_owned() } else { format!("{key:?}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(text: &str) -> SpecSource {
        let document = DeTable::parse(text).expect("test text parses");
        SpecSource::indexed("test.toml", text, document.get_ref())
    }

    #[test]
    fn paths_render_keys_indexes_and_quoted_keys() {
        let path = KeyPath::root().key("bucket").key("lifecycle").index(1).key("prefix");
        assert_eq!(path.to_string(), "bucket.lifecycle[1].prefix");
        assert_eq!(
            KeyPath::root().key("bucket").key("tags").key("cost.center").to_string(),
            r#"bucket.tags."cost.center""#
        );
        assert_eq!(KeyPath::root().key("bucket").key("lifecycle").index(0).table_name(), "`[[bucket.lifecycle]]`");
        assert_eq!(KeyPath::root().key("bucket").table_name(), "`[bucket]`");
    }

    #[test]
    fn spans_point_at_keys_values_and_headers() {
        let text = "[bucket]\nname = \"a\"\ntags = { \"cost.center\" = \"x\" }\n\n[[bucket.lifecycle]]\nprefix = \"p\"\n\n[[bucket.lifecycle]]\nprefix = \"q\"\n";
        let source = source(text);
        let slice = |span: SourceSpan| &text[span.offset()..span.offset() + span.len()];
        assert_eq!(source.span_of("bucket").map(slice), Some("[bucket]"));
        assert_eq!(source.span_of("bucket.name").map(slice), Some("\"a\""));
        assert_eq!(source.key_span_of("bucket.name").map(slice), Some("name"));
        assert_eq!(source.span_of(r#"bucket.tags."cost.center""#).map(slice), Some("\"x\""));
        assert_eq!(source.span_of("bucket.lifecycle[1].prefix").map(slice), Some("\"q\""));
        assert_eq!(source.span_of("bucket.versioning"), None);
        let nearest = source.nearest_span(&KeyPath::root().key("bucket").key("versioning"));
        assert_eq!(slice(nearest), "[bucket]");
    }

    /// Reading a span through the line index gives what miette's own reading of the whole
    /// text gives, context lines, CRLF, lone CR and multibyte characters included.
    #[test]
    fn spans_read_as_miette_reads_them() {
        let text = "[bucket]\r\nname = \"é\"\n\n\rtags = { a = \"b\" }\n# ü\r\nx = 1\n\ny = [\n  1,\n]\nlast";
        let source = SpecSource::unindexed("x.toml", text);
        for start in 0..=text.len() {
            for length in 0..=(text.len() + 1 - start).min(30) {
                for context in [0, 1, 2] {
                    let span = SourceSpan::from((start, length));
                    let ours = source.read_span(&span, context, context);
                    let theirs = text.read_span(&span, context, context);
                    match (ours, theirs) {
                        (Ok(ours), Ok(theirs)) => {
                            let what = format!("span {start}+{length}, context {context}");
                            assert_eq!(ours.data(), theirs.data(), "{what}");
                            assert_eq!(ours.span(), theirs.span(), "{what}");
                            assert_eq!(ours.line(), theirs.line(), "{what}");
                            assert_eq!(ours.column(), theirs.column(), "{what}");
                            assert_eq!(ours.line_count(), theirs.line_count(), "{what}");
                        }
                        (Err(_), Err(_)) => {}
                        (ours, theirs) => panic!("span {start}+{length}: {:?} vs {:?}", ours.is_ok(), theirs.is_ok()),
                    }
                }
            }
        }
    }

    #[test]
    fn a_span_in_a_very_long_line_reads_a_window_of_it() {
        let text = format!("a = 1\nb = \"{}\"\nc = 3\n", "x".repeat(100_000));
        let source = SpecSource::unindexed("x.toml", &text);
        let span = SourceSpan::from((50_000, 3));
        let contents = source.read_span(&span, 1, 1).expect("in bounds");
        assert!(contents.data().len() <= 2 * LONG_LINE_MARGIN + 3);
        assert_eq!((contents.line(), contents.column()), (1, 50_000 - 6 - LONG_LINE_MARGIN));
    }

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let source = SpecSource::unindexed("x.toml", "a = 1\nné = \"é\"\n");
        assert_eq!(source.line_col(0), (1, 1));
        assert_eq!(source.line_col(6), (2, 1));
        // `=` follows three characters that take four bytes.
        assert_eq!(source.line_col(10), (2, 4));
        assert_eq!(source.line_col(10_000), (3, 1));
        // Lines are counted at `\n` only, as `str::lines` does.
        let source = SpecSource::unindexed("x.toml", "a\rb\r\nc");
        assert_eq!(source.line_col(2), (1, 3));
        assert_eq!(source.line_col(5), (2, 1));
    }
}

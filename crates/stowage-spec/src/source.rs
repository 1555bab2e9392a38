//! The spec's text, its name, and where each key and value sits in it.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// The source text and name of one spec file, shared (cheap to clone) so that diagnostics from
/// any later stage can point into it.
///
/// Keys are found by path: `bucket.name`, `bucket.lifecycle[1].prefix`, and quoted segments for
/// keys that are not bare TOML keys: `bucket.tags."cost.center"` (see [`KeyPath`]).
#[derive(Clone)]
pub struct SpecSource {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    text: String,
    locations: BTreeMap<String, Location>,
}

/// Where one entry sits: its key (absent for array items) and its value.
#[derive(Debug, Clone, Copy)]
struct Location {
    key: Option<SourceSpan>,
    value: SourceSpan,
}

impl SpecSource {
    /// A source with no key index, for text that did not parse.
    pub(crate) fn unindexed(name: &str, text: &str) -> Self {
        Self::with_locations(name, text, BTreeMap::new())
    }

    /// A source indexing every key and value of the parsed document.
    pub(crate) fn indexed(name: &str, text: &str, document: &DeTable<'_>) -> Self {
        let mut locations = BTreeMap::new();
        index_table(document, &KeyPath::root(), &mut locations);
        Self::with_locations(name, text, locations)
    }

    fn with_locations(name: &str, text: &str, locations: BTreeMap<String, Location>) -> Self {
        Self { inner: Arc::new(Inner { name: name.to_owned(), text: text.to_owned(), locations }) }
    }

    /// The file name given to [`crate::parse`].
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The whole spec text.
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
    /// from a default; the start of the file when no ancestor is written either.
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

    /// The 1-based line and column of a byte offset; the column counts characters, not bytes.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let text = self.text();
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        let line = before.matches('\n').count() + 1;
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }
}

impl fmt::Debug for SpecSource {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("SpecSource")
            .field("name", &self.inner.name)
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
        let contents = self.text().read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name().to_owned(),
            contents.data(),
            *contents.span(),
            contents.line(),
            contents.column(),
            contents.line_count(),
        )))
    }
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

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let source = SpecSource::unindexed("x.toml", "a = 1\nné = \"é\"\n");
        assert_eq!(source.line_col(0), (1, 1));
        assert_eq!(source.line_col(6), (2, 1));
        // `=` follows three characters that take four bytes.
        assert_eq!(source.line_col(10), (2, 4));
        assert_eq!(source.line_col(10_000), (3, 1));
    }
}

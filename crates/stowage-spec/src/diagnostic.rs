//! Findings about a spec: each with a severity, a message, labelled spans and a hint.

use std::fmt;

use miette::{LabeledSpan, SourceCode, SourceSpan};

use crate::lint::Lint;
use crate::source::SpecSource;

/// How many findings a report shows; past them, one line says how many more there are. A file
/// of noise has thousands, and nobody reads past the first screens.
pub const MAX_SHOWN_DIAGNOSTICS: usize = 50;

/// How bad a finding is: errors make the spec invalid, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

/// What kind of problem an error is. Its name is the error's code, shown with it as a lint's
/// name is shown with a warning (`Error: unknown-key`); the names are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The text is not TOML (`invalid-toml`).
    InvalidToml,
    /// The file is larger than a spec may be (`too-large`).
    TooLarge,
    /// A key or section the spec does not have (`unknown-key`).
    UnknownKey,
    /// A required key or section is not written (`missing-key`).
    MissingKey,
    /// A value of the wrong TOML type (`wrong-type`).
    WrongType,
    /// A value of the right type that is not allowed, alone or with others (`invalid-value`).
    InvalidValue,
    /// `extends` cannot be followed: a base that cannot be read, a cycle, a chain too long
    /// (`extends`).
    Extends,
    /// An encryption public key file that cannot be read or used (`public-key`).
    PublicKey,
}

impl ErrorKind {
    /// The code shown with the error.
    pub fn name(self) -> &'static str {
        match self {
            Self::InvalidToml => "invalid-toml",
            Self::TooLarge => "too-large",
            Self::UnknownKey => "unknown-key",
            Self::MissingKey => "missing-key",
            Self::WrongType => "wrong-type",
            Self::InvalidValue => "invalid-value",
            Self::Extends => "extends",
            Self::PublicKey => "public-key",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// A span of the source with an optional short text, drawn under the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub span: SourceSpan,
    pub text: Option<String>,
}

/// One finding about a spec: severity, message (lowercase, no trailing period, literals in
/// backticks), labelled spans into the source (the first is the primary one) and an optional
/// hint.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    severity: Severity,
    message: String,
    labels: Vec<Label>,
    help: Option<String>,
    lint: Option<Lint>,
    kind: Option<ErrorKind>,
    source: SpecSource,
}

impl Diagnostic {
    /// An error about `source` without a kind, shown without a code: for a refusal that is not
    /// a problem of the file (`prevent_destroy`). Every problem of a spec is made with
    /// [`Diagnostic::error_of`]. Add at least one label before handing it out.
    pub fn error(source: &SpecSource, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, source, message)
    }

    /// A problem of kind `kind` in `source`, shown with the kind's name as its code; add at
    /// least one label before handing it out.
    pub fn error_of(kind: ErrorKind, source: &SpecSource, message: impl Into<String>) -> Self {
        Self::error(source, message).with_kind(kind)
    }

    /// A warning about `source`: the finding of a lint, whose name it shows and which
    /// `[lints] allow` can silence.
    pub fn warning(lint: Lint, source: &SpecSource, message: impl Into<String>) -> Self {
        Self { lint: Some(lint), ..Self::new(Severity::Warning, source, message) }
    }

    fn new(severity: Severity, source: &SpecSource, message: impl Into<String>) -> Self {
        Self {
            severity,
            message: message.into(),
            labels: Vec::new(),
            help: None,
            lint: None,
            kind: None,
            source: source.clone(),
        }
    }

    /// Sets the kind of an error (its code); a warning's code is its lint's name.
    #[must_use]
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        if self.severity == Severity::Error {
            self.kind = Some(kind);
        }
        self
    }

    /// Adds a label; the first one added is the primary one.
    #[must_use]
    pub fn with_label(mut self, span: impl Into<SourceSpan>, text: Option<String>) -> Self {
        self.labels.push(Label { span: span.into(), text });
        self
    }

    /// Sets the hint shown under the code.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Sets the hint when there is one.
    #[must_use]
    pub fn with_optional_help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    pub fn severity(&self) -> Severity {
        self.severity
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn help(&self) -> Option<&str> {
        self.help.as_deref()
    }

    pub fn labels(&self) -> &[Label] {
        &self.labels
    }

    /// The lint a warning comes from (its name is shown with it); `None` for errors.
    pub fn lint(&self) -> Option<Lint> {
        self.lint
    }

    /// The kind of an error; `None` for warnings.
    pub fn kind(&self) -> Option<ErrorKind> {
        self.kind
    }

    /// The code shown with the finding: a warning's lint name, an error's kind; `None` for an
    /// error made without a kind.
    pub fn code(&self) -> Option<&'static str> {
        match (self.lint, self.kind) {
            (Some(lint), _) => Some(lint.name()),
            (None, kind) => kind.map(ErrorKind::name),
        }
    }

    /// The source this finding points into.
    pub fn source(&self) -> &SpecSource {
        &self.source
    }

    /// The name of the file the primary span is in: the spec's, or that of a base it extends
    /// when the value came from there.
    pub fn file_name(&self) -> &str {
        self.source.file_of(self.primary_span().offset())
    }

    /// The primary span: the first label's, or the start of the file.
    pub fn primary_span(&self) -> SourceSpan {
        self.labels.first().map_or_else(|| SourceSpan::from(0..0), |label| label.span)
    }

    /// The 1-based line and column where the primary span starts, in the file
    /// [`Diagnostic::file_name`] names, for plain rendering as `file:line:col`.
    pub fn line_col(&self) -> (usize, usize) {
        self.source.line_col(self.primary_span().offset())
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.code().map(|code| Box::new(code) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let labels = self.labels.iter().enumerate().map(|(position, label)| {
            if position == 0 {
                LabeledSpan::new_primary_with_span(label.text.clone(), label.span)
            } else {
                LabeledSpan::new_with_span(label.text.clone(), label.span)
            }
        });
        Some(Box::new(labels))
    }
}

/// Every finding of one spec file that did not validate, errors and warnings alike, in the
/// order they appear in the file. Renders with miette: each finding is a related diagnostic
/// with the source attached, the first [`MAX_SHOWN_DIAGNOSTICS`] of them, then one line
/// saying how many more there are.
#[derive(Debug, Clone)]
pub struct SpecErrors {
    pub diagnostics: Vec<Diagnostic>,
    source: SpecSource,
    more: MoreProblems,
}

impl SpecErrors {
    pub(crate) fn new(source: &SpecSource, diagnostics: Vec<Diagnostic>) -> Self {
        let more = MoreProblems(diagnostics.len().saturating_sub(MAX_SHOWN_DIAGNOSTICS));
        Self { diagnostics, source: source.clone(), more }
    }

    /// The source the findings point into.
    pub fn source(&self) -> &SpecSource {
        &self.source
    }

    /// The findings that make the spec invalid.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|diagnostic| diagnostic.severity == Severity::Error)
    }
}

impl fmt::Display for SpecErrors {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self.errors().count();
        let warnings = self.diagnostics.len() - errors;
        write!(formatter, "`{}` is not a valid spec: {}", self.source.name(), count(errors, "error"))?;
        if warnings > 0 {
            write!(formatter, " and {}", count(warnings, "warning"))?;
        }
        if self.diagnostics.len() > MAX_SHOWN_DIAGNOSTICS {
            write!(formatter, " (the first {MAX_SHOWN_DIAGNOSTICS} shown)")?;
        }
        Ok(())
    }
}

fn count(number: usize, noun: &str) -> String {
    if number == 1 { format!("1 {noun}") } else { format!("{number} {noun}s") }
}

impl std::error::Error for SpecErrors {}

impl miette::Diagnostic for SpecErrors {
    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        let shown =
            self.diagnostics.iter().take(MAX_SHOWN_DIAGNOSTICS).map(|diagnostic| diagnostic as &dyn miette::Diagnostic);
        let more = (self.more.0 > 0).then_some(&self.more).map(|more| more as &dyn miette::Diagnostic);
        Some(Box::new(shown.chain(more)))
    }
}

/// The line after the findings shown: how many were left out.
#[derive(Debug, Clone)]
struct MoreProblems(usize);

impl fmt::Display for MoreProblems {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = if self.0 == 1 { "problem" } else { "problems" };
        write!(formatter, "and {} more {noun}", self.0)
    }
}

impl std::error::Error for MoreProblems {}

impl miette::Diagnostic for MoreProblems {
    fn severity(&self) -> Option<miette::Severity> {
        Some(miette::Severity::Advice)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("fix the problems above and run again to see the rest"))
    }
}

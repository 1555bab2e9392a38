//! Findings about a spec: each with a severity, a message, labelled spans and a hint.

use std::fmt;

use miette::{LabeledSpan, SourceCode, SourceSpan};

use crate::source::SpecSource;

/// How bad a finding is: errors make the spec invalid, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
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
    source: SpecSource,
}

impl Diagnostic {
    /// An error about `source`; add at least one label before handing it out.
    pub fn error(source: &SpecSource, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, source, message)
    }

    /// A warning about `source`.
    pub fn warning(source: &SpecSource, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, source, message)
    }

    fn new(severity: Severity, source: &SpecSource, message: impl Into<String>) -> Self {
        Self { severity, message: message.into(), labels: Vec::new(), help: None, source: source.clone() }
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

    /// The source this finding points into.
    pub fn source(&self) -> &SpecSource {
        &self.source
    }

    /// The primary span: the first label's, or the start of the file.
    pub fn primary_span(&self) -> SourceSpan {
        self.labels.first().map_or_else(|| SourceSpan::from(0..0), |label| label.span)
    }

    /// The 1-based line and column where the primary span starts, for plain rendering as
    /// `file:line:col`.
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
/// with the source attached.
#[derive(Debug, Clone)]
pub struct SpecErrors {
    pub diagnostics: Vec<Diagnostic>,
    source: SpecSource,
}

impl SpecErrors {
    pub(crate) fn new(source: &SpecSource, diagnostics: Vec<Diagnostic>) -> Self {
        Self { diagnostics, source: source.clone() }
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
        Some(Box::new(self.diagnostics.iter().map(|diagnostic| diagnostic as &dyn miette::Diagnostic)))
    }
}

//! Reading a spec file: its bytes, its checks, and the public key files it names, resolved
//! against its own directory.

use std::path::{Path, PathBuf};

use miette::{Report, miette};
use stowage_spec::Spec;

/// A spec file read and validated.
pub struct LoadedSpec {
    pub path: PathBuf,
    /// SHA-256 of the file's bytes, which a saved plan records.
    pub sha256: String,
    pub spec: Spec,
    /// The spec's warnings (domain lints), which every plan output carries.
    pub warnings: Vec<stowage_plan::PlanDiagnostic>,
    /// The same warnings, with their source spans, for `validate` to draw.
    pub spec_warnings: Vec<stowage_spec::Diagnostic>,
}

/// Read and validate a spec. Every problem is reported at once, with file:line:col.
pub fn load_spec(path: &Path) -> Result<LoadedSpec, Report> {
    let bytes = std::fs::read(path).map_err(|error| {
        miette!(
            help = "pass the path of an environment's spec file (TOML), e.g. `stowage plan dev.toml`",
            "could not read the spec `{}`: {error}",
            path.display()
        )
    })?;
    if stowage_plan::plan_file::looks_like_plan(&bytes) {
        return Err(miette!(
            help = format!(
                "apply a saved plan with `stowage apply {0}`, print it with `stowage show {0}`; validate, plan, drift and verify take the spec (`.toml`) it was made from",
                path.display()
            ),
            "`{}` is a saved plan, not a spec",
            path.display()
        ));
    }
    let text = String::from_utf8(bytes).map_err(|error| {
        miette!(
            help = "save the spec as UTF-8 text",
            "the spec `{}` is not UTF-8 text: invalid byte at offset {}",
            path.display(),
            error.utf8_error().valid_up_to()
        )
    })?;
    let mut validated = stowage_spec::parse(&path.display().to_string(), &text).map_err(Report::new)?;
    // The files the spec names (encryption public keys) are read now, before any request, and
    // resolved against the spec's own directory so that the spec means the same from anywhere.
    let parent = path.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let spec_directory = std::path::absolute(parent).unwrap_or_else(|_| parent.to_owned());
    stowage_spec::load_public_keys(&mut validated.spec, &spec_directory, &|key| std::fs::read_to_string(key))
        .map_err(Report::new)?;
    let warnings = validated
        .warnings
        .iter()
        .map(|warning| {
            let (line, column) = warning.line_col();
            stowage_plan::PlanDiagnostic {
                severity: stowage_plan::Severity::Warning,
                address: None,
                message: format!("{} ({}:{line}:{column})", warning.message(), path.display()),
                hint: warning.help().map(str::to_owned),
            }
        })
        .collect();
    let sha256 = stowage_plan::plan_file::sha256_hex(text.as_bytes());
    Ok(LoadedSpec { path: path.to_owned(), sha256, spec: validated.spec, warnings, spec_warnings: validated.warnings })
}

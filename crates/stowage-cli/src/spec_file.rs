//! Reading a spec file: its bytes, its checks, the bases it `extends` and the public key files
//! it names, each resolved against the directory of the file that names it.

use std::path::{Path, PathBuf};

use miette::{Report, miette};
use stowage_spec::Spec;

/// A spec file read and validated.
pub struct LoadedSpec {
    pub path: PathBuf,
    /// SHA-256 of the file's bytes, which a saved plan records; for a spec that extends bases,
    /// of every file's (see [`spec_sha256`]), so that a change in a base makes a saved plan
    /// stale too.
    pub sha256: String,
    pub spec: Spec,
    /// The spec's warnings (domain lints), which every plan output carries.
    pub warnings: Vec<stowage_plan::PlanDiagnostic>,
    /// The same warnings, with their source spans, for `validate` to draw.
    pub spec_warnings: Vec<stowage_spec::Diagnostic>,
}

/// Read and validate a spec. Every problem is reported at once, with file:line:col.
pub fn load_spec(path: &Path) -> Result<LoadedSpec, Report> {
    let bytes = read_at_most_a_spec(path)?;
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
    let mut validated =
        stowage_spec::parse_with_bases(&path.display().to_string(), &text, &read_base).map_err(Report::new)?;
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
            // The lint's name, as compilers show theirs: what `[lints] allow` takes to accept it.
            let lint = warning.lint().map(|lint| format!(" [{lint}]")).unwrap_or_default();
            stowage_plan::PlanDiagnostic {
                severity: stowage_plan::Severity::Warning,
                address: None,
                message: format!("{} ({}:{line}:{column}){lint}", warning.message(), warning.file_name()),
                hint: warning.help().map(str::to_owned),
            }
        })
        .collect();
    let sha256 = spec_sha256(&validated.spec.source);
    Ok(LoadedSpec { path: path.to_owned(), sha256, spec: validated.spec, warnings, spec_warnings: validated.warnings })
}

/// The SHA-256 a saved plan records of the spec it was made from: of the file's bytes for a
/// spec that extends nothing (as before `extends` existed, so that older plans still match);
/// otherwise of the list of every file's SHA-256, the spec's first, then its bases' in the
/// order `extends` reaches them. The names are left out: the same files moved elsewhere are
/// the same spec.
pub fn spec_sha256(source: &stowage_spec::SpecSource) -> String {
    let files: Vec<(&str, &str)> = source.files().collect();
    match files.as_slice() {
        [(_, text)] => stowage_plan::plan_file::sha256_hex(text.as_bytes()),
        files => {
            let list: String = files
                .iter()
                .map(|(_, text)| format!("{}\n", stowage_plan::plan_file::sha256_hex(text.as_bytes())))
                .collect();
            stowage_plan::plan_file::sha256_hex(list.as_bytes())
        }
    }
}

/// Reads a base spec that `extends` names, for [`stowage_spec::parse_with_bases`]: refused
/// past the size a spec may be, before it is read whole, and when it is not UTF-8 text.
fn read_base(path: &Path) -> std::io::Result<String> {
    use std::io::Read;

    let limit = stowage_spec::MAX_SPEC_BYTES as u64;
    let too_large = |size: u64| {
        std::io::Error::other(format!(
            "it is {size} bytes, more than the {limit} bytes (1 MiB) a spec may be; check that it is the spec you meant"
        ))
    };
    let file = std::fs::File::open(path)?;
    let metadata = file.metadata()?;
    if metadata.is_dir() {
        return Err(std::io::Error::other("it is a directory, not a spec file"));
    }
    if metadata.is_file() && metadata.len() > limit {
        return Err(too_large(metadata.len()));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64));
    }
    if stowage_plan::plan_file::looks_like_plan(&bytes) {
        return Err(std::io::Error::other("it is a saved plan, not a spec"));
    }
    String::from_utf8(bytes).map_err(|error| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("it is not UTF-8 text: invalid byte at offset {}", error.utf8_error().valid_up_to()),
        )
    })
}

/// The spec's bytes, refusing a file larger than a spec may be before reading it: its size
/// when the file says it, or once more than the limit has been read (a pipe, a device).
fn read_at_most_a_spec(path: &Path) -> Result<Vec<u8>, Report> {
    use std::io::Read;

    let unreadable = |error: std::io::Error| {
        miette!(
            help = "pass the path of an environment's spec file (TOML), e.g. `stowage plan dev.toml`",
            "could not read the spec `{}`: {error}",
            path.display()
        )
    };
    let too_large = |size: u64| {
        let (message, help) = stowage_spec::too_large(&path.display().to_string(), size)
            .unwrap_or_else(|| unreachable!("only sizes past the limit are refused"));
        miette!(help = help, "{message}")
    };
    let limit = stowage_spec::MAX_SPEC_BYTES as u64;
    let file = std::fs::File::open(path).map_err(unreadable)?;
    if let Ok(metadata) = file.metadata()
        && metadata.is_file()
        && metadata.len() > limit
    {
        return Err(too_large(metadata.len()));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(unreadable)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use miette::{GraphicalReportHandler, GraphicalTheme};

    use super::*;

    /// `length` bytes of base64 text of pseudo-random bytes, in 76-character lines.
    fn random_base64(length: usize) -> String {
        let mut state: u64 = 0x5107_a6e5_eed5;
        let bytes: Vec<u8> = (0..length)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()[0]
            })
            .collect();
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        let mut text: String =
            encoded.as_bytes().chunks(76).flat_map(|line| [std::str::from_utf8(line).unwrap(), "\n"]).collect();
        text.truncate(length);
        text
    }

    fn render(report: &Report, directory: &Path) -> String {
        let mut rendered = String::new();
        GraphicalReportHandler::new_themed(GraphicalTheme::none())
            // Unwrapped: where a line would wrap depends on the temporary directory's name.
            .with_wrap_lines(false)
            .render_report(&mut rendered, report.as_ref())
            .unwrap();
        rendered.replace(&directory.display().to_string(), "[DIR]")
    }

    /// A file larger than a spec may be is refused on its size, before it is read; nothing
    /// here is timed, but a refusal with one message (not one per line) is what keeps it fast.
    #[test]
    fn a_file_larger_than_a_spec_is_refused_unread() {
        let directory = tempfile::tempdir().unwrap();
        for (name, length) in [("just-over.toml", stowage_spec::MAX_SPEC_BYTES + 1), ("noise.toml", 4_000_000)] {
            let path = directory.path().join(name);
            std::fs::write(&path, random_base64(length)).unwrap();
            let Err(report) = load_spec(&path) else { panic!("{name} was accepted") };
            let rendered = render(&report, directory.path());
            assert!(rendered.contains(&format!("too large for a spec: {length} bytes")), "{rendered}");
            assert!(!rendered.contains("invalid TOML"), "{rendered}");
        }
        let Err(report) = load_spec(&directory.path().join("just-over.toml")) else { unreachable!() };
        insta::assert_snapshot!(render(&report, directory.path()), @r"
          x `[DIR]/just-over.toml` is too large for a spec: 1048577 bytes (1.0 MiB), more than the 1048576 bytes (1 MiB) a spec may be
          help: a spec is a few kilobytes of TOML: check that `[DIR]/just-over.toml` is the spec you meant and not a log, a dump or a binary file
        ");
    }

    /// Just under the limit, noise is parsed and its problems capped.
    #[test]
    fn noise_within_the_limit_shows_the_first_problems() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("noise.toml");
        std::fs::write(&path, random_base64(stowage_spec::MAX_SPEC_BYTES)).unwrap();
        let Err(report) = load_spec(&path) else { panic!("noise was accepted") };
        let rendered = render(&report, directory.path());
        assert_eq!(rendered.matches("invalid TOML").count(), stowage_spec::MAX_SHOWN_DIAGNOSTICS, "{rendered}");
        assert!(rendered.contains("(the first 50 shown)") && rendered.contains(" more problems\n"), "{rendered}");
    }

    /// `examples/staging.toml` over `examples/base.toml`, in a temporary directory.
    fn staging_and_base(directory: &Path) -> PathBuf {
        std::fs::write(directory.join("base.toml"), include_str!("../../../examples/base.toml")).unwrap();
        std::fs::write(directory.join("staging.toml"), include_str!("../../../examples/staging.toml")).unwrap();
        directory.join("staging.toml")
    }

    /// A saved plan's fingerprint of its spec: of the file's bytes alone for a spec that extends
    /// nothing, as plans saved before `extends` recorded it; of every file of a chain, so that
    /// a change in a base makes a saved plan stale.
    #[test]
    fn the_fingerprint_covers_every_file_of_the_chain() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("dev.toml");
        let spec = include_str!("../../../examples/dev.toml");
        std::fs::write(&path, spec).unwrap();
        assert_eq!(load_spec(&path).unwrap().sha256, stowage_plan::plan_file::sha256_hex(spec.as_bytes()));

        let staging = staging_and_base(directory.path());
        let before = load_spec(&staging).unwrap().sha256;
        assert_ne!(
            before,
            stowage_plan::plan_file::sha256_hex(include_str!("../../../examples/staging.toml").as_bytes())
        );
        let base = std::fs::read_to_string(directory.path().join("base.toml")).unwrap();
        std::fs::write(
            directory.path().join("base.toml"),
            base.replace("expire_after_days = 90", "expire_after_days = 91"),
        )
        .unwrap();
        // The base's lifecycle rules are replaced by staging's: the spec means the same, but a
        // base that changed is a reason to plan again.
        let after = load_spec(&staging).unwrap();
        assert_ne!(after.sha256, before);
        std::fs::write(directory.path().join("base.toml"), base).unwrap();
        assert_eq!(load_spec(&staging).unwrap().sha256, before);
    }

    /// A warning about a value the base writes names the base's file, line and column.
    #[test]
    fn a_warning_from_a_base_names_the_base() {
        let directory = tempfile::tempdir().unwrap();
        let loaded = load_spec(&staging_and_base(directory.path())).unwrap();
        let messages: Vec<String> = loaded
            .warnings
            .iter()
            .map(|warning| warning.message.replace(&directory.path().display().to_string(), "[DIR]"))
            .collect();
        assert_eq!(
            messages,
            ["recordings stored in S3 cannot be composed ([DIR]/base.toml:32:15) [recordings-not-composable]"]
        );
    }

    /// A base larger than a spec may be is refused before it is read whole, at the `extends`.
    #[test]
    fn a_base_larger_than_a_spec_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        let staging = staging_and_base(directory.path());
        std::fs::write(directory.path().join("base.toml"), random_base64(stowage_spec::MAX_SPEC_BYTES + 1)).unwrap();
        let Err(report) = load_spec(&staging) else { panic!("a large base was accepted") };
        let rendered = render(&report, directory.path());
        assert!(rendered.contains("cannot read the base spec `[DIR]/base.toml`: it is 1048577 bytes"), "{rendered}");
        assert!(rendered.contains("[[DIR]/staging.toml:6:11]"), "{rendered}");
    }

    #[test]
    fn warnings_carry_their_lint_name_unless_allowed() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("dev.toml");
        let spec = include_str!("../../../examples/dev.toml");
        std::fs::write(&path, spec).unwrap();
        let loaded = load_spec(&path).unwrap();
        let messages: Vec<&str> = loaded.warnings.iter().map(|warning| warning.message.as_str()).collect();
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(messages[0].ends_with(") [recordings-not-composable]"), "{messages:?}");

        std::fs::write(&path, format!("{spec}\n[lints]\nallow = [\"recordings-not-composable\"]\n")).unwrap();
        let loaded = load_spec(&path).unwrap();
        assert!(loaded.warnings.is_empty() && loaded.spec_warnings.is_empty());
    }
}

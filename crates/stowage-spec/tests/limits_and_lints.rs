//! Input of any size is answered at once: a spec larger than `MAX_SPEC_BYTES` is refused
//! unread, and a file of noise shows its first `MAX_SHOWN_DIAGNOSTICS` problems, then how many
//! more. And lints: each warning shows its name, and `[lints] allow` silences it.
//!
//! No test here is timed (the project has none): they check what is reported, which is what
//! keeps the work bounded; `cargo test` itself would notice minutes.

use base64::Engine as _;
use miette::{GraphicalReportHandler, GraphicalTheme};
use stowage_spec::{Lint, MAX_SHOWN_DIAGNOSTICS, MAX_SPEC_BYTES, parse};

fn render(diagnostic: &dyn miette::Diagnostic) -> String {
    let mut rendered = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::none())
        .with_width(100)
        .render_report(&mut rendered, diagnostic)
        .expect("rendering to a string cannot fail");
    rendered
}

/// `length` bytes of base64 text (76-character lines) of pseudo-random bytes, the same on every
/// run: what a file of noise looks like to the parser.
fn random_base64(length: usize, seed: u64) -> String {
    let mut state = seed | 1;
    let bytes: Vec<u8> = (0..length)
        .map(|_| {
            // xorshift64
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut text = String::with_capacity(length + length / 76 + 1);
    for line in encoded.as_bytes().chunks(76) {
        text.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        text.push('\n');
    }
    text.truncate(length);
    text
}

#[test]
fn a_spec_larger_than_the_limit_is_refused_unread() {
    for length in [MAX_SPEC_BYTES + 1, 4 * 1000 * 1000] {
        let text = random_base64(length, 7);
        assert_eq!(text.len(), length);
        let errors = parse("big.toml", &text).expect_err("a spec this large is refused");
        assert_eq!(errors.diagnostics.len(), 1, "one finding, not one per line: {:?}", errors.diagnostics);
        let message = errors.diagnostics[0].message();
        assert!(message.contains("too large for a spec") && message.contains(&length.to_string()), "{message}");
    }
    // Exactly the limit is read (and, being noise, capped).
    let errors = parse("big.toml", &random_base64(MAX_SPEC_BYTES, 7)).expect_err("noise is not a spec");
    assert!(errors.diagnostics[0].message().starts_with("invalid TOML"));
}

#[test]
fn the_size_refusal_says_what_how_large_and_what_to_do() {
    let errors = parse("big.toml", &random_base64(MAX_SPEC_BYTES + 1, 7)).expect_err("too large");
    insta::assert_snapshot!(render(&errors));
}

#[test]
fn a_file_of_noise_shows_its_first_problems_then_how_many_more() {
    let text = random_base64(100 * 1000, 11);
    let errors = parse("noise.toml", &text).expect_err("noise is not a spec");
    let total = errors.diagnostics.len();
    assert!(total > MAX_SHOWN_DIAGNOSTICS * 10, "{total} findings");
    let related: Vec<String> =
        miette::Diagnostic::related(&errors).expect("findings").map(|diagnostic| diagnostic.to_string()).collect();
    assert_eq!(related.len(), MAX_SHOWN_DIAGNOSTICS + 1);
    assert_eq!(
        related.last().map(String::as_str),
        Some(&*format!("and {} more problems", total - MAX_SHOWN_DIAGNOSTICS))
    );
    let rendered = render(&errors);
    assert!(
        rendered.starts_with(&format!("  x `noise.toml` is not a valid spec: {total} errors (the first 50 shown)"))
    );
    assert_eq!(rendered.matches("invalid TOML").count(), MAX_SHOWN_DIAGNOSTICS);
    // Every finding is still there for a program to read.
    assert!(errors.diagnostics.iter().all(|diagnostic| !diagnostic.labels().is_empty()));
}

#[test]
fn a_megabyte_on_one_line_shows_a_window_of_it() {
    let text: String = random_base64(MAX_SPEC_BYTES, 13).lines().collect();
    let errors = parse("one-line.toml", &text).expect_err("noise is not a spec");
    let rendered = render(&errors);
    let longest = rendered.lines().map(str::len).max().unwrap_or_default();
    assert!(longest < 400, "a line of {longest} bytes was printed");
}

const COMPOSED: &str = include_str!("warnings/recordings_stored_and_composed.toml");

#[test]
fn a_warning_shows_its_lint_name() {
    let validated = parse("dev.toml", COMPOSED).expect("valid");
    let lints: Vec<Option<Lint>> = validated.warnings.iter().map(stowage_spec::Diagnostic::lint).collect();
    assert_eq!(lints, [Some(Lint::RecordingsNotComposable)]);
    insta::assert_snapshot!(render(&validated.warnings[0]));
}

#[test]
fn an_allowed_lint_is_not_reported() {
    let allowed = format!("{COMPOSED}\n[lints]\nallow = [\"recordings-not-composable\"]\n");
    let validated = parse("dev.toml", &allowed).expect("valid");
    let rendered: Vec<String> = validated.warnings.iter().map(|warning| render(warning)).collect();
    insta::assert_snapshot!(rendered.join("\n"), @"");
    // Nor among the errors of a spec that does not validate.
    let broken = allowed.replace("name = \"acme-video-dev\"", "name = \"Acme\"");
    let errors = parse("dev.toml", &broken).expect_err("an invalid bucket name");
    assert!(errors.diagnostics.iter().all(|diagnostic| diagnostic.lint().is_none()), "{:?}", errors.diagnostics);
    // An empty list allows nothing.
    let none = format!("{COMPOSED}\n[lints]\nallow = []\n");
    assert_eq!(parse("dev.toml", &none).expect("valid").warnings.len(), 1);
}

#[test]
fn every_lint_is_in_the_schema_and_the_reference() {
    let schema = stowage_spec::json_schema().to_string();
    let reference = include_str!("../../../docs/spec-reference.md");
    for lint in Lint::ALL {
        assert!(schema.contains(&format!("\"{}\"", lint.name())), "{lint} is not in the schema");
        assert!(reference.contains(&format!("`{}`", lint.name())), "{lint} is not in docs/spec-reference.md");
    }
}

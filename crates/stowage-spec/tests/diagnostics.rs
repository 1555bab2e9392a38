//! Every spec under `tests/bad/` fails with the diagnostics in its snapshot; every spec under
//! `tests/warnings/` validates with the warnings in its snapshot. Rendered the way a person
//! sees them: miette's graphical report, ASCII, no colour.

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use miette::{GraphicalReportHandler, GraphicalTheme};

fn render(diagnostic: &dyn miette::Diagnostic) -> String {
    let mut rendered = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::none())
        .with_width(100)
        .render_report(&mut rendered, diagnostic)
        .expect("rendering to a string cannot fail");
    rendered
}

fn cases(directory: &str) -> Vec<PathBuf> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join(directory);
    let mut cases: Vec<PathBuf> = fs::read_dir(&directory)
        .expect("case directory")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "toml"))
        .collect();
    cases.sort();
    cases
}

/// Runs `check` on every case, so one failing snapshot does not hide the others.
fn each_case(directory: &str, check: impl Fn(&str, &str)) {
    let cases = cases(directory);
    assert!(!cases.is_empty(), "no cases in tests/{directory}");
    let failed: Vec<String> = cases
        .iter()
        .filter_map(|path| {
            let name = path.file_stem()?.to_str()?.to_owned();
            let text = fs::read_to_string(path).expect("read case");
            catch_unwind(AssertUnwindSafe(|| check(&name, &text))).is_err().then_some(name)
        })
        .collect();
    assert!(failed.is_empty(), "cases failed: {failed:?}");
}

#[test]
fn bad_specs_report_every_problem() {
    each_case("bad", |name, text| {
        let file_name = format!("{name}.toml");
        let errors = match stowage_spec::parse(&file_name, text) {
            Ok(_) => panic!("{file_name} validated but should not"),
            Err(errors) => errors,
        };
        assert!(errors.errors().count() > 0);
        // Each error shows its kind as its code (`Error: unknown-key`), never an empty one.
        for error in errors.errors() {
            assert!(error.kind().is_some(), "{file_name}: `{}` has no kind", error.message());
        }
        insta::assert_snapshot!(format!("bad__{name}"), render(&errors));
    });
}

#[test]
fn specs_with_warnings_validate() {
    each_case("warnings", |name, text| {
        let file_name = format!("{name}.toml");
        let validated = match stowage_spec::parse(&file_name, text) {
            Ok(validated) => validated,
            Err(errors) => panic!("{file_name} should validate: {:#?}", errors.diagnostics),
        };
        assert!(!validated.warnings.is_empty(), "{file_name} has no warnings");
        let rendered: Vec<String> = validated.warnings.iter().map(|warning| render(warning)).collect();
        insta::assert_snapshot!(format!("warnings__{name}"), rendered.join("\n"));
    });
}

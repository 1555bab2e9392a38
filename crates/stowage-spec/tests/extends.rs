//! `extends = "base.toml"`: a spec written over a shared base. Tables merge key by key, other
//! values (arrays included) replace the base's; chains resolve, cycles are refused; and every
//! diagnostic points at the file and line the value came from, rendered as a person sees it.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use miette::{GraphicalReportHandler, GraphicalTheme};
use stowage_spec::{
    Diagnostic, ErrorKind, SpecErrors, Validated, effective_toml, load_public_keys, parse, parse_with_bases,
};

/// What `staging.toml` and the other specs here are written over.
const BASE: &str = r#"# shared by every environment
[environment]
name = "base"

[aws]
region = "us-east-2"

[twilio]
account_sid = "AC0123456789abcdef0123456789abcdef"

[bucket]
name = "acme-video-base"
versioning = true
tags = { team = "video", env = "base" }

[[bucket.lifecycle]]
prefix = "recordings/"
expire_after_days = 90

[[bucket.lifecycle]]
prefix = "compositions/"
expire_after_days = 365

[uploader]
user_name = "twilio-video-uploader"

[recordings]
store_in_s3 = true
prefix = "recordings/"
"#;

const STAGING: &str = r#"extends = "base.toml"

[environment]
name = "staging"

[bucket]
name = "acme-video-staging"
tags = { env = "staging" }

[[bucket.lifecycle]]
prefix = "recordings/"
expire_after_days = 30

[uploader]
user_name = "twilio-video-uploader-staging"
"#;

/// A file system of `files` by path; every other path is missing. Records each read.
struct Files {
    files: BTreeMap<&'static str, String>,
    reads: std::cell::RefCell<Vec<PathBuf>>,
}

impl Files {
    fn new(files: &[(&'static str, &str)]) -> Self {
        let files = files.iter().map(|(name, text)| (*name, (*text).to_owned())).collect();
        Self { files, reads: std::cell::RefCell::default() }
    }

    fn read(&self, path: &Path) -> io::Result<String> {
        self.reads.borrow_mut().push(path.to_owned());
        let name = path.to_str().expect("UTF-8 paths");
        self.files.get(name).cloned().ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }

    /// Parses the spec `name` of these files.
    fn parse(&self, name: &'static str) -> Result<Validated, SpecErrors> {
        parse_with_bases(name, &self.files[name], &|path| self.read(path))
    }

    fn valid(&self, name: &'static str) -> Validated {
        self.parse(name).unwrap_or_else(|errors| panic!("{name} should validate:\n{}", render(&errors)))
    }

    fn invalid(&self, name: &'static str) -> SpecErrors {
        match self.parse(name) {
            Ok(_) => panic!("{name} validated but should not"),
            Err(errors) => errors,
        }
    }
}

fn render(diagnostic: &dyn miette::Diagnostic) -> String {
    let mut rendered = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::none())
        .with_width(100)
        .render_report(&mut rendered, diagnostic)
        .expect("rendering to a string cannot fail");
    rendered
}

/// Each error as `code file:line:col message`.
fn located(errors: &SpecErrors) -> Vec<String> {
    errors.diagnostics.iter().map(locate).collect()
}

fn locate(diagnostic: &Diagnostic) -> String {
    let (line, column) = diagnostic.line_col();
    let code = diagnostic.code().unwrap_or("no-code");
    format!("{code} {}:{line}:{column} {}", diagnostic.file_name(), diagnostic.message())
}

#[test]
fn tables_merge_deeply_and_the_effective_spec_shows_it() {
    let files = Files::new(&[("staging.toml", STAGING), ("base.toml", BASE)]);
    let validated = files.valid("staging.toml");
    let spec = &validated.spec;
    // Written over: the extending file's values.
    assert_eq!(spec.environment.name.as_str(), "staging");
    assert_eq!(spec.bucket.name.as_str(), "acme-video-staging");
    // Merged: the base's keys the extending file does not write, at every depth.
    assert_eq!(spec.aws.region.as_str(), "us-east-2");
    assert!(spec.bucket.versioning);
    assert_eq!(spec.recordings.as_ref().map(|recordings| recordings.store_in_s3), Some(true));
    let tags: Vec<(&str, &str)> = spec.bucket.tags.iter().map(|(key, value)| (key.as_str(), value.as_str())).collect();
    assert_eq!(tags, [("env", "staging"), ("team", "video")], "an inline table merges with the base's");
    // Each value points at the file it came from.
    let at = |path: &str| {
        let span = spec.source.span_of(path).unwrap_or_else(|| panic!("`{path}` is written"));
        (spec.source.file_of(span.offset()).to_owned(), spec.source.line_col(span.offset()))
    };
    assert_eq!(at("bucket.name"), ("staging.toml".to_owned(), (7, 8)));
    assert_eq!(at("aws.region"), ("base.toml".to_owned(), (6, 10)));
    assert_eq!(at("bucket.tags.team"), ("base.toml".to_owned(), (14, 17)));
    assert_eq!(at("bucket.tags.env"), ("staging.toml".to_owned(), (8, 16)));
    assert_eq!(files.reads.borrow().as_slice(), [PathBuf::from("base.toml")]);

    insta::assert_snapshot!(effective_toml(&spec.source), @r#"
    # The effective spec: these files merged, each over the one before it
    #   base.toml
    #   staging.toml

    [environment]
    name = "staging"

    [aws]
    region = "us-east-2"

    [twilio]
    account_sid = "AC0123456789abcdef0123456789abcdef"

    [bucket]
    name = "acme-video-staging"
    versioning = true

    [[bucket.lifecycle]]
    expire_after_days = 30
    prefix = "recordings/"

    [bucket.tags]
    env = "staging"
    team = "video"

    [uploader]
    user_name = "twilio-video-uploader-staging"

    [recordings]
    prefix = "recordings/"
    store_in_s3 = true
    "#);
}

#[test]
fn an_array_replaces_the_bases_whole() {
    let files = Files::new(&[("staging.toml", STAGING), ("base.toml", BASE)]);
    let spec = files.valid("staging.toml").spec;
    let rules: Vec<(&str, u32)> =
        spec.bucket.lifecycle.iter().map(|rule| (rule.prefix.as_str(), rule.expire_after_days)).collect();
    // Not the base's two rules with one changed: the one rule staging writes.
    assert_eq!(rules, [("recordings/", 30)]);

    let plain_array = "extends = \"base.toml\"\n[drift]\nignore = [\"aws_s3_bucket.main.tags\"]\n";
    let base = "[drift]\nignore = [\"aws_iam_user.uploader.tags\", \"aws_s3_bucket.main.versioning\"]\n";
    let files = Files::new(&[("dev.toml", plain_array), ("base.toml", &format!("{BASE}{base}"))]);
    let spec = files.valid("dev.toml").spec;
    let ignored: Vec<&str> = spec.drift.ignore.iter().map(|rule| rule.as_str()).collect();
    assert_eq!(ignored, ["aws_s3_bucket.main.tags"]);
}

#[test]
fn a_value_of_the_extending_file_replaces_the_bases_even_of_another_type() {
    // A table in the base, a string over it: the string wins, and its type is what is checked.
    let over = "extends = \"base.toml\"\n[bucket]\nname = \"acme-video-dev\"\ntags = \"none\"\n";
    let files = Files::new(&[("dev.toml", over), ("base.toml", BASE)]);
    let errors = files.invalid("dev.toml");
    assert_eq!(
        located(&errors),
        ["wrong-type dev.toml:4:8 wrong type for `bucket.tags`: expected a table, found a string"]
    );
    // A scalar over a scalar.
    let over = "extends = \"base.toml\"\n[aws]\nregion = \"eu-west-1\"\n";
    let files = Files::new(&[("dev.toml", over), ("base.toml", BASE)]);
    let spec = files.valid("dev.toml").spec;
    assert_eq!(spec.aws.region.as_str(), "eu-west-1");
    assert_eq!(spec.bucket.name.as_str(), "acme-video-base");
}

/// `envs/dev.toml` extends `../shared/mid.toml`, which extends `base.toml` beside it: each path
/// relative to the file that writes it.
#[test]
fn a_chain_of_three_resolves_each_path_against_its_own_file() {
    let dev = "extends = \"../shared/mid.toml\"\n[environment]\nname = \"dev\"\n";
    let mid = "extends = \"base.toml\"\n[aws]\nregion = \"eu-west-1\"\n[bucket]\nname = \"acme-video-mid\"\n";
    let files = Files::new(&[("envs/dev.toml", dev), ("shared/mid.toml", mid), ("shared/base.toml", BASE)]);
    let spec = files.valid("envs/dev.toml").spec;
    assert_eq!(spec.environment.name.as_str(), "dev");
    assert_eq!(spec.aws.region.as_str(), "eu-west-1");
    assert_eq!(spec.bucket.name.as_str(), "acme-video-mid");
    assert_eq!(spec.bucket.lifecycle.len(), 2, "from the base, through the middle file");
    let names: Vec<&str> = spec.source.files().map(|(name, _)| name).collect();
    assert_eq!(names, ["envs/dev.toml", "shared/mid.toml", "shared/base.toml"]);
    assert_eq!(
        spec.source.directory_of(spec.source.span_of("bucket.versioning").unwrap().offset()),
        Path::new("../shared")
    );

    let effective = effective_toml(&spec.source);
    insta::assert_snapshot!(effective.lines().take(5).collect::<Vec<_>>().join("\n"), @r#"
    # The effective spec: these files merged, each over the one before it
    #   shared/base.toml
    #   shared/mid.toml
    #   envs/dev.toml
    "#);
    // The effective spec is a spec of its own, without `extends`: the same one.
    let again = parse("effective.toml", &effective).unwrap_or_else(|errors| panic!("{}", render(&errors))).spec;
    assert_eq!(format!("{:?}", again.bucket), format!("{:?}", spec.bucket));
    assert_eq!(
        (&again.environment, &again.aws, &again.twilio, &again.uploader, &again.recordings),
        (&spec.environment, &spec.aws, &spec.twilio, &spec.uploader, &spec.recordings)
    );
}

#[test]
fn a_cycle_is_refused_at_the_extends_that_closes_it() {
    let dev = "extends = \"base.toml\"\n[environment]\nname = \"dev\"\n";
    let base = format!("extends = \"./dev.toml\"\n{BASE}");
    let files = Files::new(&[("dev.toml", dev), ("base.toml", &base)]);
    let errors = files.invalid("dev.toml");
    assert_eq!(
        located(&errors),
        ["extends base.toml:1:11 `extends` makes a cycle: `dev.toml -> base.toml -> dev.toml`"]
    );
    insta::assert_snapshot!(render(&errors), @r#"
      x `dev.toml` is not a valid spec: 1 error

    Error: extends

      x `extends` makes a cycle: `dev.toml -> base.toml -> dev.toml`
       ,-[base.toml:1:11]
     1 | extends = "./dev.toml"
       :           ^^^^^^|^^^^^
       :                 `-- `dev.toml` again
     2 | # shared by every environment
       `----
      help: a spec cannot extend itself, directly or through its bases: remove this `extends`, or move
            what the files share into a base that extends nothing
    "#);

    let itself = Files::new(&[("dev.toml", "extends = \"dev.toml\"\n")]);
    assert_eq!(
        located(&itself.invalid("dev.toml")),
        ["extends dev.toml:1:11 `extends` makes a cycle: `dev.toml -> dev.toml`"]
    );
}

#[test]
fn a_missing_base_is_reported_at_the_extends_with_the_path_it_resolved_to() {
    let files = Files::new(&[("envs/dev.toml", "extends = \"../base.toml\"\n[environment]\nname = \"dev\"\n")]);
    let errors = files.invalid("envs/dev.toml");
    insta::assert_snapshot!(render(&errors), @r#"
      x `envs/dev.toml` is not a valid spec: 1 error

    Error: extends

      x cannot read the base spec `base.toml`: entity not found
       ,-[envs/dev.toml:1:11]
     1 | extends = "../base.toml"
       :           ^^^^^^^|^^^^^^
       :                  `-- resolved to `base.toml`
     2 | [environment]
       `----
      help: `extends` is relative to the directory of `envs/dev.toml`: correct the path, or write the
            base spec at `base.toml`
    "#);
}

#[test]
fn an_invalid_value_from_the_base_points_into_the_base() {
    let base = BASE.replace("us-east-2", "us-east2");
    let files = Files::new(&[("staging.toml", STAGING), ("base.toml", &base)]);
    let errors = files.invalid("staging.toml");
    assert_eq!(located(&errors), ["invalid-value base.toml:6:10 `us-east2` is not an AWS region code"]);
    insta::assert_snapshot!(render(&errors), @r#"
      x `staging.toml` is not a valid spec: 1 error

    Error: invalid-value

      x `us-east2` is not an AWS region code
       ,-[base.toml:6:10]
     5 | [aws]
     6 | region = "us-east2"
       :          ^^^^^^^^^^
     7 | 
       `----
      help: did you mean `us-east-2`?
    "#);
}

#[test]
fn an_invalid_value_of_the_extending_file_points_into_it() {
    let staging = STAGING.replace("acme-video-staging", "Acme_Staging");
    let files = Files::new(&[("staging.toml", &staging), ("base.toml", BASE)]);
    let errors = files.invalid("staging.toml");
    assert_eq!(errors.diagnostics.len(), 1, "{}", render(&errors));
    assert_eq!(errors.diagnostics[0].file_name(), "staging.toml");
    assert_eq!(errors.diagnostics[0].line_col(), (7, 8));
    insta::assert_snapshot!(render(&errors), @r#"
      x `staging.toml` is not a valid spec: 1 error

    Error: invalid-value

      x bucket name `Acme_Staging` contains uppercase letters
       ,-[staging.toml:7:8]
     6 | [bucket]
     7 | name = "Acme_Staging"
       :        ^^^^^^^^^^^^^^
     8 | tags = { env = "staging" }
       `----
    "#);
}

/// Errors in both files of one spec: each in its file, the spec's first.
#[test]
fn errors_in_both_files_are_each_located_in_their_own() {
    let base = BASE.replace("versioning = true", "versioning = \"yes\"\nowner = \"x\"");
    let staging = STAGING.replace("expire_after_days = 30", "expire_after_days = 0");
    let files = Files::new(&[("staging.toml", &staging), ("base.toml", &base)]);
    let errors = files.invalid("staging.toml");
    assert_eq!(
        located(&errors),
        [
            "invalid-value staging.toml:12:21 `bucket.lifecycle[0].expire_after_days` must be at least 1, found 0",
            "wrong-type base.toml:13:14 wrong type for `bucket.versioning`: expected a boolean, found a string",
            "unknown-key base.toml:14:1 unknown key `owner` in `[bucket]`",
        ]
    );
    insta::assert_snapshot!(render(&errors));
}

#[test]
fn an_unknown_key_in_the_base_points_into_the_base() {
    let base = BASE.replace("[twilio]", "[twillio]");
    let files = Files::new(&[("staging.toml", STAGING), ("base.toml", &base)]);
    let errors = files.invalid("staging.toml");
    assert_eq!(located(&errors)[0], "unknown-key base.toml:8:2 unknown section `[twillio]`");
    insta::assert_snapshot!(render(&errors));
}

#[test]
fn a_syntax_error_in_the_base_points_into_the_base() {
    let base = BASE.replace("name = \"acme-video-base\"", "name = \"acme-video-base");
    let files = Files::new(&[("staging.toml", STAGING), ("base.toml", &base)]);
    let errors = files.invalid("staging.toml");
    assert!(errors.diagnostics.iter().all(|diagnostic| diagnostic.file_name() == "base.toml"), "{}", render(&errors));
    assert!(errors.diagnostics.iter().all(|diagnostic| diagnostic.kind() == Some(ErrorKind::InvalidToml)));
    insta::assert_snapshot!(render(&errors));
}

#[test]
fn extends_must_be_a_string() {
    let files = Files::new(&[("dev.toml", "extends = [\"base.toml\"]\n"), ("base.toml", BASE)]);
    let errors = files.invalid("dev.toml");
    assert_eq!(
        located(&errors),
        ["wrong-type dev.toml:1:11 wrong type for `extends`: expected a string, found an array"]
    );
    assert!(files.reads.borrow().is_empty());
}

#[test]
fn a_chain_deeper_than_the_limit_is_refused() {
    let names: Vec<String> = (0..=stowage_spec::MAX_EXTENDS_DEPTH + 1).map(|number| format!("{number}.toml")).collect();
    let texts: Vec<String> = (0..names.len()).map(|number| format!("extends = \"{}.toml\"\n", number + 1)).collect();
    let leaked: Vec<(&'static str, &str)> =
        names.iter().zip(&texts).map(|(name, text)| (&*name.clone().leak(), text.as_str())).collect();
    let files = Files::new(&leaked);
    let errors = files.invalid("0.toml");
    assert_eq!(located(&errors), ["extends 16.toml:1:11 `extends` goes more than 16 bases deep"]);
    assert_eq!(files.reads.borrow().len(), stowage_spec::MAX_EXTENDS_DEPTH);
}

#[test]
fn a_too_large_base_is_refused_at_the_extends() {
    let large = format!("# {}\n", "x".repeat(stowage_spec::MAX_SPEC_BYTES));
    let files = Files::new(&[("dev.toml", "extends = \"big.toml\"\n"), ("big.toml", &large)]);
    let errors = files.invalid("dev.toml");
    assert_eq!(errors.diagnostics[0].kind(), Some(ErrorKind::TooLarge));
    assert_eq!(errors.diagnostics[0].file_name(), "dev.toml");
}

#[test]
fn plain_parse_reads_no_base() {
    let errors = parse("staging.toml", STAGING).expect_err("a base is needed");
    assert_eq!(
        located(&errors),
        ["extends staging.toml:1:11 cannot read the base spec `base.toml`: this caller reads no base specs"]
    );
}

/// A relative `encryption_public_key` written in a base is relative to the base's directory.
#[test]
fn a_public_key_path_from_a_base_is_relative_to_the_base() {
    let base = format!("{BASE}encryption_public_key = \"keys/recordings.pem\"\n");
    let files = Files::new(&[("envs/dev.toml", "extends = \"../shared/base.toml\"\n"), ("shared/base.toml", &base)]);
    let mut spec = files.valid("envs/dev.toml").spec;
    let reads = std::cell::RefCell::new(Vec::new());
    let errors = load_public_keys(&mut spec, Path::new("/srv/envs"), &|path| {
        reads.borrow_mut().push(path.to_owned());
        Err(io::Error::from(io::ErrorKind::NotFound))
    })
    .expect_err("no key file");
    assert_eq!(reads.borrow().as_slice(), [PathBuf::from("/srv/envs/../shared/keys/recordings.pem")]);
    assert_eq!(errors.diagnostics[0].file_name(), "shared/base.toml");
    let help = errors.diagnostics[0].help().unwrap_or_default();
    assert!(help.starts_with("the path is relative to the directory of `shared/base.toml`"), "{help}");
}

#[test]
fn a_spec_without_extends_is_one_file() {
    let files = Files::new(&[("base.toml", BASE)]);
    let spec = files.valid("base.toml").spec;
    assert_eq!(spec.source.files().collect::<Vec<_>>(), [("base.toml", BASE)]);
    assert_eq!(spec.source.text(), BASE);
    assert!(files.reads.borrow().is_empty());
}

/// Two hundred unclosed `[`: the parser's depth limit once, and its complaint about the `[`
/// left open once, not once per level.
#[test]
fn repeated_findings_are_shown_once() {
    let text = format!("a = {}\n", "[".repeat(200));
    let errors = parse("deep.toml", &text).expect_err("invalid");
    assert_eq!(
        located(&errors),
        [
            "invalid-toml deep.toml:1:85 invalid TOML: arrays or inline tables nested more than 80 deep",
            "invalid-toml deep.toml:1:205 invalid TOML: unclosed array, expected `]`",
        ]
    );
}

/// `examples/staging.toml` over `examples/base.toml`, read from the repository as the CLI
/// reads them.
#[test]
fn the_staging_example_extends_the_base_example() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let text = std::fs::read_to_string(examples.join("staging.toml")).expect("examples/staging.toml");
    let validated = parse_with_bases("examples/staging.toml", &text, &|path| {
        let relative = path.strip_prefix("examples").expect("a base beside the example");
        std::fs::read_to_string(examples.join(relative))
    })
    .unwrap_or_else(|errors| panic!("{}", render(&errors)));
    let spec = &validated.spec;
    assert_eq!(spec.environment.name.as_str(), "staging");
    assert_eq!(spec.bucket.name.as_str(), "acme-video-staging");
    assert_eq!(spec.aws.region.as_str(), "us-east-2", "from the base");
    let tags: Vec<(&str, &str)> = spec.bucket.tags.iter().map(|(key, value)| (key.as_str(), value.as_str())).collect();
    assert_eq!(tags, [("env", "staging"), ("team", "video")]);
    let rules: Vec<(&str, u32)> =
        spec.bucket.lifecycle.iter().map(|rule| (rule.prefix.as_str(), rule.expire_after_days)).collect();
    assert_eq!(rules, [("recordings/", 30), ("compositions/", 365)]);
    let names: Vec<&str> = spec.source.files().map(|(name, _)| name).collect();
    assert_eq!(names, ["examples/staging.toml", "examples/base.toml"]);
    // The base stores recordings in S3, which the lint is about: the warning points there.
    let warnings: Vec<String> = validated.warnings.iter().map(locate).collect();
    assert_eq!(
        warnings,
        ["recordings-not-composable examples/base.toml:32:15 recordings stored in S3 cannot be composed"]
    );
}

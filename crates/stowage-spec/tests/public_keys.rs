//! `encryption_public_key`: the spec names a file, `load_public_keys` reads it through the
//! function it is given and checks it, and every problem points at the value in the spec.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use miette::{GraphicalReportHandler, GraphicalTheme};
use stowage_spec::{Spec, load_public_keys, parse};

const RSA: &str = include_str!("fixtures/rsa_public_key.pem");
const RSA_PRIVATE: &str = include_str!("fixtures/rsa_private_key.pem");
const RSA_PKCS1: &str = include_str!("fixtures/rsa_public_key_pkcs1.pem");
const EC: &str = include_str!("fixtures/ec_public_key.pem");
/// `openssl pkey -pubin -in fixtures/rsa_public_key.pem -outform DER | sha256sum`
const RSA_SHA256: &str = "a76dbd6d4063e7d4ab500c4677d489c00e893ce5f7bfee1081ecc42e98c6828b";

const SPEC_DIRECTORY: &str = "/srv/specs";

fn spec_text(recordings_key: &str, compositions_key: &str) -> String {
    format!(
        r#"[environment]
name = "dev"

[aws]
region = "us-east-2"

[twilio]
account_sid = "AC0123456789abcdef0123456789abcdef"

[bucket]
name = "acme-video-dev"

[uploader]
user_name = "twilio-video-uploader-dev"

[recordings]
store_in_s3 = true
encryption_public_key = "{recordings_key}"

[compositions]
store_in_s3 = true
encryption_public_key = "{compositions_key}"
"#
    )
}

fn parsed(text: &str) -> Spec {
    match parse("dev.toml", text) {
        Ok(validated) => validated.spec,
        Err(errors) => panic!("the spec should validate: {:#?}", errors.diagnostics),
    }
}

/// A file system of `files`, by absolute path; every other path is missing. Records each read.
struct Files {
    files: BTreeMap<PathBuf, io::Result<String>>,
    reads: std::cell::RefCell<Vec<PathBuf>>,
}

impl Files {
    fn new(files: impl IntoIterator<Item = (&'static str, io::Result<String>)>) -> Files {
        let files = files.into_iter().map(|(path, content)| (Path::new(SPEC_DIRECTORY).join(path), content)).collect();
        Files { files, reads: std::cell::RefCell::default() }
    }

    fn read(&self, path: &Path) -> io::Result<String> {
        self.reads.borrow_mut().push(path.to_owned());
        match self.files.get(path) {
            Some(Ok(text)) => Ok(text.clone()),
            Some(Err(error)) => Err(match error.raw_os_error() {
                Some(code) => io::Error::from_raw_os_error(code),
                None => io::Error::new(error.kind(), error.to_string()),
            }),
            None => Err(no_such_file()),
        }
    }
}

/// ENOENT, as the OS reports it.
fn no_such_file() -> io::Error {
    io::Error::from_raw_os_error(2)
}

fn render(diagnostic: &dyn miette::Diagnostic) -> String {
    let mut rendered = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::none())
        .with_width(100)
        .render_report(&mut rendered, diagnostic)
        .expect("rendering to a string cannot fail");
    rendered
}

#[test]
fn parse_keeps_the_path_and_loading_fills_in_the_checked_key() {
    let mut spec = parsed(&spec_text("keys/recordings.pem", "/etc/stowage/compositions.pem"));
    let recordings_key = spec.recordings.as_ref().and_then(|storage| storage.encryption_public_key.clone());
    let recordings_key = recordings_key.expect("recordings name a key");
    assert_eq!((recordings_key.path.as_str(), recordings_key.pem), ("keys/recordings.pem", None));

    // Compositions' key is wrapped differently: the same key, the same normal form.
    let files = Files::new([("keys/recordings.pem", Ok(RSA.to_owned()))]);
    let one_line = RSA.replace('\n', "");
    let read = |path: &Path| {
        if path == Path::new("/etc/stowage/compositions.pem") { Ok(one_line.clone()) } else { files.read(path) }
    };
    load_public_keys(&mut spec, Path::new(SPEC_DIRECTORY), &read).expect("both keys load");

    for storage in [&spec.recordings, &spec.compositions] {
        let key = storage.as_ref().and_then(|storage| storage.encryption_public_key.as_ref()).expect("a key");
        let pem = key.pem.as_ref().expect("loaded");
        assert_eq!((pem.pem(), pem.sha256(), pem.modulus_bits()), (RSA, RSA_SHA256, 2048));
    }
    assert_eq!(*files.reads.borrow(), [Path::new("/srv/specs/keys/recordings.pem")]);
}

#[test]
fn a_spec_without_keys_reads_nothing() {
    let text = spec_text("x", "y")
        .replace("encryption_public_key = \"x\"\n", "")
        .replace("encryption_public_key = \"y\"\n", "");
    let mut spec = parsed(&text);
    let files = Files::new([]);
    load_public_keys(&mut spec, Path::new(SPEC_DIRECTORY), &|path| files.read(path)).expect("nothing to load");
    assert!(files.reads.borrow().is_empty());
}

#[test]
fn every_unusable_file_is_reported_at_its_spec_value_and_nothing_is_loaded() {
    let cases: [(&str, &str, io::Result<String>); 6] = [
        ("missing", "keys/missing.pem", Err(no_such_file())),
        // EACCES
        ("unreadable", "keys/locked.pem", Err(io::Error::from_raw_os_error(13))),
        (
            "binary",
            "keys/key.der",
            Err(io::Error::new(io::ErrorKind::InvalidData, "stream did not contain valid UTF-8")),
        ),
        ("private_key", "keys/private.pem", Ok(RSA_PRIVATE.to_owned())),
        ("pkcs1", "keys/pkcs1.pem", Ok(RSA_PKCS1.to_owned())),
        ("ec", "keys/ec.pem", Ok(EC.to_owned())),
    ];
    for (name, path, content) in cases {
        // The recordings key is fine; the compositions key is the broken one.
        let mut spec = parsed(&spec_text("keys/recordings.pem", path));
        let before = format!("{spec:?}");
        let files = Files::new([("keys/recordings.pem", Ok(RSA.to_owned())), (path, content)]);
        let errors = load_public_keys(&mut spec, Path::new(SPEC_DIRECTORY), &|path| files.read(path)).expect_err(name);
        assert_eq!(errors.errors().count(), 1, "{name}");
        assert_eq!(errors.diagnostics[0].line_col(), (22, 25), "{name}: points at the compositions value");
        assert_eq!(format!("{spec:?}"), before, "{name}: the spec is unchanged");
        insta::assert_snapshot!(format!("load__{name}"), render(&errors));
    }
}

#[test]
fn both_broken_keys_are_reported_at_once() {
    let mut spec = parsed(&spec_text("keys/recordings.pem", "keys/compositions.pem"));
    let files = Files::new([("keys/compositions.pem", Ok(EC.to_owned()))]);
    let errors =
        load_public_keys(&mut spec, Path::new(SPEC_DIRECTORY), &|path| files.read(path)).expect_err("both broken");
    let messages: Vec<&str> = errors.diagnostics.iter().map(|diagnostic| diagnostic.message()).collect();
    assert_eq!(
        messages,
        [
            "cannot read `keys/recordings.pem`, the recordings encryption public key: No such file or directory (os error 2)",
            "`keys/compositions.pem` cannot encrypt compositions: it is not an RSA key but an EC key",
        ]
    );
}

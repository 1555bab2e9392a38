//! Loading the encryption public keys a validated spec names. The crate does no IO: the caller
//! hands in the function that reads a file, and gets back diagnostics that point at the
//! `encryption_public_key` value in the spec, like every other spec problem.

use std::io;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, ErrorKind, SpecErrors};
use crate::source::KeyPath;
use crate::spec::Spec;
use crate::values::{InvalidValue, PublicKeyPem, check_public_key_pem};

/// Reads and checks the PEM file of every `encryption_public_key` in `spec`, resolving each path
/// against the directory of the file that writes it: `spec_directory` for the spec itself, the
/// base's own directory (found from `spec_directory`) for a value that came from a base the
/// spec extends. An absolute path stays as it is. Fills in
/// [`EncryptionPublicKey::pem`](crate::EncryptionPublicKey::pem).
///
/// # Errors
/// Every file that cannot be read or is not an RSA public key, each pointing at the spec value
/// that names it. `spec` is unchanged then.
pub fn load_public_keys(
    spec: &mut Spec,
    spec_directory: &Path,
    read: &dyn Fn(&Path) -> io::Result<String>,
) -> Result<(), SpecErrors> {
    let mut diagnostics = Vec::new();
    let mut loaded: Vec<(&'static str, PublicKeyPem)> = Vec::new();
    for (name, storage) in [("recordings", &spec.recordings), ("compositions", &spec.compositions)] {
        let Some(key) = storage.as_ref().and_then(|storage| storage.encryption_public_key.as_ref()) else {
            continue;
        };
        // Relative to the directory of the file that names it: the spec's, or a base's.
        let span = spec.source.nearest_span(&KeyPath::root().key(name).key("encryption_public_key"));
        let directory = spec_directory.join(spec.source.directory_of(span.offset()));
        let file = KeyFile { spec, name, path: &key.path, resolved: directory.join(&key.path) };
        match read(&file.resolved) {
            Ok(text) => match check_public_key_pem(&text) {
                Ok(pem) => loaded.push((name, pem)),
                Err(error) => diagnostics.push(file.error(error.to_string(), error.hint())),
            },
            Err(error) => diagnostics.push(file.unreadable(&error)),
        }
    }
    if !diagnostics.is_empty() {
        return Err(SpecErrors::new(&spec.source, diagnostics));
    }
    for (name, pem) in loaded {
        let storage = if name == "recordings" { spec.recordings.as_mut() } else { spec.compositions.as_mut() };
        if let Some(key) = storage.and_then(|storage| storage.encryption_public_key.as_mut()) {
            key.pem = Some(pem);
        }
    }
    Ok(())
}

/// One `encryption_public_key`: where the spec names it and which file that is.
struct KeyFile<'a> {
    spec: &'a Spec,
    /// `recordings` or `compositions`.
    name: &'static str,
    /// As written in the spec.
    path: &'a str,
    resolved: PathBuf,
}

impl KeyFile<'_> {
    /// The directory the path is resolved against, in words.
    fn relative_to(&self) -> String {
        let span = self.spec.source.nearest_span(&KeyPath::root().key(self.name).key("encryption_public_key"));
        if self.spec.source.directory_of(span.offset()).as_os_str().is_empty() {
            "the spec's directory".to_owned()
        } else {
            format!("the directory of `{}`, the base that names it", self.spec.source.file_of(span.offset()))
        }
    }

    fn error(&self, problem: String, help: Option<String>) -> Diagnostic {
        let span = self.spec.source.nearest_span(&KeyPath::root().key(self.name).key("encryption_public_key"));
        Diagnostic::error_of(
            ErrorKind::PublicKey,
            &self.spec.source,
            format!("`{}` cannot encrypt {}: {problem}", self.path, self.name),
        )
        .with_label(span, Some(format!("read from `{}`", self.resolved.display())))
        .with_optional_help(help)
    }

    fn unreadable(&self, error: &io::Error) -> Diagnostic {
        if error.kind() == io::ErrorKind::InvalidData {
            // `read_to_string` of a binary file: most likely the key in DER.
            return self.error(
                "it is not text (a DER-encoded key?)".to_owned(),
                Some("convert it to PEM: `openssl pkey -pubin -inform DER -in key.der -out public.pem`".to_owned()),
            );
        }
        let help = if error.kind() == io::ErrorKind::NotFound {
            format!(
                "the path is relative to {}; correct it, or write the public key there with `openssl rsa -in \
                 key.pem -pubout -out {}`",
                self.relative_to(),
                self.resolved.display()
            )
        } else {
            "check that the file exists and that you may read it".to_owned()
        };
        let span = self.spec.source.nearest_span(&KeyPath::root().key(self.name).key("encryption_public_key"));
        Diagnostic::error_of(
            ErrorKind::PublicKey,
            &self.spec.source,
            format!("cannot read `{}`, the {} encryption public key: {error}", self.path, self.name),
        )
        .with_label(span, Some(format!("resolved to `{}`", self.resolved.display())))
        .with_help(help)
    }
}

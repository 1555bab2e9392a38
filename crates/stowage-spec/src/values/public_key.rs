//! Encryption public keys: the PEM text Twilio encrypts recordings and compositions with,
//! checked from the text alone (the spec crate does no IO; the caller reads the file).
//!
//! Twilio takes an RSA public key in the SubjectPublicKeyInfo form (`BEGIN PUBLIC KEY`). The
//! checker refuses everything else with a reason and a way out, and above all refuses private
//! keys: a file named in a checked-in spec is one `git add` away from being shared.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::InvalidValue;

const BEGIN: &str = "-----BEGIN ";
const DASHES: &str = "-----";
const PUBLIC_KEY_LABEL: &str = "PUBLIC KEY";

/// How to make the one acceptable kind of file from an RSA private key.
const DERIVE_PUBLIC_HALF: &str = "`openssl rsa -in key.pem -pubout -out public.pem`";

/// An RSA public key, checked and normalised: one `BEGIN PUBLIC KEY` block, the base64 body
/// re-encoded in 64-column lines. The text is what Twilio receives; the fingerprint is what
/// the state remembers, since Twilio never returns the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKeyPem {
    pem: String,
    sha256: String,
    modulus_bits: usize,
}

impl PublicKeyPem {
    /// The normalised PEM text, ending with a newline.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// Lowercase hexadecimal SHA-256 of the key's DER encoding: the same key gives the same
    /// fingerprint however its PEM is wrapped.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The size of the RSA modulus in bits (2048 for `openssl genrsa 2048`).
    pub fn modulus_bits(&self) -> usize {
        self.modulus_bits
    }
}

/// Why a text is not an RSA public key Twilio can encrypt with. The message completes "the
/// file …" in a caller's sentence ("`keys/r.pem` cannot encrypt recordings: it is …").
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PublicKeyPemError {
    #[error("it is empty")]
    Empty,
    #[error("it is a private key ({format})")]
    PrivateKey { format: String },
    #[error(
        "it is a PKCS#1 RSA public key (`BEGIN RSA PUBLIC KEY`), not the SubjectPublicKeyInfo form (`BEGIN PUBLIC KEY`) Twilio takes"
    )]
    Pkcs1PublicKey,
    #[error("it is a certificate, not a public key")]
    Certificate,
    #[error("it is an OpenSSH public key (`ssh-rsa …`), not PEM")]
    OpenSshPublicKey,
    #[error("it is not an RSA key but {algorithm}")]
    NotRsa { algorithm: String },
    #[error("it is a PEM `{label}`, not a `PUBLIC KEY`")]
    OtherPem { label: String },
    #[error("it holds {count} PEM blocks, one public key is expected")]
    SeveralBlocks { count: usize },
    #[error("it is not PEM text: there is no `-----BEGIN PUBLIC KEY-----` line")]
    NotPem,
    #[error("its `-----BEGIN PUBLIC KEY-----` has no matching `-----END PUBLIC KEY-----`")]
    Unterminated,
    #[error("its PEM body is not valid base64")]
    NotBase64,
    #[error("its content is not a DER-encoded RSA SubjectPublicKeyInfo")]
    NotSubjectPublicKeyInfo,
}

impl InvalidValue for PublicKeyPemError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            Self::PrivateKey { format } if format.contains("OpenSSH") => format!(
                "a private key must never be shared with anyone, Twilio included; keep it where the files are \
                 decrypted and give Twilio its public half: `ssh-keygen -e -m PKCS8 -f key > public.pem`; {COMPROMISED}"
            ),
            Self::PrivateKey { .. } => format!(
                "a private key must never be shared with anyone, Twilio included; keep it where the files are \
                 decrypted and give Twilio its public half: {DERIVE_PUBLIC_HALF}; {COMPROMISED}"
            ),
            Self::Pkcs1PublicKey => {
                "convert it: `openssl rsa -RSAPublicKey_in -in k.pem -pubout -out public.pem`".to_owned()
            }
            Self::Certificate => {
                "give Twilio the certificate's public key: `openssl x509 -in cert.pem -pubkey -noout > public.pem`"
                    .to_owned()
            }
            Self::OpenSshPublicKey => "convert it: `ssh-keygen -e -m PKCS8 -f key.pub > public.pem`".to_owned(),
            Self::NotRsa { .. } => format!(
                "Twilio encrypts with RSA keys only: make a key pair with `openssl genrsa -out key.pem 2048` and \
                 give Twilio its public half: {DERIVE_PUBLIC_HALF}"
            ),
            Self::SeveralBlocks { .. } => "keep one public key per file".to_owned(),
            Self::Empty | Self::OtherPem { .. } | Self::NotPem | Self::Unterminated => format!(
                "expected an RSA public key starting with `-----BEGIN PUBLIC KEY-----`, as {DERIVE_PUBLIC_HALF} \
                 writes it"
            ),
            Self::NotBase64 | Self::NotSubjectPublicKeyInfo => {
                format!("the file looks damaged: write the public key again with {DERIVE_PUBLIC_HALF}")
            }
        })
    }
}

const COMPROMISED: &str = "if this key was ever committed or sent anywhere, make a new key pair";

/// Checks that `text` is an RSA public key in PEM (`-----BEGIN PUBLIC KEY-----`, an X.509
/// SubjectPublicKeyInfo with the rsaEncryption algorithm) and normalises it. Text around the
/// block (RFC 7468's explanatory text) is ignored; whitespace inside the body does not matter.
///
/// # Errors
/// What the text is instead, private keys first: whatever else is wrong with a file, holding a
/// private key is what its owner must hear about.
pub fn check_public_key_pem(text: &str) -> Result<PublicKeyPem, PublicKeyPemError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(PublicKeyPemError::Empty);
    }
    if let Some(format) = private_key_format(text) {
        return Err(PublicKeyPemError::PrivateKey { format });
    }
    let labels = begin_labels(text);
    let label = match labels.as_slice() {
        [] => return Err(not_pem(text)),
        [label] => *label,
        several => return Err(PublicKeyPemError::SeveralBlocks { count: several.len() }),
    };
    match label {
        PUBLIC_KEY_LABEL => {}
        "RSA PUBLIC KEY" => return Err(PublicKeyPemError::Pkcs1PublicKey),
        "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE" => return Err(PublicKeyPemError::Certificate),
        other => return Err(PublicKeyPemError::OtherPem { label: other.to_owned() }),
    }
    let begin = format!("{BEGIN}{PUBLIC_KEY_LABEL}{DASHES}");
    let end = format!("-----END {PUBLIC_KEY_LABEL}{DASHES}");
    let after_begin = &text[text.find(&begin).ok_or(PublicKeyPemError::NotPem)? + begin.len()..];
    let body = &after_begin[..after_begin.find(&end).ok_or(PublicKeyPemError::Unterminated)?];
    let body: String = body.chars().filter(|character| !character.is_whitespace()).collect();
    let der = STANDARD.decode(body).map_err(|_| PublicKeyPemError::NotBase64)?;
    let modulus_bits = rsa_modulus_bits(&der)?;
    Ok(PublicKeyPem { pem: to_pem(&der), sha256: sha256_hex(&der), modulus_bits })
}

/// The kind of private key `text` holds, if it holds one anywhere.
fn private_key_format(text: &str) -> Option<String> {
    if text.starts_with("PuTTY-User-Key-File") {
        return Some("PuTTY `.ppk`".to_owned());
    }
    let Some(label) = begin_labels(text).into_iter().find(|label| label.ends_with("PRIVATE KEY")) else {
        // Armour too mangled to read a label from is still no place for a private key.
        return text.contains("PRIVATE KEY-----").then(|| "a `PRIVATE KEY` PEM block".to_owned());
    };
    Some(match label {
        "PRIVATE KEY" => "PKCS#8, `BEGIN PRIVATE KEY`".to_owned(),
        "ENCRYPTED PRIVATE KEY" => "encrypted PKCS#8, `BEGIN ENCRYPTED PRIVATE KEY`".to_owned(),
        "RSA PRIVATE KEY" => "PKCS#1, `BEGIN RSA PRIVATE KEY`".to_owned(),
        "OPENSSH PRIVATE KEY" => "OpenSSH, `BEGIN OPENSSH PRIVATE KEY`".to_owned(),
        other => format!("`BEGIN {other}`"),
    })
}

/// The labels of every `-----BEGIN LABEL-----` in `text`, in order.
fn begin_labels(text: &str) -> Vec<&str> {
    text.match_indices(BEGIN)
        .filter_map(|(start, _)| {
            let rest = &text[start + BEGIN.len()..];
            let label = &rest[..rest.find(DASHES)?];
            // A label is one line of printable characters.
            (!label.contains('\n')).then_some(label)
        })
        .collect()
}

/// Text with no PEM block: an OpenSSH one-line public key, or not a key at all.
fn not_pem(text: &str) -> PublicKeyPemError {
    let key_type = text.split_whitespace().next().unwrap_or_default();
    match key_type {
        "ssh-rsa" => PublicKeyPemError::OpenSshPublicKey,
        "ssh-ed25519" => PublicKeyPemError::NotRsa { algorithm: "an Ed25519 OpenSSH key".to_owned() },
        "ssh-dss" => PublicKeyPemError::NotRsa { algorithm: "a DSA OpenSSH key".to_owned() },
        _ if key_type.starts_with("ecdsa-sha2-") || key_type.starts_with("sk-") => {
            PublicKeyPemError::NotRsa { algorithm: format!("an OpenSSH `{key_type}` key") }
        }
        _ => PublicKeyPemError::NotPem,
    }
}

/// The DER encoding of OID 1.2.840.113549.1.1.1 (rsaEncryption), without tag and length.
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// Algorithms people try instead, by the DER content of their OID.
const OTHER_ALGORITHMS: &[(&[u8], &str)] = &[
    (&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01], "an EC key"),
    (&[0x2b, 0x65, 0x70], "an Ed25519 key"),
    (&[0x2b, 0x65, 0x71], "an Ed448 key"),
    (&[0x2b, 0x65, 0x6e], "an X25519 key"),
    (&[0x2b, 0x65, 0x6f], "an X448 key"),
    (&[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01], "a DSA key"),
    (&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a], "an RSA-PSS key, which can only sign"),
];

const SEQUENCE: u8 = 0x30;
const BIT_STRING: u8 = 0x03;
const OBJECT_IDENTIFIER: u8 = 0x06;
const INTEGER: u8 = 0x02;

/// Walks `SubjectPublicKeyInfo ::= SEQUENCE { algorithm SEQUENCE { OID, parameters }, BIT
/// STRING }` down to `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`
/// and returns the modulus size. Only the structure is checked, not the mathematics.
fn rsa_modulus_bits(der: &[u8]) -> Result<usize, PublicKeyPemError> {
    let malformed = || PublicKeyPemError::NotSubjectPublicKeyInfo;
    let (info, rest) = read_element(der, SEQUENCE).ok_or_else(malformed)?;
    let (algorithm, info_rest) = read_element(info, SEQUENCE).ok_or_else(malformed)?;
    let (bits, info_rest) = read_element(info_rest, BIT_STRING).ok_or_else(malformed)?;
    if !rest.is_empty() || !info_rest.is_empty() {
        return Err(malformed());
    }
    let (oid, _parameters) = read_element(algorithm, OBJECT_IDENTIFIER).ok_or_else(malformed)?;
    if oid != RSA_ENCRYPTION {
        let algorithm = OTHER_ALGORITHMS
            .iter()
            .find(|(known, _)| *known == oid)
            .map_or_else(|| format!("a key of algorithm {}", dotted_oid(oid)), |(_, name)| (*name).to_owned());
        return Err(PublicKeyPemError::NotRsa { algorithm });
    }
    // A BIT STRING starts with its count of unused bits, 0 for a whole DER structure.
    let (&0, key) = bits.split_first().ok_or_else(malformed)? else {
        return Err(malformed());
    };
    let (rsa_key, rest) = read_element(key, SEQUENCE).ok_or_else(malformed)?;
    let (modulus, rsa_rest) = read_element(rsa_key, INTEGER).ok_or_else(malformed)?;
    let (exponent, rsa_rest) = read_element(rsa_rest, INTEGER).ok_or_else(malformed)?;
    if !rest.is_empty() || !rsa_rest.is_empty() || exponent.is_empty() {
        return Err(malformed());
    }
    // DER integers are signed: a leading zero byte keeps a high bit from reading as negative.
    let magnitude = modulus.iter().position(|&byte| byte != 0).map_or(&[][..], |first| &modulus[first..]);
    let Some(&first) = magnitude.first() else {
        return Err(malformed());
    };
    Ok(magnitude.len() * 8 - first.leading_zeros() as usize)
}

/// Reads one DER element with `tag` from the start of `input`: its content and what follows.
fn read_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&actual_tag, rest) = input.split_first()?;
    if actual_tag != tag {
        return None;
    }
    let (&first_length_byte, rest) = rest.split_first()?;
    let (length, rest) = if first_length_byte < 0x80 {
        (usize::from(first_length_byte), rest)
    } else {
        // Long form: the low bits say how many length bytes follow (a key needs at most 4).
        let count = usize::from(first_length_byte & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (length_bytes, rest) = rest.split_at(count);
        let length = length_bytes.iter().fold(0usize, |length, &byte| (length << 8) | usize::from(byte));
        (length, rest)
    };
    (rest.len() >= length).then(|| rest.split_at(length))
}

/// An OID's DER content as dotted decimal (`1.2.840.10045.2.1`), for algorithms not named above.
fn dotted_oid(content: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    for &byte in content {
        value = (value << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            arcs.push(value);
            value = 0;
        }
    }
    let Some((&first, rest)) = arcs.split_first() else {
        return "(empty)".to_owned();
    };
    // The first arc packs two: 40 * X + Y, X being at most 2.
    let (x, y) = if first < 80 { (first / 40, first % 40) } else { (2, first - 80) };
    let mut dotted = format!("{x}.{y}");
    for arc in rest {
        let _ = write!(dotted, ".{arc}");
    }
    dotted
}

fn to_pem(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut pem = format!("{BEGIN}{PUBLIC_KEY_LABEL}{DASHES}\n");
    // Base64 is ASCII, so any byte index is a character boundary.
    for start in (0..body.len()).step_by(64) {
        pem.push_str(&body[start..body.len().min(start + 64)]);
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {PUBLIC_KEY_LABEL}{DASHES}\n"));
    pem
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().fold(String::with_capacity(64), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA: &str = include_str!("../../tests/fixtures/rsa_public_key.pem");
    const RSA_PRIVATE: &str = include_str!("../../tests/fixtures/rsa_private_key.pem");
    const RSA_PKCS1: &str = include_str!("../../tests/fixtures/rsa_public_key_pkcs1.pem");
    const EC: &str = include_str!("../../tests/fixtures/ec_public_key.pem");
    /// `openssl genpkey -algorithm ed25519 | openssl pkey -pubout`
    const ED25519: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAs17Do/jPedHxq4+8JTsGSp/Pyizl5GX7d7ngabxyXZc=\n-----END PUBLIC KEY-----\n";
    /// `openssl pkey -pubin -in rsa_public_key.pem -outform DER | sha256sum`
    const RSA_SHA256: &str = "a76dbd6d4063e7d4ab500c4677d489c00e893ce5f7bfee1081ecc42e98c6828b";

    fn body(pem: &str) -> String {
        pem.lines().filter(|line| !line.starts_with(DASHES)).collect()
    }

    #[test]
    fn accepts_an_rsa_public_key_and_fingerprints_its_der() {
        let key = check_public_key_pem(RSA).expect("an RSA public key");
        assert_eq!(key.sha256(), RSA_SHA256);
        assert_eq!(key.modulus_bits(), 2048);
        // openssl already writes the normal form.
        assert_eq!(key.pem(), RSA);
    }

    #[test]
    fn wrapping_and_surrounding_text_do_not_change_the_key() {
        let one_line = format!("-----BEGIN PUBLIC KEY-----{}-----END PUBLIC KEY-----", body(RSA));
        let crlf = RSA.replace('\n', "\r\n");
        let explained = format!("Subject: recordings key for dev\n\n{RSA}\n");
        for text in [one_line, crlf, explained] {
            let key = check_public_key_pem(&text).unwrap_or_else(|error| panic!("{error}: {text}"));
            assert_eq!((key.pem(), key.sha256()), (RSA, RSA_SHA256), "{text}");
        }
    }

    #[test]
    fn refuses_every_flavour_of_private_key() {
        let pkcs8_body = body(RSA_PRIVATE);
        let armoured = |label: &str| format!("-----BEGIN {label}-----\n{pkcs8_body}\n-----END {label}-----\n");
        let cases = [
            (RSA_PRIVATE.to_owned(), "PKCS#8, `BEGIN PRIVATE KEY`"),
            (armoured("RSA PRIVATE KEY"), "PKCS#1, `BEGIN RSA PRIVATE KEY`"),
            (armoured("ENCRYPTED PRIVATE KEY"), "encrypted PKCS#8, `BEGIN ENCRYPTED PRIVATE KEY`"),
            (armoured("EC PRIVATE KEY"), "`BEGIN EC PRIVATE KEY`"),
            (armoured("OPENSSH PRIVATE KEY"), "OpenSSH, `BEGIN OPENSSH PRIVATE KEY`"),
            // A public key with its private key pasted after it is still a private key on disk.
            (format!("{RSA}{RSA_PRIVATE}"), "PKCS#8, `BEGIN PRIVATE KEY`"),
            ("PuTTY-User-Key-File-3: ssh-rsa\nEncryption: none\n".to_owned(), "PuTTY `.ppk`"),
            (format!("-----BEGIN RSA\nPRIVATE KEY-----\n{pkcs8_body}"), "a `PRIVATE KEY` PEM block"),
        ];
        for (text, format) in cases {
            let error = check_public_key_pem(&text).expect_err(format);
            assert_eq!(error, PublicKeyPemError::PrivateKey { format: format.to_owned() });
            let hint = error.hint().expect("a hint");
            assert!(hint.contains("must never be shared with anyone, Twilio included"), "{hint}");
        }
        let pkcs8_hint = check_public_key_pem(RSA_PRIVATE).expect_err("private").hint().expect("a hint");
        assert!(pkcs8_hint.contains("`openssl rsa -in key.pem -pubout -out public.pem`"), "{pkcs8_hint}");
        let openssh_hint =
            check_public_key_pem(&armoured("OPENSSH PRIVATE KEY")).expect_err("private").hint().expect("a hint");
        assert!(openssh_hint.contains("`ssh-keygen -e -m PKCS8 -f key > public.pem`"), "{openssh_hint}");
    }

    #[test]
    fn refuses_a_pkcs1_public_key_with_the_conversion() {
        let error = check_public_key_pem(RSA_PKCS1).expect_err("PKCS#1");
        assert_eq!(error, PublicKeyPemError::Pkcs1PublicKey);
        assert_eq!(
            error.hint().as_deref(),
            Some("convert it: `openssl rsa -RSAPublicKey_in -in k.pem -pubout -out public.pem`")
        );
    }

    #[test]
    fn refuses_keys_of_other_algorithms_by_name() {
        let algorithm = |text: &str| match check_public_key_pem(text) {
            Err(PublicKeyPemError::NotRsa { algorithm }) => algorithm,
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(algorithm(EC), "an EC key");
        assert_eq!(algorithm(ED25519), "an Ed25519 key");
        assert_eq!(algorithm("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB user@host"), "an Ed25519 OpenSSH key");
        assert_eq!(algorithm("ecdsa-sha2-nistp256 AAAAE2VjZHNh user@host"), "an OpenSSH `ecdsa-sha2-nistp256` key");
        // An algorithm without a name here is shown by its OID: 1.2.3.4 in an otherwise valid key.
        let mut der = STANDARD.decode(body(ED25519)).expect("base64");
        der[6..9].copy_from_slice(&[0x2a, 0x03, 0x04]);
        assert_eq!(algorithm(&to_pem(&der)), "a key of algorithm 1.2.3.4");
        assert!(check_public_key_pem(EC).expect_err("EC").hint().expect("hint").contains("openssl genrsa"));
    }

    #[test]
    fn refuses_other_texts_with_what_they_are() {
        let rsa_body = body(RSA);
        let der = STANDARD.decode(&rsa_body).expect("base64");
        let cases = [
            ("  \n".to_owned(), PublicKeyPemError::Empty),
            ("hello".to_owned(), PublicKeyPemError::NotPem),
            ("ssh-rsa AAAAB3NzaC1yc2E user@host".to_owned(), PublicKeyPemError::OpenSshPublicKey),
            (
                format!("-----BEGIN CERTIFICATE-----\n{rsa_body}\n-----END CERTIFICATE-----"),
                PublicKeyPemError::Certificate,
            ),
            (
                format!("-----BEGIN PGP PUBLIC KEY BLOCK-----\n{rsa_body}\n-----END PGP PUBLIC KEY BLOCK-----"),
                PublicKeyPemError::OtherPem { label: "PGP PUBLIC KEY BLOCK".to_owned() },
            ),
            (format!("{RSA}{RSA}"), PublicKeyPemError::SeveralBlocks { count: 2 }),
            (format!("-----BEGIN PUBLIC KEY-----\n{rsa_body}\n"), PublicKeyPemError::Unterminated),
            (
                "-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----".to_owned(),
                PublicKeyPemError::NotBase64,
            ),
            (
                "-----BEGIN PUBLIC KEY-----\naGVsbG8=\n-----END PUBLIC KEY-----".to_owned(),
                PublicKeyPemError::NotSubjectPublicKeyInfo,
            ),
            (to_pem(&der[..der.len() - 10]), PublicKeyPemError::NotSubjectPublicKeyInfo),
        ];
        for (text, expected) in cases {
            let error = check_public_key_pem(&text).expect_err(&text);
            assert_eq!(error, expected, "{text}");
            assert!(error.hint().is_some(), "{error} has no hint");
        }
    }

    #[test]
    fn oids_render_in_dotted_decimal() {
        assert_eq!(dotted_oid(RSA_ENCRYPTION), "1.2.840.113549.1.1.1");
        assert_eq!(dotted_oid(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]), "1.2.840.10045.2.1");
        assert_eq!(dotted_oid(&[0x2b, 0x65, 0x70]), "1.3.101.112");
    }
}

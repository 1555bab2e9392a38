//! Checking that a `PublicKey` parameter is a PEM-encoded RSA public key, the only kind Twilio
//! encrypts recordings with.
//!
//! Only the structure is checked (PEM armour, base64, the DER `SubjectPublicKeyInfo` outline
//! and the rsaEncryption algorithm), not the key's mathematics.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

const BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
const END: &str = "-----END PUBLIC KEY-----";

/// The DER encoding of OID 1.2.840.113549.1.1.1 (rsaEncryption), tag and length included.
const RSA_ENCRYPTION_OID: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

const DER_SEQUENCE: u8 = 0x30;
const DER_BIT_STRING: u8 = 0x03;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PublicKeyProblem {
    #[error("it is not PEM text between `{BEGIN}` and `{END}`")]
    NotPem,
    #[error("it is a private key, which must never leave its owner")]
    PrivateKey,
    #[error("its PEM body is not base64")]
    NotBase64,
    #[error("its content is not a DER SubjectPublicKeyInfo")]
    NotSubjectPublicKeyInfo,
    #[error("it is not an RSA key")]
    NotRsa,
}

/// Checks that `pem` is an RSA public key in PEM (`BEGIN PUBLIC KEY`). Whitespace inside the
/// body does not matter: Twilio's documentation shows the key on one line.
pub(crate) fn check_rsa_public_key(pem: &str) -> Result<(), PublicKeyProblem> {
    let pem = pem.trim();
    if pem.contains("PRIVATE KEY-----") {
        return Err(PublicKeyProblem::PrivateKey);
    }
    let body = pem.strip_prefix(BEGIN).and_then(|rest| rest.strip_suffix(END)).ok_or(PublicKeyProblem::NotPem)?;
    let body: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let der = STANDARD.decode(body).map_err(|_| PublicKeyProblem::NotBase64)?;

    // SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }
    let (info, rest) = read_element(&der, DER_SEQUENCE).ok_or(PublicKeyProblem::NotSubjectPublicKeyInfo)?;
    let (algorithm, info_rest) = read_element(info, DER_SEQUENCE).ok_or(PublicKeyProblem::NotSubjectPublicKeyInfo)?;
    let (_key, info_rest) = read_element(info_rest, DER_BIT_STRING).ok_or(PublicKeyProblem::NotSubjectPublicKeyInfo)?;
    if !rest.is_empty() || !info_rest.is_empty() {
        return Err(PublicKeyProblem::NotSubjectPublicKeyInfo);
    }
    if !algorithm.starts_with(RSA_ENCRYPTION_OID) {
        return Err(PublicKeyProblem::NotRsa);
    }
    Ok(())
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
        // Long form: the low bits say how many length bytes follow (at most 4 here).
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

#[cfg(test)]
mod tests {
    use super::*;

    const RSA: &str = include_str!("../tests/fixtures/rsa_public_key.pem");
    const EC: &str = include_str!("../tests/fixtures/ec_public_key.pem");

    #[test]
    fn accepts_an_rsa_public_key_with_or_without_line_breaks() {
        assert_eq!(check_rsa_public_key(RSA), Ok(()));
        assert_eq!(check_rsa_public_key(&RSA.replace('\n', "")), Ok(()));
    }

    #[test]
    fn rejects_what_is_not_an_rsa_public_key() {
        let body = RSA.trim().strip_prefix(BEGIN).unwrap().strip_suffix(END).unwrap();
        let cases = [
            ("hello".to_owned(), PublicKeyProblem::NotPem),
            (format!("-----BEGIN PRIVATE KEY-----{body}-----END PRIVATE KEY-----"), PublicKeyProblem::PrivateKey),
            (format!("{BEGIN}not base64!{END}"), PublicKeyProblem::NotBase64),
            (format!("{BEGIN}aGVsbG8={END}"), PublicKeyProblem::NotSubjectPublicKeyInfo),
            (EC.to_owned(), PublicKeyProblem::NotRsa),
        ];
        for (pem, problem) in cases {
            assert_eq!(check_rsa_public_key(&pem), Err(problem), "{pem}");
        }
    }

    #[test]
    fn truncated_der_is_not_a_key() {
        let body: String = RSA
            .trim()
            .strip_prefix(BEGIN)
            .unwrap()
            .strip_suffix(END)
            .unwrap()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let der = STANDARD.decode(body).unwrap();
        let truncated = STANDARD.encode(&der[..der.len() - 10]);
        assert_eq!(
            check_rsa_public_key(&format!("{BEGIN}{truncated}{END}")),
            Err(PublicKeyProblem::NotSubjectPublicKeyInfo)
        );
    }
}

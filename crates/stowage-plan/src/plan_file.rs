//! Saved plans (`plan --out FILE`, then `apply FILE`): the plan exactly as reviewed, with what
//! it was made against, so apply can refuse it when anything moved since.
//!
//! The format is a header line, then a JSON body:
//!
//! ```text
//! stowage-plan 1 sha256=<hex of the body>
//! {"stowage_version": ..., "spec": {...}, "state": {...}, "plan": {...}}
//! ```
//!
//! The checksum makes a truncated or edited file fail to load. A plan file holds no secret: the
//! access key is created during apply. This module does no IO: bytes in, bytes out.
//!
//! The body's shape is its own boundary types ([`json`], `docs/plan-file.schema.json`), not the
//! plan model's: the model can change without changing the files an older stowage wrote.

use sha2::{Digest, Sha256};

use crate::model::Plan;

pub mod json;

const MAGIC: &str = "stowage-plan";
/// The plan file format this stowage reads and writes.
pub const PLAN_FILE_VERSION: u32 = 1;

/// What a plan was made against.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedPlan {
    pub stowage_version: String,
    pub spec: SpecFingerprint,
    /// The state the plan was made against, `None` when there was no state file yet.
    pub state: Option<StateFingerprint>,
    /// Where the state was: a file (as given on the command line, or derived from the spec) or
    /// `s3://BUCKET/KEY`.
    pub state_path: String,
    pub plan: Plan,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecFingerprint {
    /// The spec's path as given when planning (relative paths stay relative, so a plan made in
    /// one checkout applies in another).
    pub path: String,
    /// SHA-256 of the spec's bytes.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateFingerprint {
    pub lineage: uuid::Uuid,
    pub serial: u64,
    /// The stored object's version, for a state in S3 (its version id, or ETag when the bucket
    /// keeps no versions): the plan applies only to that very object.
    pub version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanFileError {
    #[error("this is not a stowage plan file (it does not start with `{MAGIC}`)")]
    NotAPlan,
    #[error(
        "plan file format {found} is newer than this stowage reads ({PLAN_FILE_VERSION}): use the stowage that made it"
    )]
    NewerFormat { found: u32 },
    #[error(
        "the plan file is damaged: its checksum does not match its content (truncated or edited after it was made)"
    )]
    ChecksumMismatch,
    #[error("the plan file is damaged: {0}")]
    Malformed(String),
}

/// SHA-256 of some bytes, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn encode(saved: &SavedPlan) -> Vec<u8> {
    // Serializing plain data to a Vec cannot fail.
    let body = serde_json::to_vec(&json::JsonSavedPlan::from(saved)).unwrap_or_default();
    let mut out = format!("{MAGIC} {PLAN_FILE_VERSION} sha256={}\n", sha256_hex(&body)).into_bytes();
    out.extend_from_slice(&body);
    out.push(b'\n');
    out
}

pub fn decode(bytes: &[u8]) -> Result<SavedPlan, PlanFileError> {
    let newline = bytes.iter().position(|&byte| byte == b'\n').ok_or(PlanFileError::NotAPlan)?;
    let header = std::str::from_utf8(&bytes[..newline]).map_err(|_| PlanFileError::NotAPlan)?;
    let mut words = header.split(' ');
    if words.next() != Some(MAGIC) {
        return Err(PlanFileError::NotAPlan);
    }
    let version: u32 = words
        .next()
        .and_then(|word| word.parse().ok())
        .ok_or_else(|| PlanFileError::Malformed("the header has no format version".to_owned()))?;
    if version > PLAN_FILE_VERSION {
        return Err(PlanFileError::NewerFormat { found: version });
    }
    let checksum = words
        .next()
        .and_then(|word| word.strip_prefix("sha256="))
        .ok_or_else(|| PlanFileError::Malformed("the header has no checksum".to_owned()))?;
    let body = &bytes[newline + 1..];
    let body = body.strip_suffix(b"\n").unwrap_or(body);
    if sha256_hex(body) != checksum {
        return Err(PlanFileError::ChecksumMismatch);
    }
    let body: json::JsonSavedPlan =
        serde_json::from_slice(body).map_err(|error| PlanFileError::Malformed(error.to_string()))?;
    SavedPlan::try_from(body).map_err(PlanFileError::Malformed)
}

/// Whether bytes look like a plan file (for `apply FILE`, which takes a spec or a plan).
pub fn looks_like_plan(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved() -> SavedPlan {
        SavedPlan {
            stowage_version: "0.1.0".to_owned(),
            spec: SpecFingerprint { path: "dev.toml".to_owned(), sha256: sha256_hex(b"[environment]") },
            state: Some(StateFingerprint { lineage: uuid::Uuid::nil(), serial: 7, version: None }),
            state_path: "dev.state.json".to_owned(),
            plan: Plan {
                changes: Vec::new(),
                drift: Vec::new(),
                diagnostics: Vec::new(),
                mode: Default::default(),
                planned_at: None,
            },
        }
    }

    #[test]
    fn round_trips() {
        assert_eq!(decode(&encode(&saved())), Ok(saved()));
    }

    #[test]
    fn a_truncated_or_edited_file_is_refused() {
        let bytes = encode(&saved());
        assert_eq!(decode(&bytes[..bytes.len() - 10]), Err(PlanFileError::ChecksumMismatch));
        let edited = String::from_utf8(bytes).unwrap().replace("\"serial\":7", "\"serial\":8");
        assert_eq!(decode(edited.as_bytes()), Err(PlanFileError::ChecksumMismatch));
    }

    #[test]
    fn other_files_are_not_plans() {
        assert_eq!(decode(b"[environment]\nname = \"dev\"\n"), Err(PlanFileError::NotAPlan));
        assert!(!looks_like_plan(b"[environment]"));
        let newer = String::from_utf8(encode(&saved())).unwrap().replacen("stowage-plan 1", "stowage-plan 9", 1);
        assert_eq!(decode(newer.as_bytes()), Err(PlanFileError::NewerFormat { found: 9 }));
    }
}

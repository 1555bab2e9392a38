//! A spec to be written: what `stowage init` knows of an environment, from a person's answers
//! or from what exists already (`stowage init --from-existing`), rendered as a commented spec
//! file like `examples/dev.toml`.
//!
//! One renderer serves both: a [`Draft`] holds validated values only, and
//! [`Draft::render_checked`] runs the text through [`crate::parse`] before handing it out, so a
//! draft that would not validate is never written. No IO, like the rest of the crate.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::values::{AccountSid, BucketName, Encryption, EnvironmentName, IamPath, IamUserName, Prefix, Region};
use crate::{BucketSpec, SpecErrors, Validated};

/// The column inline comments start at, as in `examples/dev.toml`.
const COMMENT_COLUMN: usize = 32;

/// What a spec says, before it is a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// The `#:schema` line's target: a path relative to the file, or a URL.
    pub schema: String,
    pub origin: Origin,
    pub environment: EnvironmentName,
    pub region: Region,
    pub account_sid: Option<AccountSid>,
    pub bucket: BucketSpec,
    pub uploader: UploaderDraft,
    pub recordings: StorageDraft,
    pub compositions: StorageDraft,
    /// What could not be determined, or was decided for the person, each a sentence; written
    /// at the top of the file (and printed by the caller).
    pub notes: Vec<String>,
}

/// Where the values came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A person's answers (`stowage init`): everything is made by the first apply.
    Answers,
    /// What exists (`stowage init --from-existing`), for `stowage import`.
    Existing,
}

/// `[uploader]`: the IAM user Twilio writes with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploaderDraft {
    /// A user the first apply creates (`stowage init`).
    New(UploaderUser),
    /// The one existing user whose policies let it write where Twilio stores.
    Found(UploaderUser),
    /// No existing user can write there: stowage's own, which the first apply creates.
    NoneFound(UploaderUser),
    /// Several users can: `chosen` is written, the others as commented alternatives.
    Several { chosen: UploaderUser, others: Vec<UploaderUser> },
}

/// An IAM user's name and path, and why it is named (for a found one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploaderUser {
    pub user_name: IamUserName,
    pub path: IamPath,
    /// E.g. "allowed by managed policy `upload`; 1 access key", for a found user.
    pub why: Option<String>,
}

/// `[recordings]` or `[compositions]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageDraft {
    pub store_in_s3: bool,
    pub prefix: Prefix,
    /// A sentence written above the section (e.g. why storage is off).
    pub comment: Option<String>,
}

impl UploaderDraft {
    /// The user the spec names.
    pub fn user(&self) -> &UploaderUser {
        match self {
            Self::New(user) | Self::Found(user) | Self::NoneFound(user) => user,
            Self::Several { chosen, .. } => chosen,
        }
    }
}

impl Draft {
    /// stowage's name for the uploader of environment `name`: `twilio-video-uploader-NAME`,
    /// as in `examples/dev.toml`.
    pub fn default_user_name(name: &EnvironmentName) -> IamUserName {
        IamUserName::new(&format!("twilio-video-uploader-{name}"))
            .unwrap_or_else(|_| unreachable!("an environment name is at most 32 characters of `a-z0-9-`"))
    }

    /// The uploader's path stowage suggests: `/twilio/`.
    pub fn default_user_path() -> IamPath {
        IamPath::new("/twilio/").unwrap_or_else(|_| unreachable!("`/twilio/` is an IAM path"))
    }

    /// The draft of a new environment from a person's answers, with the defaults of
    /// `examples/dev.toml`: a versioned bucket that blocks public access, tagged with the
    /// environment, its uploader `twilio-video-uploader-NAME` on `/twilio/`, recordings and
    /// compositions stored under `recordings/` and `compositions/`.
    pub fn new_environment(
        schema: String,
        environment: EnvironmentName,
        region: Region,
        bucket: BucketName,
        account_sid: AccountSid,
        encryption: Option<Encryption>,
    ) -> Self {
        let tags = BTreeMap::from([("env".to_owned(), environment.to_string())]);
        let user = UploaderUser {
            user_name: Self::default_user_name(&environment),
            path: Self::default_user_path(),
            why: None,
        };
        Self {
            schema,
            origin: Origin::Answers,
            environment,
            region,
            account_sid: Some(account_sid),
            bucket: BucketSpec {
                name: bucket,
                versioning: true,
                block_public_access: true,
                tags,
                lifecycle: Vec::new(),
                encryption,
            },
            uploader: UploaderDraft::New(user),
            recordings: StorageDraft {
                store_in_s3: true,
                prefix: prefix("recordings/"),
                comment: Some(
                    "Twilio cannot compose recordings stored in S3: if you need compositions, keep recordings in \
                     Twilio's cloud (`store_in_s3 = false`) and delete them once the composition exists."
                        .to_owned(),
                ),
            },
            compositions: StorageDraft { store_in_s3: true, prefix: prefix("compositions/"), comment: None },
            notes: Vec::new(),
        }
    }

    /// The spec file's text, checked: parsed and validated as `file_name` (the name the
    /// diagnostics show) before it is returned.
    ///
    /// # Errors
    /// The spec's own errors when the text does not validate: a bug, or values that were never
    /// checked (a tag S3 refuses).
    pub fn render_checked(&self, file_name: &str) -> Result<(String, Validated), Box<SpecErrors>> {
        let text = self.render();
        let validated = crate::parse(file_name, &text).map_err(Box::new)?;
        Ok((text, validated))
    }

    /// The spec file's text, unchecked; see [`Draft::render_checked`].
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "#:schema {}", self.schema);
        self.header(&mut out);
        self.environment(&mut out);
        self.aws(&mut out);
        self.twilio(&mut out);
        self.bucket(&mut out);
        self.lifecycle(&mut out);
        self.uploader(&mut out);
        storage(&mut out, "recordings", &self.recordings);
        storage(&mut out, "compositions", &self.compositions);
        // One trailing newline, however the last section ended.
        while out.ends_with("\n\n") {
            out.pop();
        }
        out
    }

    fn header(&self, out: &mut String) {
        let stored: Vec<&str> = [("recordings", &self.recordings), ("compositions", &self.compositions)]
            .into_iter()
            .filter(|(_, storage)| storage.store_in_s3)
            .map(|(what, _)| what)
            .collect();
        let what = match stored.as_slice() {
            [] => "nothing yet".to_owned(),
            [one] => (*one).to_owned(),
            _ => "recordings and compositions".to_owned(),
        };
        let intro = match self.origin {
            Origin::Answers => format!(
                "The `{}` environment: Twilio Video stores {what} in the S3 bucket `{}` ({}), written by a \
                 dedicated IAM user whose access key Twilio holds. Written by `stowage init`; every key is in \
                 docs/spec-reference.md.",
                self.environment, self.bucket.name, self.region
            ),
            Origin::Existing => format!(
                "The `{}` environment as it was set up by hand: Twilio Video stores {what} in the S3 bucket `{}` \
                 ({}). Written by `stowage init --from-existing` from Twilio's settings and the bucket and IAM \
                 user found in AWS; `stowage import` records them, and the first apply makes them what this \
                 file says.",
                self.environment, self.bucket.name, self.region
            ),
        };
        comment_block(out, "", &intro);
        if !self.notes.is_empty() {
            out.push_str("#\n# To check (what `stowage init` could not determine, or decided for you):\n");
            for note in &self.notes {
                comment_block(out, "  - ", note);
            }
        }
        out.push('\n');
    }

    fn environment(&self, out: &mut String) {
        out.push_str("[environment]\n");
        line(out, &format!("name = {}", string(self.environment.as_str())), Some("in resource names and tags"));
        out.push('\n');
    }

    fn aws(&self, out: &mut String) {
        out.push_str("[aws]\n");
        line(
            out,
            &format!("region = {}", string(self.region.as_str())),
            Some("the bucket's region, also in the Twilio S3 URL"),
        );
        line(out, "# profile = \"video\"", Some("a named AWS profile; default: the standard credential chain"));
        out.push('\n');
    }

    fn twilio(&self, out: &mut String) {
        let Some(account_sid) = &self.account_sid else { return };
        out.push_str("[twilio]\n");
        line(out, &format!("account_sid = {}", string(account_sid.as_str())), None);
        out.push_str("# auth: TWILIO_API_KEY + TWILIO_API_SECRET, or TWILIO_ACCOUNT_SID + TWILIO_AUTH_TOKEN\n");
        out.push('\n');
    }

    fn bucket(&self, out: &mut String) {
        let bucket = &self.bucket;
        out.push_str("[bucket]\n");
        line(out, &format!("name = {}", string(bucket.name.as_str())), Some("7-bit ASCII, S3 naming rules"));
        let versioning = if bucket.versioning {
            "overwritten or deleted recordings stay recoverable"
        } else {
            "`true` keeps overwritten or deleted recordings recoverable"
        };
        line(out, &format!("versioning = {}", bucket.versioning), Some(versioning));
        let public = (!bucket.block_public_access).then_some("`true` is recommended: recordings are never public");
        line(out, &format!("block_public_access = {}", bucket.block_public_access), public);
        if !bucket.tags.is_empty() {
            let tags: Vec<String> =
                bucket.tags.iter().map(|(key, value)| format!("{} = {}", tag_key(key), string(value))).collect();
            line(out, &format!("tags = {{ {} }}", tags.join(", ")), None);
        }
        match (&bucket.encryption, &self.origin) {
            (None, _) => {
                out.push_str(
                    "# SSE-KMS, the only server-side encryption Twilio supports: a key stowage creates, or an\n\
                     # existing key's ARN (then used, not managed).\n\
                     # encryption = { kms_key = \"create\" }\n",
                );
            }
            (Some(Encryption::KmsCreate), _) => {
                comment_block(
                    out,
                    "",
                    &format!(
                        "A new symmetric key `alias/stowage-{}`, rotated yearly, usable by the uploader only for \
                         uploads; the bucket encrypts every object with it, with S3 Bucket Keys on.",
                        self.environment
                    ),
                );
                out.push_str("encryption = { kms_key = \"create\" }\n");
            }
            (Some(Encryption::KmsKeyArn(arn)), Origin::Answers) => {
                out.push_str(
                    "# An existing KMS key: stowage uses it (the uploader may encrypt with it), never manages it.\n",
                );
                let _ = writeln!(out, "encryption = {{ kms_key = {} }}", string(arn.as_str()));
            }
            (Some(Encryption::KmsKeyArn(arn)), Origin::Existing) => {
                comment_block(
                    out,
                    "",
                    "The KMS key the bucket encrypts with now: stowage uses it and manages nothing of it. \
                     `kms_key = \"create\"` instead takes this key over (its key policy, rotation and alias \
                     become stowage's; `stowage import` records it), see docs/adopting.md.",
                );
                let _ = writeln!(out, "encryption = {{ kms_key = {} }}", string(arn.as_str()));
            }
        }
        out.push('\n');
    }

    fn lifecycle(&self, out: &mut String) {
        if self.bucket.lifecycle.is_empty() {
            out.push_str("# Expire what Twilio stores some days after it is written (one rule per prefix):\n");
            for (storage, days) in [(&self.recordings, 90), (&self.compositions, 365)] {
                if storage.store_in_s3 {
                    let _ = writeln!(
                        out,
                        "# [[bucket.lifecycle]]\n# prefix = {}\n# expire_after_days = {days}\n#",
                        string(storage.prefix.as_str())
                    );
                }
            }
            if out.ends_with("#\n") {
                out.truncate(out.len() - 2);
            }
            out.push('\n');
            return;
        }
        for rule in &self.bucket.lifecycle {
            out.push_str("[[bucket.lifecycle]]\n");
            line(out, &format!("prefix = {}", string(rule.prefix.as_str())), None);
            line(out, &format!("expire_after_days = {}", rule.expire_after_days), None);
            out.push('\n');
        }
    }

    fn uploader(&self, out: &mut String) {
        match &self.uploader {
            UploaderDraft::New(_) => {}
            UploaderDraft::Found(user) => {
                let why = user.why.as_deref().map(|why| format!(" ({why})")).unwrap_or_default();
                comment_block(out, "", &format!("The IAM user found that may write where Twilio stores{why}."));
            }
            UploaderDraft::NoneFound(_) => comment_block(
                out,
                "",
                "No IAM user found may write where Twilio stores (none whose inline or attached policies allow \
                 `s3:PutObject` under every stored prefix), so this is stowage's own user, which the first apply \
                 creates. If Twilio writes with a user of yours, put its name and path here instead.",
            ),
            UploaderDraft::Several { others, .. } => {
                comment_block(
                    out,
                    "",
                    &format!(
                        "{} IAM users may write where Twilio stores. This one was chosen; if Twilio writes with \
                         another, put its name and path here instead (Twilio never says which access key it \
                         holds):",
                        others.len() + 1
                    ),
                );
                for other in others {
                    let why = other.why.as_deref().map(|why| format!("  # {why}")).unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "#   user_name = {}, path = {}{why}",
                        string(other.user_name.as_str()),
                        string(other.path.as_str())
                    );
                }
            }
        }
        let user = self.uploader.user();
        out.push_str("[uploader]                      # the IAM user whose key Twilio writes with\n");
        let why = match &self.uploader {
            UploaderDraft::Several { chosen, .. } => chosen.why.as_deref(),
            _ => None,
        };
        line(out, &format!("user_name = {}", string(user.user_name.as_str())), why);
        line(out, &format!("path = {}", string(user.path.as_str())), None);
        out.push('\n');
    }
}

fn storage(out: &mut String, section: &str, storage: &StorageDraft) {
    if let Some(comment) = &storage.comment {
        comment_block(out, "", comment);
    }
    let _ = writeln!(out, "[{section}]");
    let stored =
        if storage.store_in_s3 { "Twilio stores them in the bucket" } else { "Twilio keeps them in its cloud" };
    line(out, &format!("store_in_s3 = {}", storage.store_in_s3), Some(stored));
    line(out, &format!("prefix = {}", string(storage.prefix.as_str())), None);
    out.push('\n');
}

/// `text`, with `# comment` at [`COMMENT_COLUMN`] when there is one.
fn line(out: &mut String, text: &str, comment: Option<&str>) {
    out.push_str(text);
    if let Some(comment) = comment {
        let pad = COMMENT_COLUMN.saturating_sub(text.chars().count()).max(1);
        let _ = write!(out, "{:pad$}# {comment}", "");
    }
    out.push('\n');
}

/// `text` as `#` comment lines of at most about 96 characters, the first line starting with
/// `bullet` and the next ones indented to match.
fn comment_block(out: &mut String, bullet: &str, text: &str) {
    const WIDTH: usize = 96;
    let indent = " ".repeat(bullet.chars().count());
    let mut current = format!("# {bullet}");
    let mut empty = true;
    for word in unbroken_words(text) {
        let word = word.as_str();
        if !empty && current.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(&current);
            out.push('\n');
            current = format!("# {indent}");
            empty = true;
        }
        if !empty {
            current.push(' ');
        }
        current.push_str(word);
        empty = false;
    }
    out.push_str(&current);
    out.push('\n');
}

/// The words of `text`, a span in backticks kept whole (`kms_key = "create"` is one word).
fn unbroken_words(text: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut open = false;
    for word in text.split_whitespace() {
        match words.last_mut() {
            Some(last) if open => {
                last.push(' ');
                last.push_str(word);
            }
            _ => words.push(word.to_owned()),
        }
        if word.matches('`').count() % 2 == 1 {
            open = !open;
        }
    }
    words
}

/// A TOML basic string.
fn string(value: &str) -> String {
    toml::Value::String(value.to_owned()).to_string()
}

/// A TOML key: bare when it can be, quoted otherwise.
fn tag_key(key: &str) -> String {
    let bare =
        !key.is_empty() && key.chars().all(|character| character.is_ascii_alphanumeric() || "_-".contains(character));
    if bare { key.to_owned() } else { string(key) }
}

fn prefix(text: &str) -> Prefix {
    Prefix::new(text).unwrap_or_else(|error| unreachable!("`{text}` is a prefix: {error}"))
}

#[cfg(test)]
mod tests;

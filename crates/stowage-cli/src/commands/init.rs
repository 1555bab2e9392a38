//! `stowage init [PATH]`: a new spec from a few answers (asked on a terminal) or flags, checked
//! by the spec's own parser before it is written, never over an existing file.
//! `stowage init --from-existing [PATH]`: the spec of what was already set up by hand
//! (`existing.rs`), for `stowage import`. Both render a `stowage_spec::draft::Draft`.

mod existing;

use std::fs::OpenOptions;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use miette::{Report, miette};
use stowage_spec::draft::Draft;
use stowage_spec::{AccountSid, BucketName, Encryption, EnvironmentName, InvalidValue, Region};

use crate::cli::InitArgs;
use crate::exit;
use crate::settings::Settings;

/// Where the spec's JSON Schema is in stowage's repository.
const SCHEMA_IN_REPOSITORY: &str = "docs/stowage-spec.schema.json";
/// The schema on the repository's host, for a spec written outside a clone of it.
const SCHEMA_URL: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "/raw/main/docs/stowage-spec.schema.json");
/// An example of every flag, for the refusal that lists the missing ones.
const EXAMPLE: &str = "stowage init --name dev --region us-east-2 --bucket acme-video-dev \
                       --account-sid AC0123456789abcdef0123456789abcdef";

pub async fn run(args: &InitArgs, settings: &Settings) -> Result<ExitCode, Report> {
    if args.from_existing {
        return existing::run(args, settings).await;
    }
    // A path that is already a file is refused before any question is asked.
    if let Some(path) = args.path.as_deref().filter(|path| path.exists() && !path.is_dir()) {
        return Err(exists(path));
    }
    let terminal = interactive();
    let mut missing = Vec::new();
    let name = flag("name", args.name.as_deref(), EnvironmentName::new)?;
    let region = flag("region", args.region.as_deref(), Region::new)?;
    let bucket = flag("bucket", args.bucket.as_deref(), BucketName::new)?;
    let account_sid = flag("account-sid", args.account_sid.as_deref(), AccountSid::new)?;
    let encryption = flag("kms", args.kms.as_deref(), Encryption::new)?;
    check_kms_region(encryption.as_ref(), region.as_ref().map(Region::as_str), "--kms")?;
    for (flag, absent) in [
        ("--name", name.is_none()),
        ("--region", region.is_none()),
        ("--bucket", bucket.is_none()),
        ("--account-sid", account_sid.is_none()),
    ] {
        if absent {
            missing.push(flag);
        }
    }
    if !missing.is_empty() && !terminal {
        return Err(miette!(
            help = format!("give them as flags, e.g. `{EXAMPLE}`"),
            "`stowage init` needs {}, and standard input is not a terminal to ask for {}",
            list(&missing),
            if missing.len() == 1 { "it" } else { "them" }
        ));
    }
    let asking = !missing.is_empty();
    let name = match name {
        Some(name) => name,
        None => ask("Environment name (e.g. dev, prod)", None, EnvironmentName::new)?,
    };
    let region = match region {
        Some(region) => region,
        None => ask("AWS region of the bucket", stowage_aws::AwsProvider::configured_region().await, Region::new)?,
    };
    let bucket = match bucket {
        Some(bucket) => bucket,
        None => ask("S3 bucket name (globally unique)", Some(suggested_bucket(settings, &name)), BucketName::new)?,
    };
    let account_sid = match account_sid {
        Some(sid) => sid,
        None => ask("Twilio account SID (AC…)", settings.twilio.account_sid.clone(), AccountSid::new)?,
    };
    let encryption = match encryption {
        Some(encryption) => Some(encryption),
        None if asking => ask_kms(&region)?,
        None => None,
    };

    let path = target(args.path.as_deref(), &name);
    let draft = Draft::new_environment(schema_reference(&path), name, region, bucket, account_sid, encryption);
    let text = render(&draft, &path)?;
    write_new(&path, &text)?;
    let shown = path.display();
    let user = draft.uploader.user();
    println!(
        "Wrote {shown}: environment `{}`, bucket `{}` in {}, uploader `{}` (all made by the first apply).",
        draft.environment, draft.bucket.name, draft.region, user.user_name
    );
    println!("\nNext steps:");
    println!("  stowage validate {shown}     # check it, without any network call");
    println!("  stowage plan {shown}         # what apply would make");
    println!("  stowage apply {shown}        # make it");
    println!("\n{CREDENTIALS}");
    Ok(exit::OK)
}

/// What `plan` and `apply` need from the environment, said after every init.
const CREDENTIALS: &str = "\
plan and apply need credentials in the environment:
  AWS     the standard chain: `AWS_PROFILE`, or `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, SSO, a role
  Twilio  `TWILIO_API_KEY` and `TWILIO_API_SECRET` (recommended), or `TWILIO_ACCOUNT_SID` and `TWILIO_AUTH_TOKEN`";

/// Whether questions can be asked: standard input and standard error are terminals.
fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// `--FLAG VALUE` checked by its value's own rules; `None` when it was not given.
fn flag<T, E: InvalidValue>(
    name: &str,
    given: Option<&str>,
    new: impl Fn(&str) -> Result<T, E>,
) -> Result<Option<T>, Report> {
    let Some(text) = given else { return Ok(None) };
    new(text.trim()).map(Some).map_err(|error| {
        let hint = error.hint().unwrap_or_else(|| "see docs/spec-reference.md for what each value may be".to_owned());
        miette!(help = format!("{hint}; nothing was written"), "--{name}: {error}")
    })
}

/// A KMS key is regional: an ARN in another region than the bucket's can never encrypt it.
fn check_kms_region(encryption: Option<&Encryption>, region: Option<&str>, what: &str) -> Result<(), Report> {
    if let (Some(Encryption::KmsKeyArn(arn)), Some(region)) = (encryption, region)
        && arn.region() != region
    {
        return Err(miette!(
            help = format!(
                "SSE-KMS keys are regional: name a key in `{region}`, or `--kms create` for a new one; nothing was \
                 written"
            ),
            "{what}: the key `{arn}` is in `{}`, the bucket in `{region}`",
            arn.region()
        ));
    }
    Ok(())
}

/// Asks for a value until it passes its rules; `default` is taken on an empty answer.
fn ask<T, E: InvalidValue>(
    prompt: &str,
    default: Option<String>,
    new: impl Fn(&str) -> Result<T, E>,
) -> Result<T, Report> {
    let mut input = dialoguer::Input::<String>::new().with_prompt(prompt);
    if let Some(default) = default {
        input = input.default(default);
    }
    let answer = input
        .validate_with(|answer: &String| -> Result<(), String> {
            new(answer.trim()).map(|_| ()).map_err(|error| match error.hint() {
                Some(hint) => format!("{error} ({hint})"),
                None => error.to_string(),
            })
        })
        .interact_text()
        .map_err(|error| miette!("could not read the answer: {error}"))?;
    new(answer.trim()).map_err(|error| miette!("{error}"))
}

/// Whether the bucket encrypts with SSE-KMS, and with which key.
fn ask_kms(region: &Region) -> Result<Option<Encryption>, Report> {
    let choice = dialoguer::Select::new()
        .with_prompt("Encrypt recordings at rest with a KMS key (SSE-KMS)?")
        .items(["no: S3's own default encryption", "yes: a new key stowage creates", "yes: an existing key (its ARN)"])
        .default(0)
        .interact()
        .map_err(|error| miette!("could not read the answer: {error}"))?;
    match choice {
        0 => Ok(None),
        1 => Ok(Some(Encryption::KmsCreate)),
        _ => {
            let encryption = ask("KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)", None, |text: &str| {
                stowage_spec::KmsKeyArn::new(text).map(Encryption::KmsKeyArn)
            })?;
            check_kms_region(Some(&encryption), Some(region.as_str()), "the key")?;
            Ok(Some(encryption))
        }
    }
}

/// `LOGIN-video-NAME`, from the login name where it makes a bucket name, `my-video-NAME`
/// otherwise: bucket names are global, so a suggestion only.
fn suggested_bucket(settings: &Settings, name: &EnvironmentName) -> String {
    let user = Some(settings.lock.user.as_str()).filter(|user| *user != crate::settings::UNKNOWN_USER);
    let login: String = user
        .unwrap_or_default()
        .to_ascii_lowercase()
        .chars()
        .filter(|character| character.is_ascii_lowercase() || character.is_ascii_digit())
        .take(20)
        .collect();
    let owner = if login.is_empty() || login.starts_with(|first: char| !first.is_ascii_lowercase()) {
        "my".to_owned()
    } else {
        login
    };
    let suggestion = format!("{owner}-video-{name}");
    if BucketName::new(&suggestion).is_ok() { suggestion } else { format!("my-video-{name}") }
}

/// The file to write: `PATH`, `DIR/NAME.toml` for a directory, `NAME.toml` by default.
fn target(path: Option<&Path>, name: &EnvironmentName) -> PathBuf {
    let file = format!("{name}.toml");
    match path {
        None => PathBuf::from(file),
        Some(directory) if directory.is_dir() => directory.join(file),
        Some(path) => path.to_owned(),
    }
}

/// The `#:schema` line's target for a spec at `path`: inside a clone of stowage's repository,
/// the schema file relative to the spec (as `examples/` has it); anywhere else, its URL.
fn schema_reference(path: &Path) -> String {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    let Ok(directory) = directory.canonicalize() else { return SCHEMA_URL.to_owned() };
    for (depth, ancestor) in directory.ancestors().enumerate() {
        if ancestor.join(SCHEMA_IN_REPOSITORY).is_file() {
            return format!("{}{SCHEMA_IN_REPOSITORY}", "../".repeat(depth));
        }
    }
    SCHEMA_URL.to_owned()
}

/// The draft's text, checked by the spec's parser: a draft that does not validate is refused.
fn render(draft: &Draft, path: &Path) -> Result<String, Report> {
    let file_name = path.file_name().map_or_else(|| path.display().to_string(), |name| name.to_string_lossy().into());
    draft.render_checked(&file_name).map(|(text, _)| text).map_err(|errors| {
        Report::new(*errors).wrap_err(format!(
            "the spec `stowage init` made for `{}` does not validate, so nothing was written",
            path.display()
        ))
    })
}

/// Writes `text` to the new file `path`; an existing file is never touched.
fn write_new(path: &Path, text: &str) -> Result<(), Report> {
    let mut file = match OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => return Err(exists(path)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(miette!(
                help = "create the directory first, or give a path in an existing one",
                "cannot write `{}`: its directory does not exist",
                path.display()
            ));
        }
        Err(error) => return Err(miette!("cannot write `{}`: {error}", path.display())),
    };
    if let Err(error) = file.write_all(text.as_bytes()).and_then(|()| file.sync_all()) {
        // The file is this run's own, and half written: remove it.
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(miette!("cannot write `{}`: {error}", path.display()));
    }
    Ok(())
}

fn exists(path: &Path) -> Report {
    miette!(
        help = "`stowage init` never overwrites a file: give another path (`stowage init PATH`), or delete or \
                rename the file first",
        "`{}` already exists; it was left as it was",
        path.display()
    )
}

/// `a`, `a and b`, `a, b and c`, each in backticks.
fn list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| format!("`{item}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => quoted.join(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_as_sentences() {
        assert_eq!(list(&["--name"]), "`--name`");
        assert_eq!(list(&["--name", "--bucket"]), "`--name` and `--bucket`");
        assert_eq!(list(&["--name", "--region", "--bucket"]), "`--name`, `--region` and `--bucket`");
    }

    #[test]
    fn the_schema_is_found_relative_to_a_spec_inside_the_repository() {
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/new.toml");
        assert_eq!(schema_reference(&examples), "../docs/stowage-spec.schema.json");
        let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/new.toml");
        assert_eq!(schema_reference(&crate_dir), "../../../docs/stowage-spec.schema.json");
        let elsewhere = tempfile::tempdir().unwrap();
        assert_eq!(schema_reference(&elsewhere.path().join("dev.toml")), SCHEMA_URL);
        assert!(SCHEMA_URL.starts_with("https://"), "{SCHEMA_URL}");
    }

    #[test]
    fn a_path_that_is_a_directory_gets_the_environments_file() {
        let name = EnvironmentName::new("dev").unwrap();
        let directory = tempfile::tempdir().unwrap();
        assert_eq!(target(Some(directory.path()), &name), directory.path().join("dev.toml"));
        assert_eq!(target(None, &name), PathBuf::from("dev.toml"));
        assert_eq!(target(Some(Path::new("x/prod.toml")), &name), PathBuf::from("x/prod.toml"));
    }
}

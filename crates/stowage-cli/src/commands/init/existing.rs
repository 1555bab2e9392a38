//! `stowage init --from-existing [PATH]`: the spec of a setup made by hand, for `stowage import`.
//!
//! Reads only, and no state is opened: Twilio's recording and composition settings (their S3
//! URLs give the bucket, the region and the prefixes), the bucket as `aws_s3_bucket` reads it
//! (`stowage_aws::existing::bucket`), its SSE-KMS key, and the IAM users whose policies allow
//! `s3:PutObject` under every stored prefix (`stowage_aws::existing::uploaders`). What cannot be
//! determined, or is decided for the person, becomes a note, in the file and on stderr.

use std::collections::BTreeMap;
use std::process::ExitCode;

use miette::{Report, miette};
use stowage_plan::s3_url::{self, S3Location};
use stowage_spec::BucketSpec;
use stowage_spec::draft::{Draft, Origin, StorageDraft, UploaderDraft, UploaderUser};
use stowage_spec::{
    AccountSid, BucketName, Encryption, EnvironmentName, IamPath, IamUserName, KmsKeyArn, LifecycleRule, Prefix, Region,
};
use stowage_twilio::{StorageSettings, StorageSettingsKind};

use super::{ask, check_kms_region, exists, flag, interactive, render, schema_reference, target, write_new};
use crate::cli::InitArgs;
use crate::exit;
use crate::settings::Settings;

pub async fn run(args: &InitArgs, settings: &Settings) -> Result<ExitCode, Report> {
    if let Some(path) = args.path.as_deref().filter(|path| path.exists() && !path.is_dir()) {
        return Err(exists(path));
    }
    let terminal = interactive();
    let name = flag("name", args.name.as_deref(), EnvironmentName::new)?;
    let region_flag = flag("region", args.region.as_deref(), Region::new)?;
    let bucket_flag = flag("bucket", args.bucket.as_deref(), BucketName::new)?;
    let account_flag = flag("account-sid", args.account_sid.as_deref(), AccountSid::new)?;
    let kms_flag = flag("kms", args.kms.as_deref(), Encryption::new)?;
    if name.is_none() && !terminal {
        return Err(miette!(
            help = "give it as a flag, e.g. `stowage init --from-existing --name dev`",
            "`stowage init --from-existing` needs `--name`, and standard input is not a terminal to ask for it"
        ));
    }

    // Twilio: where the settings store now, and as which account.
    let (recordings, compositions) = twilio_settings(settings).await?;
    let account = recordings.account_sid.clone().or_else(|| compositions.account_sid.clone());
    let account_sid = match (account.as_deref().map(AccountSid::new).transpose(), account_flag) {
        (Ok(Some(found)), Some(flag)) if found != flag => {
            return Err(miette!(
                help = format!(
                    "Twilio's settings are the account's the credentials act as: use {flag}'s credentials, or drop \
                     `--account-sid` to describe {found}"
                ),
                "--account-sid: the Twilio credentials act as {found}, not {flag}"
            ));
        }
        (Ok(Some(found)), _) => found,
        (_, Some(flag)) => flag,
        (Ok(None) | Err(_), None) => {
            return Err(miette!(
                help = "give it with `--account-sid AC…`",
                "could not determine the Twilio account SID: Twilio's settings did not say"
            ));
        }
    };
    let name = match name {
        Some(name) => name,
        None => {
            ask("Environment name (e.g. dev, prod)", suggested_name(&recordings, &compositions), EnvironmentName::new)?
        }
    };

    let mut notes = Vec::new();
    let sources = [Source::new("recordings", &recordings), Source::new("compositions", &compositions)];
    let (bucket, region) = choose_bucket(&sources, bucket_flag, region_flag, &mut notes)?;
    let recordings = storage(&sources[0], &bucket, &region, &mut notes);
    let compositions = storage(&sources[1], &bucket, &region, &mut notes);

    // AWS, in the bucket's region.
    let aws = crate::session::connect_aws(region.as_str(), None, settings).await?;
    let (mut draft_bucket, key) = read_bucket(&aws, &bucket, &mut notes).await;
    draft_bucket.encryption = encryption(&aws, key, kms_flag, terminal, &mut notes).await?;
    check_kms_region(draft_bucket.encryption.as_ref(), Some(region.as_str()), "the bucket's KMS key")?;
    let stored: Vec<String> = [&recordings, &compositions]
        .into_iter()
        .filter(|storage| storage.store_in_s3)
        .map(|storage| storage.prefix.to_string())
        .collect();
    let uploader = uploader(&aws, &region, &bucket, &stored, &name, &mut notes).await;

    let path = target(args.path.as_deref(), &name);
    let draft = Draft {
        schema: schema_reference(&path),
        origin: Origin::Existing,
        environment: name,
        region,
        account_sid: Some(account_sid),
        bucket: draft_bucket,
        uploader,
        recordings,
        compositions,
        notes,
    };
    let text = render(&draft, &path)?;
    write_new(&path, &text)?;
    report(&draft, &path.display().to_string());
    Ok(exit::OK)
}

/// Both settings singletons, read at once.
async fn twilio_settings(settings: &Settings) -> Result<(StorageSettings, StorageSettings), Report> {
    if let Err(error) = &settings.twilio.auth {
        return Err(miette!(
            help = "`--from-existing` reads Twilio's recording and composition settings: set `TWILIO_API_KEY` and \
                    `TWILIO_API_SECRET`, or `TWILIO_ACCOUNT_SID` and `TWILIO_AUTH_TOKEN`",
            "{error}"
        ));
    }
    let twilio = crate::twilio::provider(settings.request_timeout()?, &settings.twilio)?;
    let client = twilio.client();
    let (recordings, compositions) = tokio::join!(
        client.fetch_storage_settings(StorageSettingsKind::Recording),
        client.fetch_storage_settings(StorageSettingsKind::Composition)
    );
    let read = |what: &str, result: Result<StorageSettings, stowage_twilio::TwilioError>| {
        result.map_err(|error| miette!("could not read Twilio's {what} settings: {error}"))
    };
    Ok((read("recording", recordings)?, read("composition", compositions)?))
}

/// `stowage NAME`, the settings' name stowage gives them, suggests the environment's name.
fn suggested_name(recordings: &StorageSettings, compositions: &StorageSettings) -> Option<String> {
    [recordings, compositions]
        .into_iter()
        .filter_map(|settings| settings.friendly_name.as_deref()?.strip_prefix("stowage "))
        .find(|name| EnvironmentName::new(name).is_ok())
        .map(str::to_owned)
}

/// One of Twilio's two settings, as far as the spec is concerned.
struct Source<'a> {
    /// `recordings` or `compositions`.
    what: &'static str,
    enabled: bool,
    url: Option<&'a str>,
    location: Option<S3Location>,
}

impl<'a> Source<'a> {
    fn new(what: &'static str, settings: &'a StorageSettings) -> Self {
        let url = settings.aws_s3_url.as_deref().filter(|url| !url.is_empty());
        Source {
            what,
            enabled: settings.aws_storage_enabled.unwrap_or(false),
            url,
            location: url.and_then(s3_url::parse),
        }
    }
}

/// The bucket and region: the flags', else those of the first settings that store in S3, else
/// of the first that names an S3 URL.
fn choose_bucket(
    sources: &[Source<'_>],
    bucket_flag: Option<BucketName>,
    region_flag: Option<Region>,
    notes: &mut Vec<String>,
) -> Result<(BucketName, Region), Report> {
    for source in sources {
        if let (Some(url), None) = (source.url, &source.location) {
            notes.push(format!(
                "Twilio's {} settings name `{url}`, which is not an S3 URL of the form \
                 `https://BUCKET.s3-REGION.amazonaws.com/PATH` or `https://BUCKET.s3.REGION.amazonaws.com/PATH`",
                source.what
            ));
        }
    }
    let found = sources
        .iter()
        .find(|source| source.enabled && source.location.is_some())
        .or_else(|| sources.iter().find(|source| source.location.is_some()));
    if let Some(source) = found.filter(|source| !source.enabled) {
        notes.push(format!(
            "Twilio stores nothing in S3 now; the bucket and region are those of the {} settings' URL",
            source.what
        ));
    }
    let location = found.and_then(|source| source.location.as_ref());
    let bucket = match (bucket_flag, location) {
        (Some(bucket), _) => bucket,
        (None, Some(location)) => BucketName::new(&location.bucket).map_err(|error| {
            miette!(
                help = "give the bucket with `--bucket`",
                "Twilio's S3 URL names the bucket `{}`: {error}",
                location.bucket
            )
        })?,
        (None, None) => {
            return Err(miette!(
                help = "to describe a new environment, run `stowage init` without `--from-existing`; or name the \
                        bucket with `--bucket` and `--region`",
                "Twilio's recording and composition settings name no S3 bucket: there is no setup to start from"
            ));
        }
    };
    let region = match (region_flag, location.filter(|location| location.bucket == bucket.as_str())) {
        (Some(region), _) => region,
        (None, Some(location)) => Region::new(&location.region).map_err(|error| {
            miette!(
                help = "give the region with `--region`",
                "Twilio's S3 URL names the region `{}`: {error}",
                location.region
            )
        })?,
        (None, None) => {
            return Err(miette!(
                help = "give it with `--region`",
                "could not determine the region of bucket `{bucket}`: no Twilio S3 URL names it"
            ));
        }
    };
    Ok((bucket, region))
}

/// `[recordings]` or `[compositions]` from its settings: stored under the URL's path when they
/// store in the chosen bucket.
fn storage(source: &Source<'_>, bucket: &BucketName, region: &Region, notes: &mut Vec<String>) -> StorageDraft {
    let default = Prefix::new(&format!("{}/", source.what)).unwrap_or_else(|_| Prefix::whole_bucket());
    let here = source.location.as_ref().filter(|location| location.bucket == bucket.as_str());
    let prefix = match here.map(|location| Prefix::new(&location.path)) {
        Some(Ok(prefix)) => prefix,
        Some(Err(error)) => {
            notes.push(format!("the {} prefix of Twilio's URL is not one stowage can use: {error}", source.what));
            default.clone()
        }
        None => default.clone(),
    };
    match (source.enabled, here) {
        (true, Some(location)) => {
            if !location.host_exists_for(region.as_str()) {
                notes.push(format!(
                    "Twilio's {} URL uses the `s3-{region}` host, which S3 does not answer in `{region}`: the first \
                     apply gives Twilio the `s3.{region}` form",
                    source.what
                ));
            }
            StorageDraft { store_in_s3: true, prefix, comment: None }
        }
        (true, None) => {
            let elsewhere = source.location.as_ref().map_or_else(
                || "a URL stowage cannot read".to_owned(),
                |location| format!("bucket `{}`", location.bucket),
            );
            notes.push(format!(
                "Twilio stores {} in {elsewhere}, not `{bucket}`: a spec has one bucket, and with `store_in_s3 = false` \
                 the first apply would switch that storage off; give it its own bucket's spec or move it first",
                source.what
            ));
            StorageDraft {
                store_in_s3: false,
                prefix,
                comment: Some(format!("Twilio stores {} in {elsewhere} now (see the notes above).", source.what)),
            }
        }
        (false, _) => StorageDraft {
            store_in_s3: false,
            prefix,
            comment: Some(format!(
                "Twilio's {} settings do not store in S3 now; `store_in_s3 = true` would have it store here.",
                source.what.trim_end_matches('s')
            )),
        },
    }
}

/// The bucket as `aws_s3_bucket` reads it; what cannot be read or said in a spec is a note, and
/// stowage's defaults stand in for it.
async fn read_bucket(
    aws: &stowage_aws::AwsProvider,
    bucket: &BucketName,
    notes: &mut Vec<String>,
) -> (BucketSpec, Option<String>) {
    let mut draft = BucketSpec {
        name: bucket.clone(),
        versioning: true,
        block_public_access: true,
        tags: BTreeMap::new(),
        lifecycle: Vec::new(),
        encryption: None,
    };
    let found = match stowage_aws::existing::bucket(aws, bucket.as_str()).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            notes.push(format!(
                "bucket `{bucket}` does not exist (or these AWS credentials cannot see it): the first apply creates \
                 it, versioned and blocking public access"
            ));
            return (draft, None);
        }
        Err(error) => {
            notes.push(format!(
                "could not read bucket `{bucket}` ({error}): its versioning, public access block, tags, lifecycle \
                 rules and encryption here are stowage's defaults"
            ));
            return (draft, None);
        }
    };
    draft.versioning = found.versioning.unwrap_or(false);
    draft.block_public_access = found.block_public_access.unwrap_or(false);
    for (key, value) in found.tags.unwrap_or_default() {
        match stowage_spec::check_tag(&key, &value) {
            Ok(()) => {
                draft.tags.insert(key, value);
            }
            Err(error) => {
                notes.push(format!("the bucket's tag `{key}` cannot be in a spec ({error}): apply would remove it"))
            }
        }
    }
    for rule in found.lifecycle.unwrap_or_default() {
        let shown = if rule.prefix.is_empty() { "the whole bucket".to_owned() } else { format!("`{}`", rule.prefix) };
        let prefix = Prefix::new(&rule.prefix);
        let why = match (&prefix, rule.expire_after_days, rule.enabled) {
            (_, _, Some(false)) => Some("it is disabled".to_owned()),
            (_, None | Some(0), _) => Some("it does not expire objects after a number of days".to_owned()),
            (Err(error), _, _) => Some(error.to_string()),
            (Ok(prefix), Some(_), _) if draft.lifecycle.iter().any(|kept| kept.prefix == *prefix) => {
                Some("another rule has the same prefix".to_owned())
            }
            _ => None,
        };
        match (why, prefix, rule.expire_after_days) {
            (None, Ok(prefix), Some(days)) => draft.lifecycle.push(LifecycleRule { prefix, expire_after_days: days }),
            (why, _, _) => notes.push(format!(
                "the bucket's lifecycle rule on {shown} cannot be said in a spec ({}): apply would remove it",
                why.unwrap_or_default()
            )),
        }
    }
    (draft, found.sse_kms_key)
}

/// The spec's `encryption`: the flag's, else the bucket's key (`key`, as its default encryption
/// names it) by ARN, or, asked on a terminal, taken over with `create`.
async fn encryption(
    aws: &stowage_aws::AwsProvider,
    key: Option<String>,
    flag: Option<Encryption>,
    terminal: bool,
    notes: &mut Vec<String>,
) -> Result<Option<Encryption>, Report> {
    let found = match key {
        None => None,
        Some(key) => match KmsKeyArn::new(&key) {
            Ok(arn) => Some(arn),
            Err(_) => match stowage_aws::existing::kms_key_arn(aws, &key).await {
                Ok(Some(arn)) if key != "aws/s3" => KmsKeyArn::new(&arn).ok(),
                Ok(_) => {
                    notes.push(format!(
                        "the bucket encrypts with the KMS key `{key}`, which a spec cannot name (an AWS managed key, \
                         or one these credentials cannot describe): without `encryption`, the first apply sets S3's \
                         own default"
                    ));
                    None
                }
                Err(error) => {
                    notes.push(format!("could not determine the ARN of the bucket's KMS key `{key}`: {error}"));
                    None
                }
            },
        },
    };
    Ok(match (flag, found) {
        (Some(Encryption::KmsCreate), Some(arn)) => {
            notes.push(format!(
                "`kms_key = \"create\"` takes the bucket's key `{arn}` over: `stowage import` records it, and \
                 stowage then manages its key policy, rotation and alias"
            ));
            Some(Encryption::KmsCreate)
        }
        (Some(Encryption::KmsKeyArn(named)), Some(arn)) if named != arn => {
            notes.push(format!("the bucket encrypts with `{arn}`: the first apply switches it to `{named}`"));
            Some(Encryption::KmsKeyArn(named))
        }
        (Some(flag), _) => Some(flag),
        (None, Some(arn)) if terminal => {
            let take_over = dialoguer::Confirm::new()
                .with_prompt(format!(
                    "The bucket encrypts with KMS key {arn}. Should stowage manage that key (its policy, rotation \
                     and alias)?"
                ))
                .default(false)
                .interact()
                .map_err(|error| miette!("could not read the answer: {error}"))?;
            Some(if take_over { Encryption::KmsCreate } else { Encryption::KmsKeyArn(arn) })
        }
        (None, found) => found.map(Encryption::KmsKeyArn),
    })
}

/// `[uploader]`: the one user that may write under every stored prefix; stowage's own when
/// none may; the likeliest of several, the others listed.
async fn uploader(
    aws: &stowage_aws::AwsProvider,
    region: &Region,
    bucket: &BucketName,
    prefixes: &[String],
    name: &EnvironmentName,
    notes: &mut Vec<String>,
) -> UploaderDraft {
    let own = UploaderUser { user_name: Draft::default_user_name(name), path: Draft::default_user_path(), why: None };
    if prefixes.is_empty() {
        return UploaderDraft::NoneFound(own);
    }
    let search = match stowage_aws::existing::uploaders(aws, region.partition(), bucket.as_str(), prefixes).await {
        Ok(search) => search,
        Err(error) => {
            notes.push(format!(
                "could not determine the uploader: the IAM users could not be read ({error}); `[uploader]` names \
                 stowage's own user"
            ));
            return UploaderDraft::NoneFound(own);
        }
    };
    for (user, why) in &search.undetermined {
        notes.push(format!("could not determine whether IAM user `{user}` may write there: {why}"));
    }
    let mut found: Vec<(UploaderUser, usize)> = search
        .found
        .iter()
        .filter_map(|user| {
            let keys = match user.access_keys {
                0 => "no access key".to_owned(),
                1 => "1 access key".to_owned(),
                count => format!("{count} access keys"),
            };
            let why = format!("{}; {keys}", user.allowed_by.join(", "));
            Some((
                UploaderUser {
                    user_name: IamUserName::new(&user.user_name).ok()?,
                    path: IamPath::new(&user.path).ok()?,
                    why: Some(format!("allowed by {why}")),
                },
                user.access_keys,
            ))
        })
        .collect();
    let where_ = format!(
        "`s3:PutObject` under {} in `{bucket}`",
        prefixes.iter().map(|prefix| format!("`{prefix}`")).collect::<Vec<_>>().join(" and ")
    );
    // A user with an access key is likelier Twilio's than one without; then by name.
    found.sort_by(|(left, left_keys), (right, right_keys)| {
        (*left_keys == 0, &left.user_name).cmp(&(*right_keys == 0, &right.user_name))
    });
    let mut users = found.into_iter().map(|(user, _)| user);
    match (users.next(), users.collect::<Vec<_>>()) {
        (None, _) => {
            notes.push(format!(
                "could not determine the uploader: none of the {} IAM users may {where_} by its own policies; \
                 `[uploader]` names stowage's own user, which the first apply creates",
                search.users
            ));
            UploaderDraft::NoneFound(own)
        }
        (Some(user), others) if others.is_empty() => UploaderDraft::Found(user),
        (Some(chosen), others) => {
            notes.push(format!(
                "{} IAM users may {where_}: `{}` was chosen, the others are listed above `[uploader]`",
                others.len() + 1,
                chosen.user_name
            ));
            UploaderDraft::Several { chosen, others }
        }
    }
}

/// What was written, what could not be determined (stderr), and what comes next.
fn report(draft: &Draft, path: &str) {
    let stored: Vec<&str> = [("recordings", &draft.recordings), ("compositions", &draft.compositions)]
        .into_iter()
        .filter(|(_, storage)| storage.store_in_s3)
        .map(|(what, _)| what)
        .collect();
    let user = draft.uploader.user();
    println!("Wrote {path}: environment `{}`, from what exists:", draft.environment);
    if let Some(account) = &draft.account_sid {
        let stored = if stored.is_empty() {
            "nothing stored in S3".to_owned()
        } else {
            format!("{} stored in S3", stored.join(" and "))
        };
        println!("  Twilio account  {account} ({stored})");
    }
    println!("  bucket          {} in {}", draft.bucket.name, draft.region);
    println!("  uploader        {} (path {})", user.user_name, user.path);
    println!(
        "\nTwilio never returns the secret of the access key it holds, nor says which key that is: `stowage import` \
         records the user's key, and the first apply replaces it, and Twilio's credential, with a key no person has \
         seen (`stowage import --keep-key` keeps them)."
    );
    println!("\nNext steps:");
    println!("  stowage import {path} --dry-run   # what import would record; nothing is written");
    println!("  stowage import {path}             # record it in the state, after asking");
    println!("  stowage plan {path}               # what the first apply would change");
    if !draft.notes.is_empty() {
        eprintln!("warning: some things could not be determined or were decided for you; check them in {path}:");
        for note in &draft.notes {
            eprintln!("  - {note}");
        }
    }
}

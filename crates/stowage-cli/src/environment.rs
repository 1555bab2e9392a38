//! Everything a command needs about one environment: the spec, the state, the providers.
//! This is where flags, files and the process environment meet.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use miette::{IntoDiagnostic, Report, WrapErr, miette};
use stowage_aws::{AwsProvider, AwsSettings};
use stowage_engine::{Engine, Progress};
use stowage_plan::{DesiredResource, Observations, Plan, Prior};
use stowage_provider::{ProviderName, ResourceType};
use stowage_spec::Spec;
use stowage_state::{LocalStateFile, State, StateLock};

use crate::cli::StateArgs;
use crate::locking::Locking;

/// A spec file read and validated.
pub struct LoadedSpec {
    pub path: PathBuf,
    /// SHA-256 of the file's bytes, which a saved plan records.
    pub sha256: String,
    pub spec: Spec,
    /// The spec's warnings (domain lints), which every plan output carries.
    pub warnings: Vec<stowage_plan::PlanDiagnostic>,
    /// The same warnings, with their source spans, for `validate` to draw.
    pub spec_warnings: Vec<stowage_spec::Diagnostic>,
}

/// Read and validate a spec. Every problem is reported at once, with file:line:col.
pub fn load_spec(path: &Path) -> Result<LoadedSpec, Report> {
    let bytes = std::fs::read(path).map_err(|error| {
        miette!(
            help = "pass the path of an environment's spec file (TOML), e.g. `stowage plan dev.toml`",
            "could not read the spec `{}`: {error}",
            path.display()
        )
    })?;
    if stowage_plan::plan_file::looks_like_plan(&bytes) {
        return Err(miette!(
            help = format!(
                "apply a saved plan with `stowage apply {0}`, print it with `stowage show {0}`; validate, plan, drift and verify take the spec (`.toml`) it was made from",
                path.display()
            ),
            "`{}` is a saved plan, not a spec",
            path.display()
        ));
    }
    let text = String::from_utf8(bytes).map_err(|error| {
        miette!(
            help = "save the spec as UTF-8 text",
            "the spec `{}` is not UTF-8 text: invalid byte at offset {}",
            path.display(),
            error.utf8_error().valid_up_to()
        )
    })?;
    let mut validated = stowage_spec::parse(&path.display().to_string(), &text).map_err(Report::new)?;
    // The files the spec names (encryption public keys) are read now, before any request, and
    // resolved against the spec's own directory so that the spec means the same from anywhere.
    let parent = path.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let spec_directory = std::path::absolute(parent).unwrap_or_else(|_| parent.to_owned());
    stowage_spec::load_public_keys(&mut validated.spec, &spec_directory, &|key| std::fs::read_to_string(key))
        .map_err(Report::new)?;
    let warnings = validated
        .warnings
        .iter()
        .map(|warning| {
            let (line, column) = warning.line_col();
            stowage_plan::PlanDiagnostic {
                severity: stowage_plan::Severity::Warning,
                address: None,
                message: format!("{} ({}:{line}:{column})", warning.message(), path.display()),
                hint: warning.help().map(str::to_owned),
            }
        })
        .collect();
    let sha256 = stowage_plan::plan_file::sha256_hex(text.as_bytes());
    Ok(LoadedSpec { path: path.to_owned(), sha256, spec: validated.spec, warnings, spec_warnings: validated.warnings })
}

/// The state path: `--state`, or the spec's path with `.state.json` in place of `.toml`.
pub fn state_path(spec: &Path, flag: Option<&Path>) -> PathBuf {
    match flag {
        Some(path) => path.to_owned(),
        None => {
            let stem = spec.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default();
            spec.with_file_name(format!("{stem}.state.json"))
        }
    }
}

/// An environment ready to plan: spec, state, providers.
pub struct Environment {
    pub spec: LoadedSpec,
    /// Whether the state file existed (a saved plan records the state only then).
    pub state_existed: bool,
    pub state_file: LocalStateFile,
    pub state: State,
    pub prior: Prior,
    pub desired: Vec<DesiredResource>,
    pub engine: Engine,
    pub aws: AwsProvider,
    /// The state lock, held for as long as the environment is open (`None` with
    /// `--lock=false`).
    #[expect(dead_code, reason = "held, never read: dropping it releases the lock")]
    pub lock: Option<StateLock>,
}

impl Environment {
    /// Open the environment of the spec at `spec_path`. The state is at `state`, else beside
    /// the spec. The state is locked as `locking` says before it is read.
    pub async fn open(
        spec_path: &Path,
        state: Option<&Path>,
        args: &StateArgs,
        locking: Locking<'_>,
        progress: Arc<dyn Progress>,
    ) -> Result<Self, Report> {
        let spec = load_spec(spec_path)?;
        let state_file = LocalStateFile::new(state_path(spec_path, args.state.as_deref().or(state)));
        // Before the lock, whose file goes into the same directory; a state whose directory is
        // missing does not exist either.
        check_state_directory(state_file.path())?;
        let lock = locking.take(state_file.path())?;
        let environment_name = spec.spec.environment.name.as_str().to_owned();
        let loaded = state_file.load().into_diagnostic()?;
        let state_existed = loaded.is_some();
        let state = match loaded {
            Some(state) => {
                stowage_state::check_compatible(&state, &environment_name)
                    .into_diagnostic()
                    .wrap_err_with(|| format!("state file `{}`", state_file.path().display()))?;
                state
            }
            None => State::new(environment_name, env!("CARGO_PKG_VERSION")),
        };
        let prior = Prior::from_state(&state).into_diagnostic()?;
        let desired = stowage_plan::desired_resources(&spec.spec);
        let request_timeout = request_timeout()?;
        let propagation_window = propagation_window()?;

        let aws = AwsProvider::connect(&AwsSettings {
            region: spec.spec.aws.region.as_str().to_owned(),
            profile: spec.spec.aws.profile.clone(),
            max_attempts: None,
            request_timeout,
            propagation_window,
            on_wait: Some(crate::progress::propagation_notifier()),
        })
        .await;
        aws.check_credentials().await.map_err(|error| miette!("{error}"))?;
        let needs_twilio = desired
            .iter()
            .map(|resource| resource.address.resource_type)
            .chain(prior.resources().map(|resource| resource.address.resource_type))
            .any(|resource_type: ResourceType| resource_type.provider() == ProviderName::Twilio);
        let twilio = if needs_twilio { Some(crate::twilio::provider(request_timeout)?) } else { None };
        let engine = Engine {
            aws: Arc::new(aws.clone()),
            twilio: twilio.map(|twilio| Arc::new(twilio) as Arc<dyn stowage_provider::Provider>),
            parallelism: usize::from(args.parallelism),
            progress,
        };
        Ok(Self { spec, state_existed, state_file, state, prior, desired, engine, aws, lock })
    }

    /// Read everything, then plan. Returns the plan and what was observed.
    pub async fn plan(&self) -> Result<(Plan, Observations), Report> {
        let targets = stowage_plan::read_targets(&self.desired, &self.prior);
        let (observations, leftovers, kms_key) =
            tokio::join!(self.refresh(&targets), self.find_leftovers(), self.check_existing_kms_key());
        let (observations, leftovers) = (observations?, leftovers?);
        kms_key?;
        let mut plan = stowage_plan::plan_with_leftovers(&self.desired, &self.prior, &observations, &leftovers);
        plan.diagnostics.extend(self.spec.warnings.iter().cloned());
        Ok((plan, observations))
    }

    /// What interrupted applies left behind, for the intents the state still holds (nothing
    /// to ask when it holds none).
    pub async fn find_leftovers(&self) -> Result<stowage_plan::Leftovers, Report> {
        if self.state.intents.is_empty() {
            return Ok(stowage_plan::Leftovers::new());
        }
        stowage_engine::find_leftovers(&self.engine, &self.state).await.map_err(|error| {
            let details: Vec<String> =
                error.failures.iter().map(|(address, failure)| format!("  {address}: {failure}")).collect();
            miette!(
                help = "an earlier apply was interrupted; stowage must see what it left before it can plan",
                "could not look for what an interrupted apply left behind:\n{}",
                details.join("\n")
            )
        })
    }

    /// A KMS key the spec names by ARN is used, not managed: it must exist and be able to
    /// encrypt, or every upload would fail (Twilio debugger 53615).
    async fn check_existing_kms_key(&self) -> Result<(), Report> {
        let Some(stowage_spec::Encryption::KmsKeyArn(arn)) = &self.spec.spec.bucket.encryption else {
            return Ok(());
        };
        let status = stowage_aws::inspect::kms_key_status(&self.aws, arn.as_str()).await;
        let problem = match status.map_err(|error| miette!("could not check KMS key `{arn}`: {error}"))? {
            stowage_aws::inspect::KmsKeyStatus::Usable => return Ok(()),
            stowage_aws::inspect::KmsKeyStatus::Missing => {
                "does not exist, or these credentials may not see it".to_owned()
            }
            stowage_aws::inspect::KmsKeyStatus::Unusable(why) => format!("cannot encrypt: {why}"),
        };
        Err(miette!(
            help = "set `[bucket] encryption = { kms_key = \"...\" }` to an enabled symmetric key in the bucket's region, \
                    or to \"create\" to let stowage make one",
            "the bucket's KMS key `{arn}` {problem}"
        ))
    }

    /// Read the given targets, each once, at the same time.
    ///
    /// When the spec names a Twilio account, what was read must be that account's: the
    /// storage settings say which account the Twilio credentials act as, and a mismatch is
    /// refused here, before any command can write (see `stowage_plan::account`). Reads that
    /// reach Twilio without either settings (a saved plan's apply reads only what it touches)
    /// read one of them too, for this check only.
    pub async fn refresh(&self, targets: &[stowage_plan::ReadTarget]) -> Result<Observations, Report> {
        let started = Instant::now();
        let account_reads = account_reads(&self.spec.spec, &self.desired, &self.prior, targets);
        let reads: std::borrow::Cow<'_, [stowage_plan::ReadTarget]> = if account_reads.is_empty() {
            std::borrow::Cow::Borrowed(targets)
        } else {
            std::borrow::Cow::Owned(targets.iter().chain(&account_reads).cloned().collect())
        };
        let mut observations = stowage_engine::refresh(&self.engine, &reads).await.map_err(|error| {
            let details: Vec<String> = error
                .failures
                .iter()
                .map(|(address, failure)| {
                    let hint = failure.hint.as_ref().map(|hint| format!("\n    hint: {hint}")).unwrap_or_default();
                    format!("  {address}: {failure}{hint}")
                })
                .collect();
            miette!("could not read the current state of the environment:\n{}", details.join("\n"))
        })?;
        tracing::info!(
            reads = reads.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            calls = ?self.aws.calls().snapshot(),
            "refreshed"
        );
        if let Some(twilio) = &self.spec.spec.twilio {
            stowage_plan::account::check_twilio_account(&twilio.account_sid, &observations)
                .map_err(|mismatch| account_mismatch(&mismatch, &self.spec.path))?;
        }
        for read in &account_reads {
            observations.remove(&read.address);
        }
        Ok(observations)
    }
}

/// A new state is written into the directory of its path: refuse a path whose directory is
/// missing before anything is created, or apply would make resources it cannot record.
fn check_state_directory(path: &Path) -> Result<(), Report> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => return Ok(()),
    };
    if directory.is_dir() {
        return Ok(());
    }
    Err(miette!(
        help = "create the directory, or pass a `--state` path in an existing one",
        "the directory `{}` of the state file `{}` does not exist",
        directory.display(),
        path.display()
    ))
}

/// `STOWAGE_REQUEST_TIMEOUT` (e.g. `30s`, `1500ms`): how long one request to AWS or Twilio
/// may take before it is abandoned (and retried when that is safe). Unset: 30 seconds.
fn request_timeout() -> Result<Option<std::time::Duration>, Report> {
    duration_variable("STOWAGE_REQUEST_TIMEOUT", "30 seconds", false)
}

/// `STOWAGE_PROPAGATION_WINDOW` (e.g. `2m`, `0s`): how long to wait for IAM and KMS to
/// propagate a new access key or user. Unset: two minutes on AWS, none against a loopback
/// endpoint (an emulator propagates at once).
fn propagation_window() -> Result<Option<std::time::Duration>, Report> {
    duration_variable("STOWAGE_PROPAGATION_WINDOW", "two minutes on AWS, none against a local emulator", true)
}

/// A duration from the environment variable `name`, if set; `default` is said in the help.
fn duration_variable(name: &str, default: &str, zero_allowed: bool) -> Result<Option<std::time::Duration>, Report> {
    let Some(value) = std::env::var_os(name) else { return Ok(None) };
    let text = value.to_string_lossy();
    match humantime::parse_duration(text.trim()) {
        Ok(duration) if zero_allowed || !duration.is_zero() => Ok(Some(duration)),
        Ok(_) => Err(miette!(help = "give a positive duration, e.g. `30s` or `1500ms`", "{name} is zero")),
        Err(error) => Err(miette!(
            help = format!("give a duration such as `30s` or `1500ms`, or unset it for the default of {default}"),
            "{name}=`{text}` is not a duration: {error}"
        )),
    }
}

/// Whether to colour stdout: only on a terminal, never with `NO_COLOR`.
pub fn stdout_color() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty()) && std::io::stdout().is_terminal()
}

/// The storage settings read `refresh` adds to learn which account the Twilio credentials act
/// as: one, when the spec names an account and `targets` reach Twilio without reading either
/// settings; none otherwise (the settings are read anyway, or nothing is asked of Twilio).
fn account_reads(
    spec: &Spec,
    desired: &[DesiredResource],
    prior: &Prior,
    targets: &[stowage_plan::ReadTarget],
) -> Vec<stowage_plan::ReadTarget> {
    let reaches_twilio = targets.iter().any(|target| target.address.resource_type.provider() == ProviderName::Twilio);
    let reads_settings = targets.iter().any(|target| stowage_plan::account::is_settings(target.address.resource_type));
    if spec.twilio.is_none() || !reaches_twilio || reads_settings {
        return Vec::new();
    }
    stowage_plan::read_targets(desired, prior)
        .into_iter()
        .filter(|target| stowage_plan::account::is_settings(target.address.resource_type))
        .take(1)
        .collect()
}

/// The refusal of Twilio credentials that act as another account than the spec's: both SIDs,
/// the credentials in use (their SID only, never a secret), and the two ways out.
fn account_mismatch(mismatch: &stowage_plan::account::AccountMismatch, spec_path: &Path) -> Report {
    let stowage_plan::account::AccountMismatch { expected, actual, .. } = mismatch;
    let in_use = twilio_credentials_in_use().map(|in_use| format!("These are {in_use}. ")).unwrap_or_default();
    miette!(
        help = format!(
            "Twilio applies storage settings to the account the credentials act as. {in_use}Use credentials of \
             {expected}: an API key made in it (`TWILIO_API_KEY` and `TWILIO_API_SECRET`) or its `TWILIO_ACCOUNT_SID` \
             and `TWILIO_AUTH_TOKEN`. Or, if {actual} is the account you mean, set \
             `[twilio] account_sid = \"{actual}\"` in `{}`",
            spec_path.display()
        ),
        "{mismatch}"
    )
}

/// Which Twilio credentials the environment holds, by SID (an identifier, not a secret).
fn twilio_credentials_in_use() -> Option<String> {
    let auth = stowage_twilio::TwilioAuth::from_lookup(|name| std::env::var(name).ok()).ok()?;
    Some(match auth.kind() {
        stowage_twilio::CredentialKind::ApiKey => {
            let mut text =
                format!("the API key {} (`TWILIO_API_KEY`), which acts as the account it was made in", auth.username());
            if std::env::var_os("TWILIO_ACCOUNT_SID").is_some() {
                text.push_str(", whatever `TWILIO_ACCOUNT_SID` says");
            }
            text
        }
        stowage_twilio::CredentialKind::AccountAuthToken => {
            format!("the auth token of account {} (`TWILIO_ACCOUNT_SID`)", auth.username())
        }
    })
}

#[cfg(test)]
mod tests {
    use stowage_plan::account::is_settings;
    use stowage_provider::Address;

    use super::*;

    fn dev() -> (Spec, Vec<DesiredResource>, Prior) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/dev.toml");
        let text = std::fs::read_to_string(path).unwrap();
        let spec = stowage_spec::parse("dev.toml", &text).unwrap().spec;
        let desired = stowage_plan::desired_resources(&spec);
        let prior = Prior::from_state(&State::new("dev", "0.0.0")).unwrap();
        (spec, desired, prior)
    }

    fn addresses(targets: &[stowage_plan::ReadTarget]) -> Vec<String> {
        targets.iter().map(|target| target.address.to_string()).collect()
    }

    #[test]
    fn a_read_reaching_twilio_without_the_settings_adds_one_settings_read() {
        let (spec, desired, prior) = dev();
        let all = stowage_plan::read_targets(&desired, &prior);
        let only = |wanted: &dyn Fn(&Address) -> bool| -> Vec<_> {
            all.iter().filter(|target| wanted(&target.address)).cloned().collect()
        };

        // A saved plan that touches the credential only.
        let credential = only(&|address| address.resource_type == ResourceType::TwilioAwsCredential);
        assert_eq!(
            addresses(&account_reads(&spec, &desired, &prior, &credential)),
            ["twilio_video_recording_settings.main"]
        );

        // The settings are read anyway, or Twilio is not asked at all: nothing to add.
        assert!(account_reads(&spec, &desired, &prior, &all).is_empty());
        let settings = only(&|address| is_settings(address.resource_type));
        assert!(account_reads(&spec, &desired, &prior, &settings[1..]).is_empty());
        let aws = only(&|address| address.resource_type.provider() == ProviderName::Aws);
        assert!(account_reads(&spec, &desired, &prior, &aws).is_empty());
        assert!(account_reads(&spec, &desired, &prior, &[]).is_empty());

        // A spec without `[twilio]` names no account to check.
        let mut without_twilio = spec.clone();
        without_twilio.twilio = None;
        assert!(account_reads(&without_twilio, &desired, &prior, &credential).is_empty());
    }
}

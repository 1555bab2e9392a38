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
use stowage_state::{LocalStateFile, State};

use crate::cli::StateArgs;

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
    let text = std::fs::read_to_string(path)
        .into_diagnostic()
        .wrap_err_with(|| format!("could not read the spec `{}`", path.display()))?;
    let validated = stowage_spec::parse(&path.display().to_string(), &text).map_err(Report::new)?;
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
}

impl Environment {
    /// Open the environment of the spec at `spec_path`. The state is at `state`, else beside
    /// the spec.
    pub async fn open(
        spec_path: &Path,
        state: Option<&Path>,
        args: &StateArgs,
        progress: Arc<dyn Progress>,
    ) -> Result<Self, Report> {
        let spec = load_spec(spec_path)?;
        let state_file = LocalStateFile::new(state_path(spec_path, args.state.as_deref().or(state)));
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

        let aws = AwsProvider::connect(&AwsSettings {
            region: spec.spec.aws.region.as_str().to_owned(),
            profile: spec.spec.aws.profile.clone(),
            max_attempts: None,
        })
        .await;
        let needs_twilio = desired
            .iter()
            .map(|resource| resource.address.resource_type)
            .chain(prior.resources().map(|resource| resource.address.resource_type))
            .any(|resource_type: ResourceType| resource_type.provider() == ProviderName::Twilio);
        let twilio = if needs_twilio { Some(crate::twilio::provider()?) } else { None };
        let engine = Engine {
            aws: Arc::new(aws.clone()),
            twilio: twilio.map(|twilio| Arc::new(twilio) as Arc<dyn stowage_provider::Provider>),
            parallelism: usize::from(args.parallelism),
            progress,
        };
        Ok(Self { spec, state_existed, state_file, state, prior, desired, engine, aws })
    }

    /// Read everything, then plan. Returns the plan and what was observed.
    pub async fn plan(&self) -> Result<(Plan, Observations), Report> {
        let targets = stowage_plan::read_targets(&self.desired, &self.prior);
        let observations = self.refresh(&targets).await?;
        let mut plan = stowage_plan::plan(&self.desired, &self.prior, &observations);
        plan.diagnostics.extend(self.spec.warnings.iter().cloned());
        Ok((plan, observations))
    }

    /// Read the given targets, each once, at the same time.
    pub async fn refresh(&self, targets: &[stowage_plan::ReadTarget]) -> Result<Observations, Report> {
        let started = Instant::now();
        let observations = stowage_engine::refresh(&self.engine, targets).await.map_err(|error| {
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
            reads = targets.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            calls = ?self.aws.calls().snapshot(),
            "refreshed"
        );
        Ok(observations)
    }
}

/// Whether to colour stdout: only on a terminal, never with `NO_COLOR`.
pub fn stdout_color() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty()) && std::io::stdout().is_terminal()
}

//! One environment opened for a command: its spec, its state (locked as the command needs,
//! then read once), the providers, and the engine. Commands read, plan and record only through
//! a [`Session`], which calls the engine: every state write is the engine's.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use miette::{IntoDiagnostic, Report, WrapErr, miette};
use stowage_aws::{AwsProvider, AwsSettings};
use stowage_engine::{ApplyError, ApplyOutcome, Engine, ReadError, RefreshError};
use stowage_plan::plan_file::StateFingerprint;
use stowage_plan::{DesiredResource, Observations, Plan, PlanDiagnostic, Prior, ReadTarget, Severity};
use stowage_provider::{Address, Observed, ProviderName, ResourceType};
use stowage_state::{State, StateStore};

use crate::locking::Locking;
use crate::progress::StderrProgress;
use crate::settings::{Settings, StateSettings};
use crate::spec_file::{LoadedSpec, load_spec};
use crate::store::{StateLocation, Store, StoreLock};

/// An environment ready to plan and apply.
pub struct Session {
    pub spec: LoadedSpec,
    store: Store,
    state: State,
    /// Whether the state existed (a saved plan records the state only then).
    state_existed: bool,
    prior: Prior,
    desired: Vec<DesiredResource>,
    /// What discovering a fleet's subaccounts found worth saying (a listed one not active).
    fleet_notes: Vec<PlanDiagnostic>,
    /// A fleet's Twilio provider, acting for its members, and the members: for the reads
    /// that are not a resource's (`alerts`).
    fleet: Option<(stowage_twilio::TwilioProvider, Vec<String>)>,
    engine: Engine,
    aws: AwsProvider,
    /// The Twilio credentials in use, by SID, for the refusal of another account's.
    twilio_credentials: Option<String>,
    /// The state lock, held for as long as the session is open (`None` with `--lock=false`):
    /// dropping it releases the lock.
    _lock: Option<StoreLock>,
}

impl Session {
    /// Open the environment of the spec at `spec_path`, its state where `state` says. The
    /// state is locked as `locking` says before it is read.
    pub async fn open(
        settings: &Settings,
        spec_path: &Path,
        state: StateSettings,
        locking: Locking,
    ) -> Result<Self, Report> {
        Self::open_loaded(settings, load_spec(spec_path)?, state, locking).await
    }

    /// [`Session::open`] of a spec already loaded (and checked: `destroy` refuses a spec that
    /// prevents it before anything else).
    pub async fn open_loaded(
        settings: &Settings,
        spec: LoadedSpec,
        state: StateSettings,
        locking: Locking,
    ) -> Result<Self, Report> {
        let aws = connect_aws(spec.spec.aws.region.as_str(), spec.spec.aws.profile.as_deref(), settings).await?;
        let location = StateLocation::resolve(&spec.path, state.explicit.as_ref(), Some(&spec.spec));
        let store = crate::store::open(&location, Some(&aws), Some(&spec.spec))?;
        if let Some(file) = store.local() {
            // Before the lock, whose file goes into the same directory; a state whose directory
            // is missing does not exist either.
            check_state_directory(file.path())?;
        }
        let lock = locking.take(&store, &settings.lock).await?;
        if let Store::S3(remote) = &store
            && locking.writes()
        {
            // What keeps the state safe in S3 is the bucket's to give: say what is missing.
            for warning in remote.check_bucket().await {
                eprintln!("warning: {warning}");
            }
        }
        let (loaded, state_existed) = read_state(&store, spec.spec.environment.name.as_str()).await?;
        let prior = Prior::from_state(&loaded).into_diagnostic()?;
        let (desired, twilio, fleet_notes, fleet) = match &spec.spec.fleet {
            Some(fleet) => {
                let twilio = crate::twilio::provider(settings.request_timeout()?, &settings.twilio)?;
                let fleet = discover_fleet(&spec, fleet, &prior, twilio).await?;
                (fleet.desired, Some(fleet.twilio), fleet.notes, Some((fleet.acting, fleet.members)))
            }
            None => {
                let desired = stowage_plan::desired_resources(&spec.spec);
                let twilio = if needs_twilio(&desired, &prior) {
                    Some(Arc::new(crate::twilio::provider(settings.request_timeout()?, &settings.twilio)?)
                        as Arc<dyn stowage_provider::Provider>)
                } else {
                    None
                };
                (desired, twilio, Vec::new(), None)
            }
        };
        let engine = Engine {
            aws: Arc::new(aws.clone()),
            twilio,
            parallelism: state.parallelism,
            progress: Arc::new(StderrProgress::counting(aws.calls().clone())),
        };
        Ok(Self {
            spec,
            store,
            state: loaded,
            state_existed,
            prior,
            desired,
            fleet_notes,
            fleet,
            engine,
            aws,
            twilio_credentials: settings.twilio.credentials_in_use(),
            _lock: lock,
        })
    }

    /// The state as read, with what this run recorded since.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Where the state is kept.
    pub fn state_location(&self) -> String {
        self.store.location()
    }

    /// `errored.state.json` beside the spec: where a run keeps the state it could not store.
    pub fn errored_state_path(&self) -> std::path::PathBuf {
        self.spec.path.with_file_name("errored.state.json")
    }

    /// The state a saved plan is made against: its lineage, serial and (in S3) object version,
    /// if it exists.
    pub fn fingerprint(&self) -> Option<StateFingerprint> {
        self.state_existed.then(|| StateFingerprint {
            lineage: self.state.lineage,
            serial: self.state.serial,
            version: self.store.version(),
        })
    }

    /// The AWS provider, for the extra reads of `verify`.
    pub fn aws(&self) -> &AwsProvider {
        &self.aws
    }

    /// Everything the environment has or wants, each address once.
    pub fn read_targets(&self) -> Vec<ReadTarget> {
        stowage_plan::read_targets(&self.desired, &self.prior)
    }

    /// Read everything, then plan now. Returns the plan and what was observed.
    pub async fn plan(&self) -> Result<(Plan, Observations), Report> {
        self.plan_replacing(&BTreeSet::new()).await
    }

    /// [`Session::plan`], replacing `replace` (`--replace`, `stowage rotate`). The clock is
    /// read here, once: the planner judges what ages by this time.
    pub async fn plan_replacing(&self, replace: &BTreeSet<Address>) -> Result<(Plan, Observations), Report> {
        let environment = self.environment();
        let inputs = stowage_plan::PlanInputs { now: Some(jiff::Timestamp::now()), replace: replace.clone() };
        let (planned, kms_key) = tokio::join!(
            stowage_engine::read_and_plan(&self.engine, &environment, &inputs),
            self.check_existing_kms_key()
        );
        let (mut plan, observations) = planned.map_err(|error| self.read_error(error))?;
        kms_key?;
        plan.diagnostics.extend(self.spec.warnings.iter().cloned());
        plan.diagnostics.extend(self.fleet_notes.iter().cloned());
        Ok((plan, observations))
    }

    /// Read everything the state records, what interrupted applies left and what the buckets
    /// hold, then plan the environment's destroy now (see
    /// [`stowage_engine::read_and_plan_destroy`]).
    pub async fn plan_destroy(&self) -> Result<(Plan, Observations), Report> {
        let environment = self.environment();
        let inputs = stowage_plan::PlanInputs { now: Some(jiff::Timestamp::now()), replace: BTreeSet::new() };
        let (plan, observations) = stowage_engine::read_and_plan_destroy(&self.engine, &environment, &inputs)
            .await
            .map_err(|error| self.read_error(error))?;
        Ok((plan, observations))
    }

    /// Read the given targets, each once, at the same time (checking the Twilio account, see
    /// [`stowage_engine::read`]).
    pub async fn read(&self, targets: &[ReadTarget]) -> Result<Observations, Report> {
        stowage_engine::read(&self.engine, &self.environment(), targets).await.map_err(|error| self.read_error(error))
    }

    /// Apply `plan`. `observations` are what the plan was made from just now (`apply SPEC`):
    /// the drift the spec accepts is recorded with the first step.
    pub async fn apply(
        &mut self,
        plan: &Plan,
        observations: Option<&Observations>,
    ) -> Result<ApplyOutcome, ApplyError> {
        match observations {
            Some(observations) => {
                stowage_engine::apply_accepting_drift(&self.engine, plan, observations, &mut self.state, &self.store)
                    .await
            }
            None => stowage_engine::apply(&self.engine, plan, &mut self.state, &self.store).await,
        }
    }

    /// Record what a plan with nothing to change still says (see
    /// [`stowage_engine::record_unchanged`]); returns whether accepted drift was recorded.
    pub async fn record_unchanged(&mut self, plan: &Plan, observations: &Observations) -> Result<bool, Report> {
        stowage_engine::record_unchanged(plan, observations, &mut self.state, &self.store).await.into_diagnostic()
    }

    /// A fleet's Twilio provider, acting for each member, and the members (by SID); `None`
    /// for a single account.
    pub fn fleet(&self) -> Option<(&stowage_twilio::TwilioProvider, &[String])> {
        self.fleet.as_ref().map(|(twilio, members)| (twilio, members.as_slice()))
    }

    /// What the spec asks for.
    pub fn desired(&self) -> &[DesiredResource] {
        &self.desired
    }

    /// What the state records.
    pub fn prior(&self) -> &Prior {
        &self.prior
    }

    /// Everything that exists for the spec's resources, found by the spec's own names (see
    /// [`stowage_engine::import::discover`]). Reads only.
    pub async fn discover(&self) -> Result<BTreeMap<Address, Vec<Observed>>, Report> {
        stowage_engine::import::discover(&self.engine, &self.environment())
            .await
            .map_err(|error| self.read_error(error))
    }

    /// The object `id` at `address`, read by that id.
    pub async fn read_by_id(&self, address: &Address, id: &str) -> Result<Option<Observed>, Report> {
        stowage_engine::import::read_by_id(&self.engine, &self.environment(), address, id)
            .await
            .map_err(|error| self.read_error(error))
    }

    /// What the state takes on trust, by address (see `stowage_state::ResourceState::unproven`).
    pub fn unproven(&self) -> BTreeMap<Address, String> {
        self.state
            .resources
            .iter()
            .filter_map(|resource| Some((resource.address.parse().ok()?, resource.unproven.clone()?)))
            .collect()
    }

    /// Record `imports` in the state, in one write.
    pub async fn record_imports(&mut self, imports: &[stowage_plan::import::Import]) -> Result<(), Report> {
        stowage_engine::import::record_imports(imports, &mut self.state, &self.store).await.into_diagnostic()
    }

    /// Record a refresh-only plan's drift in the state; returns how many resources.
    pub async fn record_refreshed(&mut self, plan: &Plan) -> Result<usize, Report> {
        stowage_engine::record_refreshed(plan, &mut self.state, &self.store).await.into_diagnostic()
    }

    /// The environment as the engine reads it: when the spec names a Twilio account, every
    /// read proves the credentials act as it.
    fn environment(&self) -> stowage_engine::Environment<'_> {
        let account = self.spec.spec.twilio.as_ref().map(|twilio| &twilio.account_sid);
        stowage_engine::Environment { desired: &self.desired, prior: &self.prior, state: &self.state, account }
    }

    fn read_error(&self, error: ReadError) -> Report {
        match error {
            ReadError::Refresh(error) => {
                miette!("could not read the current state of the environment:\n{}", failure_lines(&error, true))
            }
            ReadError::Leftovers(error) => miette!(
                help = "an earlier apply was interrupted; stowage must see what it left before it can plan",
                "could not look for what an interrupted apply left behind:\n{}",
                failure_lines(&error, false)
            ),
            ReadError::Account(mismatch) => {
                account_mismatch(&mismatch, &self.spec.path, self.twilio_credentials.as_deref())
            }
        }
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

/// The stored state of `environment` (refusing another environment's), or a new one; and
/// whether it was stored.
async fn read_state(store: &Store, environment: &str) -> Result<(State, bool), Report> {
    match crate::store::read(store).await? {
        Some(state) => {
            stowage_state::check_compatible(&state, environment)
                .into_diagnostic()
                .wrap_err_with(|| format!("state `{}`", store.location()))?;
            Ok((state, true))
        }
        None => Ok((State::new(environment, env!("CARGO_PKG_VERSION")), false)),
    }
}

/// The AWS provider for `region` and `profile`, with credentials that resolve.
pub async fn connect_aws(region: &str, profile: Option<&str>, settings: &Settings) -> Result<AwsProvider, Report> {
    let aws = AwsProvider::connect(&AwsSettings {
        region: region.to_owned(),
        profile: profile.map(str::to_owned),
        max_attempts: None,
        request_timeout: settings.request_timeout()?,
        propagation_window: settings.propagation_window()?,
        on_wait: Some(crate::progress::propagation_notifier()),
    })
    .await;
    aws.check_credentials().await.map_err(|error| miette!("{error}"))?;
    Ok(aws)
}

/// Whether the environment wants or records anything in Twilio: only then are Twilio
/// credentials needed.
/// A fleet as discovered now: what it asks for, the Twilio provider acting for its
/// subaccounts, and what is worth saying.
struct DiscoveredFleet {
    desired: Vec<DesiredResource>,
    twilio: Arc<dyn stowage_provider::Provider>,
    notes: Vec<PlanDiagnostic>,
    /// The provider acting for every active subaccount, and the members.
    acting: stowage_twilio::TwilioProvider,
    members: Vec<String>,
}

/// Lists the main account's active subaccounts (the 2010 Accounts API, as the main account),
/// decides the members (`stowage_plan::fleet`), and gives the provider each active
/// subaccount's credentials, held in memory only, so that every request about a member's
/// resources is made as that member. Subaccounts the state records that are no longer active
/// (closed or suspended) are gone from Twilio's API: the provider answers for them as absent.
async fn discover_fleet(
    spec: &LoadedSpec,
    fleet: &stowage_spec::Fleet,
    prior: &Prior,
    twilio: stowage_twilio::TwilioProvider,
) -> Result<DiscoveredFleet, Report> {
    let main = spec.spec.twilio.as_ref().map(|twilio| twilio.account_sid.as_str().to_owned()).unwrap_or_default();
    let subaccounts = twilio.subaccounts().await.map_err(|error| {
        let hint = error.hint.clone().unwrap_or_else(|| {
            "a fleet lists the main account's subaccounts: use its auth token (`TWILIO_ACCOUNT_SID`, \
             `TWILIO_AUTH_TOKEN`) or a Main API key"
                .to_owned()
        });
        miette!(help = hint, "could not list the subaccounts of {main}: {error}")
    })?;
    let active: Vec<String> = subaccounts.iter().map(|subaccount| subaccount.sid.clone()).collect();
    let membership = stowage_plan::fleet::members(fleet, &active);
    let departed = stowage_plan::fleet::departed(prior.resources().map(|resource| &resource.address), &active);
    let notes = membership
        .listed_inactive
        .iter()
        .map(|sid| PlanDiagnostic {
            severity: Severity::Warning,
            address: None,
            message: format!("`[fleet] subaccounts` lists {sid}, which is not an active subaccount of {main}"),
            hint: Some("it is not managed; remove it from the list, or reactivate it in Twilio".to_owned()),
        })
        .collect();
    let acting = twilio.with_subaccounts(&subaccounts);
    let twilio = stowage_twilio::Departed::new(acting.clone(), departed);
    let desired = stowage_plan::desired_fleet_resources(&spec.spec, &membership.members);
    Ok(DiscoveredFleet { desired, twilio: Arc::new(twilio), notes, acting, members: membership.members })
}

fn needs_twilio(desired: &[DesiredResource], prior: &Prior) -> bool {
    desired
        .iter()
        .map(|resource| resource.address.resource_type)
        .chain(prior.resources().map(|resource| resource.address.resource_type))
        .any(|resource_type: ResourceType| resource_type.provider() == ProviderName::Twilio)
}

/// Each failed read on its own line, with its hint when `hints` (see
/// [`crate::output::failure_lines`]).
fn failure_lines(error: &RefreshError, hints: bool) -> String {
    crate::output::failure_lines(&error.failures, hints)
}

/// The refusal of Twilio credentials that act as another account than the spec's: both SIDs,
/// the credentials in use (their SID only, never a secret), and the two ways out.
fn account_mismatch(
    mismatch: &stowage_plan::account::AccountMismatch,
    spec_path: &Path,
    credentials_in_use: Option<&str>,
) -> Report {
    let stowage_plan::account::AccountMismatch { expected, actual, .. } = mismatch;
    let in_use = credentials_in_use.map(|in_use| format!("These are {in_use}. ")).unwrap_or_default();
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

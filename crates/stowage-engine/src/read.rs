//! An environment's reads, checked: every read a command makes goes through [`read`], which
//! also refuses Twilio credentials that act as another account than the spec's, before any
//! command can write; [`read_and_plan`] reads everything, and what interrupted applies left,
//! and plans.

use std::borrow::Cow;

use stowage_plan::account::{AccountMismatch, AccountSid, check_twilio_account, is_settings};
use stowage_plan::{DesiredResource, Observations, Plan, Prior, ReadTarget};
use stowage_provider::{Address, ProviderName};
use stowage_state::State;

use crate::{Engine, RefreshError, find_leftovers, refresh};

/// One environment as its reads need it: what the spec wants, what the state records, and the
/// Twilio account the credentials must act as (`None` when the spec names none).
pub struct Environment<'a> {
    pub desired: &'a [DesiredResource],
    pub prior: &'a Prior,
    /// The state `prior` was made from; its intents say where to look for leftovers.
    pub state: &'a State,
    pub account: Option<&'a AccountSid>,
}

impl Environment<'_> {
    /// Everything the environment has or wants, each address once.
    pub fn read_targets(&self) -> Vec<ReadTarget> {
        stowage_plan::read_targets(self.desired, self.prior)
    }
}

impl std::fmt::Debug for Environment<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Environment")
            .field("desired", &self.desired.len())
            .field("checks_account", &self.account.is_some())
            .finish_non_exhaustive()
    }
}

/// Why an environment could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Reads that failed.
    #[error(transparent)]
    Refresh(RefreshError),
    /// Searches for what an interrupted apply left that failed: nothing can be planned before
    /// they are seen.
    #[error("could not look for what an interrupted apply left behind: {0}")]
    Leftovers(RefreshError),
    /// The Twilio credentials act as another account than the spec's.
    #[error(transparent)]
    Account(AccountMismatch),
}

/// Read `targets`, each once, at the same time.
///
/// When the spec names a Twilio account, what was read must be that account's: the storage
/// settings say which account the Twilio credentials act as (see `stowage_plan::account`).
/// Reads that reach Twilio without either settings (a saved plan's apply reads only what it
/// touches) read one of them too, for this check only.
pub async fn read(
    engine: &Engine,
    environment: &Environment<'_>,
    targets: &[ReadTarget],
) -> Result<Observations, ReadError> {
    let account_reads = account_reads(environment.account.is_some(), environment.desired, environment.prior, targets);
    let reads: Cow<'_, [ReadTarget]> = if account_reads.is_empty() {
        Cow::Borrowed(targets)
    } else {
        Cow::Owned(targets.iter().chain(&account_reads).cloned().collect())
    };
    let mut observations = refresh(engine, &reads).await.map_err(ReadError::Refresh)?;
    if let Some(account) = environment.account {
        check_twilio_account(account, &observations).map_err(ReadError::Account)?;
    }
    for read in &account_reads {
        observations.remove(&read.address);
    }
    Ok(observations)
}

/// Read everything the environment has or wants and, at the same time, what interrupted
/// applies left behind (the state's intents); then plan with `inputs`, and, for a create a
/// per-parent quota may refuse, list the parent's objects (`stowage_plan::quota`). Returns the
/// plan and what was read.
pub async fn read_and_plan(
    engine: &Engine,
    environment: &Environment<'_>,
    inputs: &stowage_plan::PlanInputs,
) -> Result<(Plan, Observations), ReadError> {
    let (observations, leftovers) = read_with_leftovers(engine, environment, &environment.read_targets()).await?;
    let mut plan =
        stowage_plan::plan_with_leftovers(environment.desired, environment.prior, &observations, &leftovers, inputs);
    // A create a quota may refuse (a third access key): list what the parent holds now, and
    // refuse the plan before any write if stowage's own objects are not what fills it.
    let searches = stowage_plan::quota::searches(&plan, environment.desired);
    if !searches.is_empty() {
        let found = crate::refresh::list_children(engine, searches).await.map_err(ReadError::Refresh)?;
        let refusals = stowage_plan::quota::refusals(&plan, &found);
        plan.diagnostics.extend(refusals);
    }
    Ok((plan, observations))
}

/// Read everything the state records and what interrupted applies left, as [`read_and_plan`]
/// does, and plan its destroy: every object goes, except those of a type that holds data which
/// hold anything (asked of the provider now), and what they need to be read, which are kept and
/// dropped from the state (`stowage_plan::destroy`). What the spec wants plays no part.
pub async fn read_and_plan_destroy(
    engine: &Engine,
    environment: &Environment<'_>,
    inputs: &stowage_plan::PlanInputs,
) -> Result<(Plan, Observations), ReadError> {
    let targets = stowage_plan::read_targets(&[], environment.prior);
    let (observations, leftovers) = read_with_leftovers(engine, environment, &targets).await?;
    let plan = stowage_plan::destroy::plan_destroy(environment.prior, &observations, &leftovers, inputs);
    let inspect: Vec<(Address, String)> = stowage_plan::destroy::to_inspect(&plan)
        .into_iter()
        .map(|(address, id)| (address.clone(), id.to_owned()))
        .collect();
    let contents = crate::refresh::contents(engine, environment.prior, inspect).await.map_err(ReadError::Refresh)?;
    Ok((stowage_plan::destroy::keep(plan, environment.prior, &contents), observations))
}

/// [`read`] `targets` and, at the same time, look for what interrupted applies left behind (the
/// state's intents): nothing can be planned before both are seen.
async fn read_with_leftovers(
    engine: &Engine,
    environment: &Environment<'_>,
    targets: &[ReadTarget],
) -> Result<(Observations, stowage_plan::Leftovers), ReadError> {
    let (observations, leftovers) =
        futures::join!(read(engine, environment, targets), find_leftovers(engine, environment.state));
    Ok((observations?, leftovers.map_err(ReadError::Leftovers)?))
}

/// The storage settings read [`read`] adds to learn which account the Twilio credentials act
/// as: one, when there is an account to check and `targets` reach Twilio without reading
/// either settings; none otherwise (the settings are read anyway, or nothing is asked of
/// Twilio).
fn account_reads(
    checks_account: bool,
    desired: &[DesiredResource],
    prior: &Prior,
    targets: &[ReadTarget],
) -> Vec<ReadTarget> {
    let reaches_twilio = targets.iter().any(|target| target.address.resource_type.provider() == ProviderName::Twilio);
    let reads_settings = targets.iter().any(|target| is_settings(target.address.resource_type));
    if !checks_account || !reaches_twilio || reads_settings {
        return Vec::new();
    }
    stowage_plan::read_targets(desired, prior)
        .into_iter()
        .filter(|target| is_settings(target.address.resource_type))
        .take(1)
        .collect()
}

#[cfg(test)]
mod tests {
    use stowage_provider::{Address, ResourceType};
    use stowage_spec::Spec;

    use super::*;

    fn dev() -> (Spec, Vec<DesiredResource>, Prior) {
        let spec = stowage_spec::parse("dev.toml", &stowage_test_support::dev_spec()).unwrap().spec;
        let desired = stowage_plan::desired_resources(&spec);
        let prior = Prior::from_state(&State::new("dev", "0.0.0")).unwrap();
        (spec, desired, prior)
    }

    fn addresses(targets: &[ReadTarget]) -> Vec<String> {
        targets.iter().map(|target| target.address.to_string()).collect()
    }

    #[test]
    fn a_read_reaching_twilio_without_the_settings_adds_one_settings_read() {
        let (spec, desired, prior) = dev();
        let checks = spec.twilio.is_some();
        let all = stowage_plan::read_targets(&desired, &prior);
        let only = |wanted: &dyn Fn(&Address) -> bool| -> Vec<_> {
            all.iter().filter(|target| wanted(&target.address)).cloned().collect()
        };

        // A saved plan that touches the credential only.
        let credential = only(&|address| address.resource_type == ResourceType::TwilioAwsCredential);
        assert_eq!(
            addresses(&account_reads(checks, &desired, &prior, &credential)),
            ["twilio_video_recording_settings.main"]
        );

        // The settings are read anyway, or Twilio is not asked at all: nothing to add.
        assert!(account_reads(checks, &desired, &prior, &all).is_empty());
        let settings = only(&|address| is_settings(address.resource_type));
        assert!(account_reads(checks, &desired, &prior, &settings[1..]).is_empty());
        let aws = only(&|address| address.resource_type.provider() == ProviderName::Aws);
        assert!(account_reads(checks, &desired, &prior, &aws).is_empty());
        assert!(account_reads(checks, &desired, &prior, &[]).is_empty());

        // A spec without `[twilio]` names no account to check.
        let mut without_twilio = spec.clone();
        without_twilio.twilio = None;
        assert!(account_reads(without_twilio.twilio.is_some(), &desired, &prior, &credential).is_empty());
    }
}

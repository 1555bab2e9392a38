//! `stowage state list|show|rm|pull|push|migrate`: read and repair the state, on either
//! backend. Each names the state by `--spec SPEC` (the state `plan` and `apply` use) or by
//! `--state PATH|s3://BUCKET/KEY`. Writes (`rm`, `push`, `migrate`) hold the state lock and go
//! through the engine, checked against what the store holds; reads take the shared lock of a
//! local file and none in S3.

use std::process::ExitCode;

use miette::{IntoDiagnostic, Report, miette};
use stowage_state::{LocalStateFile, State, StateStore};

use crate::cli::{StateCommand, StateTarget};
use crate::exit;
use crate::locking::Locking;
use crate::session::connect_aws;
use crate::settings::Settings;
use crate::spec_file::{LoadedSpec, load_spec};
use crate::store::{StateLocation, Store, StoreLock};

pub async fn run(command: &StateCommand, settings: &Settings) -> Result<ExitCode, Report> {
    match command {
        StateCommand::List(target) => {
            let opened = Opened::open(target, settings, Locking::read("state list")).await?;
            for address in opened.stored()?.addresses() {
                println!("{address}");
            }
        }
        StateCommand::Show { address, target } => {
            let opened = Opened::open(target, settings, Locking::read("state show")).await?;
            let state = opened.stored()?;
            let resource = state.get(address).ok_or_else(|| {
                let known: Vec<&str> = state.addresses().collect();
                miette!(
                    help = format!(
                        "the state records: {}",
                        if known.is_empty() { "nothing".to_owned() } else { known.join(", ") }
                    ),
                    "the state `{}` records no `{address}`",
                    opened.store.location()
                )
            })?;
            println!("{}", serde_json::to_string_pretty(resource).into_diagnostic()?);
        }
        StateCommand::Rm { addresses, target } => {
            let mut opened = Opened::open(target, settings, Locking::write("state rm")).await?;
            let location = opened.store.location();
            let mut state = opened.state.take().ok_or_else(|| no_state(&location))?;
            let removed = stowage_engine::state_ops::forget(addresses, &mut state, &opened.store)
                .await
                .map_err(|error| miette!("{error}"))?;
            for resource in &removed {
                eprintln!(
                    "forgot `{}` (id {}): it still exists; the next plan sees it as not recorded",
                    resource.address, resource.id
                );
            }
            eprintln!("state `{location}` is at serial {}", state.serial);
        }
        StateCommand::Pull(target) => {
            let opened = Opened::open(target, settings, Locking::read("state pull")).await?;
            let bytes = stowage_state::encode_state(opened.stored()?).into_diagnostic()?;
            print!("{}", String::from_utf8_lossy(&bytes));
        }
        StateCommand::Push { file, target, force } => {
            let pushed = LocalStateFile::new(file)
                .load()
                .into_diagnostic()?
                .ok_or_else(|| miette!("there is no state file `{}` to push", file.display()))?;
            let opened = Opened::open(target, settings, Locking::write("state push")).await?;
            if let Some(spec) = &opened.spec {
                stowage_state::check_compatible(&pushed, spec.spec.environment.name.as_str()).into_diagnostic()?;
            }
            let stored = stowage_engine::state_ops::push(pushed, opened.state.as_ref(), &opened.store, *force)
                .await
                .map_err(|error| miette!("{error}"))?;
            eprintln!(
                "pushed `{}` to state `{}`: serial {} of lineage {}",
                file.display(),
                opened.store.location(),
                stored.serial,
                stored.lineage
            );
        }
        StateCommand::Migrate { to, target } => migrate(to, target, settings).await?,
    }
    Ok(exit::OK)
}

/// `state migrate --to s3://BUCKET/KEY`: the local state copied whole (lineage and serial
/// kept) into an S3 location that holds none, both locked; then the local file is kept aside
/// and a note says where the state went, so a run that still looks for it locally is refused
/// instead of starting a new, empty state.
async fn migrate(to: &StateLocation, target: &StateTarget, settings: &Settings) -> Result<(), Report> {
    let StateLocation::S3(destination) = to else {
        return Err(miette!(help = "pass `--to s3://BUCKET/KEY`", "`state migrate` moves a local state to S3"));
    };
    let source = Opened::open(target, settings, Locking::write("state migrate")).await?;
    let Some(file) = source.store.local() else {
        return Err(miette!(
            "the state `{}` is not a local file: `state migrate` copies a local state to S3",
            source.store.location()
        ));
    };
    let file = file.clone();
    let state = source.stored()?.clone();
    let aws = connect_for(source.spec.as_ref(), settings).await?;
    let store = crate::store::open(to, Some(&aws), source.spec.as_ref().map(|spec| &spec.spec))?;
    let _lock = Locking::write("state migrate").take(&store, &settings.lock).await?;
    if let Some(there) = store.read().await.into_diagnostic()? {
        return Err(miette!(
            help = "choose another key, or remove that state first if it is really unused",
            "`{destination}` already holds a state (serial {} of lineage {}): nothing was copied",
            there.serial,
            there.lineage
        ));
    }
    stowage_engine::state_ops::copy_to(&state, &store).await.into_diagnostic()?;
    crate::store::retire(file.path(), &to.to_string())?;
    eprintln!(
        "copied state `{}` (serial {} of lineage {}) to `{destination}`; the local file is kept as `{}.migrated`.\n\
         Use it from now on with, in the spec:\n\n[state]\nbackend = \"s3\"\nbucket = \"{}\"\nkey = \"{}\"\n",
        file.path().display(),
        state.serial,
        state.lineage,
        file.path().display(),
        destination.bucket,
        destination.key,
    );
    Ok(())
}

/// A state opened for a `state` command: its store, locked as asked, and what it holds.
struct Opened {
    spec: Option<LoadedSpec>,
    store: Store,
    state: Option<State>,
    _lock: Option<StoreLock>,
}

impl Opened {
    async fn open(target: &StateTarget, settings: &Settings, locking: Locking) -> Result<Self, Report> {
        let spec = target.spec.as_deref().map(load_spec).transpose()?;
        let location = crate::store::named(target.state.as_ref(), spec.as_ref())?;
        let aws = match location {
            StateLocation::S3(_) => Some(connect_for(spec.as_ref(), settings).await?),
            StateLocation::Local(_) => None,
        };
        let store = crate::store::open(&location, aws.as_ref(), spec.as_ref().map(|spec| &spec.spec))?;
        let lock = locking.take(&store, &settings.lock).await?;
        let state = crate::store::read(&store).await?;
        if let (Some(state), Some(spec)) = (&state, &spec) {
            stowage_state::check_compatible(state, spec.spec.environment.name.as_str())
                .into_diagnostic()
                .map_err(|error| error.wrap_err(format!("state `{}`", store.location())))?;
        }
        Ok(Self { spec, store, state, _lock: lock })
    }

    fn stored(&self) -> Result<&State, Report> {
        self.state.as_ref().ok_or_else(|| no_state(&self.store.location()))
    }
}

fn no_state(location: &str) -> Report {
    miette!(help = "`stowage apply` makes the first one", "there is no state at `{location}` yet")
}

/// The AWS client a state in S3 is reached with: the spec's `[aws]` credentials when there is
/// a spec, else the standard chain's, in the region it names.
pub async fn connect_for(spec: Option<&LoadedSpec>, settings: &Settings) -> Result<stowage_aws::AwsProvider, Report> {
    match spec {
        Some(spec) => connect_aws(spec.spec.aws.region.as_str(), spec.spec.aws.profile.as_deref(), settings).await,
        None => {
            let region = stowage_aws::AwsProvider::default_region().await.ok_or_else(|| {
                miette!(
                    help = "pass `--spec SPEC` (its `[state] region` or `[aws] region`), or set `AWS_REGION`",
                    "no region for the state bucket"
                )
            })?;
            connect_aws(&region, None, settings).await
        }
    }
}

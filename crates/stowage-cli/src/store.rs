//! Where a command's state is kept: the local file beside the spec, or an S3 object every
//! machine shares ([`Store`]). Commands and the engine see only [`StateStore`]; which one it is
//! is decided here, once: `--state`, else the state a saved plan was made against, else the
//! spec's `[state]`, else the file beside the spec.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use miette::{Report, miette};
use stowage_state::{LocalStateFile, State, StateStore};
use stowage_state_s3::{S3Location, S3StateSettings, S3StateStore};

/// Where a state is: `--state PATH`, `--state s3://BUCKET/KEY`, a saved plan's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateLocation {
    Local(PathBuf),
    S3(S3Location),
}

impl FromStr for StateLocation {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text.starts_with("s3://") {
            text.parse().map(StateLocation::S3).map_err(|error| format!("{error}"))
        } else if text.contains("://") {
            Err(format!("`{text}`: a state is a local path or `s3://BUCKET/KEY`"))
        } else {
            Ok(StateLocation::Local(PathBuf::from(text)))
        }
    }
}

impl fmt::Display for StateLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateLocation::Local(path) => write!(f, "{}", path.display()),
            StateLocation::S3(location) => write!(f, "{location}"),
        }
    }
}

impl StateLocation {
    /// The location of the environment whose spec is at `spec_path`: `explicit` (the flag, or a
    /// saved plan's), else the spec's `[state]`, else the file beside the spec.
    pub fn resolve(spec_path: &Path, explicit: Option<&StateLocation>, spec: Option<&stowage_spec::Spec>) -> Self {
        if let Some(explicit) = explicit {
            return explicit.clone();
        }
        match spec.and_then(|spec| spec.state.as_ref()) {
            Some(remote) => {
                StateLocation::S3(S3Location { bucket: remote.bucket.as_str().to_owned(), key: remote.key.clone() })
            }
            None => StateLocation::Local(beside(spec_path)),
        }
    }
}

/// The state a command names by `--state`, else by its spec (see [`StateLocation::resolve`]);
/// neither is an error that says how to name one.
pub fn named(
    state: Option<&StateLocation>,
    spec: Option<&crate::spec_file::LoadedSpec>,
) -> Result<StateLocation, Report> {
    match (state, spec) {
        (Some(state), _) => Ok(state.clone()),
        (None, Some(spec)) => Ok(StateLocation::resolve(&spec.path, None, Some(&spec.spec))),
        (None, None) => Err(miette!("name the state: the spec, or `--state PATH|s3://BUCKET/KEY`")),
    }
}

/// `dev.toml` -> `dev.state.json`, in the spec's directory.
pub fn beside(spec: &Path) -> PathBuf {
    let stem = spec.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default();
    spec.with_file_name(format!("{stem}.state.json"))
}

/// A state store of either kind (`stowage_state_s3::Backend`).
pub type Store = stowage_state_s3::Backend;

/// Its lock; dropping it releases the lock.
pub type StoreLock = stowage_state_s3::BackendLock;

/// The store at `location`. An S3 store reaches the bucket with `aws`'s credentials and
/// endpoint, in `[state] region` (else the `[aws]` one), encrypting with `[state] kms_key`.
pub fn open(
    location: &StateLocation,
    aws: Option<&stowage_aws::AwsProvider>,
    spec: Option<&stowage_spec::Spec>,
) -> Result<Store, Report> {
    {
        match location {
            StateLocation::Local(path) => Ok(Store::Local(LocalStateFile::new(path))),
            StateLocation::S3(s3) => {
                let aws = aws.ok_or_else(|| miette!("internal error: an S3 state needs an AWS client"))?;
                let remote = spec.and_then(|spec| spec.state.as_ref());
                let region = remote
                    .and_then(|remote| remote.region.as_ref())
                    .map_or_else(|| aws.region().to_owned(), |region| region.as_str().to_owned());
                let settings = S3StateSettings {
                    location: s3.clone(),
                    region,
                    kms_key: remote.and_then(|remote| remote.kms_key.clone()),
                };
                Ok(Store::S3(S3StateStore::new(aws.sdk_config(), settings, aws.path_style())))
            }
        }
    }
}

/// What `store` holds. A local state that `state migrate` moved elsewhere is refused, naming
/// where it went: reading it as "no state yet" would start a new, empty one.
pub async fn read(store: &Store) -> Result<Option<State>, Report> {
    let state = store.read().await.map_err(|error| miette!("{error}"))?;
    if state.is_none()
        && let Some(file) = store.local()
        && let Some(moved_to) = moved_to(file.path())
    {
        return Err(miette!(
            help = format!(
                "use it there: `[state] backend = \"s3\"` in the spec, or `--state {moved_to}`; the local copy is `{}.migrated`",
                file.path().display()
            ),
            "the state `{}` was moved to `{moved_to}` by `stowage state migrate`",
            file.path().display()
        ));
    }
    Ok(state)
}

/// `STATE.moved`: where `state migrate` moved the state at `path`.
fn moved_note(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".moved");
    PathBuf::from(name)
}

/// Where the state at `path` was moved to, if `state migrate` moved it.
pub fn moved_to(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(moved_note(path)).ok()?;
    Some(text.trim().to_owned()).filter(|text| !text.is_empty())
}

/// After `state migrate`: the local state kept aside as `STATE.migrated`, and `STATE.moved`
/// saying where it went (both 0600, as the state was).
pub fn retire(path: &Path, moved_to: &str) -> Result<(), Report> {
    crate::files::write_private(&moved_note(path), format!("{moved_to}\n").as_bytes())?;
    let mut migrated = path.as_os_str().to_owned();
    migrated.push(".migrated");
    std::fs::rename(path, PathBuf::from(migrated))
        .map_err(|error| miette!("could not keep `{}` aside: {error}", path.display()))
}

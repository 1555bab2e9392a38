//! The command line, as clap structs only. Meaning is worked out in `commands/`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

use crate::store::StateLocation;

/// stowage: Twilio Video recordings and compositions stored in your own S3 bucket, declared in
/// a spec file, planned, applied and checked for drift.
#[derive(Debug, Parser)]
#[command(name = "stowage", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    #[command(flatten)]
    pub lock: LockArgs,

    /// Show every fleet subaccount's changes in full; without it, a plan shows one line per
    /// subaccount.
    #[arg(long, global = true)]
    pub detail: bool,
}

/// The state lock, which keeps two runs on one state apart. Commands that may write (`apply`,
/// `plan --out`) hold it alone; read-only ones (`plan`, `drift`, `verify`, `show`) share it.
#[derive(Debug, Args, Clone)]
pub struct LockArgs {
    /// Lock the state for the run. `--lock=false` is for read-only commands only, e.g. on a
    /// read-only file system.
    #[arg(
        long,
        global = true,
        value_name = "true|false",
        default_value_t = true,
        num_args = 0..=1,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    pub lock: bool,

    /// How long to wait for another run's lock, e.g. `30s` or `5m`; `0s` fails at once.
    #[arg(long, global = true, value_name = "DURATION", default_value = "0s", value_parser = humantime::parse_duration)]
    pub lock_timeout: Duration,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a new spec, from a few answers or flags (`init [PATH]`), or from what was already
    /// set up by hand (`init --from-existing [PATH]`, read-only). Never overwrites a file.
    #[command(override_usage = "stowage init [PATH] [--name NAME] [--region REGION] [--bucket BUCKET] \
                                [--account-sid AC…] [--kms [create|ARN]]\n       \
                                stowage init --from-existing [PATH] [--name NAME]")]
    Init(InitArgs),
    /// Parse and check a spec, without any network call.
    Validate(ValidateArgs),
    /// Compare the spec with AWS, Twilio and the state, and show what apply would change.
    Plan(PlanArgs),
    /// Make reality match the spec (`apply SPEC`), or apply exactly a saved plan (`apply FILE`).
    Apply(ApplyArgs),
    /// Replace the access key Twilio writes with, and Twilio's credential, now: new key, write
    /// test, new credential, both settings repointed, then the old credential and key deleted.
    Rotate(RotateArgs),
    /// Take the environment down without losing a recording: storage switched off first, then
    /// the credential, the key, the policy and the user deleted; a bucket holding recordings,
    /// and its KMS key, kept and dropped from the state.
    Destroy(DestroyArgs),
    /// Show a saved plan.
    Show(ShowArgs),
    /// Draw the resources and their wiring (DOT, Mermaid or SVG), coloured by what the plan
    /// does to each: a plan made now (read-only), a saved one (`--plan FILE`), or none.
    Graph(GraphArgs),
    /// Compare the state and the spec with reality, read-only, for scheduled jobs.
    Drift(DriftArgs),
    /// Check, read-only, what Twilio would otherwise only report after recordings are lost.
    Verify(VerifyArgs),
    /// What Twilio failed to store, and why: its storage alerts and the recordings and
    /// compositions it lost, correlated with the environment as it is now. Read-only.
    Alerts(AlertsArgs),
    /// Record in the state what already exists for the spec (a setup made by hand), without
    /// changing anything in AWS or Twilio: everything found by the spec's own names
    /// (`import SPEC`), or one object by its id (`import SPEC ADDRESS ID`).
    #[command(override_usage = "stowage import SPEC [--auto-approve] [--dry-run] [--keep-key]\n       \
                                stowage import SPEC ADDRESS ID [--auto-approve] [--dry-run]")]
    Import(ImportArgs),
    /// Read and repair the state, on either backend: list, show, rm, pull, push, migrate.
    #[command(subcommand)]
    State(StateCommand),
    /// Remove the lock of a run that is gone (killed, or its machine lost), given its lock id.
    ///
    /// The id is the one a refused run printed; the lock is removed only when it matches, so a
    /// newer run's lock is never removed by mistake. A run that died releases its lock by
    /// itself (the next run takes over its record), so this is for a holder that is alive but
    /// will never finish, or one whose machine is lost: a live holder would go on, unlocked.
    #[command(override_usage = "stowage force-unlock ID [--state PATH|s3://BUCKET/KEY] [SPEC]")]
    ForceUnlock(ForceUnlockArgs),
    /// Print the shell completion script for SHELL on standard output.
    ///
    /// E.g. `stowage completions fish > ~/.config/fish/completions/stowage.fish`; where each
    /// shell looks for it: docs/install.md.
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write the spec: a new file, or a directory to write `NAME.toml` into
    /// [default: `NAME.toml` in the current directory].
    pub path: Option<PathBuf>,

    /// The environment's name, e.g. `dev` (lowercase letters, digits and hyphens).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// The AWS region of the bucket, e.g. `us-east-2` (with `--from-existing`: taken from
    /// Twilio's S3 URL).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// The S3 bucket Twilio stores into, e.g. `acme-video-dev` (with `--from-existing`: taken
    /// from Twilio's S3 URL).
    #[arg(long, value_name = "BUCKET")]
    pub bucket: Option<String>,

    /// The Twilio account SID, `AC…` (with `--from-existing`: the account the Twilio
    /// credentials act as).
    #[arg(long, value_name = "AC…")]
    pub account_sid: Option<String>,

    /// SSE-KMS: `--kms` or `--kms create` for a key stowage creates, `--kms ARN` for an
    /// existing key (used, not managed).
    #[arg(long, value_name = "create|ARN", num_args = 0..=1, default_missing_value = "create")]
    pub kms: Option<String>,

    /// Start from what exists: Twilio's recording and composition settings, the bucket they
    /// name, and the IAM user that may write there. Reads only; `stowage import` then records it.
    #[arg(long)]
    pub from_existing: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The environment's spec file (TOML).
    pub spec: PathBuf,

    /// Print the effective spec to stdout: the spec merged over the bases it `extends`, as
    /// one TOML file.
    #[arg(long)]
    pub effective: bool,
}

/// Where the state is and how hard to work.
#[derive(Debug, Args, Clone)]
pub struct StateArgs {
    /// The state: a local file, or `s3://BUCKET/KEY` [default: for a saved plan, the state it
    /// was made against; else the spec's `[state]`; else the spec's path with `.state.json` in
    /// place of `.toml`].
    #[arg(long, value_name = "PATH|s3://BUCKET/KEY")]
    pub state: Option<StateLocation>,

    /// How many API calls run at the same time.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people at a terminal.
    Human,
    /// Terraform-style plan JSON (`docs/plan-json.md`), for tools.
    Json,
    /// For a pull request comment.
    Markdown,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The environment's spec file (TOML).
    pub spec: PathBuf,

    #[command(flatten)]
    pub state: StateArgs,

    /// Exit 0 when there is nothing to change, 2 when there are changes, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Also save the plan to FILE, for `stowage apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Only what changed outside stowage since the last apply, no action: applying such a
    /// saved plan records it in the state and calls neither AWS nor Twilio.
    #[arg(long)]
    pub refresh_only: bool,

    /// How to print the plan.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Replace ADDRESS now (an access key, a Twilio credential or a public key), with what must
    /// follow it: a new key means a new credential. Repeatable.
    #[arg(long, value_name = "ADDRESS")]
    pub replace: Vec<String>,

    /// Plan the environment's destroy, as `stowage destroy` would: save it with `--out` to
    /// review it, then `stowage apply FILE`.
    #[arg(long, conflicts_with_all = ["refresh_only", "replace"])]
    pub destroy: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A spec file (plan, confirm, apply) or a plan saved with `plan --out` (applied as it is).
    #[arg(value_name = "SPEC|FILE")]
    pub target: PathBuf,

    #[command(flatten)]
    pub state: StateArgs,

    /// Apply a spec without asking. Required when standard input is not a terminal. A saved
    /// plan is applied without asking: it was reviewed when it was made.
    #[arg(long)]
    pub auto_approve: bool,

    /// Replace ADDRESS now (an access key, a Twilio credential or a public key), with what must
    /// follow it: a new key means a new credential. Repeatable; not with a saved plan.
    #[arg(long, value_name = "ADDRESS")]
    pub replace: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// The environment's spec file (TOML).
    pub spec: PathBuf,

    #[command(flatten)]
    pub state: StateArgs,

    /// Destroy without asking. Required when standard input is not a terminal.
    #[arg(long)]
    pub auto_approve: bool,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The environment's spec file (TOML).
    pub spec: PathBuf,

    #[command(flatten)]
    pub state: StateArgs,

    /// Rotate without asking. Required when standard input is not a terminal.
    #[arg(long)]
    pub auto_approve: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The environment's spec file (TOML).
    pub spec: PathBuf,

    /// One resource to import, e.g. `aws_iam_access_key.uploader`, with `ID`.
    #[arg(requires = "id")]
    pub address: Option<String>,

    /// The id of the object `ADDRESS` is: a bucket or user name, an access key id (`AKIA…`), a
    /// Twilio SID (`CR…`), a KMS key id or ARN.
    pub id: Option<String>,

    #[command(flatten)]
    pub state: StateArgs,

    /// Record without asking. Required when standard input is not a terminal.
    #[arg(long)]
    pub auto_approve: bool,

    /// Show what would be recorded, and record nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Keep the imported access key and the Twilio credential made from it, instead of having
    /// the next apply replace them with ones whose secret no person has seen.
    #[arg(long)]
    pub keep_key: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan saved with `plan --out`.
    pub file: PathBuf,

    /// How to print the plan.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// The environment's spec file (TOML).
    pub spec: PathBuf,

    #[command(flatten)]
    pub state: StateArgs,

    /// How to draw the graph.
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,

    /// Colour by a plan saved with `plan --out FILE` instead of planning now (no call is made).
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,

    /// Draw the spec's wiring alone, uncoloured: no plan, no state, no call (a fleet's members
    /// are not known then: only its shared resources are drawn).
    #[arg(long, conflicts_with = "plan")]
    pub no_plan: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT text (`dot -Tsvg`).
    Dot,
    /// A Mermaid flowchart (GitHub renders it in a ```mermaid block).
    Mermaid,
    /// An SVG image, laid out by stowage itself (no Graphviz needed).
    Svg,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// The environment's spec file (TOML).
    pub spec: PathBuf,

    #[command(flatten)]
    pub state: StateArgs,

    /// How to print the report.
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,

    /// Accepted drift to leave out of the report: `ADDRESS` or `ADDRESS.ATTRIBUTE`
    /// (also `[drift] ignore` in the spec). Repeatable.
    #[arg(long, value_name = "ADDRESS[.ATTRIBUTE]")]
    pub ignore: Vec<String>,
}

#[derive(Debug, Args)]
pub struct AlertsArgs {
    /// The environment's spec file (TOML).
    pub spec: PathBuf,

    #[command(flatten)]
    pub state: StateArgs,

    /// How far back to look, e.g. `24h`, `7d`; at most `30d`, as long as Twilio keeps alerts.
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = humantime::parse_duration)]
    pub since: Duration,

    /// How to print the report.
    #[arg(long, value_enum, default_value_t = AlertsFormat::Human)]
    pub format: AlertsFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AlertsFormat {
    /// For people.
    Human,
    /// For dashboards and alerting (`docs/alerts-report.schema.json`).
    Json,
    /// For an issue or a chat message.
    Markdown,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The environment's spec file (TOML).
    pub spec: PathBuf,

    #[command(flatten)]
    pub state: StateArgs,

    /// How to print the report.
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,
}

/// Which lock `force-unlock` removes: the state's (by `--state` or the spec beside it), and
/// only if its id matches.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("which").required(true).multiple(true).args(["spec", "state"])))]
pub struct ForceUnlockArgs {
    /// The lock id, as the refused run printed it.
    pub id: String,

    /// The environment's spec file, whose state is beside it.
    pub spec: Option<PathBuf>,

    /// The state: a local file, or `s3://BUCKET/KEY`.
    #[arg(long, value_name = "PATH|s3://BUCKET/KEY")]
    pub state: Option<StateLocation>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `stowage __man DIR`, for `cargo xtask man`. Not a subcommand of [`Cli`], so that neither the
/// pages nor the completion scripts (which list hidden subcommands too) show it: `main` looks
/// for it first.
#[derive(Debug, Parser)]
#[command(
    name = "stowage __man",
    no_binary_name = true,
    about = "Write the man pages (stowage.1, stowage-plan.1, ...) into DIR, for `cargo xtask man`.",
    long_about = None
)]
pub struct ManArgs {
    /// The directory to write the pages into (made if missing).
    pub dir: PathBuf,
}

impl ManArgs {
    /// The first argument that selects it.
    pub const NAME: &str = "__man";
}

/// `stowage state ...`. Each names the state by its spec (`dev.toml`: the state `plan` and
/// `apply` use, the spec's `[state]` or the file beside it) or by `--state`.
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// The addresses the state records, one per line.
    List(StateTarget),
    /// One resource as the state records it (JSON).
    Show {
        /// The resource, e.g. `aws_s3_bucket.main`.
        address: String,
        #[command(flatten)]
        target: StateTarget,
    },
    /// Forget resources: drop them from the state, in one write. Nothing in AWS or Twilio
    /// changes; the next plan sees them as not recorded.
    Rm {
        /// The resources, e.g. `aws_iam_access_key.uploader`. Repeatable.
        #[arg(required = true)]
        addresses: Vec<String>,
        #[command(flatten)]
        target: StateTarget,
    },
    /// Print the stored state (JSON) to standard output.
    Pull(StateTarget),
    /// Replace the stored state with FILE: refused unless FILE is of the same lineage and a
    /// higher serial, unless `--force`.
    Push {
        /// A state file, e.g. one `state pull` printed, or an `errored.state.json`.
        file: PathBuf,
        #[command(flatten)]
        target: StateTarget,
        /// Replace it whatever its lineage and serial (it is stored at the next serial).
        #[arg(long)]
        force: bool,
    },
    /// Copy the state to S3, keeping its lineage and serial; the local file is then kept aside
    /// as `STATE.migrated`, and `STATE.moved` records where it went.
    Migrate {
        /// Where to: `s3://BUCKET/KEY`, which must hold no state yet.
        #[arg(long, value_name = "s3://BUCKET/KEY")]
        to: StateLocation,
        #[command(flatten)]
        target: StateTarget,
    },
}

/// Which state a `state` command works on.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("which_state").required(true).multiple(true).args(["spec", "state"])))]
pub struct StateTarget {
    /// The environment's spec file: its state, and its `[aws]` and `[state]` settings.
    #[arg(long, value_name = "SPEC")]
    pub spec: Option<PathBuf>,

    /// The state: a local file, or `s3://BUCKET/KEY` (overrides the spec's).
    #[arg(long, value_name = "PATH|s3://BUCKET/KEY")]
    pub state: Option<StateLocation>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// For people.
    Human,
    /// For dashboards and alerts.
    Json,
}

//! `stowage import SPEC`: record in the state what already exists for the spec, found by the
//! spec's own names (a setup made by hand from Twilio's guide). `stowage import SPEC ADDRESS ID`:
//! record one object, by its id. Either way nothing is written to AWS or Twilio, and the state
//! is written once, under its lock, after asking.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::process::ExitCode;

use miette::{Report, miette};
use stowage_plan::import::{ImportPlan, plan_import};
use stowage_provider::{Address, Lifecycle, Observed};

use crate::cli::ImportArgs;
use crate::exit;
use crate::locking::Locking;
use crate::session::Session;
use crate::settings::{Settings, StateSettings};

pub async fn run(args: &ImportArgs, settings: &Settings) -> Result<ExitCode, Report> {
    let state = StateSettings::resolve(&args.state, None);
    let locking = if args.dry_run { Locking::read("import") } else { Locking::write("import") };
    let mut session = Session::open(settings, &args.spec, state, locking).await?;
    let spec = args.spec.display().to_string();

    let plan = match (&args.address, &args.id) {
        (Some(address), Some(id)) => one(&session, address, id, args.keep_key).await?,
        _ => {
            let found = session.discover().await?;
            plan_import(session.desired(), session.prior(), &found, args.keep_key)
        }
    };
    print!("{}", describe(&plan));
    if !plan.ambiguous.is_empty() {
        return Err(ambiguity(&plan, &spec));
    }
    if plan.imports.is_empty() {
        println!("Nothing to import: the state already records everything that exists.");
        return Ok(exit::OK);
    }
    if args.dry_run {
        println!("Dry run: nothing was recorded.");
        return Ok(exit::OK);
    }
    if !args.auto_approve && !crate::output::confirmed("record these", "import", "what it records")? {
        eprintln!("import cancelled: nothing was recorded");
        return Ok(exit::ERROR);
    }
    session.record_imports(&plan.imports).await?;
    println!(
        "\nImport complete: {} recorded in `{}`. Nothing was changed in AWS or Twilio; see what apply would \
         change with `stowage plan {spec}`.",
        plural(plan.imports.len(), "object", "objects"),
        session.state_location()
    );
    Ok(exit::OK)
}

/// The import of one object: `address` (which the spec must want) is the object `id`.
async fn one(session: &Session, address: &str, id: &str, keep_key: bool) -> Result<ImportPlan, Report> {
    let address: Address = address.parse().map_err(|error| {
        miette!(
            help = "an address is `TYPE.NAME`, as `stowage plan` shows it, e.g. `aws_iam_access_key.uploader`",
            "{error}"
        )
    })?;
    let schema = address.resource_type.schema();
    // What stowage replaces (a managed policy attached by hand) is never in a spec: it is
    // imported to be removed.
    let superseded = matches!(schema.lifecycle, Lifecycle::Superseded { .. });
    if !superseded && !session.desired().iter().any(|resource| resource.address == address) {
        return Err(miette!(
            help = "import only what the spec asks for; `stowage plan SPEC` lists every address",
            "the spec does not ask for `{address}`"
        ));
    }
    if schema.lifecycle.adopts_unrecorded() {
        return Err(miette!(
            help = "run `stowage plan SPEC`: it shows what taking it over changes",
            "`{address}` needs no import: stowage takes an existing {} over by itself, on the next apply",
            schema.noun
        ));
    }
    if let Some(recorded) = session.prior().get(&address).filter(|recorded| recorded.id != id) {
        return Err(miette!(
            help = "to import another object there, make the spec stop wanting it or remove it from the state first",
            "the state already records `{}` at `{address}`",
            recorded.id
        ));
    }
    let Some(object) = session.read_by_id(&address, id).await? else {
        return Err(miette!(
            help = "check the id, and that these credentials may read it; `stowage import SPEC` finds what exists by \
                    the spec's names",
            "there is no {} `{id}` to import at `{address}`",
            address.resource_type.schema().noun
        ));
    };
    let found: BTreeMap<Address, Vec<Observed>> = BTreeMap::from([(address.clone(), vec![object])]);
    let mut plan = plan_import(session.desired(), session.prior(), &found, keep_key);
    // Only the object asked for: the rest of the spec is another import's business.
    plan.imports.retain(|import| import.address == address);
    plan.already_recorded.retain(|(recorded, _)| *recorded == address);
    plan.absent.clear();
    Ok(plan)
}

/// What the import records, what is recorded already, and what apply will create.
fn describe(plan: &ImportPlan) -> String {
    let mut out = String::new();
    if !plan.imports.is_empty() {
        out.push_str(
            "stowage will record these objects, which exist already (nothing is changed in AWS or Twilio):\n\n",
        );
        let width = plan.imports.iter().map(|import| import.address.to_string().len()).max().unwrap_or(0);
        for import in &plan.imports {
            let noun = import.address.resource_type.schema().noun;
            let address = import.address.to_string();
            let _ = write!(out, "  + {address:width$}  {noun} `{}`", import.object.id);
            if let Some(why) = &import.tainted {
                let _ = write!(out, "\n    {:width$}  the next apply replaces it ({why})", "");
            }
            if let Some(why) = &import.unproven {
                let _ = write!(out, "\n    {:width$}  kept as it is; {why} (`stowage verify` reports it)", "");
            }
            out.push('\n');
        }
        out.push('\n');
    }
    for (address, id) in &plan.already_recorded {
        let _ = writeln!(out, "  = {address} is recorded already (`{id}`)");
    }
    if !plan.absent.is_empty() {
        let absent: Vec<String> = plan.absent.iter().map(|address| format!("`{address}`")).collect();
        let _ = writeln!(out, "  Not found, so apply will create them: {}", absent.join(", "));
    }
    if !plan.already_recorded.is_empty() || !plan.absent.is_empty() {
        out.push('\n');
    }
    out
}

/// Several objects could be one address: nothing is recorded until the person picks one.
fn ambiguity(plan: &ImportPlan, spec: &str) -> Report {
    let mut message = String::from("more than one object could be what the spec asks for; nothing was recorded:");
    let mut commands = Vec::new();
    for (address, ids) in &plan.ambiguous {
        let noun = address.resource_type.schema().noun;
        let listed: Vec<String> = ids.iter().map(|id| format!("`{id}`")).collect();
        let _ = write!(message, "\n  {address}: {} {noun}s: {}", ids.len(), listed.join(", "));
        commands.extend(ids.iter().map(|id| format!("`stowage import {spec} {address} {id}`")));
    }
    miette!(help = format!("import the one that is this environment's: {}", commands.join(" or ")), "{message}")
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

//! `stowage alerts SPEC [--since DURATION] [--format human|json|markdown]`: the recordings and
//! compositions Twilio failed to store, and why, for a scheduled job.
//!
//! Twilio reports a failed upload only asynchronously: a debugger alert (Monitor v1) with a
//! 536xx code, and the media's status `failed` or `deleted`. This reads both for the window,
//! keeps the external storage codes, and correlates each with what `verify` finds in the
//! environment now (`stowage_plan::alerts`). Exit 0 when nothing was lost, 2 when something
//! was, 1 when it could not check. Read-only: nothing is written anywhere.

use std::process::ExitCode;
use std::time::Duration;

use futures::StreamExt;
use miette::{Report, miette};
use stowage_plan::alerts::{LostMedia, Outcome, RaisedAlert, Window, storage_code};
use stowage_plan::verify::{Expected, StorageKind};
use stowage_twilio::{ALERTS_RETENTION_DAYS, MediaKind, TwilioProvider};

use crate::cli::{AlertsArgs, AlertsFormat};
use crate::exit;
use crate::locking::Locking;
use crate::session::Session;
use crate::settings::{Settings, StateSettings};

pub async fn run(args: &AlertsArgs, settings: &Settings) -> Result<ExitCode, Report> {
    let since = window_length(args.since)?;
    let state = StateSettings::resolve(&args.state, None);
    let session = Session::open(settings, &args.spec, state, Locking::read("alerts")).await?;
    if session.spec.spec.twilio.is_none() {
        return Err(miette!(
            help = "alerts are Twilio's: add `[twilio] account_sid` to the spec",
            "`{}` names no Twilio account, so there are no alerts to read",
            args.spec.display()
        ));
    }
    let main = crate::twilio::provider(settings.request_timeout()?, &settings.twilio)?;
    let (twilio, accounts) = accounts(&session, &main);
    let end = jiff::Timestamp::now();
    let start = end - jiff::SignedDuration::try_from(since).map_err(|error| miette!("--since: {error}"))?;
    let window = Window { start, end };

    let expected = Expected::from_spec(&session.spec.spec);
    let kinds: Vec<StorageKind> = expected.stored.iter().map(|stored| stored.kind).collect();
    let ((plan, observations), raised, lost) =
        tokio::try_join!(session.plan(), raised(twilio, &accounts, window), lost(twilio, &accounts, &kinds, window))?;
    let (findings, _) = super::verify::findings(&session, &plan, &observations).await;
    let report = stowage_plan::alerts::report(window, &raised, &lost, &findings);
    match args.format {
        AlertsFormat::Human => print!("{}", stowage_plan::alerts::render_human(&report)),
        AlertsFormat::Markdown => print!("{}", stowage_plan::alerts::render_markdown(&report)),
        AlertsFormat::Json => {
            let text = serde_json::to_string_pretty(&stowage_plan::alerts::render_json(&report)).unwrap_or_default();
            println!("{text}");
        }
    }
    Ok(match report.outcome() {
        Outcome::Quiet => exit::OK,
        Outcome::Raised => exit::changes(),
    })
}

/// `--since`, checked: more than nothing, and no further back than Twilio keeps alerts.
fn window_length(since: Duration) -> Result<Duration, Report> {
    let longest = Duration::from_secs(u64::from(ALERTS_RETENTION_DAYS) * 24 * 60 * 60);
    if since.is_zero() {
        return Err(miette!(help = "e.g. `--since 24h` or `--since 7d`", "--since 0s is an empty window"));
    }
    if since > longest {
        return Err(miette!(
            help = format!("pass at most `--since {ALERTS_RETENTION_DAYS}d`"),
            "--since {}: Twilio's Monitor API keeps alerts for {ALERTS_RETENTION_DAYS} days only, so older ones \
             cannot be read",
            humantime::format_duration(since)
        ));
    }
    Ok(since)
}

/// Whose alerts and media to read: a fleet's members, each as itself (Twilio keeps alerts per
/// account), or the account the credentials act as (`None`).
fn accounts<'a>(session: &'a Session, main: &'a TwilioProvider) -> (&'a TwilioProvider, Vec<Option<String>>) {
    match session.fleet() {
        Some((twilio, members)) => (twilio, members.iter().cloned().map(Some).collect()),
        None => (main, vec![None]),
    }
}

/// How many accounts' alerts are read at once: a fleet's, as the refresh reads, at its
/// default parallelism.
const ACCOUNTS_AT_ONCE: usize = 16;

/// Twilio's alerts of one account (`None`: the credentials' own) in `window`.
async fn account_alerts(
    twilio: &TwilioProvider,
    account: Option<&str>,
    window: Window,
) -> Result<Vec<stowage_twilio::Alert>, stowage_provider::ProviderError> {
    match account {
        Some(account) => twilio.alerts_for(account, window.start, window.end).await,
        None => twilio.alerts(window.start, window.end).await,
    }
}

/// Twilio's alerts in `window`, of every account, as the report reads them; a code that is not
/// a number is not one of the storage codes.
async fn raised(
    twilio: &TwilioProvider,
    accounts: &[Option<String>],
    window: Window,
) -> Result<Vec<RaisedAlert>, Report> {
    let reads = accounts.iter().map(|account| account_alerts(twilio, account.as_deref(), window));
    let read: Vec<_> = futures::stream::iter(reads).buffer_unordered(ACCOUNTS_AT_ONCE).collect().await;
    let mut raised = Vec::new();
    for alerts in read {
        let alerts = alerts.map_err(|error| miette!("{error}"))?;
        raised.extend(alerts.into_iter().filter_map(|alert| {
            Some(RaisedAlert {
                code: alert.error_code.trim().parse().ok()?,
                sid: alert.sid,
                at: alert.date_created,
                resource_sid: alert.resource_sid,
            })
        }));
    }
    Ok(raised)
}

/// The media of the kinds the spec stores in S3 that Twilio marked `failed` or `deleted` in
/// `window`, in every account. Kinds kept in Twilio's cloud are not asked: deleting those is
/// the account's own business (compose, then delete the recordings).
async fn lost(
    twilio: &TwilioProvider,
    accounts: &[Option<String>],
    kinds: &[StorageKind],
    window: Window,
) -> Result<Vec<LostMedia>, Report> {
    let mut lost = Vec::new();
    for account in accounts {
        for kind in kinds {
            let media_kind = match kind {
                StorageKind::Recordings => MediaKind::Recording,
                StorageKind::Compositions => MediaKind::Composition,
            };
            for status in ["failed", "deleted"] {
                let found = match account {
                    Some(account) => twilio.media_for(account, media_kind, status, window.start, window.end).await,
                    None => twilio.media(media_kind, status, window.start, window.end).await,
                };
                let found = found.map_err(|error| miette!("{error}"))?;
                lost.extend(found.into_iter().map(|media| LostMedia {
                    sid: media.sid,
                    kind: *kind,
                    status: media.status,
                    at: media.date_created,
                }));
            }
        }
    }
    Ok(lost)
}

/// For `drift` and `verify`: one read of the last 24 hours' alerts, and a line on stderr when
/// Twilio raised storage alerts, so a drift job alone surfaces lost recordings. Says nothing
/// when the spec names no Twilio account or the read fails (the job's own report is what
/// counts; `stowage alerts` reports a failure to read).
pub async fn mention_recent(settings: &Settings, session: &Session) {
    if session.spec.spec.twilio.is_none() {
        return;
    }
    let Ok(timeout) = settings.request_timeout() else { return };
    let Ok(main) = crate::twilio::provider(timeout, &settings.twilio) else { return };
    let (twilio, accounts) = accounts(session, &main);
    let end = jiff::Timestamp::now();
    let start = end - jiff::SignedDuration::from_hours(24);
    let window = Window { start, end };
    let reads = accounts.iter().map(|account| account_alerts(twilio, account.as_deref(), window));
    let read: Vec<_> = futures::stream::iter(reads).buffer_unordered(ACCOUNTS_AT_ONCE).collect().await;
    let read: Result<Vec<Vec<stowage_twilio::Alert>>, _> = read.into_iter().collect();
    match read.map(|accounts| accounts.into_iter().flatten().collect::<Vec<_>>()) {
        Ok(alerts) => {
            let storage = alerts
                .iter()
                .filter(|alert| alert.error_code.trim().parse().ok().and_then(storage_code).is_some())
                .count();
            if storage > 0 {
                eprintln!(
                    "note: Twilio raised {storage} storage alert(s) in the last 24 hours: recordings may not have been \
                     stored; see `stowage alerts {}`",
                    session.spec.path.display()
                );
            }
        }
        Err(error) => tracing::debug!(%error, "could not read Twilio's alerts for the last 24 hours"),
    }
}

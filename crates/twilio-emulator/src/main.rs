//! `twilio-emulator`: the emulator as a process, for the local demo and for tests that run
//! stowage as a binary.
//!
//! Prints `twilio-emulator listening on http://IP:PORT` as its first stdout line, then serves
//! until interrupted (Ctrl-C or SIGTERM).

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use twilio_emulator::{Account, ApiKey, EmulatorConfig};

#[derive(Debug, Parser)]
#[command(name = "twilio-emulator", version, about)]
struct Arguments {
    /// The address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The S3 endpoint the storage write test writes to, such as moto's `http://127.0.0.1:5000`.
    #[arg(long, value_name = "URL")]
    s3_endpoint: String,
    /// An account that may call the emulator; repeat for more.
    #[arg(long = "account", value_name = "SID:AUTH_TOKEN")]
    accounts: Vec<Account>,
    /// A subaccount of OWNER_SID (an `--account`) that may call the emulator; repeat for more.
    /// Its owner may make credentials for it (`AccountSid`); it may not for its owner.
    #[arg(long = "subaccount", value_name = "SID:AUTH_TOKEN:OWNER_SID", value_parser = Account::parse_subaccount)]
    subaccounts: Vec<Account>,
    /// A Standard API key of one of the accounts; repeat for more. It may not use
    /// `/2010-04-01/Accounts*`.
    #[arg(long = "api-key", value_name = "SK…:SECRET:AC…")]
    api_keys: Vec<ApiKey>,
    /// A Main API key of one of the accounts; repeat for more. It may also manage subaccounts
    /// (`/2010-04-01/Accounts*`), as the account's auth token may.
    #[arg(long = "main-api-key", value_name = "SK…:SECRET:AC…", value_parser = ApiKey::parse_main)]
    main_api_keys: Vec<ApiKey>,
    /// At most N API requests in flight per account family (a main account and its
    /// subaccounts); more are answered 429, code 20429. No limit by default.
    #[arg(long, value_name = "N")]
    concurrency_limit: Option<usize>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let arguments = Arguments::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    match run(arguments).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let mut message = format!("error: {error}");
            let mut source = error.source();
            while let Some(cause) = source {
                message.push_str(&format!("\n  caused by: {cause}"));
                source = cause.source();
            }
            // Nothing more can be done if stderr is gone.
            let _ = writeln!(std::io::stderr(), "{message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(arguments: Arguments) -> Result<(), Box<dyn std::error::Error>> {
    let config = EmulatorConfig {
        listen: arguments.listen,
        s3_endpoint: arguments.s3_endpoint,
        accounts: arguments.accounts.into_iter().chain(arguments.subaccounts).collect(),
        api_keys: arguments.api_keys.into_iter().chain(arguments.main_api_keys).collect(),
        concurrency_limit: arguments.concurrency_limit,
    };
    let emulator = twilio_emulator::spawn(config).await?;
    {
        // Flushed at once: whoever started the emulator reads this line to learn the port.
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "twilio-emulator listening on {}", emulator.base_url())?;
        stdout.flush()?;
    }
    shutdown_requested().await?;
    emulator.shutdown().await?;
    Ok(())
}

#[cfg(unix)]
async fn shutdown_requested() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result,
        _ = terminate.recv() => Ok(()),
    }
}

#[cfg(not(unix))]
async fn shutdown_requested() -> std::io::Result<()> {
    tokio::signal::ctrl_c().await
}

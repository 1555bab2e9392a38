//! The local demo, `cargo xtask demo`: moto (the AWS emulator) and stowage's Twilio emulator on
//! loopback ports, and the real `stowage` binary planning and applying `examples/dev.toml`
//! against them.
//!
//! `cargo xtask demo` builds this example and the binary, then runs it with
//! `STOWAGE_MOTO_SERVER` (moto's server program) and `STOWAGE_BIN_DIR` (the directory holding
//! `stowage`). `--keep-running` leaves both emulators up at the end and prints how to run
//! `stowage` by hand against them, until Ctrl-C.
#![allow(clippy::print_stdout, clippy::print_stderr)]
#![allow(
    clippy::disallowed_methods,
    reason = "the demo is run by xtask, which hands it its settings in the environment"
)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use stowage_spec::Spec;
use stowage_test_support::{Moto, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, start_emulator, twilio_env};

/// The spec's file name inside the demo directory; its state lands beside it as
/// `dev.state.json`.
const SPEC_FILE: &str = "dev.toml";
/// Why the demo fails when the plan after apply is not empty.
const NOT_CONVERGED: &str = "the plan after apply still has changes: apply did not bring AWS and \
     Twilio to the spec (the plan above shows what differs)";
/// Holds the empty `config` and `credentials` files of [`aws_environment`].
const EMPTY_AWS_DIRECTORY: &str = "aws";
/// The only variables `stowage` inherits from the demo's own environment: a developer's real
/// AWS profile or Twilio key must not send the demo anywhere but the emulators.
const INHERITED_VARIABLES: [&str; 5] = ["PATH", "HOME", "RUST_LOG", "NO_COLOR", "TERM"];

#[tokio::main]
async fn main() -> ExitCode {
    report_panics_as_failures();
    let keep_running = match parse_arguments(std::env::args().skip(1)) {
        Ok(keep_running) => keep_running,
        Err(message) => {
            eprintln!("{message}\nusage: cargo xtask demo [--keep-running]");
            return ExitCode::from(2);
        }
    };
    match run(keep_running).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("\ndemo failed: {message}");
            ExitCode::FAILURE
        }
    }
}

/// [`Moto::start`] and [`start_emulator`] report a failed start by panicking, as tests want;
/// a person running the demo wants the message and its hint, not a backtrace.
fn report_panics_as_failures() {
    std::panic::set_hook(Box::new(|panic| {
        let payload = panic.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("the demo stopped on an unexpected error");
        eprintln!("\ndemo failed: {message}");
    }));
}

fn parse_arguments(arguments: impl Iterator<Item = String>) -> Result<bool, String> {
    let mut keep_running = false;
    for argument in arguments {
        match argument.as_str() {
            "--keep-running" => keep_running = true,
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(keep_running)
}

/// The walkthrough of the README, step by step.
async fn run(keep_running: bool) -> Result<(), String> {
    let stowage = stowage_binary()?;
    let (spec_text, spec) = example_spec()?;

    header("starting moto (the AWS emulator) and stowage's Twilio emulator on loopback ports");
    let moto = Moto::start();
    let twilio = start_emulator(&moto.endpoint()).await;
    println!("    AWS (moto):      {}", moto.endpoint());
    println!("    Twilio emulator: {}", twilio.base_url());

    let directory = demo_directory();
    prepare_directory(&directory, &spec_text)?;
    println!("    spec:            {}", directory.join(SPEC_FILE).display());

    let mut environment = aws_environment(&moto, &directory);
    environment.extend(twilio_env(&twilio.base_url()));
    let demo = Demo { stowage: &stowage, directory: &directory, environment: &environment };

    header("stowage plan: reads AWS and Twilio, finds nothing yet, and shows what apply would create");
    demo.stowage(&["plan", SPEC_FILE]).await?.expect(0, "the first plan")?;

    header(
        "stowage apply: creates the bucket, the uploader, its policy and key, the Twilio \
         credential, and points both settings at the bucket",
    );
    demo.stowage(&["apply", SPEC_FILE, "--auto-approve"]).await?.expect(0, "apply")?;

    header(
        "the bucket, listed with the AWS SDK: switching storage on made Twilio write a test \
         file under each prefix, with the uploader's key",
    );
    list_bucket(&moto, &spec).await?;

    header("the recording settings, as Twilio (the emulator) now answers them");
    show_recording_settings(&twilio.base_url()).await?;

    header("stowage plan --detailed-exitcode: a second plan must find nothing to change (exit 0)");
    let second_plan = demo.stowage(&["plan", SPEC_FILE, "--detailed-exitcode"]).await?;
    if second_plan.code == Some(2) {
        return Err(NOT_CONVERGED.to_owned());
    }
    second_plan.expect(0, "the second plan")?;

    if keep_running {
        print_manual_instructions(&stowage, &directory, &environment);
        header("running until Ctrl-C");
        tokio::signal::ctrl_c().await.map_err(|error| format!("could not wait for Ctrl-C: {error}"))?;
        println!("\nstopping moto and the Twilio emulator");
    } else {
        header("done: moto and the Twilio emulator stop now, with the demo");
        println!(
            "    Both ran inside this process (moto as its child, the emulator as a task), so \
             nothing is left behind.\n    `cargo xtask demo --keep-running` keeps them up and \
             prints how to run stowage by hand against them. The files stay in {}.",
            directory.display()
        );
    }
    // Dropping them stops both: moto is killed and reaped, the emulator shuts down.
    drop(twilio);
    drop(moto);
    Ok(())
}

/// `==> what happens, and why`, set off from the output of the step before.
fn header(text: &str) {
    println!("\n==> {text}");
}

/// `stowage` in `STOWAGE_BIN_DIR`, or beside this example's own directory (`cargo run
/// --example demo` puts it in `target/debug/examples/`, next to `target/debug/stowage`).
fn stowage_binary() -> Result<PathBuf, String> {
    let directory = match std::env::var_os("STOWAGE_BIN_DIR") {
        Some(directory) => PathBuf::from(directory),
        None => std::env::current_exe()
            .ok()
            .and_then(|example| Some(example.parent()?.parent()?.to_owned()))
            .ok_or("could not tell where the `stowage` binary is: set STOWAGE_BIN_DIR")?,
    };
    let binary = directory.join(format!("stowage{}", std::env::consts::EXE_SUFFIX));
    if binary.is_file() {
        // Absolute, because it runs in the demo directory.
        std::path::absolute(&binary).map_err(|error| format!("could not resolve {}: {error}", binary.display()))
    } else {
        Err(format!(
            "there is no `stowage` binary at {}\nhint: `cargo xtask demo` builds it; by hand, run \
             `cargo build -p stowage-cli` first",
            binary.display()
        ))
    }
}

fn workspace_root() -> PathBuf {
    // This crate sits at `crates/stowage-test-support`.
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).map(Path::to_path_buf).unwrap_or_default()
}

/// `examples/dev.toml`, as text to copy and parsed to know what to look for in the bucket.
fn example_spec() -> Result<(String, Spec), String> {
    let path = workspace_root().join("examples").join(SPEC_FILE);
    let text = std::fs::read_to_string(&path).map_err(|error| format!("could not read {}: {error}", path.display()))?;
    let validated = stowage_spec::parse(&path.display().to_string(), &text)
        .map_err(|errors| format!("{} is not a valid spec: {errors}", path.display()))?;
    Ok((text, validated.spec))
}

/// `target/demo/`, in `CARGO_TARGET_DIR` when that is set, as for the rest of the build.
fn demo_directory() -> PathBuf {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"));
    target.join("demo")
}

/// Empties the directory (a state file left by an earlier demo would describe resources of a
/// moto that is gone), writes the spec into it, and the empty AWS files of [`aws_environment`].
fn prepare_directory(directory: &Path, spec_text: &str) -> Result<(), String> {
    if directory.exists() {
        std::fs::remove_dir_all(directory)
            .map_err(|error| format!("could not empty {}: {error}", directory.display()))?;
    }
    let aws_directory = directory.join(EMPTY_AWS_DIRECTORY);
    std::fs::create_dir_all(&aws_directory)
        .map_err(|error| format!("could not create {}: {error}", aws_directory.display()))?;
    let files = [
        (directory.join(SPEC_FILE), spec_text),
        (aws_directory.join("config"), ""),
        (aws_directory.join("credentials"), ""),
    ];
    for (path, text) in files {
        std::fs::write(&path, text).map_err(|error| format!("could not write {}: {error}", path.display()))?;
    }
    Ok(())
}

/// moto's environment, with the AWS config and credentials files pointed at empty files in
/// the demo directory: a developer's own `~/.aws` stays out as with moto's never-created paths,
/// and the SDK has no missing file to warn about on every run.
fn aws_environment(moto: &Moto, directory: &Path) -> Vec<(String, String)> {
    let aws_directory = directory.join(EMPTY_AWS_DIRECTORY);
    let mut environment = moto.aws_env();
    for (name, value) in &mut environment {
        let file = match name.as_str() {
            "AWS_CONFIG_FILE" => "config",
            "AWS_SHARED_CREDENTIALS_FILE" => "credentials",
            _ => continue,
        };
        *value = aws_directory.join(file).to_string_lossy().into_owned();
    }
    environment
}

/// How the demo runs `stowage`: in the demo directory, with the emulators' environment only.
struct Demo<'a> {
    stowage: &'a Path,
    directory: &'a Path,
    environment: &'a [(String, String)],
}

/// How one `stowage` run ended.
struct Finished {
    command: String,
    /// `None` when a signal ended it.
    code: Option<i32>,
}

impl Finished {
    fn expect(&self, expected: i32, what: &str) -> Result<(), String> {
        match self.code {
            Some(code) if code == expected => Ok(()),
            Some(code) => {
                Err(format!("{what} (`{}`) exited with {code}, not {expected}: its output is above", self.command))
            }
            None => Err(format!("{what} (`{}`) was ended by a signal", self.command)),
        }
    }
}

impl Demo<'_> {
    /// Runs `stowage ARGUMENTS`, its output straight to the terminal, and waits for it
    /// without blocking the runtime that serves the Twilio emulator.
    async fn stowage(&self, arguments: &[&str]) -> Result<Finished, String> {
        let command_line = format!("stowage {}", arguments.join(" "));
        println!("$ {command_line}");
        let mut command = tokio::process::Command::new(self.stowage);
        command.args(arguments).current_dir(self.directory).stdin(std::process::Stdio::null()).env_clear();
        for name in INHERITED_VARIABLES {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        command.envs(self.environment.iter().map(|(name, value)| (name, value)));
        let status =
            command.status().await.map_err(|error| format!("could not run {}: {error}", self.stowage.display()))?;
        Ok(Finished { command: command_line, code: status.code() })
    }
}

/// Prints every object of the spec's bucket, and fails unless Twilio's test file is there for
/// each kind of media stored in S3.
async fn list_bucket(moto: &Moto, spec: &Spec) -> Result<(), String> {
    let bucket = spec.bucket.name.as_str();
    let listing =
        moto.s3_client(spec.aws.region.as_str()).list_objects_v2().bucket(bucket).send().await.map_err(|error| {
            format!("could not list s3://{bucket}: {}", aws_sdk_s3::error::DisplayErrorContext(error))
        })?;
    let keys: Vec<&str> = listing.contents().iter().filter_map(|object| object.key()).collect();
    println!("    s3://{bucket}/");
    for object in listing.contents() {
        println!("      {:<50} {:>4} bytes", object.key().unwrap_or("?"), object.size().unwrap_or(0));
    }

    let stored = [("recordings", &spec.recordings), ("compositions", &spec.compositions)];
    let missing: Vec<String> = stored
        .into_iter()
        .filter_map(|(noun, storage)| {
            let storage = storage.as_ref().filter(|storage| storage.store_in_s3)?;
            Some(test_file_key(storage.prefix.as_str(), noun))
        })
        .filter(|key| !keys.contains(&key.as_str()))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "Twilio's test file is missing from s3://{bucket}: {}; the settings were saved \
             without the write test that proves the uploader's key can write there",
            missing.join(", ")
        ))
    }
}

/// Where Twilio's write test puts its file: `recordings/twilio-storage-test-recordings.txt`.
fn test_file_key(prefix: &str, noun: &str) -> String {
    let directory = prefix.trim_matches('/');
    let file = format!("twilio-storage-test-{noun}.txt");
    if directory.is_empty() { file } else { format!("{directory}/{file}") }
}

/// `GET /v1/RecordingSettings/Default` as the test account, printed as Twilio answers it.
async fn show_recording_settings(base_url: &str) -> Result<(), String> {
    let url = format!("{base_url}/v1/RecordingSettings/Default");
    let response = reqwest::Client::new()
        .get(&url)
        .basic_auth(TEST_ACCOUNT_SID, Some(TEST_AUTH_TOKEN))
        .send()
        .await
        .map_err(|error| format!("could not GET {url}: {error}"))?;
    let status = response.status();
    let settings: serde_json::Value =
        response.json().await.map_err(|error| format!("GET {url} did not answer JSON: {error}"))?;
    if !status.is_success() {
        return Err(format!("GET {url} answered {status}: {settings}"));
    }
    let pretty =
        serde_json::to_string_pretty(&settings).map_err(|error| format!("could not print the settings: {error}"))?;
    println!("$ curl -u {TEST_ACCOUNT_SID}:*** {url}");
    for line in pretty.lines() {
        println!("    {line}");
    }
    Ok(())
}

/// The endpoints and the exact environment to run `stowage` by hand against the emulators.
/// Every credential in it is a fixed dummy value of the emulators, not a secret.
fn print_manual_instructions(stowage: &Path, directory: &Path, environment: &[(String, String)]) {
    header("moto and the Twilio emulator keep running; to run stowage by hand against them:");
    println!(
        "    (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are moto's fixed dummy credentials, \
         `testing`;\n     TWILIO_AUTH_TOKEN is the emulator's fake token: none of them is a \
         secret)\n"
    );
    println!("    cd {}", shell_quote(directory.as_os_str()));
    for (name, value) in environment {
        println!("    export {name}={}", shell_quote(OsStr::new(value)));
    }
    println!("    {} plan {SPEC_FILE}", shell_quote(stowage.as_os_str()));
}

/// Single quotes unless the text is plainly safe, so a copied line works in any POSIX shell.
fn shell_quote(text: &OsStr) -> String {
    let text = text.to_string_lossy();
    let plain = !text.is_empty()
        && text.chars().all(|character| character.is_ascii_alphanumeric() || "/._-:=,@+".contains(character));
    if plain { text.into_owned() } else { format!("'{}'", text.replace('\'', r"'\''")) }
}

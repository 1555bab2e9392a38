//! `stowage init` asking its questions on a terminal, through the binary in a pseudo-terminal:
//! the answers write the same file as the flags, a bad answer is asked again, the KMS choice is
//! taken, and an interrupted or hung-up session writes nothing. Each step waits for the prompt
//! it answers (an expect loop with one deadline), never for a time.
//!
//! The pty is the child's standard input, output and error, but not its controlling terminal
//! (that would need `setsid` between fork and exec, which is unsafe code): so the line
//! discipline's `ISIG` is turned off, and a Ctrl-C typed while dialoguer is between two reads
//! (the terminal back in cooked mode) still reaches it as the byte dialoguer reads in raw mode,
//! instead of being swallowed for a foreground process group there is none of.
#![cfg(unix)]

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, poll};
use rustix::fs::{Mode, OFlags};
use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use rustix::termios::{LocalModes, OptionalActions, Winsize, tcgetattr, tcsetattr, tcsetwinsize};

const STOWAGE: &str = env!("CARGO_BIN_EXE_stowage");
const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
/// How long one session may take, all its questions together.
const DEADLINE: Duration = Duration::from_secs(20);

const NAME_PROMPT: &str = "Environment name (e.g. dev, prod): ";
/// The region question, its default from `AWS_REGION`.
const REGION_PROMPT: &str = "AWS region of the bucket [eu-west-1]: ";
/// The bucket question, its suggestion `my-video-NAME` as the environment names no login.
const BUCKET_PROMPT: &str = "S3 bucket name (globally unique) [my-video-dev]: ";
const ACCOUNT_PROMPT: &str = "Twilio account SID (AC…): ";
const KMS_PROMPT: &str = "Encrypt recordings at rest with a KMS key (SSE-KMS)?";
/// The KMS question's last choice: once it is drawn, the question waits for a key.
const KMS_LAST_CHOICE: &str = "yes: an existing key (its ARN)";

const ENTER: &str = "\r";
const ARROW_DOWN: &str = "\x1b[B";
const CTRL_C: &str = "\x03";

/// `stowage ARGS` in a pseudo-terminal, and what it has written to it so far.
struct Session {
    child: Option<Child>,
    /// The pty's master side: what the child writes is read here, what is written here it reads.
    master: Option<File>,
    /// Everything read from the master, escapes included.
    output: Vec<u8>,
    /// How far into the output (escapes stripped) the prompts waited for so far were found.
    matched: usize,
    deadline: Instant,
}

impl Session {
    /// Starts `stowage ARGS` in `directory` on a new pty, with an empty environment but for
    /// `HOME` (an empty directory), `TERM`, `NO_COLOR` and `env`.
    fn start(directory: &Path, home: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("a pty opens");
        // Not the child's: it must not hold the master open, or hanging up would not reach it.
        rustix::io::fcntl_setfd(&master, rustix::io::FdFlags::CLOEXEC).expect("the master is close-on-exec");
        grantpt(&master).expect("grantpt");
        unlockpt(&master).expect("unlockpt");
        let name = ptsname(&master, Vec::new()).expect("the pty's name");
        let slave = rustix::fs::open(name.as_c_str(), OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC, Mode::empty())
            .expect("the pty's terminal side opens");
        tcsetwinsize(&slave, Winsize { ws_row: 24, ws_col: 80, ws_xpixel: 0, ws_ypixel: 0 }).expect("a window size");
        let mut modes = tcgetattr(&slave).expect("the terminal's modes");
        modes.local_modes.remove(LocalModes::ISIG);
        tcsetattr(&slave, OptionalActions::Now, &modes).expect("ISIG off");

        let terminal = |fd: &OwnedFd| Stdio::from(fd.try_clone().expect("the terminal side is duplicated"));
        let mut command = Command::new(STOWAGE);
        command
            .args(args)
            .current_dir(directory)
            .env_clear()
            .env("HOME", home)
            .env("TERM", "xterm")
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdin(terminal(&slave))
            .stdout(terminal(&slave))
            .stderr(terminal(&slave));
        let child = command.spawn().expect("stowage starts");
        // Only the child holds the terminal side now: once it exits, reading the master ends.
        drop(command);
        drop(slave);
        Self {
            child: Some(child),
            master: Some(File::from(master)),
            output: Vec::new(),
            matched: 0,
            deadline: Instant::now() + DEADLINE,
        }
    }

    /// The output so far, escapes stripped.
    fn screen(&self) -> String {
        String::from_utf8_lossy(&strip_ansi_escapes::strip(&self.output)).into_owned()
    }

    /// Reads what the child writes until `text` appears after what was matched before; fails,
    /// with the output so far, if it does not within the deadline or the child ends first.
    fn expect(&mut self, text: &str) {
        loop {
            let screen = self.screen();
            if let Some(found) = screen[self.matched..].find(text) {
                self.matched += found + text.len();
                return;
            }
            if !self.read_some() {
                let status = self.wait();
                panic!("stowage ended ({status}) before `{text}` appeared; its terminal:\n{screen}");
            }
        }
    }

    /// Reads one chunk of output into `output`: false at the end of it (the child closed the
    /// terminal: it exited); fails at the deadline.
    fn read_some(&mut self) -> bool {
        let master = self.master.as_mut().expect("the session is not hung up");
        let left = self.deadline.saturating_duration_since(Instant::now());
        let timeout = rustix::event::Timespec::try_from(left).expect("a timeout");
        let mut fds = [PollFd::new(&*master, PollFlags::IN)];
        let ready = poll(&mut fds, Some(&timeout)).expect("poll");
        if ready == 0 {
            let screen = self.screen();
            panic!("nothing more after {DEADLINE:?}; stowage's terminal so far:\n{screen}");
        }
        let mut buffer = [0; 4096];
        match master.read(&mut buffer) {
            Ok(0) => false,
            Ok(read) => {
                self.output.extend_from_slice(&buffer[..read]);
                true
            }
            // Linux: the master reads EIO once no process has the terminal side open.
            Err(error) if error.raw_os_error() == Some(rustix::io::Errno::IO.raw_os_error()) => false,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => true,
            Err(error) => panic!("reading stowage's terminal: {error}"),
        }
    }

    /// Types `keys`.
    fn send(&mut self, keys: &str) {
        let master = self.master.as_mut().expect("the session is not hung up");
        master.write_all(keys.as_bytes()).and_then(|()| master.flush()).expect("typing into the pty");
    }

    /// Closes the terminal, as a closed terminal window would: stowage reads the end of its input.
    fn hang_up(&mut self) {
        self.master = None;
    }

    /// Reads the output to its end, then waits for the exit: its status and the output.
    fn finish(mut self) -> (ExitStatus, String) {
        while self.master.is_some() && self.read_some() {}
        let status = self.wait();
        (status, self.screen())
    }

    /// Waits for the child's exit until the deadline; kills it (and fails) after.
    fn wait(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("the child is waited for once");
        let pid = rustix::process::Pid::from_child(&child);
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || sender.send(child.wait()));
        match receiver.recv_timeout(self.deadline.saturating_duration_since(Instant::now())) {
            Ok(status) => status.expect("stowage is waited for"),
            Err(_) => {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                panic!("stowage did not exit within {DEADLINE:?}; its terminal:\n{}", self.screen());
            }
        }
    }
}

impl Drop for Session {
    /// A failed test's stowage is still waiting for an answer: it is ended, not left behind.
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `stowage init` in `directory`, on a pty, `AWS_REGION=eu-west-1`.
fn init(directory: &Path, home: &Path) -> Session {
    Session::start(directory, home, &["init"], &[("AWS_REGION", "eu-west-1")])
}

/// Answers the questions before the KMS one: `dev`, the region's default, `acme-video-dev`, the
/// SID; returns once the KMS question is drawn.
fn answer_up_to_kms(session: &mut Session) {
    session.expect(NAME_PROMPT);
    session.send("dev\r");
    session.expect(REGION_PROMPT);
    session.send(ENTER);
    session.expect(BUCKET_PROMPT);
    session.send("acme-video-dev\r");
    session.expect(ACCOUNT_PROMPT);
    session.send(&format!("{ACCOUNT}\r"));
    session.expect(KMS_PROMPT);
    session.expect(KMS_LAST_CHOICE);
}

/// The names in `directory`, sorted.
fn files(directory: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(directory)
        .expect("the directory lists")
        .map(|entry| entry.expect("an entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn temporary() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

#[test]
fn answers_write_the_same_file_as_the_flags() {
    let (directory, home) = (temporary(), temporary());
    let mut session = init(directory.path(), home.path());
    answer_up_to_kms(&mut session);
    session.send(ENTER);
    let (status, screen) = session.finish();
    assert!(status.success(), "{status}\n{screen}");
    assert!(screen.contains("Wrote dev.toml: environment `dev`, bucket `acme-video-dev` in eu-west-1"), "{screen}");
    assert_eq!(files(directory.path()), ["dev.toml"], "{screen}");
    let asked = std::fs::read_to_string(directory.path().join("dev.toml")).unwrap();

    let (flagged_directory, flagged_home) = (temporary(), temporary());
    let flagged = Command::new(STOWAGE)
        .args([
            "init",
            "--name",
            "dev",
            "--region",
            "eu-west-1",
            "--bucket",
            "acme-video-dev",
            "--account-sid",
            ACCOUNT,
        ])
        .current_dir(flagged_directory.path())
        .env_clear()
        .env("HOME", flagged_home.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("stowage runs");
    assert!(flagged.status.success(), "{}", String::from_utf8_lossy(&flagged.stderr));
    let from_flags = std::fs::read_to_string(flagged_directory.path().join("dev.toml")).unwrap();
    assert_eq!(asked, from_flags, "the answers and the flags wrote different files");
}

#[test]
fn a_bad_answer_is_asked_again() {
    let (directory, home) = (temporary(), temporary());
    let mut session = init(directory.path(), home.path());
    session.expect(NAME_PROMPT);
    session.send("dev\r");
    session.expect(REGION_PROMPT);
    session.send(ENTER);
    session.expect(BUCKET_PROMPT);
    session.send("Bad_Bucket\r");
    session.expect("error: bucket name `Bad_Bucket` contains uppercase letters");
    session.expect(BUCKET_PROMPT);
    session.send("acme-video-dev\r");
    session.expect(ACCOUNT_PROMPT);
    session.send(&format!("{ACCOUNT}\r"));
    session.expect(KMS_LAST_CHOICE);
    session.send(ENTER);
    let (status, screen) = session.finish();
    assert!(status.success(), "{status}\n{screen}");
    let spec = std::fs::read_to_string(directory.path().join("dev.toml")).unwrap();
    assert!(spec.contains("\n[bucket]\nname = \"acme-video-dev\" "), "{spec}");
    assert!(!spec.contains("Bad_Bucket"), "{spec}");
}

#[test]
fn the_second_kms_choice_creates_a_key() {
    let (directory, home) = (temporary(), temporary());
    let mut session = init(directory.path(), home.path());
    answer_up_to_kms(&mut session);
    session.send(ARROW_DOWN);
    session.expect("> yes: a new key stowage creates");
    session.send(ENTER);
    let (status, screen) = session.finish();
    assert!(status.success(), "{status}\n{screen}");
    let spec = std::fs::read_to_string(directory.path().join("dev.toml")).unwrap();
    assert!(spec.contains("\nencryption = { kms_key = \"create\" }\n"), "{spec}");
}

#[test]
fn ctrl_c_at_a_question_writes_nothing() {
    // At the first question, and at the last, every other one answered.
    for last in [false, true] {
        let (directory, home) = (temporary(), temporary());
        let mut session = init(directory.path(), home.path());
        if last {
            answer_up_to_kms(&mut session);
        } else {
            session.expect(NAME_PROMPT);
        }
        session.send(CTRL_C);
        let (status, screen) = session.finish();
        assert!(
            !status.success(),
            "Ctrl-C at the {} question: {status}\n{screen}",
            if last { "last" } else { "first" }
        );
        assert_eq!(files(directory.path()), [""; 0], "{screen}");
    }
}

#[test]
fn a_closed_terminal_writes_nothing() {
    let (directory, home) = (temporary(), temporary());
    let mut session = init(directory.path(), home.path());
    session.expect(NAME_PROMPT);
    session.send("dev\r");
    session.expect(REGION_PROMPT);
    session.hang_up();
    let (status, screen) = session.finish();
    // 1 as any error: not 101, a panic writing the error to a terminal that is gone.
    assert_eq!(status.code(), Some(1), "{status}\n{screen}");
    assert_eq!(files(directory.path()), [""; 0], "{screen}");
}

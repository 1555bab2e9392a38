//! `cargo xtask bench` keeps its arguments, and `cargo xtask test` (CI's command) keeps ending
//! with the quick bench. `XTASK_DRY_RUN` prints the commands instead of running them; the bench's
//! own `--quick` is proven by the real run at the end of `cargo xtask test`.

use std::process::{Command, Output};

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .env("XTASK_DRY_RUN", "1")
        // Never installs moto: the path is only handed on.
        .env("STOWAGE_MOTO_SERVER", "/nonexistent/moto_server")
        .output()
        .expect("xtask runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const QUICK_BENCH: &str = r#""bench" "--workspace" "--bench" "noop_plan" "--profile" "dev" "--" "--quick""#;
const QUICK_FLEET_BENCH: &str = r#""bench" "--workspace" "--bench" "fleet" "--profile" "dev" "--" "--quick""#;

#[test]
fn bench_quick_runs_the_bench_with_quick_on_the_debug_build() {
    let output = xtask(&["bench", "--quick"]);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout(&output).contains(QUICK_BENCH), "{}", stdout(&output));
}

#[test]
fn the_full_bench_measures_the_release_build() {
    let output = xtask(&["bench"]);
    assert!(output.status.success(), "{output:?}");
    let printed = stdout(&output);
    assert!(printed.contains(r#""bench" "--workspace" "--bench" "noop_plan""#), "{printed}");
    assert!(!printed.contains("--profile") && !printed.contains("--quick"), "{printed}");
}

#[test]
fn bench_refuses_an_argument_it_does_not_know() {
    let output = xtask(&["bench", "--quik"]);
    assert!(!output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("`--quik`"), "{output:?}");
    assert!(stdout(&output).is_empty(), "nothing ran: {}", stdout(&output));
}

#[test]
fn the_whole_test_run_ends_with_the_quick_benches() {
    let output = xtask(&["test"]);
    assert!(output.status.success(), "{output:?}");
    let printed = stdout(&output);
    let lines: Vec<&str> = printed.lines().collect();
    let [.., before_last, last] = lines.as_slice() else { panic!("too few commands:\n{printed}") };
    assert!(before_last.contains(QUICK_BENCH), "the no-op plan's quick bench does not come second to last:\n{printed}");
    assert!(last.contains(QUICK_FLEET_BENCH), "the last command is not the fleet's quick bench:\n{printed}");
}

#[test]
fn a_narrowed_test_run_leaves_the_bench_out() {
    let output = xtask(&["test", "-p", "stowage-spec"]);
    assert!(output.status.success(), "{output:?}");
    assert!(!stdout(&output).contains("noop_plan"), "{}", stdout(&output));
}

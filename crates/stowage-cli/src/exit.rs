//! Exit codes (contract): 0 success, 1 error, 2 changes (with `--detailed-exitcode`), drift or
//! findings.

use std::process::ExitCode;

pub const OK: ExitCode = ExitCode::SUCCESS;
pub const ERROR: ExitCode = ExitCode::FAILURE;

/// There are changes to apply (plan `--detailed-exitcode`), drift, or findings.
pub fn changes() -> ExitCode {
    ExitCode::from(2)
}

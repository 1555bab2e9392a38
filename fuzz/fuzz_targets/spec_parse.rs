//! Fuzzes the spec parser: any UTF-8 text goes through `stowage_spec::parse`, and the
//! invariants every input must keep are checked (no panic; each finding inside the text; a
//! valid spec re-validates the same). The checks are shared with the stable test
//! `crates/stowage-spec/tests/fuzz_corpus.rs`, which runs them over the seed corpus in CI.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/stowage-spec/tests/fuzz_invariants/mod.rs"]
mod fuzz_invariants;

fuzz_target!(|data: &[u8]| {
    // The parser takes text; the CLI refuses a file that is not UTF-8 before parsing.
    if let Ok(text) = std::str::from_utf8(data) {
        fuzz_invariants::check(text);
    }
});

# Developer recipes; each mirrors a `cargo xtask` task so nothing here needs `just` to work.

# List the recipes.
default:
    @just --list

# The local demo: moto and the Twilio emulator, then plan, apply, and a clean second plan.
demo *args:
    cargo xtask demo {{args}}

# Every test of the workspace (installs moto into target/tools/moto the first time).
test *args:
    cargo xtask test {{args}}

# Wall time, API calls (as the proxy and the emulator saw them) and peak memory of a no-op plan
# and a fresh apply of the examples; `just bench --quick` is CI's few runs on the debug build.
bench *args:
    cargo xtask bench {{args}}

# Formatting and lints, as a reviewer would run them.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings

# Regenerate the checked-in JSON Schemas after changing the spec, state or output types.
schemas:
    UPDATE_SCHEMA=1 cargo test -p stowage-spec --test schema
    UPDATE_SCHEMA=1 cargo test -p stowage-state
    UPDATE_SCHEMA=1 cargo test -p stowage-plan --test render_schemas

# Fuzz the spec parser with cargo-fuzz (`cargo install cargo-fuzz`; see docs/fuzzing.md).
# RUSTC_BOOTSTRAP lets a stable toolchain take cargo-fuzz's nightly flags.
fuzz seconds="60" *args:
    fuzz/seed-corpus.sh
    cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run spec_parse {{args}} -- -max_total_time={{seconds}}

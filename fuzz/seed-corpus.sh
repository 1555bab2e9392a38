#!/bin/sh
# Seeds the fuzz corpus with the spec files the repository already has: the bad and warning
# cases of stowage-spec's tests and the examples. Safe to run again; cargo fuzz adds its own
# finds next to these in the same directory.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
corpus="$root/fuzz/corpus/spec_parse"
mkdir -p "$corpus"
for file in "$root"/crates/stowage-spec/tests/bad/*.toml "$root"/crates/stowage-spec/tests/warnings/*.toml "$root"/examples/*.toml; do
    kind=$(basename "$(dirname "$file")")
    cp "$file" "$corpus/seed-$kind-$(basename "$file")"
done
echo "seeded $(ls "$corpus" | wc -l) files in $corpus"

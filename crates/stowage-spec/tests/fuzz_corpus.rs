//! The fuzz target's invariants, run on stable Rust so CI exercises them: over the seed corpus
//! (every spec under `tests/bad/`, `tests/warnings/` and `examples/`) and over a few thousand
//! inputs mutated from it by a seeded generator, the same on every run.
//!
//! `cargo fuzz run spec_parse` explores much further; see `docs/fuzzing.md`.

mod fuzz_invariants;

use std::fs;
use std::path::{Path, PathBuf};

/// How many mutated inputs to check: a few seconds in a debug build.
const MUTATED_INPUTS: usize = 4000;
/// The generator's seed; change it to explore other inputs, keep it fixed to reproduce.
const SEED: u64 = 0x5107_a6e5_eed5;

/// The spec files the fuzz corpus is seeded from (`fuzz/seed-corpus.sh` copies the same).
fn seed_files() -> Vec<PathBuf> {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let directories = [crate_dir.join("tests/bad"), crate_dir.join("tests/warnings"), crate_dir.join("../../examples")];
    let mut files: Vec<PathBuf> = directories
        .iter()
        .flat_map(|directory| {
            fs::read_dir(directory).unwrap_or_else(|error| panic!("reading {}: {error}", directory.display()))
        })
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "toml"))
        .collect();
    files.sort();
    files
}

fn seeds() -> Vec<String> {
    let files = seed_files();
    assert!(files.len() >= 10, "the seed corpus is missing files: {files:?}");
    files
        .iter()
        .map(|path| fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display())))
        .collect()
}

#[test]
fn the_seed_corpus_keeps_the_invariants() {
    let seeds = seeds();
    let valid = seeds.iter().filter(|text| fuzz_invariants::check(text)).count();
    // The examples and the warning cases are valid, the bad cases are not.
    assert!(valid > 0 && valid < seeds.len(), "{valid} of {} seeds are valid", seeds.len());
}

#[test]
fn mutated_inputs_keep_the_invariants() {
    let seeds = seeds();
    // Most seeds are invalid on purpose; starting half the time from a valid one keeps enough
    // mutated inputs valid to reach the checks of valid specs.
    let valid_seeds: Vec<String> =
        seeds.iter().filter(|text| stowage_spec::parse("seed.toml", text).is_ok()).cloned().collect();
    let starting_points: Vec<String> =
        seeds.iter().chain(valid_seeds.iter().cycle().take(seeds.len())).cloned().collect();
    let mut mutator = Mutator::new(SEED);
    let mut valid = 0;
    for _ in 0..MUTATED_INPUTS {
        let text = mutator.mutate(&starting_points);
        if fuzz_invariants::check(&text) {
            valid += 1;
        }
    }
    // Mutations that keep a spec valid reach the checks of valid specs too; a generator that
    // only produced garbage would test far less.
    assert!(valid >= MUTATED_INPUTS / 50, "only {valid} of {MUTATED_INPUTS} mutated inputs are valid specs");
    assert!(valid < MUTATED_INPUTS, "every mutated input is valid: the mutations do nothing");
}

#[test]
fn the_mutator_is_deterministic() {
    let seeds = seeds();
    let run = || {
        let mut mutator = Mutator::new(SEED);
        (0..20).map(|_| mutator.mutate(&seeds)).collect::<Vec<_>>()
    };
    let first = run();
    assert_eq!(first, run());
    assert!(first.iter().any(|text| !seeds.contains(text)), "the mutator returns its seeds unchanged");
}

/// Tokens that mean something to TOML or to the spec, so mutations reach past the first error.
#[rustfmt::skip] // a table of tokens, a few a line
const DICTIONARY: &[&str] = &[
    "[", "]", "[[", "]]", "{", "}", "=", ",", ".", "\"", "'", "'''", "\"\"\"", "\\", "\\u00e9", "\\U0001F600",
    "#", "\n", "\r\n", "\t", " ", "true", "false", "0", "-1", "1", "90", "4294967296", "1e3", "nan", "inf",
    "1979-05-27T07:32:00Z", "[environment]", "[aws]", "[twilio]", "[bucket]", "[[bucket.lifecycle]]", "[uploader]",
    "[recordings]", "[compositions]", "[drift]", "name", "region", "profile", "account_sid", "versioning",
    "block_public_access", "tags", "lifecycle", "prefix", "expire_after_days", "encryption", "kms_key", "user_name",
    "path", "store_in_s3", "ignore", "\"/\"", "\"\"", "\"create\"", "\"us-east-2\"", "\"recordings/\"",
    "\"compositions/\"", "\"AC0123456789abcdef0123456789abcdef\"", "\"aws_s3_bucket.main.tags\"",
    "\"arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab\"", "é", "ü", "ß", "\u{0}",
    "\u{7f}", "\u{feff}", "\u{200b}", "😀", "a.b", "xn--", "-s3alias", "aws:", "//", "*", "?",
];

/// Deterministic mutations of the seed corpus: `splitmix64` picks one to four edits of a seed
/// (delete, insert, replace, duplicate or swap lines, truncate, splice in part of another seed).
/// Edits work on characters, so every input is UTF-8, as the fuzz target's are.
struct Mutator {
    state: u64,
}

impl Mutator {
    fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`0` when `bound` is `0`).
    fn below(&mut self, bound: usize) -> usize {
        if bound == 0 { 0 } else { usize::try_from(self.next() % bound as u64).expect("below a usize bound") }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn mutate(&mut self, seeds: &[String]) -> String {
        let mut text: Vec<char> = self.pick(seeds).chars().collect();
        // One edit half the time, two a quarter, up to four: small edits keep more inputs
        // near valid, stacked ones reach further.
        self.edit(&mut text, seeds);
        for _ in 0..3 {
            if self.below(2) == 0 {
                break;
            }
            self.edit(&mut text, seeds);
        }
        text.into_iter().collect()
    }

    fn edit(&mut self, text: &mut Vec<char>, seeds: &[String]) {
        let at = self.below(text.len() + 1);
        let length = 1 + self.below(16).min(text.len().saturating_sub(at));
        let end = (at + length).min(text.len());
        match self.below(8) {
            0 => {
                text.drain(at..end);
            }
            1 => {
                let token = *self.pick(DICTIONARY);
                text.splice(at..at, token.chars());
            }
            2 => {
                let token = *self.pick(DICTIONARY);
                text.splice(at..end, token.chars());
            }
            3 => {
                let character = char::from_u32(u32::try_from(self.below(0x250)).expect("small")).unwrap_or('?');
                text.insert(at, character);
            }
            4 => self.duplicate_line(text),
            5 => self.swap_lines(text),
            6 => text.truncate(at),
            _ => {
                let other: Vec<char> = self.pick(seeds).chars().collect();
                let from = self.below(other.len());
                let to = (from + 1 + self.below(80)).min(other.len());
                text.splice(at..at, other[from..to].iter().copied());
            }
        }
    }

    fn lines(text: &[char]) -> Vec<Vec<char>> {
        text.split_inclusive(|&character| character == '\n').map(<[char]>::to_vec).collect()
    }

    fn duplicate_line(&mut self, text: &mut Vec<char>) {
        let mut lines = Self::lines(text);
        if lines.is_empty() {
            return;
        }
        let line = lines[self.below(lines.len())].clone();
        let at = self.below(lines.len() + 1);
        lines.insert(at, line);
        *text = lines.concat();
    }

    fn swap_lines(&mut self, text: &mut Vec<char>) {
        let mut lines = Self::lines(text);
        if lines.len() < 2 {
            return;
        }
        let (first, second) = (self.below(lines.len()), self.below(lines.len()));
        lines.swap(first, second);
        *text = lines.concat();
    }
}

//! The marker a create puts on an object whose creation could be lost, so that the next run
//! can find it again: `[ENVIRONMENT:LINEAGE8]`, from the state's environment name and the
//! first 8 hex digits of its lineage. Deterministic, so every run of one state computes the
//! same marker; distinct between states, so one environment never deletes another's objects.
//!
//! Twilio credentials carry it at the end of their `FriendlyName` (at most 64 characters):
//! the readable name is shortened to make room, and reads remove the marker again so that
//! the name compares with the spec's.

/// Twilio's limit on `FriendlyName`.
pub const FRIENDLY_NAME_LIMIT: usize = 64;

/// The marker of a state: `[dev:5f0c6a0e]`.
pub fn intent_marker(environment: &str, lineage: &str) -> String {
    let short: String = lineage.chars().filter(char::is_ascii_hexdigit).take(8).collect();
    format!("[{environment}:{short}]")
}

/// `name` followed by `marker`, within `limit` characters: the name gives way, never the
/// marker (without it the object could not be found again).
pub fn with_marker(name: &str, marker: &str, limit: usize) -> String {
    let room = limit.saturating_sub(marker.chars().count() + 1);
    let shortened: String = name.chars().take(room).collect();
    let shortened = shortened.trim_end();
    if shortened.is_empty() { marker.to_owned() } else { format!("{shortened} {marker}") }
}

/// Whether `name` carries `marker` (as [`with_marker`] put it).
pub fn has_marker(name: &str, marker: &str) -> bool {
    name == marker || name.ends_with(&format!(" {marker}"))
}

/// `name` as the spec sees it: without a marker at its end, and, when `wanted` is the name
/// the marker shortened, `wanted` itself (a long name is not a change).
pub fn without_marker(name: &str, wanted: Option<&str>) -> String {
    let Some(marker_start) = marker_start(name) else { return name.to_owned() };
    let bare = name[..marker_start].trim_end();
    match wanted {
        Some(wanted) if wanted != bare && !bare.is_empty() && wanted.starts_with(bare) => {
            // Only a name that had to give way to the marker is taken for the spec's.
            let marker_length = name.len() - marker_start;
            let room = FRIENDLY_NAME_LIMIT.saturating_sub(marker_length + 1);
            if wanted.chars().count() > room { wanted.to_owned() } else { bare.to_owned() }
        }
        _ => bare.to_owned(),
    }
}

/// Where a trailing `[environment:hex8]` starts, if `name` ends with one.
fn marker_start(name: &str) -> Option<usize> {
    let inner = name.strip_suffix(']')?;
    let open = inner.rfind('[')?;
    let (environment, lineage) = inner[open + 1..].split_once(':')?;
    let environment_ok = !environment.is_empty()
        && environment
            .chars()
            .all(|character| character.is_ascii_lowercase() || character.is_ascii_digit() || character == '-');
    let lineage_ok = lineage.len() == 8 && lineage.chars().all(|character| character.is_ascii_hexdigit());
    (environment_ok && lineage_ok && (open == 0 || name[..open].ends_with(' '))).then_some(open)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINEAGE: &str = "5f0c6a0e-3b7d-4c55-9a2e-8e1f0d7c2b41";

    #[test]
    fn the_marker_names_the_environment_and_the_lineage() {
        assert_eq!(intent_marker("dev", LINEAGE), "[dev:5f0c6a0e]");
    }

    #[test]
    fn a_marked_name_fits_twilios_limit_and_reads_back_as_the_spec_wrote_it() {
        let marker = intent_marker("a-rather-long-environment-name-32", LINEAGE);
        for name in
            ["stowage dev acme-video-dev", &"x".repeat(64), "", "stowage prod a-very-long-bucket-name-for-videos"]
        {
            let marked = with_marker(name, &marker, FRIENDLY_NAME_LIMIT);
            assert!(marked.chars().count() <= FRIENDLY_NAME_LIMIT, "{marked:?} is too long");
            assert!(has_marker(&marked, &marker), "{marked:?} lost its marker");
            assert_eq!(without_marker(&marked, Some(name)), name, "{marked:?} does not read back as {name:?}");
        }
    }

    #[test]
    fn names_without_a_marker_are_left_alone() {
        assert_eq!(without_marker("stowage dev (uploader)", Some("stowage dev")), "stowage dev (uploader)");
        assert_eq!(without_marker("array[dev:5f0c6a0e]", None), "array[dev:5f0c6a0e]");
        assert!(!has_marker("stowage dev [dev:5f0c6a0e]", "[dev:00000000]"));
    }

    #[test]
    fn a_renamed_object_does_not_pass_for_the_spec_name() {
        let marked = with_marker("stowage dev old-bucket", "[dev:5f0c6a0e]", FRIENDLY_NAME_LIMIT);
        assert_eq!(without_marker(&marked, Some("stowage dev old-bucket-2")), "stowage dev old-bucket");
    }
}

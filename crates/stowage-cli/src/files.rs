//! Files the CLI writes itself (plan files): private and atomic.

use std::io::Write;
use std::path::Path;

use miette::{Report, miette};

/// Write `bytes` to `path` atomically, readable by the owner only (0600): a temp file in the
/// same directory, synced, then renamed over `path`.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Report> {
    let fail = |error: &dyn std::fmt::Display| miette!("could not write `{}`: {error}", path.display());
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    // tempfile creates the file with mode 0600 on Unix.
    let mut file = tempfile::NamedTempFile::new_in(directory).map_err(|error| fail(&error))?;
    file.write_all(bytes).and_then(|()| file.as_file().sync_all()).map_err(|error| fail(&error))?;
    file.persist(path).map_err(|error| fail(&error.error))?;
    Ok(())
}

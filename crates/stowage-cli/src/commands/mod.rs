//! One module per command, each returning an exit status.

pub mod apply;
pub mod drift;
pub mod force_unlock;
pub mod import;
pub mod plan;
pub mod show;
pub mod validate;
pub mod verify;

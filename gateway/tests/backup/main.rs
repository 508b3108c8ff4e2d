//! Integration tests of backups: a real `lakegate server` per test with a policies directory
//! holding a backup binding (`builtin:backup`), a backup target in a temp directory
//! (`LAKEGATE_BACKUP_TARGET`), the admin API, the `lakegate backup` CLI, and aws-sdk-s3.
//!
//! Run: `cargo test -p lakegate --test backup`.

#[path = "../s3/common.rs"]
mod common;

#[path = "../bindings/harness.rs"]
mod harness;

mod util;

mod events;
mod layout;
mod restore;
mod s3target;
mod security;

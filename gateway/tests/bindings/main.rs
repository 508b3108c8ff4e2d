//! Integration tests of policy bindings: a real `lakegate server` process per test with a policy
//! directory (`LAKEGATE_POLICIES`), the real fixture plugins (`tests/plugins/`, built for
//! wasm32-wasip2), the admin API, and the `lakegate policy` CLI.
//!
//! Run: `bash tests/plugins/build.sh && cargo test -p lakegate --test bindings`. Missing fixtures
//! are built on first use. `LAKEGATE_PLUGIN_DIR` overrides where the fixture `.wasm` files are
//! looked up (default `<target>/wasm32-wasip2/release`).

#[path = "../s3/common.rs"]
mod common;

mod harness;

mod admin;
mod cli;
mod defaults;
mod gate;
mod lifecycle;
mod paths;
mod reload;
mod retention;
mod shipped;
mod suites;

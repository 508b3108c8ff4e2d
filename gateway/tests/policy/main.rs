//! Integration tests of the policy engine against the fixture plugins of `tests/plugins/`.
//!
//! The fixtures are WebAssembly components built by `bash tests/plugins/build.sh` into
//! `target/wasm32-wasip2/release/`; every test that needs one fails with that hint if it is
//! missing.

mod cache;
mod common;
mod concurrency;
mod containment;
mod load;

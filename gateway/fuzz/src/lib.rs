//! The logic of lakegate's fuzz targets, one module per target (see `docs/FUZZING.md`). Each
//! module's `run` takes one input and panics on a defect; the binaries in `fuzz_targets/` hand
//! libFuzzer's inputs to it when built by cargo-fuzz (`--cfg fuzzing`).
//!
//! Keeping the logic in a library lets the workspace's ordinary `cargo clippy`/`cargo build`
//! check it on stable without building libFuzzer or linking six large binaries.

pub mod auth_request;
pub mod aws_chunked;
pub mod browser_form;
pub mod headers;
pub mod records;
pub mod router;
pub mod xml_documents;

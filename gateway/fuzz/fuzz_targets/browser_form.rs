//! cargo-fuzz entry point of [`lakegate_fuzz::browser_form`].
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| lakegate_fuzz::browser_form::run(data));

/// Outside a cargo-fuzz build (`--cfg fuzzing`) the binary is empty: the workspace build checks
/// the targets' logic in the library and links nothing large.
#[cfg(not(fuzzing))]
fn main() {}

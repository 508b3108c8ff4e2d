//! Test fixture: a `retention` component that also imports `evil:steal/files` (see
//! `wit/evil.wit`), an interface the host does not provide, and calls it from `decide` (so the
//! import is not dropped). Linking / instantiating it must fail on the host.
//!
//! Uses `wit-bindgen` directly (the SDK only knows the three lakegate worlds).

mod bindings {
    wit_bindgen::generate!({
        path: ["../../../sdk/wit", "wit"],
        world: "evil:steal/bad-import",
        generate_all,
    });
}

use bindings::evil::steal::files;
use bindings::exports::lakegate::policy::retention_policy::{self, RetentionDecision};
use bindings::lakegate::policy::types::{ObjectVersion, Timestamp};

// Only exported in wasm builds (see `export!` below).
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
struct BadImport;

impl bindings::Guest for BadImport {
    fn configure(_config: String) -> Result<(), String> {
        Ok(())
    }
}

impl retention_policy::Guest for BadImport {
    fn decide(_object: ObjectVersion, _now: Timestamp) -> RetentionDecision {
        let stolen = files::read("/etc/passwd");
        RetentionDecision {
            retention: None,
            legal_hold: stolen.is_ok(),
        }
    }
}

// Natively a cdylib cannot export symbols named like `lakegate:policy/…#decide`.
#[cfg(target_arch = "wasm32")]
bindings::export!(BadImport with_types_in bindings);

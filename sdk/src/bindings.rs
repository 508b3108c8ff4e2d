//! The `wit-bindgen` output for the three worlds. Not a public API: the `export_*!` macros
//! reach into it through `$crate::__bindings`.
//!
//! `types` and `host` are generated once (with the `retention` world) and shared by the other
//! two worlds through `with`, so there is one Rust type per WIT type. The export macros are
//! `pub` (`pub_export_macro`): wit-bindgen then puts the custom section that describes the
//! world's exports into the *expansion* of the export macro, i.e. into the plugin crate, so a
//! plugin's component exports exactly the world it invoked the macro for.

/// The `retention` world (also owns the shared `types` and `host` interfaces).
pub mod retention {
    wit_bindgen::generate!({
        path: "wit",
        world: "lakegate:policy/retention",
        pub_export_macro: true,
        default_bindings_module: "::lakegate_sdk::__bindings::retention",
    });
}

/// The `lifecycle` world.
pub mod lifecycle {
    wit_bindgen::generate!({
        path: "wit",
        world: "lakegate:policy/lifecycle",
        pub_export_macro: true,
        default_bindings_module: "::lakegate_sdk::__bindings::lifecycle",
        with: {
            "lakegate:policy/types@0.1.0": crate::__bindings::retention::lakegate::policy::types,
            "lakegate:policy/host@0.1.0": crate::__bindings::retention::lakegate::policy::host,
        },
    });
}

/// The `backup` world.
pub mod backup {
    wit_bindgen::generate!({
        path: "wit",
        world: "lakegate:policy/backup",
        pub_export_macro: true,
        default_bindings_module: "::lakegate_sdk::__bindings::backup",
        with: {
            "lakegate:policy/types@0.1.0": crate::__bindings::retention::lakegate::policy::types,
            "lakegate:policy/host@0.1.0": crate::__bindings::retention::lakegate::policy::host,
        },
    });
}

//! The policy plugins embedded in the gateway binary (built from `plugins/` by `build.rs`).
//!
//! A binding names one as `plugin = "builtin:retention"` (or `lifecycle`, `backup`); the
//! binding's resolved plugin path is then the marker path `builtin:<name>`, which
//! [`read_plugin`] maps to the embedded bytes. Everything else is read from the file system.

use std::borrow::Cow;
use std::path::Path;

include!(concat!(env!("OUT_DIR"), "/builtin_plugins.rs"));

/// The prefix that names an embedded plugin in a binding's `plugin` field.
pub const PREFIX: &str = "builtin:";

/// The embedded plugin `name`, if this binary has it.
pub fn get(name: &str) -> Option<&'static [u8]> {
    BUILTINS.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
}

/// The names of the embedded plugins.
pub fn names() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|(n, _)| *n)
}

/// If `path` is a `builtin:<name>` marker, the name.
pub fn marker_name(path: &Path) -> Option<&str> {
    path.to_str()?.strip_prefix(PREFIX)
}

/// The bytes of a plugin: embedded for `builtin:<name>`, else read from the file (any path: for
/// the offline tools; the gateway reads bindings' plugins with
/// [`super::bindings::read_plugin_file`], which keeps them inside the policies directory).
pub fn read_plugin(path: &Path) -> std::io::Result<Cow<'static, [u8]>> {
    match marker_name(path) {
        Some(name) => get(name).map(Cow::Borrowed).ok_or_else(|| {
            let known: Vec<_> = names().collect();
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "no builtin plugin {name:?} in this build (builtins: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            )
        }),
        // A regular file of at most 64 MiB, opened non-blocking (a FIFO never hangs the reader).
        None => super::bindings::read_regular(path, super::bindings::MAX_PLUGIN_BYTES, true)
            .map(Cow::Owned)
            .map_err(|e| match e {
                super::bindings::FileError::Io(e) => e,
                other => std::io::Error::other(other.to_string()),
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_and_files() {
        assert_eq!(
            marker_name(Path::new("builtin:retention")),
            Some("retention")
        );
        assert_eq!(marker_name(Path::new("/p/builtin:x")), None);
        let e = read_plugin(Path::new("builtin:no-such-plugin")).unwrap_err();
        assert!(e.to_string().contains("no builtin plugin"), "{e}");
        for name in names() {
            let bytes = read_plugin(Path::new(&format!("builtin:{name}"))).unwrap();
            assert!(bytes.starts_with(b"\0asm"), "{name} is not wasm");
        }
    }
}

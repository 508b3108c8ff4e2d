//! The default bindings shipped inside the binary: retention, lifecycle and backup for the
//! medallion buckets, exactly the binding files of the repository's `policies/` directory,
//! embedded at build time (as the builtin plugins are), so a server started anywhere serves
//! them.
//!
//! The registry loads them under the names `default:<file>` (e.g. `default:bronze-retention.toml`).
//! A binding file in the policies directory (`--policies`) for the same bucket and kind
//! overrides the default: the file serves and the default is reported `overridden`; when the
//! file goes away the default serves again. `--no-default-bindings` turns them all off.

use std::path::{Path, PathBuf};

/// The prefix of a default binding's name in the registry and the admin API.
pub const PREFIX: &str = "default:";

/// One embedded binding file: its file name in `policies/` and its text.
#[derive(Debug, Clone, Copy)]
pub struct DefaultBinding {
    pub file: &'static str,
    pub text: &'static str,
}

macro_rules! default_binding {
    ($file:literal) => {
        DefaultBinding {
            file: $file,
            text: include_str!(concat!("../../../policies/", $file)),
        }
    };
}

/// Every default binding, in the order they are loaded.
pub const DEFAULT_BINDINGS: &[DefaultBinding] = &[
    default_binding!("bronze-retention.toml"),
    default_binding!("bronze-lifecycle.toml"),
    default_binding!("bronze-backup.toml"),
    default_binding!("silver-retention.toml"),
    default_binding!("silver-lifecycle.toml"),
    default_binding!("silver-backup.toml"),
    default_binding!("gold-retention.toml"),
    default_binding!("gold-lifecycle.toml"),
    default_binding!("gold-backup.toml"),
    default_binding!("mlflow-retention.toml"),
    default_binding!("mlflow-lifecycle.toml"),
];

impl DefaultBinding {
    /// The registry's key for this binding: `default:<file>`.
    pub fn path(&self) -> PathBuf {
        PathBuf::from(format!("{PREFIX}{}", self.file))
    }
}

/// The default binding a registry key names, if it names one.
pub fn get(path: &Path) -> Option<&'static DefaultBinding> {
    let file = path.to_str()?.strip_prefix(PREFIX)?;
    DEFAULT_BINDINGS.iter().find(|d| d.file == file)
}

/// Whether a registry key names a default binding (rather than a file).
pub fn is_default(path: &Path) -> bool {
    path.to_str().is_some_and(|p| p.starts_with(PREFIX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::bindings;

    /// The embedded set is exactly the binding files of `policies/`: a binding added there is
    /// shipped too (add it to [`DEFAULT_BINDINGS`]).
    #[test]
    fn every_shipped_binding_file_is_embedded() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
        let mut on_disk: Vec<String> = bindings::scan(&dir)
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = DEFAULT_BINDINGS
            .iter()
            .map(|d| d.file.to_string())
            .collect();
        embedded.sort();
        assert_eq!(embedded, on_disk);
    }

    #[test]
    fn every_default_parses_with_a_builtin_plugin() {
        for d in DEFAULT_BINDINGS {
            let b = bindings::parse(&d.path(), d.text).unwrap();
            assert!(
                b.plugin_raw.starts_with(crate::policy::builtin::PREFIX),
                "{}",
                d.file
            );
            assert_eq!(get(&d.path()).map(|g| g.file), Some(d.file));
            assert!(d.file.starts_with(&format!("{}-", b.bucket)), "{}", d.file);
        }
        assert!(get(Path::new("default:nope.toml")).is_none());
        assert!(!is_default(Path::new("/policies/bronze-retention.toml")));
    }
}

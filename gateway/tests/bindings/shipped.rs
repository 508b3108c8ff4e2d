//! The policies lakegate ships: the default bindings in `policies/` and the plugins in
//! `plugins/` (embedded in the gateway as `builtin:<name>`).
//!
//! - every suite in `policies/` and `plugins/*/suites/` matches its snapshot (through insta,
//!   like `suites.rs`: the same `.snap` files `lakegate policy test --bless` writes, so
//!   `cargo insta review` / `INSTA_UPDATE=always` update them);
//! - every default binding parses, names a builtin plugin, and has a suite of its own.

use std::path::{Path, PathBuf};

use lakegate::policy::builtin;
use lakegate::policy::{PolicyEngine, bindings, suite};

use crate::harness::workspace_root;

/// The directories holding shipped suites: `policies/` and each `plugins/<name>/suites/`.
fn suite_dirs() -> Vec<PathBuf> {
    let root = workspace_root();
    let mut dirs = vec![root.join("policies")];
    let mut plugins: Vec<PathBuf> = std::fs::read_dir(root.join("plugins"))
        .unwrap()
        .map(|e| e.unwrap().path().join("suites"))
        .filter(|d| d.is_dir())
        .collect();
    plugins.sort();
    dirs.extend(plugins);
    dirs
}

/// Runs every suite under `dir` and compares it with its snapshot; returns how many ran.
fn check_suites_in(engine: &PolicyEngine, dir: &Path) -> usize {
    let files = suite::find_suites(dir).unwrap();
    for file in &files {
        let s = suite::load(file).unwrap_or_else(|e| panic!("{e}"));
        let rendered = suite::run(engine, &s).unwrap_or_else(|e| panic!("{e}"));
        insta::with_settings!({
            snapshot_path => file.parent().unwrap(),
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(s.name.as_str(), rendered);
        });
    }
    files.len()
}

#[test]
fn shipped_suites_match_their_snapshots() {
    let engine = PolicyEngine::new(None).unwrap();
    let dirs = suite_dirs();
    // policies/ plus the three plugins' suites.
    assert!(dirs.len() >= 4, "suite directories: {dirs:?}");
    for dir in dirs {
        let n = check_suites_in(&engine, &dir);
        assert!(n > 0, "no suites in {}", dir.display());
    }
}

#[test]
fn default_bindings_use_builtins_and_have_suites() {
    let dir = workspace_root().join("policies");
    let files = bindings::scan(&dir).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    let mut expected: Vec<String> = ["bronze", "silver", "gold"]
        .iter()
        .flat_map(|b| ["retention", "lifecycle", "backup"].map(|k| format!("{b}-{k}")))
        .chain(["mlflow-retention".into(), "mlflow-lifecycle".into()])
        .collect();
    expected.sort();
    assert_eq!(names, expected);
    for file in &files {
        let (b, _) = bindings::load(file).unwrap_or_else(|e| panic!("{e}"));
        let name = builtin::marker_name(&b.plugin).unwrap_or_else(|| {
            panic!(
                "{}: plugin {:?} is not builtin:",
                file.display(),
                b.plugin_raw
            )
        });
        assert_eq!(name, b.kind.as_str(), "{}", file.display());
        assert!(
            builtin::get(name).is_some(),
            "{}: no builtin plugin {name:?} in this build",
            file.display()
        );
        let stem = file.file_stem().unwrap().to_string_lossy();
        assert!(
            stem.starts_with(&format!("{}-", b.bucket)),
            "{}: bucket {:?} does not match the file name",
            file.display(),
            b.bucket
        );
        let suite_file = dir.join(format!("{stem}{}", bindings::SUITE_SUFFIX));
        let s = suite::load(&suite_file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            s.plugin,
            b.plugin,
            "{}: the suite does not run its binding",
            suite_file.display()
        );
        assert_eq!(s.config_json, b.config_json(), "{}", suite_file.display());
    }
}

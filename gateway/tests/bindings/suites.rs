//! The snapshot suites in `tests/bindings/suites/`, run through insta: the same `.snap` files
//! `lakegate policy test` reads, so `cargo insta review` / `INSTA_UPDATE=always` update them.

use std::path::Path;

use lakegate::policy::PolicyEngine;
use lakegate::policy::suite;

#[test]
fn suites_match_their_snapshots() {
    // The fixtures the suites load (built on first use).
    for f in ["fixed_retention", "age_lifecycle", "mirror_backup"] {
        crate::harness::fixture(f);
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bindings/suites");
    let files = suite::find_suites(&dir).unwrap();
    assert!(files.len() >= 3, "suites: {files:?}");
    let engine = PolicyEngine::new(None).unwrap();
    for file in files {
        let s = suite::load(&file).unwrap_or_else(|e| panic!("{e}"));
        let rendered = suite::run(&engine, &s).unwrap_or_else(|e| panic!("{e}"));
        let snap_dir = file.parent().unwrap().to_path_buf();
        insta::with_settings!({
            snapshot_path => snap_dir,
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(s.name.as_str(), rendered);
        });
    }
}

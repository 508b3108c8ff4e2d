//! `lakegate policy check` and `lakegate policy test`.

use std::process::{Command, Output};

use crate::harness::*;

fn lakegate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lakegate"))
        .args(args)
        .env_remove("LAKEGATE_POLICIES")
        .output()
        .expect("run lakegate")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn policy_check_names_the_worlds() {
    for (fixture, world) in [
        ("fixed_retention", "retention"),
        ("age_lifecycle", "lifecycle"),
        ("mirror_backup", "backup"),
    ] {
        let path = fixture_path(fixture);
        let o = lakegate(&["policy", "check", &path]);
        let (out, err) = text(&o);
        assert!(o.status.success(), "{fixture}: {out}{err}");
        assert!(out.contains(&format!("implements {world}")), "{out}");
    }
    let pol = PolicyDir::new();
    pol.write("garbage.wasm", "not wasm");
    pol.write("core.wasm", b"\0asm\x01\0\0\0");
    for (file, why) in [
        ("garbage.wasm", "not a WebAssembly component"),
        ("core.wasm", "core WebAssembly module"),
        ("missing.wasm", "cannot read"),
    ] {
        let o = lakegate(&["policy", "check", pol.path(file).to_str().unwrap()]);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(1), "{file}: {out}{err}");
        assert!(err.contains(why), "{file}: {err}");
    }
}

fn fixture_path(name: &str) -> String {
    fixture(name).to_str().unwrap().to_string()
}

#[test]
fn policy_test_compares_and_blesses_snapshots() {
    let pol = PolicyDir::new();
    pol.write(
        "bronze-retention.toml",
        format!(
            "bucket = \"bronze\"\nkind = \"retention\"\nplugin = \"{}\"\n[config]\nmode = \"COMPLIANCE\"\ndays = 90\nprefixes = {{ \"models/\" = 365 }}\n",
            fixture_path("fixed_retention")
        ),
    );
    pol.write(
        "bronze.suite.toml",
        "binding = \"bronze-retention.toml\"\nnow = \"2026-01-01T00:00:00Z\"\n\
         [[objects]]\nkey = \"raw/a.parquet\"\nsize = 10\n\
         [[objects]]\nkey = \"models/m.bin\"\nsize = 20\n",
    );
    std::fs::create_dir_all(pol.path("nested")).unwrap();
    pol.write(
        "nested/gold.suite.toml",
        format!(
            "kind = \"lifecycle\"\nplugin = \"{}\"\nnow = 2026-01-01T00:00:00Z\n[config]\ndays = 30\n\
             [[objects]]\nkey = \"old\"\nage_days = 31\n[[objects]]\nkey = \"new\"\nage_days = 1\n\
             [[uploads]]\nkey = \"stale\"\nage_days = 40\n",
            fixture_path("age_lifecycle")
        ),
    );
    let dir = pol.dir.to_str().unwrap().to_string();

    // No snapshots yet: failure, showing what would be stored.
    let o = lakegate(&["policy", "test", &dir]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(out.contains("no snapshot yet"), "{out}");

    // --bless writes them.
    let o = lakegate(&["policy", "test", &dir, "--bless"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    let snap = std::fs::read_to_string(pol.path("bronze.snap")).unwrap();
    assert!(snap.starts_with("---\n"), "insta header: {snap}");
    assert!(
        snap.contains("  - raw/a.parquet [null] -> COMPLIANCE until 2026-04-01T00:00:00Z (+90d)\n"),
        "{snap}"
    );
    assert!(
        snap.contains("  - models/m.bin [null] -> COMPLIANCE until 2027-01-01T00:00:00Z (+365d)\n"),
        "{snap}"
    );
    let gold = std::fs::read_to_string(pol.path("nested/gold.snap")).unwrap();
    assert!(gold.contains("  - old [null] -> expire\n"), "{gold}");
    assert!(gold.contains("  - new [null] -> keep\n"), "{gold}");
    assert!(
        gold.contains("  - upload stale [upload-1] -> abort-upload\n"),
        "{gold}"
    );

    // Unchanged: ok.
    let o = lakegate(&["policy", "test", &dir]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(
        out.contains("ok       ") && !out.contains("FAILED"),
        "{out}"
    );

    // The snapshot says something else: failure with a unified diff.
    std::fs::write(pol.path("bronze.snap"), snap.replace("(+90d)", "(+91d)")).unwrap();
    let o = lakegate(&["policy", "test", &dir]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(
        out.contains("FAILED   ") && out.contains("bronze.suite.toml"),
        "{out}"
    );
    assert!(
        out.contains("--- bronze.snap (snapshot)\n+++ actual\n"),
        "{out}"
    );
    assert!(
        out.contains("-  - raw/a.parquet [null] -> COMPLIANCE until 2026-04-01T00:00:00Z (+91d)\n")
            && out.contains(
                "+  - raw/a.parquet [null] -> COMPLIANCE until 2026-04-01T00:00:00Z (+90d)\n"
            ),
        "{out}"
    );

    // The binding changes: the decisions change.
    pol.write(
        "bronze-retention.toml",
        std::fs::read_to_string(pol.path("bronze-retention.toml"))
            .unwrap()
            .replace("days = 90", "days = 60"),
    );
    let o = lakegate(&["policy", "test", &dir]);
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("(+60d)"), "{out}");

    // --bless accepts; then everything passes.
    let o = lakegate(&["policy", "test", &dir, "--bless"]);
    assert!(o.status.success(), "{:?}", text(&o));
    let o = lakegate(&["policy", "test", &dir]);
    assert!(o.status.success(), "{:?}", text(&o));

    // A broken suite is a failure with its location.
    pol.write(
        "broken.suite.toml",
        "binding = \"bronze-retention.toml\"\nnow = \"soon\"\n",
    );
    let o = lakegate(&["policy", "test", &dir]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(
        out.contains("broken.suite.toml") && out.contains("now:"),
        "{out}"
    );

    // One suite file can be given directly.
    let o = lakegate(&[
        "policy",
        "test",
        pol.path("bronze.suite.toml").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
}

#[test]
fn help_texts() {
    for args in [
        &["policy", "--help"][..],
        &["policy", "test", "--help"],
        &["policy", "check", "--help"],
        &["server", "--help"],
    ] {
        let o = lakegate(args);
        let (out, err) = text(&o);
        assert!(o.status.success(), "{args:?}: {out}{err}");
        assert!(!out.is_empty());
    }
    let (out, _) = text(&lakegate(&["server", "--help"]));
    assert!(out.contains("--policies"), "{out}");
    let (out, _) = text(&lakegate(&["policy", "test", "--help"]));
    assert!(out.contains("--bless"), "{out}");
}

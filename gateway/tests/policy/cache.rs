//! The compilation cache: in memory, on disk across engines, and recovery from a bad file.

use std::time::Instant;

use lakegate::policy::{CompileOrigin, PolicyEngine, PolicyKind};

use crate::common::*;

const CONFIG: &str = r#"{"days": 7}"#;

#[test]
fn second_load_hits_the_memory_cache() {
    let wasm = fixture("age_lifecycle");
    let engine = PolicyEngine::new(None).unwrap();
    let t = Instant::now();
    let p1 = engine
        .load(PolicyKind::Lifecycle, &wasm, CONFIG, limits(), "a")
        .unwrap();
    let cold = t.elapsed();
    let t = Instant::now();
    let p2 = engine
        .load(PolicyKind::Lifecycle, &wasm, CONFIG, limits(), "b")
        .unwrap();
    let warm = t.elapsed();
    assert_eq!(p1.stats().compile_origin(), CompileOrigin::Compiled);
    assert_eq!(p2.stats().compile_origin(), CompileOrigin::MemoryCache);
    assert_eq!(p1.hash(), p2.hash());
    assert!(warm * 5 < cold, "cold load {cold:?}, cached load {warm:?}");
    let s = engine.cache_stats();
    assert_eq!((s.compiled, s.memory_hits, s.disk_hits), (1, 1, 0));
}

#[test]
fn disk_cache_survives_a_new_engine_and_bad_files_are_recompiled() {
    let wasm = fixture("mirror_backup");
    let dir = TempDir::new("cache");
    let file = dir.0.join(format!("{}.cwasm", PolicyEngine::hash(&wasm)));

    let t = Instant::now();
    let first = PolicyEngine::new(Some(dir.0.clone())).unwrap();
    first
        .load(PolicyKind::Backup, &wasm, "{}", limits(), "m")
        .unwrap();
    let cold = t.elapsed();
    assert!(file.exists(), "no cache file at {}", file.display());
    assert_eq!(first.cache_stats().compiled, 1);

    // A restart: a new engine maps the compiled file instead of compiling.
    let t = Instant::now();
    let second = PolicyEngine::new(Some(dir.0.clone())).unwrap();
    let p = second
        .load(PolicyKind::Backup, &wasm, "{}", limits(), "m")
        .unwrap();
    let warm = t.elapsed();
    assert_eq!(p.stats().compile_origin(), CompileOrigin::DiskCache);
    assert_eq!(second.cache_stats().compiled, 0);
    assert!(
        warm * 5 < cold,
        "cold load {cold:?}, load from disk {warm:?}"
    );

    // A corrupt (or stale, from another wasmtime) file is refused and replaced. (A new file:
    // the engines above still map the old one, which must never be modified in place.)
    std::fs::remove_file(&file).unwrap();
    std::fs::write(&file, b"\x7fELF not really").unwrap();
    let third = PolicyEngine::new(Some(dir.0.clone())).unwrap();
    let p = third
        .load(PolicyKind::Backup, &wasm, "{}", limits(), "m")
        .unwrap();
    assert_eq!(p.stats().compile_origin(), CompileOrigin::Compiled);
    assert_eq!(third.cache_stats().disk_rejected, 1);
    let fourth = PolicyEngine::new(Some(dir.0.clone())).unwrap();
    let p = fourth
        .load(PolicyKind::Backup, &wasm, "{}", limits(), "m")
        .unwrap();
    assert_eq!(p.stats().compile_origin(), CompileOrigin::DiskCache);
}

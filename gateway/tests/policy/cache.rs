//! The compilation cache: in memory, on disk across engines, and recovery from a bad file;
//! the disk cache's authentication (tampered, swapped, foreign-key or unauthenticated files are
//! recompiled), symlinks, and the directory's permissions.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::Instant;

use lakegate::local_key::LocalKey;
use lakegate::policy::{CompileOrigin, DiskCache, PolicyEngine, PolicyKind};

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
    let key = LocalKey::random().unwrap();
    let cache = DiskCache::new(dir.0.clone(), key);
    let first = PolicyEngine::new(Some(cache.clone())).unwrap();
    first
        .load(PolicyKind::Backup, &wasm, "{}", limits(), "m")
        .unwrap();
    let cold = t.elapsed();
    assert!(file.exists(), "no cache file at {}", file.display());
    assert_eq!(first.cache_stats().compiled, 1);

    // A restart: a new engine maps the compiled file instead of compiling.
    let t = Instant::now();
    let second = PolicyEngine::new(Some(cache.clone())).unwrap();
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

    // A corrupt (or stale, from another wasmtime) file is refused and replaced.
    std::fs::remove_file(&file).unwrap();
    std::fs::write(&file, b"\x7fELF not really").unwrap();
    let third = PolicyEngine::new(Some(cache.clone())).unwrap();
    let p = third
        .load(PolicyKind::Backup, &wasm, "{}", limits(), "m")
        .unwrap();
    assert_eq!(p.stats().compile_origin(), CompileOrigin::Compiled);
    assert_eq!(third.cache_stats().disk_rejected, 1);
    let fourth = PolicyEngine::new(Some(cache.clone())).unwrap();
    let p = fourth
        .load(PolicyKind::Backup, &wasm, "{}", limits(), "m")
        .unwrap();
    assert_eq!(p.stats().compile_origin(), CompileOrigin::DiskCache);
}

/// A fresh engine on `cache` whose load of `wasm` (as `kind`) is captured with its logs.
fn load_fresh(
    cache: &DiskCache,
    wasm: &[u8],
    kind: PolicyKind,
) -> (PolicyEngine, CompileOrigin, String) {
    let engine = PolicyEngine::new(Some(cache.clone())).unwrap();
    let config = if kind == PolicyKind::Lifecycle {
        CONFIG
    } else {
        "{}"
    };
    let (p, logs) = capture_logs(|| engine.load(kind, wasm, config, limits(), "t").unwrap());
    let origin = p.stats().compile_origin();
    (engine, origin, logs)
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

#[test]
fn tampered_swapped_or_foreign_cache_files_are_recompiled_with_a_warning() {
    let backup = fixture("mirror_backup");
    let lifecycle = fixture("age_lifecycle");
    let dir = TempDir::new("cache-mac");
    let cache = DiskCache::new(dir.0.join("plugin-cache"), LocalKey::random().unwrap());
    let file = cache
        .dir
        .join(format!("{}.cwasm", PolicyEngine::hash(&backup)));
    let other = cache
        .dir
        .join(format!("{}.cwasm", PolicyEngine::hash(&lifecycle)));

    let (_, origin, _) = load_fresh(&cache, &backup, PolicyKind::Backup);
    assert_eq!(origin, CompileOrigin::Compiled);
    let (_, origin, _) = load_fresh(&cache, &lifecycle, PolicyKind::Lifecycle);
    assert_eq!(origin, CompileOrigin::Compiled);
    let good = std::fs::read(&file).unwrap();
    assert!(good.starts_with(b"LGCWASM\x01"), "no lakegate header");
    let (_, origin, _) = load_fresh(&cache, &backup, PolicyKind::Backup);
    assert_eq!(origin, CompileOrigin::DiskCache);

    let refused = |what: &str, expect: &str| {
        let (engine, origin, logs) = load_fresh(&cache, &backup, PolicyKind::Backup);
        assert_eq!(
            origin,
            CompileOrigin::Compiled,
            "{what}: loaded from the cache"
        );
        assert_eq!(engine.cache_stats().disk_rejected, 1, "{what}");
        assert!(
            logs.contains("WARN") && logs.contains("compiled plugin cache file refused"),
            "{what}: {logs}"
        );
        assert!(
            logs.contains(expect),
            "{what}: expected {expect:?} in {logs}"
        );
        // Rewritten by the recompilation: the next engine maps it again.
        let (_, origin, _) = load_fresh(&cache, &backup, PolicyKind::Backup);
        assert_eq!(origin, CompileOrigin::DiskCache, "{what}: not rewritten");
    };

    // Bytes flipped in the artifact (past the header), in place.
    let mut bad = good.clone();
    let mid = 40 + (bad.len() - 40) / 2;
    bad[mid] ^= 0xff;
    bad[mid + 1] ^= 0x55;
    std::fs::write(&file, &bad).unwrap();
    refused(
        "flipped artifact bytes",
        "authentication tag does not match",
    );

    // A flipped tag.
    let mut bad = good.clone();
    bad[8] ^= 1;
    std::fs::write(&file, &bad).unwrap();
    refused("flipped tag", "authentication tag does not match");

    // Another component's valid, authenticated artifact under this component's name: wasmtime
    // alone would run the wrong plugin.
    std::fs::copy(&other, &file).unwrap();
    refused(
        "another component's artifact",
        "authentication tag does not match",
    );

    // A valid artifact authenticated with another key (written by someone else).
    let foreign = DiskCache::new(dir.0.join("foreign"), LocalKey::random().unwrap());
    load_fresh(&foreign, &backup, PolicyKind::Backup);
    std::fs::copy(foreign.dir.join(file.file_name().unwrap()), &file).unwrap();
    refused("another key", "authentication tag does not match");

    // A bare wasmtime artifact (no header: an older lakegate, or planted).
    std::fs::write(&file, &std::fs::read(&file).unwrap()[40..]).unwrap();
    refused("bare artifact", "no lakegate header");

    // A file others may write is refused before it is read.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
    refused("world-writable file", "writable by others");
}

#[test]
fn symlinked_cache_entries_are_not_followed() {
    let wasm = fixture("mirror_backup");
    let dir = TempDir::new("cache-symlink");
    let key = LocalKey::random().unwrap();
    // A valid, authenticated artifact for the same key, elsewhere.
    let elsewhere = DiskCache::new(dir.0.join("elsewhere"), key.clone());
    load_fresh(&elsewhere, &wasm, PolicyKind::Backup);
    let name = format!("{}.cwasm", PolicyEngine::hash(&wasm));
    let target = elsewhere.dir.join(&name);
    let target_bytes = std::fs::read(&target).unwrap();

    let cache = DiskCache::new(dir.0.join("plugin-cache"), key);
    std::fs::create_dir_all(&cache.dir).unwrap();
    std::fs::set_permissions(&cache.dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let link = cache.dir.join(&name);
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let (engine, origin, logs) = load_fresh(&cache, &wasm, PolicyKind::Backup);
    assert_eq!(origin, CompileOrigin::Compiled);
    assert_eq!(engine.cache_stats().disk_rejected, 1);
    assert!(logs.contains("symlink"), "{logs}");
    // The symlink was replaced by a file of our own; its target is untouched.
    let meta = std::fs::symlink_metadata(&link).unwrap();
    assert!(meta.file_type().is_file(), "still a symlink");
    assert_eq!(std::fs::read(&target).unwrap(), target_bytes);
    let (_, origin, _) = load_fresh(&cache, &wasm, PolicyKind::Backup);
    assert_eq!(origin, CompileOrigin::DiskCache);
}

#[test]
fn cache_dir_and_files_are_private() {
    let wasm = fixture("age_lifecycle");
    let dir = TempDir::new("cache-perms");
    let key = LocalKey::random().unwrap();

    // Created 0700, files 0600.
    let cache = DiskCache::new(dir.0.join("fresh/plugin-cache"), key.clone());
    let (engine, _, _) = load_fresh(&cache, &wasm, PolicyKind::Lifecycle);
    assert_eq!(engine.cache_dir(), Some(cache.dir.as_path()));
    assert_eq!(mode(&cache.dir), 0o700);
    let file = cache
        .dir
        .join(format!("{}.cwasm", PolicyEngine::hash(&wasm)));
    assert_eq!(mode(&file), 0o600);

    // An existing directory of ours that others can read (an older lakegate, the umask) is
    // made private and used.
    let readable = DiskCache::new(dir.0.join("readable"), key.clone());
    std::fs::create_dir_all(&readable.dir).unwrap();
    std::fs::set_permissions(&readable.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let engine = PolicyEngine::new(Some(readable.clone())).unwrap();
    assert!(engine.cache_dir().is_some());
    assert_eq!(mode(&readable.dir), 0o700);

    // Refused, with a warning; plugins still load (compiled), nothing is written there.
    let refused = |cache: &DiskCache, what: &str, expect: &str| {
        let (engine, logs) = capture_logs(|| PolicyEngine::new(Some(cache.clone())).unwrap());
        assert_eq!(engine.cache_dir(), None, "{what}: cache enabled");
        assert!(
            logs.contains("WARN") && logs.contains(expect) && logs.contains("not cached on disk"),
            "{what}: {logs}"
        );
        let p = engine
            .load(PolicyKind::Lifecycle, &wasm, CONFIG, limits(), "t")
            .unwrap();
        assert_eq!(
            p.stats().compile_origin(),
            CompileOrigin::Compiled,
            "{what}"
        );
        let entries: Vec<_> = std::fs::read_dir(&cache.dir)
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(entries.is_empty(), "{what}: wrote {entries:?}");
    };

    let open = DiskCache::new(dir.0.join("world-writable"), key.clone());
    std::fs::create_dir_all(&open.dir).unwrap();
    std::fs::set_permissions(&open.dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    refused(&open, "mode 0777", "writable by others (mode 777)");
    assert_eq!(mode(&open.dir), 0o777, "left as it was");

    let group = DiskCache::new(dir.0.join("group-writable"), key.clone());
    std::fs::create_dir_all(&group.dir).unwrap();
    std::fs::set_permissions(&group.dir, std::fs::Permissions::from_mode(0o770)).unwrap();
    refused(&group, "mode 0770", "writable by others (mode 770)");

    let real = dir.0.join("real-dir");
    std::fs::create_dir_all(&real).unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o700)).unwrap();
    let linked = DiskCache::new(dir.0.join("linked"), key.clone());
    std::os::unix::fs::symlink(&real, &linked.dir).unwrap();
    refused(&linked, "symlinked directory", "is a symlink");

    // Owned by someone else (needs root to arrange).
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        let theirs = DiskCache::new(dir.0.join("theirs"), key);
        std::fs::create_dir_all(&theirs.dir).unwrap();
        std::fs::set_permissions(&theirs.dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(&theirs.dir, Some(4242), Some(4242)).unwrap();
        assert_eq!(std::fs::metadata(&theirs.dir).unwrap().uid(), 4242);
        refused(&theirs, "another owner", "owned by uid 4242");
    } else {
        eprintln!("not root: the other-owner case is not exercised");
    }
}

#[test]
fn cache_files_of_another_format_version_are_a_miss_and_rewritten() {
    let wasm = fixture("mirror_backup");
    let dir = TempDir::new("cache-version");
    let cache = DiskCache::new(dir.0.join("plugin-cache"), LocalKey::random().unwrap());
    let file = cache
        .dir
        .join(format!("{}.cwasm", PolicyEngine::hash(&wasm)));
    load_fresh(&cache, &wasm, PolicyKind::Backup);
    let good = std::fs::read(&file).unwrap();
    assert!(good.starts_with(b"LGCWASM\x01"));

    // An older (0) or newer (2) format: the same header shape, another version byte.
    for version in [0u8, 2] {
        let mut other = good.clone();
        other[7] = version;
        std::fs::write(&file, &other).unwrap();
        let (engine, origin, logs) = load_fresh(&cache, &wasm, PolicyKind::Backup);
        assert_eq!(origin, CompileOrigin::Compiled, "version {version}");
        let stats = engine.cache_stats();
        assert_eq!(
            (stats.compiled, stats.disk_rejected),
            (1, 0),
            "version {version}"
        );
        assert!(
            !logs.contains("WARN") && logs.contains(&format!("cache format version {version}")),
            "version {version}: {logs}"
        );
        // Rewritten in the current format.
        assert!(std::fs::read(&file).unwrap().starts_with(b"LGCWASM\x01"));
        let (_, origin, _) = load_fresh(&cache, &wasm, PolicyKind::Backup);
        assert_eq!(origin, CompileOrigin::DiskCache, "version {version}");
    }
}

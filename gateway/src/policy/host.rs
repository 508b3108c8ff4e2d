//! The policy engine: compiles, caches, sandboxes and calls policy plugins.
//!
//! # Engine
//!
//! One [`PolicyEngine`] per process holds one `wasmtime::Engine` (component model, Cranelift,
//! pooling allocator, epoch interruption), one linker (see `sandbox.rs` for what it grants) and
//! the compilation cache. Components are identified by the SHA-256 of their bytes and cached in
//! memory and, if a [`DiskCache`] is given, on disk as `<dir>/<sha256>.cwasm`, so a restart
//! deserializes instead of compiling.
//!
//! # The disk cache
//!
//! A `.cwasm` file is native code that wasmtime loads without validation (`unsafe`
//! deserialization): whoever can write one runs code in the gateway. So:
//!
//! - the directory is created 0700; an existing one must be a real directory (not a symlink)
//!   owned by the gateway's user and writable by nobody else, else the disk cache is disabled
//!   with a warning (plugins still load, compiled at every start); group/other read bits of a
//!   directory the gateway owns are removed;
//! - files are written 0600 (a temporary file created exclusively, fsynced, renamed into place)
//!   and opened without following symlinks; a file that is not a regular file owned by the
//!   gateway and writable only by it is refused;
//! - every file carries an HMAC-SHA256 under the gateway's local key
//!   ([`crate::local_key::Purpose::PluginCache`]): `"LGCWASM\x01"`, the 32-byte tag, then
//!   wasmtime's artifact. The tag covers a version label, the SHA-256 of the source component,
//!   a digest of wasmtime's engine compatibility identity
//!   (`Engine::precompile_compatibility_hash`: wasmtime version, target, compiler settings) and
//!   the SHA-256 of the artifact. The file is read into memory, verified, and the verified bytes
//!   are deserialized (never the path again, so nothing can be swapped in between).
//!
//! A file that fails any check (missing header, wrong tag, another component's artifact, a
//! symlink, wrong owner or mode) is counted in [`CacheStats::disk_rejected`], logged at warn,
//! and replaced by a fresh compilation. One wasmtime refuses despite a valid tag (it should not
//! happen: the tag covers the engine identity) is handled the same way.
//!
//! # Time: epochs, not fuel
//!
//! A background thread increments the engine epoch every millisecond; every call sets its
//! store's epoch deadline to its time budget in ticks, and a guest still running at the deadline
//! traps (`OutOfBudget`). Epoch checks are a load and a compare at function entries and loop
//! headers, against fuel's counter update on every basic block (wasmtime measures fuel 2-3x
//! slower on loop-heavy code), and the budget we need is wall-clock time anyway, not an
//! instruction count. Fuel's one advantage, determinism, does not matter here: the decision is
//! deterministic (clocks are frozen at `now`); only *whether* a runaway plugin is stopped at
//! 100 ms or at 101 ms is not.
//!
//! # Memory and instances
//!
//! The pooling allocator pre-reserves slots for [`EngineOptions::total_instances`] component
//! instances (default 128; each memory slot is a 4 GiB virtual reservation plus guard pages, no
//! bounds checks in compiled code); instantiation then costs microseconds. Each instance's total
//! linear memory is capped by [`Limits::memory_bytes`] through a `ResourceLimiter`; a refused
//! `memory.grow` is remembered so the trap that typically follows is reported as `OutOfMemory`.
//!
//! A [`LoadedPlugin`] keeps up to [`Limits::max_instances`] configured instances (store +
//! bindings), created on demand; a call takes an idle one (or creates one, or waits), and puts it
//! back afterwards. A call that fails inside the guest (trap, budget, memory, host panic)
//! discards its instance — the guest's state may be inconsistent — and the next call instantiates
//! and configures a fresh one.
//!
//! # Calls
//!
//! The store runs WASI's *async* host implementation, driven to completion on the calling thread
//! by a tiny executor (`block_on` below). This keeps calls synchronous for the caller and safe on
//! a tokio worker thread (the sync WASI implementation would `block_on` a tokio runtime from
//! inside one, which panics), and lets the host enforce the time budget even if a host function
//! were to wait. Calls are short (microseconds for ordinary plugins), so calling from async code
//! directly is fine as long as budgets stay small; big scans (lifecycle, backup) should call from
//! `spawn_blocking` or a dedicated thread, since a call may block its thread for up to its budget.
//!
//! # Containment
//!
//! Every call is counted in the plugin's [`PluginStats`]; after [`Limits::quarantine_after`]
//! consecutive failures the plugin is quarantined and calls fail with
//! [`PolicyError::Quarantined`] without running, until it is reloaded (or
//! [`LoadedPlugin::lift_quarantine`]). Choosing the safe outcome on failure is the caller's job;
//! [`LoadedPlugin::retention_or_safe`] and [`LoadedPlugin::lifecycle_or_keep`] do it for the
//! common cases.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolConcurrencyLimitError, PoolingAllocationConfig,
    Store,
};

use super::error::PolicyError;
use super::limits::Limits;
use super::sandbox::{self, Sandbox};
use super::stats::{CompileOrigin, PluginStats};
use super::types::{
    BackupStep, ChangeEvent, ChangeKind, LifecycleAction, LifecycleItem, Millis, PolicyKind,
    PolicyObject, PolicyUpload, RetentionDecision, TargetEntry,
};
use super::wit::{
    self, Backup, BackupPre, Lifecycle, LifecyclePre, RetentionPre, RetentionWorld, wbackup,
    wlifecycle, wretention, wtypes,
};
use crate::local_key::{LocalKey, Purpose};

/// Lifecycle batches are sent to the plugin in chunks of at most this many items, so the time
/// budget stays meaningful per call whatever the caller's batch size.
pub const LIFECYCLE_CHUNK: usize = 1000;

/// The furthest in the future a retention decision may reach (100 years).
pub const MAX_RETENTION_MS: i64 = 100 * 366 * 86_400_000;

/// Longest backup target path, in bytes.
pub const MAX_TARGET_PATH: usize = 1024;

/// Engine-wide sizing. The defaults suit a gateway with a few dozen bound plugins.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Component instances that can exist at once across all plugins (pooling allocator slots).
    pub total_instances: u32,
    /// Largest `Limits::memory_bytes` a plugin may ask for.
    pub max_memory_bytes: u64,
    /// Compiled components kept in memory (by hash) for fast reloads.
    pub memory_cache_entries: usize,
    /// Epoch tick, i.e. the granularity of time budgets.
    pub epoch_tick: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            total_instances: 128,
            max_memory_bytes: 1 << 30,
            memory_cache_entries: 64,
            epoch_tick: Duration::from_millis(1),
        }
    }
}

/// Options of [`PolicyEngine::load_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    /// Run one decision on synthetic input at load and refuse the plugin if it fails
    /// (default: true).
    pub self_check: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions { self_check: true }
    }
}

/// Counters of the compilation cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CacheStats {
    pub compiled: u64,
    pub memory_hits: u64,
    pub disk_hits: u64,
    /// Disk cache files that were refused (incompatible or corrupt) and recompiled.
    pub disk_rejected: u64,
}

/// A directory for compiled components, and the key that authenticates them (see the module
/// docs). The gateway uses `<data-dir>/plugin-cache` with its [`LocalKey`].
#[derive(Debug, Clone)]
pub struct DiskCache {
    pub dir: PathBuf,
    pub key: LocalKey,
}

impl DiskCache {
    pub fn new(dir: impl Into<PathBuf>, key: LocalKey) -> Self {
        DiskCache {
            dir: dir.into(),
            key,
        }
    }
}

/// The first bytes of a cache file: a magic and the format version.
const CACHE_MAGIC: &[u8; 8] = b"LGCWASM\x01";
/// Magic plus the HMAC-SHA256 tag.
const CACHE_HEADER: usize = 8 + 32;
/// Largest cache file read (compiled artifacts are a few times their component's size).
const MAX_CACHE_FILE: u64 = 1 << 30;
/// The label at the start of every MAC'd message: a cache tag never verifies anything else.
const CACHE_MAC_LABEL: &[u8] = b"lakegate compiled plugin v1\0";

/// An enabled disk cache: the checked directory, the key and the engine's identity.
struct DiskCacheState {
    dir: PathBuf,
    key: LocalKey,
    /// SHA-256 of `Engine::precompile_compatibility_hash` (see [`engine_identity`]).
    engine_id: [u8; 32],
}

/// The policy engine. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct PolicyEngine {
    inner: Arc<EngineInner>,
}

struct EngineInner {
    engine: Engine,
    linker: Linker<Sandbox>,
    disk: Option<DiskCacheState>,
    options: EngineOptions,
    components: Mutex<ComponentCache>,
    compiled: AtomicU64,
    memory_hits: AtomicU64,
    disk_hits: AtomicU64,
    disk_rejected: AtomicU64,
}

#[derive(Default)]
struct ComponentCache {
    map: HashMap<String, Component>,
    order: VecDeque<String>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn now_millis() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

/// Formats a wasmtime error compactly: its causes joined by `: `, and for traps the innermost
/// wasm frames that are not Rust's panic/abort machinery. Bounded in length.
fn describe(e: &wasmtime::Error) -> String {
    let mut s = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        // The backtrace is a context layer of its own; it is summarized below instead.
        if text.starts_with("error while executing at wasm backtrace") {
            continue;
        }
        if !s.is_empty() {
            s.push_str(": ");
        }
        s.push_str(text.trim());
    }
    if let Some(bt) = e.downcast_ref::<wasmtime::WasmBacktrace>() {
        const RUNTIME: [&str; 8] = [
            "std",
            "core",
            "alloc",
            "__rust",
            "__rustc",
            "abort",
            "panic",
            "wit_bindgen",
        ];
        let frames: Vec<String> = bt
            .frames()
            .iter()
            .filter_map(|f| {
                let name = f.func_name()?;
                let runtime = RUNTIME
                    .iter()
                    .any(|r| name.starts_with(r) || name.starts_with(&format!("<{r}")));
                (!runtime).then(|| name.to_string())
            })
            .take(3)
            .collect();
        if !frames.is_empty() {
            s.push_str(" (in ");
            s.push_str(&frames.join(" <- "));
            s.push(')');
        }
    }
    if s.len() > 1024 {
        let mut cut = 1024;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

impl PolicyEngine {
    /// Creates an engine with default [`EngineOptions`]. `cache`, if given, keeps compiled
    /// components on disk, authenticated with its key (see the module docs). A cache directory
    /// that is not private to the gateway disables the disk cache (with a warning), not the
    /// engine.
    pub fn new(cache: Option<DiskCache>) -> Result<Self, PolicyError> {
        Self::with_options(cache, EngineOptions::default())
    }

    pub fn with_options(
        cache: Option<DiskCache>,
        options: EngineOptions,
    ) -> Result<Self, PolicyError> {
        let n = options.total_instances.max(1);
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(n)
            .total_core_instances(n.saturating_mul(8))
            .total_memories(n.saturating_mul(2))
            .total_tables(n.saturating_mul(4))
            .total_stacks(n)
            .max_memory_size(usize::try_from(options.max_memory_bytes).unwrap_or(usize::MAX));
        let mut config = Config::new();
        config
            .epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
            .max_wasm_stack(1 << 20)
            .async_stack_size(2 << 20);
        let engine = Engine::new(&config).map_err(|e| PolicyError::Instantiate(describe(&e)))?;
        let linker = sandbox::linker(&engine).map_err(|e| PolicyError::Link(describe(&e)))?;
        let disk = cache.and_then(|c| match prepare_cache_dir(&c.dir) {
            Ok(()) => {
                remove_stale_temporaries(&c.dir);
                Some(DiskCacheState {
                    engine_id: engine_identity(&engine),
                    dir: c.dir,
                    key: c.key,
                })
            }
            Err(reason) => {
                tracing::warn!(dir = %c.dir.display(), "{reason}: compiled plugins are not \
                    cached on disk (they are compiled at every start)");
                None
            }
        });
        spawn_epoch_ticker(&engine, options.epoch_tick);
        Ok(PolicyEngine {
            inner: Arc::new(EngineInner {
                engine,
                linker,
                disk,
                options,
                components: Mutex::new(ComponentCache::default()),
                compiled: AtomicU64::new(0),
                memory_hits: AtomicU64::new(0),
                disk_hits: AtomicU64::new(0),
                disk_rejected: AtomicU64::new(0),
            }),
        })
    }

    /// The disk cache's directory, if the disk cache is enabled.
    pub fn cache_dir(&self) -> Option<&Path> {
        self.inner.disk.as_ref().map(|d| d.dir.as_path())
    }

    pub fn cache_stats(&self) -> CacheStats {
        let i = &self.inner;
        CacheStats {
            compiled: i.compiled.load(Ordering::Relaxed),
            memory_hits: i.memory_hits.load(Ordering::Relaxed),
            disk_hits: i.disk_hits.load(Ordering::Relaxed),
            disk_rejected: i.disk_rejected.load(Ordering::Relaxed),
        }
    }

    /// Hex SHA-256 of component bytes (the cache key and [`PluginStats::hash`]).
    pub fn hash(wasm: &[u8]) -> String {
        hex::encode(ring::digest::digest(&ring::digest::SHA256, wasm))
    }

    /// Compiles (or fetches from the caches) a component, without loading it.
    pub fn precompile(&self, wasm: &[u8]) -> Result<CompileOrigin, PolicyError> {
        self.inner.component(wasm).map(|(_, _, origin)| origin)
    }

    /// Which worlds the component implements (for `lakegate policy check`). Fails if it is not
    /// a component, does not compile, or imports something the sandbox does not grant.
    pub fn check(&self, wasm: &[u8]) -> Result<Vec<PolicyKind>, PolicyError> {
        let (component, _, _) = self.inner.component(wasm)?;
        let pre = self.inner.instance_pre(&component)?;
        Ok(PolicyKind::ALL
            .into_iter()
            .filter(|k| Pre::new(*k, pre.clone()).is_ok())
            .collect())
    }

    /// Loads a plugin: validates and compiles the component (cached), links it against the
    /// sandbox, checks it implements `kind`'s world, instantiates it, calls `configure` with
    /// `config_json`, and runs a self-check decision on a synthetic input, so a broken plugin
    /// fails here rather than on the request path. `label` names the plugin in logs and stats.
    pub fn load(
        &self,
        kind: PolicyKind,
        wasm: &[u8],
        config_json: &str,
        limits: Limits,
        label: &str,
    ) -> Result<LoadedPlugin, PolicyError> {
        self.load_with(
            kind,
            wasm,
            config_json,
            limits,
            label,
            LoadOptions::default(),
        )
    }

    /// [`Self::load`] with options (e.g. without the self-check, for tests and tools that want
    /// to exercise a plugin that fails on every input).
    pub fn load_with(
        &self,
        kind: PolicyKind,
        wasm: &[u8],
        config_json: &str,
        limits: Limits,
        label: &str,
        options: LoadOptions,
    ) -> Result<LoadedPlugin, PolicyError> {
        let started = Instant::now();
        if limits.memory_bytes > self.inner.options.max_memory_bytes {
            return Err(PolicyError::Instantiate(format!(
                "memory limit {} exceeds the engine's maximum {}",
                limits.memory_bytes, self.inner.options.max_memory_bytes
            )));
        }
        if limits.time_budget.is_zero() {
            return Err(PolicyError::Instantiate(
                "time budget must be positive".into(),
            ));
        }
        let mut limits = limits;
        limits.max_instances = limits.max_instances.clamp(1, 64);
        // An empty document means "no configuration" (the SDK reads it as `{}`).
        if !config_json.trim().is_empty()
            && let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(config_json)
        {
            return Err(PolicyError::Configure(format!(
                "configuration is not valid JSON: {e}"
            )));
        }
        let (component, hash, origin) = self.inner.component(wasm)?;
        let instance_pre = self.inner.instance_pre(&component)?;
        let pre = match Pre::new(kind, instance_pre.clone()) {
            Ok(p) => p,
            Err(e) => {
                let others: Vec<&str> = PolicyKind::ALL
                    .into_iter()
                    .filter(|k| *k != kind && Pre::new(*k, instance_pre.clone()).is_ok())
                    .map(PolicyKind::as_str)
                    .collect();
                let detail = if others.is_empty() {
                    describe(&e)
                } else {
                    format!("{}; it implements: {}", describe(&e), others.join(", "))
                };
                return Err(PolicyError::WrongWorld {
                    expected: kind,
                    detail,
                });
            }
        };
        let label: Arc<str> = Arc::from(label);
        let plugin = PluginInner {
            engine: self.inner.clone(),
            kind,
            label: label.clone(),
            limits,
            config: config_json.to_string(),
            pre,
            pool: Mutex::new(Pool {
                idle: Vec::new(),
                live: 0,
            }),
            available: Condvar::new(),
            // Replaced below once the load time is known.
            stats: Arc::new(PluginStats::new(
                &label,
                kind,
                &hash,
                now_millis(),
                origin,
                Duration::ZERO,
            )),
        };
        let mut inst = plugin
            .new_instance()
            .map_err(NewInstanceError::into_inner)?;
        if options.self_check {
            plugin.self_check(&mut inst)?;
        }
        let mut plugin = plugin;
        plugin.stats = Arc::new(PluginStats::new(
            &label,
            kind,
            &hash,
            now_millis(),
            origin,
            started.elapsed(),
        ));
        {
            let mut pool = lock(&plugin.pool);
            pool.live = 1;
            pool.idle.push(inst);
        }
        plugin.stats.set_instances(1);
        tracing::info!(plugin = %label, kind = %kind, hash = %hash, origin = ?origin,
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3, "policy plugin loaded");
        Ok(LoadedPlugin {
            inner: Arc::new(plugin),
        })
    }
}

impl EngineInner {
    fn instance_pre(&self, component: &Component) -> Result<InstancePre<Sandbox>, PolicyError> {
        self.linker
            .instantiate_pre(component)
            .map_err(|e| PolicyError::Link(describe(&e)))
    }

    /// Epoch ticks for a budget: rounded up, plus one for the tick already under way.
    fn ticks(&self, budget: Duration) -> u64 {
        let tick = self.options.epoch_tick.as_nanos().max(1);
        (budget.as_nanos().div_ceil(tick) as u64).saturating_add(1)
    }

    fn component(&self, wasm: &[u8]) -> Result<(Component, String, CompileOrigin), PolicyError> {
        // Preamble: magic `\0asm`, then a 16-bit version and a 16-bit layer (0 = core module,
        // 1 = component).
        let is_wasm = wasm.len() >= 8 && wasm.starts_with(b"\0asm");
        if !(is_wasm && wasm[6..8] == [1, 0]) {
            return Err(PolicyError::NotAComponent(
                if is_wasm && wasm[6..8] == [0, 0] {
                    "this is a core WebAssembly module; plugins must be components (build for \
                 wasm32-wasip2, or wrap with `wasm-tools component new`)"
                        .into()
                } else {
                    "no WebAssembly component header".into()
                },
            ));
        }
        let hash = PolicyEngine::hash(wasm);
        if let Some(c) = lock(&self.components).map.get(&hash) {
            self.memory_hits.fetch_add(1, Ordering::Relaxed);
            return Ok((c.clone(), hash, CompileOrigin::MemoryCache));
        }
        let (component, origin) = self.compile_or_load(wasm, &hash)?;
        let mut cache = lock(&self.components);
        if !cache.map.contains_key(&hash) {
            while cache.order.len() >= self.options.memory_cache_entries.max(1) {
                if let Some(old) = cache.order.pop_front() {
                    cache.map.remove(&old);
                }
            }
            cache.order.push_back(hash.clone());
            cache.map.insert(hash.clone(), component.clone());
        }
        Ok((component, hash, origin))
    }

    fn compile_or_load(
        &self,
        wasm: &[u8],
        hash: &str,
    ) -> Result<(Component, CompileOrigin), PolicyError> {
        let path = self
            .disk
            .as_ref()
            .map(|d| d.dir.join(format!("{hash}.cwasm")));
        if let (Some(disk), Some(path)) = (&self.disk, &path) {
            match disk.read(path, hash) {
                Ok(None) => {}
                Ok(Some(artifact)) => {
                    // SAFETY: `artifact` is exactly the bytes whose tag was just verified under
                    // the gateway's local key: output of `precompile_component` of an engine
                    // with this engine's identity, for this very component, written by this
                    // gateway. wasmtime checks the version and configuration again.
                    match unsafe { Component::deserialize(&self.engine, &artifact) } {
                        Ok(c) => {
                            self.disk_hits.fetch_add(1, Ordering::Relaxed);
                            return Ok((c, CompileOrigin::DiskCache));
                        }
                        Err(e) => {
                            self.disk_rejected.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(path = %path.display(), error = %describe(&e),
                                "compiled plugin cache file refused by wasmtime; recompiling");
                        }
                    }
                }
                Err(reason) => {
                    self.disk_rejected.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(path = %path.display(), "compiled plugin cache file refused \
                        ({reason}); recompiling from the component");
                }
            }
        }
        let started = Instant::now();
        let artifact = self
            .engine
            .precompile_component(wasm)
            .map_err(|e| PolicyError::Compile(describe(&e)))?;
        self.compiled.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(
            hash,
            bytes = wasm.len(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
            "policy component compiled"
        );
        if let (Some(disk), Some(path)) = (&self.disk, &path)
            && let Err(e) = disk.write(path, hash, &artifact)
        {
            tracing::warn!(path = %path.display(), error = %e,
                "cannot write the compiled plugin cache file");
        }
        // SAFETY: `artifact` was produced by `precompile_component` of this very engine.
        let component = unsafe { Component::deserialize(&self.engine, &artifact) }
            .map_err(|e| PolicyError::Compile(describe(&e)))?;
        Ok((component, CompileOrigin::Compiled))
    }
}

/// The effective user id of this process (the owner the cache must have).
fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Creates the cache directory (0700) if needed and checks that only the gateway can write
/// into it: a directory, not a symlink, owned by this user, not writable by group or others.
/// Read bits for group/others on a directory we own are removed (caches of older versions were
/// created with the umask's mode).
fn prepare_cache_dir(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create the plugin cache directory: {e}"))?;
    let meta = std::fs::symlink_metadata(dir)
        .map_err(|e| format!("cannot inspect the plugin cache directory: {e}"))?;
    if meta.file_type().is_symlink() {
        return Err("the plugin cache directory is a symlink".into());
    }
    if !meta.is_dir() {
        return Err("the plugin cache path is not a directory".into());
    }
    if meta.uid() != euid() {
        return Err(format!(
            "the plugin cache directory is owned by uid {}, not by this gateway (uid {})",
            meta.uid(),
            euid()
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(format!(
            "the plugin cache directory is writable by others (mode {mode:o})"
        ));
    }
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot make the plugin cache directory private: {e}"))?;
    }
    Ok(())
}

/// SHA-256 of wasmtime's engine compatibility identity: what `precompile_compatibility_hash`
/// feeds a hasher (wasmtime version, target, compiler flags, tunables) goes into SHA-256.
fn engine_identity(engine: &Engine) -> [u8; 32] {
    use std::hash::{Hash, Hasher};
    struct Sha256Hasher(ring::digest::Context);
    impl Hasher for Sha256Hasher {
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
        fn finish(&self) -> u64 {
            // Never called: the digest is taken from the context.
            0
        }
    }
    let mut h = Sha256Hasher(ring::digest::Context::new(&ring::digest::SHA256));
    engine.precompile_compatibility_hash().hash(&mut h);
    let mut out = [0u8; 32];
    out.copy_from_slice(h.0.finish().as_ref());
    out
}

impl DiskCacheState {
    /// What the tag of a cache file covers (see the module docs).
    fn message(&self, source_hash: &str, artifact: &[u8]) -> Vec<u8> {
        let artifact_hash = ring::digest::digest(&ring::digest::SHA256, artifact);
        let mut m = Vec::with_capacity(CACHE_MAC_LABEL.len() + source_hash.len() + 64);
        m.extend_from_slice(CACHE_MAC_LABEL);
        // 64 hex digits: fixed length, so the fields cannot run into each other.
        m.extend_from_slice(source_hash.as_bytes());
        m.extend_from_slice(&self.engine_id);
        m.extend_from_slice(artifact_hash.as_ref());
        m
    }

    /// The verified artifact of cache file `path` for component `source_hash`; `None` if there
    /// is no such file; `Err(reason)` if there is one that must not be loaded.
    fn read(&self, path: &Path, source_hash: &str) -> Result<Option<Vec<u8>>, String> {
        use std::io::Read;
        use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
        let file = match std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err("it is a symlink, which is never followed".into());
            }
            Err(e) => return Err(format!("cannot open it: {e}")),
        };
        let meta = file
            .metadata()
            .map_err(|e| format!("cannot inspect it: {e}"))?;
        if !meta.is_file() {
            return Err("not a regular file".into());
        }
        if meta.uid() != euid() {
            return Err(format!("owned by uid {}, not by this gateway", meta.uid()));
        }
        if meta.mode() & 0o022 != 0 {
            return Err(format!(
                "writable by others (mode {:o})",
                meta.mode() & 0o7777
            ));
        }
        if meta.len() > MAX_CACHE_FILE {
            return Err(format!("{} bytes, more than the cache's limit", meta.len()));
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.take(MAX_CACHE_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read it: {e}"))?;
        if bytes.len() < CACHE_HEADER || &bytes[..8] != CACHE_MAGIC {
            return Err("not an authenticated cache file (no lakegate header)".into());
        }
        let (tag, artifact) = bytes[8..].split_at(32);
        if !self.key.verify(
            Purpose::PluginCache,
            &self.message(source_hash, artifact),
            tag,
        ) {
            return Err(
                "its authentication tag does not match (modified, written by someone else, \
                 another component's artifact, or another engine)"
                    .into(),
            );
        }
        Ok(Some(bytes.split_off(CACHE_HEADER)))
    }

    /// Writes the cache file of component `source_hash` atomically: header and artifact into an
    /// exclusively created 0600 temporary file, fsync, rename over `path` (replacing whatever
    /// was there, a symlink included, never writing through it).
    fn write(&self, path: &Path, source_hash: &str, artifact: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        // Unique per write: concurrent compilations of the same component (in this process or
        // another) must never write into a file someone else is about to rename.
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let tmp = path.with_extension(format!(
            "cwasm.tmp.{}.{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let tag = self
            .key
            .sign(Purpose::PluginCache, &self.message(source_hash, artifact));
        let result = (|| {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&tmp)?;
            f.write_all(CACHE_MAGIC)?;
            f.write_all(&tag)?;
            f.write_all(artifact)?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }
}

/// Removes temporaries of cache writes that never completed (a crash mid-write), once they are
/// old enough that no live writer can still own them.
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let stale = entry.file_name().to_string_lossy().contains(".cwasm.tmp.")
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > Duration::from_secs(3600)));
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Increments the engine's epoch every `tick` for as long as the engine exists.
fn spawn_epoch_ticker(engine: &Engine, tick: Duration) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("lakegate-policy-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(tick);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => return,
                }
            }
        });
    if let Err(e) = spawned {
        // Without the ticker, budgets are still enforced by the executor's deadline for host
        // waits but not for guest loops: say so loudly.
        tracing::error!(error = %e, "cannot start the policy epoch thread; plugin time budgets are not enforced");
    }
}

// ---- a minimal executor ----

struct ThreadWaker(std::thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

thread_local! {
    static WAKER: Waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
}

/// Drives `fut` to completion on this thread; `None` if it is still pending at `deadline`.
fn block_on<F: Future>(fut: F, deadline: Instant) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    WAKER.with(|waker| {
        let mut cx = Context::from_waker(waker);
        loop {
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return Some(v);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            std::thread::park_timeout(deadline - now);
        }
    })
}

// ---- plugins ----

enum Pre {
    Retention(RetentionPre<Sandbox>),
    Lifecycle(LifecyclePre<Sandbox>),
    Backup(BackupPre<Sandbox>),
}

impl Pre {
    fn new(kind: PolicyKind, pre: InstancePre<Sandbox>) -> wasmtime::Result<Pre> {
        Ok(match kind {
            PolicyKind::Retention => Pre::Retention(RetentionPre::new(pre)?),
            PolicyKind::Lifecycle => Pre::Lifecycle(LifecyclePre::new(pre)?),
            PolicyKind::Backup => Pre::Backup(BackupPre::new(pre)?),
        })
    }
}

enum Bindings {
    Retention(RetentionWorld),
    Lifecycle(Lifecycle),
    Backup(Backup),
}

/// One configured instance of a plugin.
struct Instance {
    store: Store<Sandbox>,
    bindings: Bindings,
}

struct Pool {
    idle: Vec<Instance>,
    /// Instances that exist: idle plus in use.
    live: usize,
}

enum Request<'a> {
    Retention(&'a wtypes::ObjectVersion),
    Lifecycle(&'a [wlifecycle::LifecycleItem]),
    BackupChanges(&'a [wtypes::ChangeEvent]),
    BackupFull(&'a [wtypes::ObjectVersion], &'a [wbackup::TargetEntry]),
}

enum Response {
    Retention(wretention::RetentionDecision),
    Lifecycle(Vec<wlifecycle::LifecycleAction>),
    Backup(Vec<wbackup::BackupStep>),
}

enum NewInstanceError {
    /// The engine's instance pool is full.
    PoolExhausted(PolicyError),
    Other(PolicyError),
}

impl NewInstanceError {
    fn into_inner(self) -> PolicyError {
        match self {
            NewInstanceError::PoolExhausted(e) | NewInstanceError::Other(e) => e,
        }
    }
}

async fn invoke(inst: &mut Instance, req: &Request<'_>, now: Millis) -> wasmtime::Result<Response> {
    let Instance { store, bindings } = inst;
    Ok(match (bindings, req) {
        (Bindings::Retention(b), Request::Retention(o)) => Response::Retention(
            b.lakegate_policy_retention_policy()
                .call_decide(&mut *store, o, now)
                .await?,
        ),
        (Bindings::Lifecycle(b), Request::Lifecycle(items)) => Response::Lifecycle(
            b.lakegate_policy_lifecycle_policy()
                .call_decide(&mut *store, items, now)
                .await?,
        ),
        (Bindings::Backup(b), Request::BackupChanges(events)) => Response::Backup(
            b.lakegate_policy_backup_policy()
                .call_plan_changes(&mut *store, events, now)
                .await?,
        ),
        (Bindings::Backup(b), Request::BackupFull(objects, existing)) => Response::Backup(
            b.lakegate_policy_backup_policy()
                .call_plan_full(&mut *store, objects, existing, now)
                .await?,
        ),
        _ => wasmtime::bail!("request does not match the plugin's world"),
    })
}

/// A loaded, configured plugin. Cheap to clone, `Send + Sync`: keep it in an `ArcSwap` and call
/// it from any thread or task (see the module docs about blocking).
#[derive(Clone)]
pub struct LoadedPlugin {
    inner: Arc<PluginInner>,
}

struct PluginInner {
    engine: Arc<EngineInner>,
    kind: PolicyKind,
    label: Arc<str>,
    limits: Limits,
    config: String,
    pre: Pre,
    pool: Mutex<Pool>,
    available: Condvar,
    stats: Arc<PluginStats>,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("label", &self.inner.label)
            .field("kind", &self.inner.kind)
            .field("hash", &self.inner.stats.hash())
            .finish_non_exhaustive()
    }
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<LoadedPlugin>();
    assert_send_sync::<PolicyEngine>();
};

impl PluginInner {
    /// Instantiates and configures a fresh instance.
    fn new_instance(&self) -> Result<Instance, NewInstanceError> {
        let mut store = Store::new(
            &self.engine.engine,
            Sandbox::new(self.label.clone(), self.limits.memory_bytes),
        );
        store.limiter(|s| &mut s.limiter);
        store.epoch_deadline_trap();
        store.data().call.begin(now_millis(), "");
        let budget = self.limits.time_budget;
        store.set_epoch_deadline(self.engine.ticks(budget));
        let deadline = Instant::now() + budget + self.engine.options.epoch_tick * 2;
        let instantiated = catch_unwind(AssertUnwindSafe(|| {
            block_on(
                async {
                    Ok::<_, wasmtime::Error>(match &self.pre {
                        Pre::Retention(p) => {
                            Bindings::Retention(p.instantiate_async(&mut store).await?)
                        }
                        Pre::Lifecycle(p) => {
                            Bindings::Lifecycle(p.instantiate_async(&mut store).await?)
                        }
                        Pre::Backup(p) => Bindings::Backup(p.instantiate_async(&mut store).await?),
                    })
                },
                deadline,
            )
        }));
        let bindings = match instantiated {
            Ok(Some(Ok(b))) => b,
            Ok(Some(Err(e))) => {
                if e.is::<PoolConcurrencyLimitError>() {
                    return Err(NewInstanceError::PoolExhausted(PolicyError::Instantiate(
                        describe(&e),
                    )));
                }
                return Err(NewInstanceError::Other(
                    match self.classify(&e, store.data().limiter.hit) {
                        PolicyError::Trap(m) => PolicyError::Instantiate(m),
                        other => other,
                    },
                ));
            }
            Ok(None) => return Err(NewInstanceError::Other(PolicyError::OutOfBudget { budget })),
            Err(p) => {
                return Err(NewInstanceError::Other(PolicyError::Trap(panic_message(
                    &p,
                ))));
            }
        };
        let mut inst = Instance { store, bindings };
        inst.store.set_epoch_deadline(self.engine.ticks(budget));
        let deadline = Instant::now() + budget + self.engine.options.epoch_tick * 2;
        let config = &self.config;
        let configured = catch_unwind(AssertUnwindSafe(|| {
            block_on(
                async {
                    let Instance { store, bindings } = &mut inst;
                    match bindings {
                        Bindings::Retention(b) => b.call_configure(&mut *store, config).await,
                        Bindings::Lifecycle(b) => b.call_configure(&mut *store, config).await,
                        Bindings::Backup(b) => b.call_configure(&mut *store, config).await,
                    }
                },
                deadline,
            )
        }));
        inst.store.data().flush_output();
        match configured {
            Ok(Some(Ok(Ok(())))) => Ok(inst),
            Ok(Some(Ok(Err(msg)))) => Err(NewInstanceError::Other(PolicyError::Configure(msg))),
            Ok(Some(Err(e))) => Err(NewInstanceError::Other(
                self.classify(&e, inst.store.data().limiter.hit),
            )),
            Ok(None) => Err(NewInstanceError::Other(PolicyError::OutOfBudget { budget })),
            Err(p) => Err(NewInstanceError::Other(PolicyError::Trap(panic_message(
                &p,
            )))),
        }
    }

    fn classify(&self, e: &wasmtime::Error, memory_limit_hit: bool) -> PolicyError {
        if let Some(wasmtime::Trap::Interrupt) = e.downcast_ref::<wasmtime::Trap>() {
            return PolicyError::OutOfBudget {
                budget: self.limits.time_budget,
            };
        }
        if memory_limit_hit {
            return PolicyError::OutOfMemory {
                limit_bytes: self.limits.memory_bytes,
            };
        }
        if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
            return PolicyError::Trap(format!("the plugin called exit({})", exit.0));
        }
        PolicyError::Trap(describe(e))
    }

    /// Runs one request on an instance. An `Err` means the instance must be discarded.
    fn execute(
        &self,
        inst: &mut Instance,
        bucket: &str,
        now: Millis,
        req: &Request<'_>,
    ) -> Result<Response, PolicyError> {
        let budget = self.limits.time_budget;
        {
            let data = inst.store.data_mut();
            data.call.begin(now, bucket);
            data.limiter.hit = false;
        }
        inst.store.set_epoch_deadline(self.engine.ticks(budget));
        let deadline = Instant::now() + budget + self.engine.options.epoch_tick * 2;
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            block_on(invoke(inst, req, now), deadline)
        }));
        inst.store.data().flush_output();
        match outcome {
            Ok(Some(Ok(r))) => Ok(r),
            Ok(Some(Err(e))) => Err(self.classify(&e, inst.store.data().limiter.hit)),
            Ok(None) => Err(PolicyError::OutOfBudget { budget }),
            Err(p) => Err(PolicyError::Trap(panic_message(&p))),
        }
    }

    /// Takes an idle instance, or creates one (up to `max_instances`), or waits for one.
    fn take(&self) -> Result<Instance, PolicyError> {
        let mut cap = self.limits.max_instances;
        loop {
            {
                let mut pool = lock(&self.pool);
                loop {
                    if let Some(inst) = pool.idle.pop() {
                        return Ok(inst);
                    }
                    if pool.live < cap {
                        pool.live += 1;
                        self.stats.set_instances(pool.live);
                        break;
                    }
                    pool = self.available.wait(pool).unwrap_or_else(|e| e.into_inner());
                }
            }
            match self.new_instance() {
                Ok(inst) => return Ok(inst),
                Err(NewInstanceError::PoolExhausted(e)) => {
                    let live = self.discard();
                    if live == 0 {
                        return Err(e);
                    }
                    // The engine is full: make do with the instances this plugin already has.
                    cap = live;
                }
                Err(NewInstanceError::Other(e)) => {
                    self.discard();
                    return Err(e);
                }
            }
        }
    }

    fn put(&self, inst: Instance) {
        lock(&self.pool).idle.push(inst);
        self.available.notify_one();
    }

    /// Forgets one live instance (already dropped by the caller); returns how many remain.
    fn discard(&self) -> usize {
        let mut pool = lock(&self.pool);
        pool.live = pool.live.saturating_sub(1);
        self.stats.set_instances(pool.live);
        let live = pool.live;
        drop(pool);
        self.available.notify_one();
        live
    }

    /// Takes an instance, runs the request, returns or discards the instance.
    fn run(&self, bucket: &str, now: Millis, req: &Request<'_>) -> Result<Response, PolicyError> {
        let mut inst = self.take()?;
        match self.execute(&mut inst, bucket, now, req) {
            Ok(r) => {
                self.put(inst);
                Ok(r)
            }
            Err(e) => {
                drop(inst);
                self.discard();
                Err(e)
            }
        }
    }

    /// Quarantine check, timing, stats and logging around one call.
    fn guarded<T>(
        &self,
        bucket: &str,
        f: impl FnOnce() -> Result<T, PolicyError>,
    ) -> Result<T, PolicyError> {
        if self.stats.is_quarantined() {
            self.stats.record_rejected();
            return Err(PolicyError::Quarantined {
                failures: self.stats.consecutive_failures(),
                last_error: self.stats.last_error().unwrap_or_default(),
            });
        }
        let started = Instant::now();
        let result = f();
        let elapsed = started.elapsed();
        match &result {
            Ok(_) => self.stats.record_success(elapsed),
            Err(e) => {
                tracing::warn!(plugin = %self.label, bucket, kind = %self.kind, code = e.code(), error = %e,
                    "policy plugin call failed");
                if self
                    .stats
                    .record_failure(elapsed, e, self.limits.quarantine_after)
                {
                    tracing::error!(plugin = %self.label, bucket, kind = %self.kind,
                        failures = self.stats.consecutive_failures(),
                        "policy plugin quarantined after consecutive failures; reload it to resume");
                    // Free the pool slots of a plugin that will not run again.
                    let idle = std::mem::take(&mut lock(&self.pool).idle);
                    for _ in 0..idle.len() {
                        self.discard();
                    }
                }
            }
        }
        result
    }

    fn wrong_kind(&self, expected: PolicyKind) -> PolicyError {
        PolicyError::WrongWorld {
            expected,
            detail: format!("plugin `{}` is a {} plugin", self.label, self.kind),
        }
    }

    fn retention(
        &self,
        object: &PolicyObject,
        now: Millis,
    ) -> Result<RetentionDecision, PolicyError> {
        let o = wit::object_to_wit(object);
        match self.run(&object.bucket, now, &Request::Retention(&o))? {
            Response::Retention(d) => validate_retention(wit::decision_from_wit(d), now),
            _ => Err(PolicyError::InvalidReturn(
                "unexpected response kind".into(),
            )),
        }
    }

    fn lifecycle(
        &self,
        items: &[LifecycleItem],
        now: Millis,
    ) -> Result<Vec<LifecycleAction>, PolicyError> {
        let bucket = items.first().map(LifecycleItem::bucket).unwrap_or("");
        let mut out = Vec::with_capacity(items.len());
        for chunk in items.chunks(LIFECYCLE_CHUNK) {
            let w: Vec<_> = chunk.iter().map(wit::item_to_wit).collect();
            match self.run(bucket, now, &Request::Lifecycle(&w))? {
                Response::Lifecycle(actions) => {
                    validate_lifecycle(chunk, &actions)?;
                    out.extend(actions.into_iter().map(wit::action_from_wit));
                }
                _ => {
                    return Err(PolicyError::InvalidReturn(
                        "unexpected response kind".into(),
                    ));
                }
            }
        }
        Ok(out)
    }

    fn backup_changes(
        &self,
        events: &[ChangeEvent],
        now: Millis,
    ) -> Result<Vec<BackupStep>, PolicyError> {
        let bucket = events
            .first()
            .map(|e| e.object.bucket.as_str())
            .unwrap_or("");
        let w: Vec<_> = events.iter().map(wit::event_to_wit).collect();
        match self.run(bucket, now, &Request::BackupChanges(&w))? {
            Response::Backup(steps) => resolve_steps(steps, events.iter().map(|e| &e.object)),
            _ => Err(PolicyError::InvalidReturn(
                "unexpected response kind".into(),
            )),
        }
    }

    fn backup_full(
        &self,
        objects: &[PolicyObject],
        existing: &[TargetEntry],
        now: Millis,
    ) -> Result<Vec<BackupStep>, PolicyError> {
        let bucket = objects.first().map(|o| o.bucket.as_str()).unwrap_or("");
        let wo: Vec<_> = objects.iter().map(wit::object_to_wit).collect();
        let we: Vec<_> = existing.iter().map(wit::target_to_wit).collect();
        match self.run(bucket, now, &Request::BackupFull(&wo, &we))? {
            Response::Backup(steps) => resolve_steps(steps, objects.iter()),
            _ => Err(PolicyError::InvalidReturn(
                "unexpected response kind".into(),
            )),
        }
    }

    /// A decision on synthetic inputs, run once at load on the first instance.
    fn self_check(&self, inst: &mut Instance) -> Result<(), PolicyError> {
        let now = now_millis();
        let latest = synthetic_object(now);
        let noncurrent = PolicyObject {
            version_id: "00000000000000010000000000000001".into(),
            is_latest: false,
            newer_versions: 1,
            noncurrent_since: Some(now - 3_600_000),
            ..latest.clone()
        };
        let bucket = latest.bucket.clone();
        let result = match self.kind {
            PolicyKind::Retention => {
                let o = wit::object_to_wit(&latest);
                match self.execute(inst, &bucket, now, &Request::Retention(&o))? {
                    Response::Retention(d) => {
                        validate_retention(wit::decision_from_wit(d), now).map(drop)
                    }
                    _ => Err(PolicyError::InvalidReturn(
                        "unexpected response kind".into(),
                    )),
                }
            }
            PolicyKind::Lifecycle => {
                let items = vec![
                    LifecycleItem::Version(latest.clone()),
                    LifecycleItem::Version(noncurrent),
                    LifecycleItem::Upload(PolicyUpload {
                        bucket: bucket.clone(),
                        key: latest.key.clone(),
                        upload_id: "self-check-upload".into(),
                        initiated: now - 86_400_000,
                    }),
                ];
                let w: Vec<_> = items.iter().map(wit::item_to_wit).collect();
                match self.execute(inst, &bucket, now, &Request::Lifecycle(&w))? {
                    Response::Lifecycle(a) => validate_lifecycle(&items, &a),
                    _ => Err(PolicyError::InvalidReturn(
                        "unexpected response kind".into(),
                    )),
                }
            }
            PolicyKind::Backup => {
                let events = [ChangeEvent {
                    kind: ChangeKind::Created,
                    object: latest.clone(),
                }];
                let w: Vec<_> = events.iter().map(wit::event_to_wit).collect();
                let changes = match self.execute(inst, &bucket, now, &Request::BackupChanges(&w))? {
                    Response::Backup(s) => {
                        resolve_steps(s, events.iter().map(|e| &e.object)).map(drop)
                    }
                    _ => Err(PolicyError::InvalidReturn(
                        "unexpected response kind".into(),
                    )),
                };
                changes.and_then(|()| {
                    let objects = [latest.clone()];
                    let existing = [TargetEntry {
                        path: format!("{}/{}", latest.bucket, latest.key),
                        source_key: latest.key.clone(),
                        size: latest.size,
                        source_etag: latest.etag.clone(),
                        source_version_id: latest.version_id.clone(),
                    }];
                    let wo: Vec<_> = objects.iter().map(wit::object_to_wit).collect();
                    let we: Vec<_> = existing.iter().map(wit::target_to_wit).collect();
                    match self.execute(inst, &bucket, now, &Request::BackupFull(&wo, &we))? {
                        Response::Backup(s) => resolve_steps(s, objects.iter()).map(drop),
                        _ => Err(PolicyError::InvalidReturn(
                            "unexpected response kind".into(),
                        )),
                    }
                })
            }
        };
        result.map_err(|e| match e {
            PolicyError::InvalidReturn(m) => PolicyError::InvalidReturn(format!("self-check: {m}")),
            other => other,
        })
    }
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    let msg = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("host panic during the call: {msg}")
}

fn synthetic_object(now: Millis) -> PolicyObject {
    PolicyObject {
        bucket: "lakegate-self-check".into(),
        key: "self-check/part-00000.parquet".into(),
        version_id: "00000000000000020000000000000002".into(),
        size: 1024,
        etag: "d41d8cd98f00b204e9800998ecf8427e".into(),
        content_type: Some("application/octet-stream".into()),
        last_modified: now - 86_400_000,
        is_latest: true,
        is_delete_marker: false,
        user_metadata: vec![("origin".into(), "self-check".into())],
        tags: vec![("layer".into(), "bronze".into())],
        retention: None,
        legal_hold: false,
        storage_class: "STANDARD".into(),
        newer_versions: 0,
        noncurrent_since: None,
        older_versions: 1,
    }
}

fn validate_retention(d: RetentionDecision, now: Millis) -> Result<RetentionDecision, PolicyError> {
    if let Some(r) = d.retention {
        if r.retain_until <= now {
            return Err(PolicyError::InvalidReturn(format!(
                "retain-until {} is not in the future (now {now})",
                r.retain_until
            )));
        }
        if r.retain_until > now.saturating_add(MAX_RETENTION_MS) {
            return Err(PolicyError::InvalidReturn(format!(
                "retain-until {} is more than 100 years ahead",
                r.retain_until
            )));
        }
    }
    Ok(d)
}

/// One action per item, in order; no action that cannot apply to its item.
fn validate_lifecycle(
    items: &[LifecycleItem],
    actions: &[wlifecycle::LifecycleAction],
) -> Result<(), PolicyError> {
    use wlifecycle::LifecycleAction as A;
    if actions.len() != items.len() {
        return Err(PolicyError::InvalidReturn(format!(
            "{} actions for {} items",
            actions.len(),
            items.len()
        )));
    }
    for (i, (item, action)) in items.iter().zip(actions).enumerate() {
        let ok = match (item, action) {
            (_, A::Keep) => true,
            (LifecycleItem::Upload(_), A::AbortUpload) => true,
            (LifecycleItem::Upload(_), _) => false,
            (LifecycleItem::Version(_), A::AbortUpload) => false,
            (LifecycleItem::Version(v), A::ExpireNoncurrent) => !v.is_latest,
            (LifecycleItem::Version(_), A::Expire) => true,
        };
        if !ok {
            let what = match item {
                LifecycleItem::Version(v) if v.is_latest => "the latest version",
                LifecycleItem::Version(_) => "a noncurrent version",
                LifecycleItem::Upload(_) => "a multipart upload",
            };
            return Err(PolicyError::InvalidReturn(format!(
                "action {:?} for item {i}, {what}",
                wit::action_from_wit(*action)
            )));
        }
    }
    Ok(())
}

/// A relative path inside the backup target: non-empty, at most [`MAX_TARGET_PATH`] bytes, no
/// leading `/`, no `.`/`..` segments, no control characters.
pub fn validate_target_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("empty target path".into());
    }
    if path.len() > MAX_TARGET_PATH {
        return Err(format!(
            "target path of {} bytes (limit {MAX_TARGET_PATH})",
            path.len()
        ));
    }
    if path.starts_with('/') {
        return Err(format!("absolute target path `{path}`"));
    }
    if path.chars().any(char::is_control) {
        return Err(format!("control character in target path {path:?}"));
    }
    if path.split(['/', '\\']).any(|seg| seg == ".." || seg == ".") {
        return Err(format!("`.` or `..` segment in target path `{path}`"));
    }
    Ok(())
}

fn resolve_steps<'a>(
    steps: Vec<wbackup::BackupStep>,
    inputs: impl Iterator<Item = &'a PolicyObject>,
) -> Result<Vec<BackupStep>, PolicyError> {
    let index: HashMap<(&str, &str, &str), &PolicyObject> = inputs
        .map(|o| {
            (
                (o.bucket.as_str(), o.key.as_str(), o.version_id.as_str()),
                o,
            )
        })
        .collect();
    steps
        .into_iter()
        .map(|s| {
            let step = match wit::step_from_wit(s) {
                wit::RawStep::Delete { path } => BackupStep::Delete { path },
                wit::RawStep::Copy { bucket, key, version_id, path } => {
                    let object = index.get(&(bucket.as_str(), key.as_str(), version_id.as_str())).ok_or_else(|| {
                        PolicyError::InvalidReturn(format!(
                            "copy of `{bucket}/{key}` version `{version_id}`, which was not among the inputs"
                        ))
                    })?;
                    BackupStep::Copy { object: (*object).clone(), path }
                }
            };
            validate_target_path(step.path()).map_err(PolicyError::InvalidReturn)?;
            Ok(step)
        })
        .collect()
}

impl LoadedPlugin {
    pub fn kind(&self) -> PolicyKind {
        self.inner.kind
    }
    pub fn label(&self) -> &str {
        &self.inner.label
    }
    /// Hex SHA-256 of the component bytes.
    pub fn hash(&self) -> &str {
        self.inner.stats.hash()
    }
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }
    /// The configuration (JSON) the plugin was configured with.
    pub fn config(&self) -> &str {
        &self.inner.config
    }
    /// Live counters, shared: keep the `Arc` to watch this plugin from the admin API.
    pub fn stats(&self) -> &Arc<PluginStats> {
        &self.inner.stats
    }
    pub fn is_quarantined(&self) -> bool {
        self.inner.stats.is_quarantined()
    }
    /// Lets a quarantined plugin run again (an operator decision; reloading does the same).
    pub fn lift_quarantine(&self) {
        self.inner.stats.lift_quarantine();
        tracing::info!(plugin = %self.inner.label, "policy plugin quarantine lifted");
    }

    /// Retention decision for a freshly written version. Returns `InvalidReturn` for a
    /// retain-until that is not in the future or more than 100 years ahead.
    pub fn retention(
        &self,
        object: &PolicyObject,
        now: Millis,
    ) -> Result<RetentionDecision, PolicyError> {
        if self.inner.kind != PolicyKind::Retention {
            return Err(self.inner.wrong_kind(PolicyKind::Retention));
        }
        self.inner
            .guarded(&object.bucket, || self.inner.retention(object, now))
    }

    /// [`Self::retention`], or [`RetentionDecision::none`] on any error (already logged and
    /// counted): the bucket default still applies, nothing is shortened.
    pub fn retention_or_safe(&self, object: &PolicyObject, now: Millis) -> RetentionDecision {
        self.retention(object, now)
            .unwrap_or_else(|_| RetentionDecision::none())
    }

    /// One action per item, in order (sent in chunks of [`LIFECYCLE_CHUNK`]). `InvalidReturn` if
    /// the plugin answers with the wrong number of actions or an action that cannot apply to its
    /// item (`abort-upload` for a version, `expire*` for an upload, `expire-noncurrent` for the
    /// latest version).
    pub fn lifecycle(
        &self,
        items: &[LifecycleItem],
        now: Millis,
    ) -> Result<Vec<LifecycleAction>, PolicyError> {
        if self.inner.kind != PolicyKind::Lifecycle {
            return Err(self.inner.wrong_kind(PolicyKind::Lifecycle));
        }
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let bucket = items[0].bucket();
        self.inner
            .guarded(bucket, || self.inner.lifecycle(items, now))
    }

    /// [`Self::lifecycle`], or `Keep` for every item on any error.
    pub fn lifecycle_or_keep(&self, items: &[LifecycleItem], now: Millis) -> Vec<LifecycleAction> {
        self.lifecycle(items, now)
            .unwrap_or_else(|_| vec![LifecycleAction::Keep; items.len()])
    }

    /// Plans the backup of a batch of change events. Copies name the host's own records of the
    /// event objects; target paths are validated ([`validate_target_path`]).
    pub fn backup_changes(
        &self,
        events: &[ChangeEvent],
        now: Millis,
    ) -> Result<Vec<BackupStep>, PolicyError> {
        if self.inner.kind != PolicyKind::Backup {
            return Err(self.inner.wrong_kind(PolicyKind::Backup));
        }
        let bucket = events
            .first()
            .map(|e| e.object.bucket.as_str())
            .unwrap_or("");
        self.inner
            .guarded(bucket, || self.inner.backup_changes(events, now))
    }

    /// Plans a full run over one page of source objects and the target entries of the same key
    /// range. Not chunked: pass pages the plugin can plan within its time budget.
    pub fn backup_full(
        &self,
        objects: &[PolicyObject],
        existing: &[TargetEntry],
        now: Millis,
    ) -> Result<Vec<BackupStep>, PolicyError> {
        if self.inner.kind != PolicyKind::Backup {
            return Err(self.inner.wrong_kind(PolicyKind::Backup));
        }
        let bucket = objects.first().map(|o| o.bucket.as_str()).unwrap_or("");
        self.inner
            .guarded(bucket, || self.inner.backup_full(objects, existing, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_paths() {
        assert!(validate_target_path("bucket/key.parquet").is_ok());
        assert!(validate_target_path("a/b..c/d").is_ok());
        assert!(validate_target_path("").is_err());
        assert!(validate_target_path("/etc/passwd").is_err());
        assert!(validate_target_path("a/../b").is_err());
        assert!(validate_target_path("..").is_err());
        assert!(validate_target_path("a/./b").is_err());
        assert!(validate_target_path("a\\..\\b").is_err());
        assert!(validate_target_path("a\0b").is_err());
        assert!(validate_target_path(&"x".repeat(1024)).is_ok());
        assert!(validate_target_path(&"x".repeat(1025)).is_err());
    }

    #[test]
    fn retention_validation() {
        use crate::store::{Retention, RetentionMode};
        let now = 1_700_000_000_000;
        let d = |until| RetentionDecision {
            retention: Some(Retention {
                mode: RetentionMode::Governance,
                retain_until: until,
            }),
            legal_hold: false,
        };
        assert!(validate_retention(RetentionDecision::none(), now).is_ok());
        assert!(validate_retention(d(now + 1), now).is_ok());
        assert!(validate_retention(d(now), now).is_err());
        assert!(validate_retention(d(now - 1), now).is_err());
        assert!(validate_retention(d(now + MAX_RETENTION_MS), now).is_ok());
        assert!(validate_retention(d(now + MAX_RETENTION_MS + 1), now).is_err());
        assert!(validate_retention(d(i64::MAX), now).is_err());
    }

    #[test]
    fn lifecycle_validation() {
        use wlifecycle::LifecycleAction as A;
        let latest = PolicyObject {
            is_latest: true,
            ..Default::default()
        };
        let old = PolicyObject {
            is_latest: false,
            newer_versions: 1,
            ..Default::default()
        };
        let items = vec![
            LifecycleItem::Version(latest),
            LifecycleItem::Version(old),
            LifecycleItem::Upload(PolicyUpload::default()),
        ];
        assert!(
            validate_lifecycle(&items, &[A::Expire, A::ExpireNoncurrent, A::AbortUpload]).is_ok()
        );
        assert!(validate_lifecycle(&items, &[A::Keep, A::Keep, A::Keep]).is_ok());
        assert!(validate_lifecycle(&items, &[A::Keep, A::Keep]).is_err());
        assert!(validate_lifecycle(&items, &[A::ExpireNoncurrent, A::Keep, A::Keep]).is_err());
        assert!(validate_lifecycle(&items, &[A::Keep, A::AbortUpload, A::Keep]).is_err());
        assert!(validate_lifecycle(&items, &[A::Keep, A::Keep, A::Expire]).is_err());
    }

    #[test]
    fn not_components_are_refused() {
        let engine = PolicyEngine::new(None).unwrap();
        for bytes in [&b"\0asm\x01\0\0\0"[..], b"hello world", b"", b"\0asm"] {
            match engine.check(bytes) {
                Err(PolicyError::NotAComponent(_)) => {}
                other => panic!("{bytes:?}: {other:?}"),
            }
        }
    }
}

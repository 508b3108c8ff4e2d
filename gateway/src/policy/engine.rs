//! The policy engine: one wasmtime engine per process, set up for many short sandboxed calls, and
//! the compilation of components.
//!
//! # Engine
//!
//! One [`PolicyEngine`] per process holds one `wasmtime::Engine` (component model, Cranelift,
//! pooling allocator, epoch interruption), one linker (see `sandbox.rs` for what it grants) and
//! the compilation caches. Components are identified by the SHA-256 of their bytes and cached in
//! memory (the last [`EngineOptions::memory_cache_entries`]) and, if a [`DiskCache`] is given,
//! on disk (see `compile_cache.rs`), so a restart deserializes instead of compiling.
//! [`PolicyEngine::load`] turns a component into a configured [`LoadedPlugin`] (its
//! [`load_with`](PolicyEngine::load_with) is in `plugin.rs`).
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
//! # Memory: the pooling allocator
//!
//! The pooling allocator pre-reserves slots for [`EngineOptions::total_instances`] component
//! instances (default 128; each memory slot is a 4 GiB virtual reservation plus guard pages, no
//! bounds checks in compiled code); instantiation then costs microseconds. A component instance
//! of a Rust plugin holds a few core instances, memories and tables, so the pool reserves 8 core
//! instances, 2 memories, 4 tables and one stack per component instance. Each instance's total
//! linear memory is capped by [`Limits::memory_bytes`] through a `ResourceLimiter` (`sandbox.rs`);
//! a refused `memory.grow` is remembered so the trap that typically follows is reported as
//! `OutOfMemory`. How the slots are shared between plugins is `pool.rs`'s business.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::compile_cache::{DiskCache, OpenDiskCache};
use super::error::{PolicyError, describe};
use super::limits::Limits;
use super::plugin::LoadedPlugin;
use super::pool::Pre;
use super::sandbox::{self, Sandbox};
use super::stats::CompileOrigin;
use super::types::PolicyKind;
use crate::sync::lock;

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// Run one decision on synthetic input at load and refuse the plugin if it fails
    /// (default: true).
    pub self_check: bool,
    /// The bucket the plugin serves, named on the log lines of `configure` (calls name their
    /// own bucket). Default: none.
    pub bucket: Option<String>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            self_check: true,
            bucket: None,
        }
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

/// The policy engine. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct PolicyEngine {
    pub(super) inner: Arc<EngineInner>,
}

pub(super) struct EngineInner {
    pub(super) engine: Engine,
    linker: Linker<Sandbox>,
    /// The enabled disk cache, if any.
    pub(super) disk: Option<OpenDiskCache>,
    pub(super) options: EngineOptions,
    components: Mutex<ComponentCache>,
    pub(super) compiled: AtomicU64,
    memory_hits: AtomicU64,
    pub(super) disk_hits: AtomicU64,
    pub(super) disk_rejected: AtomicU64,
}

/// The in-memory cache: compiled components by hash, evicted oldest first.
#[derive(Default)]
struct ComponentCache {
    map: HashMap<String, Component>,
    order: VecDeque<String>,
}

impl PolicyEngine {
    /// Creates an engine with default [`EngineOptions`]. `cache`, if given, keeps compiled
    /// components on disk, authenticated with its key (see `compile_cache.rs`). A cache
    /// directory that is not private to the gateway disables the disk cache (with a warning),
    /// not the engine.
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
        let disk = cache.and_then(|c| OpenDiskCache::open(c, &engine));
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
        self.inner.disk.as_ref().map(OpenDiskCache::dir)
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

    /// Hex SHA-256 of component bytes (the cache key and
    /// [`PluginStats::hash`](super::PluginStats::hash)).
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
}

impl EngineInner {
    /// Links a component against the sandbox.
    pub(super) fn instance_pre(
        &self,
        component: &Component,
    ) -> Result<InstancePre<Sandbox>, PolicyError> {
        self.linker
            .instantiate_pre(component)
            .map_err(|e| PolicyError::Link(describe(&e)))
    }

    /// Epoch ticks for a budget: rounded up, plus one for the tick already under way.
    pub(super) fn ticks(&self, budget: Duration) -> u64 {
        let tick = self.options.epoch_tick.as_nanos().max(1);
        (budget.as_nanos().div_ceil(tick) as u64).saturating_add(1)
    }

    /// The compiled component of `wasm`, its hash, and where it came from: the memory cache,
    /// else the disk cache or a compilation (`compile_cache.rs`).
    pub(super) fn component(
        &self,
        wasm: &[u8],
    ) -> Result<(Component, String, CompileOrigin), PolicyError> {
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

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PolicyEngine>();
};

#[cfg(test)]
mod tests {
    use super::*;

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

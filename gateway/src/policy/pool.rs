//! The instance pool of one plugin: configured instances created on demand, reused across
//! calls, discarded after a failure.
//!
//! A [`LoadedPlugin`](super::LoadedPlugin) keeps up to [`Limits::max_instances`] configured
//! instances (store + bindings). A call takes an idle one, or creates one if fewer exist, or
//! waits for one to be put back. Creating one instantiates the component (in a slot of the
//! engine's pooling allocator, see `engine.rs`) and calls its `configure` under the plugin's
//! time budget. When the engine has no free slot, the plugin makes do with the instances it
//! already has; with none, the call fails.
//!
//! A call that fails inside the guest (trap, budget, memory, host panic) discards its instance —
//! the guest's state may be inconsistent — and the next call instantiates and configures a fresh
//! one. A quarantined plugin gives its idle instances' slots back (`call.rs`).
//!
//! [`Limits::max_instances`]: super::Limits::max_instances

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use wasmtime::component::InstancePre;
use wasmtime::{PoolConcurrencyLimitError, Store};

use super::call::block_on;
use super::error::{PolicyError, describe, panic_message};
use super::plugin::PluginInner;
use super::sandbox::Sandbox;
use super::types::PolicyKind;
use super::wit::{Backup, BackupPre, Lifecycle, LifecyclePre, RetentionPre, RetentionWorld};
use crate::sync::lock;

/// A component linked against the sandbox and checked to implement one world.
pub(super) enum Pre {
    Retention(RetentionPre<Sandbox>),
    Lifecycle(LifecyclePre<Sandbox>),
    Backup(BackupPre<Sandbox>),
}

impl Pre {
    /// Fails if the component does not implement `kind`'s world.
    pub(super) fn new(kind: PolicyKind, pre: InstancePre<Sandbox>) -> wasmtime::Result<Pre> {
        Ok(match kind {
            PolicyKind::Retention => Pre::Retention(RetentionPre::new(pre)?),
            PolicyKind::Lifecycle => Pre::Lifecycle(LifecyclePre::new(pre)?),
            PolicyKind::Backup => Pre::Backup(BackupPre::new(pre)?),
        })
    }
}

/// The exports of an instance, by world.
pub(super) enum Bindings {
    Retention(RetentionWorld),
    Lifecycle(Lifecycle),
    Backup(Backup),
}

/// One configured instance of a plugin.
pub(super) struct Instance {
    pub(super) store: Store<Sandbox>,
    pub(super) bindings: Bindings,
}

/// The instances of one plugin.
#[derive(Default)]
pub(super) struct Pool {
    idle: Vec<Instance>,
    /// Instances that exist: idle plus in use.
    live: usize,
}

/// Why no instance could be created.
pub(super) enum NewInstanceError {
    /// The engine's instance pool is full.
    PoolExhausted(PolicyError),
    Other(PolicyError),
}

impl NewInstanceError {
    pub(super) fn into_inner(self) -> PolicyError {
        match self {
            NewInstanceError::PoolExhausted(e) | NewInstanceError::Other(e) => e,
        }
    }
}

impl PluginInner {
    /// Instantiates and configures a fresh instance.
    pub(super) fn new_instance(&self) -> Result<Instance, NewInstanceError> {
        let mut store = Store::new(
            &self.engine.engine,
            Sandbox::new(self.label.clone(), self.limits.memory_bytes),
        );
        store.limiter(|s| &mut s.limiter);
        store.epoch_deadline_trap();
        store
            .data()
            .call
            .begin(crate::store::now_millis(), &self.bucket);
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

    /// Adds the first instance, created at load.
    pub(super) fn seed(&self, inst: Instance) {
        let mut pool = lock(&self.pool);
        pool.live = 1;
        pool.idle.push(inst);
        drop(pool);
        self.stats.set_instances(1);
    }

    /// Takes an idle instance, or creates one (up to `max_instances`), or waits for one.
    pub(super) fn take(&self) -> Result<Instance, PolicyError> {
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

    /// Puts an instance back after a successful call.
    pub(super) fn put(&self, inst: Instance) {
        lock(&self.pool).idle.push(inst);
        self.available.notify_one();
    }

    /// Forgets one live instance (already dropped by the caller); returns how many remain.
    pub(super) fn discard(&self) -> usize {
        let mut pool = lock(&self.pool);
        pool.live = pool.live.saturating_sub(1);
        self.stats.set_instances(pool.live);
        let live = pool.live;
        drop(pool);
        self.available.notify_one();
        live
    }

    /// Drops every idle instance, freeing their slots (for a plugin that will not run again).
    pub(super) fn discard_idle(&self) {
        let idle = std::mem::take(&mut lock(&self.pool).idle);
        for _ in 0..idle.len() {
            self.discard();
        }
    }
}

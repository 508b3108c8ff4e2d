//! One call into a plugin: the request and response of each world, the executor that drives the
//! call under its time budget, how failures are classified, and the containment around it.
//!
//! # Calls
//!
//! The store runs WASI's *async* host implementation, driven to completion on the calling thread
//! by a tiny executor ([`block_on`]). This keeps calls synchronous for the caller and safe on
//! a tokio worker thread (the sync WASI implementation would `block_on` a tokio runtime from
//! inside one, which panics), and lets the host enforce the time budget even if a host function
//! were to wait. Calls are short (microseconds for ordinary plugins), so calling from async code
//! directly is fine as long as budgets stay small; big scans (lifecycle, backup) should call from
//! `spawn_blocking` or a dedicated thread, since a call may block its thread for up to its budget.
//!
//! The guest's time budget is enforced by the engine epoch (see `engine.rs`), the executor's
//! deadline (budget plus two ticks) catches a host future that never completes, and a host panic
//! is caught and reported as a trap. Every outcome but success discards the instance (`pool.rs`).
//!
//! # Containment
//!
//! Every call is counted in the plugin's [`PluginStats`](super::PluginStats); after
//! [`Limits::quarantine_after`](super::Limits::quarantine_after) consecutive failures the plugin
//! is quarantined and calls fail with [`PolicyError::Quarantined`] without running, until it is
//! reloaded (or [`LoadedPlugin::lift_quarantine`](super::LoadedPlugin::lift_quarantine)).
//! Choosing the safe outcome on failure is the caller's job;
//! [`LoadedPlugin::retention_or_safe`](super::LoadedPlugin::retention_or_safe) and
//! [`LoadedPlugin::lifecycle_or_keep`](super::LoadedPlugin::lifecycle_or_keep) do it for the
//! common cases.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use super::error::{PolicyError, describe, panic_message};
use super::plugin::PluginInner;
use super::pool::{Bindings, Instance};
use super::types::Millis;
use super::wit::{wbackup, wlifecycle, wretention, wtypes};

/// The arguments of one call, by world export.
pub(super) enum Request<'a> {
    Retention(&'a wtypes::ObjectVersion),
    Lifecycle(&'a [wlifecycle::LifecycleItem]),
    BackupChanges(&'a [wtypes::ChangeEvent]),
    BackupFull(&'a [wtypes::ObjectVersion], &'a [wbackup::TargetEntry]),
}

/// What a call returned, before validation (`validate.rs`).
pub(super) enum Response {
    Retention(wretention::RetentionDecision),
    Lifecycle(Vec<wlifecycle::LifecycleAction>),
    Backup(Vec<wbackup::BackupStep>),
}

/// The error of a response of another kind than its request's (the world checks make it
/// unreachable, but it is not worth a panic).
pub(super) fn unexpected_response() -> PolicyError {
    PolicyError::InvalidReturn("unexpected response kind".into())
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
pub(super) fn block_on<F: Future>(fut: F, deadline: Instant) -> Option<F::Output> {
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

impl PluginInner {
    /// The error of a failed instantiation or call: out of budget, out of memory, `exit`, or a
    /// trap.
    pub(super) fn classify(&self, e: &wasmtime::Error, memory_limit_hit: bool) -> PolicyError {
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
    pub(super) fn execute(
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
            Ok(Some(Err(e))) => Err(match self.classify(&e, inst.store.data().limiter.hit) {
                // The guest's own panic message first: it says why, the trap says where.
                PolicyError::Trap(m) => match inst.store.data().call.take_panic() {
                    Some(p) => PolicyError::Trap(format!("{p}; {m}")),
                    None => PolicyError::Trap(m),
                },
                other => other,
            }),
            Ok(None) => Err(PolicyError::OutOfBudget { budget }),
            Err(p) => Err(PolicyError::Trap(panic_message(&p))),
        }
    }

    /// Takes an instance, runs the request, returns or discards the instance.
    pub(super) fn run(
        &self,
        bucket: &str,
        now: Millis,
        req: &Request<'_>,
    ) -> Result<Response, PolicyError> {
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
    pub(super) fn guarded<T>(
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
                // A trap is a bug in the plugin: an ERROR line, carrying the guest's panic
                // message when it logged one. Budgets and refused answers are warnings.
                if matches!(e, PolicyError::Trap(_)) {
                    tracing::error!(plugin = %self.label, bucket, kind = %self.kind, code = e.code(), error = %e,
                        "policy plugin trapped");
                } else {
                    tracing::warn!(plugin = %self.label, bucket, kind = %self.kind, code = e.code(), error = %e,
                        "policy plugin call failed");
                }
                if self
                    .stats
                    .record_failure(elapsed, e, self.limits.quarantine_after)
                {
                    tracing::error!(plugin = %self.label, bucket, kind = %self.kind,
                        failures = self.stats.consecutive_failures(), last_error = %e,
                        "policy plugin quarantined after consecutive failures; reload it to resume");
                    // Free the pool slots of a plugin that will not run again.
                    self.discard_idle();
                    // A binding that replaced a working version rolls back to it.
                    self.stats.quarantined_now();
                }
            }
        }
        result
    }
}

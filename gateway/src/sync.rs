//! Locking that survives a panicking holder. A panic in one request is contained to that request
//! (`net/dispatch.rs`); the state behind the gateway's mutexes is kept consistent by each writer
//! (plain counters, maps updated in one step), so a poisoned mutex is taken as it is rather than
//! failing every later request.

use std::sync::{Mutex, MutexGuard};

/// Locks `m`, ignoring poison.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

//! Policies as WebAssembly components: per-bucket retention, lifecycle and backup plugins.
//!
//! - The host: `engine` (wasmtime set-up, epochs, compilation) and `compile_cache` (the
//!   versioned on-disk cache of compiled components) make a [`PolicyEngine`]; `plugin` loads a
//!   [`LoadedPlugin`] and exposes its calls, which run on instances from `pool` through `call`
//!   (executor, budget, containment), and whose answers `validate` checks.
//! - [`target_path`]: the one rule for backup target paths (host, backup targets and the shipped
//!   backup plugin).
//! - [`types`]: the domain types the gateway exchanges with plugins; [`error`]: [`PolicyError`];
//!   [`limits`]: per-plugin [`Limits`]; [`stats`]: per-plugin counters for the admin API.
//! - `sandbox` (what a plugin can reach) and `wit` (bindings of `sdk/wit/policy.wit`) are
//!   internal.
//! - [`registry`], [`bindings`], [`suite`]: bucket bindings, hot reload, snapshot suites;
//!   [`gate`]: what a new version passes before it serves (suites, canary) and its preview;
//!   [`defaults`]: the default bindings embedded in the binary;
//!   [`backup_settings`]: a backup binding's `[backup]` table.

pub mod backup_settings;
pub mod bindings;
pub mod builtin;
mod call;
mod compile_cache;
pub mod defaults;
mod engine;
pub mod error;
pub mod gate;
pub mod limits;
mod plugin;
mod pool;
pub mod registry;
mod sandbox;
pub mod stats;
pub mod suite;
pub mod target_path;
pub mod types;
mod validate;
mod wit;

pub use compile_cache::DiskCache;
pub use engine::{CacheStats, EngineOptions, LoadOptions, PolicyEngine};
pub use error::PolicyError;
pub use limits::Limits;
pub use plugin::LoadedPlugin;
pub use sandbox::{LOG_BYTES_PER_CALL, PLUGIN_LOG_TARGET};
pub use stats::{CompileOrigin, PluginStats, PluginStatsSnapshot};
pub use types::{
    BackupStep, ChangeEvent, ChangeKind, LifecycleAction, LifecycleItem, ObjectVersion, PolicyKind,
    PolicyUpload, RetentionDecision, TargetEntry,
};

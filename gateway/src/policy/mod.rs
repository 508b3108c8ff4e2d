//! Policies as WebAssembly components: per-bucket retention, lifecycle and backup plugins.
//!
//! - [`host`]: the engine (compile, cache, sandbox, instance pools) and [`LoadedPlugin`] calls.
//! - [`types`]: the domain types the gateway exchanges with plugins; [`error`]: [`PolicyError`];
//!   [`limits`]: per-plugin [`Limits`]; [`stats`]: per-plugin counters for the admin API.
//! - `sandbox` (what a plugin can reach) and `wit` (bindings of `sdk/wit/policy.wit`) are
//!   internal.
//! - [`registry`], [`bindings`], [`suite`]: bucket bindings, hot reload, snapshot suites.

pub mod admin;
pub mod bindings;
pub mod builtin;
pub mod error;
pub mod host;
pub mod limits;
pub mod registry;
mod sandbox;
pub mod scanner;
pub mod stats;
pub mod suite;
pub mod types;
mod wit;

pub use error::PolicyError;
pub use host::{CacheStats, DiskCache, EngineOptions, LoadOptions, LoadedPlugin, PolicyEngine};
pub use limits::Limits;
pub use sandbox::{LOG_BYTES_PER_CALL, PLUGIN_LOG_TARGET};
pub use stats::{CompileOrigin, PluginStats, PluginStatsSnapshot};
pub use types::{
    BackupStep, ChangeEvent, ChangeKind, LifecycleAction, LifecycleItem, PolicyKind, PolicyObject,
    PolicyUpload, RetentionDecision, TargetEntry,
};

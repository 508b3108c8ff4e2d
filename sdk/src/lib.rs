//! # lakegate-sdk: policy plugins for lakegate
//!
//! lakegate runs per-bucket **retention**, **lifecycle** and **backup** policies as sandboxed
//! WebAssembly components (`wasm32-wasip2`). This crate wraps the WIT interface
//! `lakegate:policy@0.1.0` (`sdk/wit/policy.wit`) so that a plugin is plain Rust: implement
//! one trait, invoke one macro.
//!
//! | world | trait | macro | the host calls |
//! | --- | --- | --- | --- |
//! | `retention` | [`RetentionPolicy`] | [`export_retention!`] | `decide(object, now)` on every object-creating write |
//! | `lifecycle` | [`LifecyclePolicy`] | [`export_lifecycle!`] | `decide(items, now)` from the scanner, in batches |
//! | `backup` | [`BackupPolicy`] | [`export_backup!`] | `plan-changes(events, now)`, `plan-full(objects, existing, now)` |
//!
//! Every world also exports `configure(config)`: the host calls it once, right after
//! instantiation, with the binding's configuration (its TOML table, converted to JSON). The
//! SDK deserializes it into your `Config` type with serde and calls your `new`; an error there
//! rejects the binding.
//!
//! Plugins decide; the gateway enforces. A decision that the object-lock rules forbid
//! (deleting a locked version, shortening a COMPLIANCE retention) is never carried out.
//! Plugins get no filesystem, network, environment variables or clock: the current time is a
//! parameter of every call (`now`), so decisions are deterministic and testable.
//!
//! ## A complete plugin
//!
//! `Cargo.toml`:
//!
//! ```toml
//! [package]
//! name = "expire-tmp"
//! version = "0.1.0"
//! edition = "2024"
//!
//! [lib]
//! crate-type = ["cdylib"]
//!
//! [dependencies]
//! lakegate-sdk = { path = "vendor/lakegate-sdk" }   # written by `lakegate policy new`
//! serde = { version = "1", features = ["derive"] }
//! ```
//!
//! `src/lib.rs`:
//!
//! ```
//! use lakegate_sdk::{LifecycleAction, LifecycleItem, LifecyclePolicy, Timestamp, log};
//! use serde::Deserialize;
//!
//! /// The binding's configuration, e.g. `config = { prefix = "tmp/", days = 7 }`.
//! #[derive(Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Config {
//!     prefix: String,
//!     days: u32,
//! }
//!
//! struct ExpireTmp {
//!     prefix: String,
//!     days: i64,
//! }
//!
//! impl LifecyclePolicy for ExpireTmp {
//!     type Config = Config;
//!
//!     fn new(config: Config) -> Result<Self, String> {
//!         if config.prefix.is_empty() {
//!             return Err("prefix must not be empty".into());
//!         }
//!         log::info!("expiring {}* after {} days", config.prefix, config.days);
//!         Ok(ExpireTmp { prefix: config.prefix, days: config.days.into() })
//!     }
//!
//!     fn decide(&self, item: &LifecycleItem, now: Timestamp) -> LifecycleAction {
//!         if !item.key().starts_with(&self.prefix) {
//!             return LifecycleAction::Keep;
//!         }
//!         match item {
//!             LifecycleItem::Version(v) if v.is_latest && v.age_days(now) >= self.days => {
//!                 LifecycleAction::Expire
//!             }
//!             LifecycleItem::Version(v) if v.noncurrent_days(now) >= Some(self.days) => {
//!                 LifecycleAction::ExpireNoncurrent
//!             }
//!             LifecycleItem::Upload(u) if u.age_days(now) >= self.days => {
//!                 LifecycleAction::AbortUpload
//!             }
//!             _ => LifecycleAction::Keep,
//!         }
//!     }
//! }
//!
//! lakegate_sdk::export_lifecycle!(ExpireTmp);
//! ```
//!
//! Build it (once: `rustup target add wasm32-wasip2`):
//!
//! ```sh
//! cargo build --target wasm32-wasip2 --release
//! # → target/wasm32-wasip2/release/expire_tmp.wasm, a component of the `lifecycle` world
//! ```
//!
//! and bind the `.wasm` to a bucket with its configuration. The SDK is not published on
//! crates.io: `lakegate policy new expire-tmp --kind lifecycle` writes such a crate with the SDK
//! in `vendor/lakegate-sdk` (in the lakegate workspace, use `{ workspace = true }`), and
//! `lakegate policy build|test|deploy` build it, run its snapshot suites and put it on a
//! gateway; `docs/policy-authoring.md` in the lakegate repository walks through all of it.
//!
//! ## Rules and behaviour
//!
//! - **One export macro per crate.** A plugin implements exactly one world; invoking two
//!   `export_*!` macros in one crate fails to link (both export `configure`).
//! - **Configuration**: parsed by [`parse_config`] (use it in unit tests too). An empty string
//!   reads as `{}`. Errors are returned to the host as `Err("invalid config: <reason>")`, e.g.
//!   `invalid config: missing field `days``; an `Err(msg)` from your `new` becomes
//!   `invalid config: <msg>`. A failed `configure` leaves the plugin unconfigured; calling it
//!   again replaces the policy. Use [`NoConfig`] for a policy without configuration.
//! - **Before `configure`** (or after a failed one), every decision call logs a warning and
//!   answers the safe choice: no retention ([`RetentionDecision::none`]),
//!   [`LifecycleAction::Keep`] for every item, an empty backup plan.
//! - **Panics** are logged through the host (`plugin panicked: …` at `error`) and then trap
//!   the instance: the host sees the call fail.
//! - **Logging**: [`log::info!`] and friends write to the gateway's log (natively, to stderr).
//! - **State**: the policy value lives for the lifetime of the instance; decisions take
//!   `&self`. Use `Cell`/`RefCell` inside your policy if it needs mutable state (an instance
//!   is single-threaded).
//!
//! ## Testing natively
//!
//! Policies are plain Rust values: build them from a config with [`parse_config`] and call
//! `decide` directly with hand-made [`ObjectVersion`]s (every type implements `Default`):
//!
//! ```
//! use lakegate_sdk::{ObjectVersion, Timestamp, days};
//! let written = Timestamp::from_secs(1_700_000_000);
//! let v = ObjectVersion { key: "tmp/x".into(), is_latest: true, last_modified: written, ..Default::default() };
//! assert_eq!(v.age_days(written + days(8)), 8);
//! ```
//!
//! The export macros compile natively too (so `cargo test --workspace` builds plugin crates for
//! the host), but only a `wasm32-wasip2` build produces a component.

#![warn(missing_docs)]

// Lets paths generated for `::lakegate_sdk::…` resolve inside this crate too.
extern crate self as lakegate_sdk;

mod backup;
mod config;
mod convert;
mod lifecycle;
pub mod log;
mod retention;
mod runtime;
mod time;
mod types;

pub use backup::BackupPolicy;
pub use config::{NoConfig, parse_config};
pub use lifecycle::LifecyclePolicy;
pub use log::LogLevel;
pub use retention::RetentionPolicy;
pub use time::{MILLIS_PER_DAY, Timestamp, days};
pub use types::{
    BackupStep, ChangeEvent, ChangeKind, LifecycleAction, LifecycleItem, MultipartUpload,
    ObjectVersion, Retention, RetentionDecision, RetentionMode, TargetEntry,
};

/// The `wit-bindgen` output for the three worlds (used by the export macros; not an API).
#[doc(hidden)]
#[allow(missing_docs, clippy::all)]
#[path = "bindings.rs"]
pub mod __bindings;

/// Implementation details of the export macros (not an API).
#[doc(hidden)]
pub mod __private {
    pub use crate::backup::BackupExport;
    pub use crate::lifecycle::LifecycleExport;
    pub use crate::retention::RetentionExport;
}

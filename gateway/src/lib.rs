//! lakegate: an S3-compatible object storage server for Medallion data lakes.
//!
//! Layers, lowest first; a module imports only from layers below it (`ARCHITECTURE.md`,
//! "Layers", declares the same order and `tests/layers.rs` checks it):
//! - [`clock`], [`local_key`]: the data plane's time; the gateway's own secret key.
//! - [`sync`]: locking that survives a panicking holder.
//! - [`store`]: blobs through OpenDAL, metadata in redb, versioning and object-lock rules,
//!   bucket-name and key rules.
//! - [`auth`]: SigV4/SigV2 verification and the verified request body.
//! - [`policy`]: WebAssembly policy plugins, their bindings to buckets, hot reload, suites.
//! - [`lifecycle`], [`backup`]: the lifecycle scanner and the backup service, which drive the
//!   plugins over the store.
//! - [`s3`]: the S3 API: routing, XML, errors, one handler module per operation family.
//! - [`admin`]: the admin API (JSON, root only today).
//! - [`console`]: the operator console; [`http`]: sockets, connections, the S3 port's dispatch.
//! - [`app`]: the application's state and wiring.
//! - [`cli`]: the command line, one module per command (`lakegate server`, `policy`, `backup`).

pub mod admin;
pub mod app;
pub mod auth;
pub mod backup;
pub mod cli;
pub mod clock;
pub mod console;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod lifecycle;
pub mod local_key;
pub mod policy;
pub mod s3;
pub mod store;
pub mod sync;

#[cfg(test)]
mod layers;

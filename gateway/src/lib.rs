//! lakegate: an S3-compatible object storage server for Medallion data lakes.
//!
//! Layers, lowest first; a module imports only from layers below it (`ARCHITECTURE.md`,
//! "Layers", declares the same order and the unit test in `layers.rs` checks it):
//! - [`sync`], [`local_file`]: locking that survives a panicking holder; replacing a local file
//!   atomically.
//! - [`telemetry`], [`audit`]: atomic histograms and the Prometheus text format; the audit trail.
//! - [`store`], [`local_key`], [`crypto`]: blobs through OpenDAL, metadata in redb, versioning and
//!   object-lock rules, listing, bucket-name and key rules, the on-disk schema; the gateway's own
//!   secret key; encryption at rest (package format, object keys, the KMS).
//! - [`clock`], [`iam`]: the data plane's time; identities, the IAM policy language and the one
//!   evaluator every request goes through.
//! - [`auth`]: SigV4/SigV2 verification against the identities' keys and the verified request
//!   body.
//! - [`policy`]: WebAssembly policy plugins, their bindings to buckets (the defaults built in),
//!   hot reload, suites.
//! - [`lifecycle`], [`backup`]: the lifecycle scanner and the backup service, which drive the
//!   plugins over the store.
//! - [`s3`]: the S3 API: routing, XML, errors, one handler module per operation family.
//! - [`admin`], [`sts`], [`metrics`]: the admin APIs (lakegate's JSON, MinIO's); STS
//!   AssumeRole; the Prometheus endpoints.
//! - [`console`], [`net`]: the operator console; sockets, connections, the S3 port's dispatch.
//! - [`app`]: the application's state and wiring.
//! - [`cli`]: the command line, one module per command (`lakegate server`, `policy`, `backup`).
//! - `fuzzing`: entry points for the fuzz targets (`gateway/fuzz`), above everything.

pub mod admin;
pub mod app;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod cli;
pub mod clock;
pub mod console;
pub mod crypto;
#[doc(hidden)]
pub mod fuzzing;
pub mod iam;
pub mod lifecycle;
pub mod local_file;
pub mod local_key;
pub mod metrics;
pub mod net;
pub mod policy;
pub mod s3;
pub mod store;
pub mod sts;
pub mod sync;
pub mod telemetry;

#[cfg(test)]
mod layers;

//! lakegate: an S3-compatible object storage server for Medallion data lakes.
//!
//! Layers, top to bottom (see `ARCHITECTURE.md`):
//! - [`cli`]: the command line, one module per command (`lakegate server`, `policy`, `backup`).
//! - [`server`]: sockets, connections, graceful shutdown; [`console`]: the operator port.
//! - [`s3`]: S3 routing, XML, errors, one handler module per operation family.
//! - [`auth`]: SigV4/SigV2 verification and the verified request body.
//! - [`store`]: blobs through OpenDAL, metadata in redb, versioning and object-lock rules.

pub mod auth;
pub mod backup;
pub mod cli;
pub mod clock;
pub mod console;
#[doc(hidden)]
pub mod fuzzing;
pub mod local_key;
pub mod policy;
pub mod s3;
pub mod server;
pub mod store;

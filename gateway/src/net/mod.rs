//! The network side of both ports: sockets, connections and the first look at every request.
//!
//! - [`connection`]: one accept loop for both ports, connection caps and timeouts, graceful
//!   shutdown.
//! - [`dispatch`]: the S3 port's front door: assigns the request id and its span, answers the
//!   health checks, and hands each request to the metrics endpoints, the admin API or the S3
//!   API.
//! - [`health`]: `/minio/health/{live,ready,cluster,cluster/read}` with MinIO's semantics.
//! - [`tls`]: the certificates directory both ports serve with TLS, chosen by SNI and reloaded
//!   without a restart.

pub mod connection;
pub mod dispatch;
pub mod health;
pub mod tls;

pub use connection::ConnectionLimits;
pub use dispatch::Dispatch;

//! The network side of both ports: sockets, connections and the first look at every request.
//!
//! - [`connection`]: one accept loop for both ports, connection caps and timeouts, graceful
//!   shutdown.
//! - [`dispatch`]: the S3 port's front door: assigns the request id and its span, answers the
//!   health checks, and hands each request to the admin API or the S3 API.
//! - [`tls`]: the certificates directory both ports serve with TLS, chosen by SNI and reloaded
//!   without a restart.

pub mod connection;
pub mod dispatch;
pub mod tls;

pub use connection::ConnectionLimits;
pub use dispatch::Dispatch;

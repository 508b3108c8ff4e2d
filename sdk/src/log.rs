//! Logging through the host: lines end up in the gateway's log, tagged with the plugin and the
//! bucket.
//!
//! ```
//! use lakegate_sdk::log;
//! let key = "raw/2024/01/data.parquet";
//! log::info!("keeping {key}: tagged legal=keep");
//! log::warn!("unexpected storage class {:?}", "GLACIER");
//! log::log(log::LogLevel::Debug, "plain message");
//! ```
//!
//! In a component the lines go to the host's `log` import. When the plugin code runs natively
//! (unit tests with `cargo test`), they are written to stderr instead.

use std::fmt;

/// Severity of a log line (the WIT `log-level`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Very detailed tracing.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operation.
    Info,
    /// Something unexpected that the plugin handled.
    Warn,
    /// Something failed.
    Error,
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogLevel::Trace => "TRACE",
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERROR",
        })
    }
}

/// Writes `message` to the gateway's log at `level`.
pub fn log(level: LogLevel, message: &str) {
    #[cfg(target_arch = "wasm32")]
    {
        use crate::__bindings::retention::lakegate::policy::{host, types};
        let level = match level {
            LogLevel::Trace => types::LogLevel::Trace,
            LogLevel::Debug => types::LogLevel::Debug,
            LogLevel::Info => types::LogLevel::Info,
            LogLevel::Warn => types::LogLevel::Warn,
            LogLevel::Error => types::LogLevel::Error,
        };
        host::log(level, message);
    }
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[lakegate plugin {level}] {message}");
}

#[doc(hidden)]
#[macro_export]
macro_rules! __lakegate_log_trace {
    ($($arg:tt)+) => {
        $crate::log::log($crate::log::LogLevel::Trace, &::std::format!($($arg)+))
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __lakegate_log_debug {
    ($($arg:tt)+) => {
        $crate::log::log($crate::log::LogLevel::Debug, &::std::format!($($arg)+))
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __lakegate_log_info {
    ($($arg:tt)+) => {
        $crate::log::log($crate::log::LogLevel::Info, &::std::format!($($arg)+))
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __lakegate_log_warn {
    ($($arg:tt)+) => {
        $crate::log::log($crate::log::LogLevel::Warn, &::std::format!($($arg)+))
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __lakegate_log_error {
    ($($arg:tt)+) => {
        $crate::log::log($crate::log::LogLevel::Error, &::std::format!($($arg)+))
    };
}

/// Logs at [`LogLevel::Trace`], with `format!` arguments.
#[doc(inline)]
pub use crate::__lakegate_log_trace as trace;

/// Logs at [`LogLevel::Debug`], with `format!` arguments.
#[doc(inline)]
pub use crate::__lakegate_log_debug as debug;

/// Logs at [`LogLevel::Info`], with `format!` arguments: `log::info!("kept {key}")`.
#[doc(inline)]
pub use crate::__lakegate_log_info as info;

/// Logs at [`LogLevel::Warn`], with `format!` arguments.
#[doc(inline)]
pub use crate::__lakegate_log_warn as warn;

/// Logs at [`LogLevel::Error`], with `format!` arguments.
#[doc(inline)]
pub use crate::__lakegate_log_error as error;

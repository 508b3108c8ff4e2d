//! Test fixture for the `retention` world: on every `decide` it probes what the sandbox lets
//! through and logs one `info` line per probe, then a summary, and answers no retention.
//!
//! Probes and log lines (`<detail>` is an error message or a count):
//! - `wasi-snoop fs: denied (<detail>)` / `wasi-snoop fs: LEAK (<n> entries in /)` —
//!   `std::fs::read_dir("/")`
//! - `wasi-snoop env: empty` / `wasi-snoop env: LEAK (<names>)` — `std::env::vars()`
//! - `wasi-snoop net: denied (<detail>)` / `wasi-snoop net: LEAK (connected to 127.0.0.1:9)`
//!   — `std::net::TcpStream::connect`
//! - `wasi-snoop clock: <ms> ms since the epoch` / `wasi-snoop clock: denied (<detail>)` —
//!   `std::time::SystemTime::now()`
//! - summary: `wasi-snoop summary: fs=denied env=empty net=denied clock=<ms>` (`LEAK` in
//!   place of `denied`/`empty` for anything that got through).
//!
//! `configure` accepts any config.

use lakegate_sdk::{NoConfig, ObjectVersion, RetentionDecision, RetentionPolicy, Timestamp, log};
use std::time::{SystemTime, UNIX_EPOCH};

struct WasiSnoop;

impl RetentionPolicy for WasiSnoop {
    type Config = NoConfig;

    fn new(_: NoConfig) -> Result<Self, String> {
        Ok(WasiSnoop)
    }

    fn decide(&self, _object: &ObjectVersion, _now: Timestamp) -> RetentionDecision {
        let fs = match std::fs::read_dir("/") {
            Ok(entries) => {
                log::info!("wasi-snoop fs: LEAK ({} entries in /)", entries.count());
                "LEAK"
            }
            Err(e) => {
                log::info!("wasi-snoop fs: denied ({e})");
                "denied"
            }
        };
        let names: Vec<String> = std::env::vars().map(|(name, _)| name).collect();
        let env = if names.is_empty() {
            log::info!("wasi-snoop env: empty");
            "empty"
        } else {
            log::info!("wasi-snoop env: LEAK ({})", names.join(","));
            "LEAK"
        };
        let net = match std::net::TcpStream::connect("127.0.0.1:9") {
            Ok(_) => {
                log::info!("wasi-snoop net: LEAK (connected to 127.0.0.1:9)");
                "LEAK"
            }
            Err(e) => {
                log::info!("wasi-snoop net: denied ({e})");
                "denied"
            }
        };
        let clock = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => {
                log::info!("wasi-snoop clock: {} ms since the epoch", d.as_millis());
                d.as_millis().to_string()
            }
            Err(e) => {
                log::info!("wasi-snoop clock: denied ({e})");
                "denied".to_string()
            }
        };
        log::info!("wasi-snoop summary: fs={fs} env={env} net={net} clock={clock}");
        RetentionDecision::none()
    }
}

lakegate_sdk::export_retention!(WasiSnoop);

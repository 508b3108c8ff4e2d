//! The sandbox a plugin instance runs in: its store data, the WASI context that grants nothing,
//! the host-controlled clocks, captured stdout/stderr, the memory limiter, and the linker.
//!
//! What a plugin can reach:
//! - `lakegate:policy/host.log` → `tracing`, tagged with plugin label and bucket.
//! - WASI p2, with: no preopened directories, no environment, no arguments, no network (TCP, UDP
//!   and name lookup denied), an empty stdin, stdout/stderr forwarded line by line to `tracing`,
//!   real randomness (not a capability), and wall/monotonic clocks frozen at the call's `now`.
//!   `subscribe-duration`/`subscribe-instant` are replaced by pollables that are ready at once:
//!   time does not pass inside a call, and a sleeping plugin must not block a host thread.
//!
//! Everything a plugin prints or logs is capped per call ([`LOG_BYTES_PER_CALL`]).

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use wasmtime::component::{HasSelf, Linker, Resource, ResourceTable};
use wasmtime::{ResourceLimiter, StoreContextMut};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::p2::{DynPollable, OutputStream, Pollable, StreamError, subscribe};
use wasmtime_wasi::{
    HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView,
};

use super::wit::{whost, wtypes};

/// Bytes of log output (host `log`, stdout, stderr together) one call may produce.
pub const LOG_BYTES_PER_CALL: usize = 64 * 1024;
/// Longest single log line forwarded; longer lines are cut.
pub const MAX_LOG_LINE: usize = 4096;

/// Tracing target of everything plugins log or print.
pub const PLUGIN_LOG_TARGET: &str = "lakegate::policy::plugin";

/// State shared between a store's data, its clocks and its output pipes, updated per call.
pub(crate) struct CallCtx {
    pub label: Arc<str>,
    now_ms: AtomicI64,
    bucket: Mutex<String>,
    log_budget: AtomicUsize,
    log_truncated: AtomicBool,
    /// The guest's `plugin panicked: …` line of the current call (the SDK's panic hook logs it
    /// just before the trap), for the trap's error.
    panic: Mutex<Option<String>>,
}

impl CallCtx {
    pub fn new(label: Arc<str>) -> Self {
        CallCtx {
            label,
            now_ms: AtomicI64::new(0),
            bucket: Mutex::new(String::new()),
            log_budget: AtomicUsize::new(LOG_BYTES_PER_CALL),
            log_truncated: AtomicBool::new(false),
            panic: Mutex::new(None),
        }
    }

    /// Prepares for the next call: the clocks read `now_ms`, log lines name `bucket`.
    pub fn begin(&self, now_ms: i64, bucket: &str) {
        self.now_ms.store(now_ms, Ordering::Relaxed);
        let mut b = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
        if *b != bucket {
            b.clear();
            b.push_str(bucket);
        }
        self.log_budget.store(LOG_BYTES_PER_CALL, Ordering::Relaxed);
        self.log_truncated.store(false, Ordering::Relaxed);
        *self.panic.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Keeps the first panic message of the call (`plugin panicked: panicked at FILE:LINE:COL:`
    /// then the message, on one line, at most 512 bytes).
    fn record_panic(&self, message: &str) {
        let mut p = self.panic.lock().unwrap_or_else(|e| e.into_inner());
        if p.is_none() {
            let mut one_line = message
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            let mut cut = one_line.len().min(512);
            while !one_line.is_char_boundary(cut) {
                cut -= 1;
            }
            one_line.truncate(cut);
            *p = Some(one_line);
        }
    }

    /// The panic message the guest logged during the current call, if any.
    pub fn take_panic(&self) -> Option<String> {
        self.panic.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    pub fn bucket(&self) -> String {
        self.bucket
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn now_ms(&self) -> i64 {
        self.now_ms.load(Ordering::Relaxed)
    }

    /// Emits one plugin log line, within the per-call budget.
    fn emit(&self, level: wtypes::LogLevel, source: &'static str, line: &str) {
        let mut line = line.trim_end_matches(['\r', '\n']);
        if line.trim().is_empty() {
            return;
        }

        if line.len() > MAX_LOG_LINE {
            let mut cut = MAX_LOG_LINE;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line = &line[..cut];
        }
        let cost = line.len().max(1);
        let left = self.log_budget.load(Ordering::Relaxed);
        if left < cost {
            if !self.log_truncated.swap(true, Ordering::Relaxed) {
                let bucket = self.bucket();
                tracing::warn!(target: PLUGIN_LOG_TARGET, plugin = %self.label, bucket = %bucket,
                    "plugin log output exceeds {LOG_BYTES_PER_CALL} bytes in one call; dropping the rest");
            }
            return;
        }
        self.log_budget.store(left - cost, Ordering::Relaxed);
        let bucket = self.bucket();
        let plugin = &*self.label;
        match level {
            wtypes::LogLevel::Trace => {
                tracing::trace!(target: PLUGIN_LOG_TARGET, plugin, bucket = %bucket, source, "{line}")
            }
            wtypes::LogLevel::Debug => {
                tracing::debug!(target: PLUGIN_LOG_TARGET, plugin, bucket = %bucket, source, "{line}")
            }
            wtypes::LogLevel::Info => {
                tracing::info!(target: PLUGIN_LOG_TARGET, plugin, bucket = %bucket, source, "{line}")
            }
            wtypes::LogLevel::Warn => {
                tracing::warn!(target: PLUGIN_LOG_TARGET, plugin, bucket = %bucket, source, "{line}")
            }
            wtypes::LogLevel::Error => {
                tracing::error!(target: PLUGIN_LOG_TARGET, plugin, bucket = %bucket, source, "{line}")
            }
        }
    }
}

// ---- clocks ----

struct FrozenWallClock(Arc<CallCtx>);

impl HostWallClock for FrozenWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }
    fn now(&self) -> Duration {
        Duration::from_millis(self.0.now_ms().max(0) as u64)
    }
}

struct FrozenMonotonicClock(Arc<CallCtx>);

impl HostMonotonicClock for FrozenMonotonicClock {
    fn resolution(&self) -> u64 {
        1_000_000
    }
    fn now(&self) -> u64 {
        (self.0.now_ms().max(0) as u64).saturating_mul(1_000_000)
    }
}

/// A pollable that is always ready (what clock subscriptions return in the sandbox).
struct Ready;

#[wasmtime_wasi::async_trait]
impl Pollable for Ready {
    async fn ready(&mut self) {}
}

// ---- stdout / stderr ----

/// A stdout/stderr stream that forwards complete lines to `tracing`.
#[derive(Clone)]
pub(crate) struct LogPipe {
    ctx: Arc<CallCtx>,
    source: &'static str,
    level: wtypes::LogLevel,
    partial: Arc<Mutex<Vec<u8>>>,
}

impl LogPipe {
    fn new(ctx: Arc<CallCtx>, source: &'static str, level: wtypes::LogLevel) -> Self {
        LogPipe {
            ctx,
            source,
            level,
            partial: Arc::new(Mutex::new(Vec::new())),
        }
    }

    fn push(&self, mut bytes: &[u8]) {
        let mut partial = self.partial.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(nl) = bytes.iter().position(|&b| b == b'\n') {
            partial.extend_from_slice(&bytes[..nl]);
            self.ctx
                .emit(self.level, self.source, &String::from_utf8_lossy(&partial));
            partial.clear();
            bytes = &bytes[nl + 1..];
        }
        // Never buffer more than one line's worth: an endless line is emitted in pieces.
        let room = MAX_LOG_LINE.saturating_sub(partial.len());
        partial.extend_from_slice(&bytes[..bytes.len().min(room)]);
        if partial.len() >= MAX_LOG_LINE {
            self.ctx
                .emit(self.level, self.source, &String::from_utf8_lossy(&partial));
            partial.clear();
        }
    }

    /// Emits an unterminated last line (end of a call).
    pub fn flush_partial(&self) {
        let mut partial = self.partial.lock().unwrap_or_else(|e| e.into_inner());
        if !partial.is_empty() {
            self.ctx
                .emit(self.level, self.source, &String::from_utf8_lossy(&partial));
            partial.clear();
        }
    }
}

impl IsTerminal for LogPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogPipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LogPipe {
    async fn ready(&mut self) {}
}

impl OutputStream for LogPipe {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.push(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }
    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 * 1024)
    }
}

impl tokio::io::AsyncWrite for LogPipe {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.push(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

// ---- memory ----

/// Caps the total linear memory of one instance and remembers whether the cap was hit, so a
/// trap that follows (Rust's allocator aborts on a failed `memory.grow`) is reported as
/// `OutOfMemory`.
pub(crate) struct MemLimiter {
    limit: usize,
    used: usize,
    pub hit: bool,
}

/// Table elements one instance may have (function tables of ordinary plugins are tiny).
const MAX_TABLE_ELEMENTS: usize = 100_000;

impl ResourceLimiter for MemLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let grow = desired.saturating_sub(current);
        if self.used.saturating_add(grow) > self.limit {
            self.hit = true;
            return Ok(false);
        }
        self.used += grow;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

// ---- store data ----

/// The `T` of every plugin `Store<T>`.
pub(crate) struct Sandbox {
    wasi: WasiCtx,
    table: ResourceTable,
    pub limiter: MemLimiter,
    pub call: Arc<CallCtx>,
    stdout: LogPipe,
    stderr: LogPipe,
}

impl Sandbox {
    pub fn new(label: Arc<str>, memory_bytes: u64) -> Self {
        let call = Arc::new(CallCtx::new(label));
        let stdout = LogPipe::new(call.clone(), "stdout", wtypes::LogLevel::Info);
        let stderr = LogPipe::new(call.clone(), "stderr", wtypes::LogLevel::Warn);
        let wasi = WasiCtxBuilder::new()
            .stdin(MemoryInputPipe::new(Bytes::new()))
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .wall_clock(FrozenWallClock(call.clone()))
            .monotonic_clock(FrozenMonotonicClock(call.clone()))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        Sandbox {
            wasi,
            table: ResourceTable::new(),
            limiter: MemLimiter {
                limit: usize::try_from(memory_bytes).unwrap_or(usize::MAX),
                used: 0,
                hit: false,
            },
            call,
            stdout,
            stderr,
        }
    }

    /// Emits unterminated output lines at the end of a call.
    pub fn flush_output(&self) {
        self.stdout.flush_partial();
        self.stderr.flush_partial();
    }
}

impl WasiView for Sandbox {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl wtypes::Host for Sandbox {}

impl whost::Host for Sandbox {
    fn log(&mut self, level: wtypes::LogLevel, message: String) {
        if matches!(level, wtypes::LogLevel::Error) && message.starts_with("plugin panicked: ") {
            self.call.record_panic(&message);
        }
        for line in message.lines() {
            self.call.emit(level, "log", line);
        }
    }
}

/// The WASI p2 monotonic-clock interface version implemented by `wasmtime-wasi` 48, whose
/// `subscribe-*` functions the sandbox replaces.
const MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

fn ready_pollable(
    mut store: StoreContextMut<'_, Sandbox>,
) -> wasmtime::Result<(Resource<DynPollable>,)> {
    let table = &mut store.data_mut().table;
    let ready = table.push(Ready)?;
    Ok((subscribe(table, ready)?,))
}

/// The one linker of an engine: WASI p2 (async implementation) + `lakegate:policy/host`.
pub(crate) fn linker(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<Sandbox>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    super::wit::RetentionWorld::add_to_linker::<Sandbox, HasSelf<Sandbox>>(&mut linker, |s| s)?;
    linker.allow_shadowing(true);
    {
        let mut clock = linker.instance(MONOTONIC_CLOCK)?;
        clock.func_wrap(
            "subscribe-duration",
            |store: StoreContextMut<'_, Sandbox>, (_,): (u64,)| ready_pollable(store),
        )?;
        clock.func_wrap(
            "subscribe-instant",
            |store: StoreContextMut<'_, Sandbox>, (_,): (u64,)| ready_pollable(store),
        )?;
    }
    linker.allow_shadowing(false);
    Ok(linker)
}

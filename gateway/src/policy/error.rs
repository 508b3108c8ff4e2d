//! The policy engine's one error type, and how wasmtime errors and host panics are worded in it.

use std::time::Duration;

use super::types::PolicyKind;

/// What went wrong loading or calling a policy plugin.
///
/// Load-time variants (`NotAComponent` … `Configure`) mean the plugin is refused; call-time
/// variants (`Trap` … `InvalidReturn`) are counted as failures of a loaded plugin and may
/// quarantine it; `Quarantined` is returned without calling the plugin at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Garbage, a core WebAssembly module, or anything else that is not a component.
    #[error("not a WebAssembly component: {0}")]
    NotAComponent(String),
    /// The component does not export the requested world (or was called as another kind).
    #[error("the component does not implement the `{expected}` world: {detail}")]
    WrongWorld {
        expected: PolicyKind,
        detail: String,
    },
    /// Cranelift refused the component (invalid or unsupported WebAssembly).
    #[error("compilation failed: {0}")]
    Compile(String),
    /// The component imports something the sandbox does not grant.
    #[error("imports not granted: {0}")]
    Link(String),
    /// Instantiation failed (start function trapped, resource limits, instance pool exhausted).
    #[error("instantiation failed: {0}")]
    Instantiate(String),
    /// The plugin's `configure` rejected its configuration.
    #[error("configuration rejected by the plugin: {0}")]
    Configure(String),
    /// The plugin trapped (panic, `unreachable`, stack overflow, `exit`, ...).
    #[error("plugin trapped: {0}")]
    Trap(String),
    /// The call ran past its time budget and was interrupted.
    #[error("plugin exceeded its time budget of {budget:?}")]
    OutOfBudget { budget: Duration },
    /// The plugin tried to grow its memory past its limit (and then trapped).
    #[error("plugin exceeded its memory limit of {limit_bytes} bytes")]
    OutOfMemory { limit_bytes: u64 },
    /// The plugin returned something the host refuses (wrong length, unsafe path, absurd date).
    #[error("plugin returned an invalid result: {0}")]
    InvalidReturn(String),
    /// Too many consecutive failures; calls are refused until the plugin is reloaded.
    #[error("plugin is quarantined after {failures} consecutive failures (last: {last_error})")]
    Quarantined { failures: u32, last_error: String },
    /// Reading or writing the compilation cache, or the plugin file.
    #[error("i/o error: {0}")]
    Io(String),
}

impl PolicyError {
    /// A short stable name for metrics and the admin API.
    pub fn code(&self) -> &'static str {
        match self {
            PolicyError::NotAComponent(_) => "not-a-component",
            PolicyError::WrongWorld { .. } => "wrong-world",
            PolicyError::Compile(_) => "compile",
            PolicyError::Link(_) => "link",
            PolicyError::Instantiate(_) => "instantiate",
            PolicyError::Configure(_) => "configure",
            PolicyError::Trap(_) => "trap",
            PolicyError::OutOfBudget { .. } => "out-of-budget",
            PolicyError::OutOfMemory { .. } => "out-of-memory",
            PolicyError::InvalidReturn(_) => "invalid-return",
            PolicyError::Quarantined { .. } => "quarantined",
            PolicyError::Io(_) => "io",
        }
    }
}

impl From<std::io::Error> for PolicyError {
    fn from(e: std::io::Error) -> Self {
        PolicyError::Io(e.to_string())
    }
}

/// Formats a wasmtime error compactly: its causes joined by `: `, and for traps the innermost
/// wasm frames that are not Rust's panic/abort machinery. Bounded in length.
pub(super) fn describe(e: &wasmtime::Error) -> String {
    let mut s = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        // The backtrace is a context layer of its own; it is summarized below instead.
        if text.starts_with("error while executing at wasm backtrace") {
            continue;
        }
        if !s.is_empty() {
            s.push_str(": ");
        }
        s.push_str(text.trim());
    }
    if let Some(bt) = e.downcast_ref::<wasmtime::WasmBacktrace>() {
        const RUNTIME: [&str; 8] = [
            "std",
            "core",
            "alloc",
            "__rust",
            "__rustc",
            "abort",
            "panic",
            "wit_bindgen",
        ];
        let frames: Vec<String> = bt
            .frames()
            .iter()
            .filter_map(|f| {
                let name = f.func_name()?;
                let runtime = RUNTIME
                    .iter()
                    .any(|r| name.starts_with(r) || name.starts_with(&format!("<{r}")));
                (!runtime).then(|| name.to_string())
            })
            .take(3)
            .collect();
        if !frames.is_empty() {
            s.push_str(" (in ");
            s.push_str(&frames.join(" <- "));
            s.push(')');
        }
    }
    if s.len() > 1024 {
        let mut cut = 1024;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// The message of a host panic caught around a call.
pub(super) fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    let msg = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("host panic during the call: {msg}")
}

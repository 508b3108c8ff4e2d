//! Builds the policy plugins shipped in `plugins/` (retention, lifecycle, backup) to
//! `wasm32-wasip2` components and embeds them in the gateway, so bindings can name them as
//! `plugin = "builtin:<name>"` and the binary works from any directory.
//!
//! The plugins are built by a nested `cargo build --release --target wasm32-wasip2` into their
//! own target directory (`target/builtin-plugins`), so it never waits on the outer build's lock.
//! The target is installed with `rustup target add wasm32-wasip2` when it is missing.
//! `LAKEGATE_BUILTIN_PLUGINS=skip` builds a gateway without builtins (bindings naming one fail to
//! load with a clear error).
//!
//! It also embeds the console's front end: every file under `gateway/console-ui/` becomes an
//! entry of `console_assets.rs` (`console::assets`), so the console works offline, from any
//! directory, with no build step of its own.

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

const PLUGINS: &[&str] = &["retention", "lifecycle", "backup"];
const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .parent()
        .expect("gateway/ lives in the workspace root")
        .to_path_buf();
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    println!("cargo:rerun-if-env-changed=LAKEGATE_BUILTIN_PLUGINS");
    println!("cargo:rerun-if-changed={}", root.join("sdk").display());
    println!("cargo:rerun-if-changed={}", root.join("plugins").display());
    // Compiled into the backup plugin through `#[path]`.
    println!(
        "cargo:rerun-if-changed={}",
        manifest_dir.join("src/policy/target_path.rs").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        root.join("Cargo.lock").display()
    );

    let present: Vec<&str> = PLUGINS
        .iter()
        .copied()
        .filter(|p| root.join("plugins").join(p).join("Cargo.toml").is_file())
        .collect();
    let skip = env::var("LAKEGATE_BUILTIN_PLUGINS").is_ok_and(|v| v == "skip");
    let mut built: Vec<(&str, PathBuf)> = Vec::new();
    if !skip && !present.is_empty() {
        let target_dir = root.join("target").join("builtin-plugins");
        ensure_target();
        let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(&root)
            .arg("build")
            .arg("--release")
            .arg("--locked")
            .arg("--target")
            .arg(TARGET)
            .arg("--target-dir")
            .arg(&target_dir);
        for p in &present {
            cmd.arg("-p").arg(format!("lakegate-plugin-{p}"));
        }
        clean_env(&mut cmd);
        let status = cmd
            .status()
            .unwrap_or_else(|e| panic!("cannot run cargo to build the builtin plugins: {e}"));
        if !status.success() {
            panic!(
                "building the builtin policy plugins ({}) for {TARGET} failed; see the output above",
                present.join(", ")
            );
        }
        for p in &present {
            let wasm = target_dir
                .join(TARGET)
                .join("release")
                .join(format!("lakegate_plugin_{p}.wasm"));
            if !wasm.is_file() {
                panic!(
                    "the builtin plugin {p} was built but {} is missing",
                    wasm.display()
                );
            }
            built.push((p, wasm));
        }
    }

    let mut code = String::from(
        "/// The plugins embedded in this binary: `(name, component bytes)`.\n\
         pub static BUILTINS: &[(&str, &[u8])] = &[\n",
    );
    for (name, wasm) in &built {
        let _ = writeln!(
            code,
            "    ({name:?}, include_bytes!({:?})),",
            wasm.display().to_string()
        );
    }
    code.push_str("];\n");
    std::fs::write(out_dir.join("builtin_plugins.rs"), code).expect("write builtin_plugins.rs");

    console_assets(&manifest_dir.join("console-ui"), &out_dir);
}

/// Embeds the console's front end (`gateway/console-ui/`): writes `console_assets.rs`, a table
/// of `(path relative to console-ui, bytes)` for every file there, sorted by path.
fn console_assets(dir: &Path, out_dir: &Path) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files = Vec::new();
    collect_files(dir, dir, &mut files);
    files.sort();
    let mut code = String::from(
        "/// The console's files: `(path relative to gateway/console-ui, bytes)`, sorted by path.\n\
         pub static FILES: &[(&str, &[u8])] = &[\n",
    );
    for rel in &files {
        let _ = writeln!(
            code,
            "    ({rel:?}, include_bytes!({:?})),",
            dir.join(rel).display().to_string()
        );
    }
    code.push_str("];\n");
    std::fs::write(out_dir.join("console_assets.rs"), code).expect("write console_assets.rs");
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect_files(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// Installs the wasm target through rustup when the sysroot lacks it.
fn ensure_target() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let present = sysroot
        .as_deref()
        .is_some_and(|s| Path::new(s).join("lib/rustlib").join(TARGET).is_dir());
    if present {
        return;
    }
    println!(
        "cargo:warning=installing the {TARGET} target with rustup (needed for the builtin plugins)"
    );
    let ok = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        panic!(
            "the {TARGET} target is missing and `rustup target add {TARGET}` failed; install it, \
             or build with LAKEGATE_BUILTIN_PLUGINS=skip"
        );
    }
}

/// Drops what the outer cargo set for this build script, so the nested build is an ordinary one.
fn clean_env(cmd: &mut Command) {
    for (k, _) in env::vars_os() {
        let Some(k) = k.to_str() else { continue };
        let keep = matches!(k, "CARGO_HOME" | "CARGO_MAKEFLAGS")
            || k.starts_with("CARGO_NET_")
            || k.starts_with("CARGO_REGISTRIES_")
            || k.starts_with("CARGO_HTTP_");
        let drop = (k.starts_with("CARGO_") && !keep)
            || matches!(
                k,
                "RUSTC"
                    | "RUSTDOC"
                    | "RUSTFLAGS"
                    | "RUSTC_WRAPPER"
                    | "RUSTC_WORKSPACE_WRAPPER"
                    | "CLIPPY_ARGS"
                    | "CLIPPY_CONF_DIR"
                    | "TARGET"
                    | "HOST"
                    | "OUT_DIR"
                    | "OPT_LEVEL"
                    | "PROFILE"
                    | "DEBUG"
                    | "NUM_JOBS"
                    | "RUSTC_LINKER"
            )
            || k.starts_with("DEP_")
            || k.starts_with("__CARGO");
        if drop {
            cmd.env_remove(k);
        }
    }
}

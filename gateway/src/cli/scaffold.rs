//! `lakegate policy new`: a plugin crate that builds, tests and deploys from the first minute.
//!
//! The crate is written from templates embedded in the binary (`scaffold/*.tmpl`, placeholders
//! `{{name}}`, `{{name_}}`, `{{wasm}}`, `{{bucket}}`, `{{kind}}`), with the SDK vendored from
//! this gateway's own sources (`sdk/`), so the plugin is built against exactly the policy
//! interface the gateway that created it implements, and needs nothing but crates.io:
//!
//! ```text
//! NAME/Cargo.toml              a cdylib, its own [workspace], lakegate-sdk from vendor/
//! NAME/src/lib.rs              the policy (per kind) and native unit tests
//! NAME/vendor/lakegate-sdk/    Cargo.toml (standalone), README.md, src/*.rs, wit/policy.wit
//! NAME/policy/NAME.toml        the binding (plugin = "plugins/NAME_.wasm")
//! NAME/policy/NAME.suite.toml  its snapshot suite (the snapshot is written by the first build)
//! NAME/README.md, NAME/.gitignore
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::policy::types::PolicyKind;

use super::CliError;

/// The longest plugin name (a DNS label's length).
const MAX_NAME: usize = 63;

/// Names cargo or rustc refuse for a crate, or that clash with the plugin's dependencies.
const RESERVED_NAMES: &[&str] = &[
    "abstract",
    "alloc",
    "as",
    "async",
    "await",
    "become",
    "box",
    "break",
    "const",
    "continue",
    "core",
    "crate",
    "do",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "lakegate_sdk",
    "let",
    "loop",
    "macro",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "proc_macro",
    "pub",
    "ref",
    "return",
    "self",
    "serde",
    "serde_json",
    "serde_path_to_error",
    "static",
    "std",
    "struct",
    "super",
    "test",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "unsafe",
    "unsized",
    "use",
    "virtual",
    "where",
    "while",
    "wit_bindgen",
    "yield",
];

/// The SDK as vendored into a new crate: (path inside `vendor/lakegate-sdk/`, text), besides
/// its `Cargo.toml` ([`SDK_CARGO_TOML`]). Every file of `sdk/src` must be here (a unit test
/// compares the list with the directory).
const SDK_FILES: &[(&str, &str)] = &[
    ("README.md", include_str!("../../../sdk/README.md")),
    (
        "wit/policy.wit",
        include_str!("../../../sdk/wit/policy.wit"),
    ),
    ("src/backup.rs", include_str!("../../../sdk/src/backup.rs")),
    (
        "src/bindings.rs",
        include_str!("../../../sdk/src/bindings.rs"),
    ),
    ("src/config.rs", include_str!("../../../sdk/src/config.rs")),
    (
        "src/convert.rs",
        include_str!("../../../sdk/src/convert.rs"),
    ),
    ("src/lib.rs", include_str!("../../../sdk/src/lib.rs")),
    (
        "src/lifecycle.rs",
        include_str!("../../../sdk/src/lifecycle.rs"),
    ),
    ("src/log.rs", include_str!("../../../sdk/src/log.rs")),
    (
        "src/retention.rs",
        include_str!("../../../sdk/src/retention.rs"),
    ),
    (
        "src/runtime.rs",
        include_str!("../../../sdk/src/runtime.rs"),
    ),
    ("src/time.rs", include_str!("../../../sdk/src/time.rs")),
    ("src/types.rs", include_str!("../../../sdk/src/types.rs")),
];

/// The vendored SDK's standalone manifest (the SDK's own takes its versions from the
/// workspace; a unit test keeps the two in step).
const SDK_CARGO_TOML: &str = include_str!("scaffold/sdk.Cargo.toml");

const CARGO_TOML: &str = include_str!("scaffold/Cargo.toml.tmpl");
const README: &str = include_str!("scaffold/README.md.tmpl");
const GITIGNORE: &str = "target/\n";
/// The workspace's lock file: the new crate's `Cargo.lock` pins the SDK's dependencies to the
/// versions this gateway was built and tested with (and lets `cargo build --offline` work on a
/// machine whose cargo cache has them).
const WORKSPACE_LOCK: &str = include_str!("../../../Cargo.lock");

/// The per-kind templates: (`src/lib.rs`, the binding, the suite).
fn kind_templates(kind: PolicyKind) -> (&'static str, &'static str, &'static str) {
    match kind {
        PolicyKind::Lifecycle => (
            include_str!("scaffold/lifecycle.rs.tmpl"),
            include_str!("scaffold/binding-lifecycle.toml.tmpl"),
            include_str!("scaffold/suite-lifecycle.toml.tmpl"),
        ),
        PolicyKind::Retention => (
            include_str!("scaffold/retention.rs.tmpl"),
            include_str!("scaffold/binding-retention.toml.tmpl"),
            include_str!("scaffold/suite-retention.toml.tmpl"),
        ),
        PolicyKind::Backup => (
            include_str!("scaffold/backup.rs.tmpl"),
            include_str!("scaffold/binding-backup.toml.tmpl"),
            include_str!("scaffold/suite-backup.toml.tmpl"),
        ),
    }
}

/// The policy kinds, as `--kind` takes them.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Retention,
    Lifecycle,
    Backup,
}

impl From<Kind> for PolicyKind {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Retention => PolicyKind::Retention,
            Kind::Lifecycle => PolicyKind::Lifecycle,
            Kind::Backup => PolicyKind::Backup,
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct PolicyNewArgs {
    /// The plugin's name: 1-63 lowercase letters, digits and `-`, starting with a letter. It
    /// names the crate, the binding (`policy/NAME.toml`) and the component
    /// (`policy/plugins/NAME.wasm`, with `-` as `_`).
    name: String,
    /// Which policy the plugin implements.
    #[arg(long, value_enum)]
    kind: Kind,
    /// The bucket the binding serves.
    #[arg(long, default_value = "bronze")]
    bucket: String,
    /// Where to create the crate (it must not exist, or be empty) [default: ./NAME].
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// `lakegate policy new`.
pub fn run_new(args: &PolicyNewArgs) -> Result<(), CliError> {
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    let kind = PolicyKind::from(args.kind);
    create(&args.name, kind, &args.bucket, &dir)?;
    let name_ = wasm_stem(&args.name);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "created {} ({kind} plugin for bucket {})",
        dir.display(),
        args.bucket
    )?;
    writeln!(out, "next (once: rustup target add wasm32-wasip2):")?;
    writeln!(out, "  cd {}", dir.display())?;
    writeln!(
        out,
        "  lakegate policy build           # compile to policy/plugins/{name_}.wasm, run the suite (writes its first snapshot)"
    )?;
    writeln!(
        out,
        "  lakegate policy test policy/    # run the suite again (--bless accepts changed decisions)"
    )?;
    writeln!(
        out,
        "  lakegate policy deploy          # to the gateway at --endpoint / LAKEGATE_ENDPOINT"
    )?;
    writeln!(
        out,
        "  lakegate policy dev --bucket {}   # rebuild and redeploy on every change",
        args.bucket
    )?;
    Ok(())
}

/// Checks a plugin name: it becomes a cargo package name, a crate name (with `_`), a binding
/// file name and a plugin file name.
fn check_name(name: &str) -> Result<(), CliError> {
    let well_formed = (1..=MAX_NAME).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !well_formed {
        return Err(CliError::Usage(format!(
            "invalid plugin name {name:?}: use 1-{MAX_NAME} lowercase letters, digits and '-', starting with a letter and not ending with '-'"
        )));
    }
    if RESERVED_NAMES.contains(&wasm_stem(name).as_str()) {
        return Err(CliError::Usage(format!(
            "invalid plugin name {name:?}: it is a Rust keyword or the name of a crate the plugin uses"
        )));
    }
    Ok(())
}

/// The component's file stem: cargo names a cdylib's artifact after the crate, `-` as `_`.
fn wasm_stem(name: &str) -> String {
    name.replace('-', "_")
}

/// Replaces every `{{key}}` of `template`.
fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    vars.iter().fold(template.to_string(), |text, (k, v)| {
        text.replace(&format!("{{{{{k}}}}}"), v)
    })
}

/// Writes the crate for plugin `name` into `dir`; returns the files written. Refuses a bad
/// name or bucket, and a `dir` that exists and is not an empty directory.
fn create(
    name: &str,
    kind: PolicyKind,
    bucket: &str,
    dir: &Path,
) -> Result<Vec<PathBuf>, CliError> {
    check_name(name)?;
    if crate::store::check_bucket_name(bucket).is_err() {
        return Err(CliError::Usage(format!(
            "--bucket {bucket:?} is not a valid bucket name"
        )));
    }
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(CliError::Usage(format!(
                    "{} exists and is not empty; choose another --dir",
                    dir.display()
                )));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            return Err(CliError::Usage(format!(
                "{} exists and is not a directory",
                dir.display()
            )));
        }
        Err(source) => {
            return Err(CliError::Read {
                path: dir.to_path_buf(),
                source,
            });
        }
    }
    let name_ = wasm_stem(name);
    let wasm = format!("{name_}.wasm");
    let vars = [
        ("name", name),
        ("name_", name_.as_str()),
        ("wasm", wasm.as_str()),
        ("bucket", bucket),
        ("kind", kind.as_str()),
    ];
    let (lib, binding, suite) = kind_templates(kind);
    let mut files: Vec<(PathBuf, String)> = vec![
        ("Cargo.toml".into(), fill(CARGO_TOML, &vars)),
        ("src/lib.rs".into(), fill(lib, &vars)),
        (format!("policy/{name}.toml").into(), fill(binding, &vars)),
        (
            format!("policy/{name}.suite.toml").into(),
            fill(suite, &vars),
        ),
        ("README.md".into(), fill(README, &vars)),
        (".gitignore".into(), GITIGNORE.to_string()),
        ("Cargo.lock".into(), lock_file(name)?),
        (
            "vendor/lakegate-sdk/Cargo.toml".into(),
            SDK_CARGO_TOML.to_string(),
        ),
    ];
    files.extend(SDK_FILES.iter().map(|(path, text)| {
        (
            Path::new("vendor/lakegate-sdk").join(path),
            (*text).to_string(),
        )
    }));
    let mut written = Vec::with_capacity(files.len());
    for (rel, text) in files {
        let path = dir.join(rel);
        let write_err = |source| CliError::Write {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(write_err)?;
        }
        std::fs::write(&path, text).map_err(write_err)?;
        written.push(path);
    }
    Ok(written)
}

/// A `Cargo.lock` for crate `name`: the crate, the vendored SDK, and the SDK's dependencies as
/// the workspace's lock resolves them (their whole dependency closure, entries copied as is).
fn lock_file(name: &str) -> Result<String, CliError> {
    let bad = |what: &str| CliError::Usage(format!("the embedded Cargo.lock {what}"));
    let lock: toml::Table = toml::from_str(WORKSPACE_LOCK).map_err(|_| bad("does not parse"))?;
    let packages: Vec<&toml::Table> = lock
        .get("package")
        .and_then(|p| p.as_array())
        .ok_or_else(|| bad("has no packages"))?
        .iter()
        .filter_map(|p| p.as_table())
        .collect();
    let field =
        |p: &toml::Table, k: &str| p.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    let deps = |p: &toml::Table| -> Vec<String> {
        p.get("dependencies")
            .and_then(|d| d.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    // A dependency is written `name`, `name version` or `name version (source)`.
    let find = |spec: &str| -> Option<&toml::Table> {
        let mut parts = spec.split(' ');
        let n = parts.next()?;
        let v = parts.next();
        packages
            .iter()
            .copied()
            .find(|p| field(p, "name") == n && v.is_none_or(|v| field(p, "version") == v))
    };
    let sdk = packages
        .iter()
        .copied()
        .find(|p| field(p, "name") == "lakegate-sdk")
        .ok_or_else(|| bad("has no lakegate-sdk"))?;
    let mut keep: Vec<&toml::Table> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut queue: Vec<String> = deps(sdk);
    queue.push("serde".into());
    while let Some(spec) = queue.pop() {
        let Some(p) = find(&spec) else {
            return Err(bad(&format!("has no package for {spec:?}")));
        };
        if seen.insert((field(p, "name"), field(p, "version"))) {
            queue.extend(deps(p));
            keep.push(p);
        }
    }
    keep.sort_by_key(|p| (field(p, "name"), field(p, "version")));
    let serde = keep
        .iter()
        .find(|p| field(p, "name") == "serde")
        .map(|p| field(p, "version"))
        .unwrap_or_default();
    let mut own = toml::Table::new();
    own.insert("name".into(), name.into());
    own.insert("version".into(), "0.1.0".into());
    let serde_dep = if keep.iter().filter(|p| field(p, "name") == "serde").count() > 1 {
        format!("serde {serde}")
    } else {
        "serde".to_string()
    };
    own.insert(
        "dependencies".into(),
        toml::Value::Array(vec!["lakegate-sdk".into(), serde_dep.into()]),
    );
    let mut all: Vec<toml::Value> = vec![toml::Value::Table(own), toml::Value::Table(sdk.clone())];
    all.extend(keep.into_iter().map(|p| toml::Value::Table(p.clone())));
    all.sort_by_key(|p| {
        let t = p.as_table();
        (
            t.map(|t| field(t, "name")).unwrap_or_default(),
            t.map(|t| field(t, "version")).unwrap_or_default(),
        )
    });
    let mut doc = toml::Table::new();
    doc.insert("version".into(), toml::Value::Integer(4));
    doc.insert("package".into(), toml::Value::Array(all));
    let body = toml::to_string(&doc).map_err(|_| bad("cannot be written"))?;
    Ok(format!(
        "# This file is automatically @generated by Cargo.\n# It is not intended for manual editing.\n{body}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{bindings, suite};

    fn repo_path(rel: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
    }

    fn temp_dir() -> PathBuf {
        std::env::temp_dir().join(format!("lakegate-scaffold-{}", uuid::Uuid::new_v4()))
    }

    /// The files of `dir` (not recursive), sorted.
    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_new_crates_lock_pins_the_sdks_dependencies_and_is_closed() {
        let text = lock_file("my-plugin").unwrap();
        let lock: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(lock["version"].as_integer(), Some(4));
        let packages = lock["package"].as_array().unwrap();
        let key = |p: &toml::Value| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["version"].as_str().unwrap().to_string(),
            )
        };
        let all: Vec<(String, String)> = packages.iter().map(key).collect();
        assert!(all.contains(&("my-plugin".into(), "0.1.0".into())));
        assert!(all.contains(&("lakegate-sdk".into(), "0.1.0".into())));
        // The versions the workspace resolved for the SDK, e.g. wit-bindgen.
        let workspace: toml::Table = toml::from_str(WORKSPACE_LOCK).unwrap();
        let sdk_deps: Vec<String> = workspace["package"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"].as_str() == Some("lakegate-sdk"))
            .unwrap()["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap().to_string())
            .collect();
        for d in &sdk_deps {
            let mut parts = d.split(' ');
            let name = parts.next().unwrap();
            assert!(
                all.iter()
                    .any(|(n, v)| n == name && parts.clone().next().is_none_or(|want| want == v)),
                "{d} missing from the new lock"
            );
        }
        // Closed: every dependency of every entry is an entry.
        for p in packages {
            for d in p
                .get("dependencies")
                .and_then(|d| d.as_array())
                .into_iter()
                .flatten()
            {
                let d = d.as_str().unwrap();
                let mut parts = d.split(' ');
                let name = parts.next().unwrap();
                let version = parts.next();
                assert!(
                    all.iter()
                        .any(|(n, v)| n == name && version.is_none_or(|want| want == v)),
                    "{d} (of {:?}) is not in the lock",
                    p["name"]
                );
            }
        }
        // Only what the plugin needs, not the gateway's tree.
        assert!(all.len() < 60, "{} packages", all.len());
        assert!(!all.iter().any(|(n, _)| n == "wasmtime" || n == "tokio"));
    }

    #[test]
    fn the_embedded_sdk_is_the_sdk() {
        for sub in ["src", "wit"] {
            let on_disk = listing(&repo_path(&format!("sdk/{sub}")));
            let mut embedded: Vec<String> = SDK_FILES
                .iter()
                .filter_map(|(p, _)| p.strip_prefix(&format!("{sub}/")).map(str::to_string))
                .collect();
            embedded.sort();
            assert_eq!(
                embedded, on_disk,
                "sdk/{sub}: add or remove the file in scaffold.rs's SDK_FILES"
            );
        }
        for (path, text) in SDK_FILES {
            let on_disk = std::fs::read_to_string(repo_path(&format!("sdk/{path}"))).unwrap();
            assert_eq!(*text, on_disk, "sdk/{path}");
        }
    }

    /// A dependency's version, written as `"1"` or `{ version = "1", ... }`.
    fn version(deps: &toml::Table, name: &str) -> String {
        match &deps[name] {
            toml::Value::String(v) => v.clone(),
            toml::Value::Table(t) => t["version"].as_str().unwrap().to_string(),
            other => panic!("{name}: unexpected {other}"),
        }
    }

    #[test]
    fn the_vendored_manifest_matches_the_workspace() {
        let read = |rel: &str| -> toml::Table {
            toml::from_str(&std::fs::read_to_string(repo_path(rel)).unwrap()).unwrap()
        };
        let workspace = read("Cargo.toml");
        let workspace_deps = workspace["workspace"]["dependencies"].as_table().unwrap();
        let sdk = read("sdk/Cargo.toml");
        let sdk_deps = sdk["dependencies"].as_table().unwrap();
        let vendored: toml::Table = toml::from_str(SDK_CARGO_TOML).unwrap();
        let vendored_deps = vendored["dependencies"].as_table().unwrap();
        let names = |t: &toml::Table| {
            let mut n: Vec<String> = t.keys().cloned().collect();
            n.sort();
            n
        };
        assert_eq!(
            names(vendored_deps),
            names(sdk_deps),
            "the SDK's dependencies"
        );
        for name in sdk_deps.keys() {
            let wanted = match &sdk_deps[name] {
                toml::Value::Table(t) if t.get("workspace").is_some() => {
                    version(workspace_deps, name)
                }
                _ => version(sdk_deps, name),
            };
            assert_eq!(version(vendored_deps, name), wanted, "{name}");
        }
        // The features the workspace turns on for serde (derive) are on in the vendored SDK too.
        assert_eq!(
            vendored_deps["serde"]["features"],
            workspace_deps["serde"]["features"]
        );
        // A manifest of its own: nothing inherited from a workspace.
        assert!(
            !SDK_CARGO_TOML.contains(".workspace") && !SDK_CARGO_TOML.contains("workspace = true"),
            "{SDK_CARGO_TOML}"
        );
        // Whatever else the SDK's manifest declares ([lib], [features]) is vendored too.
        for table in ["lib", "features"] {
            assert_eq!(vendored.get(table), sdk.get(table), "[{table}]");
        }
    }

    #[test]
    fn new_writes_a_crate_that_parses() {
        let root = temp_dir();
        for kind in PolicyKind::ALL {
            let name = format!("my-{kind}");
            let dir = root.join(&name);
            let files = create(&name, kind, "silver", &dir).unwrap();
            let name_ = format!("my_{kind}");
            for rel in [
                "Cargo.toml".to_string(),
                "src/lib.rs".into(),
                "README.md".into(),
                ".gitignore".into(),
                format!("policy/{name}.toml"),
                format!("policy/{name}.suite.toml"),
                "vendor/lakegate-sdk/Cargo.toml".into(),
                "vendor/lakegate-sdk/src/lib.rs".into(),
                "vendor/lakegate-sdk/wit/policy.wit".into(),
            ] {
                assert!(files.contains(&dir.join(&rel)), "{kind}: {rel}");
            }
            for f in &files {
                let text = std::fs::read_to_string(f).unwrap();
                // The vendored SDK is copied verbatim; everything else is filled in.
                if !f.starts_with(dir.join("vendor")) {
                    assert!(!text.contains("{{"), "{}: {text}", f.display());
                }
            }
            let manifest: toml::Table =
                toml::from_str(&std::fs::read_to_string(dir.join("Cargo.toml")).unwrap()).unwrap();
            assert_eq!(manifest["package"]["name"].as_str(), Some(name.as_str()));
            assert!(manifest.contains_key("workspace"));
            let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
            assert!(
                lib.contains(&format!("lakegate_sdk::export_{kind}!(Policy);")),
                "{lib}"
            );
            let binding_file = dir.join(format!("policy/{name}.toml"));
            let text = std::fs::read_to_string(&binding_file).unwrap();
            let binding = bindings::parse(&binding_file, &text).unwrap();
            assert_eq!(binding.bucket, "silver");
            assert_eq!(binding.kind, kind);
            assert_eq!(binding.plugin_raw, format!("plugins/{name_}.wasm"));
            let suite = suite::load(&dir.join(format!("policy/{name}.suite.toml"))).unwrap();
            assert_eq!(suite.kind, kind);
            assert_eq!(suite.bucket, "silver");
            assert_eq!(
                suite.plugin,
                dir.join(format!("policy/plugins/{name_}.wasm"))
            );
            assert!(!suite.objects.is_empty(), "{kind}");
            // Once there, the directory is not overwritten.
            let e = create(&name, kind, "silver", &dir).unwrap_err();
            assert!(e.to_string().contains("is not empty"), "{e}");
        }
        // An empty directory is fine.
        let empty = root.join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        create("ok", PolicyKind::Lifecycle, "bronze", &empty).unwrap();
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn bad_names_and_buckets_are_refused() {
        let dir = temp_dir();
        let too_long = "a".repeat(64);
        for name in [
            "",
            "Ttl",
            "-ttl",
            "ttl-",
            "1ttl",
            "t_l",
            "t.l",
            "fn",
            "lakegate-sdk",
            too_long.as_str(),
        ] {
            let e = create(name, PolicyKind::Lifecycle, "bronze", &dir).unwrap_err();
            assert!(matches!(e, CliError::Usage(_)), "{name:?}: {e}");
        }
        check_name(&"a".repeat(63)).unwrap();
        check_name("expire-tmp-2").unwrap();
        let e = create("ttl", PolicyKind::Lifecycle, "Bad_Bucket", &dir).unwrap_err();
        assert!(e.to_string().contains("bucket"), "{e}");
        assert!(!dir.exists());
    }
}

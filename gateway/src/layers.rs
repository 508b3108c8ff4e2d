//! The layer order of the gateway's top-level modules, checked: `ARCHITECTURE.md` ("Layers")
//! lists the layers, lowest first, and a module may use (`crate::<module>`) only modules of
//! lower layers. A test, so a new upward import fails the build's tests, not a review.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers as `ARCHITECTURE.md` declares them: the numbered list under `## Layers`, each item
/// naming its modules in backticks before ` — `.
fn declared_layers(architecture: &str) -> Vec<Vec<String>> {
    let section = architecture
        .split("\n## ")
        .find(|s| s.starts_with("Layers"))
        .expect("ARCHITECTURE.md has a `## Layers` section");
    let mut layers = Vec::new();
    for line in section.lines() {
        let Some((number, rest)) = line.split_once(". ") else {
            continue;
        };
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let names = rest.split(" — ").next().unwrap_or_default();
        let modules: Vec<String> = names
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect();
        assert!(!modules.is_empty(), "layer without modules: {line}");
        layers.push(modules);
    }
    layers
}

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            rust_files(&p, out);
        }
    } else if path.is_file() && path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

/// The top-level modules a piece of source uses through `crate::`.
fn used_modules(source: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                // `crate::{a, b::c}`: every first path segment of the group.
                let group = group.split('}').next().unwrap_or_default();
                for item in group.split(',') {
                    let name = item.trim().split("::").next().unwrap_or_default();
                    if !name.is_empty() {
                        used.insert(name.to_string());
                    }
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    used.insert(name);
                }
            }
        }
    }
    used
}

#[test]
fn modules_import_only_from_lower_layers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let architecture = std::fs::read_to_string(root.join("../ARCHITECTURE.md")).unwrap();
    let layers = declared_layers(&architecture);
    let mut layer_of = BTreeMap::new();
    for (i, modules) in layers.iter().enumerate() {
        for m in modules {
            assert!(
                layer_of.insert(m.clone(), i).is_none(),
                "{m} is declared twice"
            );
        }
    }
    // Every top-level module of the library is declared.
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let declared_in_lib: BTreeSet<String> = lib
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("pub mod ")
                .or(l.trim().strip_prefix("mod "))
        })
        .map(|l| l.trim_end_matches(';').to_string())
        .filter(|m| m != "layers")
        .collect();
    for m in &declared_in_lib {
        assert!(
            layer_of.contains_key(m),
            "module {m} is in no layer of ARCHITECTURE.md"
        );
    }
    let mut violations = Vec::new();
    for module in &declared_in_lib {
        let mut files = Vec::new();
        rust_files(&root.join("src").join(module), &mut files);
        rust_files(&root.join("src").join(format!("{module}.rs")), &mut files);
        for file in files {
            let source = std::fs::read_to_string(&file).unwrap();
            for used in used_modules(&source) {
                if used == *module {
                    continue;
                }
                let ok = match layer_of.get(&used) {
                    Some(&l) => l < layer_of[module],
                    None => true, // `crate::` items of lib.rs itself, none today
                };
                if !ok {
                    violations.push(format!(
                        "{} uses crate::{used} (layer {} is not below {})",
                        file.strip_prefix(root).unwrap_or(&file).display(),
                        layer_of[&used] + 1,
                        layer_of[module] + 1
                    ));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports against the layer order of ARCHITECTURE.md:\n{}",
        violations.join("\n")
    );
}

#[test]
fn finds_uses() {
    let used = used_modules("use crate::{a, b::c};\nlet x = crate::d::e(); // crate::f\n");
    assert_eq!(used, ["a", "b", "d"].map(String::from).into());
}

//! The source tree keeps the shape `docs/ARCHITECTURE.md` describes: every
//! file sits in a part's folder, a part imports only the parts below it, and
//! no two files import each other (directly or around a longer cycle).
//! Read from the source text (`crate::…` and `super::…` paths), so the rule
//! is checked without building anything.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Each part and the parts it may import, as ARCHITECTURE.md's table says.
const ALLOWED: &[(&str, &[&str])] = &[
    ("base", &[]),
    ("plan", &["base"]),
    ("record", &["base", "plan"]),
    ("protocol", &["base", "plan"]),
    ("report", &["base", "plan", "record"]),
    ("serve", &["base"]),
    ("plot", &["base", "plan", "record", "report"]),
    ("run", &["base", "plan", "record", "protocol", "report"]),
    (
        "cmd",
        &[
            "base", "plan", "record", "protocol", "report", "run", "plot", "serve",
        ],
    ),
];

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, as a module path (`run::core`, `record`).
fn modules(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            modules(&path, &join(prefix, &name), out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let module = if name == "mod" {
                prefix.to_string()
            } else {
                join(prefix, &name)
            };
            let text = fs::read_to_string(&path).unwrap();
            // Unit tests at the end of a file may reach anywhere.
            let code = match text.find("#[cfg(test)]\nmod tests") {
                Some(i) => text[..i].to_string(),
                None => text,
            };
            out.insert(module, code);
        }
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}::{name}")
    }
}

/// The module paths a file's text names: `crate::a::b::{c, d}` gives
/// `a::b::c` and `a::b::d`; `super::x` is resolved against `parent`.
fn named_paths(code: &str, parent: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (marker, base) in [("crate::", String::new()), ("super::", parent.to_string())] {
        let mut rest = code;
        while let Some(i) = rest.find(marker) {
            rest = &rest[i + marker.len()..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            let path = rest[..end].trim_end_matches(':');
            let full = join(&base, path);
            if rest[end..].starts_with('{') {
                let close = rest[end..].find('}').map_or(rest.len(), |j| end + j);
                for item in rest[end + 1..close].split(',') {
                    let item = item.split(" as ").next().unwrap().trim();
                    if !item.is_empty() && item != "self" {
                        out.push(join(&full, item));
                    }
                }
            }
            out.push(full);
        }
    }
    out
}

/// The longest known module that `path` starts with.
fn resolve<'a>(path: &str, known: &'a BTreeMap<String, String>) -> Option<&'a String> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .find_map(|n| known.get_key_value(&parts[..n].join("::")).map(|(k, _)| k))
}

fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut known = BTreeMap::new();
    modules(&src_dir(), "", &mut known);
    let mut graph = BTreeMap::new();
    for (module, code) in &known {
        // `super::` names the module above this one (for a folder's
        // `mod.rs`, the module above the folder).
        let parent = module.rsplit_once("::").map_or("", |(p, _)| p);
        let targets: BTreeSet<String> = named_paths(code, parent)
            .iter()
            .filter_map(|p| resolve(p, &known))
            .filter(|t| *t != module && !t.is_empty())
            .cloned()
            .collect();
        graph.insert(module.clone(), targets);
    }
    graph
}

fn part_of(module: &str) -> &str {
    module.split("::").next().unwrap()
}

#[test]
fn no_file_sits_flat_in_src_besides_lib_and_main() {
    for entry in fs::read_dir(src_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            assert!(
                name == "lib.rs" || name == "main.rs",
                "src/{name} belongs in a part's folder (see docs/ARCHITECTURE.md)"
            );
        }
    }
}

#[test]
fn parts_import_only_the_parts_below_them() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut wrong = Vec::new();
    for (module, targets) in import_graph() {
        let part = part_of(&module);
        if part.is_empty() || part == "lib" || part == "main" {
            continue;
        }
        let may = allowed
            .get(part)
            .unwrap_or_else(|| panic!("part '{part}' is not in ALLOWED: add it to the table"));
        for t in targets {
            let to = part_of(&t);
            if to != part && !may.contains(&to) {
                wrong.push(format!("{module} imports {t}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that point up:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_import_cycles_between_files() {
    let graph = import_graph();
    // Depth-first search for a back edge; reports the first cycle found.
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(m.to_string(), 1);
        stack.push(m.to_string());
        for t in graph.get(m).into_iter().flatten() {
            match state.get(t.as_str()).copied().unwrap_or(0) {
                0 => {
                    if let Some(c) = visit(t, graph, state, stack) {
                        return Some(c);
                    }
                }
                1 => {
                    let from = stack.iter().position(|s| s == t).unwrap();
                    let mut cycle = stack[from..].to_vec();
                    cycle.push(t.clone());
                    return Some(cycle);
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(m.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for m in graph.keys() {
        if state.get(m.as_str()).copied().unwrap_or(0) == 0 {
            let cycle = visit(m, &graph, &mut state, &mut Vec::new());
            assert!(
                cycle.is_none(),
                "import cycle: {}",
                cycle.unwrap().join(" -> ")
            );
        }
    }
}

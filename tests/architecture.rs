//! The module structure README's Architecture section promises, checked from the source: no
//! import cycle between the modules of src/, and the pure cores import no IO shell (so a core
//! stays testable without a file system, a socket or a process).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The pure cores (README: "Pure cores, no IO").
const PURE: &[&str] = &[
    "cache_policy",
    "cgi_env",
    "cgi_response",
    "code_mirror",
    "conditional",
    "config",
    "deadline",
    "encoding",
    "event",
    "htaccess",
    "metrics",
    "origin",
    "payload_fit",
    "php_env",
    "routing",
    "runtime_restart",
    "server_timing",
];

/// Top-level module of src/ -> the top-level modules its code (not its tests, not its comments)
/// names as `crate::<module>`.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = vec![src.clone()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let rel = path.strip_prefix(&src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let top = top.trim_end_matches(".rs").to_string();
        if top == "lib" || top == "bin" || rel.ends_with("tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        let deps = graph.entry(top.clone()).or_default();
        for line in code.lines() {
            let line = line.split("//").next().unwrap();
            let mut rest = line;
            while let Some(at) = rest.find("crate::") {
                rest = &rest[at + "crate::".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != top {
                    deps.insert(name);
                }
            }
        }
    }
    graph
}

#[test]
fn no_import_cycle_between_modules() {
    let graph = graph();
    assert!(graph.len() > 20, "read too few modules: {graph:?}");
    // depth-first search; a module met again on the current path closes a cycle
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for dep in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(dep, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, &graph, &mut Vec::new(), &mut done) {
            panic!("import cycle: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn pure_cores_import_only_pure_cores() {
    let graph = graph();
    for core in PURE {
        let deps = graph
            .get(*core)
            .unwrap_or_else(|| panic!("no module {core}"));
        let io: Vec<_> = deps
            .iter()
            .filter(|d| !PURE.contains(&d.as_str()))
            .collect();
        assert!(io.is_empty(), "{core} imports IO shells: {io:?}");
    }
}

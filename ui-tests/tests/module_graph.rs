//! No import cycles between modules, in any crate of the workspace: sibling modules (the
//! children of one module) import one another one way only, at every level of every crate.
//!
//! The graph is read from the sources: a file's module path comes from where it is
//! (`src/a/b.rs` is `a::b`), and its imports are the paths it names with `crate::`, `super::`
//! and `self::` (grouped `use` lists included), outside comments and test modules. An import of
//! `x::y::z` from inside `x::w` is an edge `w → y` among the children of `x`; importing an
//! item of an ancestor is not an edge (a parent declares its children anyway).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crates whose modules are checked (the folders under the workspace root).
const CRATES: &[&str] = &[
    "bindings", "macros", "wire", "core", "durable", "runtime", "otel", "cli",
];

type ModulePath = Vec<String>;

#[test]
fn sibling_modules_import_one_another_one_way() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut cycles = Vec::new();
    for name in CRATES {
        let files = sources(&root.join(name).join("src"));
        assert!(!files.is_empty(), "no sources found for {name}");
        cycles.extend(find_cycles(&files).into_iter().map(|cycle| format!("{name}: {cycle}")));
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_scan_reads_imports_and_finds_cycles() {
    let module = |p: &str| -> ModulePath { p.split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect() };
    let files = vec![
        (module(""), "mod a; mod b;".to_owned()),
        (module("a"), "use crate::b::Thing;\nuse super::b::Other;".to_owned()),
        (
            module("b"),
            "// crate::a::x in a comment is not an import\nfn f() {}".to_owned(),
        ),
        (module("c"), "use crate::{a::One, b};".to_owned()),
        (
            module("d"),
            "#[cfg(test)]\nfn names() {}\nuse crate::c::Kept;\n#[cfg(test)]\nmod tests { use crate::a::X; }".to_owned(),
        ),
        (module("a::inner"), "use super::super::b::Y; use super::Z;".to_owned()),
    ];
    assert!(find_cycles(&files).is_empty(), "{:?}", find_cycles(&files));
    let mut cyclic = files.clone();
    cyclic.push((module("b::deep"), "fn f() { crate::c::g() }".to_owned()));
    let found = find_cycles(&cyclic);
    assert_eq!(found.len(), 1, "{found:?}");
    // a → b (a imports crate::b), b → c (b::deep calls crate::c), c → a (c imports crate::a).
    assert_eq!(found, ["a → b → c → a (in the crate root)"]);
}

/// Every `.rs` file under `src`, with its module path and its text.
fn sources(src: &Path) -> Vec<(ModulePath, String)> {
    let mut files = Vec::new();
    let mut folders = vec![src.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                files.push((module_of(src, &path), text));
            }
        }
    }
    files.sort();
    files
}

/// `src/a/b.rs` → `a::b`; `src/a/mod.rs` → `a`; `src/lib.rs`, `src/main.rs` → the root. Files
/// under `src/bin/` are crates of their own, and `generated` code is not ours to order.
fn module_of(src: &Path, path: &Path) -> ModulePath {
    let relative: PathBuf = path.strip_prefix(src).unwrap_or(path).with_extension("");
    let mut parts: ModulePath = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod")) || parts == ["lib"] || parts == ["main"] {
        parts.pop();
    }
    parts
}

/// The cycles among siblings, each as `a → b → a` under its parent.
fn find_cycles(files: &[(ModulePath, String)]) -> Vec<String> {
    let modules: BTreeSet<ModulePath> = files
        .iter()
        .filter(|(path, _)| path.first().is_none_or(|first| first != "bin"))
        .map(|(path, _)| path.clone())
        .collect();
    // parent → (child → children it imports)
    let mut edges: BTreeMap<ModulePath, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (module, text) in files {
        if !modules.contains(module) {
            continue;
        }
        for target in imports(module, text) {
            let common = module.iter().zip(&target).take_while(|(a, b)| a == b).count();
            if common >= module.len() || common >= target.len() {
                continue; // within the module itself, or an item of an ancestor
            }
            let parent = module[..common].to_vec();
            let mut sibling = parent.clone();
            sibling.push(target[common].clone());
            if !modules.contains(&sibling) {
                continue; // an item of the parent, not a module
            }
            edges
                .entry(parent)
                .or_default()
                .entry(module[common].clone())
                .or_default()
                .insert(target[common].clone());
        }
    }
    let mut cycles = Vec::new();
    for (parent, graph) in &edges {
        let mut done = BTreeSet::new();
        // One cycle per parent is enough to fail and to point at.
        if let Some(cycle) = graph
            .keys()
            .find_map(|start| visit(start, graph, &mut Vec::new(), &mut done))
        {
            let place = if parent.is_empty() {
                "the crate root".to_owned()
            } else {
                parent.join("::")
            };
            cycles.push(format!("{cycle} (in {place})"));
        }
    }
    cycles
}

/// Depth-first search; the path to a back edge is the cycle.
fn visit<'a>(
    module: &'a String,
    graph: &'a BTreeMap<String, BTreeSet<String>>,
    path: &mut Vec<&'a String>,
    done: &mut BTreeSet<&'a String>,
) -> Option<String> {
    if done.contains(module) {
        return None;
    }
    if let Some(start) = path.iter().position(|m| *m == module) {
        let cycle: Vec<&str> = path[start..]
            .iter()
            .map(|m| m.as_str())
            .chain([module.as_str()])
            .collect();
        return Some(cycle.join(" → "));
    }
    path.push(module);
    for next in graph.get(module).into_iter().flatten() {
        if let Some(cycle) = visit(next, graph, path, done) {
            return Some(cycle);
        }
    }
    path.pop();
    done.insert(module);
    None
}

/// The module paths `text` (the source of `module`) names, made absolute.
fn imports(module: &[String], text: &str) -> Vec<ModulePath> {
    let code: String = without_test_modules(text)
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    for (at, _) in code.match_indices("::") {
        // Only paths that start with a keyword: walk back over the word before `::`.
        let start = code[..at]
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let head = &code[start..at];
        let preceded_by_path = start >= 2 && &bytes[start - 2..start] == b"::";
        if preceded_by_path || !matches!(head, "crate" | "super" | "self") {
            continue;
        }
        let mut base: ModulePath = match head {
            "crate" => Vec::new(),
            _ => module.to_vec(),
        };
        let mut rest = &code[at + 2..];
        if head == "super" {
            base.pop();
            while let Some(more) = rest.strip_prefix("super::") {
                base.pop();
                rest = more;
            }
        }
        for tail in path_tails(rest) {
            let mut path = base.clone();
            path.extend(tail);
            found.push(path);
        }
    }
    found
}

/// `text` without its `#[cfg(test)] mod … { … }` blocks (tests may import anything). Other
/// `#[cfg(test)]` items are kept: they are few and small.
fn without_test_modules(text: &str) -> String {
    let mut kept = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]") {
        let after = &rest[at + "#[cfg(test)]".len()..];
        let is_module = after.trim_start().starts_with("mod ");
        let open = after.find('{');
        match (is_module, open) {
            (true, Some(open)) if !after[..open].contains(';') => {
                kept.push_str(&rest[..at]);
                let mut depth = 0usize;
                let mut end = after.len();
                for (i, c) in after[open..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = open + i + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                rest = &after[end..];
            }
            _ => {
                kept.push_str(&rest[..at + "#[cfg(test)]".len()]);
                rest = after;
            }
        }
    }
    kept.push_str(rest);
    kept
}

/// The paths after a `crate::`/`super::`/`self::`: `a::b::C` → `[a, b, C]`; a group
/// `{a::B, c, d::{e, F}}` → each of its members.
fn path_tails(rest: &str) -> Vec<ModulePath> {
    if let Some(group) = rest.strip_prefix('{') {
        let mut depth = 0;
        let mut end = group.len();
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    end = i;
                    break;
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
        let inner = &group[..end];
        let mut members = Vec::new();
        let mut depth = 0;
        let mut from = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    members.push(&inner[from..i]);
                    from = i + 1;
                }
                _ => {}
            }
        }
        members.push(&inner[from..]);
        return members
            .into_iter()
            .map(str::trim)
            .filter(|m| !m.is_empty() && *m != "self")
            .flat_map(|member| match member.split_once("::") {
                Some((head, tail)) => path_tails(tail)
                    .into_iter()
                    .map(|mut path| {
                        path.insert(0, head.to_owned());
                        path
                    })
                    .collect(),
                None => vec![vec![member.split_whitespace().next().unwrap_or(member).to_owned()]],
            })
            .collect();
    }
    let path: ModulePath = rest
        .split("::")
        .map(|segment| {
            segment
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .take_while(|segment| !segment.is_empty())
        .collect();
    vec![path]
}

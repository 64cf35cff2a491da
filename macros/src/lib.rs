//! The procedural macros of azfn: `#[function]` and `#[derive(FunctionOutput)]`.
//!
//! Use them through the `azfn` crate, which re-exports them and documents them with examples.
//! Each macro reads its input into a model, checks every rule it can at compile time (reporting
//! all errors at once, each at the user's own tokens), and generates code that only names
//! `::azfn::__private`. It never panics on user input.
#![forbid(unsafe_code)]

use proc_macro::TokenStream;

mod codegen;
mod features;
mod function;
mod internals;
mod output;

/// Turns a function into an Azure Function. See the `azfn` crate's documentation.
#[proc_macro_attribute]
pub fn function(attr: TokenStream, item: TokenStream) -> TokenStream {
    debug_expansion("function", function::expand(attr.into(), item.into())).into()
}

/// Makes a struct's fields the output bindings of the functions that return it.
///
/// The helper attributes are every output kind of the catalog (a test checks the list).
#[proc_macro_derive(
    FunctionOutput,
    attributes(
        http_output,
        queue_output,
        blob_output,
        table_output,
        service_bus_output,
        event_hub_output,
        event_grid_output,
        cosmos_db_output,
        signalr_output,
        sql_output,
        mysql_output,
        kafka_output,
        rabbitmq_output,
        sendgrid_output,
        generic_output
    )
)]
pub fn function_output(input: TokenStream) -> TokenStream {
    debug_expansion("FunctionOutput", output::expand(input.into())).into()
}

/// Prints the expansion when `AZFN_MACROS_DEBUG` is set, for whoever debugs generated code.
fn debug_expansion(name: &str, tokens: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    if std::env::var_os("AZFN_MACROS_DEBUG").is_some() {
        eprintln!("azfn-macros: #[{name}] expanded to:\n{tokens}");
    }
    tokens
}

#[cfg(test)]
mod tests {
    #[test]
    fn function_output_accepts_every_output_kind() {
        let source = include_str!("lib.rs");
        let start = source.find("attributes(").unwrap_or(0);
        let list = &source[start..start + source[start..].find(')').unwrap_or(0)];
        let declared: Vec<&str> = list["attributes(".len()..]
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let outputs: Vec<&str> = azfn_bindings::catalog::attrs_with_role(azfn_bindings::Role::Output).collect();
        assert_eq!(declared, outputs);
    }

    /// Every module of this crate, with its source.
    const MODULES: &[(&str, &str)] = &[
        ("codegen", include_str!("codegen.rs")),
        ("features", include_str!("features.rs")),
        ("function", include_str!("function.rs")),
        ("output", include_str!("output.rs")),
        ("internals::args", include_str!("internals/args.rs")),
        ("internals::ast", include_str!("internals/ast.rs")),
        ("internals::attr", include_str!("internals/attr.rs")),
        ("internals::check", include_str!("internals/check.rs")),
        ("internals::ctxt", include_str!("internals/ctxt.rs")),
        ("internals::lit", include_str!("internals/lit.rs")),
        ("internals::name", include_str!("internals/name.rs")),
        ("internals::retry", include_str!("internals/retry.rs")),
    ];

    /// The modules `module` names (through `crate::` or `super::`), outside its tests.
    fn imports(module: &str, source: &str) -> Vec<&'static str> {
        let source = source.split("#[cfg(test)]").next().unwrap_or(source);
        let parent = module.rsplit_once("::").map(|(parent, _)| parent);
        // `crate::x`, not `crate::x_y`.
        let names = |path: &str| {
            source
                .match_indices(path)
                .any(|(i, _)| !source[i + path.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_'))
        };
        let mut found = Vec::new();
        for (other, _) in MODULES {
            if *other == module {
                continue;
            }
            // A sibling, as `super::leaf` or in a group `use super::{lit, leaf};`.
            let sibling = parent
                .and_then(|parent| other.strip_prefix(parent)?.strip_prefix("::"))
                .is_some_and(|leaf| {
                    names(&format!("super::{leaf}"))
                        || source
                            .lines()
                            .filter_map(|l| l.trim().strip_prefix("use super::{"))
                            .any(|group| {
                                group
                                    .split([',', '}'])
                                    .any(|item| item.trim() == leaf || item.trim().starts_with(&format!("{leaf}::")))
                            })
                });
            if sibling || names(&format!("crate::{other}")) {
                found.push(*other);
            }
        }
        found
    }

    #[test]
    fn every_source_file_is_in_the_module_list() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        for dir in [src.clone(), src.join("internals")] {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
                if path.extension().is_some_and(|e| e == "rs") && name != "lib" && name != "mod" {
                    files.push(if dir == src { name } else { format!("internals::{name}") });
                }
            }
        }
        files.sort();
        let mut listed: Vec<String> = MODULES.iter().map(|(m, _)| (*m).to_owned()).collect();
        listed.sort();
        assert_eq!(files, listed);
    }

    #[test]
    fn modules_import_one_another_in_one_direction() {
        // Depth-first search for a back edge; the path to it is the cycle.
        fn visit(module: &'static str, path: &mut Vec<&'static str>, done: &mut Vec<&'static str>) {
            if done.contains(&module) {
                return;
            }
            if let Some(start) = path.iter().position(|m| *m == module) {
                panic!("import cycle: {} -> {module}", path[start..].join(" -> "));
            }
            path.push(module);
            let source = MODULES.iter().find(|(m, _)| *m == module).map_or("", |(_, s)| s);
            for next in imports(module, source) {
                visit(next, path, done);
            }
            path.pop();
            done.push(module);
        }
        let mut done = Vec::new();
        for (module, _) in MODULES {
            visit(module, &mut Vec::new(), &mut done);
        }
    }

    #[test]
    fn the_import_scan_sees_imports() {
        assert!(imports("internals::ast", "use super::attr::{self, BindingAttr};").contains(&"internals::attr"));
        assert!(imports("internals::attr", "use super::{lit, name};").contains(&"internals::name"));
        assert!(imports("internals::attr", "x(crate::internals::ast::unraw(k))").contains(&"internals::ast"));
        assert!(!imports("internals::attr", "use super::lit_x;").contains(&"internals::lit"));
        assert!(imports("output", "use crate::internals::ctxt::Ctxt;").contains(&"internals::ctxt"));
    }
}

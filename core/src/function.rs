//! The registry that collects the functions at link time. What the macro describes of each
//! ([`FunctionDescription`]) lives in `invocation.rs`, beside the [`Invocation`](crate::Invocation)
//! its invoker takes, since each names the other; it is re-exported here.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, OnceLock};

pub use crate::invocation::{FunctionDescription, InvokeFuture, Invoker, RetryPolicy};

/// A function's entry in the link-time registry. Emitted by `#[function]`.
#[derive(Debug)]
pub struct Registration(pub &'static FunctionDescription);

inventory::collect!(Registration);

/// The functions of this app, by name.
#[derive(Debug)]
pub struct Registry {
    /// Sorted by the lowercase name, which is unique.
    by_lowercase_name: Vec<(String, &'static FunctionDescription)>,
}

/// Two functions with the same name (the host compares names case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateFunctionName {
    /// The name, as the first function spells it.
    pub name: String,
    /// `path (file:line)` of each function using it.
    pub defined_at: Vec<String>,
}

impl fmt::Display for DuplicateFunctionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the function name `{}` is used by more than one function (names are compared case-insensitively): {}; \
             rename one with `#[function(name = \"...\", ...)]`",
            self.name,
            self.defined_at.join(" and ")
        )
    }
}

impl std::error::Error for DuplicateFunctionName {}

impl Registry {
    /// Builds a registry from descriptions, refusing duplicate names.
    pub fn from_descriptions(
        functions: impl IntoIterator<Item = &'static FunctionDescription>,
    ) -> Result<Self, DuplicateFunctionName> {
        let mut by_lowercase_name: BTreeMap<String, &'static FunctionDescription> = BTreeMap::new();
        for function in functions {
            let key = function.name.to_ascii_lowercase();
            if let Some(existing) = by_lowercase_name.get(&key) {
                let mut defined_at = vec![describe_location(existing), describe_location(function)];
                defined_at.sort();
                return Err(DuplicateFunctionName {
                    name: existing.name.to_owned(),
                    defined_at,
                });
            }
            by_lowercase_name.insert(key, function);
        }
        Ok(Registry {
            by_lowercase_name: by_lowercase_name.into_iter().collect(),
        })
    }

    /// The registry of every `#[function]` linked into this binary, built once.
    pub fn global() -> Result<&'static Registry, DuplicateFunctionName> {
        static GLOBAL: OnceLock<Result<Registry, DuplicateFunctionName>> = OnceLock::new();
        GLOBAL
            .get_or_init(|| {
                let linked = inventory::iter::<Registration>.into_iter().map(|r| r.0);
                let added = app_functions().lock().unwrap_or_else(|e| e.into_inner()).clone();
                Registry::from_descriptions(linked.chain(added))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The function called `name`, compared case-insensitively as the host does.
    pub fn get(&self, name: &str) -> Option<&'static FunctionDescription> {
        // Compared byte by byte in lowercase: no lowercased copy of the name per lookup.
        let lowercase = || name.bytes().map(|b| b.to_ascii_lowercase());
        self.by_lowercase_name
            .binary_search_by(|(key, _)| key.bytes().cmp(lowercase()))
            .ok()
            .map(|index| self.by_lowercase_name[index].1)
    }

    /// Every function, ordered by name (so everything derived from the registry is deterministic).
    pub fn functions(&self) -> impl Iterator<Item = &'static FunctionDescription> + '_ {
        self.by_lowercase_name.iter().map(|(_, function)| *function)
    }

    /// How many functions there are.
    pub fn len(&self) -> usize {
        self.by_lowercase_name.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_lowercase_name.is_empty()
    }
}

/// Functions the app adds at start-up (a mounted HTTP service), before the registry is built.
fn app_functions() -> &'static Mutex<Vec<&'static FunctionDescription>> {
    static ADDED: OnceLock<Mutex<Vec<&'static FunctionDescription>>> = OnceLock::new();
    ADDED.get_or_init(Default::default)
}

/// Adds a function described at run time. Only functions added before the first
/// [`Registry::global`] call are served; `App::run` adds them first thing.
pub fn add_app_function(function: &'static FunctionDescription) {
    app_functions().lock().unwrap_or_else(|e| e.into_inner()).push(function);
}

fn describe_location(f: &FunctionDescription) -> String {
    format!("`{}` ({}:{})", f.rust_path, f.location.0, f.location.1)
}

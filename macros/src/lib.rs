//! The procedural macros of azfn: `#[function]`, `#[entity]` and `#[derive(FunctionOutput)]`.
//!
//! Use them through the `azfn` crate, which re-exports them and documents them with examples.
//! Each macro reads its input into a model, checks every rule it can at compile time (reporting
//! all errors at once, each at the user's own tokens), and generates code that only names
//! `::azfn::__private`. It never panics on user input.
#![forbid(unsafe_code)]

use proc_macro::TokenStream;

mod codegen;
mod entity;
mod features;
mod function;
mod internals;
mod output;
mod typed;

/// Turns a function into an Azure Function. See the `azfn` crate's documentation.
#[proc_macro_attribute]
pub fn function(attr: TokenStream, item: TokenStream) -> TokenStream {
    debug_expansion("function", function::expand(attr.into(), item.into())).into()
}

/// Makes an `impl` block's type a Durable entity whose operations are its methods. See the
/// `azfn` crate's documentation.
#[proc_macro_attribute]
pub fn entity(attr: TokenStream, item: TokenStream) -> TokenStream {
    debug_expansion("entity", entity::expand(attr.into(), item.into())).into()
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
}

//! The procedural macros of azfn: `#[function]` and `#[derive(FunctionOutput)]`.
//!
//! Use them through the `azfn` crate, which re-exports them and documents them with examples.
//! Each macro reads its input into a model, checks every rule it can at compile time (reporting
//! all errors at once, each at the user's own tokens), and generates code that only names
//! `::azfn::__private`. It never panics on user input.
#![forbid(unsafe_code)]

use proc_macro::TokenStream;

mod codegen;
mod function;
mod internals;
mod output;

/// Turns a function into an Azure Function. See the `azfn` crate's documentation.
#[proc_macro_attribute]
pub fn function(attr: TokenStream, item: TokenStream) -> TokenStream {
    debug_expansion("function", function::expand(attr.into(), item.into())).into()
}

/// Makes a struct's fields the output bindings of the functions that return it.
#[proc_macro_derive(FunctionOutput, attributes(http_output, queue_output, blob_output))]
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

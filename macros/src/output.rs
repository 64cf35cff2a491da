//! `#[derive(FunctionOutput)]`: a struct whose fields are output bindings.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields};

use crate::codegen::{at, binding_description, kind_marker, private_imports};
use crate::internals::args;
use crate::internals::attr::{self, BindingAttr};
use crate::internals::ctxt::{Ctxt, item_with_errors};
use crate::internals::name::unraw;
use azfn_bindings::Role;

struct OutputField {
    member: syn::Member,
    ty: syn::Type,
    binding: BindingAttr,
    name: String,
}

pub fn expand(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(error) => return error.to_compile_error(),
    };
    let cx = Ctxt::new();
    let fields = read_fields(&cx, &input);
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(&input.generics, "a `FunctionOutput` struct cannot be generic");
    }
    match cx.check() {
        Ok(()) => generate(&input, &fields),
        // The errors, and an impl that lets the rest of the crate compile as if the struct
        // were right, so one mistake is not repeated wherever the struct is used.
        Err(errors) => item_with_errors(dummy(&input), &errors),
    }
}

/// `ReturnOutputs` for a struct that has errors (as clap_derive's dummies do): no bindings, and
/// nothing written, which is never run, since the crate does not compile. It says it has an
/// HTTP response when a field is marked `#[http_output]`, so the function returning the struct
/// finds what it expects unless the struct really lacks (or has) the response.
fn dummy(input: &DeriveInput) -> TokenStream {
    let imports = private_imports();
    let ident = &input.ident;
    let has_http = match &input.data {
        Data::Struct(data) => data.fields.iter().any(|field| {
            field.attrs.iter().any(|attribute| {
                attribute
                    .path()
                    .get_ident()
                    .and_then(attr::lookup_kind)
                    .is_some_and(|kind| kind.is_http_output())
            })
        }),
        _ => false,
    };
    // The trigger kind goes after the struct's lifetimes, so a generic struct (an error of its
    // own) still gets an impl that names it correctly.
    let mut generics = input.generics.clone();
    let lifetimes = generics.lifetimes().count();
    generics.params.insert(lifetimes, syn::parse_quote!(__AzfnKind));
    let (impl_generics, _, _) = generics.split_for_impl();
    let (_, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        #[doc(hidden)]
        #[allow(non_upper_case_globals, clippy::all)]
        const _: () = {
            #imports
            impl #impl_generics __azfn::ReturnOutputs<__AzfnKind> for #ident #ty_generics #where_clause {
                const BINDINGS: &'static [__azfn::BindingDescription] = &[];
                const HAS_HTTP: bool = #has_http;
                fn write_outputs(self, _: &mut __azfn::Outputs) -> __azfn::Result<(), __azfn::InvocationError> {
                    __azfn::Ok(())
                }
            }
        };
    }
}

fn read_fields(cx: &Ctxt, input: &DeriveInput) -> Vec<OutputField> {
    let Data::Struct(data) = &input.data else {
        cx.error_spanned_by(
            &input.ident,
            "`FunctionOutput` is derived for structs whose fields are output bindings",
        );
        return Vec::new();
    };
    let named = matches!(data.fields, Fields::Named(_));
    let mut out: Vec<OutputField> = Vec::new();
    for (index, field) in data.fields.iter().enumerate() {
        let mut binding: Option<BindingAttr> = None;
        for attribute in &field.attrs {
            let Some(ident) = attribute.path().get_ident() else {
                continue;
            };
            let Some(kind) = attr::lookup_kind(ident) else {
                let name = ident.to_string();
                if name.ends_with("_output") || name.ends_with("_input") || name.ends_with("_trigger") {
                    cx.error_spanned_by(
                        ident,
                        format!(
                            "unknown output binding `{name}`: expected one of {}",
                            attr::expected_list(Role::Output)
                        ),
                    );
                }
                continue;
            };
            if kind.role != Role::Output {
                cx.error_spanned_by(
                    ident,
                    format!(
                        "`{ident}` is not an output; fields of a `FunctionOutput` struct take {}",
                        attr::expected_list(Role::Output)
                    ),
                );
                continue;
            }
            let tokens = match &attribute.meta {
                syn::Meta::List(list) => list.tokens.clone(),
                _ => TokenStream::new(),
            };
            let parsed = attr::parse_binding(cx, kind, ident, &args::parse_args(cx, tokens));
            if binding.is_some() {
                cx.error_spanned_by(ident, "a field takes one output binding attribute; this one has two");
            } else {
                binding = Some(parsed);
            }
        }
        let member = match &field.ident {
            Some(ident) => syn::Member::Named(ident.clone()),
            None => syn::Member::Unnamed(syn::Index::from(index)),
        };
        let Some(binding) = binding else {
            cx.error_at(
                field.span(),
                format!(
                    "every field of a `FunctionOutput` struct is an output: add one of {}",
                    attr::expected_list(Role::Output)
                ),
            );
            continue;
        };
        let name = match (&binding.name, &field.ident) {
            (Some(lit), _) => lit.value(),
            (None, Some(ident)) => azfn_bindings::validate::binding_name_from_ident(&unraw(ident)),
            (None, None) => binding.kind.default_name.to_owned(),
        };
        if !named && binding.name.is_none() {
            cx.error_spanned_by(
                &binding.ident,
                "fields without names need a binding name: `name = \"...\"`",
            );
        }
        if let Err(problem) = azfn_bindings::validate::check_binding_name(&name) {
            cx.error_at(
                field.span(),
                format!("{}; name the binding with `name = \"...\"`", problem.message),
            );
        }
        if let Some(previous) = out.iter().find(|f| f.name.eq_ignore_ascii_case(&name)) {
            let previous = &previous.member;
            cx.error_spanned_by(
                &binding.ident,
                format!(
                    "binding name `{name}` is already used by `{}` (names are compared case-insensitively)",
                    quote!(#previous)
                ),
            );
        }
        if binding.kind.is_http_output()
            && let Some(first) = out.iter().find(|f| f.binding.kind.is_http_output())
        {
            let first_member = &first.member;
            cx.error_spanned_by(
                &binding.ident,
                format!(
                    "a function has one HTTP response, but `{}` is already an `#[http_output]`",
                    quote!(#first_member)
                ),
            );
        }
        out.push(OutputField {
            member,
            ty: field.ty.clone(),
            binding,
            name,
        });
    }
    out
}

fn generate(input: &DeriveInput, fields: &[OutputField]) -> TokenStream {
    let imports = private_imports();
    let ident = &input.ident;
    let count = fields.len();
    let has_http = fields.iter().any(|f| f.binding.kind.is_http_output());
    let bindings = fields
        .iter()
        .map(|f| binding_description(&f.binding, &f.name, Some(&f.ty), &[]));
    let writes = fields.iter().enumerate().map(|(i, f)| {
        let (member, ty) = (&f.member, &f.ty);
        let marker = kind_marker(&f.binding);
        quote_spanned! {at(ty.span())=>
            __azfn::write_output::<#marker, #ty>(__outputs, &__BINDINGS[#i], self.#member)?;
        }
    });
    quote! {
        #[doc(hidden)]
        #[allow(non_upper_case_globals, clippy::all)]
        const _: () = {
            #imports
            static __BINDINGS: [__azfn::BindingDescription; #count] = [#(#bindings),*];
            impl<K> __azfn::ReturnOutputs<K> for #ident {
                const BINDINGS: &'static [__azfn::BindingDescription] = &__BINDINGS;
                const HAS_HTTP: bool = #has_http;
                fn write_outputs(self, __outputs: &mut __azfn::Outputs) -> __azfn::Result<(), __azfn::InvocationError> {
                    #(#writes)*
                    __azfn::Ok(())
                }
            }
        };
    }
}

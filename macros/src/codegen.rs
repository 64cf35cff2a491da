//! Token generation shared by `#[function]` and `#[derive(FunctionOutput)]`.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::Type;

use crate::internals::attr::{BindingAttr, PropValue};

/// `::azfn::kind::<attr>`: the public path, since compiler messages print it.
pub fn kind_marker(attr: &BindingAttr) -> TokenStream {
    let marker = Ident::new(attr.kind.attr, attr.ident.span());
    quote!(::azfn::kind::#marker)
}

/// `__azfn::catalog::<ATTR>`: the catalog's static for this kind.
fn kind_static(attr: &BindingAttr) -> TokenStream {
    let ident = Ident::new(&attr.kind.attr.to_ascii_uppercase(), Span::call_site());
    quote!(__azfn::catalog::#ident)
}

/// A `BindingDescription` expression. `value_ty` is the Rust type whose byte-ness decides
/// `dataType`; `None` leaves it to the kind.
pub fn binding_description(attr: &BindingAttr, name: &str, value_ty: Option<&Type>) -> TokenStream {
    let kind = kind_static(attr);
    let props = attr.props.iter().map(|(key, value)| {
        let value = match value {
            PropValue::Str(s) => quote!(__azfn::PropertyValue::Str(#s)),
            PropValue::Bool(b) => quote!(__azfn::PropertyValue::Bool(#b)),
            PropValue::Int(i) => quote!(__azfn::PropertyValue::Int(#i)),
            PropValue::List(items) => quote!(__azfn::PropertyValue::List(&[#(#items),*])),
        };
        quote!((#key, #value))
    });
    let data_type = match value_ty {
        Some(ty) => quote_spanned! {Span::call_site()=>
            __azfn::data_type_or(<__azfn::DataTypeOf<#ty>>::DATA_TYPE, #kind.default_data_type)
        },
        None => quote!(#kind.default_data_type),
    };
    quote! {
        __azfn::BindingDescription {
            kind: &#kind,
            name: #name,
            data_type: #data_type,
            properties: &[#(#props),*],
        }
    }
}

/// The common prelude of generated `const _: () = { ... };` blocks.
pub fn private_imports() -> TokenStream {
    quote! {
        use ::azfn::__private as __azfn;
        #[allow(unused_imports)]
        use __azfn::NoDataTypePreference as _;
    }
}

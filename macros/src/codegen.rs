//! Token generation shared by `#[function]` and `#[derive(FunctionOutput)]`.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::Type;
use syn::spanned::Spanned;

use azfn_bindings::catalog::{self, Batch};

use crate::internals::attr::{BindingAttr, PropValue};

/// A span that points at the user's tokens but resolves names where the macro was called, so
/// generated locals (`__outputs`, `__invocation`) stay visible to each other even when the
/// user's tokens come from a `macro_rules!` with its own hygiene.
pub fn at(span: Span) -> Span {
    Span::call_site().located_at(span)
}

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

/// The `&'static BindingKind` of a binding: the catalog's, or for a generic binding the
/// catalog's template with the user's `type`.
fn kind_ref(attr: &BindingAttr) -> TokenStream {
    let kind = kind_static(attr);
    match &attr.json_type {
        Some(json_type) => quote! {{
            static __KIND: __azfn::catalog::BindingKind = #kind.with_json_type(#json_type);
            &__KIND
        }},
        None => quote!(&#kind),
    }
}

/// Whether the trigger's payload is a batch, as a constant expression: from the payload type
/// (`Vec<T>` is many) when the first parameter without a binding is the payload, else `default`.
fn batch_expr(trigger: &BindingAttr, payload: &Type, default: bool) -> TokenStream {
    let kind = kind_marker(trigger);
    quote_spanned! {payload.span()=>
        __azfn::payload_is_batch(
            <#payload as __azfn::FromInvocation<#kind>>::IS_PAYLOAD,
            <__azfn::CardinalityOf<#payload>>::MANY,
            <__azfn::DataTypeOf<#payload>>::DATA_TYPE,
            #default,
        )
    }
}

/// The `cardinality` property of a batch-capable trigger, computed at compile time.
fn cardinality_prop(attr: &BindingAttr, payload: Option<&Type>) -> Option<TokenStream> {
    let Batch::Optional { many_by_default } = attr.kind.batch else {
        return None;
    };
    let key = catalog::CARDINALITY.json;
    let many = match payload {
        Some(ty) => batch_expr(attr, ty, many_by_default),
        None => quote!(#many_by_default),
    };
    Some(quote!((#key, __azfn::cardinality(#many))))
}

/// Compile-time checks that the payload type agrees with the trigger's batch behaviour and with
/// an explicit `cardinality` (AZFW0008). Empty when there is nothing to check.
pub fn cardinality_checks(trigger: &BindingAttr, payload: Option<&Type>) -> TokenStream {
    let Some(ty) = payload else { return TokenStream::new() };
    let attr = trigger.kind.attr;
    let (expected, message, span) = match (trigger.kind.batch, trigger.cardinality) {
        (Batch::No, _) => (
            false,
            format!(
                "a `{attr}` function gets one message per invocation, so its payload cannot be a `Vec`: for a JSON array in one message take `Json<Vec<T>>`"
            ),
            ty.span(),
        ),
        (Batch::Optional { .. }, Some((true, span))) => (
            true,
            format!("`cardinality = \"many\"` hands the `{attr}` function a batch: take it as `Vec<T>`"),
            span,
        ),
        (Batch::Optional { .. }, Some((false, span))) => (
            false,
            format!(
                "`cardinality = \"one\"` hands the `{attr}` function one event, but the payload is a `Vec`: remove `cardinality` to receive batches"
            ),
            span,
        ),
        (Batch::Optional { .. } | Batch::Always, _) => return TokenStream::new(),
    };
    // Non-batch triggers check the type alone, so an unbindable parameter is reported once
    // (by the extraction trait), not twice.
    let many = match trigger.kind.batch {
        Batch::No => quote_spanned! {ty.span()=>
            __azfn::is_batch(<__azfn::CardinalityOf<#ty>>::MANY, <__azfn::DataTypeOf<#ty>>::DATA_TYPE)
        },
        _ => batch_expr(trigger, ty, expected),
    };
    quote_spanned! {span=>
        const _: () = ::core::assert!(#many == #expected, #message);
    }
}

/// The `SupportsDeferredBinding` property of a blob trigger or blob input, true at compile
/// time when one of `param_tys` (the parameters the binding fills) is an SDK client
/// (`ParameterOf<T, K>::DEFERRED`). `None` for other kinds, and when no parameter takes it.
fn deferred_prop(attr: &BindingAttr, param_tys: &[&Type]) -> Option<TokenStream> {
    let blob = [catalog::BLOB_TRIGGER.attr, catalog::BLOB_INPUT.attr].contains(&attr.kind.attr);
    if !blob || param_tys.is_empty() {
        return None;
    }
    let kind = kind_marker(attr);
    let flags = param_tys
        .iter()
        .map(|ty| quote_spanned!(at(ty.span())=> <__azfn::ParameterOf<#ty, #kind>>::DEFERRED));
    Some(quote! {
        (__azfn::SUPPORTS_DEFERRED_BINDING, __azfn::PropertyValue::Bool(__azfn::any_of(&[#(#flags),*])))
    })
}

/// A `BindingDescription` expression. `value_ty` is the Rust type whose byte-ness decides
/// `dataType` (and, for a trigger, whether it receives batches); `None` leaves both to the kind.
/// `param_tys` are the parameters the binding fills (for a trigger, every parameter without an
/// attribute), which decide whether it asks for deferred binding.
pub fn binding_description(
    attr: &BindingAttr,
    name: &str,
    value_ty: Option<&Type>,
    param_tys: &[&Type],
) -> TokenStream {
    let kind = kind_static(attr);
    let kind_ref = kind_ref(attr);
    let cardinality = cardinality_prop(attr, value_ty)
        .into_iter()
        .chain(deferred_prop(attr, param_tys));
    let props = attr.props.iter().map(|(key, value)| {
        let value = match value {
            PropValue::Str(s) => quote!(__azfn::PropertyValue::Str(#s)),
            PropValue::Bool(b) => quote!(__azfn::PropertyValue::Bool(#b)),
            PropValue::Int(i) => quote!(__azfn::PropertyValue::Int(#i)),
            PropValue::List(items) => quote!(__azfn::PropertyValue::List(&[#(#items),*])),
        };
        quote!((#key, #value))
    });
    let props = props.chain(cardinality);
    let data_type = match value_ty {
        Some(ty) => quote_spanned! {Span::call_site()=>
            __azfn::data_type_or(<__azfn::DataTypeOf<#ty>>::DATA_TYPE, #kind.default_data_type)
        },
        None => quote!(#kind.default_data_type),
    };
    quote! {
        __azfn::BindingDescription {
            kind: #kind_ref,
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
        #[allow(unused_imports)]
        use __azfn::NoCardinalityPreference as _;
        #[allow(unused_imports)]
        use __azfn::ThroughTraits as _;
    }
}

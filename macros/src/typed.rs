//! The typed form of a durable function: the function item becomes a value that names it.
//!
//! A fn item's type cannot be named, so no trait can be implemented for it. An activity,
//! orchestrator or entity is therefore emitted under a hidden name, and in its place comes a
//! unit struct with the function's name, docs and visibility, which:
//! - implements `Activity` / `Orchestration` / `Entity` of `azfn::durable` (the host name and
//!   the input and output types), so `ctx.call(say_hello, &city)` is checked by the compiler;
//! - derefs to a fn pointer of the function's signature (an `async fn`'s future boxed), so
//!   `say_hello(city)` and `say_hello(city).await` still call it (rustc autoderefs a callee).
//!
//! A signature the fn pointer or the trait cannot spell (`impl Trait`, a `where` clause,
//! several elided lifetimes in an `async fn`, an elided lifetime in the input or output type)
//! keeps the plain function, without typed calls.

use proc_macro2::{Ident, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote};
use syn::{Attribute, ReturnType, Type};

use crate::internals::ast::FunctionDef;
use crate::internals::check::Durable;

/// The items that replace the user's function, and the name generated code calls it by.
pub struct TypedForm {
    pub items: TokenStream,
    pub callee: Ident,
}

/// The typed form of `def`, or `None` when its signature does not allow one.
pub fn typed_form(def: &FunctionDef, role: Durable) -> Option<TypedForm> {
    let sig = &def.item.sig;
    if sig.generics.where_clause.is_some() || has_impl_trait(sig.output.to_token_stream()) {
        return None;
    }
    let param_tys: Vec<&Type> = def.params.iter().map(|p| &p.ty).collect();
    if param_tys.iter().any(|ty| has_impl_trait(ty.to_token_stream())) {
        return None;
    }
    let elided: usize = param_tys.iter().map(|ty| elided_lifetimes(ty.to_token_stream())).sum();
    let is_async = sig.asyncness.is_some();
    if is_async && elided > 1 {
        return None;
    }
    let ident = &sig.ident;
    let callee = format_ident!("__azfn_{}", crate::internals::name::unraw(ident), span = ident.span());
    let (trait_impl, input_output) = trait_impl(def, role, &callee)?;
    if input_output.iter().any(|ty| elided_lifetimes(ty.clone()) > 0) {
        return None;
    }
    let vis = &def.item.vis;
    let (struct_attrs, fn_attrs) = split_attrs(&def.item.attrs);
    let mut hidden = def.item.clone();
    hidden.sig.ident = callee.clone();
    hidden.attrs = fn_attrs;
    hidden.vis = syn::Visibility::Inherited;

    let returned = match &sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => ty.to_token_stream(),
    };
    let (pointer, target) = if is_async {
        // Activities' and entities' futures are `Send` already (the invocation's future is);
        // an orchestrator's is polled by the replay engine on one thread, and need not be.
        let send = (role != Durable::Orchestrator).then(|| quote!(+ ::core::marker::Send));
        let lifetime = (elided == 1).then(|| quote!(+ '_));
        let future = quote! {
            ::core::pin::Pin<::azfn::__private::Box<dyn ::core::future::Future<Output = #returned> #send #lifetime>>
        };
        let args: Vec<Ident> = (0..param_tys.len()).map(|i| format_ident!("__arg{}", i)).collect();
        let boxed = quote! {
            fn __boxed(#(#args: #param_tys),*) -> #future {
                ::azfn::__private::Box::pin(#callee(#(#args),*))
            }
        };
        (quote!(fn(#(#param_tys),*) -> #future), quote!({ #boxed __boxed }))
    } else {
        (quote!(fn(#(#param_tys),*) -> #returned), quote!(#callee))
    };

    let items = quote! {
        #hidden

        #(#struct_attrs)*
        #[allow(non_camel_case_types)]
        #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug)]
        #vis struct #ident;

        impl ::core::ops::Deref for #ident {
            type Target = #pointer;

            fn deref(&self) -> &Self::Target {
                static __FUNCTION: #pointer = #target;
                &__FUNCTION
            }
        }

        #trait_impl

        // The struct is used even when only the host calls the function.
        const _: #ident = #ident;
    };
    Some(TypedForm { items, callee })
}

/// The `Activity` / `Orchestration` / `Entity` impl, and its input and output types.
fn trait_impl(def: &FunctionDef, role: Durable, callee: &Ident) -> Option<(TokenStream, Vec<TokenStream>)> {
    let ident = &def.item.sig.ident;
    // The name the Durable extension knows: the trigger's own name property, else the
    // function's host name (`name = "..."`, else the Rust name).
    let property = match role {
        Durable::Activity => "activity",
        Durable::Orchestrator => "orchestration",
        Durable::Entity => "entityName",
    };
    let name = def.triggers.first()?.str_prop(property).unwrap_or(&def.host_name);
    let output = &def.ret.ty;
    match role {
        Durable::Activity => {
            // The input is the parameter without a binding that is not the `ActivityContext`
            // (told apart by name: the macro sees no types), `()` for none.
            let input = def
                .params
                .iter()
                .filter(|p| p.binding.is_none())
                .find(|p| !is_activity_context(&p.ty))
                .map_or_else(|| quote!(()), |p| p.ty.to_token_stream());
            let items = quote! {
                impl ::azfn::__private::Activity for #ident {
                    const NAME: &'static str = #name;
                    type Input = #input;
                    type Output = #output;
                }
            };
            Some((items, vec![input, output.to_token_stream()]))
        }
        Durable::Orchestrator => {
            let context_ty = &def.params.first()?.ty;
            let context = quote!(<#context_ty as ::azfn::__private::OrchestrationParameter>::from_context(__context));
            let (input, run) = match def.params.get(1) {
                Some(param) => (
                    param.ty.to_token_stream(),
                    quote!(::azfn::__private::orchestrate_with_input(__context, |__context, __input| #callee(#context, __input))),
                ),
                None => (
                    quote!(dyn ::azfn::__private::DurableInput),
                    quote!(::azfn::__private::orchestrate_plain(#callee(#context))),
                ),
            };
            let items = quote! {
                impl ::azfn::__private::Orchestration for #ident {
                    const NAME: &'static str = #name;
                    type Input = #input;
                    type Output = #output;

                    fn run(self, __context: ::azfn::__private::OrchestrationContext) -> ::azfn::__private::OrchestrationFuture<#output> {
                        ::azfn::__private::Box::pin(#run)
                    }
                }
            };
            Some((items, vec![input, output.to_token_stream()]))
        }
        Durable::Entity => Some((
            quote! {
                impl ::azfn::__private::Entity for #ident {
                    const NAME: &'static str = #name;
                }
            },
            Vec::new(),
        )),
    }
}

fn is_activity_context(ty: &Type) -> bool {
    matches!(ty, Type::Path(path) if path.path.segments.last().is_some_and(|s| s.ident == "ActivityContext"))
}

/// Docs go on the struct (what users see), `cfg`s and lint levels on both, the rest (e.g.
/// `#[tracing::instrument]`) on the function.
fn split_attrs(attrs: &[Attribute]) -> (Vec<Attribute>, Vec<Attribute>) {
    let mut on_struct = Vec::new();
    let mut on_fn = Vec::new();
    for attr in attrs {
        let path = attr.path();
        if path.is_ident("doc") || path.is_ident("deprecated") {
            on_struct.push(attr.clone());
        } else if ["cfg", "cfg_attr", "allow", "warn", "deny", "forbid"]
            .iter()
            .any(|name| path.is_ident(name))
        {
            on_struct.push(attr.clone());
            on_fn.push(attr.clone());
        } else {
            on_fn.push(attr.clone());
        }
    }
    (on_struct, on_fn)
}

pub fn has_impl_trait(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Ident(ident) => ident == "impl",
        TokenTree::Group(group) => has_impl_trait(group.stream()),
        _ => false,
    })
}

/// How many lifetimes `tokens` (a type) leaves to elision: `&` without a lifetime, and `'_`.
fn elided_lifetimes(tokens: TokenStream) -> usize {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut count = 0;
    for (i, token) in tokens.iter().enumerate() {
        match token {
            TokenTree::Punct(p) if p.as_char() == '&' => {
                let named = matches!(tokens.get(i + 1), Some(TokenTree::Punct(next)) if next.as_char() == '\'');
                if !named {
                    count += 1;
                }
            }
            TokenTree::Punct(p) if p.as_char() == '\'' => {
                if matches!(tokens.get(i + 1), Some(TokenTree::Ident(id)) if id == "_") {
                    count += 1;
                }
            }
            TokenTree::Group(group) => count += elided_lifetimes(group.stream()),
            _ => {}
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::internals::ctxt::Ctxt;

    /// The typed form of `#[function(<attr>)] <item>`, as text.
    fn expand(attr: &str, item: &str) -> Option<String> {
        let cx = Ctxt::new();
        let def = FunctionDef::from_ast(&cx, attr.parse().unwrap(), syn::parse_str(item).unwrap());
        cx.check().unwrap();
        let role = def.triggers.first().and_then(Durable::of)?;
        typed_form(&def, role).map(|typed| typed.items.to_string())
    }

    #[test]
    fn an_activity_becomes_a_struct_naming_its_input_and_output() {
        let items = expand(
            "activity_trigger, name = \"Price\"",
            "/// Prices.\npub async fn price(ctx: ActivityContext, line: Line) -> Result<u64, Error> { todo() }",
        )
        .unwrap();
        assert!(items.contains("async fn __azfn_price"), "{items}");
        assert!(items.contains("pub struct price ;"), "{items}");
        assert!(
            items.contains("const NAME : & 'static str = \"Price\" ; type Input = Line ; type Output = u64 ;"),
            "{items}"
        );
        assert!(items.contains("+ :: core :: marker :: Send"), "{items}");
        assert!(
            items.contains("# [doc = \" Prices.\"] # [allow (non_camel_case_types)]"),
            "{items}"
        );
    }

    #[test]
    fn the_trigger_name_property_is_the_name() {
        let items = expand("activity_trigger(activity = \"Other\")", "fn tick() {}").unwrap();
        assert!(
            items.contains("\"Other\" ; type Input = () ; type Output = ()"),
            "{items}"
        );
        let items = expand(
            "entity_trigger(entity_name = \"Cart\")",
            "fn cart(ctx: &mut EntityContext<u8>) {}",
        )
        .unwrap();
        assert!(items.contains("const NAME : & 'static str = \"Cart\""), "{items}");
    }

    #[test]
    fn orchestrators_take_their_input_from_the_second_parameter_or_any() {
        let typed = expand(
            "orchestration_trigger",
            "async fn ship(ctx: OrchestrationContext, parcel: u32) -> Result<bool, Error> { todo() }",
        )
        .unwrap();
        assert!(typed.contains("type Input = u32"), "{typed}");
        assert!(
            !typed.contains("Send"),
            "an orchestrator's future need not be Send: {typed}"
        );
        let untyped = expand(
            "orchestration_trigger",
            "async fn ship(ctx: OrchestrationContext) -> Result<bool, Error> { todo() }",
        )
        .unwrap();
        assert!(
            untyped.contains("type Input = dyn :: azfn :: __private :: DurableInput"),
            "{untyped}"
        );
    }

    #[test]
    fn an_async_entity_borrowing_its_context_boxes_a_future_of_that_lifetime() {
        let items = expand(
            "entity_trigger",
            "async fn cart(ctx: &mut EntityContext<u8>) -> u8 { todo() }",
        )
        .unwrap();
        assert!(items.contains("+ '_"), "{items}");
    }

    #[test]
    fn signatures_a_fn_pointer_cannot_spell_keep_the_plain_function() {
        assert!(expand("activity_trigger", "fn f(x: u8) -> impl Serialize { x }").is_none());
        assert!(expand("activity_trigger", "fn f(x: &'static str) -> &str { x }").is_none());
        assert!(expand("activity_trigger", "async fn f(a: &u8, b: &u8) -> u8 { 0 }").is_none());
        assert!(expand("activity_trigger", "fn f(x: u8) -> u8 where u8: Copy { x }").is_none());
        assert!(expand("http_trigger", "fn f(req: HttpRequest) -> HttpResponse { todo() }").is_none());
    }

    #[test]
    fn elided_lifetimes_are_counted() {
        let count = |ty: &str| elided_lifetimes(ty.parse().unwrap());
        assert_eq!(count("&mut EntityContext<u8>"), 1);
        assert_eq!(count("(&u8, Foo<'_>)"), 2);
        assert_eq!(count("&'static str"), 0);
        assert_eq!(count("Vec<String>"), 0);
    }
}

//! `#[entity]`: an inherent `impl` block as a Durable entity whose operations are its methods,
//! as a .NET `TaskEntity<TState>` dispatches to its public methods. Parse → model → check →
//! generate:
//!
//! - every `pub fn` that takes `&self`, `&mut self` or `ctx: &mut EntityContext<Self>`, and at
//!   most one input after it, is an operation named as the method (or
//!   `#[operation(name = "...")]`); other items stay helpers;
//! - one `Operation` constant per operation (`add_item` → `ADD_ITEM`) carries the entity, the
//!   name and the input and output types, for typed calls;
//! - a hidden `#[function(entity_trigger)]` function, named as the entity, dispatches each
//!   operation of a batch to its method, ignoring ASCII case as .NET does.
//!
//! On errors the user's `impl` block is still emitted, so one mistake does not cascade.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ImplItem, ImplItemFn, ItemImpl, LitStr, ReceiverKind, Safety, Type, Visibility};

use crate::internals::args::{Arg, Value, parse_args};
use crate::internals::ast::return_def;
use crate::internals::ctxt::{Ctxt, item_with_errors};
use crate::internals::name::unraw;
use crate::typed::has_impl_trait;

/// The helper attribute that renames an operation.
const OPERATION_ATTR: &str = "operation";

/// What the `#[entity]` block declares.
struct EntityDef {
    /// The user's block, `#[operation]` attributes removed.
    item: ItemImpl,
    /// The name the host and the extension know: `name = "..."`, else the type's name.
    name: LitStr,
    operations: Vec<OperationDef>,
}

/// How an operation reaches the entity's state.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    /// `&self`: reads the state; the entity does not come to exist by it.
    Read,
    /// `&mut self`: changes the state; the entity exists from then on.
    Write,
    /// `ctx: &mut EntityContext<Self>`: the whole context (id, signals, deleting the state).
    Context,
}

struct OperationDef {
    ident: syn::Ident,
    vis: Visibility,
    /// The name on the wire.
    name: String,
    /// Where a wrong name is pointed at: the rename's literal, else the method's name.
    name_span: Span,
    access: Access,
    input: Option<Type>,
    /// The `Ok` type of the method's `Result`, or its plain return type.
    output: Type,
    is_async: bool,
    /// The method's `#[cfg]`s, which its constant and its dispatch follow.
    cfgs: Vec<syn::Attribute>,
}

pub fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item: ItemImpl = match syn::parse2(item.clone()) {
        Ok(item) => item,
        Err(error) => {
            let message = syn::Error::new(
                error.span(),
                "`#[entity]` goes on an `impl` block of the entity's state: `#[entity] impl Counter { pub fn add(&mut self, amount: i64) { ... } }`",
            );
            return item_with_errors(item, &message);
        }
    };
    if !crate::features::enabled("durable") {
        let message = syn::Error::new(Span::call_site(), crate::features::missing("#[entity]", "durable"));
        return item_with_errors(&item, &message);
    }
    let cx = Ctxt::new();
    let def = EntityDef::from_ast(&cx, attr, item);
    match cx.check() {
        Ok(()) => generate(&def),
        Err(errors) => item_with_errors(&def.item, &errors),
    }
}

impl EntityDef {
    fn from_ast(cx: &Ctxt, attr: TokenStream, mut item: ItemImpl) -> EntityDef {
        let default_name = match &*item.self_ty {
            Type::Path(path) if path.qself.is_none() => path
                .path
                .segments
                .last()
                .map(|segment| LitStr::new(&unraw(&segment.ident), segment.ident.span())),
            _ => None,
        };
        if default_name.is_none() {
            cx.error_spanned_by(
                &item.self_ty,
                "`#[entity]` goes on an `impl` block of a named type: `impl Counter { ... }`",
            );
        }
        let named = default_name.is_some();
        let name = entity_name(cx, attr)
            .or(default_name)
            .unwrap_or_else(|| LitStr::new("entity", Span::call_site()));
        if let Some((path, _)) = &item.trait_ {
            cx.error_spanned_by(
                path,
                "`#[entity]` goes on the type's own `impl` block, not on a trait's",
            );
        }
        if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
            cx.error_spanned_by(
                &item.generics,
                "an entity's type is not generic: the host runs one state type per entity name",
            );
        }
        if let Some(unsafety) = &item.unsafety {
            cx.error_spanned_by(unsafety, "an entity's `impl` block is not `unsafe`");
        }

        let declared: Vec<String> = item_names(&item.items).collect();
        let mut operations: Vec<OperationDef> = Vec::new();
        for member in &mut item.items {
            let ImplItem::Fn(method) = member else { continue };
            let rename = take_rename(cx, method);
            let Some(operation) = operation_of(cx, method, rename) else {
                continue;
            };
            if let Some(earlier) = operations.iter().find(|o| o.name.eq_ignore_ascii_case(&operation.name)) {
                cx.error_at(
                    operation.name_span,
                    format!(
                        "the operation `{}` is already `{}`: callers' names are matched ignoring case, so each must differ by more than case",
                        operation.name, earlier.ident
                    ),
                );
            }
            let constant = constant_name(&operation.ident);
            if declared.contains(&constant) {
                cx.error_at(
                    operation.ident.span(),
                    format!("`#[entity]` names this operation `Self::{constant}`, which this block already declares"),
                );
            }
            operations.push(operation);
        }
        if operations.is_empty() && named {
            cx.error_spanned_by(
                &item.self_ty,
                "this entity has no operation: its operations are its `pub fn`s taking `&self`, `&mut self` or `ctx: &mut EntityContext<Self>`",
            );
        }
        EntityDef { item, name, operations }
    }
}

/// `name = "..."`, the only argument `#[entity]` takes.
fn entity_name(cx: &Ctxt, attr: TokenStream) -> Option<LitStr> {
    let mut name = None;
    for arg in parse_args(cx, attr) {
        match arg {
            Arg::KeyValue { key, value } if key == "name" => match value {
                Value::Lit(syn::Lit::Str(lit)) => name = Some(lit),
                other => cx.error_at(other.span(), "the entity's name is a string: `name = \"Counter\"`"),
            },
            other => cx.error_spanned_by(
                other.name(),
                format!("`#[entity]` takes only `name = \"...\"`, not `{}`", other.name()),
            ),
        }
    }
    name
}

/// Removes `#[operation(name = "...")]` from `method` and returns the name.
fn take_rename(cx: &Ctxt, method: &mut ImplItemFn) -> Option<LitStr> {
    let mut rename = None;
    let mut kept = Vec::new();
    for attr in std::mem::take(&mut method.attrs) {
        if !attr.path().is_ident(OPERATION_ATTR) {
            kept.push(attr);
            continue;
        }
        let tokens = match &attr.meta {
            syn::Meta::List(list) => list.tokens.clone(),
            _ => {
                cx.error_spanned_by(&attr, "write `#[operation(name = \"...\")]`");
                continue;
            }
        };
        for arg in parse_args(cx, tokens) {
            match arg {
                Arg::KeyValue { key, value } if key == "name" => match value {
                    Value::Lit(syn::Lit::Str(lit)) => {
                        check_operation_name(cx, &lit);
                        rename = Some(lit);
                    }
                    other => cx.error_at(other.span(), "an operation's name is a string: `name = \"AddItem\"`"),
                },
                other => cx.error_spanned_by(
                    other.name(),
                    format!("`#[operation]` takes only `name = \"...\"`, not `{}`", other.name()),
                ),
            }
        }
    }
    method.attrs = kept;
    rename
}

/// An operation name goes on the wire inside the request and is compared as it is: it must be
/// something a caller can write.
fn check_operation_name(cx: &Ctxt, lit: &LitStr) {
    let name = lit.value();
    if name.trim().is_empty() {
        cx.error_spanned_by(lit, "an operation's name is not empty");
    } else if name.trim() != name {
        cx.error_spanned_by(lit, "an operation's name has no leading or trailing spaces");
    }
}

/// The operation `method` declares, or `None` for a helper (or a method with an error).
fn operation_of(cx: &Ctxt, method: &ImplItemFn, rename: Option<LitStr>) -> Option<OperationDef> {
    let sig = &method.sig;
    let access = match sig.inputs.first() {
        Some(FnArg::Receiver(receiver)) => match &receiver.kind {
            ReceiverKind::Reference(_, _, None) => Some(Access::Read),
            ReceiverKind::Reference(_, _, Some(_)) => Some(Access::Write),
            _ => {
                if is_public(&method.vis) || rename.is_some() {
                    cx.error_spanned_by(
                        receiver,
                        "an operation takes `&self` or `&mut self`: the state stays with the entity between operations",
                    );
                }
                return None;
            }
        },
        Some(FnArg::Typed(param)) if is_entity_context(&param.ty) => Some(Access::Context),
        _ => None,
    };
    let Some(access) = access.filter(|_| is_public(&method.vis)) else {
        if let Some(rename) = &rename {
            cx.error_spanned_by(
                rename,
                "only an operation is renamed: an operation is a `pub fn` taking `&self`, `&mut self` or `ctx: &mut EntityContext<Self>`",
            );
        }
        return None;
    };
    let mut ok = true;
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        cx.error_spanned_by(
            &sig.generics,
            "an operation is not generic: its input and output types are fixed",
        );
        ok = false;
    }
    if let Safety::Unsafe(unsafety) = &sig.safety {
        cx.error_spanned_by(unsafety, "an operation is not `unsafe`");
        ok = false;
    }
    if let Some(variadic) = &sig.variadic {
        cx.error_spanned_by(variadic, "an operation takes at most one input");
        ok = false;
    }
    let mut rest = sig.inputs.iter().skip(1);
    let input = match rest.next() {
        Some(FnArg::Typed(param)) => {
            if borrows(param.ty.to_token_stream()) {
                cx.error_spanned_by(
                    &param.ty,
                    "an operation's input is deserialized from the request, so it is owned: `String` for `&str`, `Vec<T>` for `&[T]`",
                );
                ok = false;
            }
            Some((*param.ty).clone())
        }
        Some(FnArg::Receiver(receiver)) => {
            cx.error_spanned_by(receiver, "`self` comes first");
            ok = false;
            None
        }
        None => None,
    };
    if let Some(extra) = rest.next() {
        cx.error_spanned_by(
            extra,
            "an operation takes at most one input after its state or context: put several values in a struct or a tuple",
        );
        ok = false;
    }
    let output = return_def(&sig.output).ty;
    if has_impl_trait(output.to_token_stream()) {
        cx.error_spanned_by(
            &sig.output,
            "an operation's result has a type callers can name: not `impl Trait`",
        );
        ok = false;
    }
    if !ok {
        return None;
    }
    let (name, name_span) = match &rename {
        Some(lit) => (lit.value(), lit.span()),
        None => (unraw(&sig.ident), sig.ident.span()),
    };
    Some(OperationDef {
        ident: sig.ident.clone(),
        vis: method.vis.clone(),
        name,
        name_span,
        access,
        input,
        output,
        is_async: sig.asyncness.is_some(),
        cfgs: method
            .attrs
            .iter()
            .filter(|attr| attr.path().is_ident("cfg"))
            .cloned()
            .collect(),
    })
}

fn is_public(vis: &Visibility) -> bool {
    !matches!(vis, Visibility::Inherited)
}

/// `&mut EntityContext<...>`, told by the type's name (the macro sees no types).
fn is_entity_context(ty: &Type) -> bool {
    let Type::Reference(reference) = ty else { return false };
    matches!(&*reference.elem, Type::Path(path) if path.path.segments.last().is_some_and(|s| s.ident == "EntityContext"))
}

/// Whether a type borrows: a reference or a lifetime anywhere in it.
fn borrows(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Punct(p) => p.as_char() == '&' || p.as_char() == '\'',
        TokenTree::Group(group) => borrows(group.stream()),
        _ => false,
    })
}

/// The constant naming an operation: the method's name in capitals.
fn constant_name(ident: &syn::Ident) -> String {
    unraw(ident).to_uppercase()
}

/// The names of a block's constants and methods.
fn item_names(items: &[ImplItem]) -> impl Iterator<Item = String> + '_ {
    items.iter().filter_map(|item| match item {
        ImplItem::Const(constant) => Some(unraw(&constant.ident)),
        ImplItem::Fn(method) => Some(unraw(&method.sig.ident)),
        _ => None,
    })
}

fn generate(def: &EntityDef) -> TokenStream {
    let item = &def.item;
    let self_ty = &item.self_ty;
    let name = &def.name;
    let entity_text = name.value();

    let constants = def.operations.iter().map(|operation| {
        let constant = format_ident!("{}", constant_name(&operation.ident), span = operation.ident.span());
        let vis = &operation.vis;
        let input = operation.input.as_ref().map_or_else(|| quote!(()), ToTokens::to_token_stream);
        let output = &operation.output;
        let wire = &operation.name;
        let doc = format!(
            "The `{wire}` operation of the `{entity_text}` entity, for typed calls (`ctx.call_operation(Self::{constant}, key, &input)`)."
        );
        let cfgs = &operation.cfgs;
        quote! {
            #(#cfgs)*
            #[doc = #doc]
            #vis const #constant: ::azfn::__private::Operation<#self_ty, #input, #output> =
                ::azfn::__private::Operation::new(#wire);
        }
    });

    let is_async = def.operations.iter().any(|operation| operation.is_async);
    let arms = def.operations.iter().map(|operation| {
        let ident = &operation.ident;
        let wire = &operation.name;
        let span = operation.ident.span();
        let receiver = match operation.access {
            Access::Read => quote!(__context.state()),
            Access::Write => quote!(__context.state_mut()),
            Access::Context => quote!(__context),
        };
        let (read_input, args) = match &operation.input {
            Some(ty) => (
                quote_spanned! {ty.span()=>
                    let __input: #ty = match __context.input() {
                        ::core::result::Result::Ok(__input) => __input,
                        ::core::result::Result::Err(__error) => return ::azfn::__private::OperationOutcome::failed(__error),
                    };
                },
                quote!(#receiver, __input),
            ),
            None => (quote!(), receiver),
        };
        let call = if operation.is_async {
            quote_spanned!(span=> <#self_ty>::#ident(#args).await)
        } else {
            quote_spanned!(span=> <#self_ty>::#ident(#args))
        };
        let cfgs = &operation.cfgs;
        quote! {
            #(#cfgs)*
            {
                if ::azfn::__private::is_operation(__context.operation(), #wire) {
                    #read_input
                    return ::azfn::__private::OperationOutcome::of(#call);
                }
            }
        }
    });
    let asyncness = is_async.then(|| quote!(async));
    let function = format_ident!(
        "__azfn_entity_{}",
        entity_text
            .to_lowercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    );

    quote! {
        #item

        impl #self_ty {
            #(#constants)*
        }

        impl ::azfn::__private::Entity for #self_ty {
            const NAME: &'static str = #name;
        }

        #[::azfn::function(entity_trigger, name = #name)]
        #[doc(hidden)]
        #asyncness fn #function(__context: &mut ::azfn::__private::EntityContext<#self_ty>) -> ::azfn::__private::OperationOutcome {
            #(#arms)*
            ::azfn::__private::OperationOutcome::failed(__context.unknown_operation())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The expansion of `#[entity(<attr>)] <item>`, as text, or its errors.
    fn expand_text(attr: &str, item: &str) -> String {
        expand(attr.parse().unwrap(), item.parse().unwrap()).to_string()
    }

    #[test]
    fn methods_become_operations_with_constants_and_a_dispatching_function() {
        let out = expand_text(
            "",
            "impl Counter {
                pub fn add(&mut self, amount: i64) -> i64 { 0 }
                pub fn get(&self) -> Result<i64, Error> { Ok(0) }
                pub async fn notify(ctx: &mut EntityContext<Self>) {}
                fn helper(&self) {}
                pub fn new() -> Self { Counter }
            }",
        );
        assert!(
            out.contains("const ADD : :: azfn :: __private :: Operation < Counter , i64 , i64 >"),
            "{out}"
        );
        assert!(
            out.contains("const GET : :: azfn :: __private :: Operation < Counter , () , i64 >"),
            "{out}"
        );
        assert!(out.contains("const NOTIFY"), "{out}");
        assert!(!out.contains("HELPER") && !out.contains("const NEW"), "{out}");
        assert!(out.contains("entity_trigger , name = \"Counter\""), "{out}");
        assert!(out.contains("async fn __azfn_entity_counter"), "{out}");
        assert!(
            out.contains("< Counter > :: add (__context . state_mut () , __input)"),
            "{out}"
        );
        assert!(out.contains("< Counter > :: get (__context . state ())"), "{out}");
        assert!(out.contains("< Counter > :: notify (__context) . await"), "{out}");
    }

    #[test]
    fn an_operation_compiled_out_takes_its_constant_and_its_dispatch_with_it() {
        let out = expand_text(
            "",
            "impl Counter { #[cfg(feature = \"admin\")] pub fn reset(&mut self) {} pub fn get(&self) -> i64 { 0 } }",
        );
        assert!(
            out.contains("# [cfg (feature = \"admin\")] # [doc = \"The `reset` operation"),
            "{out}"
        );
        assert!(
            out.contains("# [cfg (feature = \"admin\")] { if :: azfn :: __private :: is_operation (__context . operation () , \"reset\")"),
            "{out}"
        );
    }

    #[test]
    fn a_rename_is_the_wire_name_and_the_attribute_is_removed() {
        let out = expand_text(
            "name = \"Cart\"",
            "impl ShoppingCart { #[operation(name = \"AddItem\")] pub fn add_item(&mut self, item: String) {} }",
        );
        assert!(out.contains("Operation :: new (\"AddItem\")"), "{out}");
        assert!(out.contains("const ADD_ITEM"), "{out}");
        assert!(out.contains("name = \"Cart\""), "{out}");
        assert!(!out.contains("# [operation"), "{out}");
        assert!(
            !out.contains("async fn"),
            "no async operation, no async function: {out}"
        );
    }

    #[test]
    fn mistakes_are_errors_and_the_block_is_kept() {
        let out = expand_text(
            "version = 2",
            "impl Counter {
                pub fn take(self) {}
                pub fn two(&mut self, a: i64, b: i64) {}
                pub fn borrowed(&mut self, name: &str) {}
                pub fn generic<T>(&mut self, t: T) {}
                pub fn Add(&mut self) {}
                pub fn add(&mut self) {}
            }",
        );
        for said in [
            "takes only `name",
            "takes `&self` or `&mut self`",
            "at most one input",
            "so it is owned",
            "is not generic",
            "already `Add`",
        ] {
            assert!(out.contains(said), "no `{said}` in {out}");
        }
        assert!(out.contains("impl Counter"), "{out}");
        assert!(!out.contains("entity_trigger"), "{out}");
    }

    #[test]
    fn a_block_without_operations_or_a_trait_impl_is_an_error() {
        assert!(expand_text("", "impl Counter { fn helper(&self) {} }").contains("has no operation"));
        assert!(
            expand_text("", "impl Default for Counter { fn default() -> Self { Counter } }")
                .contains("not on a trait's")
        );
        assert!(expand_text("", "fn counter() {}").contains("goes on an `impl` block"));
    }
}

//! The model of one `#[function]`: what the user wrote, read into plain data.

use proc_macro2::{Span, TokenStream};
use syn::{FnArg, GenericArgument, Ident, ItemFn, LitStr, PathArguments, ReturnType, Type};

use super::args::{self, Arg};
use super::attr::{self, BindingAttr};
use super::ctxt::Ctxt;
use super::name::{self, unraw};
use super::retry::{self, RetryDef};
use azfn_bindings::Role;

/// One parameter of the user's function.
pub struct Param {
    pub ty: Type,
    pub binding: Option<BindingAttr>,
    /// The binding name, for input bindings.
    pub binding_name: String,
}

/// The return type, with `Result` taken apart.
pub struct ReturnDef {
    /// The success type (`()` when the function returns nothing).
    pub ty: Type,
    /// Whether the function returns `Result<ty, E>`.
    pub fallible: bool,
    /// Where the error type is written (or the `Result` of an alias), for trait errors.
    pub error_span: Option<Span>,
}

/// Everything `#[function]` knows about the function it decorates.
pub struct FunctionDef {
    /// The user's function, binding attributes removed.
    pub item: ItemFn,
    /// The name the host will know, and what to point at if it is wrong.
    pub host_name: String,
    pub host_name_lit: Option<LitStr>,
    pub triggers: Vec<BindingAttr>,
    pub outputs: Vec<BindingAttr>,
    pub params: Vec<Param>,
    pub ret: ReturnDef,
    /// The attribute's own span, for errors about what is missing from it.
    pub attr_span: Span,
    /// Whether an argument was not understood (then "no trigger" would only repeat it).
    pub has_unknown_args: bool,
    /// `retry(...)`: the function-level retry policy.
    pub retry: Option<RetryDef>,
    /// Whether `retry(...)` was written (even if it did not parse).
    pub retry_written: Option<Ident>,
}

impl FunctionDef {
    pub fn from_ast(cx: &Ctxt, attr_args: TokenStream, mut item: ItemFn) -> FunctionDef {
        let attr_span = attr_args
            .clone()
            .into_iter()
            .next()
            .map_or_else(Span::call_site, |t| t.span());
        let mut def = FunctionDef {
            host_name: unraw(&item.sig.ident),
            host_name_lit: None,
            triggers: Vec::new(),
            outputs: Vec::new(),
            params: Vec::new(),
            ret: return_def(&item.sig.output),
            attr_span,
            has_unknown_args: false,
            retry: None,
            retry_written: None,
            item: item.clone(),
        };
        for arg in args::parse_args(cx, attr_args) {
            def.read_function_arg(cx, arg);
        }
        for input in item.sig.inputs.iter_mut() {
            if let FnArg::Typed(pat_type) = input {
                let binding = take_binding_attr(cx, &mut pat_type.attrs);
                let binding_name = match (&binding, &*pat_type.pat) {
                    (Some(b), _) if b.name.is_some() => b.name.as_ref().map(LitStr::value).unwrap_or_default(),
                    (_, syn::Pat::Ident(p)) => azfn_bindings::validate::binding_name_from_ident(&unraw(&p.ident)),
                    (Some(b), _) => b.kind.default_name.to_owned(),
                    (None, _) => String::new(),
                };
                def.params.push(Param {
                    ty: (*pat_type.ty).clone(),
                    binding,
                    binding_name,
                });
            }
        }
        def.item = item;
        def
    }

    fn read_function_arg(&mut self, cx: &Ctxt, arg: Arg) {
        if let Arg::KeyValue { key, value } = &arg
            && key == "name"
        {
            match value {
                args::Value::Lit(syn::Lit::Str(s)) => {
                    self.host_name = s.value();
                    self.host_name_lit = Some(s.clone());
                }
                _ => cx.error_at(value.span(), "`name` takes a string literal: the function's name"),
            }
            return;
        }
        let ident = arg.name().clone();
        if ident == "retry" {
            match &arg {
                Arg::Call { args, .. } => self.retry = retry::parse_retry(cx, &ident, args),
                _ => cx.error_spanned_by(
                    &ident,
                    "write `retry(fixed_delay, max_retry_count = 5, delay_interval = \"00:00:10\")` or `retry(exponential_backoff, max_retry_count = 5, minimum_interval = \"00:00:04\", maximum_interval = \"00:15:00\")`",
                ),
            }
            self.retry_written = Some(ident);
            return;
        }
        let Some(kind) = attr::lookup_kind(&ident) else {
            self.has_unknown_args = true;
            let places = azfn_bindings::catalog::ALL
                .iter()
                .filter(|k| k.role != Role::Input)
                .map(|k| k.attr)
                .chain(["retry", "name"]);
            if let Some(close) = name::closest(&ident.to_string(), places) {
                cx.error_spanned_by(&ident, format!("unknown argument `{ident}`; did you mean `{close}`?"));
                return;
            }
            cx.error_spanned_by(
                &ident,
                format!(
                    "unknown argument `{ident}`: expected a trigger ({}), an output for the return value ({}), `retry(...)`, or `name = \"...\"`",
                    attr::expected_list(Role::Trigger),
                    attr::expected_list(Role::Output)
                ),
            );
            return;
        };
        let binding_args = match arg {
            Arg::Call { args, .. } => args,
            Arg::Flag(_) => Vec::new(),
            Arg::KeyValue { .. } => {
                cx.error_spanned_by(&ident, format!("write `{ident}(...)`, not `{ident} = ...`"));
                return;
            }
        };
        let binding = attr::parse_binding(cx, kind, &ident, &binding_args);
        match kind.role {
            Role::Trigger => self.triggers.push(binding),
            Role::Output => self.outputs.push(binding),
            Role::Input => cx.error_spanned_by(
                &ident,
                format!("`{ident}` is an input binding: put `#[{ident}(...)]` on the parameter that receives it"),
            ),
        }
    }
}

/// Removes azfn's binding attribute from a parameter's attributes and reads it.
fn take_binding_attr(cx: &Ctxt, attrs: &mut Vec<syn::Attribute>) -> Option<BindingAttr> {
    let mut found: Option<BindingAttr> = None;
    attrs.retain(|attribute| {
        let Some(ident) = attribute.path().get_ident().cloned() else { return true };
        let name = ident.to_string();
        let kind = attr::lookup_kind(&ident);
        let looks_like_ours = name.ends_with("_input") || name.ends_with("_trigger") || name.ends_with("_output");
        let Some(kind) = kind else {
            if looks_like_ours {
                cx.error_spanned_by(
                    &ident,
                    format!("unknown binding `{name}`: parameters take input bindings ({})", attr::expected_list(Role::Input)),
                );
                return false;
            }
            return true;
        };
        match kind.role {
            Role::Trigger => cx.error_spanned_by(
                &ident,
                format!("the trigger goes in the function attribute: `#[function({name}(...))]`; the trigger's payload goes to the first parameter without a binding attribute"),
            ),
            Role::Output => cx.error_spanned_by(
                &ident,
                format!("`{name}` is an output: outputs are written through the return value, either `#[function(..., {name}(...))]` or a field of a `#[derive(FunctionOutput)]` struct"),
            ),
            Role::Input => {
                let tokens = match &attribute.meta {
                    syn::Meta::Path(_) => TokenStream::new(),
                    syn::Meta::List(list) => list.tokens.clone(),
                    syn::Meta::NameValue(nv) => {
                        cx.error_spanned_by(nv, format!("write `#[{name}(key = value, ...)]`"));
                        TokenStream::new()
                    }
                };
                let binding = attr::parse_binding(cx, kind, &ident, &args::parse_args(cx, tokens));
                if found.is_some() {
                    cx.error_spanned_by(&ident, "a parameter takes one binding attribute; this one has two");
                } else {
                    found = Some(binding);
                }
            }
        }
        false
    });
    found
}

/// Reads `Result<T, E>` (or an alias `Result<T>`) apart; anything else is its own success type.
///
/// `Result` is recognised by name because the success type is needed as a type, at compile
/// time, for the output bindings; an alias with another name is treated as a plain value and
/// the trait check on it says what to write instead.
pub fn return_def(output: &ReturnType) -> ReturnDef {
    let ty = match output {
        ReturnType::Default => {
            return ReturnDef {
                ty: syn::parse_quote!(()),
                fallible: false,
                error_span: None,
            };
        }
        ReturnType::Type(_, ty) => (**ty).clone(),
    };
    if let Type::Path(path) = &ty
        && let Some(last) = path.path.segments.last()
        && last.ident == "Result"
        && let PathArguments::AngleBracketed(args) = &last.arguments
        && let Some(GenericArgument::Type(ok)) = args.args.first()
    {
        use syn::spanned::Spanned;
        let error_span = args.args.iter().nth(1).map_or(last.ident.span(), |e| e.span());
        return ReturnDef {
            ty: ok.clone(),
            fallible: true,
            error_span: Some(error_span),
        };
    }
    ReturnDef {
        ty,
        fallible: false,
        error_span: None,
    }
}

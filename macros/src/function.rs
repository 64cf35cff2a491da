//! `#[function]`: parse → model → check → generate.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::ItemFn;
use syn::spanned::Spanned;

use crate::codegen::{at, binding_description, cardinality_checks, kind_marker, private_imports};
use crate::internals::ast::FunctionDef;
use crate::internals::check::{self, Durable, binding_name_of_trigger};
use crate::internals::ctxt::{Ctxt, item_with_errors};
use crate::internals::retry::{RetryDef, Strategy};

pub fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item: ItemFn = match syn::parse2(item.clone()) {
        Ok(item) => item,
        Err(error) => {
            let message = syn::Error::new(
                error.span(),
                "`#[function]` goes on a function: `async fn name(...) { ... }`",
            );
            return item_with_errors(item, &message);
        }
    };
    let cx = Ctxt::new();
    let def = FunctionDef::from_ast(&cx, attr, item);
    check::check(&cx, &def);
    let user_fn = &def.item;
    match cx.check() {
        Ok(()) => {
            // A durable function becomes a value naming it (`typed.rs`), when its signature
            // allows; generated code then calls it by its hidden name.
            let typed = def
                .triggers
                .first()
                .and_then(Durable::of)
                .and_then(|role| crate::typed::typed_form(&def, role));
            match typed {
                Some(typed) => {
                    let generated = generate(&def, &typed.callee);
                    let items = typed.items;
                    quote!(#items #generated)
                }
                None => {
                    let generated = generate(&def, &def.item.sig.ident);
                    quote!(#user_fn #generated)
                }
            }
        }
        Err(errors) => item_with_errors(user_fn, &errors),
    }
}

/// The registration of `def`, whose function generated code calls as `fn_ident`.
fn generate(def: &FunctionDef, fn_ident: &syn::Ident) -> TokenStream {
    let imports = private_imports();
    let trigger = &def.triggers[0];
    let trigger_kind = kind_marker(trigger);
    let host_name = &def.host_name;
    let rust_name = def.item.sig.ident.to_string();

    let durable = Durable::of(trigger);
    // Bindings: the trigger, the inputs in parameter order, then a function-level output.
    // Durable triggers' values are always text, whatever the Rust type (and an activity's
    // input may well be a list), so their payload type decides nothing.
    let payload_ty = def
        .params
        .iter()
        .find(|p| p.binding.is_none())
        .map(|p| &p.ty)
        .filter(|_| durable.is_none());
    let trigger_tys: Vec<&syn::Type> = def
        .params
        .iter()
        .filter(|p| p.binding.is_none())
        .map(|p| &p.ty)
        .collect();
    let mut bindings = vec![binding_description(
        trigger,
        &binding_name_of_trigger(trigger),
        payload_ty,
        &trigger_tys,
    )];
    for param in &def.params {
        if let Some(binding) = &param.binding {
            bindings.push(binding_description(
                binding,
                &param.binding_name,
                Some(&param.ty),
                &[&param.ty],
            ));
        }
    }
    let ret_ty = &def.ret.ty;
    let return_output = def.outputs.first();
    if let Some(output) = return_output {
        bindings.push(binding_description(output, "$return", Some(ret_ty), &[]));
    }
    let binding_count = bindings.len();
    let streams_request_body = streams_request_body(&trigger_kind, &trigger_tys);
    let batch_checks = cardinality_checks(trigger, payload_ty);
    let retry = retry_policy(def.retry.as_ref());

    // Arguments, each converted through the trait its role calls for, spanned at its type so
    // a type that cannot bind is reported on the user's parameter.
    let args = def.params.iter().enumerate().map(|(i, param)| {
        let ty = &param.ty;
        let var = quote::format_ident!("__arg{}", i);
        match &param.binding {
            // Through `ParameterOf`, so that an SDK client (an inherent item there) is read
            // its own way and every other type through the traits (see core/src/clients.rs).
            None => quote_spanned! {at(ty.span())=>
                let #var = <__azfn::ParameterOf<#ty, #trigger_kind>>::from_invocation(&__invocation)?;
            },
            Some(binding) => {
                let marker = kind_marker(binding);
                let name = &param.binding_name;
                quote_spanned! {at(ty.span())=>
                    let #var = <__azfn::ParameterOf<#ty, #marker>>::from_input_binding(&__invocation, #name)?;
                }
            }
        }
    });
    let arg_vars = (0..def.params.len()).map(|i| quote::format_ident!("__arg{}", i));
    let call = if def.item.sig.asyncness.is_some() {
        quote!(#fn_ident(#(#arg_vars),*).await)
    } else {
        quote!(#fn_ident(#(#arg_vars),*))
    };
    let error_span = at(def.ret.error_span.unwrap_or_else(Span::call_site));
    let unwrap_result = def.ret.fallible.then(|| {
        quote_spanned! {error_span=>
            let __value = match __value {
                __azfn::Ok(value) => value,
                __azfn::Err(error) => return __azfn::Err(__azfn::function_error(error)),
            };
        }
    });

    let ret_span = at(match &def.item.sig.output {
        syn::ReturnType::Type(_, ty) => ty.span(),
        syn::ReturnType::Default => def.item.sig.ident.span(),
    });
    let (return_bindings, write_outputs, return_checks) = match return_output {
        Some(output) => {
            let marker = kind_marker(output);
            let index = binding_count - 1;
            (
                quote!(&[]),
                quote_spanned! {ret_span=>
                    __azfn::write_output::<#marker, #ret_ty>(&mut __outputs, &__BINDINGS[#index], __value)?;
                },
                quote!(),
            )
        }
        None => {
            let is_http = trigger.kind.is_http_trigger();
            let check = if is_http {
                "an http_trigger function must answer with an HTTP response: give the returned struct an `#[http_output]` field"
            } else {
                "only an http_trigger function has an HTTP response: remove the `#[http_output]` field from the returned struct"
            };
            (
                quote_spanned!(ret_span=> <#ret_ty as __azfn::ReturnOutputs<#trigger_kind>>::BINDINGS),
                quote_spanned! {ret_span=>
                    <#ret_ty as __azfn::ReturnOutputs<#trigger_kind>>::write_outputs(__value, &mut __outputs)?;
                },
                quote_spanned! {ret_span=>
                    const _: () = ::core::assert!(
                        <#ret_ty as __azfn::ReturnOutputs<#trigger_kind>>::HAS_HTTP == #is_http,
                        #check
                    );
                    const _: () = ::core::assert!(
                        __azfn::distinct_binding_names(&__BINDINGS, <#ret_ty as __azfn::ReturnOutputs<#trigger_kind>>::BINDINGS),
                        "a field of the returned struct has the same binding name as a parameter's binding (names are compared case-insensitively)"
                    );
                },
            )
        }
    };
    let args: Vec<TokenStream> = args.collect();
    let fn_span = at(fn_ident.span());
    // Orchestrators and entities are driven by the replay engine and the batch runner, which
    // call the user's function themselves.
    let (body, return_bindings, return_checks) = match durable {
        Some(Durable::Orchestrator) => {
            // The parameter goes through a trait so that a wrong type is reported at it, in
            // our words (the check has made sure there is exactly one).
            let context_ty = &def.params[0].ty;
            let context = quote_spanned! {at(context_ty.span())=>
                <#context_ty as __azfn::OrchestrationParameter>::from_context(__context)
            };
            let orchestrate = if def.params.len() == 2 {
                // A typed input, read from the instance's before the function runs.
                quote_spanned! {fn_span=>
                    __azfn::durable_orchestrate(&__invocation, |__context| {
                        __azfn::orchestrate_with_input(__context, |__context, __input| #fn_ident(#context, __input))
                    })
                }
            } else {
                quote_spanned! {fn_span=>
                    __azfn::durable_orchestrate(&__invocation, |__context| #fn_ident(#context))
                }
            };
            (orchestrate, quote!(&[]), quote!())
        }
        Some(Durable::Entity) if def.item.sig.asyncness.is_some() => (
            quote_spanned! {fn_span=>
                __azfn::durable_entity_async(&__invocation, |__context| __azfn::Box::pin(#fn_ident(__context))).await
            },
            quote!(&[]),
            quote!(),
        ),
        Some(Durable::Entity) => (
            quote_spanned! {fn_span=> __azfn::durable_entity(&__invocation, #fn_ident) },
            quote!(&[]),
            quote!(),
        ),
        _ => (
            quote! {
                #(#args)*
                let __value = #call;
                #unwrap_result
                let mut __outputs = __azfn::Outputs::default();
                #write_outputs
                __azfn::Ok(__outputs)
            },
            return_bindings,
            return_checks,
        ),
    };

    quote_spanned! {Span::call_site()=>
        #[doc(hidden)]
        #[allow(non_upper_case_globals, clippy::all)]
        const _: () = {
            #imports
            static __BINDINGS: [__azfn::BindingDescription; #binding_count] = [#(#bindings),*];
            #return_checks
            #batch_checks
            static __FUNCTION: __azfn::FunctionDescription = __azfn::FunctionDescription {
                name: #host_name,
                rust_path: ::core::concat!(::core::module_path!(), "::", #rust_name),
                location: (::core::file!(), ::core::line!()),
                bindings: &__BINDINGS,
                return_bindings: #return_bindings,
                retry: #retry,
                streams_request_body: #streams_request_body,
                invoke: __invoke,
            };
            fn __invoke(__invocation: __azfn::Invocation) -> __azfn::InvokeFuture {
                __azfn::Box::pin(async move { #body })
            }
            __azfn::inventory::submit!(__azfn::Registration(&__FUNCTION));
        };
    }
}

/// The `streams_request_body` field of the description: whether a parameter without a binding
/// takes the request body unread, decided at compile time through `ParameterOf`.
fn streams_request_body(trigger_kind: &TokenStream, trigger_tys: &[&syn::Type]) -> TokenStream {
    let flags = trigger_tys
        .iter()
        .map(|ty| quote_spanned!(at(ty.span())=> <__azfn::ParameterOf<#ty, #trigger_kind>>::STREAMS_BODY));
    quote!(__azfn::any_of(&[#(#flags),*]))
}

/// The `retry` field of the description.
fn retry_policy(retry: Option<&RetryDef>) -> TokenStream {
    let Some(retry) = retry else {
        return quote!(::core::option::Option::None);
    };
    let count = retry.max_retry_count;
    let policy = match &retry.strategy {
        Strategy::FixedDelay { delay_interval } => quote! {
            __azfn::RetryPolicy::FixedDelay { max_retry_count: #count, delay_interval: #delay_interval }
        },
        Strategy::ExponentialBackoff {
            minimum_interval,
            maximum_interval,
        } => quote! {
            __azfn::RetryPolicy::ExponentialBackoff {
                max_retry_count: #count,
                minimum_interval: #minimum_interval,
                maximum_interval: #maximum_interval,
            }
        },
    };
    quote!(::core::option::Option::Some(#policy))
}

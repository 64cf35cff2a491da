//! Rules that involve more than one attribute: the function's shape, one trigger, unique
//! names, outputs that fit the trigger.

use azfn_bindings::catalog::{self, BUILTIN_EXPRESSIONS, TriggerData};
use azfn_bindings::{Problem, Role, validate};
use quote::ToTokens;
use syn::{FnArg, GenericParam};

use super::ast::FunctionDef;
use super::attr::expected_list;
use super::ctxt::Ctxt;
use super::lit;

pub fn check(cx: &Ctxt, def: &FunctionDef) {
    check_shape(cx, def);
    check_name(cx, def);
    check_trigger(cx, def);
    check_outputs(cx, def);
    check_binding_names(cx, def);
    check_retry(cx, def);
    check_expressions(cx, def);
    check_durable(cx, def);
}

/// Which Durable Functions role a trigger gives its function, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durable {
    Orchestrator,
    Activity,
    Entity,
}

impl Durable {
    pub fn of(trigger: &super::attr::BindingAttr) -> Option<Durable> {
        let json_type = trigger.kind.json_type;
        if json_type == catalog::ORCHESTRATION_TRIGGER.json_type {
            Some(Durable::Orchestrator)
        } else if json_type == catalog::ACTIVITY_TRIGGER.json_type {
            Some(Durable::Activity)
        } else if json_type == catalog::ENTITY_TRIGGER.json_type {
            Some(Durable::Entity)
        } else {
            None
        }
    }
}

/// Durable functions answer through their return value, which the host hands to the extension
/// as it is: a declared `$return` would make the host base64-decode it. Orchestrators and
/// entities are run by the replay engine, so they take their context (and an orchestrator,
/// optionally, its input).
fn check_durable(cx: &Ctxt, def: &FunctionDef) {
    let Some(role) = def.triggers.first().and_then(Durable::of) else {
        return;
    };
    let attr = def.triggers[0].kind.attr;
    if let Some(output) = def.outputs.first() {
        cx.error_spanned_by(
            &output.ident,
            format!("an `{attr}` function's return value goes back to Durable Functions, not to an output binding: remove `{}`", output.kind.attr),
        );
    }
    let (context, example) = match role {
        Durable::Activity => return,
        Durable::Orchestrator => (
            "OrchestrationContext",
            "async fn(ctx: OrchestrationContext) -> Result<T, azfn::Error>",
        ),
        Durable::Entity => (
            "EntityContext",
            "fn(ctx: &mut EntityContext<State>) -> Result<T, azfn::Error>",
        ),
    };
    if role == Durable::Orchestrator && def.item.sig.asyncness.is_none() {
        cx.error_spanned_by(
            def.item.sig.fn_token,
            format!("an orchestrator is an `async fn`: `{example}`"),
        );
    }
    for param in &def.params {
        if let Some(binding) = &param.binding {
            cx.error_spanned_by(
                &binding.ident,
                format!("an `{attr}` function takes only its `{context}`; input bindings belong to activities"),
            );
        }
    }
    // An orchestrator may take its input as a second parameter, which makes it typed.
    let (most, expected) = match role {
        Durable::Orchestrator => (
            2,
            format!(
                "an `{attr}` function takes its `{context}` and, optionally, its input: `{example}` or `async fn(ctx: OrchestrationContext, input: I) -> ...`"
            ),
        ),
        _ => (
            1,
            format!("an `{attr}` function takes exactly one parameter, its `{context}`: `{example}`"),
        ),
    };
    if def.params.is_empty() || def.params.len() > most {
        let span = match def.item.sig.inputs.iter().nth(most) {
            Some(extra) => syn::spanned::Spanned::span(extra),
            None => def.item.sig.ident.span(),
        };
        cx.error_at(span, expected);
    }
}

/// Function-level retry applies only to triggers with the capability (AZFW0012).
fn check_retry(cx: &Ctxt, def: &FunctionDef) {
    let (Some(retry), Some(trigger)) = (&def.retry_written, def.triggers.first()) else {
        return;
    };
    if trigger.kind.supports_retry {
        return;
    }
    let capable: Vec<String> = catalog::ALL
        .iter()
        .filter(|k| k.supports_retry)
        .map(|k| format!("`{}`", k.attr))
        .collect();
    cx.error_spanned_by(
        retry,
        format!(
            "`{}` does not support function-level retry; only {} do. Its own retry settings live in host.json",
            trigger.kind.attr,
            capable.join(", ")
        ),
    );
}

/// `{expressions}` in the other bindings must name something in the trigger's binding data,
/// where the catalog says what that is.
fn check_expressions(cx: &Ctxt, def: &FunctionDef) {
    let Some(trigger) = def.triggers.first() else { return };
    let (fixed, from_trigger, what): (&[&str], Vec<String>, &str) = match trigger.kind.trigger_data {
        TriggerData::Open => return,
        TriggerData::Fixed(names) => (names, Vec::new(), "names"),
        TriggerData::PathPattern(names) => (names, path_parameters(trigger), "path parameters"),
    };
    let bindings = def.params.iter().filter_map(|p| p.binding.as_ref()).chain(&def.outputs);
    for binding in bindings {
        for (literal, range, expression) in &binding.expressions {
            let head = expression.split(['.', ':']).next().unwrap_or_default().trim();
            let known = fixed
                .iter()
                .chain(BUILTIN_EXPRESSIONS)
                .map(|s| s.to_string())
                .chain(from_trigger.iter().cloned())
                .any(|name| name.eq_ignore_ascii_case(head));
            if known {
                continue;
            }
            let mut offered: Vec<String> = from_trigger.iter().map(|n| format!("`{n}`")).collect();
            if offered.is_empty() {
                offered.push(format!("no {what}"));
            }
            let extra: Vec<String> = fixed.iter().map(|n| format!("`{n}`")).collect();
            let help = format!(
                "the `{}` trigger offers {}{}{}, and `{{rand-guid}}`, `{{DateTime}}`, `{{sys.UtcNow}}`",
                trigger.kind.attr,
                offered.join(", "),
                if extra.is_empty() { "" } else { "; also " },
                extra.join(", ")
            );
            let problem = Problem::new(
                range.clone(),
                format!(
                    "binding expression `{{{expression}}}` names nothing the `{}` trigger provides",
                    trigger.kind.attr
                ),
            )
            .with_help(help);
            lit::report(cx, literal, &problem);
        }
    }
}

fn path_parameters(trigger: &super::attr::BindingAttr) -> Vec<String> {
    let path = trigger.str_prop("path").unwrap_or_default();
    validate::binding_expressions(path)
        .map(|found| found.into_iter().map(|(_, name)| name).collect())
        .unwrap_or_default()
}

fn check_shape(cx: &Ctxt, def: &FunctionDef) {
    let sig = &def.item.sig;
    if let syn::Safety::Unsafe(token) = &sig.safety {
        cx.error_spanned_by(
            token,
            "an Azure Function cannot be `unsafe`: the host calls it with no way to uphold a safety contract",
        );
    }
    if let Some(token) = &sig.constness {
        cx.error_spanned_by(token, "an Azure Function cannot be a `const fn`");
    }
    if let Some(abi) = &sig.abi {
        cx.error_spanned_by(abi, "an Azure Function cannot have an `extern` ABI");
    }
    if let Some(variadic) = &sig.variadic {
        cx.error_spanned_by(variadic, "an Azure Function cannot be variadic");
    }
    for param in &sig.generics.params {
        let what = match param {
            GenericParam::Type(_) => "type parameters",
            GenericParam::Lifetime(_) => "lifetime parameters",
            GenericParam::Const(_) => "const parameters",
        };
        cx.error_spanned_by(
            param,
            format!("an Azure Function cannot have {what}: the host calls it with concrete types"),
        );
    }
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => cx.error_spanned_by(
                receiver,
                "an Azure Function cannot take `self`: write a free function (shared state goes in the app)",
            ),
            FnArg::Typed(pat_type) => {
                if let syn::Type::ImplTrait(t) = &*pat_type.ty {
                    cx.error_spanned_by(t, "an Azure Function needs concrete parameter types, not `impl Trait`");
                }
            }
        }
    }
}

fn check_name(cx: &Ctxt, def: &FunctionDef) {
    if let Err(problem) = validate::check_function_name(&def.host_name) {
        match &def.host_name_lit {
            Some(lit) => lit::report(cx, lit, &problem),
            None => cx.error_spanned_by(
                &def.item.sig.ident,
                format!(
                    "{}; choose a valid one with `#[function(name = \"...\", ...)]`",
                    problem.message
                ),
            ),
        }
    }
}

fn check_trigger(cx: &Ctxt, def: &FunctionDef) {
    match def.triggers.as_slice() {
        [] if def.has_unknown_args => {}
        [] => cx.error_at(
            def.attr_span,
            format!(
                "this function has no trigger: add one of {} to `#[function(...)]`",
                expected_list(Role::Trigger)
            ),
        ),
        [_] => {}
        [first, rest @ ..] => {
            for extra in rest {
                cx.error_spanned_by(
                    &extra.ident,
                    format!(
                        "a function has exactly one trigger; this one already has `{}`",
                        first.kind.attr
                    ),
                );
            }
        }
    }
}

fn check_outputs(cx: &Ctxt, def: &FunctionDef) {
    for extra in def.outputs.iter().skip(1) {
        cx.error_spanned_by(
            &extra.ident,
            "the return value goes to one output; to write several, return a `#[derive(FunctionOutput)]` struct",
        );
    }
    let (Some(trigger), Some(output)) = (def.triggers.first(), def.outputs.first()) else {
        return;
    };
    let http_trigger = trigger.kind.is_http_trigger();
    let http_output = output.kind.is_http_output();
    if http_output && !http_trigger {
        cx.error_spanned_by(
            &output.ident,
            format!(
                "`http_output` is the response of an `http_trigger` function; this one has `{}`",
                trigger.kind.attr
            ),
        );
    }
    if http_trigger && !http_output {
        cx.error_spanned_by(
            &output.ident,
            format!("the return value of an `http_trigger` function is its HTTP response; to also write `{}`, return a `#[derive(FunctionOutput)]` struct with an `#[http_output]` field", output.kind.attr),
        );
    }
}

fn check_binding_names(cx: &Ctxt, def: &FunctionDef) {
    let mut seen: Vec<String> = def
        .triggers
        .first()
        .map(|t| binding_name_of_trigger(t).to_ascii_lowercase())
        .into_iter()
        .collect();
    for param in &def.params {
        let Some(binding) = &param.binding else { continue };
        if let Err(problem) = validate::check_binding_name(&param.binding_name) {
            cx.error_spanned_by(
                param.ty.to_token_stream(),
                format!(
                    "{}; name the binding with `#[{}(name = \"...\", ...)]`",
                    problem.message, binding.kind.attr
                ),
            );
            continue;
        }
        let lower = param.binding_name.to_ascii_lowercase();
        if seen.contains(&lower) {
            let at = binding
                .name
                .as_ref()
                .map_or_else(|| binding.ident.to_token_stream(), |n| n.to_token_stream());
            cx.error_spanned_by(
                at,
                format!("two bindings of this function are named `{}` (binding names are compared case-insensitively); rename one with `name = \"...\"`", param.binding_name),
            );
        }
        seen.push(lower);
    }
}

/// The trigger's binding name: chosen with `name = "..."` or the kind's default.
pub fn binding_name_of_trigger(trigger: &super::attr::BindingAttr) -> String {
    trigger
        .name
        .as_ref()
        .map_or_else(|| trigger.kind.default_name.to_owned(), syn::LitStr::value)
}

//! Binding attributes, read against the catalog: `queue_trigger(queue_name = "orders")`.
//!
//! Nothing here returns early on a user error: each bad key or value is reported at its own
//! span and skipped, so one expansion shows every mistake.

use std::ops::Range;

use azfn_bindings::catalog::{self, BindingKind, KeyRule};
use azfn_bindings::{Role, ValueRule, ValueShape};
use proc_macro2::Span;
use syn::{Ident, Lit, LitStr};

use super::args::{Arg, Value};
use super::ctxt::Ctxt;
use super::{lit, name};

/// A key's value, checked and ready for `function.json`.
pub enum PropValue {
    Str(String),
    Bool(bool),
    Int(i64),
    List(Vec<String>),
}

/// One binding attribute, parsed and checked.
pub struct BindingAttr {
    pub kind: &'static BindingKind,
    /// The attribute's name, for spans.
    pub ident: Ident,
    /// `name = "..."`: the binding name chosen by the user.
    pub name: Option<LitStr>,
    /// `(json key, value)` in the order written.
    pub props: Vec<(String, PropValue)>,
    /// A generic binding's `type`.
    pub json_type: Option<String>,
    /// `cardinality = "one" | "many"` as written: whether it says many, and where.
    pub cardinality: Option<(bool, Span)>,
    /// `{expressions}` in values the host resolves from the trigger's binding data: the literal,
    /// the expression's range inside it, and its text.
    pub expressions: Vec<(LitStr, Range<usize>, String)>,
}

impl BindingAttr {
    /// The value of the `function.json` key `json`, if set to a string.
    pub fn str_prop(&self, json: &str) -> Option<&str> {
        self.props.iter().find_map(|(k, v)| match v {
            PropValue::Str(s) if k == json => Some(s.as_str()),
            _ => None,
        })
    }
}

/// The roles a place accepts, for "expected one of" messages.
pub fn expected_list(role: Role) -> String {
    catalog::attrs_with_role(role)
        .map(|a| format!("`{a}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Looks up `ident` as a binding kind.
pub fn lookup_kind(ident: &Ident) -> Option<&'static BindingKind> {
    catalog::by_attr(&ident.to_string())
}

/// Reads the arguments of the binding `kind`, written at `ident(args)`.
pub fn parse_binding(cx: &Ctxt, kind: &'static BindingKind, ident: &Ident, args: &[Arg]) -> BindingAttr {
    let mut attr = BindingAttr {
        kind,
        ident: ident.clone(),
        name: None,
        props: Vec::new(),
        json_type: None,
        cardinality: None,
        expressions: Vec::new(),
    };
    check_feature(cx, kind, ident);
    let mut seen: Vec<&Ident> = Vec::new();
    // Keys suggested for a typo: the typo is the one error, not also their absence.
    let mut suggested: Vec<&'static str> = Vec::new();
    for arg in args {
        let key = arg.name();
        let key_str = key.to_string();
        if seen.iter().any(|k| **k == key_str) {
            cx.error_spanned_by(key, format!("`{key_str}` is set twice in `{}`", kind.attr));
            continue;
        }
        seen.push(key);
        if key_str == "name" {
            read_name(cx, &mut attr, arg);
            continue;
        }
        let Some(spec) = kind.key(&key_str) else {
            if kind.open_keys {
                read_open_key(cx, &mut attr, arg);
            } else if let Some(why) = kind.refusal(&key_str) {
                cx.error_spanned_by(key, why);
            } else {
                suggested.extend(unknown_key(cx, kind, key));
            }
            continue;
        };
        let shape = spec.rule.shape();
        let value = match arg {
            Arg::KeyValue { value, .. } => value,
            // A bare boolean key means `true`: `run_on_startup`.
            Arg::Flag(_) if shape == ValueShape::Bool => {
                attr.props.push((spec.json.to_owned(), PropValue::Bool(true)));
                continue;
            }
            Arg::Flag(_) | Arg::Call { .. } => {
                cx.error_spanned_by(
                    key,
                    format!("`{key_str}` needs a value: `{key_str} = {}`", example(shape)),
                );
                continue;
            }
        };
        let Some(prop) = check_value(cx, kind, spec, value) else {
            continue;
        };
        store(cx, &mut attr, spec, value, prop);
    }
    for spec in kind.keys.iter().filter(|k| k.required) {
        if !seen.iter().any(|s| *s == spec.attr) && !suggested.contains(&spec.attr) {
            cx.error_spanned_by(ident, format!("`{}` needs `{}`: {}", kind.attr, spec.attr, spec.doc));
        }
    }
    check_key_rules(cx, kind, ident, &seen, &suggested);
    // Keys the host needs although the user left them out (the catalog says which and why).
    for (spec, value) in kind.fills(|k| seen.iter().any(|s| *s == k)) {
        attr.props
            .push((spec.json.to_owned(), PropValue::Str(value.to_owned())));
    }
    attr
}

/// Files a checked value where it belongs: the generic `type`, the `cardinality` (which the
/// macro writes itself, from the payload type), or the properties.
fn store(cx: &Ctxt, attr: &mut BindingAttr, spec: &azfn_bindings::KeySpec, value: &Value, prop: PropValue) {
    match (spec.json, prop) {
        (json, PropValue::Str(s)) if json == catalog::GENERIC_TYPE.json && attr.kind.open_keys => {
            check_generic_type(cx, attr.kind, value, &s);
            attr.json_type = Some(s);
        }
        (json, PropValue::Str(s)) if json == catalog::CARDINALITY.json => {
            attr.cardinality = Some((s == "many", value.span()));
        }
        (json, prop) => {
            if let (PropValue::Str(_), Value::Lit(Lit::Str(lit))) = (&prop, value)
                && spec.rule.has_expressions()
            {
                let text = lit.value();
                for (range, expression) in azfn_bindings::validate::binding_expressions(&text).unwrap_or_default() {
                    attr.expressions.push((lit.clone(), range, expression));
                }
            }
            attr.props.push((json.to_owned(), prop));
        }
    }
}

// `name = "order"`: the binding name.
fn read_name(cx: &Ctxt, attr: &mut BindingAttr, arg: &Arg) {
    match arg {
        Arg::KeyValue {
            value: Value::Lit(Lit::Str(s)),
            ..
        } => {
            if let Err(problem) = azfn_bindings::validate::check_binding_name(&s.value()) {
                lit::report(cx, s, &problem);
            }
            attr.name = Some(s.clone());
        }
        _ => cx.error_spanned_by(
            arg.name(),
            "`name` takes a string literal: the binding name, e.g. `name = \"order\"`",
        ),
    }
}

/// Reports `key` as unknown; returns the key suggested instead, if any.
fn unknown_key(cx: &Ctxt, kind: &'static BindingKind, key: &Ident) -> Option<&'static str> {
    if let Some(close) = name::closest(&key.to_string(), kind.keys.iter().map(|k| k.attr)) {
        cx.error_spanned_by(
            key,
            format!("`{}` has no key `{key}`; did you mean `{close}`?", kind.attr),
        );
        return Some(close);
    }
    let keys: Vec<String> = kind
        .keys
        .iter()
        .map(|k| format!("`{}`", k.attr))
        .chain(["`name`".into()])
        .collect();
    cx.error_spanned_by(
        key,
        format!("`{}` has no key `{key}`; it takes {}", kind.attr, keys.join(", ")),
    );
    None
}

/// The host reads a trigger by its `type` ending in `Trigger`; a generic binding must agree
/// with the place it is written in.
fn check_generic_type(cx: &Ctxt, kind: &BindingKind, value: &Value, json_type: &str) {
    let is_trigger = json_type.to_ascii_lowercase().ends_with("trigger");
    let wanted = kind.role == Role::Trigger;
    if is_trigger != wanted {
        let message = if wanted {
            format!(
                "a trigger's `type` ends in `Trigger` (the host tells triggers by it): `{json_type}` would be an input or output"
            )
        } else {
            format!(
                "`{json_type}` ends in `Trigger`, which makes it a trigger for the host: use `generic_trigger(type = \"{json_type}\", ...)` in `#[function(...)]`"
            )
        };
        cx.error_at(value.span(), message);
    }
}

/// `any_key = value` of a generic binding, written into `function.json` camelCased
/// (`event_hub_name` → `eventHubName`; a key without `_` stays as written).
fn read_open_key(cx: &Ctxt, attr: &mut BindingAttr, arg: &Arg) {
    let key = arg.name();
    let json = name::camel_case(&name::unraw(key));
    let prop = match arg {
        Arg::Flag(_) => Some(PropValue::Bool(true)),
        Arg::Call { .. } => None,
        Arg::KeyValue { value, .. } => match value {
            Value::Lit(Lit::Str(s)) => Some(PropValue::Str(s.value())),
            Value::Lit(Lit::Bool(b)) => Some(PropValue::Bool(b.value)),
            Value::Lit(Lit::Int(i)) => i.base10_parse::<i64>().ok().map(PropValue::Int),
            Value::List { items, .. } => items
                .iter()
                .map(|item| match item {
                    Lit::Str(s) => Some(s.value()),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
                .map(PropValue::List),
            _ => None,
        },
    };
    match prop {
        Some(prop) => attr.props.push((json, prop)),
        None => cx.error_spanned_by(
            key,
            format!(
                "`{key}` of `{}` takes a string, integer or boolean literal, or a list of strings",
                attr.kind.attr
            ),
        ),
    }
}

/// Each family of kinds is compiled into `azfn` only with its cargo feature; say which one
/// instead of letting the generated code fail on a missing type.
fn check_feature(cx: &Ctxt, kind: &BindingKind, ident: &Ident) {
    let Some(feature) = kind.feature else { return };
    if !crate::features::enabled(feature) {
        cx.error_spanned_by(ident, crate::features::missing(kind.attr, feature));
    }
}

/// The catalog's rules across keys: exactly one of, at most one of, all or none of, one only
/// with others.
fn check_key_rules(cx: &Ctxt, kind: &BindingKind, ident: &Ident, seen: &[&Ident], suggested: &[&str]) {
    let list = |keys: &[&str]| keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
    for rule in kind.key_rules {
        let keys = rule.keys();
        let set: Vec<&Ident> = seen.iter().copied().filter(|s| keys.iter().any(|k| *s == k)).collect();
        match rule {
            KeyRule::ExactlyOne(_) if set.is_empty() && !keys.iter().any(|k| suggested.contains(k)) => {
                cx.error_spanned_by(ident, format!("`{}` needs one of {}", kind.attr, list(keys)))
            }
            KeyRule::ExactlyOne(_) | KeyRule::AtMostOne(_) if set.len() > 1 => cx.error_spanned_by(
                set[1],
                format!(
                    "`{}` takes only one of {}: `{}` is set already",
                    kind.attr,
                    list(keys),
                    set[0]
                ),
            ),
            KeyRule::Requires(_) => {
                let Some(first) = set.iter().find(|s| **s == keys[0]) else {
                    continue;
                };
                let missing: Vec<&str> = keys.iter().copied().filter(|k| !set.iter().any(|s| *s == k)).collect();
                if !missing.is_empty() {
                    cx.error_spanned_by(
                        first,
                        format!(
                            "`{}` needs {} in `{}`: the host reads `{}` only together with {}",
                            keys[0],
                            list(&missing),
                            kind.attr,
                            keys[0],
                            if missing.len() == 1 { "it" } else { "them" },
                        ),
                    );
                }
            }
            KeyRule::Together(_) if !set.is_empty() && set.len() < keys.len() => {
                let missing: Vec<&str> = keys.iter().copied().filter(|k| !set.iter().any(|s| *s == k)).collect();
                cx.error_spanned_by(
                    set[0],
                    format!("`{}` goes with {} in `{}`", set[0], list(&missing), kind.attr),
                );
            }
            _ => {}
        }
    }
}

fn example(shape: ValueShape) -> &'static str {
    match shape {
        ValueShape::Str => "\"...\"",
        ValueShape::Bool => "true",
        ValueShape::Int => "1",
        ValueShape::StrList => "[\"...\"]",
    }
}

fn check_value(
    cx: &Ctxt,
    kind: &BindingKind,
    spec: &'static azfn_bindings::KeySpec,
    value: &Value,
) -> Option<PropValue> {
    let shape = spec.rule.shape();
    let wrong = || {
        cx.error_at(
            value.span(),
            format!("`{}` of `{}` takes {}", spec.attr, kind.attr, shape.describe()),
        )
    };
    let checked = |s: &LitStr, text: &str| match spec.rule.check_str(text) {
        Ok(v) => Some(v),
        Err(mut problem) => {
            // Enum problems do not know which key they are about.
            if matches!(spec.rule, ValueRule::OneOf(_)) {
                problem.message = format!("`{}` of `{}`: {}", spec.attr, kind.attr, problem.message);
            }
            lit::report(cx, s, &problem);
            None
        }
    };
    match (shape, value) {
        (ValueShape::Str, Value::Lit(Lit::Str(s))) => checked(s, &s.value()).map(PropValue::Str),
        (ValueShape::Bool, Value::Lit(Lit::Bool(b))) => Some(PropValue::Bool(b.value)),
        (ValueShape::Int, Value::Lit(Lit::Int(i))) => match i.base10_parse::<i64>() {
            Ok(n) => match spec.rule.check_int(n) {
                Ok(()) if spec.rule.int_as_text() => Some(PropValue::Str(n.to_string())),
                Ok(()) => Some(PropValue::Int(n)),
                Err(message) => {
                    cx.error_spanned_by(i, format!("`{}` of `{}`: {message}", spec.attr, kind.attr));
                    None
                }
            },
            Err(e) => {
                cx.error_spanned_by(i, e);
                None
            }
        },
        // `methods = "get, post"`: each item is checked at its place in the string.
        (ValueShape::StrList, Value::Lit(Lit::Str(s))) => {
            let text = s.value();
            let mut items = Vec::new();
            let mut ok = true;
            for (start, item) in split_list(&text) {
                match spec.rule.check_str(item) {
                    Ok(v) => items.push(v),
                    Err(mut problem) => {
                        problem.range = problem.range.start + start..problem.range.end + start;
                        lit::report(cx, s, &problem);
                        ok = false;
                    }
                }
            }
            if items.is_empty() && ok {
                cx.error_spanned_by(s, format!("`{}` needs at least one value", spec.attr));
            }
            ok.then_some(PropValue::List(items))
        }
        (ValueShape::StrList, Value::List { items, span }) => {
            let mut out = Vec::new();
            let mut ok = true;
            for item in items {
                match item {
                    Lit::Str(s) => match checked(s, &s.value()) {
                        Some(v) => out.push(v),
                        None => ok = false,
                    },
                    other => {
                        cx.error_spanned_by(other, "expected a string literal");
                        ok = false;
                    }
                }
            }
            if out.is_empty() && ok {
                cx.error_at(*span, format!("`{}` needs at least one value", spec.attr));
                ok = false;
            }
            ok.then_some(PropValue::List(out))
        }
        _ => {
            wrong();
            None
        }
    }
}

/// Items of a `"get, post"` list with their byte offsets.
fn split_list(text: &str) -> Vec<(usize, &str)> {
    let mut items = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain([(text.len(), ',')]) {
        let separator = c == ',' || c == '|' || c.is_whitespace();
        match (separator, start) {
            (true, Some(s)) => {
                items.push((s, &text[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    items
}

#[cfg(test)]
mod tests {
    #[test]
    fn lists_split_on_commas_pipes_and_spaces() {
        assert_eq!(
            super::split_list("get, post|put"),
            vec![(0, "get"), (5, "post"), (10, "put")]
        );
        assert!(super::split_list(" , ").is_empty());
    }
}

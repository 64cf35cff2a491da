//! Binding attributes, read against the catalog: `queue_trigger(queue_name = "orders")`.
//!
//! Nothing here returns early on a user error: each bad key or value is reported at its own
//! span and skipped, so one expansion shows every mistake.

use azfn_bindings::catalog::{self, BindingKind};
use azfn_bindings::{Role, ValueShape};
use syn::{Ident, Lit, LitStr};

use super::args::{Arg, Value};
use super::ctxt::Ctxt;
use super::lit;

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
    pub props: Vec<(&'static str, PropValue)>,
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
    };
    let mut seen: Vec<String> = Vec::new();
    for arg in args {
        let key = arg.name();
        let key_str = key.to_string();
        if seen.contains(&key_str) {
            cx.error_spanned_by(key, format!("`{key_str}` is set twice in `{}`", kind.attr));
            continue;
        }
        seen.push(key_str.clone());
        if key_str == "name" {
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
                    key,
                    "`name` takes a string literal: the binding name, e.g. `name = \"order\"`",
                ),
            }
            continue;
        }
        let Some(spec) = kind.key(&key_str) else {
            let keys: Vec<String> = kind
                .keys
                .iter()
                .map(|k| format!("`{}`", k.attr))
                .chain(["`name`".into()])
                .collect();
            cx.error_spanned_by(
                key,
                format!("`{}` has no key `{key_str}`; it takes {}", kind.attr, keys.join(", ")),
            );
            continue;
        };
        let shape = spec.rule.shape();
        let value = match arg {
            Arg::KeyValue { value, .. } => value,
            // A bare boolean key means `true`: `run_on_startup`.
            Arg::Flag(_) if shape == ValueShape::Bool => {
                attr.props.push((spec.json, PropValue::Bool(true)));
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
        if let Some(prop) = check_value(cx, kind, spec, value) {
            attr.props.push((spec.json, prop));
        }
    }
    for spec in kind.keys.iter().filter(|k| k.required) {
        if !seen.iter().any(|s| s == spec.attr) {
            cx.error_spanned_by(ident, format!("`{}` needs `{}`: {}", kind.attr, spec.attr, spec.doc));
        }
    }
    attr
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
        Err(problem) => {
            lit::report(cx, s, &problem);
            None
        }
    };
    match (shape, value) {
        (ValueShape::Str, Value::Lit(Lit::Str(s))) => checked(s, &s.value()).map(PropValue::Str),
        (ValueShape::Bool, Value::Lit(Lit::Bool(b))) => Some(PropValue::Bool(b.value)),
        (ValueShape::Int, Value::Lit(Lit::Int(i))) => match i.base10_parse::<i64>() {
            Ok(n) => Some(PropValue::Int(n)),
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

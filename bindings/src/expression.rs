//! Resolving a binding's `{expressions}` and `%AppSetting%` references at request time, once
//! for the local host and the runtime. The values come from the caller through a closure, so
//! this crate stays free of JSON and clocks.

use crate::validate::{app_setting_refs, binding_expressions};

/// Replaces each `{expression}` of `pattern` with `value_of(expression)` (the expression
/// trimmed, as written: `name`, `order.id`, `rand-guid`), unescaping `{{` and `}}`.
///
/// ```
/// use azfn_bindings::expression::resolve_expressions;
/// let path = resolve_expressions("out/{name}-{{x}}", |e| (e == "name").then(|| "a.txt".to_owned()));
/// assert_eq!(path.unwrap(), "out/a.txt-{x}");
/// assert!(resolve_expressions("out/{missing}", |_| None).unwrap_err().contains("{missing}"));
/// ```
///
/// # Errors
///
/// A pattern that does not parse, or an expression with no value.
pub fn resolve_expressions(pattern: &str, mut value_of: impl FnMut(&str) -> Option<String>) -> Result<String, String> {
    let expressions = binding_expressions(pattern).map_err(|p| p.message)?;
    let mut out = String::new();
    let mut last = 0;
    for (range, expression) in expressions {
        // The text before the expression, without its `{`, with `{{`/`}}` unescaped.
        out.push_str(&unescape(&pattern[last..range.start - 1]));
        let name = expression.trim();
        let value = value_of(name).ok_or_else(|| format!("no binding data for `{{{name}}}` in `{pattern}`"))?;
        out.push_str(&value);
        last = range.end + 1;
    }
    out.push_str(&unescape(&pattern[last..]));
    Ok(out)
}

fn unescape(text: &str) -> String {
    text.replace("{{", "{").replace("}}", "}")
}

/// Replaces each `%Name%` of `value` with the app setting `setting(Name)`, as the host
/// resolves binding properties.
///
/// ```
/// use azfn_bindings::expression::resolve_app_settings;
/// let queue = resolve_app_settings("%Prefix%-orders", |n| (n == "Prefix").then(|| "eu".to_owned()));
/// assert_eq!(queue.unwrap(), "eu-orders");
/// assert!(resolve_app_settings("%Nope%", |_| None).unwrap_err().contains("`Nope`"));
/// ```
///
/// # Errors
///
/// A malformed reference, or a setting that is not set.
pub fn resolve_app_settings(value: &str, mut setting: impl FnMut(&str) -> Option<String>) -> Result<String, String> {
    let references = app_setting_refs(value).map_err(|p| p.message)?;
    let mut out = String::new();
    let mut last = 0;
    for (range, name) in references {
        out.push_str(&value[last..range.start]);
        out.push_str(&setting(&name).ok_or_else(|| format!("the app setting `{name}` (in `{value}`) is not set"))?);
        last = range.end;
    }
    out.push_str(&value[last..]);
    Ok(out)
}

//! Names the Functions host checks (function and binding names) and the two kinds of
//! placeholders it resolves inside binding values: `%AppSetting%` references and `{binding}`
//! expressions.
//!
//! Rules, from the host (`Azure/azure-functions-host`, `Utility.cs` and
//! `FunctionDescriptorProvider.cs`) and the WebJobs SDK (`BindingTemplateParser`,
//! `NameResolverExtensions.ResolveWholeString`):
//!
//! * Function names match `^[a-z][a-z0-9_\-]{0,127}$` ignoring case, and are not `host`.
//! * Binding names match `^([a-zA-Z][a-zA-Z0-9]{0,127}|\$return)$` (case-sensitive).
//! * `%Name%` references are found by pairing each `%` with the next one; there is no escape.
//! * In binding templates `{{` and `}}` are literal braces, `{...}` without braces inside is an
//!   expression, and any other brace is unbalanced.
//!
//! .NET's `$` also matches before a final line break, so the host would accept `name\n`; these
//! checks do not.

use std::ops::Range;

use super::{Problem, char_range, show_char};

/// The host's function-name rule: `^[a-z][a-z0-9_\-]{0,127}$` case-insensitive, and not `host` (case-insensitive).
///
/// ```
/// use azfn_bindings::validate::check_function_name;
/// assert!(check_function_name("process-order_2").is_ok());
/// assert_eq!(check_function_name("2fast").unwrap_err().range, 0..1);
/// ```
pub fn check_function_name(s: &str) -> Result<(), Problem> {
    const RULE: &str = "must start with a letter, then letters, digits, `_` or `-` (at most 128 characters)";
    let Some(first) = s.chars().next() else {
        return Err(Problem::new(0..0, format!("function name is empty: it {RULE}")));
    };
    if !first.is_ascii_alphabetic() {
        return Err(Problem::new(char_range(s, 0), format!("function name `{s}` {RULE}")));
    }
    if let Some((i, c)) = s
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    {
        return Err(Problem::new(
            char_range(s, i),
            format!("function name `{s}` contains {}: it {RULE}", show_char(c)),
        ));
    }
    if s.len() > 128 {
        return Err(Problem::new(
            128..s.len(),
            format!("function name is {} characters long: it {RULE}", s.len()),
        ));
    }
    if s.eq_ignore_ascii_case("host") {
        return Err(Problem::new(
            0..s.len(),
            format!("function name `{s}` is reserved by the Functions host"),
        )
        .with_help("choose another name, e.g. `host-info`"));
    }
    Ok(())
}

/// The host's binding-name rule: `^([a-zA-Z][a-zA-Z0-9]{0,127}|\$return)$`
///
/// ```
/// use azfn_bindings::validate::check_binding_name;
/// assert!(check_binding_name("orderDoc").is_ok());
/// assert!(check_binding_name("$return").is_ok());
/// assert_eq!(check_binding_name("order_doc").unwrap_err().range, 5..6);
/// ```
pub fn check_binding_name(s: &str) -> Result<(), Problem> {
    const RULE: &str =
        "binding names are a letter followed by letters and digits (at most 128 characters), or `$return`";
    if s == "$return" {
        return Ok(());
    }
    let Some(first) = s.chars().next() else {
        return Err(Problem::new(0..0, format!("binding name is empty: {RULE}")));
    };
    if !first.is_ascii_alphabetic() {
        return Err(Problem::new(
            char_range(s, 0),
            format!("binding name `{s}` must start with a letter: {RULE}"),
        ));
    }
    if let Some((i, c)) = s.char_indices().find(|&(_, c)| !c.is_ascii_alphanumeric()) {
        return Err(Problem::new(
            char_range(s, i),
            format!("binding name `{s}` contains {}: {RULE}", show_char(c)),
        ));
    }
    if s.len() > 128 {
        return Err(Problem::new(
            128..s.len(),
            format!("binding name is {} characters long: {RULE}", s.len()),
        ));
    }
    Ok(())
}

/// The binding name azfn derives from a Rust parameter or field identifier: strip a leading `r#`, camelCase the snake_case words (`order_doc` -> `orderDoc`, `_x` -> `x`, `x2_y` -> `x2Y`). Returns a name that passes check_binding_name whenever the identifier has at least one ASCII letter and only ASCII alphanumerics/underscores; otherwise returns it anyway (the caller validates).
///
/// Digits that would start the name (`_1x`) are dropped, since a binding name must start with
/// a letter. A result longer than 128 characters is returned as is and fails the check.
///
/// ```
/// use azfn_bindings::validate::binding_name_from_ident;
/// assert_eq!(binding_name_from_ident("order_doc"), "orderDoc");
/// assert_eq!(binding_name_from_ident("r#type"), "type");
/// ```
pub fn binding_name_from_ident(ident: &str) -> String {
    let ident = ident.strip_prefix("r#").unwrap_or(ident);
    let mut name = String::with_capacity(ident.len());
    for word in ident.split('_').filter(|word| !word.is_empty()) {
        let mut chars = word.chars();
        match chars.next() {
            Some(first) if !name.is_empty() => {
                name.extend(first.to_uppercase());
                name.push_str(chars.as_str());
            }
            _ => name.push_str(word),
        }
    }
    let from_letter = name.trim_start_matches(|c: char| c.is_ascii_digit());
    if from_letter.is_empty() {
        name
    } else {
        from_letter.to_owned()
    }
}

/// Every `%Name%` app-setting reference in a binding value, with byte ranges of the whole `%Name%`. A lone `%` or an empty `%%` name is a Problem.
///
/// ```
/// use azfn_bindings::validate::app_setting_refs;
/// let refs = app_setting_refs("%Prefix%-orders").unwrap();
/// assert_eq!(refs, vec![(0..8, "Prefix".to_owned())]);
/// assert_eq!(app_setting_refs("50%").unwrap_err().range, 2..3);
/// ```
pub fn app_setting_refs(s: &str) -> Result<Vec<(Range<usize>, String)>, Problem> {
    let mut refs = Vec::new();
    let mut from = 0;
    // Like the host, pair each `%` with the next one: there is no way to escape a `%`.
    while let Some(open) = s[from..].find('%').map(|i| from + i) {
        let Some(close) = s[open + 1..].find('%').map(|i| open + 1 + i) else {
            return Err(Problem::new(
                open..open + 1,
                "`%` has no closing `%`: app setting references look like `%Name%`",
            )
            .with_help("the host reads every `%...%` as an app setting; a `%` cannot be escaped"));
        };
        if close == open + 1 {
            return Err(Problem::new(open..close + 1, "app setting reference `%%` has no name")
                .with_help("write `%Name%` and define `Name` in the app settings"));
        }
        refs.push((open..close + 1, s[open + 1..close].to_owned()));
        from = close + 1;
    }
    Ok(refs)
}

/// Every `{expr}` binding expression in a path-like value (`samples/{name}.txt`, `{queueTrigger}`, `{rand-guid}`, `{DateTime}`, `{data.id}`), with byte ranges of the expression text; unbalanced braces are a Problem.
///
/// `{{` and `}}` stand for literal braces. An empty `{}` is a problem too.
///
/// ```
/// use azfn_bindings::validate::binding_expressions;
/// let found = binding_expressions("samples/{name}.txt").unwrap();
/// assert_eq!(found, vec![(9..13, "name".to_owned())]);
/// assert_eq!(binding_expressions("samples/{name.txt").unwrap_err().range, 8..9);
/// ```
pub fn binding_expressions(s: &str) -> Result<Vec<(Range<usize>, String)>, Problem> {
    const HELP: &str = "binding expressions look like `{name}`; write `{{` or `}}` for a literal brace";
    let bytes = s.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b'{', Some(b'{')) | (b'}', Some(b'}')) => i += 2,
            (b'{', _) => {
                // The expression runs to the next brace, which has to be a `}`.
                let close = s[i + 1..]
                    .find(['{', '}'])
                    .map(|j| i + 1 + j)
                    .filter(|&j| bytes[j] == b'}');
                let Some(close) = close else {
                    return Err(Problem::new(i..i + 1, "`{` is never closed").with_help(HELP));
                };
                let text = &s[i + 1..close];
                if text.trim().is_empty() {
                    return Err(Problem::new(i..close + 1, "binding expression is empty").with_help(HELP));
                }
                found.push((i + 1..close, text.to_owned()));
                i = close + 1;
            }
            (b'}', _) => return Err(Problem::new(i..i + 1, "`}` has no opening `{`").with_help(HELP)),
            _ => i += 1,
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::fuzz;

    #[test]
    fn function_names() {
        for ok in ["a", "Process", "process-order_2", "HOSTS", "hostname", &"a".repeat(128)] {
            assert_eq!(check_function_name(ok), Ok(()), "{ok}");
        }
        let p = check_function_name("2fast").unwrap_err();
        assert_eq!(
            p.message,
            "function name `2fast` must start with a letter, then letters, digits, `_` or `-` (at most 128 characters)"
        );
        assert_eq!(p.range, 0..1);
        assert_eq!(check_function_name("").unwrap_err().range, 0..0);
        assert_eq!(check_function_name("_x").unwrap_err().range, 0..1);
        assert_eq!(check_function_name("a.b").unwrap_err().range, 1..2);
        assert_eq!(check_function_name("aé").unwrap_err().range, 1..3);
        assert_eq!(check_function_name("éa").unwrap_err().range, 0..2);
        assert!(check_function_name("a b").unwrap_err().message.contains("a space"));
        assert_eq!(check_function_name("a\n").unwrap_err().range, 1..2);
        assert_eq!(check_function_name(&"a".repeat(130)).unwrap_err().range, 128..130);
        assert_eq!(check_function_name("Host").unwrap_err().range, 0..4);
    }

    #[test]
    fn binding_names() {
        for ok in ["req", "orderDoc", "x2Y", "$return", &"b".repeat(128)] {
            assert_eq!(check_binding_name(ok), Ok(()), "{ok}");
        }
        assert_eq!(check_binding_name("").unwrap_err().range, 0..0);
        assert_eq!(check_binding_name("order_doc").unwrap_err().range, 5..6);
        assert_eq!(check_binding_name("1x").unwrap_err().range, 0..1);
        assert_eq!(check_binding_name("$Return").unwrap_err().range, 0..1);
        assert_eq!(check_binding_name("a-b").unwrap_err().range, 1..2);
        assert_eq!(check_binding_name(&"b".repeat(129)).unwrap_err().range, 128..129);
    }

    #[test]
    fn binding_names_from_identifiers() {
        let cases = [
            ("order_doc", "orderDoc"),
            ("_x", "x"),
            ("x2_y", "x2Y"),
            ("r#type", "type"),
            ("req", "req"),
            ("__a__b__", "aB"),
            ("http_response_body", "httpResponseBody"),
            ("a_1", "a1"),
            ("_1x", "x"),
            ("_1_x", "X"),
            ("orderDoc", "orderDoc"),
            ("_", ""),
            ("_1", "1"),
        ];
        for (ident, name) in cases {
            assert_eq!(binding_name_from_ident(ident), name, "{ident}");
        }
        // The promise: identifiers with a letter and only ASCII alphanumerics or `_` give valid names.
        for s in fuzz::strings(5_000) {
            let name = binding_name_from_ident(&s);
            let ident_like = s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if ident_like && s.bytes().any(|b| b.is_ascii_alphabetic()) && name.len() <= 128 {
                assert_eq!(check_binding_name(&name), Ok(()), "{s:?} -> {name:?}");
            }
        }
    }

    #[test]
    fn app_setting_references() {
        assert_eq!(app_setting_refs("plain").unwrap(), vec![]);
        assert_eq!(
            app_setting_refs("%A%/%B%").unwrap(),
            vec![(0..3, "A".to_owned()), (4..7, "B".to_owned())]
        );
        assert_eq!(app_setting_refs("x%%").unwrap_err().range, 1..3);
        assert_eq!(app_setting_refs("%a%b%").unwrap_err().range, 4..5);
        assert_eq!(app_setting_refs("é%").unwrap_err().range, 2..3);
    }

    #[test]
    fn binding_template_expressions() {
        let found = binding_expressions("{queueTrigger}/{rand-guid}-{DateTime}/{data.id}").unwrap();
        let texts: Vec<&str> = found.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(texts, ["queueTrigger", "rand-guid", "DateTime", "data.id"]);
        assert_eq!(found[1].0, 16..25);
        assert_eq!(binding_expressions("{{literal}}").unwrap(), vec![]);
        assert_eq!(binding_expressions("a{{b}").unwrap_err().range, 4..5);
        assert_eq!(binding_expressions("a}b").unwrap_err().range, 1..2);
        assert_eq!(binding_expressions("{a{b}").unwrap_err().range, 0..1);
        assert_eq!(binding_expressions("x{}").unwrap_err().range, 1..3);
        assert_eq!(binding_expressions("{ }").unwrap_err().range, 0..3);
        assert_eq!(binding_expressions("{").unwrap_err().range, 0..1);
        assert_eq!(binding_expressions("é{x}").unwrap(), vec![(3..4, "x".to_owned())]);
    }

    #[test]
    fn checks_never_panic() {
        for s in fuzz::strings(20_000) {
            for result in [
                check_function_name(&s),
                check_binding_name(&s),
                app_setting_refs(&s).map(|_| ()),
                binding_expressions(&s).map(|_| ()),
            ] {
                if let Err(p) = result {
                    fuzz::assert_range_ok(&s, &p.range);
                }
            }
            let _ = binding_name_from_ident(&s);
        }
    }
}

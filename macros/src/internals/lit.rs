//! Errors inside string literals: point at the bad part of a route or schedule.

use azfn_bindings::Problem;
use proc_macro2::Span;
use syn::LitStr;

use super::ctxt::Ctxt;

/// Reports `problem`, found in the value of `lit`.
///
/// Where the compiler can point inside a literal (nightly), the span covers just the bad part.
/// On stable it covers the literal, and the message repeats the value with carets under the
/// bad part, so the user sees exactly where it is either way.
pub fn report(cx: &Ctxt, lit: &LitStr, problem: &Problem) {
    let value = lit.value();
    let mut message = problem.message.clone();
    let span = inner_span(lit, &value, problem.range.clone()).unwrap_or_else(|| {
        if let Some(pointer) = caret_line(&value, problem.range.clone()) {
            message.push_str(&pointer);
        }
        lit.span()
    });
    if let Some(help) = &problem.help {
        message.push_str("\n  = help: ");
        message.push_str(help);
    }
    cx.error_at(span, message);
}

/// The span of `range` inside the literal, when the literal is a plain `"..."` without escapes
/// (so value offsets are source offsets) and the compiler supports sub-spans.
fn inner_span(lit: &LitStr, value: &str, range: std::ops::Range<usize>) -> Option<Span> {
    let token = lit.token();
    if token.to_string() != format!("\"{value}\"") || range.end > value.len() {
        return None;
    }
    token.subspan(range.start + 1..range.end + 1)
}

/// `\n    "0 61 * * * *"\n        ^^` for a non-empty range.
fn caret_line(value: &str, range: std::ops::Range<usize>) -> Option<String> {
    let (start, end) = (range.start.min(value.len()), range.end.min(value.len()));
    if !value.is_char_boundary(start) || !value.is_char_boundary(end) {
        return None;
    }
    let indent = value[..start].chars().count() + 1;
    let width = value[start..end].chars().count().max(1);
    Some(format!(
        "\n      \"{value}\"\n      {}{}",
        " ".repeat(indent),
        "^".repeat(width)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carets_sit_under_the_bad_part() {
        assert_eq!(
            caret_line("0 61 * * * *", 2..4).unwrap(),
            "\n      \"0 61 * * * *\"\n         ^^"
        );
        assert_eq!(caret_line("", 0..0).unwrap(), "\n      \"\"\n       ^");
    }
}

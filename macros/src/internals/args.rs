//! A small parser for the argument lists azfn's attributes take:
//! `name = "value"`, `flag`, `kind(key = value, ...)`, separated by commas.
//!
//! It only splits tokens; what each argument means is decided by `attr.rs` against the catalog,
//! so every unknown or malformed piece can be reported at its own span.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use syn::{Ident, Lit};

use super::ctxt::Ctxt;

/// One argument.
pub enum Arg {
    /// `key = value`
    KeyValue { key: Ident, value: Value },
    /// `name(args...)`
    Call { name: Ident, args: Vec<Arg> },
    /// `name`
    Flag(Ident),
}

impl Arg {
    pub fn name(&self) -> &Ident {
        match self {
            Arg::KeyValue { key, .. } => key,
            Arg::Call { name, .. } => name,
            Arg::Flag(name) => name,
        }
    }
}

/// The value after `=`.
pub enum Value {
    /// A single literal.
    Lit(Lit),
    /// `[lit, lit, ...]`
    List { items: Vec<Lit>, span: Span },
    /// Anything else (a path, an expression): reported where it is used.
    Other(TokenStream),
}

impl Value {
    pub fn span(&self) -> Span {
        match self {
            Value::Lit(lit) => lit.span(),
            Value::List { span, .. } => *span,
            Value::Other(tokens) => tokens
                .clone()
                .into_iter()
                .next()
                .map_or_else(Span::call_site, |t| t.span()),
        }
    }
}

/// Splits `tokens` at top-level commas.
fn split_commas(tokens: TokenStream) -> Vec<Vec<TokenTree>> {
    let mut items = vec![Vec::new()];
    for tree in tokens {
        match &tree {
            TokenTree::Punct(p) if p.as_char() == ',' => items.push(Vec::new()),
            _ => items.last_mut().map_or((), |item| item.push(tree)),
        }
    }
    items.retain(|item| !item.is_empty());
    items
}

/// Parses an argument list, reporting malformed pieces to `cx` and skipping them.
pub fn parse_args(cx: &Ctxt, tokens: TokenStream) -> Vec<Arg> {
    split_commas(tokens)
        .into_iter()
        .filter_map(|item| parse_arg(cx, item))
        .collect()
}

fn parse_arg(cx: &Ctxt, item: Vec<TokenTree>) -> Option<Arg> {
    let mut iter = item.into_iter();
    let first = iter.next()?;
    let TokenTree::Ident(raw) = first else {
        cx.error_at(
            first.span(),
            "expected a name, such as `http_trigger(...)` or `name = \"...\"`",
        );
        return None;
    };
    let name = Ident::new(&raw.to_string(), raw.span());
    let rest: Vec<TokenTree> = iter.collect();
    match rest.first() {
        None => Some(Arg::Flag(name)),
        Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Parenthesis && rest.len() == 1 => {
            Some(Arg::Call {
                name,
                args: parse_args(cx, group.stream()),
            })
        }
        Some(TokenTree::Punct(p)) if p.as_char() == '=' => {
            if rest.len() == 1 {
                cx.error_at(p.span(), format!("expected a value after `{name} =`"));
                return None;
            }
            Some(Arg::KeyValue {
                key: name,
                value: parse_value(cx, rest[1..].to_vec()),
            })
        }
        Some(other) => {
            cx.error_at(other.span(), format!("expected `=` or `(...)` after `{name}`"));
            None
        }
    }
}

fn parse_value(cx: &Ctxt, tokens: Vec<TokenTree>) -> Value {
    let stream: TokenStream = tokens.iter().cloned().collect();
    if let [TokenTree::Group(group)] = tokens.as_slice()
        && group.delimiter() == Delimiter::Bracket
    {
        let mut items = Vec::new();
        for item in split_commas(group.stream()) {
            match syn::parse2::<Lit>(item.iter().cloned().collect()) {
                Ok(lit) => items.push(lit),
                Err(_) => {
                    let span = item.first().map_or_else(Span::call_site, TokenTree::span);
                    cx.error_at(span, "expected a string literal in this list");
                }
            }
        }
        return Value::List {
            items,
            span: group.span(),
        };
    }
    // `-1` arrives as two tokens; syn's literal parser handles the sign.
    match syn::parse2::<Lit>(stream.clone()) {
        Ok(lit) => Value::Lit(lit),
        Err(_) => match syn::parse2::<NegativeInt>(stream.clone()) {
            Ok(NegativeInt(lit)) => Value::Lit(Lit::Int(lit)),
            Err(_) => Value::Other(stream),
        },
    }
}

/// `-<int>`, as one literal.
struct NegativeInt(syn::LitInt);

impl syn::parse::Parse for NegativeInt {
    fn parse(input: syn::parse::ParseStream) -> syn::Result<Self> {
        let minus: syn::Token![-] = input.parse()?;
        let lit: syn::LitInt = input.parse()?;
        let span = minus.span.join(lit.span()).unwrap_or(lit.span());
        Ok(NegativeInt(syn::LitInt::new(
            &format!("-{}", lit.base10_digits()),
            span,
        )))
    }
}

//! `retry(fixed_delay, max_retry_count = 5, delay_interval = "00:00:10")` and
//! `retry(exponential_backoff, max_retry_count = 5, minimum_interval = "...", maximum_interval = "...")`:
//! the function-level retry policy the host applies (`retry` in `function.json`).

use azfn_bindings::ValueRule;
use azfn_bindings::schedule::parse_time_span;
use proc_macro2::Span;
use syn::{Ident, Lit, LitStr};

use super::args::{Arg, Value};
use super::ctxt::Ctxt;
use super::lit;

/// A checked retry policy.
pub struct RetryDef {
    pub strategy: Strategy,
    pub max_retry_count: i32,
}

pub enum Strategy {
    FixedDelay {
        delay_interval: String,
    },
    ExponentialBackoff {
        minimum_interval: String,
        maximum_interval: String,
    },
}

const STRATEGIES: &str = "`fixed_delay` or `exponential_backoff`";

/// The keys each strategy takes, besides `max_retry_count`.
fn interval_keys(fixed: bool) -> &'static [&'static str] {
    if fixed {
        &["delay_interval"]
    } else {
        &["minimum_interval", "maximum_interval"]
    }
}

/// Reads `retry(...)`; `None` after reporting what is wrong.
pub fn parse_retry(cx: &Ctxt, ident: &Ident, args: &[Arg]) -> Option<RetryDef> {
    let strategies: Vec<&Ident> = args
        .iter()
        .filter_map(|a| match a {
            Arg::Flag(f) => Some(f),
            _ => None,
        })
        .collect();
    let fixed = match strategies.as_slice() {
        [one] if *one == "fixed_delay" => true,
        [one] if *one == "exponential_backoff" => false,
        [one] => {
            cx.error_spanned_by(one, format!("unknown retry strategy `{one}`: expected {STRATEGIES}"));
            return None;
        }
        [] => {
            cx.error_spanned_by(
                ident,
                format!("`retry` needs a strategy, {STRATEGIES}: `retry(fixed_delay, max_retry_count = 5, delay_interval = \"00:00:10\")`"),
            );
            return None;
        }
        [_, second, ..] => {
            cx.error_spanned_by(second, format!("`retry` takes one strategy, {STRATEGIES}"));
            return None;
        }
    };
    let mut max_retry_count = None;
    let mut intervals: Vec<(String, String, Span)> = Vec::new();
    let mut ok = true;
    for arg in args {
        let Arg::KeyValue { key, value } = arg else {
            if let Arg::Call { name, .. } = arg {
                cx.error_spanned_by(name, format!("`retry` has no `{name}(...)`"));
                ok = false;
            }
            continue;
        };
        let key_str = key.to_string();
        if key_str == "max_retry_count" {
            max_retry_count = read_count(cx, value);
            ok &= max_retry_count.is_some();
        } else if interval_keys(fixed).contains(&key_str.as_str()) {
            match read_interval(cx, key, value) {
                Some(text) => intervals.push((key_str, text, value.span())),
                None => ok = false,
            }
        } else {
            let strategy = if fixed { "fixed_delay" } else { "exponential_backoff" };
            let keys: Vec<String> = ["max_retry_count"]
                .iter()
                .chain(interval_keys(fixed))
                .map(|k| format!("`{k}`"))
                .collect();
            cx.error_spanned_by(
                key,
                format!("`retry({strategy})` has no key `{key}`; it takes {}", keys.join(", ")),
            );
            ok = false;
        }
    }
    for needed in interval_keys(fixed).iter().copied().chain(["max_retry_count"]) {
        let present = needed == "max_retry_count" && max_retry_count.is_some()
            || intervals.iter().any(|(k, _, _)| k == needed)
            || args
                .iter()
                .any(|a| matches!(a, Arg::KeyValue { key, .. } if key == needed));
        if !present {
            let example = if needed == "max_retry_count" {
                "5"
            } else {
                "\"00:00:10\""
            };
            cx.error_spanned_by(ident, format!("`retry` needs `{needed}`, e.g. `{needed} = {example}`"));
            ok = false;
        }
    }
    if !ok {
        return None;
    }
    let interval = |key: &str| intervals.iter().find(|(k, _, _)| k == key).map(|(_, v, _)| v.clone());
    let strategy = if fixed {
        Strategy::FixedDelay {
            delay_interval: interval("delay_interval")?,
        }
    } else {
        let (minimum_interval, maximum_interval) = (interval("minimum_interval")?, interval("maximum_interval")?);
        if let (Ok(min), Ok(max)) = (parse_time_span(&minimum_interval), parse_time_span(&maximum_interval))
            && min > max
        {
            let span = intervals
                .iter()
                .find(|(k, _, _)| k == "maximum_interval")
                .map(|(_, _, s)| *s)?;
            cx.error_at(
                span,
                format!("`maximum_interval` {maximum_interval} is shorter than `minimum_interval` {minimum_interval}"),
            );
            return None;
        }
        Strategy::ExponentialBackoff {
            minimum_interval,
            maximum_interval,
        }
    };
    Some(RetryDef {
        strategy,
        max_retry_count: max_retry_count?,
    })
}

fn read_count(cx: &Ctxt, value: &Value) -> Option<i32> {
    let message = "`max_retry_count` takes an integer: how many retries, or -1 to retry forever";
    let Value::Lit(Lit::Int(int)) = value else {
        cx.error_at(value.span(), message);
        return None;
    };
    match int.base10_parse::<i32>() {
        Ok(n) if n >= -1 => Some(n),
        _ => {
            cx.error_spanned_by(int, message);
            None
        }
    }
}

fn read_interval(cx: &Ctxt, key: &Ident, value: &Value) -> Option<String> {
    let Value::Lit(Lit::Str(text)) = value else {
        cx.error_at(
            value.span(),
            format!("`{key}` takes a TimeSpan string such as \"00:00:10\""),
        );
        return None;
    };
    check_time_span(cx, text)
}

fn check_time_span(cx: &Ctxt, text: &LitStr) -> Option<String> {
    match ValueRule::RetryInterval.check_str(&text.value()) {
        Ok(v) => Some(v),
        Err(problem) => {
            lit::report(cx, text, &problem);
            None
        }
    }
}

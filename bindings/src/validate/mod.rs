//! Validators for the strings users write into bindings, shared by the proc macro (which turns
//! a [`Problem`] into a compile error pointing into the string literal) and the local host
//! (which fires timers and routes HTTP requests with the parsed forms).
//!
//! * [`parse_timer_schedule`]: timer-trigger schedules (NCRONTAB, `TimeSpan` intervals,
//!   `%AppSetting%`), from [`crate::schedule`], which also computes when they fire.
//! * [`parse_route`]: HTTP-trigger route templates (ASP.NET Core syntax), from [`crate::route`],
//!   which also matches requests to them.
//! * [`names`]: function and binding names, `%AppSetting%` references, `{binding}` expressions.
//!
//! None of these functions panics, whatever the input.

pub mod names;

#[cfg(test)]
pub(crate) use crate::fuzz;
pub use crate::problem::Problem;
pub(crate) use crate::problem::{char_range, show_char};
pub use crate::route::{RouteConstraint, RouteParameter, RouteTemplate, parse_route};
pub use crate::schedule::{TimerSchedule, parse_timer_schedule};
pub use names::{
    app_setting_refs, binding_expressions, binding_name_from_ident, check_binding_name, check_function_name,
};

/// A .NET `TimeSpan` in the invariant format the host parses: `[-][d.]hh:mm:ss[.fffffff]`,
/// or an `%AppSetting%` reference.
///
/// ```
/// use azfn_bindings::validate::time_span;
/// assert!(time_span("00:00:10").is_ok());
/// assert!(time_span("1.02:00:00.5").is_ok());
/// assert!(time_span("%RetryDelay%").is_ok());
/// assert_eq!(time_span("00:61:00").unwrap_err().range, 3..5);
/// ```
pub fn time_span(value: &str) -> Result<(), Problem> {
    if !names::app_setting_refs(value)?.is_empty() {
        return Ok(());
    }
    let help = "a TimeSpan is `hh:mm:ss`, optionally with days `d.hh:mm:ss` and fractions `hh:mm:ss.fff`";
    let body = value.strip_prefix('-').unwrap_or(value);
    let offset = value.len() - body.len();
    let parts: Vec<&str> = body.split(':').collect();
    let [head, minutes, seconds] = parts.as_slice() else {
        return Err(Problem {
            range: 0..value.len(),
            message: format!("`{value}` is not a TimeSpan"),
            help: Some(help.into()),
        });
    };
    let hours_at = head.rfind('.').map_or(0, |dot| dot + 1);
    let (days, hours) = (head.get(..hours_at.saturating_sub(1)), &head[hours_at..]);
    let (seconds, fraction) = seconds.split_once('.').map_or((*seconds, None), |(s, f)| (s, Some(f)));
    let minutes_at = offset + head.len() + 1;
    let seconds_at = minutes_at + minutes.len() + 1;
    let fields = [
        (days.filter(|d| !d.is_empty()), offset, "days"),
        (Some(hours), offset + hours_at, "hours"),
        (Some(*minutes), minutes_at, "minutes"),
        (Some(seconds), seconds_at, "seconds"),
        (fraction, seconds_at + seconds.len() + 1, "fractions of a second"),
    ];
    for (text, at, what) in fields {
        let Some(text) = text else { continue };
        if text.is_empty() || text.len() > 10 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Problem {
                range: at..at + text.len(),
                message: format!("{what} of `{value}` must be digits"),
                help: Some(help.into()),
            });
        }
    }
    // The numbers' ranges as the one TimeSpan reader checks them.
    crate::schedule::parse_time_span(body)
        .map(drop)
        .map_err(|p| p.shifted(offset).with_help(help))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_spans() {
        for ok in [
            "00:00:10",
            "23:59:59",
            "1.00:00:00",
            "00:00:01.250",
            "-00:01:00",
            "%Delay%",
        ] {
            assert_eq!(time_span(ok), Ok(()), "{ok}");
        }
        assert_eq!(time_span("24:00:00").unwrap_err().range, 0..2);
        assert_eq!(time_span("00:00:60").unwrap_err().range, 6..8);
        assert_eq!(time_span("1.25:00:00").unwrap_err().range, 2..4);
        assert_eq!(time_span("00:0x:00").unwrap_err().range, 3..5);
        // The numbers are checked by the one TimeSpan reader: .NET's day limit, seven-digit
        // fractions, and the validator's help.
        assert_eq!(time_span("10675200.00:00:00").unwrap_err().range, 0..8);
        assert_eq!(time_span("-00:00:01.12345678").unwrap_err().range, 10..18);
        let hours = time_span("-1.24:00:00").unwrap_err();
        assert_eq!(hours.range, 3..5);
        assert!(
            hours.help.as_deref().is_some_and(|h| h.starts_with("a TimeSpan is")),
            "{hours:?}"
        );
        assert!(time_span("10 seconds").is_err());
        assert!(time_span("").is_err());
        assert!(time_span("%Delay").is_err());
        for s in crate::fuzz::strings(2000) {
            if let Err(p) = time_span(&s) {
                crate::fuzz::assert_range_ok(&s, &p.range);
            }
        }
    }
}

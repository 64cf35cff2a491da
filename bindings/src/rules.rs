//! What values a binding key accepts, and the checks that enforce it.

use crate::problem::Problem;
use crate::validate::{self, time_span};

/// The rule a key's value must follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueRule {
    /// Any string.
    Str,
    /// `true` or `false`.
    Bool,
    /// An integer.
    Int,
    /// One string out of a fixed set (compared case-insensitively, written lowercase).
    OneOf(&'static [&'static str]),
    /// One or more strings out of a fixed set, written as a JSON array.
    OneOrMore(&'static [&'static str]),
    /// An ASP.NET route template.
    RouteTemplate,
    /// A timer schedule: NCRONTAB, TimeSpan or `%AppSetting%`.
    TimerSchedule,
    /// An Azure Storage queue name, or an expression resolved at run time.
    QueueName,
    /// `container/blob` with optional binding expressions.
    BlobPath,
    /// The name of an app setting.
    AppSettingName,
    /// Text resolved by the host: a literal, `%AppSetting%` references or `{expressions}`,
    /// whose syntax is checked.
    Text,
    /// A list of strings, written as a JSON array.
    List,
    /// An integer in `min..=max`.
    IntRange {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// An integer in `min..=max`, written into `function.json` as a string (the published
    /// schema types Azure Tables' `take` as a string).
    IntText {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// A .NET `TimeSpan`, `[d.]hh:mm:ss[.fffffff]`, or `%AppSetting%`.
    TimeSpan,
    /// A binding `type` for the generic bindings: an identifier-like name.
    BindingType,
    /// A retry interval: exactly `hh:mm:ss` (what the host and the published schema accept;
    /// no days, fractions or app settings).
    RetryInterval,
}

/// The shape of value a rule wants, so the macro can say "expected a string".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueShape {
    /// A string literal.
    Str,
    /// A boolean literal.
    Bool,
    /// An integer literal.
    Int,
    /// A string literal or an array of string literals.
    StrList,
}

impl ValueShape {
    /// How an error message names this shape.
    pub const fn describe(self) -> &'static str {
        match self {
            ValueShape::Str => "a string literal",
            ValueShape::Bool => "`true` or `false`",
            ValueShape::Int => "an integer literal",
            ValueShape::StrList => "a string literal or an array of string literals",
        }
    }
}

impl ValueRule {
    /// The literal shape this rule expects.
    pub const fn shape(self) -> ValueShape {
        match self {
            ValueRule::Bool => ValueShape::Bool,
            ValueRule::Int | ValueRule::IntRange { .. } | ValueRule::IntText { .. } => ValueShape::Int,
            ValueRule::OneOrMore(_) | ValueRule::List => ValueShape::StrList,
            _ => ValueShape::Str,
        }
    }

    /// Checks one string value (or one item of a list) and returns the text to write into
    /// `function.json` (enum values are written lowercase).
    ///
    /// ```
    /// use azfn_bindings::ValueRule;
    /// assert_eq!(ValueRule::OneOf(&["get", "post"]).check_str("POST").unwrap(), "post");
    /// assert!(ValueRule::QueueName.check_str("Bad_Name").is_err());
    /// ```
    pub fn check_str(self, value: &str) -> Result<String, Problem> {
        match self {
            ValueRule::Str => Ok(value.to_owned()),
            ValueRule::Bool
            | ValueRule::Int
            | ValueRule::IntRange { .. }
            | ValueRule::IntText { .. }
            | ValueRule::List => Ok(value.to_owned()),
            ValueRule::OneOf(allowed) | ValueRule::OneOrMore(allowed) => one_of(value, allowed),
            ValueRule::RouteTemplate => crate::route::parse_route(value).map(|_| value.to_owned()),
            ValueRule::TimerSchedule => crate::schedule::parse_timer_schedule(value).map(|_| value.to_owned()),
            ValueRule::QueueName => queue_name(value).map(|()| value.to_owned()),
            ValueRule::BlobPath => blob_path(value).map(|()| value.to_owned()),
            ValueRule::AppSettingName => app_setting_name(value).map(|()| value.to_owned()),
            ValueRule::Text => check_expressions(value).map(|_| value.to_owned()),
            ValueRule::TimeSpan => time_span(value).map(|()| value.to_owned()),
            ValueRule::BindingType => binding_type(value).map(|()| value.to_owned()),
            ValueRule::RetryInterval => retry_interval(value).map(|()| value.to_owned()),
        }
    }

    /// Checks an integer value.
    ///
    /// ```
    /// use azfn_bindings::ValueRule;
    /// assert!(ValueRule::IntRange { min: 1, max: 10 }.check_int(10).is_ok());
    /// assert_eq!(
    ///     ValueRule::IntRange { min: 1, max: 10 }.check_int(0).unwrap_err(),
    ///     "`0` is out of range: expected 1 to 10"
    /// );
    /// ```
    pub fn check_int(self, value: i64) -> Result<(), String> {
        match self {
            ValueRule::IntRange { min, max } | ValueRule::IntText { min, max } if !(min..=max).contains(&value) => {
                Err(format!("`{value}` is out of range: expected {min} to {max}"))
            }
            _ => Ok(()),
        }
    }

    /// Whether the value goes into `function.json` as a string although written as an integer.
    pub const fn int_as_text(self) -> bool {
        matches!(self, ValueRule::IntText { .. })
    }

    /// Whether the host resolves `{expressions}` in values of this rule from the trigger's
    /// binding data (so the macro may check the names against the trigger).
    pub const fn has_expressions(self) -> bool {
        matches!(self, ValueRule::Text | ValueRule::BlobPath | ValueRule::QueueName)
    }
}

/// `hh:mm:ss` with two digits each, hours 00-23.
fn retry_interval(value: &str) -> Result<(), Problem> {
    let shaped = value.len() == 8
        && value.bytes().enumerate().all(|(i, b)| {
            if i == 2 || i == 5 {
                b == b':'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shaped {
        return Err(whole(
            value,
            format!("retry interval `{value}` must be written `hh:mm:ss`"),
            Some(
                "for example `00:00:10` for ten seconds; the host reads no days, fractions or app settings here".into(),
            ),
        ));
    }
    time_span(value).map_err(|p| p.with_help("retry intervals are `hh:mm:ss`, hours 00-23"))
}

/// A generic binding's `type`: letters and digits, starting with a letter (`customTrigger`).
fn binding_type(value: &str) -> Result<(), Problem> {
    let ok = value.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if ok {
        return Ok(());
    }
    Err(whole(
        value,
        format!("`{value}` is not a binding type: types are names such as `customTrigger` or `webPubSub`"),
        None,
    ))
}

fn whole(value: &str, message: String, help: Option<String>) -> Problem {
    Problem {
        range: 0..value.len(),
        message,
        help,
    }
}

/// Matches `value` case-insensitively and returns the catalog's own spelling of it.
fn one_of(value: &str, allowed: &[&str]) -> Result<String, Problem> {
    if let Some(found) = allowed.iter().find(|a| a.eq_ignore_ascii_case(value)) {
        return Ok((*found).to_owned());
    }
    let list = allowed.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ");
    Err(whole(value, format!("`{value}` is not one of {list}"), None))
}

/// Whether the value is resolved by the host at run time (`%Setting%` or `{expression}`), in
/// which case only its syntax can be checked here.
fn check_expressions(value: &str) -> Result<bool, Problem> {
    let settings = validate::names::app_setting_refs(value)?;
    let expressions = validate::names::binding_expressions(value)?;
    Ok(!settings.is_empty() || !expressions.is_empty())
}

/// Azure Storage's rule for queue names (and, with the same shape, container names).
fn storage_name(value: &str, offset: usize, what: &str) -> Result<(), Problem> {
    let bad = |message: String| Problem {
        range: offset..offset + value.len(),
        message,
        help: Some(format!(
            "{what} names are 3-63 characters of lowercase letters, digits and single hyphens, starting and ending with a letter or digit"
        )),
    };
    if !(3..=63).contains(&value.len()) {
        return Err(bad(format!("{what} name `{value}` must be 3-63 characters long")));
    }
    if let Some((i, c)) = value
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
    {
        let mut p = bad(format!("{what} name `{value}` may not contain `{c}`"));
        p.range = offset + i..offset + i + c.len_utf8();
        return Err(p);
    }
    if value.starts_with('-') || value.ends_with('-') || value.contains("--") {
        return Err(bad(format!(
            "{what} name `{value}` must start and end with a letter or digit and may not contain `--`"
        )));
    }
    Ok(())
}

fn queue_name(value: &str) -> Result<(), Problem> {
    if check_expressions(value)? {
        return Ok(());
    }
    storage_name(value, 0, "queue")
}

fn blob_path(value: &str) -> Result<(), Problem> {
    let dynamic = check_expressions(value)?;
    let Some((container, _blob)) = value.split_once('/') else {
        if dynamic {
            return Ok(());
        }
        return Err(whole(
            value,
            format!("blob path `{value}` has no container: write `container/blob`"),
            Some("for example `samples/{name}.txt`".into()),
        ));
    };
    if container.contains(['%', '{']) {
        return Ok(());
    }
    storage_name(container, 0, "container")
}

fn app_setting_name(value: &str) -> Result<(), Problem> {
    if value.is_empty() {
        return Err(whole(value, "app setting name is empty".into(), None));
    }
    // `%Name%` is how other keys refer to a setting; this one names it.
    if let Some(inner) = value.strip_prefix('%').and_then(|v| v.strip_suffix('%'))
        && !inner.is_empty()
        && app_setting_name(inner).is_ok()
    {
        return Err(whole(
            value,
            format!("`{value}` refers to an app setting, but this key takes the setting's name itself: `{inner}`"),
            Some("write the name without `%`".into()),
        ));
    }
    match value
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')))
    {
        Some((i, c)) => Err(Problem {
            range: i..i + c.len_utf8(),
            message: format!("app setting name `{value}` may not contain `{c}`"),
            help: Some("write the setting's name, not its value; `__` or `:` separate sections".into()),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_values_are_case_insensitive_and_written_lowercase() {
        let rule = ValueRule::OneOf(&["anonymous", "function", "admin"]);
        assert_eq!(rule.check_str("Function").unwrap(), "function");
        let err = rule.check_str("public").unwrap_err();
        assert!(
            err.message.contains("`anonymous`, `function`, `admin`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn queue_names_follow_storage_rules() {
        assert!(queue_name("orders-out").is_ok());
        assert!(queue_name("%OrdersQueue%").is_ok());
        assert_eq!(queue_name("Orders").unwrap_err().range, 0..1);
        assert!(queue_name("ab").is_err());
        assert!(queue_name("a--b").is_err());
        assert!(queue_name("-ab").is_err());
    }

    #[test]
    fn blob_paths_need_a_container() {
        assert!(blob_path("samples/{name}.txt").is_ok());
        assert!(blob_path("{container}/x").is_ok());
        assert!(blob_path("%Path%").is_ok());
        assert!(blob_path("samples").is_err());
        assert_eq!(blob_path("Samples/x").unwrap_err().range, 0..1);
        assert!(blob_path("samples/{name").is_err());
    }

    #[test]
    fn enum_values_keep_the_catalogs_spelling() {
        let rule = ValueRule::OneOf(&["Queue", "Topic"]);
        assert_eq!(rule.check_str("topic").unwrap(), "Topic");
    }

    #[test]
    fn retry_intervals_are_strict() {
        assert!(retry_interval("00:00:10").is_ok());
        assert!(retry_interval("1.00:00:00").is_err());
        assert!(retry_interval("%Delay%").is_err());
        assert!(retry_interval("0:00:10").is_err());
        assert_eq!(retry_interval("00:60:00").unwrap_err().range, 3..5);
    }

    #[test]
    fn text_checks_setting_and_expression_syntax() {
        assert!(ValueRule::Text.check_str("%Queue%-{id}").is_ok());
        assert!(ValueRule::Text.check_str("%Queue").is_err());
        assert!(ValueRule::Text.check_str("{id").is_err());
    }

    #[test]
    fn app_setting_names_are_names() {
        assert!(app_setting_name("MyStorage").is_ok());
        assert!(app_setting_name("Storage__serviceUri").is_ok());
        assert_eq!(
            app_setting_name("DefaultEndpointsProtocol=https").unwrap_err().range,
            24..25
        );
        assert!(app_setting_name("").is_err());
        let reference = app_setting_name("%TopicUri%").unwrap_err();
        assert_eq!(
            (reference.range, reference.message.ends_with("`TopicUri`")),
            (0..10, true)
        );
        assert_eq!(app_setting_name("%").unwrap_err().range, 0..1);
    }
}

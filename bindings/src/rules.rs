//! What values a binding key accepts, and the checks that enforce it.

use crate::validate::{self, Problem};

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
            ValueRule::Int => ValueShape::Int,
            ValueRule::OneOrMore(_) => ValueShape::StrList,
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
            ValueRule::Bool | ValueRule::Int => Ok(value.to_owned()),
            ValueRule::OneOf(allowed) | ValueRule::OneOrMore(allowed) => one_of(value, allowed),
            ValueRule::RouteTemplate => validate::route::parse_route(value).map(|_| value.to_owned()),
            ValueRule::TimerSchedule => validate::ncrontab::parse_timer_schedule(value).map(|_| value.to_owned()),
            ValueRule::QueueName => queue_name(value).map(|()| value.to_owned()),
            ValueRule::BlobPath => blob_path(value).map(|()| value.to_owned()),
            ValueRule::AppSettingName => app_setting_name(value).map(|()| value.to_owned()),
        }
    }
}

fn whole(value: &str, message: String, help: Option<String>) -> Problem {
    Problem {
        range: 0..value.len(),
        message,
        help,
    }
}

fn one_of(value: &str, allowed: &[&str]) -> Result<String, Problem> {
    let lower = value.to_ascii_lowercase();
    if allowed.contains(&lower.as_str()) {
        return Ok(lower);
    }
    let list = allowed.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ");
    Err(whole(
        value,
        format!("`{value}` is not allowed here: expected one of {list}"),
        None,
    ))
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
    fn app_setting_names_are_names() {
        assert!(app_setting_name("MyStorage").is_ok());
        assert!(app_setting_name("Storage__serviceUri").is_ok());
        assert_eq!(
            app_setting_name("DefaultEndpointsProtocol=https").unwrap_err().range,
            24..25
        );
        assert!(app_setting_name("").is_err());
    }
}

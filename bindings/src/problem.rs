//! What is wrong with a checked string, and where: the one error type of every parser and
//! validator in this crate, with the helpers their messages share.

use std::fmt;
use std::ops::Range;

/// What is wrong with a checked string, and where.
///
/// ```
/// use azfn_bindings::validate::parse_timer_schedule;
/// let problem = parse_timer_schedule("0 61 * * * *").unwrap_err();
/// assert_eq!(problem.range, 2..4);
/// assert_eq!(problem.to_string(), "minute `61` is out of range: minutes are 0-59");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Byte range of the offending part inside the checked string (`0..0` for an empty string;
    /// the whole string when nothing finer is known).
    pub range: Range<usize>,
    /// What is wrong and what is allowed, starting lowercase, without a trailing period.
    pub message: String,
    /// An optional hint, such as the expected shape of the value.
    pub help: Option<String>,
}

impl Problem {
    /// A problem without a hint.
    ///
    /// ```
    /// let p = azfn_bindings::Problem::new(0..1, "bad");
    /// assert_eq!(p.help, None);
    /// ```
    pub fn new(range: Range<usize>, message: impl Into<String>) -> Problem {
        Problem {
            range,
            message: message.into(),
            help: None,
        }
    }

    /// The same problem with `help` as its hint.
    ///
    /// ```
    /// let p = azfn_bindings::Problem::new(0..1, "bad").with_help("try this");
    /// assert_eq!(p.help.as_deref(), Some("try this"));
    /// ```
    pub fn with_help(mut self, help: impl Into<String>) -> Problem {
        self.help = Some(help.into());
        self
    }

    /// The same problem with its range moved `offset` bytes to the right, for a part that was
    /// checked on its own but sits inside a larger string.
    ///
    /// ```
    /// let p = azfn_bindings::Problem::new(0..1, "bad").shifted(3);
    /// assert_eq!(p.range, 3..4);
    /// ```
    pub fn shifted(mut self, offset: usize) -> Problem {
        self.range = self.range.start.saturating_add(offset)..self.range.end.saturating_add(offset);
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

/// The byte range of the character that starts at byte `at` of `s` (empty at the end of `s`).
pub(crate) fn char_range(s: &str, at: usize) -> Range<usize> {
    let len = s
        .get(at..)
        .and_then(|rest| rest.chars().next())
        .map_or(0, char::len_utf8);
    at..at + len
}

/// How a character is shown inside backticks in a message: whitespace and control characters
/// get a name, since a bare tab or line break between backticks would be invisible.
pub(crate) fn show_char(c: char) -> String {
    match c {
        ' ' => "a space".to_owned(),
        '\t' => "a tab".to_owned(),
        '\n' | '\r' => "a line break".to_owned(),
        c if c.is_whitespace() || c.is_control() => format!("`{}`", c.escape_unicode()),
        c => format!("`{c}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shows_the_message() {
        let p = Problem::new(1..2, "something is wrong").with_help("fix it");
        assert_eq!(p.to_string(), "something is wrong");
    }

    #[test]
    fn char_range_covers_multi_byte_characters() {
        assert_eq!(char_range("aé", 1), 1..3);
        assert_eq!(char_range("a", 1), 1..1);
        assert_eq!(char_range("a", 7), 7..7);
    }

    #[test]
    fn shown_characters_are_visible() {
        assert_eq!(show_char('\t'), "a tab");
        assert_eq!(show_char('x'), "`x`");
        assert_eq!(show_char('\u{0}'), "`\\u{0}`");
    }
}

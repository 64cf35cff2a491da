//! The `schedule` of a timer trigger, as the Azure Functions timer extension reads it.
//!
//! The extension (`Azure/azure-webjobs-sdk-extensions`, `TimerSchedule.Create`) first resolves
//! `%Name%` app-setting references, then tries the text as an NCRONTAB expression (the
//! `atifaziz/NCrontab` library), and only if that fails as a .NET `TimeSpan`, which it then
//! uses as a constant interval between firings. This module accepts what the host accepts,
//! with a few deliberate exceptions for schedules that the host takes but that cannot be what
//! the user meant; each is marked "stricter than the host" below.
//!
//! NCRONTAB rules, from NCrontab's field parser:
//!
//! * Six fields separated by spaces (only the space character separates fields):
//!   `{second} {minute} {hour} {day} {month} {day-of-week}`.
//! * A field is a comma-separated list of items; an item is `*`, a value `a`, or a range
//!   `a-b`, optionally followed by a step `/n`. `a/n` means `a`, `a+n`, ... up to the field's
//!   maximum.
//! * Months and days of the week may also be written as names: any prefix of the English name,
//!   case-insensitively (`Jan`, `january`, `Thu`, `Thurs`); the first name in calendar order
//!   wins, so `M` is March and `T` is Tuesday.
//! * Ranges: seconds and minutes 0-59, hours 0-23, days 1-31, months 1-12, days of the week
//!   0-6 with Sunday = 0 (NCrontab rejects 7).
//! * Day of month and day of week are combined with AND: both must match, unlike classic cron,
//!   which fires when either matches. `0 0 0 13 * Fri` fires only on Friday the 13th.
//!
//! Stricter than the host:
//!
//! * Five-field expressions. The timer extension accepts them (it counts the fields and sets
//!   NCrontab's seconds option only for six), but Azure's scale controller always parses with
//!   seconds, so a five-field schedule runs locally and on dedicated plans yet never wakes a
//!   Consumption-plan app (see `Azure/azure-functions-host#7123`). They are rejected with a
//!   hint to add a seconds field.
//! * A reversed range (`22-2`): NCrontab silently swaps its ends, so `22-2` means `2-22`.
//! * A step of zero or less: NCrontab silently treats it as a step of one.
//! * A day that no listed month has (`30 2`): NCrontab accepts it and never fires.
//! * `TimeSpan` intervals that are zero, negative or fractional; and `24:00:00`, which .NET
//!   reads as 24 *days* (three numbers that do not fit `hh:mm:ss` are taken as `d:hh:mm`).
//! * `%Name%` references mixed with other text: the host substitutes them anywhere, but then
//!   nothing is left to check; only a schedule that is one whole reference is accepted.

use std::fmt;
use std::ops::Range;
use std::time::Duration;

use crate::problem::{Problem, char_range, show_char};

/// The shape of an NCRONTAB expression, shown with most schedule problems.
const SIX_FIELDS: &str = "NCRONTAB has six fields: {second} {minute} {hour} {day} {month} {day-of-week}, \
     e.g. `0 */5 * * * *` fires every five minutes";

/// What an item inside a field may look like, shown when a field has an unexpected character.
const FIELD_SYNTAX: &str = "a field holds `*`, a number, a range `a-b`, a step such as `*/5` or `0-30/10`, \
     or a list of these separated by `,`; fields are separated by single spaces";

/// How a timer trigger's `schedule` makes the timer fire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerSchedule {
    /// An NCRONTAB expression with six fields.
    Cron(CronSchedule),
    /// A .NET `TimeSpan` such as `00:05:00`: the timer fires every `seconds` seconds.
    Interval {
        /// The interval between firings, at least one second.
        seconds: u64,
    },
    /// A whole-value app-setting reference `%Name%`, holding `Name`: the schedule is read from
    /// that setting at run time and must then be parsed again.
    AppSetting(String),
}

/// Parses a timer trigger's `schedule`: an NCRONTAB expression, a `TimeSpan` interval, or a
/// `%Name%` app-setting reference.
///
/// ```
/// use azfn_bindings::schedule::{TimerSchedule, parse_timer_schedule};
/// assert!(matches!(parse_timer_schedule("0 */5 * * * *"), Ok(TimerSchedule::Cron(_))));
/// assert_eq!(parse_timer_schedule("00:05:00"), Ok(TimerSchedule::Interval { seconds: 300 }));
/// assert_eq!(parse_timer_schedule("%Sched%"), Ok(TimerSchedule::AppSetting("Sched".into())));
/// assert_eq!(parse_timer_schedule("0 61 * * * *").unwrap_err().range, 2..4);
/// ```
pub fn parse_timer_schedule(s: &str) -> Result<TimerSchedule, Problem> {
    let trimmed = s.trim();
    if trimmed.is_empty() {
        return Err(Problem::new(
            0..s.len(),
            "timer schedule is empty: expected an NCRONTAB expression, an interval such as `00:05:00`, or `%AppSetting%`",
        )
        .with_help(SIX_FIELDS));
    }
    if s.contains('%') {
        return app_setting_reference(s).map(TimerSchedule::AppSetting);
    }
    if looks_like_time_span(trimmed) {
        return time_span_seconds(s).map(|seconds| TimerSchedule::Interval { seconds });
    }
    CronSchedule::parse(s).map(TimerSchedule::Cron)
}

/// Whether the host would end up reading `trimmed` as a `TimeSpan`: a single word made of
/// digits and separators. Cron needs six words, so the two forms never overlap.
fn looks_like_time_span(trimmed: &str) -> bool {
    !trimmed.contains(' ')
        && (trimmed.contains(':') || trimmed.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-'))
}

/// The app-setting name of a schedule that is exactly `%Name%` (spaces around it allowed).
fn app_setting_reference(s: &str) -> Result<String, Problem> {
    let start = s.len() - s.trim_start().len();
    let trimmed = s.trim();
    if let Some(name) = trimmed.strip_prefix('%').and_then(|rest| rest.strip_suffix('%')) {
        if name.is_empty() {
            return Err(Problem::new(start..start + 2, "app setting reference `%%` has no name")
                .with_help("write `%MySchedule%` and define `MySchedule` in the app settings"));
        }
        if !name.contains('%') {
            return Ok(name.to_owned());
        }
    }
    let first = s.find('%').unwrap_or(0);
    if !s.get(first + 1..).is_some_and(|rest| rest.contains('%')) {
        return Err(Problem::new(
            first..first + 1,
            "`%` has no closing `%`: app setting references look like `%Name%`",
        ));
    }
    Err(Problem::new(
        0..s.len(),
        "an app setting reference must be the whole schedule, like `%MySchedule%`",
    )
    .with_help(
        "put the whole NCRONTAB expression or interval into the app setting; \
         azfn cannot check a schedule that is only complete at run time",
    ))
}

/// A parsed NCRONTAB expression: the set of allowed values of each field.
///
/// ```
/// use azfn_bindings::schedule::{CivilTime, CronSchedule};
/// let every_five_minutes = CronSchedule::parse("0 */5 * * * *").unwrap();
/// let t = CivilTime { year: 2024, month: 2, day: 29, hour: 23, minute: 58, second: 0 };
/// let next = every_five_minutes.next_after(&t).unwrap();
/// assert_eq!(next, CivilTime { year: 2024, month: 3, day: 1, hour: 0, minute: 0, second: 0 });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CronSchedule {
    /// Bit `n` is set when value `n` is allowed; one mask per field, in field order.
    seconds: u64,
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
}

/// One of the six NCRONTAB fields.
struct Field {
    /// Its name in messages ("minute").
    name: &'static str,
    /// What it allows, in messages ("minutes are 0-59").
    allowed: &'static str,
    min: u64,
    max: u64,
    /// Full English names of its values, in order from `min`, for fields that have names.
    names: &'static [&'static str],
}

const FIELDS: [Field; 6] = [
    Field {
        name: "second",
        allowed: "seconds are 0-59",
        min: 0,
        max: 59,
        names: &[],
    },
    Field {
        name: "minute",
        allowed: "minutes are 0-59",
        min: 0,
        max: 59,
        names: &[],
    },
    Field {
        name: "hour",
        allowed: "hours are 0-23",
        min: 0,
        max: 23,
        names: &[],
    },
    Field {
        name: "day",
        allowed: "days of the month are 1-31",
        min: 1,
        max: 31,
        names: &[],
    },
    Field {
        name: "month",
        allowed: "months are 1-12 or Jan-Dec",
        min: 1,
        max: 12,
        names: &[
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ],
    },
    Field {
        name: "day-of-week",
        allowed: "days of the week are 0-6 (Sunday = 0) or Sun-Sat",
        min: 0,
        max: 6,
        names: &[
            "Sunday",
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
        ],
    },
];

/// Index of the day and month fields in [`FIELDS`].
const DAY: usize = 3;
const MONTH: usize = 4;

/// How far [`CronSchedule::next_after`] looks ahead: about five years.
const SEARCH_DAYS: i64 = 5 * 366;

impl CronSchedule {
    /// Parses a six-field NCRONTAB expression.
    ///
    /// ```
    /// use azfn_bindings::schedule::CronSchedule;
    /// assert!(CronSchedule::parse("0 30 9 * * Mon-Fri").is_ok());
    /// assert_eq!(CronSchedule::parse("0 30-10 * * * *").unwrap_err().range, 2..7);
    /// ```
    pub fn parse(s: &str) -> Result<CronSchedule, Problem> {
        reject_odd_whitespace(s)?;
        let fields = split_fields(s);
        check_field_count(s, &fields)?;
        let mut masks = [0u64; 6];
        for (mask, (field, &(start, text))) in masks.iter_mut().zip(FIELDS.iter().zip(&fields)) {
            *mask = parse_field(field, text).map_err(|p| p.shifted(start))?;
        }
        let [seconds, minutes, hours, days, months, weekdays] = masks;
        check_day_exists(days, months, fields[DAY], fields[MONTH])?;
        Ok(CronSchedule {
            seconds,
            minutes,
            hours,
            days,
            months,
            weekdays,
        })
    }

    /// Whether the schedule fires at `t` (false for a `t` that is not a real date and time).
    ///
    /// ```
    /// use azfn_bindings::schedule::{CivilTime, CronSchedule};
    /// let friday_13th = CronSchedule::parse("0 0 0 13 * Fri").unwrap();
    /// let t = CivilTime { year: 2024, month: 9, day: 13, hour: 0, minute: 0, second: 0 };
    /// assert!(friday_13th.matches(&t));
    /// assert!(!friday_13th.matches(&CivilTime { month: 8, ..t }));
    /// ```
    pub fn matches(&self, t: &CivilTime) -> bool {
        t.is_valid()
            && has(self.seconds, t.second.into())
            && has(self.minutes, t.minute.into())
            && has(self.hours, t.hour.into())
            && has(self.days, t.day.into())
            && has(self.months, t.month.into())
            && has(self.weekdays, t.weekday().into())
    }

    /// The first time strictly after `t` that matches, searching at most ~5 years ahead.
    ///
    /// Walks day by day (jumping over whole months that cannot match) and, on a matching day,
    /// finds the first allowed hour, minute and second with bit operations, so it never steps
    /// second by second. An out-of-range `t` (say February 30) is first normalised the way
    /// [`CivilTime::to_unix`] counts it.
    ///
    /// ```
    /// use azfn_bindings::schedule::{CivilTime, CronSchedule};
    /// let leap_day = CronSchedule::parse("0 0 12 29 Feb *").unwrap();
    /// let t = CivilTime { year: 2024, month: 3, day: 1, hour: 0, minute: 0, second: 0 };
    /// assert_eq!(leap_day.next_after(&t).unwrap().year, 2028);
    /// ```
    pub fn next_after(&self, t: &CivilTime) -> Option<CivilTime> {
        let start = t.to_unix().checked_add(1)?;
        let first_day = start.div_euclid(SECONDS_PER_DAY);
        let last_day = first_day.checked_add(SEARCH_DAYS)?;
        let mut day = first_day;
        while day <= last_day {
            let (year, month, dom) = civil_from_days(day);
            if !has(self.months, month.into()) {
                // Nothing in this month can match: continue on the 1st of the next one.
                day += i64::from(days_in_month(year, month) - dom + 1);
                continue;
            }
            if has(self.days, dom.into()) && has(self.weekdays, weekday_of_day(day).into()) {
                let from = if day == first_day {
                    start.rem_euclid(SECONDS_PER_DAY)
                } else {
                    0
                };
                if let Some((hour, minute, second)) = self.first_time_of_day(from) {
                    let year = i32::try_from(year).ok()?;
                    return Some(CivilTime {
                        year,
                        month,
                        day: dom,
                        hour,
                        minute,
                        second,
                    });
                }
            }
            day += 1;
        }
        None
    }

    /// The first allowed time of day at or after second `from` of the day, if any.
    fn first_time_of_day(&self, from: i64) -> Option<(u8, u8, u8)> {
        let (h0, m0, s0) = (from / 3600, from / 60 % 60, from % 60);
        let mut hour = next_set(self.hours, h0)?;
        loop {
            let mut minute = next_set(self.minutes, if hour == h0 { m0 } else { 0 });
            while let Some(m) = minute {
                let second_from = if hour == h0 && m == m0 { s0 } else { 0 };
                if let Some(s) = next_set(self.seconds, second_from) {
                    return Some((to_u8(hour), to_u8(m), to_u8(s)));
                }
                minute = next_set(self.minutes, m + 1);
            }
            hour = next_set(self.hours, hour + 1)?;
        }
    }
}

/// NCrontab splits fields on the space character only; a tab or line break would end up inside
/// a field and fail there with a confusing message, so point at it directly.
fn reject_odd_whitespace(s: &str) -> Result<(), Problem> {
    match s.char_indices().find(|&(_, c)| c != ' ' && c.is_whitespace()) {
        Some((i, c)) => Err(Problem::new(
            char_range(s, i),
            format!(
                "{} is not allowed in an NCRONTAB expression: separate fields with spaces",
                show_char(c)
            ),
        )
        .with_help(SIX_FIELDS)),
        None => Ok(()),
    }
}

/// The space-separated fields of `s` with their byte offsets (runs of spaces count as one).
fn split_fields(s: &str) -> Vec<(usize, &str)> {
    let mut fields = Vec::new();
    let mut offset = 0;
    for part in s.split(' ') {
        if !part.is_empty() {
            fields.push((offset, part));
        }
        offset += part.len() + 1;
    }
    fields
}

fn check_field_count(s: &str, fields: &[(usize, &str)]) -> Result<(), Problem> {
    let (Some(&(first, _)), Some(&(last, last_text))) = (fields.first(), fields.last()) else {
        return Err(
            Problem::new(0..s.len(), "the NCRONTAB expression is empty: it needs six fields").with_help(SIX_FIELDS),
        );
    };
    let all = first..last + last_text.len();
    match fields.len() {
        6 => Ok(()),
        5 => {
            let words: Vec<&str> = fields.iter().map(|&(_, text)| text).collect();
            Err(Problem::new(
                all,
                "five-field cron expressions are not supported: NCRONTAB schedules need six fields, starting with seconds",
            )
            .with_help(format!(
                "the timer extension accepts five fields, but Azure's scale controller reads only six, so a \
                 Consumption-plan app may never wake up for this timer; write `0 {}` to fire at second 0",
                words.join(" ")
            )))
        }
        n if n > 6 => {
            let (extra, _) = fields[6];
            Err(Problem::new(
                extra..all.end,
                format!("too many fields: NCRONTAB expressions have six, this one has {n}"),
            )
            .with_help(SIX_FIELDS))
        }
        n => Err(Problem::new(all, format!("expected six fields, found {n}")).with_help(SIX_FIELDS)),
    }
}

/// Parses one field into a bit mask of its allowed values. Ranges are relative to `text`.
fn parse_field(field: &Field, text: &str) -> Result<u64, Problem> {
    let mut mask = 0;
    let mut start = 0;
    for item in text.split(',') {
        if item.is_empty() {
            // Point at the superfluous comma: the one after the empty item, or before it at the end.
            let comma = if start < text.len() { start } else { start - 1 };
            return Err(Problem::new(
                comma..comma + 1,
                format!("the {} field has an empty item: remove the extra `,`", field.name),
            )
            .with_help("separate values with single commas, e.g. `0,15,30,45`"));
        }
        mask |= parse_item(field, item).map_err(|p| p.shifted(start))?;
        start += item.len() + 1;
    }
    Ok(mask)
}

/// Parses one list item: `*`, `a`, `a-b`, each optionally followed by `/step`.
fn parse_item(field: &Field, item: &str) -> Result<u64, Problem> {
    let (base, step) = match item.find('/') {
        Some(slash) => (&item[..slash], Some(parse_step(&item[slash + 1..], slash)?)),
        None => (item, None),
    };
    if base.is_empty() {
        return Err(Problem::new(
            0..1,
            "`/` needs something to step through before it, e.g. `*/5` or `0-30/5`",
        ));
    }
    let (low, high) = if base == "*" {
        (field.min, field.max)
    } else if let Some(dash) = base.bytes().skip(1).position(|b| b == b'-').map(|p| p + 1) {
        parse_range(field, base, dash)?
    } else if base.starts_with('-') {
        return Err(Problem::new(
            0..1,
            "`-` needs a value before it: write a range as `a-b`, e.g. `1-5`",
        ));
    } else {
        let value = parse_value(field, base)?;
        // `a/n` steps from `a` up to the field's maximum.
        (value, if step.is_some() { field.max } else { value })
    };
    Ok(mask_of(low, high, step.unwrap_or(1)))
}

/// Parses the step after a `/` that sits at byte `slash` of the item.
fn parse_step(text: &str, slash: usize) -> Result<u64, Problem> {
    let at = slash + 1;
    if text.is_empty() {
        return Err(Problem::new(slash..at, "`/` must be followed by a step, e.g. `*/5`"));
    }
    if let Some(extra) = text.find('/') {
        return Err(Problem::new(
            at + extra..at + extra + 1,
            "an item may have only one `/` step",
        ));
    }
    let Some(step) = parse_digits(text) else {
        return Err(Problem::new(
            at..at + text.len(),
            format!("step `{text}` is not a number: steps are whole numbers from 1"),
        ));
    };
    if step == 0 {
        return Err(Problem::new(
            at..at + text.len(),
            "step `0` would never advance: steps are whole numbers from 1",
        )
        .with_help("NCrontab would silently treat it as a step of 1; write `*` for every value"));
    }
    if step > i32::MAX as u64 {
        return Err(Problem::new(at..at + text.len(), format!("step `{text}` is too large")));
    }
    Ok(step)
}

/// Parses `a-b` where the `-` is at byte `dash` of `base`.
fn parse_range(field: &Field, base: &str, dash: usize) -> Result<(u64, u64), Problem> {
    let low = parse_value(field, &base[..dash])?;
    let end = &base[dash + 1..];
    if end.is_empty() {
        return Err(Problem::new(
            dash..dash + 1,
            format!("range `{base}` has no end: write `a-b`, e.g. `1-5`"),
        ));
    }
    if let Some(extra) = end.find('-') {
        let at = dash + 1 + extra;
        return Err(Problem::new(
            at..at + 1,
            "a range has only one `-`: write `a-b`, e.g. `1-5`",
        ));
    }
    let high = parse_value(field, end).map_err(|p| p.shifted(dash + 1))?;
    if low > high {
        return Err(Problem::new(
            0..base.len(),
            format!("range `{base}` is reversed: its start is after its end"),
        )
        .with_help(format!(
            "NCrontab would silently read it as `{high}-{low}`; to wrap around, list two ranges: `{low}-{},{}-{high}`",
            field.max, field.min
        )));
    }
    Ok((low, high))
}

/// Parses a single value: a number or, for months and days of the week, a name.
fn parse_value(field: &Field, text: &str) -> Result<u64, Problem> {
    let Some(first) = text.chars().next() else {
        return Err(Problem::new(
            0..0,
            format!("the {} field is missing a value", field.name),
        ));
    };
    // A value is one word: all digits, or (a name) all letters.
    let word: fn(&char) -> bool = if first.is_ascii_digit() {
        char::is_ascii_digit
    } else if first.is_ascii_alphabetic() {
        char::is_ascii_alphabetic
    } else {
        return Err(unexpected_char(field, text, 0, first));
    };
    if let Some((i, c)) = text.char_indices().find(|(_, c)| !word(c)) {
        return Err(unexpected_char(field, text, i, c));
    }
    let whole = 0..text.len();
    if first.is_ascii_alphabetic() {
        return value_by_name(field, text);
    }
    let value = parse_digits(text).unwrap_or(u64::MAX);
    if value < field.min || value > field.max {
        let problem = Problem::new(
            whole,
            format!("{} `{text}` is out of range: {}", field.name, field.allowed),
        );
        return Err(if field.max == 6 && value == 7 {
            problem.with_help("Sunday is 0; NCRONTAB does not accept 7")
        } else {
            problem
        });
    }
    Ok(value)
}

/// Looks up a month or day name the way NCrontab does: `text` must be a prefix of the full
/// English name, ignoring case, and the first such name in calendar order wins.
fn value_by_name(field: &Field, text: &str) -> Result<u64, Problem> {
    let whole = 0..text.len();
    if field.names.is_empty() {
        return Err(Problem::new(
            whole,
            format!("{} `{text}` is not a number: {}", field.name, field.allowed),
        ));
    }
    let found = field.names.iter().position(|name| {
        name.get(..text.len())
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case(text))
    });
    match found {
        Some(index) => Ok(field.min + index as u64),
        None => Err(Problem::new(
            whole,
            format!("`{text}` is not a {} name: {}", field.name, field.allowed),
        )),
    }
}

fn unexpected_char(field: &Field, text: &str, at: usize, c: char) -> Problem {
    let problem = Problem::new(
        char_range(text, at),
        format!("{} is not allowed in the {} field", show_char(c), field.name),
    );
    match c {
        '?' => problem.with_help("NCRONTAB has no `?`; write `*` for \"any\""),
        '*' => problem.with_help("`*` stands alone, as `*` or `*/n`; it cannot be part of a value or range"),
        '#' | 'L' | 'W' => problem.with_help("NCRONTAB does not support `L`, `W` or `#`"),
        _ => problem.with_help(FIELD_SYNTAX),
    }
}

/// The value of a string of ASCII digits (saturating), or `None` if it has anything else.
fn parse_digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        text.bytes()
            .fold(0u64, |n, b| n.saturating_mul(10).saturating_add(u64::from(b - b'0'))),
    )
}

/// The bit mask of `low, low + step, ...` up to `high`.
fn mask_of(low: u64, high: u64, step: u64) -> u64 {
    let mut mask = 0;
    let mut value = low;
    while value <= high && value < 64 {
        mask |= 1 << value;
        match value.checked_add(step) {
            Some(next) => value = next,
            None => break,
        }
    }
    mask
}

/// A schedule whose days exist in none of its months would be accepted by NCrontab and never
/// fire; say so instead.
fn check_day_exists(days: u64, months: u64, day: (usize, &str), month: (usize, &str)) -> Result<(), Problem> {
    // February counts 29 days: the 29th does occur, in leap years.
    let possible = (1..=12u8)
        .filter(|&m| has(months, m.into()))
        .any(|m| (1..=days_in_month(2000, m)).any(|d| has(days, d.into())));
    if possible {
        return Ok(());
    }
    let ((start, day_text), (_, month_text)) = (day, month);
    Err(Problem::new(
        start..start + day_text.len(),
        format!("day `{day_text}` never occurs in month `{month_text}`, so the schedule would never fire"),
    )
    .with_help("February has at most 29 days; April, June, September and November have 30"))
}

fn has(mask: u64, value: u64) -> bool {
    value < 64 && mask & (1 << value) != 0
}

/// The smallest value `>= from` whose bit is set in `mask`.
fn next_set(mask: u64, from: i64) -> Option<i64> {
    let from = u32::try_from(from).ok().filter(|&f| f < 64)?;
    let rest = mask >> from;
    (rest != 0).then(|| i64::from(from + rest.trailing_zeros()))
}

/// Narrows a time-of-day component, which is always below 60 here.
fn to_u8(value: i64) -> u8 {
    u8::try_from(value).unwrap_or(u8::MAX)
}

/// A UTC date and time to the second (no time zones).
///
/// Fields are in calendar order, so the derived ordering is chronological for valid times.
///
/// ```
/// use azfn_bindings::schedule::CivilTime;
/// let t = CivilTime::from_unix(1_709_164_800);
/// assert_eq!(t, CivilTime { year: 2024, month: 2, day: 29, hour: 0, minute: 0, second: 0 });
/// assert_eq!(t.weekday(), 4); // a Thursday
/// assert_eq!(t.to_string(), "2024-02-29T00:00:00Z");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CivilTime {
    /// The year (proleptic Gregorian; 0 is 1 BC).
    pub year: i32,
    /// The month, 1-12.
    pub month: u8,
    /// The day of the month, 1-31.
    pub day: u8,
    /// The hour, 0-23.
    pub hour: u8,
    /// The minute, 0-59.
    pub minute: u8,
    /// The second, 0-59.
    pub second: u8,
}

const SECONDS_PER_DAY: i64 = 86_400;

impl CivilTime {
    /// The time `secs` seconds after 1970-01-01T00:00:00Z (years beyond `i32` saturate).
    ///
    /// ```
    /// use azfn_bindings::schedule::CivilTime;
    /// assert_eq!(CivilTime::from_unix(0).year, 1970);
    /// ```
    pub fn from_unix(secs: i64) -> CivilTime {
        let (year, month, day) = civil_from_days(secs.div_euclid(SECONDS_PER_DAY));
        let of_day = secs.rem_euclid(SECONDS_PER_DAY);
        CivilTime {
            year: i32::try_from(year).unwrap_or(if year < 0 { i32::MIN } else { i32::MAX }),
            month,
            day,
            hour: to_u8(of_day / 3600),
            minute: to_u8(of_day / 60 % 60),
            second: to_u8(of_day % 60),
        }
    }

    /// Seconds since 1970-01-01T00:00:00Z. Out-of-range fields count on (February 30 is
    /// March 1 or 2, hour 24 is the next day).
    ///
    /// ```
    /// use azfn_bindings::schedule::CivilTime;
    /// let t = CivilTime { year: 2000, month: 1, day: 1, hour: 0, minute: 0, second: 1 };
    /// assert_eq!(t.to_unix(), 946_684_801);
    /// ```
    pub fn to_unix(&self) -> i64 {
        days_from_civil(self.year.into(), self.month.into(), self.day.into()) * SECONDS_PER_DAY
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }

    /// The day of the week, 0 = Sunday through 6 = Saturday.
    ///
    /// ```
    /// use azfn_bindings::schedule::CivilTime;
    /// assert_eq!(CivilTime::from_unix(0).weekday(), 4); // 1970-01-01 was a Thursday
    /// ```
    pub fn weekday(&self) -> u8 {
        weekday_of_day(days_from_civil(self.year.into(), self.month.into(), self.day.into()))
    }

    /// Whether every field is in range and the day exists in its month.
    fn is_valid(&self) -> bool {
        (1..=12).contains(&self.month)
            && (1..=days_in_month(self.year.into(), self.month)).contains(&self.day)
            && self.hour < 24
            && self.minute < 60
            && self.second < 60
    }
}

impl fmt::Display for CivilTime {
    /// ISO 8601, e.g. `2024-02-29T13:05:00Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// A UTC time `since_epoch` after 1970-01-01 in .NET's round-trip format `"o"`, as the host
/// writes `DateTime`s (`sys.UtcNow`) and the Durable Task SDK names deterministic GUIDs: seven
/// fractional digits of 100-nanosecond ticks, truncated.
///
/// ```
/// use std::time::Duration;
/// use azfn_bindings::schedule::round_trip;
/// assert_eq!(round_trip(Duration::new(1_660_549_921, 886_191_300)), "2022-08-15T07:52:01.8861913Z");
/// ```
pub fn round_trip(since_epoch: Duration) -> String {
    let t = CivilTime::from_unix(i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX));
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
        t.year,
        t.month,
        t.day,
        t.hour,
        t.minute,
        t.second,
        since_epoch.subsec_nanos() / 100
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date `days` days after 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, to_u8(month), to_u8(day))
}

/// The day of the week of day number `days` since 1970-01-01, a Thursday.
fn weekday_of_day(days: i64) -> u8 {
    to_u8((days + 4).rem_euclid(7))
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses a .NET `TimeSpan` as the host writes them and `TimeSpan.TryParse` reads them:
/// `hh:mm:ss`, `d.hh:mm:ss`, either with a fraction (`00:00:01.5`, at most seven digits), and
/// .NET's shorter forms (`d`, `hh:mm`, `d.hh:mm`, `d:hh:mm:ss`); hours 0-23, minutes and seconds
/// 0-59. Stricter than .NET: a negative span (not a [`Duration`]), and three numbers that do not
/// fit `hh:mm:ss` (.NET reads `24:00:00` as 24 days).
///
/// ```
/// use std::time::Duration;
/// use azfn_bindings::schedule::parse_time_span;
/// assert_eq!(parse_time_span("1.02:00:00.5"), Ok(Duration::from_millis(93_600_500)));
/// assert_eq!(parse_time_span("00:00:00"), Ok(Duration::ZERO));
/// assert_eq!(parse_time_span("00:61:00").unwrap_err().range, 3..5);
/// ```
pub fn parse_time_span(s: &str) -> Result<Duration, Problem> {
    let offset = s.len() - s.trim_start().len();
    let span = TimeSpanText::split(s.trim()).map_err(|p| p.shifted(offset))?;
    span.parts("the time span is negative")
        .and_then(|parts| parts.duration())
        .map_err(|p| p.shifted(offset))
}

/// Parses a `TimeSpan` the way .NET's `TimeSpan.TryParse` reads the host's schedule, and
/// returns it in whole seconds.
///
/// .NET splits the trimmed text into numbers and the separators between them and accepts, with
/// an optional leading `-`: `d`, `h:m`, `h:m:s`, `d.h:m`, `h:m:s.f`, `d.h:m:s`, `d:h:m:s` and
/// `d.h:m:s.f` (or `d:h:m:s.f`), with hours 0-23, minutes and seconds 0-59 and at most
/// 10675199 days. When three numbers do not fit `h:m:s` it tries `d:h:m`, which is why
/// `24:00:00` is 24 days; that case is rejected here.
/// The whole seconds of a .NET `TimeSpan` text (`hh:mm:ss`, `d.hh:mm:ss`, fractions ignored), as
/// the host reads intervals and `functionTimeout`; at least one second.
///
/// ```
/// use azfn_bindings::schedule::time_span_seconds;
/// assert_eq!(time_span_seconds("00:05:00"), Ok(300));
/// assert_eq!(time_span_seconds("1.00:00:01"), Ok(86_401));
/// assert!(time_span_seconds("00:61:00").is_err());
/// ```
pub fn time_span_seconds(s: &str) -> Result<u64, Problem> {
    let offset = s.len() - s.trim_start().len();
    let span = TimeSpanText::split(s.trim()).map_err(|p| p.shifted(offset))?;
    span.seconds().map_err(|p| p.shifted(offset))
}

/// How to write an interval, shown with interval problems.
const INTERVAL_HELP: &str =
    "write an interval as `hh:mm:ss` or `d.hh:mm:ss`, e.g. `00:05:00` for five minutes or `1.00:00:00` for a day";

/// A trimmed `TimeSpan` text split into its numbers and the separators around them.
struct TimeSpanText<'a> {
    text: &'a str,
    /// Each number's value (saturating) and byte range.
    numbers: Vec<(u64, Range<usize>)>,
    /// The separators: one before each number and one after the last (possibly empty).
    separators: Vec<(&'a str, Range<usize>)>,
}

/// The largest number a .NET `TimeSpan` token may have.
const MAX_TIME_SPAN_TOKEN: u64 = 0x0FFF_FFFF;
const MAX_TIME_SPAN_DAYS: u64 = 10_675_199;

impl<'a> TimeSpanText<'a> {
    fn split(text: &'a str) -> Result<TimeSpanText<'a>, Problem> {
        let mut span = TimeSpanText {
            text,
            numbers: Vec::new(),
            separators: Vec::new(),
        };
        let mut start = 0;
        let bytes = text.as_bytes();
        while start < bytes.len() {
            let digits = bytes[start].is_ascii_digit();
            let len = bytes[start..]
                .iter()
                .take_while(|b| b.is_ascii_digit() == digits)
                .count();
            let range = start..start + len;
            if digits {
                if span.separators.len() == span.numbers.len() {
                    span.separators.push(("", start..start));
                }
                let value = parse_digits(&text[range.clone()]).unwrap_or(u64::MAX);
                if value > MAX_TIME_SPAN_TOKEN {
                    return Err(Problem::new(
                        range,
                        format!("`{}` is too large for an interval", &text[start..start + len]),
                    )
                    .with_help(INTERVAL_HELP));
                }
                span.numbers.push((value, range));
            } else {
                span.separators.push((&text[range.clone()], range));
            }
            start += len;
        }
        if span.separators.len() == span.numbers.len() {
            span.separators.push(("", text.len()..text.len()));
        }
        Ok(span)
    }

    fn not_an_interval(&self) -> Problem {
        // Point at the first separator that is never valid, if there is one.
        let odd = self
            .separators
            .iter()
            .skip(1)
            .find(|(sep, _)| !matches!(*sep, "" | ":" | "."));
        match odd {
            Some((sep, range)) => Problem::new(range.clone(), format!("`{sep}` is not allowed in an interval")),
            None => Problem::new(0..self.text.len(), format!("`{}` is not a valid interval", self.text)),
        }
        .with_help(INTERVAL_HELP)
    }

    /// Matches the separators against the forms .NET accepts and adds up the interval's
    /// seconds; three numbers that do not fit `hh:mm:ss` are explained (.NET reads `d:hh:mm`).
    fn seconds(&self) -> Result<u64, Problem> {
        let parts = self.parts("the interval is negative: it must be at least one second")?;
        if let ([a, b, c], None) = (self.numbers.as_slice(), parts.days) {
            return self.three_numbers(a, b, c);
        }
        parts.total(self.text)
    }

    /// Matches the separators against the forms .NET accepts: the components, unchecked.
    fn parts(&self, negative: &str) -> Result<Parts<'_>, Problem> {
        let (Some((lead, lead_range)), Some((end, _))) = (self.separators.first(), self.separators.last()) else {
            return Err(self.not_an_interval());
        };
        if self.numbers.is_empty() || !end.is_empty() {
            return Err(self.not_an_interval());
        }
        match *lead {
            "" => {}
            "-" => return Err(Problem::new(lead_range.clone(), negative).with_help(INTERVAL_HELP)),
            _ => return Err(self.not_an_interval()),
        }
        let inner: Vec<&str> = self.separators[1..self.separators.len() - 1]
            .iter()
            .map(|(sep, _)| *sep)
            .collect();
        let n = &self.numbers;
        let parts = match (inner.as_slice(), n.as_slice()) {
            ([], [d]) => Parts {
                days: Some(d),
                ..Parts::default()
            },
            ([":"], [h, m]) => Parts {
                hours: Some(h),
                minutes: Some(m),
                ..Parts::default()
            },
            ([":", ":"], [h, m, s]) => Parts {
                hours: Some(h),
                minutes: Some(m),
                seconds: Some(s),
                ..Parts::default()
            },
            ([".", ":"], [d, h, m]) => Parts {
                days: Some(d),
                hours: Some(h),
                minutes: Some(m),
                ..Parts::default()
            },
            ([":", ":", "."], [h, m, s, f]) => Parts {
                hours: Some(h),
                minutes: Some(m),
                seconds: Some(s),
                fraction: Some(f),
                ..Parts::default()
            },
            (["." | ":", ":", ":"], [d, h, m, s]) => Parts {
                days: Some(d),
                hours: Some(h),
                minutes: Some(m),
                seconds: Some(s),
                ..Parts::default()
            },
            (["." | ":", ":", ":", "."], [d, h, m, s, f]) => Parts {
                days: Some(d),
                hours: Some(h),
                minutes: Some(m),
                seconds: Some(s),
                fraction: Some(f),
            },
            _ => return Err(self.not_an_interval()),
        };
        Ok(parts)
    }

    /// `a:b:c` is `hh:mm:ss` when it fits, else .NET reads `d:hh:mm`.
    fn three_numbers(
        &self,
        a: &(u64, Range<usize>),
        b: &(u64, Range<usize>),
        c: &(u64, Range<usize>),
    ) -> Result<u64, Problem> {
        let hms = Parts {
            hours: Some(a),
            minutes: Some(b),
            seconds: Some(c),
            ..Parts::default()
        };
        if hms.check().is_ok() {
            return hms.total(self.text);
        }
        let dhm = Parts {
            days: Some(a),
            hours: Some(b),
            minutes: Some(c),
            ..Parts::default()
        };
        if dhm.check().is_ok() {
            let (text, (first, middle, last)) = (self.text, (a.0, b.0, c.0));
            let (days, hours) = (first / 24, first % 24);
            return Err(Problem::new(
                0..text.len(),
                format!("`{text}` means {first} days to the host, not {first} hours"),
            )
            .with_help(format!(
                "hours are 0-23 in `hh:mm:ss`; write days first: `{days}.{hours:02}:{middle:02}:{last:02}` \
                     for {first} hours, or `{first}.{middle:02}:{last:02}:00` for {first} days"
            )));
        }
        hms.check().and_then(|()| hms.total(self.text))
    }
}

/// The components of an interval, each a number and its byte range.
#[derive(Default)]
struct Parts<'n> {
    days: Option<&'n (u64, Range<usize>)>,
    hours: Option<&'n (u64, Range<usize>)>,
    minutes: Option<&'n (u64, Range<usize>)>,
    seconds: Option<&'n (u64, Range<usize>)>,
    fraction: Option<&'n (u64, Range<usize>)>,
}

impl Parts<'_> {
    /// Checks each component against the range .NET allows.
    fn check(&self) -> Result<(), Problem> {
        let limits = [
            (
                self.days,
                MAX_TIME_SPAN_DAYS,
                "days",
                "an interval has at most 10675199 days",
            ),
            (
                self.hours,
                23,
                "hours",
                "hours are 0-23; write longer intervals with days first, e.g. `1.00:00:00`",
            ),
            (self.minutes, 59, "minutes", "minutes are 0-59"),
            (self.seconds, 59, "seconds", "seconds are 0-59"),
        ];
        for (part, max, what, allowed) in limits {
            if let Some((value, range)) = part
                && *value > max
            {
                return Err(
                    Problem::new(range.clone(), format!("{what} `{value}` is out of range: {allowed}"))
                        .with_help(INTERVAL_HELP),
                );
            }
        }
        Ok(())
    }

    /// The whole seconds of an interval: at least one, and no fraction.
    fn total(&self, text: &str) -> Result<u64, Problem> {
        self.check()?;
        if let Some((value, range)) = self.fraction
            && *value != 0
        {
            return Err(Problem::new(
                range.clone(),
                "fractions of a second are not supported: azfn timers count whole seconds",
            )
            .with_help(INTERVAL_HELP));
        }
        let value = |part: Option<&(u64, Range<usize>)>| part.map_or(0, |(v, _)| *v);
        let seconds =
            value(self.days) * 86_400 + value(self.hours) * 3600 + value(self.minutes) * 60 + value(self.seconds);
        if seconds == 0 {
            return Err(Problem::new(
                0..text.len(),
                format!("interval `{text}` is zero: it must be at least one second"),
            )
            .with_help(INTERVAL_HELP));
        }
        Ok(seconds)
    }

    /// The span, fractions (at most seven digits, .NET's ticks) included.
    fn duration(&self) -> Result<Duration, Problem> {
        self.check()?;
        let value = |part: Option<&(u64, Range<usize>)>| part.map_or(0, |(v, _)| *v);
        let seconds =
            value(self.days) * 86_400 + value(self.hours) * 3600 + value(self.minutes) * 60 + value(self.seconds);
        let nanos = match self.fraction {
            None => 0,
            Some((_, range)) if range.len() > 7 => {
                return Err(Problem::new(
                    range.clone(),
                    "a fraction of a second has at most seven digits (100-nanosecond ticks)",
                )
                .with_help(INTERVAL_HELP));
            }
            // At most seven digits, so the value and the scale both fit.
            Some((fraction, range)) => {
                u32::try_from(*fraction).unwrap_or(0) * 10u32.pow(9 - u32::try_from(range.len()).unwrap_or(9))
            }
        };
        Ok(Duration::new(seconds, nanos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz;

    fn at(year: i32, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> CivilTime {
        CivilTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
        }
    }

    fn cron(s: &str) -> CronSchedule {
        CronSchedule::parse(s).unwrap_or_else(|p| panic!("{s:?}: {p:?}"))
    }

    fn problem(s: &str) -> Problem {
        match parse_timer_schedule(s) {
            Err(p) => p,
            Ok(ok) => panic!("{s:?} parsed as {ok:?}"),
        }
    }

    /// The range of the problem in `s` and the text it covers.
    fn bad_part(s: &str) -> (Range<usize>, &str) {
        let range = problem(s).range;
        (range.clone(), &s[range])
    }

    #[test]
    fn valid_cron_expressions() {
        for s in [
            "0 */5 * * * *",
            "0 0 * * * *",
            "0 30 9 * * 1-5",
            "0 0 0 1 1 *",
            "*/10 * * * * *",
            "0 0 12 * * Mon-Fri",
            "0 0 12 * Jan,Jul sun",
            "0 0 0 29 2 *",
            "5/15 * * * * *",
            "0 0 0 * * 0,6",
            "0 0 9-17/2 * * *",
            "  0   0  0 * *  *  ",
            "0 0 0 * JANUARY thursday",
            "0 0 0 * * Thurs",
            "59 59 23 31 12 6",
            "00 05 * * * *",
            "0 */90 * * * *",
        ] {
            assert!(
                matches!(parse_timer_schedule(s), Ok(TimerSchedule::Cron(_))),
                "{s:?}: {:?}",
                parse_timer_schedule(s)
            );
        }
    }

    #[test]
    fn out_of_range_values_point_at_the_value() {
        assert_eq!(
            problem("0 61 * * * *").message,
            "minute `61` is out of range: minutes are 0-59"
        );
        assert_eq!(bad_part("0 61 * * * *"), (2..4, "61"));
        assert_eq!(bad_part("60 * * * * *"), (0..2, "60"));
        assert_eq!(bad_part("0 0 24 * * *"), (4..6, "24"));
        assert_eq!(bad_part("0 0 0 0 * *"), (6..7, "0"));
        assert_eq!(bad_part("0 0 0 32 * *"), (6..8, "32"));
        assert_eq!(bad_part("0 0 0 * 13 *"), (8..10, "13"));
        assert_eq!(bad_part("0 0 0 * 0 *"), (8..9, "0"));
        assert_eq!(bad_part("0 0 0 * * 7"), (10..11, "7"));
        assert_eq!(
            problem("0 0 0 * * 7").help.as_deref(),
            Some("Sunday is 0; NCRONTAB does not accept 7")
        );
        assert_eq!(bad_part("0 1-60 * * * *"), (4..6, "60"));
        assert_eq!(bad_part("0 1,2,99 * * * *"), (6..8, "99"));
        assert_eq!(
            bad_part("0 99999999999999999999999 * * * *"),
            (2..25, "99999999999999999999999")
        );
    }

    #[test]
    fn steps_ranges_and_lists_are_checked() {
        assert_eq!(bad_part("*/0 * * * * *"), (2..3, "0"));
        assert_eq!(bad_part("0 5/0 * * * *"), (4..5, "0"));
        assert_eq!(bad_part("0 */ * * * *"), (3..4, "/"));
        assert_eq!(bad_part("0 */x * * * *"), (4..5, "x"));
        assert_eq!(bad_part("0 */5/2 * * * *"), (5..6, "/"));
        assert_eq!(bad_part("0 /5 * * * *"), (2..3, "/"));
        assert_eq!(bad_part("0 30-10 * * * *"), (2..7, "30-10"));
        assert!(problem("0 30-10 * * * *").help.unwrap().contains("`30-59,0-10`"));
        assert_eq!(bad_part("0 0 0 * * Fri-Mon"), (10..17, "Fri-Mon"));
        assert_eq!(bad_part("0 1- * * * *"), (3..4, "-"));
        assert_eq!(bad_part("0 -1 * * * *"), (2..3, "-"));
        assert_eq!(bad_part("0 1-2-3 * * * *"), (5..6, "-"));
        assert_eq!(bad_part("0 1,,2 * * * *"), (4..5, ","));
        assert_eq!(bad_part("0 ,1 * * * *"), (2..3, ","));
        assert_eq!(bad_part("0 1, * * * *"), (3..4, ","));
        assert_eq!(bad_part("0 *5 * * * *"), (2..3, "*"));
        assert_eq!(bad_part("0 5* * * * *"), (3..4, "*"));
        assert_eq!(bad_part("0 *-5 * * * *"), (2..3, "*"));
    }

    #[test]
    fn names_and_unexpected_characters() {
        assert_eq!(bad_part("0 0 0 * Foo *"), (8..11, "Foo"));
        assert_eq!(
            problem("0 0 0 * Foo *").message,
            "`Foo` is not a month name: months are 1-12 or Jan-Dec"
        );
        assert_eq!(bad_part("0 0 0 * * Mun"), (10..13, "Mun"));
        assert_eq!(bad_part("0 0 0 * * Mondays"), (10..17, "Mondays"));
        assert_eq!(bad_part("0 abc * * * *"), (2..5, "abc"));
        assert_eq!(
            problem("0 abc * * * *").message,
            "minute `abc` is not a number: minutes are 0-59"
        );
        assert_eq!(bad_part("0 5x * * * *"), (3..4, "x"));
        assert_eq!(bad_part("0 0 0 ? * *"), (6..7, "?"));
        assert_eq!(problem("0 0 0 ? * *").message, "`?` is not allowed in the day field");
        assert_eq!(bad_part("0 0 0 * * 5#3"), (11..12, "#"));
        assert_eq!(bad_part("0 é * * * *"), (2..4, "é"));
        assert_eq!(bad_part("0\t* * * * *"), (1..2, "\t"));
        assert_eq!(bad_part("0 0 0 30 2 *"), (6..8, "30"));
        assert_eq!(bad_part("0 0 0 31 4,6 *"), (6..8, "31"));
        assert!(parse_timer_schedule("0 0 0 31 4,7 *").is_ok());
    }

    #[test]
    fn names_are_prefixes_in_calendar_order() {
        let t = at(2024, 3, 4, 0, 0, 0); // Monday 4 March 2024
        assert!(cron("0 0 0 * M *").matches(&t), "`M` is March");
        assert!(cron("0 0 0 * mar Mo").matches(&t));
        assert!(cron("0 0 0 * * MONDAY").matches(&t));
        assert!(!cron("0 0 0 * * T").matches(&t), "`T` is Tuesday");
    }

    #[test]
    fn field_counts() {
        assert_eq!(bad_part("0 * * * *"), (0..9, "0 * * * *"));
        assert!(problem("0 * * * *").help.unwrap().contains("`0 0 * * * *`"));
        assert_eq!(bad_part("0 * * * * * *"), (12..13, "*"));
        assert_eq!(bad_part("0 * * * * * 2024 x"), (12..18, "2024 x"));
        assert_eq!(bad_part("* *"), (0..3, "* *"));
        assert_eq!(bad_part(" * * "), (1..4, "* *"));
        assert_eq!(problem("").range, 0..0);
        assert_eq!(problem("   ").range, 0..3);
        assert_eq!(CronSchedule::parse("").unwrap_err().range, 0..0);
    }

    #[test]
    fn time_spans_parse_with_days_and_fractions() {
        let ok = |s: &str| parse_time_span(s).unwrap_or_else(|p| panic!("{s:?}: {p:?}"));
        assert_eq!(ok("00:05:00"), Duration::from_secs(300));
        assert_eq!(ok(" 2.01:00:00 "), Duration::from_secs(2 * 86_400 + 3600));
        assert_eq!(ok("00:00:01.25"), Duration::from_millis(1250));
        assert_eq!(ok("00:00:01.05"), Duration::from_millis(1050));
        assert_eq!(ok("1.00:00:00.0000001"), Duration::new(86_400, 100));
        assert_eq!(ok("1:02:03:04"), Duration::from_secs(93_784));
        assert_eq!(ok("01:30"), Duration::from_secs(5400));
        assert_eq!(ok("5"), Duration::from_secs(5 * 86_400));
        assert_eq!(ok("00:00:00"), Duration::ZERO);
        let bad = |s: &str| parse_time_span(s).expect_err(s).range;
        assert_eq!(bad("24:00:00"), 0..2);
        assert_eq!(bad("00:61:00"), 3..5);
        assert_eq!(bad("1.25:00:00"), 2..4);
        assert_eq!(bad(" -00:01:00"), 1..2);
        assert_eq!(bad("00:00:01.12345678"), 9..17);
        for s in ["", "x", "soon", "a.00:00:00", "1.2.3", "00:00:00:00:00"] {
            assert!(parse_time_span(s).is_err(), "{s:?}");
        }
        for s in fuzz::strings(2000) {
            if let Err(p) = parse_time_span(&s) {
                fuzz::assert_range_ok(&s, &p.range);
            }
        }
    }

    #[test]
    fn intervals_follow_dotnet_time_span() {
        let interval = |s: &str| match parse_timer_schedule(s) {
            Ok(TimerSchedule::Interval { seconds }) => seconds,
            other => panic!("{s:?}: {other:?}"),
        };
        assert_eq!(interval("00:05:00"), 300);
        assert_eq!(interval(" 00:00:30 "), 30);
        assert_eq!(interval("01:30"), 5400);
        assert_eq!(interval("1.00:00:00"), 86_400);
        assert_eq!(interval("1.02:03"), 93_780);
        assert_eq!(interval("1:02:03:04"), 93_784);
        assert_eq!(interval("2.00:00:01.000"), 172_801);
        assert_eq!(interval("00:00:10.0"), 10);
        assert_eq!(interval("5"), 432_000, "a bare number is days, as in .NET");
    }

    #[test]
    fn bad_intervals_point_at_the_bad_number() {
        assert_eq!(bad_part("00:60:00"), (3..5, "60"));
        assert_eq!(bad_part("00:00:60"), (6..8, "60"));
        assert_eq!(bad_part("24:00"), (0..2, "24"));
        assert_eq!(bad_part("1.24:00:00"), (2..4, "24"));
        assert_eq!(bad_part("24:00:00"), (0..8, "24:00:00"));
        assert_eq!(
            problem("24:00:00").message,
            "`24:00:00` means 24 days to the host, not 24 hours"
        );
        assert!(problem("24:00:00").help.unwrap().contains("`1.00:00:00`"));
        assert_eq!(bad_part("-00:05:00"), (0..1, "-"));
        assert_eq!(bad_part("00:00:00"), (0..8, "00:00:00"));
        assert_eq!(bad_part("0"), (0..1, "0"));
        assert_eq!(bad_part("00:00:00.5"), (9..10, "5"));
        assert_eq!(bad_part("1:2:3:4:5:6"), (0..11, "1:2:3:4:5:6"));
        assert_eq!(bad_part("1:2;3"), (3..4, ";"));
        assert_eq!(bad_part("999999999"), (0..9, "999999999"));
        assert_eq!(bad_part("10675200"), (0..8, "10675200"));
        assert_eq!(bad_part(" 00:60 "), (4..6, "60"));
    }

    #[test]
    fn app_setting_references() {
        assert_eq!(
            parse_timer_schedule("%Sched%"),
            Ok(TimerSchedule::AppSetting("Sched".into()))
        );
        assert_eq!(
            parse_timer_schedule(" %Timer:Schedule% "),
            Ok(TimerSchedule::AppSetting("Timer:Schedule".into()))
        );
        assert_eq!(bad_part("%%"), (0..2, "%%"));
        assert_eq!(bad_part(" %%"), (1..3, "%%"));
        assert_eq!(bad_part("%abc"), (0..1, "%"));
        assert_eq!(bad_part("0 %x% * * * *"), (0..13, "0 %x% * * * *"));
        assert_eq!(bad_part("%a%b%"), (0..5, "%a%b%"));
    }

    #[test]
    fn next_after_crosses_month_and_year_boundaries() {
        let every_five = cron("0 */5 * * * *");
        assert_eq!(
            every_five.next_after(&at(2024, 1, 31, 23, 58, 30)),
            Some(at(2024, 2, 1, 0, 0, 0))
        );
        assert_eq!(
            every_five.next_after(&at(2024, 1, 31, 12, 5, 0)),
            Some(at(2024, 1, 31, 12, 10, 0))
        );
        let new_year = cron("0 0 0 1 1 *");
        assert_eq!(
            new_year.next_after(&at(2023, 12, 31, 23, 59, 59)),
            Some(at(2024, 1, 1, 0, 0, 0))
        );
        assert_eq!(
            new_year.next_after(&at(2024, 1, 1, 0, 0, 0)),
            Some(at(2025, 1, 1, 0, 0, 0)),
            "strictly after"
        );
        let midnight = cron("0 0 0 * * *");
        assert_eq!(
            midnight.next_after(&at(2024, 12, 31, 0, 0, 0)),
            Some(at(2025, 1, 1, 0, 0, 0))
        );
        let seconds = cron("*/15 * * * * *");
        assert_eq!(
            seconds.next_after(&at(2024, 6, 30, 23, 59, 59)),
            Some(at(2024, 7, 1, 0, 0, 0))
        );
        assert_eq!(
            seconds.next_after(&at(2024, 6, 1, 12, 0, 14)),
            Some(at(2024, 6, 1, 12, 0, 15))
        );
        let thirty_first = cron("0 0 0 31 * *");
        assert_eq!(
            thirty_first.next_after(&at(2024, 3, 31, 0, 0, 0)),
            Some(at(2024, 5, 31, 0, 0, 0))
        );
        let late = cron("30 45 22 * * *");
        assert_eq!(
            late.next_after(&at(2024, 5, 1, 22, 45, 31)),
            Some(at(2024, 5, 2, 22, 45, 30))
        );
        assert_eq!(
            late.next_after(&at(2024, 5, 1, 22, 44, 59)),
            Some(at(2024, 5, 1, 22, 45, 30))
        );
    }

    #[test]
    fn next_after_handles_leap_days_and_weekdays() {
        let leap_day = cron("0 0 12 29 2 *");
        assert_eq!(
            leap_day.next_after(&at(2024, 3, 1, 0, 0, 0)),
            Some(at(2028, 2, 29, 12, 0, 0))
        );
        assert_eq!(
            leap_day.next_after(&at(2099, 6, 1, 0, 0, 0)),
            Some(at(2104, 2, 29, 12, 0, 0)),
            "2100 is no leap year"
        );
        let monday = cron("0 0 9 * * Mon");
        assert_eq!(
            monday.next_after(&at(2024, 5, 15, 0, 0, 0)),
            Some(at(2024, 5, 20, 9, 0, 0))
        );
        // Day of month AND day of week, as in NCrontab: Friday the 13th.
        let friday_13th = cron("0 0 0 13 * Fri");
        assert_eq!(
            friday_13th.next_after(&at(2024, 1, 1, 0, 0, 0)),
            Some(at(2024, 9, 13, 0, 0, 0))
        );
        assert_eq!(
            friday_13th.next_after(&at(2024, 9, 13, 0, 0, 0)),
            Some(at(2024, 12, 13, 0, 0, 0))
        );
        let weekend = cron("0 0 8 * * 6,0");
        assert_eq!(
            weekend.next_after(&at(2024, 5, 17, 9, 0, 0)),
            Some(at(2024, 5, 18, 8, 0, 0))
        );
        // Monday 29 February first happens in 2044: beyond the five-year search.
        assert_eq!(cron("0 0 0 29 2 Mon").next_after(&at(2024, 3, 1, 0, 0, 0)), None);
        assert_eq!(
            cron("0 0 0 29 2 Mon").next_after(&at(2040, 3, 1, 0, 0, 0)),
            Some(at(2044, 2, 29, 0, 0, 0))
        );
    }

    #[test]
    fn next_after_never_panics_at_the_edges() {
        let every_second = cron("* * * * * *");
        let _ = every_second.next_after(&CivilTime::from_unix(i64::MAX));
        let odd = at(2023, 2, 30, 25, 61, 61); // normalised by to_unix
        assert!(every_second.next_after(&odd).is_some());
        assert!(!every_second.matches(&odd));
        let _ = every_second.next_after(&CivilTime::from_unix(i64::MIN));
        assert!(every_second.next_after(&at(i32::MAX, 12, 31, 23, 59, 59)).is_none());
        let _ = every_second.next_after(&at(i32::MIN, 0, 0, 0, 0, 0));
    }

    #[test]
    fn matches_agrees_with_next_after() {
        let schedule = cron("15 */20 8-18 * * Mon-Fri");
        let mut t = at(2024, 5, 17, 17, 0, 0);
        for _ in 0..20 {
            let next = schedule.next_after(&t).expect("fires on weekdays");
            assert!(next > t && schedule.matches(&next), "{next}");
            // Nothing in between matches.
            let mut probe = t.to_unix() + 1;
            while probe < next.to_unix() {
                assert!(!schedule.matches(&CivilTime::from_unix(probe)));
                probe += 1;
            }
            t = next;
        }
    }

    #[test]
    fn unix_time_round_trips() {
        assert_eq!(CivilTime::from_unix(0), at(1970, 1, 1, 0, 0, 0));
        assert_eq!(CivilTime::from_unix(-1), at(1969, 12, 31, 23, 59, 59));
        assert_eq!(CivilTime::from_unix(951_782_400), at(2000, 2, 29, 0, 0, 0));
        assert_eq!(CivilTime::from_unix(1_709_164_800), at(2024, 2, 29, 0, 0, 0));
        assert_eq!(at(2024, 3, 1, 0, 0, 0).to_unix(), 1_709_251_200);
        assert_eq!(at(2024, 5, 20, 0, 0, 0).weekday(), 1);
        assert_eq!(at(2000, 1, 1, 0, 0, 0).weekday(), 6);
        let mut secs: i64 = -62_135_596_800; // 0001-01-01
        while secs < 253_402_300_799 {
            let t = CivilTime::from_unix(secs);
            assert!(t.is_valid(), "{t:?}");
            assert_eq!(t.to_unix(), secs);
            secs += 7_777_777;
        }
    }

    #[test]
    fn parsers_never_panic() {
        for s in fuzz::strings(20_000) {
            for result in [
                parse_timer_schedule(&s).map(|_| ()),
                CronSchedule::parse(&s).map(|_| ()),
            ] {
                if let Err(p) = result {
                    fuzz::assert_range_ok(&s, &p.range);
                    assert!(!p.message.is_empty() && !p.message.ends_with('.'), "{s:?}: {p:?}");
                }
            }
        }
    }
}

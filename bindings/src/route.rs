//! HTTP-trigger `route` templates, parsed and matched the way the Functions host does it, and
//! the [`RouteTable`] that picks a function for a request with the host's precedence.
//!
//! The host registers each HTTP function with ASP.NET Core routing: it joins the route prefix
//! (`api` by default) and the template with a `/` (`WebJobsRouteBuilder.BuildRouteTemplate`),
//! parses the result with ASP.NET Core's `RoutePatternParser` and resolves inline constraints
//! with the default constraint map of `RouteOptions`. The rules below follow those sources:
//!
//! * Segments are separated by `/`; an empty segment (`a//b`) is an error, a single trailing
//!   `/` is ignored. Inside `{...}` a `/` does not end the segment (it may appear in a regex).
//! * Literal text may not contain `?`; `{{` and `}}` are literal braces.
//! * A parameter is `{name}`, optionally starting with `*` or `**` (catch-all) or ending with `?`
//!   (optional), with `:constraint` parts and an `=default`. The name ends at the first `:` or
//!   `=`; it may not contain `/ { } ? *`. Names are unique, ignoring case.
//! * Constraint names ignore case; arguments go in parentheses. A `:` or `=` inside the
//!   parentheses stays in the argument when a `)` follows later, so `regex(a:b)` works.
//!   Braces in a regex are doubled: `{id:regex(^\\d{{3}}$)}`.
//! * A catch-all must be the last segment and alone in it; it cannot be optional.
//! * In a segment with several parts (`{name}.{ext}`), two parameters may not be adjacent, and
//!   only the last part may be optional, directly after a `.` literal.
//! * An optional parameter cannot have a default.
//!
//! Stricter than the host:
//!
//! * A template starting with `/`: after the prefix is joined the host sees `api//...`, an
//!   empty segment (it works only with an empty prefix). A template starting with `~`: ASP.NET
//!   rejects `~x`, and `~/x` becomes a literal `~` segment behind the prefix.
//! * A parameter name that starts with `:` or `=` (`{:int}`): ASP.NET takes `:int` as the name.
//! * An optional or defaulted parameter followed by a segment that needs a value
//!   (`{a?}/b`): ASP.NET accepts it, but the parameter can then never be left out.
//!
//! Matching follows ASP.NET Core's `RoutePatternMatcher`: literals compare ignoring case,
//! a complex segment is matched from the right using the last occurrence of each literal, a
//! catch-all takes the rest of the path (including slashes), and constraints are checked on
//! the final values, defaults included.

use std::ops::Range;

use crate::problem::{Problem, show_char};

mod table;

pub use table::{RouteLookup, RouteTable};

/// How to write a parameter, shown with most parameter problems.
const PARAMETER_HELP: &str = "parameters look like `{name}`, `{name?}`, `{name=default}`, `{name:int}` or `{*rest}`; \
     write `{{` and `}}` for literal braces";

/// Why a route must not start with `/` or `~`.
const RELATIVE_HELP: &str = "routes are relative to the route prefix: write `orders/{id}`, which the host serves at \
     `/api/orders/{id}`";

/// The constraints the host knows, listed in messages about unknown ones.
const KNOWN_CONSTRAINTS: &str = "int, long, bool, datetime, decimal, double, float, guid, alpha, required, file, nonfile, \
     minlength(n), maxlength(n), length(n), length(min,max), min(n), max(n), range(min,max) and regex(expr)";

/// A parsed route template.
///
/// ```
/// use azfn_bindings::route::parse_route;
/// let route = parse_route("orders/{id:int}/{*rest}").unwrap();
/// let names: Vec<&str> = route.parameters().map(|p| p.name.as_str()).collect();
/// assert_eq!(names, ["id", "rest"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTemplate {
    segments: Vec<Segment>,
}

/// One `/`-separated segment: literal text and parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Segment {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Literal text with `{{`/`}}` already turned into single braces, and its range in the template.
    Literal {
        text: String,
        range: Range<usize>,
    },
    Parameter(RouteParameter),
}

/// A `{parameter}` of a route template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteParameter {
    /// The name, without `*`, `?`, constraints or default.
    pub name: String,
    /// Byte range of the whole `{...}` in the template.
    pub range: Range<usize>,
    /// Written `{name?}`: the value may be missing.
    pub optional: bool,
    /// Written `{*name}` or `{**name}`: takes the rest of the path.
    pub catch_all: bool,
    /// Written `{name=default}`: the value used when the path has none.
    pub default: Option<String>,
    /// The inline constraints, in order.
    pub constraints: Vec<RouteConstraint>,
}

/// An inline route constraint (`{id:int}`), as in ASP.NET Core's default constraint map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteConstraint {
    /// `int`: a 32-bit integer.
    Int,
    /// `bool`: `true` or `false`, ignoring case.
    Bool,
    /// `datetime`: a date, optionally with a time.
    DateTime,
    /// `decimal`: a .NET `decimal` number.
    Decimal,
    /// `double`: a floating-point number.
    Double,
    /// `float`: a floating-point number.
    Float,
    /// `guid`: a GUID such as `3f2504e0-4f89-11d3-9a0c-0305e82c3301`.
    Guid,
    /// `long`: a 64-bit integer.
    Long,
    /// `minlength(n)`: at least `n` characters.
    MinLength(usize),
    /// `maxlength(n)`: at most `n` characters.
    MaxLength(usize),
    /// `length(n)` (as `Length(n, n)`) or `length(min,max)`: a length in that range.
    Length(usize, usize),
    /// `min(n)`: an integer of at least `n`.
    Min(i64),
    /// `max(n)`: an integer of at most `n`.
    Max(i64),
    /// `range(min,max)`: an integer in that range.
    Range(i64, i64),
    /// `alpha`: ASCII letters only.
    Alpha,
    /// `regex(expr)`, holding `expr` with doubled braces undone.
    Regex(String),
    /// `required`: a non-empty value.
    Required,
    /// `file`: the last path segment of the value has a `.` followed by something.
    File,
    /// `nonfile`: not a `file`.
    NonFile,
}

/// Parses a route template as the Functions host would for `httpTrigger.route`.
///
/// ```
/// use azfn_bindings::route::parse_route;
/// assert!(parse_route("orders/{id:int:min(1)}").is_ok());
/// let problem = parse_route("orders/{id:integer}").unwrap_err();
/// assert_eq!(problem.range, 11..18);
/// ```
pub fn parse_route(s: &str) -> Result<RouteTemplate, Problem> {
    check_start(s)?;
    let mut parser = Parser { s, names: Vec::new() };
    let mut segments = Vec::new();
    let mut start = 0;
    while start < s.len() {
        if s.as_bytes()[start] == b'/' {
            let previous = start.saturating_sub(1);
            return Err(Problem::new(
                previous..start + 1,
                "route has an empty segment: there must be something between two `/`",
            )
            .with_help("remove one of the slashes"));
        }
        let (segment, end) = parser.segment(start)?;
        check_segment(&segment)?;
        segments.push(segment);
        start = end + 1;
    }
    check_catch_all_is_last(&segments)?;
    check_optional_segments_are_last(&segments)?;
    Ok(RouteTemplate { segments })
}

fn check_start(s: &str) -> Result<(), Problem> {
    if s.starts_with('/') {
        return Err(Problem::new(
            0..1,
            "route must not start with `/`: the host puts it after the route prefix and a `/`",
        )
        .with_help(RELATIVE_HELP));
    }
    if s.starts_with('~') {
        let end = if s.starts_with("~/") { 2 } else { 1 };
        return Err(Problem::new(
            0..end,
            "route must not start with `~`: it is always relative to the route prefix",
        )
        .with_help(RELATIVE_HELP));
    }
    Ok(())
}

/// Parsing state: the template and the parameter names seen so far (lowercase).
struct Parser<'s> {
    s: &'s str,
    names: Vec<String>,
}

impl Parser<'_> {
    /// Parses the segment starting at byte `start`; returns it and the byte index of the `/`
    /// that ends it (or the length of the template).
    fn segment(&mut self, start: usize) -> Result<(Segment, usize), Problem> {
        let bytes = self.s.as_bytes();
        let mut parts = Vec::new();
        let mut i = start;
        while i < bytes.len() && bytes[i] != b'/' {
            let (part, end) = if bytes[i] == b'{' && bytes.get(i + 1) != Some(&b'{') {
                let (parameter, end) = self.parameter(i)?;
                (Part::Parameter(parameter), end)
            } else {
                let (text, end) = literal(self.s, i)?;
                (Part::Literal { text, range: i..end }, end)
            };
            parts.push(part);
            i = end;
        }
        Ok((Segment { parts }, i))
    }

    /// Parses the parameter whose `{` is at byte `open`; returns it and the index after its `}`.
    fn parameter(&mut self, open: usize) -> Result<(RouteParameter, usize), Problem> {
        let close = find_parameter_end(self.s, open)?;
        let whole = open..close + 1;
        let inside = Decoded::new(&self.s[open + 1..close], open + 1);
        let parameter = self.parameter_body(&inside, whole)?;
        Ok((parameter, close + 1))
    }

    /// Parses what is between the braces: `[*|**]name[:constraint...][=default][?]`.
    fn parameter_body(&mut self, inside: &Decoded, whole: Range<usize>) -> Result<RouteParameter, Problem> {
        let text = inside.text.as_str();
        if text.is_empty() {
            return Err(Problem::new(whole, "parameter name is empty").with_help(PARAMETER_HELP));
        }
        if text.starts_with('*') && text.ends_with('?') {
            return Err(Problem::new(whole, "a catch-all parameter cannot be optional")
                .with_help("a catch-all already matches when nothing is left of the path; write `{*rest}`"));
        }
        let start = if text.starts_with("**") {
            2
        } else {
            usize::from(text.starts_with('*'))
        };
        let optional = text.ends_with('?');
        let end = if optional { text.len() - 1 } else { text.len() };
        let name_end = name_end(text, start, end);
        let name = self.check_name(inside, start..name_end, whole.clone())?;
        let (constraint_ranges, default_range) = split_policies(text, name_end, end);
        let mut constraints = Vec::new();
        for range in constraint_ranges {
            let constraint = resolve_constraint(&text[range.clone()]).map_err(|p| Problem {
                range: inside.original(range.start + p.range.start..range.start + p.range.end),
                ..p
            })?;
            constraints.push(constraint);
        }
        // The default with the index of its `=`.
        let default = default_range.map(|range| (range.start - 1, text[range].to_owned()));
        if let (true, Some((equals, value))) = (optional, &default) {
            return Err(Problem::new(
                inside.original(*equals..text.len()),
                "an optional parameter cannot have a default value",
            )
            .with_help(format!(
                "write `{{{name}?}}` or `{{{name}={value}}}`: a parameter with a default may already be left out of the path"
            )));
        }
        Ok(RouteParameter {
            name,
            range: whole,
            optional,
            catch_all: start > 0,
            default: default.map(|(_, value)| value),
            constraints,
        })
    }

    /// Checks the parameter name at `range` of the decoded text and records it.
    fn check_name(&mut self, inside: &Decoded, range: Range<usize>, whole: Range<usize>) -> Result<String, Problem> {
        let text = inside.text.as_str();
        let name = text.get(range.clone()).unwrap_or("");
        if name.is_empty() {
            return Err(Problem::new(whole, "parameter name is empty").with_help(PARAMETER_HELP));
        }
        if let Some(delimiter @ (':' | '=')) = name.chars().next() {
            let at = inside.original(range.start..range.start + 1);
            return Err(
                Problem::new(at, format!("parameter name is missing before `{delimiter}`")).with_help(PARAMETER_HELP),
            );
        }
        if let Some((i, c)) = name
            .char_indices()
            .find(|&(_, c)| matches!(c, '/' | '{' | '}' | '?' | '*'))
        {
            let at = inside.original(range.start + i..range.start + i + c.len_utf8());
            let message = match c {
                '?' => "`?` may only end a parameter, to make it optional".to_owned(),
                '*' => "`*` may only start a parameter, to make it a catch-all such as `{*rest}`".to_owned(),
                _ => format!("parameter name `{name}` may not contain {}", show_char(c)),
            };
            return Err(Problem::new(at, message).with_help(PARAMETER_HELP));
        }
        let key = name.to_lowercase();
        if self.names.contains(&key) {
            return Err(Problem::new(
                inside.original(range),
                format!("parameter `{name}` appears twice in the route (names ignore case)"),
            ));
        }
        self.names.push(key);
        Ok(name.to_owned())
    }
}

/// Reads literal text from byte `start` up to the next parameter, `/` or the end; returns the
/// text with escaped braces undone and the index where it stops.
fn literal(s: &str, start: usize) -> Result<(String, usize), Problem> {
    let bytes = s.as_bytes();
    let mut text = String::new();
    let mut i = start;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b'/', _) => break,
            (b'{', Some(b'{')) | (b'}', Some(b'}')) => {
                text.push(char::from(bytes[i]));
                i += 2;
            }
            // A parameter starts here (a `{` at the very end is reported as an unclosed one).
            (b'{', _) => break,
            (b'}', _) => {
                return Err(Problem::new(i..i + 1, "`}` has no matching `{`").with_help(PARAMETER_HELP));
            }
            (b'?', _) => {
                return Err(Problem::new(i..i + 1, "`?` is not allowed in route text").with_help(
                    "the query string is not part of the route; to make a parameter optional write `{name?}`",
                ));
            }
            _ => {
                let c = s[i..].chars().next().unwrap_or('\u{fffd}');
                text.push(c);
                i += c.len_utf8().max(1);
            }
        }
    }
    Ok((text, i))
}

/// The index of the `}` that closes the parameter opened at byte `open`. Inside a parameter
/// `{{` and `}}` are escaped braces, and a single `{` is an error.
fn find_parameter_end(s: &str, open: usize) -> Result<usize, Problem> {
    let bytes = s.as_bytes();
    let mut i = open + 1;
    loop {
        match (bytes.get(i), bytes.get(i + 1)) {
            (None, _) => {
                return Err(Problem::new(open..s.len(), "parameter is never closed: add a `}`").with_help(
                    "inside a parameter `}}` is an escaped `}`, not the end of the parameter; parameters look like `{name}`",
                ));
            }
            (Some(b'{'), Some(b'{')) | (Some(b'}'), Some(b'}')) => i += 2,
            (Some(b'{'), _) => {
                return Err(
                    Problem::new(i..i + 1, "`{` inside a parameter must be doubled: write `{{`")
                        .with_help("for example `{id:regex(^\\d{{3}}$)}`"),
                );
            }
            (Some(b'}'), _) => return Ok(i),
            (Some(_), _) => i += 1,
        }
    }
}

/// The text between a parameter's braces with `{{`/`}}` undone, and where each byte came from.
struct Decoded {
    text: String,
    /// `origin[i]` is the template offset of decoded byte `i`; one extra entry marks the end.
    origin: Vec<usize>,
}

impl Decoded {
    fn new(raw: &str, offset: usize) -> Decoded {
        let bytes = raw.as_bytes();
        let mut text = Vec::with_capacity(bytes.len());
        let mut origin = Vec::with_capacity(bytes.len() + 1);
        let mut i = 0;
        while i < bytes.len() {
            origin.push(offset + i);
            text.push(bytes[i]);
            let escaped = matches!((bytes[i], bytes.get(i + 1)), (b'{', Some(b'{')) | (b'}', Some(b'}')));
            i += if escaped { 2 } else { 1 };
        }
        origin.push(offset + bytes.len());
        // Only pairs of ASCII braces were merged, so the bytes are still valid UTF-8.
        Decoded {
            text: String::from_utf8_lossy(&text).into_owned(),
            origin,
        }
    }

    /// The template range of a range of the decoded text.
    fn original(&self, range: Range<usize>) -> Range<usize> {
        let at = |i: usize| self.origin.get(i).or(self.origin.last()).copied().unwrap_or(0);
        at(range.start)..at(range.end)
    }
}

/// Where a parameter name that starts at `start` ends: at the first `:` or `=` after its first
/// character (ASP.NET lets a name start with one), or at `end`.
fn name_end(text: &str, start: usize, end: usize) -> usize {
    let Some(name) = text.get(start..end) else { return start };
    name.bytes()
        .skip(1)
        .position(|b| b == b':' || b == b'=')
        .map_or(end, |i| start + 1 + i)
}

/// Splits what follows a parameter name (from `from`, which is `:`, `=` or `end`) into the
/// ranges of its constraints and of its default value, like ASP.NET's `RouteParameterParser`.
fn split_policies(text: &str, from: usize, end: usize) -> (Vec<Range<usize>>, Option<Range<usize>>) {
    #[derive(PartialEq)]
    enum State {
        Start,
        Name,
        Parenthesis,
    }
    let bytes = &text.as_bytes()[..end];
    let mut constraints = Vec::new();
    let mut push = |range: Range<usize>| {
        if !range.is_empty() {
            constraints.push(range);
        }
    };
    let mut state = State::Start;
    let mut start = from;
    let mut i = from;
    loop {
        let c = bytes.get(i).copied();
        match (&state, c) {
            (State::Start | State::Name, None) => {
                if state == State::Name {
                    push(start..i);
                }
                return (constraints, None);
            }
            (State::Start | State::Name, Some(b'=')) => {
                if state == State::Name {
                    push(start..i);
                }
                return (constraints, Some(i + 1..end));
            }
            (State::Start | State::Name, Some(b':')) => {
                if state == State::Name {
                    push(start..i);
                }
                state = State::Name;
                start = i + 1;
            }
            (State::Start | State::Name, Some(b'(')) => state = State::Parenthesis,
            (State::Start | State::Name, Some(_)) => {}
            (State::Parenthesis, None) => {
                // An unclosed parenthesis: the rest is one constraint, reported when resolved.
                push(start..i);
                return (constraints, None);
            }
            (State::Parenthesis, Some(b')')) => match bytes.get(i + 1) {
                None => {
                    push(start..i + 1);
                    return (constraints, None);
                }
                Some(b':') => {
                    push(start..i + 1);
                    state = State::Start;
                    start = i + 1;
                }
                Some(b'=') => {
                    push(start..i + 1);
                    return (constraints, Some(i + 2..end));
                }
                // A `)` inside the argument, such as in a regex.
                Some(_) => {}
            },
            (State::Parenthesis, Some(delimiter @ (b':' | b'='))) => {
                // A `:` or `=` stays in the argument when a `)` follows later.
                match bytes[i + 1..].iter().position(|&b| b == b')') {
                    Some(close) => i += 1 + close,
                    None => {
                        push(start..i);
                        if delimiter == b'=' {
                            return (constraints, Some(i + 1..end));
                        }
                        state = State::Name;
                        start = i + 1;
                    }
                }
            }
            (State::Parenthesis, Some(_)) => {}
        }
        i += 1;
    }
}

/// Resolves one constraint such as `int` or `range(1,10)`; problem ranges are relative to `text`.
fn resolve_constraint(text: &str) -> Result<RouteConstraint, Problem> {
    let (key, arguments) = match text.find('(') {
        Some(open) if text.ends_with(')') && text.len() > open + 1 => {
            (&text[..open], Some((open + 1, &text[open + 1..text.len() - 1])))
        }
        Some(open) => {
            return Err(Problem::new(
                open..text.len(),
                format!("constraint `{text}` is missing its closing `)`"),
            ));
        }
        None => (text, None),
    };
    if key.is_empty() {
        return Err(Problem::new(0..text.len(), "constraint name is missing before `(`")
            .with_help(format!("the constraints are {KNOWN_CONSTRAINTS}")));
    }
    let arguments = Arguments {
        constraint: key,
        text,
        list: arguments,
    };
    let constraint = match key.to_ascii_lowercase().as_str() {
        "int" => arguments.none(RouteConstraint::Int)?,
        "long" => arguments.none(RouteConstraint::Long)?,
        "bool" => arguments.none(RouteConstraint::Bool)?,
        "datetime" => arguments.none(RouteConstraint::DateTime)?,
        "decimal" => arguments.none(RouteConstraint::Decimal)?,
        "double" => arguments.none(RouteConstraint::Double)?,
        "float" => arguments.none(RouteConstraint::Float)?,
        "guid" => arguments.none(RouteConstraint::Guid)?,
        "alpha" => arguments.none(RouteConstraint::Alpha)?,
        "required" => arguments.none(RouteConstraint::Required)?,
        "file" => arguments.none(RouteConstraint::File)?,
        "nonfile" => arguments.none(RouteConstraint::NonFile)?,
        "minlength" => RouteConstraint::MinLength(arguments.length("3")?),
        "maxlength" => RouteConstraint::MaxLength(arguments.length("20")?),
        "length" => {
            let (low, high) = arguments.one_or_two_lengths()?;
            RouteConstraint::Length(low, high)
        }
        "min" => RouteConstraint::Min(arguments.integer("1")?),
        "max" => RouteConstraint::Max(arguments.integer("100")?),
        "range" => {
            let (low, high) = arguments.integer_pair()?;
            RouteConstraint::Range(low, high)
        }
        "regex" => RouteConstraint::Regex(arguments.pattern()?.to_owned()),
        _ => return Err(unknown_constraint(key)),
    };
    Ok(constraint)
}

fn unknown_constraint(key: &str) -> Problem {
    let problem = Problem::new(
        0..key.len(),
        format!("unknown route constraint `{key}`: the constraints are {KNOWN_CONSTRAINTS}"),
    );
    let suggestion = match key.to_ascii_lowercase().as_str() {
        "integer" | "int32" | "i32" | "number" | "num" => Some("int"),
        "int64" | "i64" => Some("long"),
        "boolean" => Some("bool"),
        "uuid" => Some("guid"),
        "date" | "time" => Some("datetime"),
        "f64" => Some("double"),
        "f32" | "single" => Some("float"),
        "minlen" => Some("minlength"),
        "maxlen" => Some("maxlength"),
        "len" => Some("length"),
        "letters" | "alphabetic" => Some("alpha"),
        "regexp" => Some("regex"),
        "string" | "str" => {
            return problem.with_help("route values are strings already: leave the constraint out");
        }
        _ => None,
    };
    match suggestion {
        Some(name) => problem.with_help(format!("did you mean `{name}`?")),
        None => problem,
    }
}

/// The arguments of one constraint: `list` is the text between its parentheses (with its
/// offset in `text`), if it has parentheses.
struct Arguments<'a> {
    constraint: &'a str,
    text: &'a str,
    list: Option<(usize, &'a str)>,
}

impl Arguments<'_> {
    /// For constraints without arguments.
    fn none(&self, constraint: RouteConstraint) -> Result<RouteConstraint, Problem> {
        match self.list {
            None => Ok(constraint),
            Some((at, _)) => Err(Problem::new(
                at - 1..self.text.len(),
                format!("constraint `{}` takes no arguments", self.constraint),
            )),
        }
    }

    /// The whole argument text, which must be present and non-empty.
    fn required(&self, example: &str) -> Result<(usize, &str), Problem> {
        let missing = |range: Range<usize>| {
            Problem::new(
                range,
                format!(
                    "constraint `{}` needs an argument, e.g. `{}({example})`",
                    self.constraint, self.constraint
                ),
            )
        };
        match self.list {
            None => Err(missing(0..self.text.len())),
            Some((at, list)) if list.trim().is_empty() => Err(missing(at - 1..self.text.len())),
            Some(found) => Ok(found),
        }
    }

    fn pattern(&self) -> Result<&str, Problem> {
        self.required("^[a-z]+$").map(|(_, pattern)| pattern)
    }

    fn integer(&self, example: &str) -> Result<i64, Problem> {
        let (at, text) = self.required(example)?;
        parse_argument(text, at, self.constraint)
    }

    fn length(&self, example: &str) -> Result<usize, Problem> {
        let (at, text) = self.required(example)?;
        to_length(
            parse_argument(text, at, self.constraint)?,
            at..at + text.len(),
            self.constraint,
        )
    }

    /// The comma-separated arguments, each trimmed, with their ranges.
    fn split(&self, example: &str) -> Result<Vec<(Range<usize>, i64)>, Problem> {
        let (at, text) = self.required(example)?;
        let mut values = Vec::new();
        let mut start = at;
        for piece in text.split(',') {
            let value = parse_argument(piece, start, self.constraint)?;
            values.push((start..start + piece.len(), value));
            start += piece.len() + 1;
        }
        Ok(values)
    }

    fn one_or_two_lengths(&self) -> Result<(usize, usize), Problem> {
        let values = self.split("2,10")?;
        match values.as_slice() {
            [(range, n)] => {
                let n = to_length(*n, range.clone(), self.constraint)?;
                Ok((n, n))
            }
            [(low_range, low), (high_range, high)] => {
                let low = to_length(*low, low_range.clone(), self.constraint)?;
                let high = to_length(*high, high_range.clone(), self.constraint)?;
                if low > high {
                    return Err(Problem::new(
                        low_range.start..high_range.end,
                        format!("minimum length {low} is greater than maximum length {high}"),
                    )
                    .with_help(format!("write `length({high},{low})`")));
                }
                Ok((low, high))
            }
            _ => Err(self.wrong_count("one or two lengths: `length(n)` or `length(min,max)`")),
        }
    }

    fn integer_pair(&self) -> Result<(i64, i64), Problem> {
        let values = self.split("1,100")?;
        match values.as_slice() {
            [(low_range, low), (high_range, high)] => {
                if low > high {
                    return Err(Problem::new(
                        low_range.start..high_range.end,
                        format!("minimum {low} is greater than maximum {high}"),
                    )
                    .with_help(format!("write `range({high},{low})`")));
                }
                Ok((*low, *high))
            }
            _ => Err(self.wrong_count("two numbers: `range(min,max)`")),
        }
    }

    fn wrong_count(&self, wanted: &str) -> Problem {
        let (at, list) = self.list.unwrap_or((0, self.text));
        Problem::new(
            at..at + list.len(),
            format!("constraint `{}` takes {wanted}", self.constraint),
        )
    }
}

/// Parses one numeric argument (at byte `at` of the constraint) as .NET's `Convert.ChangeType`
/// would: surrounding white space and a sign are allowed.
fn parse_argument(text: &str, at: usize, constraint: &str) -> Result<i64, Problem> {
    let leading = text.len() - text.trim_start().len();
    let trimmed = text.trim();
    let range = at + leading..at + leading + trimmed.len();
    let range = if range.is_empty() { at..at + text.len() } else { range };
    parse_dotnet_integer(text).ok_or_else(|| {
        Problem::new(
            range,
            format!("`{}` is not a whole number: `{constraint}` takes integers", trimmed),
        )
    })
}

/// A length argument must be 0 or more and fit a .NET `int`.
fn to_length(value: i64, range: Range<usize>, constraint: &str) -> Result<usize, Problem> {
    if value < 0 {
        return Err(Problem::new(
            range,
            format!("`{value}` is negative: `{constraint}` takes lengths of 0 or more"),
        ));
    }
    i32::try_from(value)
        .ok()
        .and_then(|v| usize::try_from(v).ok())
        .ok_or_else(|| Problem::new(range, format!("`{value}` is too large for a length")))
}

/// Checks the rules that concern one segment with several parts.
fn check_segment(segment: &Segment) -> Result<(), Problem> {
    let parts = &segment.parts;
    if parts.len() < 2 {
        return Ok(());
    }
    for (i, part) in parts.iter().enumerate() {
        let Part::Parameter(parameter) = part else { continue };
        if parameter.catch_all {
            return Err(
                Problem::new(parameter.range.clone(), "a catch-all parameter must be a whole segment")
                    .with_help("write it after a `/`, as the last segment: `files/{*path}`"),
            );
        }
        if !parameter.optional {
            continue;
        }
        if i + 1 < parts.len() {
            return Err(Problem::new(
                parameter.range.clone(),
                format!(
                    "optional parameter `{}` must be the last part of its segment",
                    parameter.name
                ),
            )
            .with_help("in a segment with several parts only the last may be optional, after a `.`: `{name}.{ext?}`"));
        }
        if let Part::Literal { text, range } = &parts[i - 1]
            && text != "."
        {
            return Err(Problem::new(
                range.clone(),
                format!(
                    "optional parameter `{}` may only follow `.` in its segment, not `{text}`",
                    parameter.name
                ),
            )
            .with_help("for example `{name}.{ext?}`"));
        }
    }
    for pair in parts.windows(2) {
        if let [Part::Parameter(first), Part::Parameter(second)] = pair {
            return Err(Problem::new(
                first.range.start..second.range.end,
                format!(
                    "parameters `{}` and `{}` are next to each other: put literal text between them",
                    first.name, second.name
                ),
            )
            .with_help(format!("for example `{{{}}}-{{{}}}`", first.name, second.name)));
        }
    }
    Ok(())
}

fn check_catch_all_is_last(segments: &[Segment]) -> Result<(), Problem> {
    let last = segments.len().saturating_sub(1);
    for segment in &segments[..last] {
        if let Some(parameter) = segment.parameters().find(|p| p.catch_all) {
            return Err(Problem::new(
                parameter.range.clone(),
                "a catch-all parameter must be the last segment of the route",
            )
            .with_help("a catch-all takes the rest of the path, so nothing can follow it"));
        }
    }
    Ok(())
}

/// An optional or defaulted parameter followed by a segment that needs a value can never be
/// left out; ASP.NET accepts the template, but it does not mean what it says.
fn check_optional_segments_are_last(segments: &[Segment]) -> Result<(), Problem> {
    for (i, segment) in segments.iter().enumerate() {
        let Some(parameter) = segment.single_parameter() else {
            continue;
        };
        if parameter.catch_all || !(parameter.optional || parameter.default.is_some()) {
            continue;
        }
        if segments[i + 1..].iter().any(Segment::needs_value) {
            let message = if parameter.optional {
                format!(
                    "optional parameter `{}` is followed by a segment that needs a value, so it can never be left out",
                    parameter.name
                )
            } else {
                format!(
                    "the default of parameter `{}` is never used: a later segment needs a value",
                    parameter.name
                )
            };
            return Err(Problem::new(parameter.range.clone(), message)
                .with_help("only the last segments of a route can be optional or have defaults"));
        }
    }
    Ok(())
}

impl Segment {
    fn parameters(&self) -> impl Iterator<Item = &RouteParameter> {
        self.parts.iter().filter_map(|part| match part {
            Part::Parameter(parameter) => Some(parameter),
            Part::Literal { .. } => None,
        })
    }

    /// The parameter when the segment is exactly one parameter.
    fn single_parameter(&self) -> Option<&RouteParameter> {
        match self.parts.as_slice() {
            [Part::Parameter(parameter)] => Some(parameter),
            _ => None,
        }
    }

    /// Whether a request path must have this segment for the route to match.
    fn needs_value(&self) -> bool {
        !self
            .single_parameter()
            .is_some_and(|p| p.optional || p.catch_all || p.default.is_some())
    }
}

impl RouteTemplate {
    /// The parameters, in template order.
    ///
    /// ```
    /// use azfn_bindings::route::parse_route;
    /// let route = parse_route("{name}.{ext?}").unwrap();
    /// assert!(route.parameters().nth(1).unwrap().optional);
    /// ```
    pub fn parameters(&self) -> impl Iterator<Item = &RouteParameter> {
        self.segments.iter().flat_map(Segment::parameters)
    }

    /// Matches a request path (no leading slash, no query, already stripped of the route prefix), case-insensitively for literals as ASP.NET does; returns the route values (defaults applied, catch-all takes the rest) or None. Constraints are checked (regex constraints: since there is no regex crate, only check that the value is non-empty and document that the full regex is not evaluated here).
    ///
    /// The path is matched as given: decode percent-escapes (other than `%2F`) before calling,
    /// as ASP.NET does. A single trailing `/` is ignored. Optional parameters without a value
    /// are left out of the result.
    ///
    /// ```
    /// use azfn_bindings::route::parse_route;
    /// let route = parse_route("orders/{id:int}/{*rest}").unwrap();
    /// let values = route.match_path("Orders/42/a/b").unwrap();
    /// assert_eq!(values, [("id".to_owned(), "42".to_owned()), ("rest".to_owned(), "a/b".to_owned())]);
    /// assert_eq!(route.match_path("orders/x"), None);
    /// ```
    pub fn match_path(&self, path: &str) -> Option<Vec<(String, String)>> {
        let request = request_segments(path);
        let mut values = Vec::new();
        for (i, segment) in self.segments.iter().enumerate() {
            let given = request.get(i).copied();
            if given.is_some_and(|(_, text)| text.is_empty()) {
                return None;
            }
            if let Some(parameter) = segment.single_parameter().filter(|p| p.catch_all) {
                // The rest of the path, trailing slash included, as in ASP.NET.
                let rest = given.map_or("", |(start, _)| &path[start..]);
                let value = if rest.is_empty() {
                    parameter.default.clone()
                } else {
                    Some(rest.to_owned())
                };
                values.extend(value.map(|value| (parameter.name.clone(), value)));
                return self.check_constraints(values);
            }
            let Some((_, text)) = given else {
                // The path has ended: the remaining segments must be optional or have defaults.
                let parameter = segment
                    .single_parameter()
                    .filter(|p| p.optional || p.default.is_some())?;
                values.extend(parameter.default.clone().map(|value| (parameter.name.clone(), value)));
                continue;
            };
            match segment.parts.as_slice() {
                [Part::Literal { text: literal, .. }] => {
                    if !eq_ignore_case(text, literal) {
                        return None;
                    }
                }
                [Part::Parameter(parameter)] => values.push((parameter.name.clone(), text.to_owned())),
                parts => values.extend(match_complex_segment(parts, text)?),
            }
        }
        if request.len() > self.segments.len() {
            return None;
        }
        self.check_constraints(values)
    }

    /// ASP.NET Core's inbound precedence of the template (`RoutePrecedence.ComputeInbound`), a
    /// digit per segment, smaller first: a literal (1), a segment mixing text and parameters
    /// (2), a parameter with constraints (3), a plain parameter (4), a catch-all (5).
    pub(crate) fn precedence(&self) -> Vec<u8> {
        self.segments
            .iter()
            .map(|segment| match segment.parts.as_slice() {
                [Part::Literal { .. }] => 1,
                [Part::Parameter(p)] if p.catch_all => 5,
                [Part::Parameter(p)] if !p.constraints.is_empty() => 3,
                [Part::Parameter(_)] => 4,
                _ => 2,
            })
            .collect()
    }

    /// The first segment's text when it is a plain literal: only paths starting with it match.
    pub(crate) fn first_literal(&self) -> Option<&str> {
        match self.segments.first()?.parts.as_slice() {
            [Part::Literal { text, .. }] => Some(text),
            _ => None,
        }
    }

    /// Keeps `values` if every constraint holds. A parameter without a value passes when it is
    /// optional; otherwise (an empty catch-all) its constraints fail, as in ASP.NET.
    fn check_constraints(&self, values: Vec<(String, String)>) -> Option<Vec<(String, String)>> {
        for parameter in self.parameters().filter(|p| !p.constraints.is_empty()) {
            let value = values.iter().find(|(name, _)| *name == parameter.name);
            let ok = match value {
                Some((_, value)) => parameter.constraints.iter().all(|c| c.matches(value)),
                None => parameter.optional,
            };
            if !ok {
                return None;
            }
        }
        Some(values)
    }
}

/// The `/`-separated segments of a request path with their byte offsets; one trailing `/` is
/// ignored and an empty path has no segments.
fn request_segments(path: &str) -> Vec<(usize, &str)> {
    if path.is_empty() {
        return Vec::new();
    }
    let body = path.strip_suffix('/').unwrap_or(path);
    let mut segments = Vec::new();
    let mut start = 0;
    for text in body.split('/') {
        segments.push((start, text));
        start += text.len() + 1;
    }
    segments
}

/// Matches a segment with several parts, like ASP.NET's `MatchComplexSegment`: when it ends in
/// `.{optional?}`, first with that parameter, then without it.
fn match_complex_segment(parts: &[Part], segment: &str) -> Option<Vec<(String, String)>> {
    let last = parts.len().checked_sub(1)?;
    let optional_last = matches!(&parts[last], Part::Parameter(p) if p.optional);
    if let Some(values) = match_parts(parts, segment, last) {
        return Some(values);
    }
    if !optional_last || last < 2 {
        return None;
    }
    // Without the optional parameter, unless the segment ends with its `.` (an empty value).
    let Part::Literal { text: separator, .. } = &parts[last - 1] else {
        return None;
    };
    if ends_with_ignore_case(segment, separator) {
        return None;
    }
    match_parts(parts, segment, last - 2)
}

/// Matches `parts[..=upto]` against `segment` from right to left: each literal is found at its
/// last occurrence left of what is already matched, and the parameter to its right takes the
/// text in between (at least one character).
fn match_parts(parts: &[Part], segment: &str, upto: usize) -> Option<Vec<(String, String)>> {
    let mut end = segment.len();
    let mut pending: Option<&RouteParameter> = None;
    let mut found = Vec::new();
    for index in (0..=upto).rev() {
        let mut new_end = end;
        match &parts[index] {
            Part::Parameter(parameter) => pending = Some(parameter),
            Part::Literal { text, .. } => {
                // Leave at least one character for a parameter waiting on the right.
                let limit = if pending.is_some() {
                    previous_boundary(segment, end)?
                } else {
                    end
                };
                if limit == 0 {
                    return None;
                }
                let at = rfind_ignore_case(&segment[..limit], text)?;
                // The literal that ends the template segment must end the path segment too.
                if index == parts.len() - 1 && at + text.len() != segment.len() {
                    return None;
                }
                new_end = at;
            }
        }
        if let Some(parameter) = pending {
            let value = match &parts[index] {
                Part::Literal { text, .. } => Some(new_end + text.len()..end),
                Part::Parameter(_) if index == 0 => Some(0..end),
                Part::Parameter(_) => None,
            };
            if let Some(range) = value {
                let value = segment.get(range).filter(|v| !v.is_empty())?;
                found.push((parameter.name.clone(), value.to_owned()));
                pending = None;
            }
        }
        end = new_end;
    }
    // Unless the leftmost part is a parameter (which took everything left), all text must be used.
    found.reverse();
    (end == 0 || matches!(parts.first(), Some(Part::Parameter(_)))).then_some(found)
}

/// The start of the character that ends at byte `end`.
fn previous_boundary(s: &str, end: usize) -> Option<usize> {
    s.get(..end)?.char_indices().next_back().map(|(i, _)| i)
}

/// The last byte index where `needle` occurs in `haystack`, ignoring case.
fn rfind_ignore_case(haystack: &str, needle: &str) -> Option<usize> {
    let last = haystack.len().checked_sub(needle.len())?;
    (0..=last).rev().find(|&i| {
        haystack
            .get(i..i + needle.len())
            .is_some_and(|window| eq_ignore_case(window, needle))
    })
}

fn ends_with_ignore_case(s: &str, suffix: &str) -> bool {
    s.len()
        .checked_sub(suffix.len())
        .and_then(|start| s.get(start..))
        .is_some_and(|tail| eq_ignore_case(tail, suffix))
}

/// Equality ignoring case with .NET's ordinal rule: each character upper-cased on its own.
fn eq_ignore_case(a: &str, b: &str) -> bool {
    a.chars().map(upper).eq(b.chars().map(upper))
}

/// A character upper-cased on its own, as .NET's ordinal ignore-case comparison does (a
/// character whose upper case is several characters stays as it is).
fn upper(c: char) -> char {
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// `text` with every character mapped as literals compare, so two texts have the same key
/// exactly when [`eq_ignore_case`] finds them equal.
fn literal_key(text: &str) -> String {
    text.chars().map(upper).collect()
}

impl RouteConstraint {
    /// Whether a route value satisfies the constraint, following the ASP.NET Core constraint
    /// classes with the invariant culture.
    ///
    /// Approximations: `regex(...)` only requires a non-empty value, since the expression is
    /// not evaluated here; `datetime` accepts ISO 8601 dates and date-times (.NET also reads
    /// other formats); `guid` accepts the `N`, `D`, `B` and `P` forms (not `X`).
    ///
    /// ```
    /// use azfn_bindings::route::RouteConstraint;
    /// assert!(RouteConstraint::Int.matches("-42"));
    /// assert!(!RouteConstraint::Range(1, 10).matches("11"));
    /// assert!(RouteConstraint::Length(2, 4).matches("abc"));
    /// ```
    pub fn matches(&self, value: &str) -> bool {
        // .NET measures strings in UTF-16 code units.
        let length = || value.encode_utf16().count();
        let integer = parse_dotnet_integer(value);
        match self {
            RouteConstraint::Int => integer.is_some_and(|n| i32::try_from(n).is_ok()),
            RouteConstraint::Long => integer.is_some(),
            RouteConstraint::Bool => {
                let trimmed = value.trim_matches(|c: char| c.is_whitespace() || c == '\0');
                trimmed.eq_ignore_ascii_case("true") || trimmed.eq_ignore_ascii_case("false")
            }
            RouteConstraint::DateTime => is_iso_date_time(value),
            RouteConstraint::Decimal => is_decimal(value),
            RouteConstraint::Double | RouteConstraint::Float => is_floating_point(value),
            RouteConstraint::Guid => is_guid(value),
            RouteConstraint::MinLength(min) => length() >= *min,
            RouteConstraint::MaxLength(max) => length() <= *max,
            RouteConstraint::Length(min, max) => (*min..=*max).contains(&length()),
            RouteConstraint::Min(min) => integer.is_some_and(|n| n >= *min),
            RouteConstraint::Max(max) => integer.is_some_and(|n| n <= *max),
            RouteConstraint::Range(min, max) => integer.is_some_and(|n| (*min..=*max).contains(&n)),
            RouteConstraint::Alpha => value.bytes().all(|b| b.is_ascii_alphabetic()),
            RouteConstraint::Regex(_) | RouteConstraint::Required => !value.is_empty(),
            RouteConstraint::File => is_file_name(value),
            RouteConstraint::NonFile => !is_file_name(value),
        }
    }
}

/// The white space .NET's `NumberStyles` allow around a number.
fn is_number_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ')
}

/// Parses an integer as .NET's `NumberStyles.Integer` with the invariant culture: optional
/// white space around it and an optional leading `+` or `-`.
fn parse_dotnet_integer(s: &str) -> Option<i64> {
    let s = s.trim_matches(is_number_space);
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude = digits.bytes().try_fold(0i128, |n, b| {
        let n = n * 10 + i128::from(b - b'0');
        (n <= i128::from(i64::MAX) + 1).then_some(n)
    })?;
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

/// Digits with optional `,` group separators after the first digit; returns the digits alone.
fn grouped_digits(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some(String::new());
    }
    if !s.starts_with(|c: char| c.is_ascii_digit()) || !s.bytes().all(|b| b.is_ascii_digit() || b == b',') {
        return None;
    }
    Some(s.chars().filter(char::is_ascii_digit).collect())
}

/// .NET `decimal` with `NumberStyles.Number`: white space, a leading or trailing sign,
/// group separators, a decimal point; no exponent; at most 79228162514264337593543950335.
fn is_decimal(s: &str) -> bool {
    let s = s.trim_matches(is_number_space);
    let s = s
        .strip_prefix(['+', '-'])
        .or_else(|| s.strip_suffix(['+', '-']))
        .unwrap_or(s);
    let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
    let (Some(whole), true) = (grouped_digits(whole), fraction.bytes().all(|b| b.is_ascii_digit())) else {
        return false;
    };
    if whole.is_empty() && fraction.is_empty() {
        return false;
    }
    const MAX: &str = "79228162514264337593543950335";
    let whole = whole.trim_start_matches('0');
    whole.len() < MAX.len() || (whole.len() == MAX.len() && whole <= MAX)
}

/// .NET `double`/`float` with `NumberStyles.Float | AllowThousands`: white space, a leading
/// sign, group separators, a decimal point and an exponent, or `NaN`/`Infinity`. Values out of
/// range parse as infinity, so there is no range check.
fn is_floating_point(s: &str) -> bool {
    let s = s.trim_matches(is_number_space);
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    if unsigned.eq_ignore_ascii_case("infinity") || s.eq_ignore_ascii_case("nan") {
        return true;
    }
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(e) => (&unsigned[..e], Some(&unsigned[e + 1..])),
        None => (unsigned, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mantissa_ok = grouped_digits(whole).is_some()
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && (!whole.is_empty() || !fraction.is_empty());
    let exponent_ok = exponent.is_none_or(|e| {
        let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

/// A GUID in the `N` (32 hex digits), `D` (8-4-4-4-12), `B` (`{D}`) or `P` (`(D)`) form.
fn is_guid(s: &str) -> bool {
    let s = s.trim();
    let hex = |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_hexdigit());
    let dashed = |d: &str| {
        let groups: Vec<&str> = d.split('-').collect();
        groups.len() == 5 && groups.iter().zip([8, 4, 4, 4, 12]).all(|(group, len)| hex(group, len))
    };
    if hex(s, 32) || dashed(s) {
        return true;
    }
    let braced = s.strip_prefix('{').and_then(|r| r.strip_suffix('}'));
    let parenthesised = s.strip_prefix('(').and_then(|r| r.strip_suffix(')'));
    braced.or(parenthesised).is_some_and(dashed)
}

/// An ISO 8601 date `yyyy-mm-dd`, optionally followed by `T` or a space and `hh:mm[:ss[.f]]`,
/// optionally ending in `Z` or an offset `±hh:mm`.
fn is_iso_date_time(s: &str) -> bool {
    let s = s.trim();
    let (date, time) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    is_iso_date(date) && time.is_none_or(is_iso_time)
}

fn is_iso_date(date: &str) -> bool {
    let parts: Vec<&str> = date.split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return false;
    };
    let number = |text: &str, len: usize| {
        (text.len() == len && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse::<u32>().ok())
            .flatten()
    };
    let (Some(year), Some(month), Some(day)) = (number(year, 4), number(month, 2), number(day, 2)) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return false,
    };
    year >= 1 && (1..=days).contains(&day)
}

fn is_iso_time(time: &str) -> bool {
    let time = time.strip_suffix(['Z', 'z']).unwrap_or(time);
    // An offset `±hh:mm` after the time.
    let time = match time.rfind(['+', '-']) {
        Some(i) if is_clock(&time[i + 1..], false) => &time[..i],
        _ => time,
    };
    let (clock, fraction) = time.split_once('.').unwrap_or((time, ""));
    is_clock(clock, true) && fraction.bytes().all(|b| b.is_ascii_digit())
}

/// `hh:mm`, or with `seconds` also `hh:mm:ss`.
fn is_clock(text: &str, seconds: bool) -> bool {
    let parts: Vec<&str> = text.split(':').collect();
    let two_digits = |t: &str, max: u32| t.len() == 2 && t.parse::<u32>().is_ok_and(|n| n <= max);
    match parts.as_slice() {
        [h, m] => two_digits(h, 23) && two_digits(m, 59),
        [h, m, s] if seconds => two_digits(h, 23) && two_digits(m, 59) && two_digits(s, 59),
        _ => false,
    }
}

/// ASP.NET's file-name test: the last `/`-separated part has a `.` followed by something other
/// than dots.
fn is_file_name(value: &str) -> bool {
    let last = value.rsplit('/').next().unwrap_or(value);
    last.split_once('.')
        .is_some_and(|(_, after)| after.bytes().any(|b| b != b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz;

    fn route(s: &str) -> RouteTemplate {
        parse_route(s).unwrap_or_else(|p| panic!("{s:?}: {p:?}"))
    }

    /// The problem's range and the text it covers.
    fn bad_part(s: &str) -> (Range<usize>, &str) {
        match parse_route(s) {
            Err(p) => (p.range.clone(), &s[p.range]),
            Ok(ok) => panic!("{s:?} parsed as {ok:?}"),
        }
    }

    fn values(pairs: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        Some(pairs.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect())
    }

    #[test]
    fn valid_templates() {
        for s in [
            "",
            "orders",
            "orders/",
            "orders/{id}",
            "orders/{id:int}",
            "orders/{id:int:min(1)}",
            "orders/{id:INT}",
            "{id:regex(^\\d{{3}}$)}",
            "{id:regex(a:b)}",
            "{id:regex(a/b)}",
            "{id:regex(^(a|b)$):minlength(1)}",
            "files/{*path}",
            "files/{**path}",
            "files/{*path=index.html}",
            "{name}.{ext?}",
            "{a}-{b}",
            "products/{category=all}",
            "products/{id?}",
            "products/{id:int?}",
            "{id:length(2,5)}",
            "{id:length( 2 , 5 )}",
            "{id:range(-10,10)}",
            "{{literal}}/x",
            "api/v{version:int}/items",
            "a~b/c",
            "{id:}",
            "{lang=en}/{page?}",
            "日本/{名前}",
        ] {
            assert!(parse_route(s).is_ok(), "{s:?}: {:?}", parse_route(s));
        }
    }

    #[test]
    fn parameters_are_described() {
        let r = route("orders/{id:int:range(1,9)}/{*rest=x}");
        let ps: Vec<&RouteParameter> = r.parameters().collect();
        assert_eq!(ps[0].name, "id");
        assert_eq!(ps[0].range, 7..26);
        assert_eq!(ps[0].constraints, [RouteConstraint::Int, RouteConstraint::Range(1, 9)]);
        assert!(ps[1].catch_all && !ps[1].optional);
        assert_eq!(ps[1].default.as_deref(), Some("x"));
        let r = route("{id:regex(^\\d{{3}}$):length(3)}");
        let p = r.parameters().next().unwrap();
        assert_eq!(
            p.constraints,
            [RouteConstraint::Regex("^\\d{3}$".into()), RouteConstraint::Length(3, 3)]
        );
        assert_eq!(
            route("{n:MinLength(2):maxlength(4)}")
                .parameters()
                .next()
                .unwrap()
                .constraints,
            [RouteConstraint::MinLength(2), RouteConstraint::MaxLength(4)]
        );
    }

    #[test]
    fn structural_errors_point_at_the_bad_part() {
        assert_eq!(bad_part("a//b"), (1..3, "//"));
        assert_eq!(bad_part("/orders"), (0..1, "/"));
        assert_eq!(bad_part("~/orders"), (0..2, "~/"));
        assert_eq!(bad_part("~orders"), (0..1, "~"));
        assert_eq!(bad_part("orders/{id"), (7..10, "{id"));
        assert_eq!(bad_part("orders/{"), (7..8, "{"));
        assert_eq!(bad_part("orders/id}"), (9..10, "}"));
        assert_eq!(bad_part("orders/{}"), (7..9, "{}"));
        assert_eq!(bad_part("a?b"), (1..2, "?"));
        assert_eq!(bad_part("{id:regex(^\\d{3}$)}"), (13..14, "{"));
        assert_eq!(bad_part("{a}}"), (0..4, "{a}}"));
    }

    #[test]
    fn parameter_errors_point_at_the_bad_part() {
        assert_eq!(bad_part("{id}/{ID}"), (6..8, "ID"));
        assert_eq!(bad_part("{*rest}/x"), (0..7, "{*rest}"));
        assert_eq!(bad_part("x{*rest}"), (1..8, "{*rest}"));
        assert_eq!(bad_part("{*path?}"), (0..8, "{*path?}"));
        assert_eq!(bad_part("{a?}{b}"), (0..4, "{a?}"));
        assert_eq!(bad_part("{a?}.{b}"), (0..4, "{a?}"));
        assert_eq!(bad_part("{a}-{b?}"), (3..4, "-"));
        assert_eq!(bad_part("file.{ext?}"), (0..5, "file."));
        assert_eq!(bad_part("{a}{b}"), (0..6, "{a}{b}"));
        assert_eq!(bad_part("x/{a}{b}"), (2..8, "{a}{b}"));
        assert_eq!(bad_part("{id?=5}"), (3..4, "?"));
        assert_eq!(bad_part("{id=5?}"), (3..6, "=5?"));
        assert_eq!(bad_part("{:int}"), (1..2, ":"));
        assert_eq!(bad_part("{?}"), (0..3, "{?}"));
        assert_eq!(bad_part("{*}"), (0..3, "{*}"));
        assert_eq!(bad_part("{a*b}"), (2..3, "*"));
        assert_eq!(bad_part("{a?}/b"), (0..4, "{a?}"));
        assert_eq!(bad_part("{a=1}/{b}"), (0..5, "{a=1}"));
        assert_eq!(bad_part("{a{{b}"), (2..4, "{{"));
    }

    #[test]
    fn constraint_errors_point_at_the_bad_part() {
        assert_eq!(bad_part("orders/{id:integer}"), (11..18, "integer"));
        let p = parse_route("orders/{id:integer}").unwrap_err();
        assert!(
            p.message
                .starts_with("unknown route constraint `integer`: the constraints are int, long"),
            "{}",
            p.message
        );
        assert_eq!(p.help.as_deref(), Some("did you mean `int`?"));
        assert_eq!(bad_part("{id:min(x)}"), (8..9, "x"));
        assert_eq!(bad_part("{id:min( x )}"), (9..10, "x"));
        assert_eq!(bad_part("{id:length(5,2)}"), (11..14, "5,2"));
        assert_eq!(bad_part("{id:range(9,1)}"), (10..13, "9,1"));
        assert_eq!(bad_part("{id:range(1)}"), (10..11, "1"));
        assert_eq!(bad_part("{id:length(1,2,3)}"), (11..16, "1,2,3"));
        assert_eq!(bad_part("{id:minlength(-1)}"), (14..16, "-1"));
        assert_eq!(bad_part("{id:int(3)}"), (7..10, "(3)"));
        assert_eq!(bad_part("{id:min}"), (4..7, "min"));
        assert_eq!(bad_part("{id:min()}"), (7..9, "()"));
        assert_eq!(bad_part("{id:regex}"), (4..9, "regex"));
        assert_eq!(bad_part("{id:min(5}"), (7..9, "(5"));
        assert_eq!(bad_part("{id:(5)}"), (4..7, "(5)"));
        assert_eq!(bad_part("{id:int:foo}"), (8..11, "foo"));
        let s = "{id:regex(^\\d{{3}}$):foo}";
        let at = s.find("foo").unwrap();
        assert_eq!(bad_part(s), (at..at + 3, "foo"));
        assert_eq!(bad_part("{id:maxlength(99999999999)}"), (14..25, "99999999999"));
    }

    #[test]
    fn literals_match_ignoring_case() {
        let r = route("orders/{id:int}");
        assert_eq!(r.match_path("orders/42"), values(&[("id", "42")]));
        assert_eq!(r.match_path("ORDERS/42"), values(&[("id", "42")]));
        assert_eq!(r.match_path("orders/42/"), values(&[("id", "42")]));
        assert_eq!(r.match_path("orders/x"), None);
        assert_eq!(r.match_path("orders"), None);
        assert_eq!(r.match_path("orders/42/x"), None);
        assert_eq!(r.match_path("orders//42"), None);
        assert_eq!(r.match_path("orders/42//"), None);
        assert_eq!(r.match_path("/orders/42"), None);
        assert_eq!(route("").match_path(""), values(&[]));
        assert_eq!(route("").match_path("a"), None);
        assert_eq!(route("{{x}}/{id}").match_path("{X}/5"), values(&[("id", "5")]));
        assert_eq!(route("straße").match_path("STRASSE"), None);
        assert_eq!(route("café").match_path("CAFÉ"), values(&[]));
    }

    #[test]
    fn optional_default_and_catch_all_values() {
        let optional = route("products/{id?}");
        assert_eq!(optional.match_path("products"), values(&[]));
        assert_eq!(optional.match_path("products/5"), values(&[("id", "5")]));
        let default = route("products/{category=all}/{page=1}");
        assert_eq!(
            default.match_path("products"),
            values(&[("category", "all"), ("page", "1")])
        );
        assert_eq!(
            default.match_path("products/books"),
            values(&[("category", "books"), ("page", "1")])
        );
        let files = route("files/{*path}");
        assert_eq!(files.match_path("files/a/b/c.txt"), values(&[("path", "a/b/c.txt")]));
        assert_eq!(files.match_path("files/a/b/"), values(&[("path", "a/b/")]));
        assert_eq!(files.match_path("files/a//b"), values(&[("path", "a//b")]));
        assert_eq!(files.match_path("files"), values(&[]));
        assert_eq!(files.match_path("files//a"), None);
        let with_default = route("files/{**path=index.html}");
        assert_eq!(with_default.match_path("files"), values(&[("path", "index.html")]));
        assert_eq!(route("{*all}").match_path("x/y"), values(&[("all", "x/y")]));
    }

    #[test]
    fn constraints_are_checked() {
        let flag = route("flags/{on:bool}");
        assert!(flag.match_path("flags/true").is_some());
        assert!(flag.match_path("flags/FALSE").is_some());
        assert!(flag.match_path("flags/yes").is_none());
        let guid = route("items/{id:guid}");
        for ok in [
            "d3b07384-d9a7-4f3b-8a5c-0e5b7c1f2a3e",
            "{D3B07384-D9A7-4F3B-8A5C-0E5B7C1F2A3E}",
            "d3b07384d9a74f3b8a5c0e5b7c1f2a3e",
        ] {
            assert!(guid.match_path(&format!("items/{ok}")).is_some(), "{ok}");
        }
        assert!(guid.match_path("items/d3b07384-d9a7-4f3b-8a5c-0e5b7c1f2a3").is_none());
        let alpha = route("w/{word:alpha}");
        assert!(alpha.match_path("w/abcXYZ").is_some());
        assert!(alpha.match_path("w/ab1").is_none());
        assert!(alpha.match_path("w/é").is_none());
        let length = route("c/{code:length(2,4)}");
        assert!(length.match_path("c/a").is_none());
        assert!(length.match_path("c/abcd").is_some());
        assert!(length.match_path("c/abcde").is_none());
        assert!(length.match_path("c/🦀🦀").is_some(), "two UTF-16 pairs are four units");
        let range = route("r/{n:range(1,10)}");
        assert!(range.match_path("r/0").is_none());
        assert!(range.match_path("r/10").is_some());
        assert!(range.match_path("r/11").is_none());
        assert!(range.match_path("r/-5").is_none());
        let int = route("i/{n:int}");
        assert!(int.match_path("i/2147483647").is_some());
        assert!(int.match_path("i/2147483648").is_none());
        assert!(int.match_path("i/+7").is_some());
        let optional = route("items/{id:min(1)?}");
        assert_eq!(optional.match_path("items"), values(&[]));
        assert!(optional.match_path("items/0").is_none());
        assert!(
            route("f/{*path:minlength(1)}").match_path("f").is_none(),
            "an empty catch-all fails its constraints"
        );
        assert!(
            route("d/{n:int=x}").match_path("d").is_none(),
            "defaults are checked too"
        );
        assert!(
            route("x/{r:regex(^\\d+$)}").match_path("x/abc").is_some(),
            "regex is not evaluated"
        );
    }

    #[test]
    fn complex_segments() {
        let file = route("{name}.{ext}");
        assert_eq!(
            file.match_path("report.pdf"),
            values(&[("name", "report"), ("ext", "pdf")])
        );
        assert_eq!(
            file.match_path("archive.tar.gz"),
            values(&[("name", "archive.tar"), ("ext", "gz")])
        );
        assert_eq!(file.match_path("noext"), None);
        assert_eq!(file.match_path(".pdf"), None);
        let optional_ext = route("{name}.{ext?}");
        assert_eq!(optional_ext.match_path("report"), values(&[("name", "report")]));
        assert_eq!(
            optional_ext.match_path("report.pdf"),
            values(&[("name", "report"), ("ext", "pdf")])
        );
        assert_eq!(optional_ext.match_path("report."), None);
        let version = route("api/v{version:int}/items");
        assert_eq!(version.match_path("api/v2/items"), values(&[("version", "2")]));
        assert_eq!(version.match_path("API/V2/ITEMS"), values(&[("version", "2")]));
        assert_eq!(version.match_path("api/vx/items"), None);
        assert_eq!(version.match_path("api/2/items"), None);
        let dashed = route("{a}-{b}");
        assert_eq!(dashed.match_path("x-y-z"), values(&[("a", "x-y"), ("b", "z")]));
        assert_eq!(dashed.match_path("-y"), None);
        let suffix = route("{id}.json");
        assert_eq!(suffix.match_path("7.json"), values(&[("id", "7")]));
        assert_eq!(suffix.match_path("7.json.bak"), None);
        assert_eq!(route("é{x}é").match_path("éaé"), values(&[("x", "a")]));
    }

    #[test]
    fn constraint_value_parsers() {
        assert!(RouteConstraint::Decimal.matches("1,000.50"));
        assert!(RouteConstraint::Decimal.matches("-.5"));
        assert!(RouteConstraint::Decimal.matches("5-"));
        assert!(!RouteConstraint::Decimal.matches("1e3"));
        assert!(!RouteConstraint::Decimal.matches("79228162514264337593543950336"));
        assert!(RouteConstraint::Double.matches("1.5e-3"));
        assert!(RouteConstraint::Double.matches("-Infinity"));
        assert!(RouteConstraint::Float.matches("NaN"));
        assert!(!RouteConstraint::Double.matches("1.2.3"));
        assert!(!RouteConstraint::Double.matches("."));
        assert!(RouteConstraint::DateTime.matches("2024-02-29"));
        assert!(RouteConstraint::DateTime.matches("2024-02-29T13:05:00Z"));
        assert!(RouteConstraint::DateTime.matches("2024-02-29 13:05:00.123+01:00"));
        assert!(!RouteConstraint::DateTime.matches("2023-02-29"));
        assert!(!RouteConstraint::DateTime.matches("2024-13-01"));
        assert!(RouteConstraint::File.matches("a/b/c.txt"));
        assert!(RouteConstraint::File.matches(".gitignore"));
        assert!(!RouteConstraint::File.matches("a/b.d/c"));
        assert!(!RouteConstraint::File.matches("a."));
        assert!(RouteConstraint::NonFile.matches("a/b"));
        assert!(RouteConstraint::Long.matches("-9223372036854775808"));
        assert!(!RouteConstraint::Long.matches("9223372036854775808"));
        assert!(RouteConstraint::Int.matches(" 5 "));
    }

    #[test]
    fn parser_and_matcher_never_panic() {
        let paths = fuzz::strings(40);
        for s in fuzz::strings(20_000) {
            match parse_route(&s) {
                Err(p) => {
                    fuzz::assert_range_ok(&s, &p.range);
                    assert!(!p.message.is_empty() && !p.message.ends_with('.'), "{s:?}: {p:?}");
                }
                Ok(template) => {
                    for path in &paths {
                        let _ = template.match_path(path);
                    }
                    let _ = template.match_path(&s);
                }
            }
        }
        for constraint in [
            RouteConstraint::Int,
            RouteConstraint::Decimal,
            RouteConstraint::Double,
            RouteConstraint::Guid,
            RouteConstraint::DateTime,
            RouteConstraint::File,
            RouteConstraint::Bool,
        ] {
            for s in fuzz::strings(2_000) {
                let _ = constraint.matches(&s);
            }
        }
    }
}

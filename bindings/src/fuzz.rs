//! A tiny deterministic generator of malformed strings for the parsers' no-panic tests.

/// Pieces that are likely to hit edge cases in the parsers, including multi-byte characters.
const PIECES: &[&str] = &[
    "",
    " ",
    "  ",
    "\t",
    "\n",
    "*",
    "/",
    "//",
    "-",
    ",",
    "?",
    "{",
    "}",
    "{{",
    "}}",
    "(",
    ")",
    ":",
    "=",
    ".",
    "%",
    "%%",
    "$",
    "~",
    "0",
    "1",
    "5",
    "7",
    "9",
    "12",
    "23",
    "24",
    "59",
    "60",
    "99999999999999999999",
    "a",
    "Z",
    "Mon",
    "jan",
    "sun",
    "int",
    "min(",
    "regex(",
    "length(1,",
    "é",
    "日本",
    "🦀",
    "\u{0}",
    "\u{200b}",
    "ß",
    "İ",
    "_",
    "r#",
    "host",
    "$return",
    "0.5",
    "00:05:00",
    "1.",
    "-1",
];

/// `count` pseudo-random strings built from [`PIECES`], the same ones on every run.
pub(crate) fn strings(count: usize) -> Vec<String> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..count)
        .map(|_| {
            let pieces = (next() % 12) as usize;
            (0..pieces)
                .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                .collect()
        })
        .collect()
}

/// Panics unless `range` lies inside `s` on character boundaries.
pub(crate) fn assert_range_ok(s: &str, range: &std::ops::Range<usize>) {
    assert!(
        range.start <= range.end && range.end <= s.len(),
        "{range:?} outside {s:?}"
    );
    assert!(
        s.is_char_boundary(range.start) && s.is_char_boundary(range.end),
        "{range:?} in {s:?}"
    );
}

//! Markdown tables, one per scenario, with the method above and notes below.

use std::fmt;

/// One scenario's results.
pub struct Table {
    title: String,
    method: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    notes: Vec<String>,
}

impl Table {
    pub fn new(title: &str, method: &str, header: &[&str]) -> Self {
        Table {
            title: title.to_owned(),
            method: method.to_owned(),
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn note(&mut self, note: String) {
        self.notes.push(note);
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "### {}\n", self.title)?;
        writeln!(f, "{}\n", self.method)?;
        writeln!(f, "| {} |", self.header.join(" | "))?;
        writeln!(f, "|{}", "---|".repeat(self.header.len()))?;
        for row in &self.rows {
            writeln!(f, "| {} |", row.join(" | "))?;
        }
        if !self.notes.is_empty() {
            writeln!(f)?;
            for note in &self.notes {
                writeln!(f, "- {note}")?;
            }
        }
        Ok(())
    }
}

/// Milliseconds with a precision that suits their size (differences may be negative).
pub fn ms(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude < 10.0 {
        format!("{value:.2} ms")
    } else if magnitude < 1000.0 {
        format!("{value:.1} ms")
    } else {
        format!("{:.2} s", value / 1000.0)
    }
}

/// Microseconds, shown as milliseconds.
pub fn us(value: f64) -> String {
    ms(value / 1000.0)
}

/// A ratio, `×` suffixed.
pub fn ratio(value: f64) -> String {
    format!("{value:.2}×")
}

/// Kibibytes as MiB.
pub fn mib(kib: f64) -> String {
    format!("{:.1} MiB", kib / 1024.0)
}

/// Whether a target is met, as the table says it.
pub fn verdict(met: bool) -> String {
    if met { "met".to_owned() } else { "**missed**".to_owned() }
}

/// Values of every round, so the spread behind a median is visible.
pub fn rounds(values: &[f64], show: impl Fn(f64) -> String) -> String {
    values.iter().map(|v| show(*v)).collect::<Vec<_>>().join(", ")
}

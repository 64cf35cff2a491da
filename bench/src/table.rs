//! Markdown tables, one per scenario, with the method above and notes below.

use std::fmt;

use crate::stats::median;

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

/// The rate, p50 and p99 rows of a load table, azfn's figures first and the baseline's second
/// (medians over rounds, then every round), with the targets on the rate and on p99.
pub fn load_rows(
    table: &mut Table,
    rate_label: &str,
    rate: &[Vec<f64>; 2],
    p50: &[Vec<f64>; 2],
    p99: &[Vec<f64>; 2],
    targets: (f64, f64),
) {
    let (rate_target, p99_target) = targets;
    let rate_ratio = median(&rate[0]) / median(&rate[1]);
    table.row(vec![
        rate_label.into(),
        format!("{:.0}", median(&rate[0])),
        format!("{:.0}", median(&rate[1])),
        ratio(rate_ratio),
        format!("≥ {rate_target}×"),
        verdict(rate_ratio >= rate_target),
        rounds(&rate[0], |v| format!("{v:.0}")),
        rounds(&rate[1], |v| format!("{v:.0}")),
    ]);
    table.row(vec![
        "p50 latency".into(),
        us(median(&p50[0])),
        us(median(&p50[1])),
        ratio(median(&p50[0]) / median(&p50[1])),
        String::new(),
        String::new(),
        rounds(&p50[0], us),
        rounds(&p50[1], us),
    ]);
    let p99_ratio = median(&p99[0]) / median(&p99[1]);
    table.row(vec![
        "p99 latency".into(),
        us(median(&p99[0])),
        us(median(&p99[1])),
        ratio(p99_ratio),
        format!("≤ {p99_target}×"),
        verdict(p99_ratio <= p99_target),
        rounds(&p99[0], us),
        rounds(&p99[1], us),
    ]);
}

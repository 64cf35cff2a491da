//! The upload body: the zip in memory as a rewindable `azure_core` stream, reporting its
//! progress on standard error — a bar redrawn in place on a terminal, a plain line every 10 %
//! otherwise (CI logs).
//!
//! The HTTP client sends a clone of the body on each try, so each clone reads from its own
//! position and all share one [`Progress`]: a try that starts again at byte 0 after a dropped
//! connection says so and counts from zero.

use std::io::{IsTerminal, Write};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use azure_core::Bytes;
use azure_core::stream::SeekableStream;

/// What has been sent of an upload, shared by the tries.
#[derive(Debug)]
pub struct Progress {
    total: u64,
    terminal: bool,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    tries: u32,
    sent: u64,
    started: Instant,
    /// The last tenth printed (lines) or the last time the bar was drawn.
    last_tenth: u64,
    last_draw: Option<Instant>,
}

impl Progress {
    /// Progress of an upload of `total` bytes, drawn as a bar when standard error is a terminal.
    pub fn new(total: u64) -> Arc<Progress> {
        Arc::new(Progress {
            total,
            terminal: std::io::stderr().is_terminal(),
            state: Mutex::new(State {
                tries: 0,
                sent: 0,
                started: Instant::now(),
                last_tenth: 0,
                last_draw: None,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere cannot leave the counters inconsistent in a way that matters here.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many tries have started sending.
    pub fn tries(&self) -> u32 {
        self.lock().tries
    }

    fn start_try(&self) {
        let mut state = self.lock();
        state.tries += 1;
        if state.tries > 1 {
            let sent = state.sent;
            drop(state);
            self.end_bar();
            // The retry policy does not say why (a throttling answer, a server error, a dropped
            // connection): what matters here is that the zip goes again from its first byte.
            eprintln!(
                "    retrying: sending the zip again from the start (try {}; the last try sent {})",
                self.lock().tries,
                bytes(sent)
            );
            state = self.lock();
        }
        state.sent = 0;
        state.started = Instant::now();
        state.last_tenth = 0;
        state.last_draw = None;
    }

    fn advance(&self, count: u64) {
        let mut state = self.lock();
        state.sent += count;
        let elapsed = state.started.elapsed().as_secs_f64().max(1e-3);
        let rate = state.sent as f64 / elapsed;
        let percent = percent(state.sent, self.total);
        if self.terminal {
            let due = state.last_draw.is_none_or(|t| t.elapsed().as_millis() >= 100) || state.sent >= self.total;
            if due {
                state.last_draw = Some(Instant::now());
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r{}", bar_line(state.sent, self.total, rate as u64));
                let _ = err.flush();
            }
        } else {
            let tenth = percent / 10;
            if tenth > state.last_tenth {
                state.last_tenth = tenth;
                eprintln!("{}", tenth_line(tenth * 10, state.sent, self.total, rate as u64));
            }
        }
    }

    /// Ends the bar's line (nothing to do for plain lines).
    pub fn end_bar(&self) {
        if self.terminal && self.lock().last_draw.is_some() {
            eprintln!();
        }
    }
}

/// The bar drawn in place on a terminal: `[=====     ]  20 % 1.0 MiB / 5.0 MiB 2.0 MiB/s`.
pub fn bar_line(sent: u64, total: u64, rate: u64) -> String {
    const WIDTH: u64 = 25;
    let percent = percent(sent, total);
    let filled = (percent * WIDTH / 100) as usize;
    format!(
        "    [{}{}] {percent:>3} % {} / {} {}/s  ",
        "=".repeat(filled),
        " ".repeat(WIDTH as usize - filled),
        bytes(sent),
        bytes(total),
        bytes(rate)
    )
}

/// The plain line written at each tenth when standard error is not a terminal.
pub fn tenth_line(percent: u64, sent: u64, total: u64, rate: u64) -> String {
    format!(
        "    {percent:>3} % {} / {} {}/s",
        bytes(sent),
        bytes(total),
        bytes(rate)
    )
}

fn percent(sent: u64, total: u64) -> u64 {
    sent.saturating_mul(100).checked_div(total).unwrap_or(100).min(100)
}

/// A byte count for people: `812 B`, `3.4 KiB`, `12.0 MiB`.
pub fn bytes(count: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = count as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{count} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The zip as a stream the retry policy can rewind.
#[derive(Debug, Clone)]
pub struct UploadBody {
    data: Bytes,
    position: usize,
    progress: Arc<Progress>,
}

impl UploadBody {
    /// A body of `data`, reporting to `progress`.
    pub fn new(data: Bytes, progress: Arc<Progress>) -> UploadBody {
        UploadBody {
            data,
            position: 0,
            progress,
        }
    }
}

impl futures::io::AsyncRead for UploadBody {
    fn poll_read(mut self: Pin<&mut Self>, _cx: &mut Context<'_>, buffer: &mut [u8]) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        if this.position == 0 && !this.data.is_empty() {
            this.progress.start_try();
        }
        let remaining = &this.data[this.position..];
        let count = remaining.len().min(buffer.len());
        buffer[..count].copy_from_slice(&remaining[..count]);
        this.position += count;
        if count > 0 {
            this.progress.advance(count as u64);
        }
        Poll::Ready(Ok(count))
    }
}

#[async_trait::async_trait]
impl SeekableStream for UploadBody {
    async fn reset(&mut self) -> azure_core::Result<()> {
        self.position = 0;
        Ok(())
    }

    fn len(&self) -> Option<u64> {
        Some(self.data.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use futures::AsyncReadExt;

    use super::*;

    #[test]
    fn the_bar_fills_with_the_bytes_sent() {
        let mib = 1024 * 1024;
        assert_eq!(
            bar_line(mib, 5 * mib, 2 * mib),
            "    [=====                    ]  20 % 1.0 MiB / 5.0 MiB 2.0 MiB/s  "
        );
        assert!(bar_line(5 * mib, 5 * mib, mib).starts_with("    [=========================] 100 %"));
        assert_eq!(
            tenth_line(30, 3 * mib, 10 * mib, mib),
            "     30 % 3.0 MiB / 10.0 MiB 1.0 MiB/s"
        );
        // An empty body is complete, not a division by zero.
        assert!(bar_line(0, 0, 0).contains("100 %"));
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(bytes(812), "812 B");
        assert_eq!(bytes(3 * 1024 + 400), "3.4 KiB");
        assert_eq!(bytes(12 * 1024 * 1024), "12.0 MiB");
    }

    #[test]
    fn every_try_reads_the_whole_body_and_counts_as_a_try() {
        let data = Bytes::from((0..=255u8).cycle().take(100_000).collect::<Vec<u8>>());
        let progress = Progress::new(data.len() as u64);
        let body = UploadBody::new(data.clone(), progress.clone());
        let read_all = |mut body: UploadBody| {
            futures::executor::block_on(async move {
                let mut out = Vec::new();
                body.read_to_end(&mut out).await.unwrap();
                out
            })
        };
        // The client sends clones; a second try starts from the first byte again.
        assert_eq!(read_all(body.clone()), data.to_vec());
        assert_eq!(read_all(body.clone()), data.to_vec());
        assert_eq!(progress.tries(), 2);
        assert_eq!(body.len(), Some(100_000));
    }
}

//! Logging: `tracing` inside functions, delivered the way the host reads logs.
//!
//! The app installs [`AzfnSubscriber`] unless the program set a global subscriber first. Events
//! inside an invocation are captured and returned with its response (the custom-handler `Logs`
//! array, logged by the host at Information with the invocation's context); if the invocation
//! fails, the host drops those logs, so they are written to the console instead. Events outside
//! invocations go straight to the console: stdout for info and below (the host logs it as
//! Information), stderr for warnings and errors (the host logs lines containing "warn" as
//! Warning, others as Error).
//!
//! Levels come from `RUST_LOG` (`info`, `my_app=debug,hyper=warn`), else from host.json's
//! `logging.logLevel.default` (`Trace` … `Critical`, `None`), else `info`.

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

use crate::invocation::LogLine;

tokio::task_local! {
    static CAPTURE: RefCell<Vec<LogLine>>;
}

/// A future whose events are captured (see [`capture`]).
pub(crate) type Captured<F> = tokio::task::futures::TaskLocalFuture<RefCell<Vec<LogLine>>, F>;

/// `future`, with the events it logs captured; [`captured_lines`] hands them over.
///
/// The lines live in the task-local itself: nothing shared, so nothing to lock or count.
pub(crate) fn capture<F: Future>(future: F) -> Captured<F> {
    CAPTURE.scope(RefCell::new(Vec::new()), future)
}

/// The lines a captured future has logged so far, whether or not it has finished.
pub(crate) fn captured_lines<F: Future>(captured: Pin<&mut Captured<F>>) -> Vec<LogLine> {
    captured.take_value().map(RefCell::into_inner).unwrap_or_default()
}

/// Puts `line` in the current invocation's buffer, or hands it back outside any invocation.
fn capture_line(line: LogLine) -> Result<(), LogLine> {
    let mut line = Some(line);
    let _ = CAPTURE.try_with(|lines| {
        // A line logged while another is being pushed (from a `Debug` impl, say) cannot borrow
        // the buffer; it goes to the console instead of being lost.
        if let Ok(mut lines) = lines.try_borrow_mut() {
            lines.push(line.take().expect("taken once"));
        }
    });
    line.map_or(Ok(()), Err)
}

/// Writes the captured lines of a failed invocation to the console, where the host keeps them.
pub(crate) fn replay_to_console(function: &str, invocation_id: &str, lines: &[LogLine]) {
    for line in lines {
        write_console(line.level(), &format!("[{function} {invocation_id}] {line}"));
    }
}

fn write_console(level: Level, line: &str) {
    if level <= Level::WARN {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
}

/// One `target=level` directive, or a bare level (empty target).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Directive {
    target: String,
    level: LevelFilter,
}

/// Which events are on: the most specific directive whose target prefixes the event's wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFilter {
    directives: Vec<Directive>,
}

impl LogFilter {
    /// Parses `RUST_LOG` syntax: `warn`, `my_app=debug`, `info,hyper=warn`. Unreadable parts are
    /// skipped.
    ///
    /// ```
    /// use tracing::Level;
    /// let filter = azfn::LogFilter::parse("warn,my_app=debug");
    /// assert!(filter.enabled("my_app::orders", Level::DEBUG));
    /// assert!(!filter.enabled("hyper::proto", Level::INFO));
    /// ```
    pub fn parse(spec: &str) -> Self {
        let mut directives: Vec<Directive> = spec
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .filter_map(|d| match d.split_once('=') {
                Some((target, level)) => Some(Directive {
                    target: target.trim().to_owned(),
                    level: level.trim().parse().ok()?,
                }),
                None => match d.parse::<LevelFilter>() {
                    Ok(level) => Some(Directive {
                        target: String::new(),
                        level,
                    }),
                    Err(_) => Some(Directive {
                        target: d.to_owned(),
                        level: LevelFilter::TRACE,
                    }),
                },
            })
            .collect();
        if !directives.iter().any(|d| d.target.is_empty()) {
            directives.push(Directive {
                target: String::new(),
                level: LevelFilter::INFO,
            });
        }
        // Longest target first: the most specific directive decides.
        directives.sort_by_key(|d| std::cmp::Reverse(d.target.len()));
        LogFilter { directives }
    }

    /// The filter for `level` everywhere.
    pub fn level(level: LevelFilter) -> Self {
        LogFilter {
            directives: vec![Directive {
                target: String::new(),
                level,
            }],
        }
    }

    /// From `RUST_LOG`, else host.json in the working directory (where the host starts the
    /// worker), else `info`.
    pub fn from_environment() -> Self {
        if let Ok(spec) = std::env::var("RUST_LOG") {
            return LogFilter::parse(&spec);
        }
        let host_level = std::fs::read("host.json")
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .and_then(|host| host_json_level(&host));
        LogFilter::level(host_level.unwrap_or(LevelFilter::INFO))
    }

    /// Whether an event of `level` from `target` is logged.
    pub fn enabled(&self, target: &str, level: Level) -> bool {
        self.directives
            .iter()
            .find(|d| target.starts_with(&d.target))
            .is_some_and(|d| d.level >= level)
    }

    fn max_level(&self) -> LevelFilter {
        self.directives
            .iter()
            .map(|d| d.level)
            .max()
            .unwrap_or(LevelFilter::OFF)
    }
}

/// `logging.logLevel.default` of host.json, in .NET's level names.
fn host_json_level(host: &serde_json::Value) -> Option<LevelFilter> {
    let levels = host.get("logging")?.get("logLevel")?.as_object()?;
    let default = levels
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("default"))?
        .1
        .as_str()?;
    Some(match default.to_ascii_lowercase().as_str() {
        "trace" => LevelFilter::TRACE,
        "debug" => LevelFilter::DEBUG,
        "information" => LevelFilter::INFO,
        "warning" => LevelFilter::WARN,
        "error" | "critical" => LevelFilter::ERROR,
        "none" => LevelFilter::OFF,
        _ => return None,
    })
}

/// The subscriber the app installs: captures invocation events, writes the rest to the console.
#[derive(Debug)]
pub struct AzfnSubscriber {
    filter: LogFilter,
    next_span: AtomicU64,
}

impl AzfnSubscriber {
    /// A subscriber with this filter.
    pub fn new(filter: LogFilter) -> Self {
        AzfnSubscriber {
            filter,
            next_span: AtomicU64::new(1),
        }
    }
}

/// Installs [`AzfnSubscriber`] as the global default, unless one is already set.
pub fn init_default() {
    if !tracing::dispatcher::has_been_set() {
        let _ = tracing::subscriber::set_global_default(AzfnSubscriber::new(LogFilter::from_environment()));
    }
}

/// Formats an event's fields: the message first, then `name=value` pairs.
#[derive(Default)]
struct LineVisitor {
    message: String,
    fields: String,
}

impl Visit for LineVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

fn event_line(event: &Event<'_>) -> LogLine {
    let mut visitor = LineVisitor::default();
    event.record(&mut visitor);
    let meta = event.metadata();
    visitor.message.push_str(&visitor.fields);
    LogLine::new(*meta.level(), meta.target(), visitor.message)
}

impl Subscriber for AzfnSubscriber {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.filter.enabled(metadata.target(), *metadata.level())
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.filter.max_level())
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        // Each thread takes ids in blocks: one shared counter bumped by every invocation on
        // every thread would bounce its cache line between them. (This subscriber keeps
        // nothing per span, so an id only has to be non-zero.)
        const BLOCK: u64 = 1024;
        thread_local! {
            static IDS: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
        }
        IDS.with(|ids| {
            let (mut next, mut end) = ids.get();
            if next == end {
                next = self.next_span.fetch_add(BLOCK, Ordering::Relaxed);
                end = next + BLOCK;
            }
            ids.set((next + 1, end));
            Id::from_u64(next)
        })
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let line = event_line(event);
        if let Err(line) = capture_line(line) {
            write_console(line.level(), &line.to_string());
        }
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}

#[cfg(test)]
mod tests {
    use std::pin::pin;

    use super::*;

    #[test]
    fn directives_pick_the_most_specific_target() {
        let filter = LogFilter::parse("warn,my_app=debug,my_app::noisy=error");
        assert!(filter.enabled("my_app", Level::DEBUG));
        assert!(!filter.enabled("my_app::noisy::x", Level::WARN));
        assert!(filter.enabled("other", Level::WARN));
        assert!(!filter.enabled("other", Level::INFO));
        assert!(LogFilter::parse("").enabled("x", Level::INFO));
        assert!(!LogFilter::parse("").enabled("x", Level::DEBUG));
    }

    #[test]
    fn host_json_levels_use_dotnet_names() {
        let host = serde_json::json!({"logging": {"logLevel": {"default": "Warning"}}});
        assert_eq!(host_json_level(&host), Some(LevelFilter::WARN));
        assert_eq!(host_json_level(&serde_json::json!({})), None);
    }

    #[tokio::test]
    async fn events_inside_an_invocation_are_captured() {
        let subscriber = AzfnSubscriber::new(LogFilter::parse("info"));
        let _guard = tracing::subscriber::set_default(subscriber);
        let mut captured = pin!(capture(async {
            tracing::info!(order = 7, "shipped");
            tracing::debug!("not enabled");
        }));
        captured.as_mut().await;
        let lines = captured_lines(captured);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].to_string(), " INFO azfn::logging::tests: shipped order=7");
    }
}

//! Logging: `tracing` inside functions, delivered the way the host reads logs.
//!
//! Capture is a `tracing_subscriber` [`Layer`]: [`layer()`] gives it, filtered by
//! [`LogFilter::from_environment`], to add to a registry of one's own beside other layers
//! (`fmt`, OpenTelemetry):
//!
//! ```no_run
//! use tracing_subscriber::layer::SubscriberExt as _;
//! let subscriber = tracing_subscriber::registry().with(azfn::logging::layer());
//! tracing::subscriber::set_global_default(subscriber).expect("the first subscriber");
//! ```
//!
//! When the program sets no global subscriber, the app installs a registry with the capture
//! layer and a console writer ([`init_default`]).
//!
//! Events inside an invocation are captured and returned with its response (the custom-handler
//! `Logs` array, gRPC `RpcLog`s); if the invocation fails, they are written to the console,
//! where the host keeps them. Each line carries the event's message and fields, after the
//! names and fields of the spans it is in (`order{id=7}: shipped carrier="ups"`). Events outside
//! invocations are left to the other layers; the default console writer prints them to stdout
//! for info and below (the host logs it as Information) and stderr for warnings and errors
//! (the host logs lines containing "warn" as Warning, others as Error).
//!
//! Levels come from `RUST_LOG` (`info`, `my_app=debug,hyper=warn`), else from host.json's
//! `logging.logLevel.default` (`Trace` … `Critical`, `None`), else `info`.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Filtered;
use tracing_subscriber::layer::{Context, Filter, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

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
pub fn replay_to_console(function: &str, invocation_id: &str, lines: &[LogLine]) {
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

impl<S> Filter<S> for LogFilter {
    fn enabled(&self, metadata: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        LogFilter::enabled(self, metadata.target(), *metadata.level())
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.max_level())
    }
}

/// What the capture layer sees: what a [`LogFilter`] lets through, but never the span azfn
/// opens around each invocation, which capture does not read. With azfn's default subscriber
/// (or any whose other layers do not want that span either) nothing records it, and opening
/// it costs a look at its callsite's cached interest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureFilter(LogFilter);

impl CaptureFilter {
    /// The capture filter over `filter`.
    pub fn new(filter: LogFilter) -> Self {
        CaptureFilter(filter)
    }

    /// The capture filter over [`LogFilter::from_environment`].
    pub fn from_environment() -> Self {
        CaptureFilter(LogFilter::from_environment())
    }
}

impl<S> Filter<S> for CaptureFilter {
    fn enabled(&self, metadata: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        !is_invocation_span(metadata) && self.0.enabled(metadata.target(), *metadata.level())
    }

    fn callsite_enabled(&self, metadata: &'static Metadata<'static>) -> Interest {
        // Never for the invocation span, cached in its callsite; the rest as before, asked at
        // each call.
        if is_invocation_span(metadata) {
            Interest::never()
        } else {
            Interest::sometimes()
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.0.max_level())
    }
}

/// The layer that captures invocation events (see the module docs); with `console`, it also
/// writes the events outside invocations to the console.
#[derive(Debug, Clone, Copy, Default)]
pub struct CaptureLayer {
    console: bool,
}

impl CaptureLayer {
    /// Capture only: events outside invocations are left to the other layers.
    pub fn new() -> Self {
        CaptureLayer { console: false }
    }

    /// Capture, and the console for events outside invocations (what [`init_default`] installs).
    pub fn with_console() -> Self {
        CaptureLayer { console: true }
    }
}

/// The capture layer for a registry of one's own, filtered by
/// [`CaptureFilter::from_environment`].
pub fn layer<S>() -> Filtered<CaptureLayer, CaptureFilter, S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    CaptureLayer::new().with_filter(CaptureFilter::from_environment())
}

/// Installs a registry with the capture layer and the console writer as the global default,
/// unless the program set one already.
pub fn init_default() {
    if !tracing::dispatcher::has_been_set() {
        let subscriber = tracing_subscriber::registry()
            .with(CaptureLayer::with_console().with_filter(CaptureFilter::from_environment()));
        let _ = tracing::subscriber::set_global_default(subscriber);
    }
}

/// A span's fields as ` name=value` pairs, kept in the span's extensions.
struct SpanFields(String);

/// The span azfn opens around every invocation: its fields are the invocation's context, which
/// the host already has, so lines do not repeat them.
fn is_invocation_span(metadata: &Metadata<'_>) -> bool {
    metadata.name() == "invocation" && metadata.target() == "azfn::dispatch"
}

impl<S> Layer<S> for CaptureLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attributes: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if is_invocation_span(attributes.metadata()) {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let mut visitor = LineVisitor::default();
        attributes.record(&mut visitor);
        span.extensions_mut().insert(SpanFields(visitor.into_text()));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut visitor = LineVisitor::default();
        values.record(&mut visitor);
        if let Some(fields) = span.extensions_mut().get_mut::<SpanFields>() {
            fields.0.push_str(&visitor.into_text());
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut text = String::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(SpanFields(fields)) = extensions.get::<SpanFields>() else {
                    continue;
                };
                let _ = write!(text, "{}", span.name());
                if !fields.is_empty() {
                    let _ = write!(text, "{{{}}}", fields.trim_start());
                }
                text.push_str(": ");
            }
        }
        let mut visitor = LineVisitor::default();
        event.record(&mut visitor);
        text.push_str(&visitor.into_text());
        let metadata = event.metadata();
        let line = LogLine::new(*metadata.level(), metadata.target(), text);
        if let Err(line) = capture_line(line)
            && self.console
        {
            write_console(line.level(), &line.to_string());
        }
    }
}

/// Formats fields: the message first, then ` name=value` pairs.
#[derive(Default)]
struct LineVisitor {
    message: String,
    fields: String,
}

impl LineVisitor {
    fn into_text(mut self) -> String {
        self.message.push_str(&self.fields);
        self.message
    }
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
        let subscriber = tracing_subscriber::registry().with(CaptureLayer::new().with_filter(LogFilter::parse("info")));
        let _guard = tracing::subscriber::set_default(subscriber);
        let mut captured = pin!(capture(async {
            tracing::info!(order = 7, "shipped");
            tracing::debug!("not enabled");
        }));
        captured.as_mut().await;
        let lines = captured_lines(captured);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].to_string(), " INFO azfn_core::logging::tests: shipped order=7");
    }

    /// A layer that wants every span, as an exporter does.
    struct WantsEverySpan;

    impl<S: Subscriber> Layer<S> for WantsEverySpan {}

    /// Asked of the dispatchers directly, not through the macros: a callsite caches one interest
    /// for every subscriber alive in the process, and other tests set theirs up meanwhile.
    #[test]
    fn the_invocation_span_is_wanted_only_by_layers_other_than_capture() {
        let metadata_of = |span: fn() -> tracing::Span| {
            tracing::subscriber::with_default(tracing_subscriber::registry(), || span().metadata())
                .expect("a bare registry records every span")
        };
        // As dispatch opens it.
        let invocation =
            metadata_of(|| tracing::info_span!(target: "azfn::dispatch", "invocation", invocation_id = "i-1"));
        let order = metadata_of(|| tracing::info_span!("order", id = 7));
        let filter = CaptureFilter::new(LogFilter::parse("trace"));
        assert!(Filter::<tracing_subscriber::Registry>::callsite_enabled(&filter, invocation).is_never());
        assert!(!Filter::<tracing_subscriber::Registry>::callsite_enabled(&filter, order).is_never());

        let capture = || CaptureLayer::new().with_filter(filter.clone());
        let capture_only = tracing::Dispatch::new(tracing_subscriber::registry().with(capture()));
        assert!(
            capture_only.register_callsite(invocation).is_never(),
            "with capture alone, nothing records it"
        );
        assert!(
            !capture_only.register_callsite(order).is_never(),
            "the user's spans still are recorded"
        );
        let with_exporter = tracing::Dispatch::new(tracing_subscriber::registry().with(capture()).with(WantsEverySpan));
        assert!(
            !with_exporter.register_callsite(invocation).is_never(),
            "another layer wants it"
        );
    }

    #[tokio::test]
    async fn span_fields_are_kept_and_the_invocation_span_is_not_repeated() {
        let subscriber = tracing_subscriber::registry().with(CaptureLayer::new().with_filter(LogFilter::parse("info")));
        let _guard = tracing::subscriber::set_default(subscriber);
        let mut captured = pin!(capture(async {
            // As dispatch opens it.
            let invocation = tracing::info_span!(target: "azfn::dispatch", "invocation", invocation_id = "i-1");
            let _invocation = invocation.enter();
            let order = tracing::info_span!("order", id = 7, carrier = tracing::field::Empty);
            order.record("carrier", "ups");
            let _order = order.enter();
            let step = tracing::info_span!("pack");
            let _step = step.enter();
            tracing::warn!(weight = 2.5, "heavy");
        }));
        captured.as_mut().await;
        let lines = captured_lines(captured);
        assert_eq!(
            lines[0].to_string(),
            " WARN azfn_core::logging::tests: order{id=7 carrier=\"ups\"}: pack: heavy weight=2.5"
        );
    }

    /// A layer standing for the user's own (fmt, OpenTelemetry): it counts what it sees.
    struct Counting(std::sync::Arc<std::sync::atomic::AtomicUsize>);

    impl<S: Subscriber> Layer<S> for Counting {
        fn on_event(&self, _: &Event<'_>, _: Context<'_, S>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    #[tokio::test]
    async fn capture_composes_with_the_users_own_layers() {
        let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let subscriber = tracing_subscriber::registry()
            .with(CaptureLayer::new().with_filter(LogFilter::parse("info")))
            .with(Counting(seen.clone()));
        let _guard = tracing::subscriber::set_default(subscriber);
        let mut captured = pin!(capture(async {
            tracing::info!("inside");
            tracing::debug!("below azfn's level, still seen by the other layer");
        }));
        captured.as_mut().await;
        tracing::info!("outside");
        let lines = captured_lines(captured);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), 3);
    }
}

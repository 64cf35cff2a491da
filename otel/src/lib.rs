//! OpenTelemetry export for azfn: every invocation is a span whose parent is the Functions
//! host's trace context, exported over OTLP/HTTP (protobuf) by the SDK's batch span processor,
//! and, with the `application-insights` feature, to Application Insights.
//!
//! Users enable azfn's `opentelemetry` feature and name this crate as `azfn::opentelemetry`.
//! Export starts, as in the .NET isolated worker, only when the environment configures it and
//! `OTEL_SDK_DISABLED` is not `true`: over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set; with the `application-insights` feature, to
//! Application Insights when `APPLICATIONINSIGHTS_CONNECTION_STRING` is set; to both when both
//! are, as the Functions host exports. The OTLP exporter reads the other
//! `OTEL_EXPORTER_OTLP_*` variables itself (headers, timeout); a protocol other than
//! `http/protobuf`, or a connection string the Application Insights exporter cannot read, is
//! refused with an [`ExportError`]. `App::run` does everything: it calls [`init`],
//! installs [`init_default_subscriber`], and calls [`shutdown`] once the worker has stopped.
//!
//! A program that sets its own global subscriber adds [`layer`] to it beside azfn's log
//! capture:
//!
//! ```no_run
//! use tracing_subscriber::layer::SubscriberExt as _;
//! let subscriber = tracing_subscriber::registry()
//!     .with(azfn::logging::layer())
//!     .with(azfn::opentelemetry::layer());
//! tracing::subscriber::set_global_default(subscriber).expect("the first subscriber");
//! azfn::App::new().run();
//! ```
//!
//! See `docs/opentelemetry.md` for the span's name and attributes and where each comes from.
#![forbid(unsafe_code)]

#[cfg(feature = "application-insights")]
mod application_insights;
mod resource;
mod span;

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use azfn_core::dispatch::{self, SpanHooks};
use azfn_core::logging::{CaptureFilter, CaptureLayer, LogFilter};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{SdkTracerProvider, Tracer};
use tracing::{Metadata, Subscriber};
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Filtered;
use tracing_subscriber::layer::{Context, Filter, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

/// The capability the host reads in `WorkerInitResponse`: with `"true"` it stops exporting the
/// worker's logs itself (host `GrpcWorkerChannel`, `OpenTelemetryConfigurationExtensions`).
pub const CAPABILITY_ENABLED: &str = "WorkerOpenTelemetryEnabled";
/// The capability naming the schema the worker's spans follow, as the .NET worker sends it.
pub const CAPABILITY_SCHEMA_VERSION: &str = "WorkerOpenTelemetrySchemaVersion";
/// The schema version advertised with [`CAPABILITY_SCHEMA_VERSION`].
pub const SCHEMA_VERSION: &str = "1.37.0";
/// The instrumentation scope of the spans (the .NET worker's `ActivitySource` has its own).
const SCOPE: &str = "azfn";

/// Why export could not start.
#[derive(Debug)]
pub struct ExportError(String);

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OpenTelemetry export cannot start: {}", self.0)
    }
}

impl std::error::Error for ExportError {}

/// Set once [`layer`] has handed out a layer that feeds the exporter.
static LAYER_IN_USE: AtomicBool = AtomicBool::new(false);

/// The tracer provider, once [`init`] has decided (`None`: the environment configures no export).
static EXPORT: OnceLock<Option<Export>> = OnceLock::new();

struct Export {
    provider: SdkTracerProvider,
    tracer: Tracer,
}

/// The exporters the environment asks for (see the crate docs).
#[derive(Debug, Default, PartialEq)]
struct Exporters {
    /// OTLP/HTTP: an OTLP endpoint is set.
    otlp: bool,
    /// Application Insights: the connection string, when it is set and the feature is on.
    application_insights: Option<String>,
}

impl Exporters {
    fn any(&self) -> bool {
        self.otlp || self.application_insights.is_some()
    }
}

/// The exporters the environment asks for, read through `lookup`; none with
/// `OTEL_SDK_DISABLED=true`.
fn configured(lookup: impl Fn(&str) -> Option<String>) -> Exporters {
    let value = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
    let disabled = lookup("OTEL_SDK_DISABLED").is_some_and(|value| value.trim().eq_ignore_ascii_case("true"));
    if disabled {
        return Exporters::default();
    }
    Exporters {
        otlp: value("OTEL_EXPORTER_OTLP_ENDPOINT").is_some() || value("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some(),
        #[cfg(feature = "application-insights")]
        application_insights: value(application_insights::CONNECTION_STRING),
        #[cfg(not(feature = "application-insights"))]
        application_insights: None,
    }
}

/// Refuses a protocol other than `http/protobuf`, the only one compiled in: the exporter would
/// otherwise ignore the setting and post protobuf to an endpoint that expects something else.
fn check_protocol(lookup: impl Fn(&str) -> Option<String>) -> Result<(), ExportError> {
    for name in ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"] {
        if let Some(protocol) = lookup(name).map(|value| value.trim().to_owned())
            && !protocol.is_empty()
            && !protocol.eq_ignore_ascii_case("http/protobuf")
        {
            return Err(ExportError(format!(
                "{name}={protocol}: azfn exports OTLP over http/protobuf only; unset it and point \
                 OTEL_EXPORTER_OTLP_ENDPOINT at the receiver's HTTP port (4318 by convention)"
            )));
        }
    }
    Ok(())
}

/// Starts the exporter if the environment configures it, once per process; later calls return
/// the first answer (`Ok(false)` after an error). `Ok(true)`: the exporter runs, and spans are
/// exported once [`layer`] is in the program's subscriber. `Ok(false)`: not configured,
/// nothing started.
pub fn init() -> Result<bool, ExportError> {
    if let Some(export) = EXPORT.get() {
        return Ok(export.is_some());
    }
    let lookup = |name: &str| std::env::var(name).ok();
    let exporters = configured(lookup);
    let export = if exporters.any() {
        match start(&exporters, lookup) {
            Ok(export) => Some(export),
            Err(error) => {
                // Reported once: later calls (`layer`) see that export is off.
                let _ = EXPORT.set(None);
                return Err(error);
            }
        }
    } else {
        None
    };
    // Two racing first calls each built a provider; the loser's is dropped, unused.
    let _ = EXPORT.set(export);
    Ok(EXPORT.get().is_some_and(Option::is_some))
}

/// Builds every exporter `exporters` names, each behind a batch span processor of its own, or
/// none if one of them cannot be built.
fn start(exporters: &Exporters, lookup: impl Fn(&str) -> Option<String>) -> Result<Export, ExportError> {
    // https endpoints: ring, unless the program installed a provider of its own already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = SdkTracerProvider::builder().with_resource(resource::detect(&lookup));
    if exporters.otlp {
        check_protocol(&lookup)?;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()
            .map_err(|error| ExportError(error.to_string()))?;
        builder = builder.with_batch_exporter(exporter);
    }
    #[cfg(feature = "application-insights")]
    if let Some(connection_string) = &exporters.application_insights {
        builder = builder.with_batch_exporter(application_insights::exporter(connection_string)?);
    }
    let provider = builder.build();
    let scope = opentelemetry::InstrumentationScope::builder(SCOPE)
        .with_version(env!("CARGO_PKG_VERSION"))
        .with_schema_url(span::SCHEMA_URL)
        .build();
    let tracer = provider.tracer_with_scope(scope);
    Ok(Export { provider, tracer })
}

/// Whether spans are being exported: the exporter runs ([`init`] said `Ok(true)`) and [`layer`]
/// has handed out the layer that feeds it. Without the layer in the subscriber nothing would
/// reach the exporter, and advertising the capability would make the host drop the worker's
/// logs for nothing.
pub fn is_exporting() -> bool {
    LAYER_IN_USE.load(Ordering::Acquire)
}

/// The gRPC capabilities to advertise while exporting ([`CAPABILITY_ENABLED`] and
/// [`CAPABILITY_SCHEMA_VERSION`]), none otherwise.
pub fn capabilities() -> impl Iterator<Item = (&'static str, &'static str)> {
    let exporting = is_exporting();
    [
        (CAPABILITY_ENABLED, "true"),
        (CAPABILITY_SCHEMA_VERSION, SCHEMA_VERSION),
    ]
    .into_iter()
    .filter(move |_| exporting)
}

/// The layer that turns spans into OpenTelemetry spans (and the events inside them into span
/// events), filtered by [`SpanFilter`]; `None` (a layer that does nothing) when the environment
/// configures no export (no OTLP endpoint and, with the `application-insights` feature, no
/// Application Insights connection string). Calls [`init`]; an error is written to stderr and
/// export stays off.
/// Handing out a layer installs dispatch's span hooks and makes [`is_exporting`] true.
pub fn layer<S>() -> Option<Filtered<OpenTelemetryLayer<S, Tracer>, SpanFilter, S>>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    if let Err(error) = init() {
        eprintln!("azfn: {error}");
    }
    let export = EXPORT.get()?.as_ref()?;
    // Dispatch names and parents the invocation span from now on.
    dispatch::install_span_hooks(SpanHooks {
        started: span::started,
        finished: span::finished,
    });
    LAYER_IN_USE.store(true, Ordering::Release);
    let layer = tracing_opentelemetry::layer()
        .with_tracer(export.tracer.clone())
        .with_threads(false)
        .with_location(false)
        .with_tracked_inactivity(false);
    Some(layer.with_filter(SpanFilter(LogFilter::from_environment())))
}

/// Installs azfn's default subscriber (log capture with the console writer, see
/// [`azfn_core::logging::init_default`]) with [`layer`] beside it, unless the program has set a
/// global subscriber already.
pub fn init_default_subscriber() {
    if tracing::dispatcher::has_been_set() {
        if EXPORT.get().is_some_and(Option::is_some) && !is_exporting() {
            eprintln!(
                "azfn: OpenTelemetry export is configured, but the program's own subscriber has no \
                 `azfn::opentelemetry::layer()`: nothing is exported"
            );
        }
        return;
    }
    let subscriber = tracing_subscriber::registry()
        .with(CaptureLayer::with_console().with_filter(CaptureFilter::from_environment()))
        .with(layer());
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// Exports every finished span still buffered, then stops the exporter. Blocks (up to the
/// exporter's timeout), so call it outside the async runtime's tasks: `App::run` calls it once
/// the worker has stopped and its in-flight invocations have ended. Errors go to stderr.
pub fn shutdown() {
    let Some(Some(export)) = EXPORT.get() else { return };
    if let Err(error) = export.provider.force_flush() {
        eprintln!("azfn: flushing OpenTelemetry spans failed: {error}");
    }
    if let Err(error) = export.provider.shutdown() {
        eprintln!("azfn: stopping the OpenTelemetry exporter failed: {error}");
    }
}

/// What the OpenTelemetry layer sees: the invocation span always (even when `RUST_LOG` is
/// below `info`, so every invocation is exported), everything else as the log filter says.
#[derive(Debug, Clone)]
pub struct SpanFilter(LogFilter);

impl<S> Filter<S> for SpanFilter {
    fn enabled(&self, metadata: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        (metadata.is_span() && metadata.target() == "azfn::dispatch" && metadata.name() == "invocation")
            || self.0.enabled(metadata.target(), *metadata.level())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(variables: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        |name| {
            variables
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    }

    #[test]
    fn an_otlp_endpoint_starts_otlp_export() {
        assert!(configured(with(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")])).otlp);
        assert!(configured(with(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c/v1/traces")])).otlp);
        assert!(!configured(with(&[])).any());
        assert!(!configured(with(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")])).any());
        assert!(
            !configured(with(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
                ("OTEL_SDK_DISABLED", "true"),
            ]))
            .any()
        );
    }

    #[cfg(not(feature = "application-insights"))]
    #[test]
    fn without_the_feature_a_connection_string_starts_nothing() {
        assert!(
            !configured(with(&[(
                "APPLICATIONINSIGHTS_CONNECTION_STRING",
                "InstrumentationKey=x"
            )]))
            .any()
        );
    }

    #[cfg(feature = "application-insights")]
    #[test]
    fn with_the_feature_a_connection_string_starts_application_insights_export_beside_otlp() {
        let connection_string = Some("InstrumentationKey=x".to_owned());
        assert_eq!(
            configured(with(&[(
                "APPLICATIONINSIGHTS_CONNECTION_STRING",
                "InstrumentationKey=x"
            )])),
            Exporters {
                otlp: false,
                application_insights: connection_string.clone()
            }
        );
        assert_eq!(
            configured(with(&[
                ("APPLICATIONINSIGHTS_CONNECTION_STRING", "InstrumentationKey=x"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
            ])),
            Exporters {
                otlp: true,
                application_insights: connection_string
            }
        );
        assert!(!configured(with(&[("APPLICATIONINSIGHTS_CONNECTION_STRING", "")])).any());
        assert!(
            !configured(with(&[
                ("APPLICATIONINSIGHTS_CONNECTION_STRING", "InstrumentationKey=x"),
                ("OTEL_SDK_DISABLED", "true"),
            ]))
            .any()
        );
    }

    #[test]
    fn only_http_protobuf_is_accepted_and_another_protocol_says_what_to_do() {
        assert!(check_protocol(with(&[])).is_ok());
        assert!(check_protocol(with(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")])).is_ok());
        let error = check_protocol(with(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")])).unwrap_err();
        assert!(
            error.to_string().contains("OTEL_EXPORTER_OTLP_PROTOCOL=grpc"),
            "{error}"
        );
        assert!(error.to_string().contains("4318"), "{error}");
        assert!(check_protocol(with(&[("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json")])).is_err());
    }
}

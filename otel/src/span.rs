//! The invocation span as OpenTelemetry sees it: the hooks dispatch calls (see
//! [`azfn_core::dispatch::SpanHooks`]), following the .NET isolated worker's schema 1.37.0
//! invocation activity.

use std::collections::HashMap;

use azfn_core::{Invocation, InvocationError, Outputs};
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::Status;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The schema the attributes follow, as the .NET worker's `schema.url` attribute says it.
pub(crate) const SCHEMA_URL: &str = "https://opentelemetry.io/schemas/1.37.0";

/// The trace attribute the host uses for its instance id (the .NET worker reads the same key
/// into `faas.instance`).
const HOST_INSTANCE_ID: &str = "HostInstanceId";

/// Names the span `function <Name>`, parents it on the host's trace context and sets the FaaS
/// attributes. Runs before the span is first entered, while `tracing-opentelemetry` still lets
/// its parent change.
pub(crate) fn started(span: &tracing::Span, invocation: &Invocation) {
    let function = invocation.function;
    span.record("otel.name", format!("function {}", function.name));
    if let Some(trace) = &invocation.trace {
        let parent = TraceContextPropagator::new().extract(&carrier(&trace.trace_parent, &trace.trace_state));
        // Refused only when no OpenTelemetry layer sees the span; then there is nothing to parent.
        let _ = span.set_parent(parent);
        if let Some(instance) = trace.attributes.get(HOST_INSTANCE_ID).filter(|id| !id.is_empty()) {
            span.set_attribute("faas.instance", instance.clone());
        }
    }
    span.set_attribute("schema.url", SCHEMA_URL);
    span.set_attribute("faas.invocation_id", invocation.invocation_id.clone());
    span.set_attribute("faas.name", function.name);
    span.set_attribute("faas.trigger", faas_trigger(function.trigger().kind.json_type));
}

/// Sets the span's status: Error with the failure's description for a failed invocation (an
/// `Err`, a panic, a timeout) and for a cancelled one; otherwise left Unset, as the .NET worker
/// leaves a successful activity.
pub(crate) fn finished(span: &tracing::Span, result: &Result<Outputs, InvocationError>, cancelled: bool) {
    match result {
        Err(error) if cancelled => span.set_status(Status::error(format!("cancelled: {error}"))),
        Err(error) => span.set_status(Status::error(error.to_string())),
        Ok(_) if cancelled => span.set_status(Status::error("cancelled")),
        Ok(_) => {}
    }
}

/// The two W3C headers, as the propagator reads them.
fn carrier(trace_parent: &str, trace_state: &str) -> HashMap<String, String> {
    let mut carrier = HashMap::with_capacity(2);
    carrier.insert("traceparent".to_owned(), trace_parent.to_owned());
    if !trace_state.is_empty() {
        carrier.insert("tracestate".to_owned(), trace_state.to_owned());
    }
    carrier
}

/// `faas.trigger` of the semantic conventions (`http`, `pubsub`, `datasource`, `timer`,
/// `other`) for a trigger's `function.json` type. (The host's own span uses `http` or the
/// binding type as it is.)
pub(crate) fn faas_trigger(json_type: &str) -> &'static str {
    match json_type {
        "httpTrigger" => "http",
        "timerTrigger" => "timer",
        "queueTrigger" | "serviceBusTrigger" | "eventHubTrigger" | "eventGridTrigger" | "kafkaTrigger"
        | "rabbitMQTrigger" => "pubsub",
        "blobTrigger" | "cosmosDBTrigger" | "sqlTrigger" | "mysqlTrigger" => "datasource",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_map_to_the_semantic_conventions_values() {
        assert_eq!(faas_trigger("httpTrigger"), "http");
        assert_eq!(faas_trigger("timerTrigger"), "timer");
        assert_eq!(faas_trigger("queueTrigger"), "pubsub");
        assert_eq!(faas_trigger("blobTrigger"), "datasource");
        assert_eq!(faas_trigger("orchestrationTrigger"), "other");
    }
}

//! The bodies of the fuzz targets, shared by `cargo fuzz` (fuzz/fuzz_targets/) and by the
//! stable smoke test of the suite (runtime/tests/fuzz_smoke.rs), so both exercise the same code.
//!
//! Each target takes arbitrary bytes and must never panic; where a parse succeeds, what it
//! produced is used further (encoded, matched, stepped) to reach deeper code.

use azfn::bindings::route::parse_route;
use azfn::bindings::schedule::{CivilTime, TimerSchedule, parse_timer_schedule};
use azfn::bindings::{BindingDescription, DataType, PropertyValue, catalog};
use azfn::{BindingData, FunctionDescription, Invocation, InvocationError, InvokeFuture, Outputs};

fn never_invoked(_: Invocation) -> InvokeFuture {
    Box::pin(async { Err(InvocationError::MalformedRequest("not invoked by fuzzing".into())) })
}

static HTTP_WITH_INPUTS: [BindingDescription; 4] = [
    BindingDescription {
        kind: &catalog::HTTP_TRIGGER,
        name: "req",
        data_type: None,
        properties: &[("route", PropertyValue::Str("items/{id}"))],
    },
    BindingDescription {
        kind: &catalog::BLOB_INPUT,
        name: "text",
        data_type: Some(DataType::String),
        properties: &[],
    },
    BindingDescription {
        kind: &catalog::BLOB_INPUT,
        name: "raw",
        data_type: Some(DataType::Binary),
        properties: &[],
    },
    BindingDescription {
        kind: &catalog::QUEUE_OUTPUT,
        name: "out",
        data_type: None,
        properties: &[],
    },
];

static HTTP_FUNCTION: FunctionDescription = FunctionDescription {
    name: "fuzzed",
    rust_path: "fuzz::fuzzed",
    location: (file!(), line!()),
    bindings: &HTTP_WITH_INPUTS,
    return_bindings: &[],
    retry: None,
    streams_request_body: false,
    invoke: never_invoked,
};

static QUEUE_BINDINGS: [BindingDescription; 1] = [BindingDescription {
    kind: &catalog::QUEUE_TRIGGER,
    name: "message",
    data_type: Some(DataType::String),
    properties: &[],
}];

static QUEUE_FUNCTION: FunctionDescription = FunctionDescription {
    name: "queued",
    rust_path: "fuzz::queued",
    location: (file!(), line!()),
    bindings: &QUEUE_BINDINGS,
    return_bindings: &[],
    retry: None,
    streams_request_body: false,
    invoke: never_invoked,
};

/// Decodes an invocation request body, then reads every value as the common parameter types
/// and sends the values back through the response encoder.
pub fn invocation_payload(data: &[u8]) {
    for function in [&HTTP_FUNCTION, &QUEUE_FUNCTION] {
        let Ok(invocation) = azfn::custom_handler::protocol::decode_request(function, "fuzz".into(), data) else {
            continue;
        };
        // What is accepted is JSON that serde_json::Value reads, so metadata kept as text and
        // read on first use can always be read.
        let body = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
        assert!(
            serde_json::from_slice::<serde_json::Value>(body).is_ok(),
            "accepted a body serde_json::Value refuses"
        );
        let mut outputs = Outputs::default();
        for value in invocation.data.values() {
            let _ = value.decode::<String>();
            let _ = value.decode::<Vec<u8>>();
            let _ = value.decode::<serde_json::Value>();
            let _ = value.decode::<Option<u64>>();
            let _ = value.decode::<Vec<String>>();
            if let BindingData::Http(request) = value {
                let _ = request.json::<serde_json::Value>();
                outputs.return_value = Some(azfn::OutputValue::Http(
                    azfn::HttpResponse::ok().bytes(request.body().to_vec()),
                ));
            }
            outputs.set("out", Some(azfn::OutputValue::Json(value.to_json())));
        }
        let _ = azfn::QueueTriggerMetadata::from_metadata(&invocation.metadata);
        let _ = azfn::BlobTriggerMetadata::from_metadata(&invocation.metadata);
        let _ = azfn::custom_handler::protocol::encode_response(function, &outputs);
    }
}

/// Parses a route template; the first line of the input is the template, the rest a path to
/// match against it.
pub fn route_template(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (template, path) = text.split_once('\n').unwrap_or((&text, "a/b/1"));
    if let Ok(route) = parse_route(template) {
        let _ = route.parameters().count();
        let _ = route.match_path(path);
    }
}

/// Parses a timer schedule and, for NCRONTAB ones, steps to the next occurrences.
pub fn timer_schedule(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(TimerSchedule::Cron(schedule)) = parse_timer_schedule(&text) {
        let seed = data
            .iter()
            .fold(0i64, |acc, &b| acc.wrapping_mul(31).wrapping_add(i64::from(b)));
        let mut time = CivilTime::from_unix(seed.rem_euclid(4_000_000_000));
        for _ in 0..3 {
            match schedule.next_after(&time) {
                Some(next) => {
                    assert!(next > time, "next_after must move forward");
                    assert!(schedule.matches(&next), "next_after must land on a match");
                    time = next;
                }
                None => break,
            }
        }
    }
}

/// An orchestrator that asks for every kind of durable task, so that any history finds
/// something to complete, fail or contradict.
#[cfg(feature = "durable")]
async fn every_task(ctx: azfn::durable::OrchestrationContext) -> Result<serde_json::Value, azfn::Error> {
    use std::time::Duration;

    use azfn::durable::orchestration::{Either, EntityId, RetryPolicy, select, when_all, when_any};

    let input: Option<serde_json::Value> = ctx.input().unwrap_or_default();
    let _ = ctx.new_guid();
    ctx.set_custom_status(&input)?;
    let first = ctx.call_activity::<String, _>("First", &input).await;
    let policy = RetryPolicy::new(3, Duration::from_secs(5));
    let retried = ctx.call_activity_with_retry::<u32, _>("Flaky", &1, policy).await;
    let fanned = when_all((0..3).map(|i| ctx.call_activity::<u32, _>("Fan", &i))).await;
    let timer = ctx.create_timer_after(Duration::from_secs(3600));
    let approval = ctx.wait_for_external_event::<bool>("Approval");
    let approved = match select(approval, timer).await {
        Either::Left(answer) => answer.unwrap_or(false),
        Either::Right(_) => false,
    };
    let counter = EntityId::new("Counter", "c1");
    let count = ctx.call_entity::<i64, _>(&counter, "add", &1).await;
    ctx.signal_entity(&counter, "reset", &())?;
    let children = when_any([
        ctx.call_sub_orchestrator::<String, _>("Child", &input),
        ctx.call_sub_orchestrator::<String, _>("Other", &()),
    ])
    .await;
    if approved && input.is_some() {
        ctx.continue_as_new(&serde_json::Value::Null)?;
    }
    Ok(serde_json::json!({
        "first": first.ok(),
        "retried": retried.ok(),
        "fanned": fanned.into_iter().filter_map(Result::ok).collect::<Vec<_>>(),
        "approved": approved,
        "count": count.ok(),
        "children": children.1.ok(),
    }))
}

/// Any `OrchestratorRequest` (protobuf bytes, as the Durable extension sends them): the replay
/// engine answers with a response that encodes, and never panics.
#[cfg(feature = "durable")]
pub fn durable_history(data: &[u8]) {
    use azfn::durable::orchestration::run_orchestrator;
    use azfn::durable::proto::{OrchestratorRequest, OrchestratorResponse};
    use prost::Message as _;

    let Ok(request) = OrchestratorRequest::decode(data) else {
        return;
    };
    let response = run_orchestrator(&request, every_task);
    let encoded = response.encode_to_vec();
    assert!(
        OrchestratorResponse::decode(encoded.as_slice()).is_ok(),
        "the response decodes"
    );
}

/// Any `EntityBatchRequest` (protobuf bytes): the entity runs every operation of the batch
/// and answers one result per operation (or fails the batch as a whole, as for a state it
/// cannot read), never panicking.
#[cfg(feature = "durable")]
pub fn durable_entity_batch(data: &[u8]) {
    use azfn::durable::entity::run_entity_batch;
    use azfn::durable::proto::EntityBatchRequest;
    use prost::Message as _;

    let Ok(request) = EntityBatchRequest::decode(data) else {
        return;
    };
    let result = run_entity_batch(&request, |ctx: &mut azfn::durable::EntityContext<i64>| {
        match ctx.operation() {
            "add" => {
                let amount: i64 = ctx.input()?;
                let sum = ctx
                    .state()
                    .checked_add(amount)
                    .ok_or_else(|| azfn::Error::msg("overflow"))?;
                ctx.set_state(sum);
                Ok(sum)
            }
            "reset" => {
                ctx.delete_state();
                Ok(0)
            }
            "get" => Ok(*ctx.state()),
            _ => Err(ctx.unknown_operation()),
        }
    });
    assert!(
        result.results.len() == request.operations.len() || result.failure_details.is_some(),
        "one result per operation, or a failed batch"
    );
}

/// An HTTP function for the gRPC target: echoes the body, fails on an empty one.
#[cfg(feature = "native")]
#[azfn::function(http_trigger(route = "echo", methods = "post", auth_level = "anonymous"))]
async fn fuzz_echo(request: azfn::HttpRequest) -> azfn::Result<azfn::HttpResponse> {
    if request.body().is_empty() {
        return Err(azfn::Error::msg("an empty body"));
    }
    Ok(azfn::HttpResponse::ok().bytes(request.body().to_vec()))
}

/// A queue function for the gRPC target: reads the message as JSON, and fails on `null`.
#[cfg(feature = "native")]
#[azfn::function(queue_trigger(queue_name = "fuzz"))]
async fn fuzz_queue(message: serde_json::Value) -> azfn::Result<()> {
    if message.is_null() {
        return Err(azfn::Error::msg("a null message"));
    }
    Ok(())
}

/// Any bytes as the host's half of the gRPC `EventStream` (frames of `StreamingMessage`s): the
/// worker never panics, and every invocation it was asked for is answered.
#[cfg(feature = "native")]
pub fn worker_stream(data: &[u8]) {
    use azfn::native::proto::streaming_message::Content;

    let registry = azfn::Registry::global().expect("the fuzz functions have distinct names");
    let exchange = azfn::native::offline::exchange(registry, data);
    for message in &exchange.handled {
        let Some(Content::InvocationRequest(request)) = &message.content else {
            continue;
        };
        let answered = exchange.answers.iter().any(|answer| {
            matches!(&answer.content, Some(Content::InvocationResponse(response))
                if response.invocation_id == request.invocation_id)
        });
        assert!(answered, "invocation {:?} got no answer", request.invocation_id);
    }
}

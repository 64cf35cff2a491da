//! Orchestrations: durable, replayed async functions that call activities, wait on timers and
//! events, start sub-orchestrations and talk to entities.
//!
//! An orchestrator is an `async fn(OrchestrationContext) -> Result<T, azfn::Error>`. Each time
//! something it waits on happens, the Durable extension sends the instance's history
//! ([`OrchestratorRequest`]) and [`run_orchestrator`] runs the function again from the start,
//! *replaying*: tasks whose outcome is already in the history finish at once, and the first
//! task without an outcome makes the orchestrator wait. What the code scheduled that the
//! history does not hold yet goes back to the extension as actions ([`OrchestratorResponse`]).
//!
//! ```
//! use azfn::durable::orchestration::{OrchestrationContext, when_all};
//!
//! async fn fan_out(ctx: OrchestrationContext) -> Result<u64, azfn::Error> {
//!     let items: Vec<String> = ctx.input()?;
//!     let sizes = when_all(items.iter().map(|i| ctx.call_activity::<u64, _>("Measure", i))).await;
//!     let mut total = 0;
//!     for size in sizes {
//!         total += size?;
//!     }
//!     ctx.call_activity::<(), _>("Report", &total).await?;
//!     Ok(total)
//! }
//! ```
//!
//! # What an orchestrator must not do
//!
//! Because the code runs again on every replay and must take the same path each time, an
//! orchestrator must be **deterministic**:
//!
//! - **No clock**: don't read `SystemTime::now()` / `Instant::now()`; use
//!   [`OrchestrationContext::current_utc_time`].
//! - **No randomness**: no `rand`, no random UUIDs; use [`OrchestrationContext::new_guid`].
//! - **No I/O**: no HTTP, files, databases, environment variables or configuration that may
//!   change; do all of that in activities.
//! - **Await only durable tasks**: no `tokio::time::sleep` (use
//!   [`create_timer_after`](OrchestrationContext::create_timer_after)), no channels, locks,
//!   `tokio::spawn` or threads. The engine polls the orchestrator itself, without an async
//!   runtime; if a poll ends waiting on something that is not a durable task, the instance
//!   fails with error type `NonDurableAwait` rather than hanging forever (in every build: such
//!   an instance could never be woken again).
//! - **No side effects that must happen once**: logging included — use
//!   [`OrchestrationContext::log`], which is silent while replaying.
//! - **Don't change running code**: a code change that reorders or renames calls makes the
//!   history disagree with the code; the instance then fails with error type
//!   `NonDeterministicOrchestration`. Deploy changed orchestrators under a new name, or drain
//!   running instances first.
//! - **Don't block**: no `std::thread::sleep`, no busy loops; an episode should take
//!   milliseconds.
//!
//! Panics are caught: the instance fails with the panic message.
//!
//! # Semantics chosen where the references differ
//!
//! - Task ids start at 0 in each execution and are taken in call order: every method that
//!   schedules work records it when called (the returned task need not be polled first).
//!   Retry timers and later attempts, and the later parts of long timers, take their ids when
//!   the orchestrator observes the previous step, which is the same on every replay.
//! - External events: names compare case-insensitively; several waiters on one name are served
//!   FIFO (the .NET, JS and Python SDKs serve the newest waiter first); events that arrive with
//!   no waiter are kept, oldest first, and carried over by `continue_as_new` unless discarded.
//! - Timers longer than [`RunOptions::maximum_timer_interval`] (3 days by default) are split
//!   into several durable timers, as the .NET SDK does.
//! - The default sub-orchestration instance id is `"<parent id>:<task id as 4 hex digits>"`.
//! - Entity calls and signals go out as `sendEvent` actions in the extension's legacy request
//!   format, the only form extension 2.13 accepts over the passthrough protocol.
//! - Critical sections ([`OrchestrationContext::lock_entities`]) lock their entities sorted by
//!   name then key in byte order (.NET compares culture-aware); a signal that breaks the locking
//!   rules fails the orchestration, since `signal_entity` has no such error to return.

// The modules import one another one way only (`ui-tests/tests/module_graph.rs` checks it): `state` (the replay
// state, its slot table and the future of one slot) is below `task` (the futures an
// orchestrator awaits), which is below `context` (the `OrchestrationContext` API), which is
// below `replay` (the engine); `critical` (critical sections) sits between `task` and
// `context`, and `typed` (the calls checked by the compiler) above `context`. `entity_id`,
// `entity_message` and `guid` are leaves; `combinators` stands alone.
mod combinators;
mod context;
mod critical;

mod entity_id;
mod entity_message;
pub(crate) mod guid;
mod http;
mod replay;
mod state;
mod task;
mod typed;

/// What a durable task ended with: its JSON result text (absent for `null`), or why it failed.
pub(crate) type Outcome = Result<Option<String>, crate::proto::TaskFailureDetails>;

use base64::Engine as _;
use prost::Message as _;

pub use combinators::{
    Either, Join, Select, TryWhenAll, WhenAll, WhenAny, join, select, try_when_all, when_all, when_any,
};
pub use context::{OrchestrationContext, ReplaySafeLogger, SubOrchestratorOptions};
pub use critical::{CriticalSection, LockTask};
pub use entity_id::{EntityId, ParseEntityIdError};
pub use http::{DurableHttpRequest, DurableHttpResponse, HttpRetry, TokenSource};
pub use replay::{RunOptions, run_orchestrator, run_orchestrator_with};
pub use task::{DurableTask, RetryPolicy, TaskFailed, TimerTask};
pub use typed::{Activity, DurableInput, Entity, Operation, Orchestration, OrchestrationFuture};

use crate::proto::{HistoryEvent, OrchestratorRequest, OrchestratorResponse};

/// Decodes the orchestration trigger's value: base64 (standard alphabet, as the extension
/// writes it) of a protobuf [`OrchestratorRequest`].
///
/// ```
/// use azfn::durable::orchestration::{decode_request, encode_response};
/// use azfn::durable::proto::OrchestratorRequest;
/// use base64::Engine;
/// use prost::Message;
///
/// let request = OrchestratorRequest { instance_id: "i1".into(), ..Default::default() };
/// let text = base64::engine::general_purpose::STANDARD.encode(request.encode_to_vec());
/// assert_eq!(decode_request(&text).unwrap(), request);
/// assert!(decode_request("not base64!").is_err());
/// ```
pub fn decode_request(base64_text: &str) -> Result<OrchestratorRequest, azfn_core::Error> {
    let bytes = base64_simd::STANDARD
        .decode_to_vec(base64_text.trim())
        .map_err(|_| azfn_core::Error::msg("the orchestrator request is not base64 (standard alphabet, padded)"))?;
    let not_protobuf = |e: prost::DecodeError| {
        azfn_core::Error::msg(format!(
            "the orchestrator request is not a protobuf OrchestratorRequest: {e}"
        ))
    };
    match decode_history_in_place(&bytes) {
        Some(request) => Ok(request),
        // Malformed somewhere: prost decodes it again, whole, for its own error (or result).
        None => OrchestratorRequest::decode(bytes.as_slice()).map_err(not_protobuf),
    }
}

/// Decodes an `OrchestratorRequest` as prost does, but each history event in its final place.
///
/// prost's generated decoder builds every element of a repeated message field on the stack and
/// then moves it into the vector: a copy of a whole `HistoryEvent` (a few hundred bytes) per
/// event, a tenth of a fan-out's episode (BENCHMARKS.md, "Session 8"). Here the top-level
/// fields are walked by hand: a history event is pushed as a default value and merged where it
/// lies; any other field is merged by prost alone. Merging field by field gives what decoding
/// the whole gives (protobuf's merge is concatenation). `None` if the bytes are malformed
/// (the caller lets prost report it).
fn decode_history_in_place(bytes: &[u8]) -> Option<OrchestratorRequest> {
    // The history's vectors get their final length first, empty events that are then merged
    // in order (grown one push at a time, they copied every event about twice over:
    // BENCHMARKS.md, "Durable replay").
    let (past, new) = history_lengths(bytes);
    let mut request = OrchestratorRequest::default();
    request.past_events.resize_with(past, HistoryEvent::default);
    request.new_events.resize_with(new, HistoryEvent::default);
    let (mut past_merged, mut new_merged) = (0, 0);
    let mut rest = bytes;
    while !rest.is_empty() {
        let field = rest;
        let key = read_varint(&mut rest)?;
        let events = match key {
            // Field 3 (`pastEvents`) or 4 (`newEvents`), length-delimited.
            0x1a => Some((&mut request.past_events, &mut past_merged)),
            0x22 => Some((&mut request.new_events, &mut new_merged)),
            _ => None,
        };
        let length = match key & 7 {
            0 => read_varint(&mut rest).map(|_| 0)?,
            1 => 8,
            2 => usize::try_from(read_varint(&mut rest)?).ok()?,
            5 => 4,
            _ => return None,
        };
        if length > rest.len() {
            return None;
        }
        let (value, after) = rest.split_at(length);
        match events {
            Some((events, merged)) => {
                events.get_mut(*merged)?.merge(value).ok()?;
                *merged += 1;
            }
            None => {
                let whole_field = &field[..field.len() - after.len()];
                request.merge(whole_field).ok()?;
            }
        }
        rest = after;
    }
    (past_merged == past && new_merged == new).then_some(request)
}

/// Reads a protobuf varint off the front of `bytes`; `None` if they end first or it is longer
/// than 10 bytes.
fn read_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// How many `pastEvents` (field 3) and `newEvents` (field 4) an encoded `OrchestratorRequest`
/// holds, read from the top-level field keys alone. Only a capacity hint: malformed bytes stop
/// the count, and the decoding that follows reports them.
fn history_lengths(mut bytes: &[u8]) -> (usize, usize) {
    let varint = read_varint;
    let (mut past, mut new) = (0, 0);
    while let Some(key) = varint(&mut bytes) {
        let skip = match key & 7 {
            0 => varint(&mut bytes).map(|_| 0),
            1 => Some(8),
            2 => varint(&mut bytes).and_then(|length| usize::try_from(length).ok()),
            5 => Some(4),
            _ => None,
        };
        let Some(skip) = skip.filter(|skip| *skip <= bytes.len()) else {
            break;
        };
        bytes = &bytes[skip..];
        match key >> 3 {
            3 => past += 1,
            4 => new += 1,
            _ => {}
        }
    }
    (past, new)
}

/// Encodes an [`OrchestratorResponse`] as the orchestrator function's return value: base64
/// (standard alphabet) of the protobuf bytes.
///
/// ```
/// use azfn::durable::orchestration::encode_response;
/// use azfn::durable::proto::OrchestratorResponse;
///
/// let text = encode_response(&OrchestratorResponse { instance_id: "i1".into(), ..Default::default() });
/// assert_eq!(text, "CgJpMQ==");
/// ```
pub fn encode_response(response: &OrchestratorResponse) -> String {
    base64::engine::general_purpose::STANDARD.encode(response.encode_to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::history_event::EventType;
    use crate::proto::{ExecutionStartedEvent, TaskCompletedEvent, TaskScheduledEvent};

    fn request(past: usize, new: usize) -> Vec<u8> {
        OrchestratorRequest {
            instance_id: "i1".into(),
            past_events: vec![
                HistoryEvent {
                    event_id: 7,
                    ..Default::default()
                };
                past
            ],
            new_events: vec![HistoryEvent::default(); new],
            requires_history_streaming: true,
            ..Default::default()
        }
        .encode_to_vec()
    }

    #[test]
    fn decoding_events_in_place_gives_what_prost_gives() {
        let event = |event_id, event_type| HistoryEvent {
            event_id,
            timestamp: Some(azfn_wire::wkt::Timestamp {
                seconds: 1_780_000_000 + i64::from(event_id),
                nanos: 5,
            }),
            event_type: Some(event_type),
        };
        let first = OrchestratorRequest {
            instance_id: "i1".into(),
            execution_id: Some("e1".into()),
            past_events: vec![
                event(
                    -1,
                    EventType::ExecutionStarted(ExecutionStartedEvent {
                        name: "Fan".into(),
                        input: Some("3".into()),
                        ..Default::default()
                    }),
                ),
                event(
                    0,
                    EventType::TaskScheduled(TaskScheduledEvent {
                        name: "Step".into(),
                        input: Some("0".into()),
                        ..Default::default()
                    }),
                ),
            ],
            new_events: vec![event(
                -1,
                EventType::TaskCompleted(TaskCompletedEvent {
                    task_scheduled_id: 0,
                    result: Some("1".into()),
                }),
            )],
            requires_history_streaming: true,
            properties: [(
                "k".to_owned(),
                azfn_wire::wkt::Value {
                    kind: Some(azfn_wire::wkt::value::Kind::NumberValue(2.5)),
                },
            )]
            .into(),
            ..Default::default()
        };
        let second = OrchestratorRequest {
            instance_id: "i2".into(),
            past_events: vec![HistoryEvent::default()],
            new_events: vec![event(3, EventType::TaskScheduled(TaskScheduledEvent::default()))],
            ..Default::default()
        };
        // Two encodings one after the other: fields of both kinds interleaved, scalars repeated.
        let mut bytes = first.encode_to_vec();
        bytes.extend(second.encode_to_vec());
        let text = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let expected = OrchestratorRequest::decode(bytes.as_slice()).unwrap();
        assert_eq!(expected.past_events.len(), 3);
        assert_eq!(expected.instance_id, "i2");
        assert_eq!(decode_history_in_place(&bytes), Some(expected.clone()));
        assert_eq!(decode_request(&text).unwrap(), expected);
    }

    #[test]
    fn malformed_bytes_leave_the_in_place_decoding_to_prost() {
        let bytes = request(3, 2);
        for cut in 1..bytes.len() {
            let whole = OrchestratorRequest::decode(&bytes[..cut]).ok();
            let in_place = decode_history_in_place(&bytes[..cut]);
            assert!(in_place.is_none() || in_place == whole, "cut at {cut}");
            let text = base64::engine::general_purpose::STANDARD.encode(&bytes[..cut]);
            assert_eq!(decode_request(&text).ok(), whole, "cut at {cut}");
        }
        // A group (wire type 3) is valid protobuf the hand walk leaves to prost.
        let mut grouped = request(1, 0);
        grouped.extend([0x4b, 0x4c]);
        assert!(decode_history_in_place(&grouped).is_none());
        let text = base64::engine::general_purpose::STANDARD.encode(&grouped);
        assert_eq!(
            decode_request(&text).ok(),
            OrchestratorRequest::decode(grouped.as_slice()).ok()
        );
    }

    #[test]
    fn history_lengths_count_both_histories_past_other_fields() {
        assert_eq!(history_lengths(&request(3, 2)), (3, 2));
        assert_eq!(history_lengths(&request(0, 0)), (0, 0));
    }

    #[test]
    fn history_lengths_stop_at_malformed_bytes_and_decoding_reports_them() {
        let bytes = request(3, 2);
        for cut in 0..bytes.len() {
            let (past, new) = history_lengths(&bytes[..cut]);
            assert!(past <= 3 && new <= 2);
        }
        assert_eq!(history_lengths(&[0xff; 12]), (0, 0));
        let text = base64::engine::general_purpose::STANDARD.encode(&bytes[..bytes.len() - 1]);
        let error = decode_request(&text).unwrap_err().to_string();
        assert!(error.contains("not a protobuf OrchestratorRequest"), "{error}");
    }
}

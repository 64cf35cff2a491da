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

// The modules import one another one way only (`ui-tests/tests/module_graph.rs` checks it): `state` (the replay
// state, its slot table and the future of one slot) is below `task` (the futures an
// orchestrator awaits), which is below `context` (the `OrchestrationContext` API), which is
// below `replay` (the engine); `typed` (the calls checked by the compiler) is above
// `context`. `entity_id`, `entity_message` and `guid` are leaves; `combinators` stands alone.
mod combinators;
mod context;

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
pub use entity_id::{EntityId, ParseEntityIdError};
pub use http::{DurableHttpRequest, DurableHttpResponse, HttpRetry, TokenSource};
pub use replay::{RunOptions, run_orchestrator, run_orchestrator_with};
pub use task::{DurableTask, RetryPolicy, TaskFailed, TimerTask};
pub use typed::{Activity, DurableInput, Entity, Orchestration, OrchestrationFuture};

use crate::proto::{OrchestratorRequest, OrchestratorResponse};

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
    // The history's vectors get their final size first: grown one push at a time, they copied
    // every event about twice over (BENCHMARKS.md, "Durable replay").
    let (past, new) = history_lengths(&bytes);
    let mut request = OrchestratorRequest {
        past_events: Vec::with_capacity(past),
        new_events: Vec::with_capacity(new),
        ..OrchestratorRequest::default()
    };
    request.merge(bytes.as_slice()).map_err(|e| {
        azfn_core::Error::msg(format!(
            "the orchestrator request is not a protobuf OrchestratorRequest: {e}"
        ))
    })?;
    Ok(request)
}

/// How many `pastEvents` (field 3) and `newEvents` (field 4) an encoded `OrchestratorRequest`
/// holds, read from the top-level field keys alone. Only a capacity hint: malformed bytes stop
/// the count, and the decoding that follows reports them.
fn history_lengths(mut bytes: &[u8]) -> (usize, usize) {
    fn varint(bytes: &mut &[u8]) -> Option<u64> {
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
    use crate::proto::HistoryEvent;

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

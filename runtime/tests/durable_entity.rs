//! The entity engine: batches of operations run in order, each a transaction; the implicit
//! `delete`; signals and orchestration starts; panics; and the trigger value and return value as
//! the custom-handler host carries them.
#![cfg(feature = "durable")]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use azfn::durable::entity::{
    EntityContext, EntityId, decode_batch_request, encode_batch_result, run_entity_batch, run_entity_batch_async,
};
use azfn::durable::proto::TraceContext;
use azfn::durable::proto::{
    EntityBatchRequest, EntityBatchResult, OperationAction, OperationRequest, OperationResult, OperationResultFailure,
    OperationResultSuccess, SendSignalAction, StartNewOrchestrationAction, operation_action::OperationActionType,
    operation_result::ResultType,
};
use azfn::grpc::wkt::Timestamp;
use base64::Engine as _;
use prost::Message as _;
use serde::{Deserialize, Serialize};

fn op(operation: &str, input: Option<&str>) -> OperationRequest {
    OperationRequest {
        operation: operation.into(),
        request_id: format!("req-{operation}"),
        input: input.map(Into::into),
        trace_context: None,
    }
}

fn batch(instance_id: &str, state: Option<&str>, operations: Vec<OperationRequest>) -> EntityBatchRequest {
    EntityBatchRequest {
        instance_id: instance_id.into(),
        entity_state: state.map(Into::into),
        operations,
        ..Default::default()
    }
}

/// The result of each operation: `Ok(result JSON)` or `Err((error type, message))`.
fn outcomes(result: &EntityBatchResult) -> Vec<Result<Option<String>, (String, String)>> {
    result
        .results
        .iter()
        .map(|r| match r.result_type.as_ref().expect("a result") {
            ResultType::Success(s) => Ok(s.result.as_ref().map(|v| v.value.clone())),
            ResultType::Failure(f) => {
                let d = f.failure_details.as_ref().expect("failure details");
                Err((d.error_type.clone(), d.error_message.clone()))
            }
        })
        .collect()
}

fn state(result: &EntityBatchResult) -> Option<&str> {
    result.entity_state.as_ref().map(|s| s.value.as_str())
}

fn counter(ctx: &mut EntityContext<i64>) -> Result<Option<i64>, azfn::Error> {
    match ctx.operation() {
        "add" => {
            let amount: i64 = ctx.input()?;
            *ctx.state_mut() += amount;
            Ok(None)
        }
        "get" => Ok(Some(*ctx.state())),
        "reset" => {
            ctx.set_state(0);
            Ok(None)
        }
        "add_then_fail" => {
            *ctx.state_mut() += 100;
            ctx.signal_entity(&EntityId::new("audit", "x"), "record", "failed add")?;
            Err(azfn::Error::msg("the limit is 100"))
        }
        "add_then_panic" => {
            *ctx.state_mut() += 1000;
            ctx.start_new_orchestration("Never", (), None)?;
            panic!("counter overflowed");
        }
        _ => Err(ctx.unknown_operation()),
    }
}

#[test]
fn operations_run_in_order_on_the_stored_state() {
    let request = batch(
        "@counter@a",
        Some("5"),
        vec![
            op("add", Some("2")),
            op("get", None),
            op("add", Some("-10")),
            op("get", None),
        ],
    );
    let result = run_entity_batch(&request, counter);
    assert_eq!(
        outcomes(&result),
        [Ok(None), Ok(Some("7".into())), Ok(None), Ok(Some("-3".into()))]
    );
    assert_eq!(state(&result), Some("-3"));
    assert!(result.actions.is_empty());
    assert!(result.failure_details.is_none());
}

#[test]
fn every_result_has_start_and_end_times_in_order() {
    let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let result = run_entity_batch(
        &batch("@counter@a", None, vec![op("get", None), op("nope", None)]),
        counter,
    );
    let times = |r: &OperationResult| match r.result_type.clone().unwrap() {
        ResultType::Success(s) => (s.start_time_utc.unwrap(), s.end_time_utc.unwrap()),
        ResultType::Failure(f) => (f.start_time_utc.unwrap(), f.end_time_utc.unwrap()),
    };
    let mut previous_end = (0, 0);
    for r in &result.results {
        let (start, end) = times(r);
        assert!(start.seconds as u64 >= before, "{start:?}");
        assert!((start.seconds, start.nanos) <= (end.seconds, end.nanos));
        assert!(previous_end <= (start.seconds, start.nanos));
        previous_end = (end.seconds, end.nanos);
    }
}

#[test]
fn a_failed_operation_rolls_back_its_state_and_actions_only() {
    let request = batch(
        "@counter@a",
        Some("1"),
        vec![
            op("add", Some("1")),
            op("add_then_fail", None),
            op("get", None),
            op("add", Some("\"not a number\"")),
            op("add", None),
            op("get", None),
        ],
    );
    let result = run_entity_batch(&request, counter);
    let outcomes = outcomes(&result);
    assert_eq!(outcomes[0], Ok(None));
    assert_eq!(outcomes[1], Err(("Error".into(), "the limit is 100".into())));
    assert_eq!(outcomes[2], Ok(Some("2".into())), "the failed add is rolled back");
    let (kind, message) = outcomes[3].clone().unwrap_err();
    assert_eq!(kind, "Error");
    assert!(
        message.starts_with("operation `add` of entity `@counter@a` got its input it does not deserialize as i64"),
        "{message}"
    );
    let (_, message) = outcomes[4].clone().unwrap_err();
    assert!(
        message.contains("got no input, and it does not deserialize as i64"),
        "{message}"
    );
    assert_eq!(outcomes[5], Ok(Some("2".into())));
    assert_eq!(state(&result), Some("2"));
    assert!(result.actions.is_empty(), "the failed operation's signal is dropped");
}

#[test]
fn a_panic_fails_its_operation_and_the_batch_goes_on() {
    let request = batch(
        "@counter@a",
        None,
        vec![op("add", Some("3")), op("add_then_panic", None), op("get", None)],
    );
    let result = run_entity_batch(&request, counter);
    let outcomes = outcomes(&result);
    assert_eq!(
        outcomes[1],
        Err((
            "Panic".into(),
            "operation `add_then_panic` of entity `@counter@a` panicked: counter overflowed".into()
        ))
    );
    assert_eq!(outcomes[2], Ok(Some("3".into())));
    assert_eq!(state(&result), Some("3"));
    assert!(
        result.actions.is_empty(),
        "the panicking operation's orchestration is dropped"
    );
}

#[test]
fn delete_is_implicit_when_the_entity_does_not_handle_it() {
    let request = batch(
        "@counter@a",
        Some("9"),
        vec![op("get", None), op("Delete", None), op("get", None)],
    );
    let result = run_entity_batch(&request, counter);
    assert_eq!(
        outcomes(&result),
        [Ok(Some("9".into())), Ok(None), Ok(Some("0".into()))]
    );
    assert_eq!(
        state(&result),
        None,
        "reading after the delete does not recreate the entity"
    );

    // Recreated after the delete by a change.
    let request = batch("@counter@a", Some("9"), vec![op("delete", None), op("add", Some("4"))]);
    assert_eq!(state(&run_entity_batch(&request, counter)), Some("4"));

    // Other unknown operations fail, and say so.
    let result = run_entity_batch(&batch("@counter@a", Some("9"), vec![op("frobnicate", None)]), counter);
    assert_eq!(
        outcomes(&result),
        [Err((
            "UnknownOperation".into(),
            "entity `@counter@a` has no operation `frobnicate`".into()
        ))]
    );
    assert_eq!(state(&result), Some("9"));
}

#[test]
fn an_entity_may_handle_delete_itself() {
    fn guarded(ctx: &mut EntityContext<Vec<String>>) -> Result<(), azfn::Error> {
        match ctx.operation() {
            "push" => {
                let item = ctx.input()?;
                ctx.state_mut().push(item);
            }
            "delete" if ctx.state().is_empty() => ctx.delete_state(),
            "delete" => return Err(azfn::Error::msg("not empty")),
            _ => return Err(ctx.unknown_operation()),
        }
        Ok(())
    }
    let request = batch("@list@k", None, vec![op("push", Some("\"a\"")), op("delete", None)]);
    let result = run_entity_batch(&request, guarded);
    assert_eq!(outcomes(&result)[1], Err(("Error".into(), "not empty".into())));
    assert_eq!(state(&result), Some(r#"["a"]"#));

    let result = run_entity_batch(&batch("@list@k", Some("[]"), vec![op("delete", None)]), guarded);
    assert_eq!(state(&result), None);
}

#[test]
fn an_absent_state_is_the_default_and_reading_it_creates_nothing() {
    #[derive(Serialize, Deserialize, Default, PartialEq, Debug)]
    struct Profile {
        name: String,
        visits: u32,
    }
    fn profile(ctx: &mut EntityContext<Profile>) -> Result<serde_json::Value, azfn::Error> {
        match ctx.operation() {
            "visit" => ctx.state_mut().visits += 1,
            "exists" => return Ok(ctx.has_state().into()),
            _ => {}
        }
        Ok(serde_json::to_value(ctx.state())?)
    }
    let result = run_entity_batch(
        &batch("@profile@p", None, vec![op("exists", None), op("read", None)]),
        profile,
    );
    assert_eq!(
        outcomes(&result),
        [Ok(Some("false".into())), Ok(Some(r#"{"name":"","visits":0}"#.into()))]
    );
    assert_eq!(state(&result), None);

    let result = run_entity_batch(&batch("@profile@p", Some(""), vec![op("visit", None)]), profile);
    assert_eq!(state(&result), Some(r#"{"name":"","visits":1}"#));
}

#[test]
fn a_state_that_does_not_deserialize_fails_each_operation_and_is_kept() {
    let request = batch(
        "@counter@a",
        Some("\"eleven\""),
        vec![op("get", None), op("reset", None)],
    );
    let result = run_entity_batch(&request, counter);
    for outcome in outcomes(&result) {
        let (kind, message) = outcome.unwrap_err();
        assert_eq!(kind, "StateDeserializationError");
        assert!(
            message.starts_with("the state of entity `@counter@a` does not deserialize as i64"),
            "{message}"
        );
    }
    assert_eq!(state(&result), Some("\"eleven\""));
}

#[test]
fn a_state_serialized_as_null_is_no_state() {
    fn optional(ctx: &mut EntityContext<Option<u8>>) {
        let value: Option<u8> = ctx.input().unwrap_or(None);
        ctx.set_state(value);
    }
    let result = run_entity_batch(&batch("@opt@k", Some("1"), vec![op("set", None)]), optional);
    assert_eq!(state(&result), None);
    let result = run_entity_batch(&batch("@opt@k", None, vec![op("set", Some("2"))]), optional);
    assert_eq!(state(&result), Some("2"));
}

#[test]
fn an_instance_id_that_is_not_an_entity_fails_the_whole_batch() {
    let result = run_entity_batch(&batch("counter", Some("1"), vec![op("get", None)]), counter);
    let details = result.failure_details.clone().expect("batch failure");
    assert_eq!(details.error_type, "InvalidEntityId");
    assert!(details.error_message.contains("`counter` is not an entity instance id"));
    assert!(result.results.is_empty());
    assert_eq!(state(&result), Some("1"), "the state is left as it was");
}

#[test]
fn signals_and_orchestration_starts_become_actions_of_successful_operations() {
    let at = UNIX_EPOCH + Duration::from_secs(2_000_000_000);
    let mut started = Vec::new();
    let mut scheduler = |ctx: &mut EntityContext<u32>| -> Result<(), azfn::Error> {
        *ctx.state_mut() += 1;
        let total = EntityId::new("Counter", "total");
        ctx.signal_entity(&total, "add", 1)?;
        ctx.signal_entity_at(&total, "reset", (), at)?;
        started.push(ctx.start_new_orchestration("Report", serde_json::json!({"n": ctx.state()}), None)?);
        started.push(ctx.start_new_orchestration("Named", (), Some("fixed-id"))?);
        if ctx.operation() == "fail" {
            return Err(azfn::Error::msg("no"));
        }
        Ok(())
    };
    let mut first = op("go", None);
    first.trace_context = Some(TraceContext {
        trace_parent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into(),
        ..Default::default()
    });
    let request = batch("@scheduler@s", None, vec![first, op("fail", None), op("go", None)]);
    let result = run_entity_batch(&request, &mut scheduler);

    assert_eq!(
        outcomes(&result),
        [Ok(None), Err(("Error".into(), "no".into())), Ok(None)]
    );
    assert_eq!(result.actions.len(), 8, "four actions from each successful operation");
    assert_eq!(
        result.actions.iter().map(|a| a.id).collect::<Vec<_>>(),
        (0..8).collect::<Vec<_>>()
    );

    let Some(OperationActionType::SendSignal(signal)) = &result.actions[0].operation_action_type else {
        panic!("a signal first: {:?}", result.actions[0]);
    };
    assert_eq!(signal.instance_id, "@counter@total");
    assert_eq!(signal.name, "add");
    assert_eq!(signal.input.as_ref().unwrap().value, "1");
    assert!(signal.scheduled_time.is_none());
    assert!(signal.request_time.is_some());
    assert_eq!(
        signal.parent_trace_context.as_ref().unwrap().trace_parent,
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    );
    let Some(OperationActionType::SendSignal(scheduled)) = &result.actions[1].operation_action_type else {
        panic!("a scheduled signal second");
    };
    assert_eq!((scheduled.name.as_str(), scheduled.input.as_ref()), ("reset", None));
    assert_eq!(
        scheduled.scheduled_time,
        Some(Timestamp {
            seconds: 2_000_000_000,
            nanos: 0
        })
    );

    let Some(OperationActionType::StartNewOrchestration(report)) = &result.actions[2].operation_action_type else {
        panic!("an orchestration third");
    };
    assert_eq!(report.name, "Report");
    assert_eq!(report.input.as_ref().unwrap().value, r#"{"n":1}"#);
    assert_eq!(report.instance_id, started[0]);
    assert_eq!(report.instance_id.len(), 32);
    assert!(report.instance_id.chars().all(|c| c.is_ascii_hexdigit()));
    let Some(OperationActionType::StartNewOrchestration(named)) = &result.actions[3].operation_action_type else {
        panic!("an orchestration fourth");
    };
    assert_eq!(named.instance_id, "fixed-id");

    // The third operation's actions follow; it saw the state without the failed increment.
    let Some(OperationActionType::StartNewOrchestration(second_report)) = &result.actions[6].operation_action_type
    else {
        panic!("an orchestration seventh");
    };
    assert_eq!(second_report.input.as_ref().unwrap().value, r#"{"n":2}"#);
    assert_eq!(second_report.instance_id, started[4]);
    assert!(second_report.parent_trace_context.is_none());
    assert_eq!(state(&result), Some("2"));
}

#[test]
fn every_return_shape_works() {
    let request = batch("@any@k", None, vec![op("x", None)]);
    let only = |result: EntityBatchResult| outcomes(&result).remove(0);

    assert_eq!(
        only(run_entity_batch(&request, |_: &mut EntityContext<u8>| ())),
        Ok(None)
    );
    assert_eq!(
        only(run_entity_batch(&request, |_: &mut EntityContext<u8>| "text")),
        Ok(Some("\"text\"".into()))
    );
    assert_eq!(
        only(run_entity_batch(&request, |_: &mut EntityContext<u8>| None::<u8>)),
        Ok(None)
    );
    assert_eq!(
        only(run_entity_batch(&request, |_: &mut EntityContext<u8>| Ok::<
            _,
            azfn::Error,
        >(()))),
        Ok(None)
    );
    assert_eq!(
        only(run_entity_batch(&request, |_: &mut EntityContext<u8>| {
            Ok::<_, std::io::Error>(vec![1, 2])
        })),
        Ok(Some("[1,2]".into()))
    );
    assert_eq!(
        only(run_entity_batch(&request, |_: &mut EntityContext<u8>| {
            Err::<u8, _>(std::io::Error::other("disk"))
        })),
        Err(("Error".into(), "disk".into()))
    );
}

#[test]
fn a_batch_result_has_exactly_the_protocol_shape() {
    let request = batch(
        "@counter@a",
        Some("1"),
        vec![op("add", Some("2")), op("add_then_fail", None), op("get", None)],
    );
    let mut result = run_entity_batch(&request, counter);
    // Times vary; everything else is fixed.
    for r in &mut result.results {
        match r.result_type.as_mut().unwrap() {
            ResultType::Success(s) => (s.start_time_utc, s.end_time_utc) = (None, None),
            ResultType::Failure(f) => (f.start_time_utc, f.end_time_utc) = (None, None),
        }
    }
    let expected = EntityBatchResult {
        results: vec![
            OperationResult {
                result_type: Some(ResultType::Success(OperationResultSuccess::default())),
            },
            OperationResult {
                result_type: Some(ResultType::Failure(OperationResultFailure {
                    failure_details: Some(azfn::durable::proto::TaskFailureDetails {
                        error_type: "Error".into(),
                        error_message: "the limit is 100".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                })),
            },
            OperationResult {
                result_type: Some(ResultType::Success(OperationResultSuccess {
                    result: Some("3".into()),
                    ..Default::default()
                })),
            },
        ],
        entity_state: Some("3".into()),
        ..Default::default()
    };
    assert_eq!(result, expected);
    // Field by field: results (1) × 3, then entityState (3).
    assert_eq!(
        encode_batch_result(&result),
        base64::engine::general_purpose::STANDARD.encode(
            [
                &[0x0a, 2, 0x0a, 0][..],
                &[0x0a, 29, 0x12, 27, 0x0a, 25, 0x0a, 5],
                b"Error",
                &[0x12, 16],
                b"the limit is 100",
                &[0x0a, 7, 0x0a, 5, 0x0a, 3, 0x0a, 1, b'3'],
                &[0x1a, 3, 0x0a, 1, b'3'],
            ]
            .concat()
        )
    );
}

/// The host sends the trigger value as a JSON string inside `Data`, encoded twice (as
/// `runtime/src/custom_handler/mod.rs` describes for every value but the HTTP request), and
/// takes the return value as a JSON string.
#[test]
fn the_trigger_value_and_return_value_round_trip_as_the_host_carries_them() {
    let request = batch(
        "@counter@user-1",
        Some("10"),
        vec![op("add", Some("5")), op("get", None)],
    );
    let base64 = base64::engine::general_purpose::STANDARD.encode(request.encode_to_vec());
    let body = serde_json::json!({
        "Data": { "ctx": serde_json::to_string(&base64).unwrap() },
        "Metadata": { "sys": { "MethodName": "counter" } },
    })
    .to_string();

    // The worker reads the body, takes `Data.ctx` (still quoted), and decodes.
    let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
    let value = parsed["Data"]["ctx"].as_str().unwrap();
    assert!(value.starts_with('"'));
    let decoded = decode_batch_request(value).unwrap();
    assert_eq!(decoded, request);
    assert_eq!(decode_batch_request(&base64).unwrap(), request, "unquoted too");

    let result = run_entity_batch(&decoded, counter);
    let reply = serde_json::json!({ "ReturnValue": encode_batch_result(&result) }).to_string();

    // The extension base64-decodes the string ReturnValue and parses an EntityBatchResult.
    let reply: serde_json::Value = serde_json::from_str(&reply).unwrap();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(reply["ReturnValue"].as_str().unwrap())
        .unwrap();
    let back = EntityBatchResult::decode(bytes.as_slice()).unwrap();
    assert_eq!(back, result);
    assert_eq!(outcomes(&back), [Ok(None), Ok(Some("15".into()))]);
    assert_eq!(state(&back), Some("15"));

    assert!(
        decode_batch_request("\"bm90IGEgbWVzc2FnZQ==\"").is_err(),
        "base64, not protobuf"
    );
    assert!(decode_batch_request("\"unterminated").is_err());
}

#[test]
fn entity_ids_parse_and_format() {
    let id: EntityId = "@Counter@Key@With@Ats".parse().unwrap();
    assert_eq!((id.name(), id.key()), ("counter", "Key@With@Ats"));
    assert_eq!(id.to_string(), "@counter@Key@With@Ats");
    assert_eq!(EntityId::parse("@counter@").unwrap().key(), "");
    for bad in ["", "@", "@counter", "counter@k", "@@k"] {
        assert!(EntityId::parse(bad).is_err(), "{bad}");
    }
}

async fn async_counter(ctx: &mut EntityContext<i64>) -> Result<i64, azfn::Error> {
    tokio::task::yield_now().await;
    match ctx.operation() {
        "add" => {
            let n: i64 = ctx.input()?;
            *ctx.state_mut() += n;
            tokio::task::yield_now().await;
            if *ctx.state() > 100 {
                panic!("too big after an await");
            }
        }
        "signal" => ctx.signal_entity(&EntityId::new("other", "k"), "ping", ())?,
        _ => return Err(ctx.unknown_operation()),
    }
    Ok(*ctx.state())
}

#[tokio::test]
async fn async_entities_run_with_the_same_semantics() {
    let request = batch(
        "@counter@async",
        Some("1"),
        vec![
            op("add", Some("2")),
            op("add", Some("500")),
            op("signal", None),
            op("delete", None),
            op("add", Some("1")),
        ],
    );
    let result = run_entity_batch_async(&request, |ctx| Box::pin(async_counter(ctx))).await;
    let outcomes = outcomes(&result);
    assert_eq!(outcomes[0], Ok(Some("3".into())));
    assert_eq!(
        outcomes[1],
        Err((
            "Panic".into(),
            "operation `add` of entity `@counter@async` panicked: too big after an await".into()
        ))
    );
    assert_eq!(outcomes[2], Ok(Some("3".into())));
    assert_eq!(outcomes[3], Ok(None));
    assert_eq!(outcomes[4], Ok(Some("1".into())));
    assert_eq!(state(&result), Some("1"));
    assert_eq!(
        result.actions,
        [OperationAction {
            id: 0,
            operation_action_type: Some(OperationActionType::SendSignal(SendSignalAction {
                instance_id: "@other@k".into(),
                name: "ping".into(),
                request_time: match &result.actions[0].operation_action_type {
                    Some(OperationActionType::SendSignal(s)) => s.request_time,
                    _ => None,
                },
                ..Default::default()
            })),
        }]
    );
}

#[tokio::test]
async fn the_async_engine_runs_on_a_multi_threaded_runtime() {
    let request = batch("@counter@mt", None, vec![op("add", Some("4"))]);
    let handle = tokio::runtime::Handle::current();
    let result = handle
        .spawn(async move { run_entity_batch_async(&request, |ctx| Box::pin(async_counter(ctx))).await })
        .await
        .unwrap();
    assert_eq!(state(&result), Some("4"));
    let _unused = StartNewOrchestrationAction::default();
}

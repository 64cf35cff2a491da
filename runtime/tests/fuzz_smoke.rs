//! The fuzz targets of fuzz/ run on stable as an ordinary, bounded test: every seed of the
//! corpus, then a fixed number of deterministic mutations of them. `cargo fuzz` (nightly)
//! explores far more; this keeps every target exercised on every CI run, and each crash found
//! by fuzzing is kept in the corpus as a regression seed.

#[path = "../../fuzz/targets.rs"]
mod targets;

use std::path::PathBuf;

/// A small xorshift generator: the same mutations on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes that steer mutations towards each format's syntax.
const INTERESTING: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b"\\",
    b":",
    b",",
    b"/",
    b"{*",
    b"?",
    b"=",
    b"(",
    b")",
    b"%",
    b"*",
    b"-",
    b"\n",
    b"\\u0000",
    b"null",
    b"\"Data\"",
    b"\"Metadata\"",
    b"\"Body\"",
    b"99999999999999999999",
    b"\xff\xfe",
    b"\xc3\xa9",
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(data.len() + 1);
        match rng.below(5) {
            0 if !data.is_empty() => {
                let at = at.min(data.len() - 1);
                data[at] ^= 1 << rng.below(8);
            }
            1 if !data.is_empty() => {
                let end = (at + rng.below(8)).min(data.len());
                data.drain(at.min(end)..end);
            }
            2 => {
                let piece = INTERESTING[rng.below(INTERESTING.len())];
                data.splice(at..at, piece.iter().copied());
            }
            3 if !data.is_empty() => {
                let from = rng.below(data.len());
                let piece: Vec<u8> = data[from..(from + rng.below(16)).min(data.len())].to_vec();
                data.splice(at..at, piece);
            }
            _ => data.truncate(at),
        }
    }
    data
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    let seeds: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    assert!(!seeds.is_empty(), "no seeds for {target}");
    seeds
}

fn run(target: &str, body: fn(&[u8]), rounds: usize) {
    let seeds = seeds(target);
    for seed in &seeds {
        body(seed);
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ target.len() as u64);
    for _ in 0..rounds {
        let seed = &seeds[rng.below(seeds.len())];
        body(&mutate(&mut rng, seed));
    }
}

#[test]
fn invocation_payloads_never_panic() {
    run("invocation_payload", targets::invocation_payload, 20_000);
}

#[test]
fn route_templates_never_panic() {
    run("route_template", targets::route_template, 50_000);
}

#[test]
fn timer_schedules_never_panic() {
    run("timer_schedule", targets::timer_schedule, 50_000);
}

/// Writes the seeds built here (`AZFN_UPDATE_FUZZ_SEEDS=1`), or checks that the corpus holds
/// them as built.
#[cfg(any(feature = "durable", feature = "native"))]
fn ensure_seeds(target: &str, seeds: Vec<(&'static str, Vec<u8>)>) {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let update = std::env::var_os("AZFN_UPDATE_FUZZ_SEEDS").is_some();
    for (name, bytes) in seeds {
        let path = dir.join(name);
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        } else {
            let kept = std::fs::read(&path).unwrap_or_default();
            assert!(
                kept == bytes,
                "{} differs from the seed built here; rerun with AZFN_UPDATE_FUZZ_SEEDS=1",
                path.display()
            );
        }
    }
}

/// The seeds of the Durable targets, built here from the protocol's messages so that they stay
/// valid as the messages evolve: `AZFN_UPDATE_FUZZ_SEEDS=1` writes them into fuzz/corpus/, and
/// otherwise the test checks that the corpus holds them as built.
#[cfg(feature = "durable")]
mod durable_seeds {
    use azfn::durable::proto::history_event::EventType;
    use azfn::durable::proto::*;
    use azfn::grpc::wkt::Timestamp;
    use prost::Message;

    const T0: i64 = 1_704_164_645;

    fn event(event_id: i32, seconds: i64, event_type: EventType) -> HistoryEvent {
        HistoryEvent {
            event_id,
            timestamp: Some(Timestamp { seconds, nanos: 0 }),
            event_type: Some(event_type),
        }
    }

    fn started(input: Option<&str>) -> Vec<HistoryEvent> {
        vec![
            event(-1, T0, EventType::OrchestratorStarted(OrchestratorStartedEvent {})),
            event(
                -1,
                T0,
                EventType::ExecutionStarted(ExecutionStartedEvent {
                    name: "every_task".into(),
                    input: input.map(Into::into),
                    orchestration_instance: Some(OrchestrationInstance {
                        instance_id: "inst".into(),
                        execution_id: Some("exec-1".into()),
                    }),
                    ..Default::default()
                }),
            ),
        ]
    }

    fn scheduled(id: i32, name: &str) -> HistoryEvent {
        event(
            id,
            T0,
            EventType::TaskScheduled(TaskScheduledEvent {
                name: name.into(),
                ..Default::default()
            }),
        )
    }

    fn request(past: Vec<HistoryEvent>, new: Vec<HistoryEvent>) -> Vec<u8> {
        OrchestratorRequest {
            instance_id: "inst".into(),
            past_events: past,
            new_events: new,
            ..Default::default()
        }
        .encode_to_vec()
    }

    pub fn histories() -> Vec<(&'static str, Vec<u8>)> {
        let mut first_done = started(Some(r#"{"a":1}"#));
        first_done.push(scheduled(0, "First"));
        first_done.push(event(
            -1,
            T0,
            EventType::OrchestratorCompleted(OrchestratorCompletedEvent {}),
        ));
        let completed = event(
            -1,
            T0 + 1,
            EventType::TaskCompleted(TaskCompletedEvent {
                task_scheduled_id: 0,
                result: Some("\"ok\"".into()),
            }),
        );
        let failed = event(
            -1,
            T0 + 1,
            EventType::TaskFailed(TaskFailedEvent {
                task_scheduled_id: 0,
                failure_details: Some(TaskFailureDetails {
                    error_type: "Exception".into(),
                    error_message: "no".into(),
                    ..Default::default()
                }),
            }),
        );
        let raised = event(
            -1,
            T0 + 2,
            EventType::EventRaised(EventRaisedEvent {
                name: "Approval".into(),
                input: Some("true".into()),
            }),
        );
        vec![
            ("seed-started", request(Vec::new(), started(Some(r#"{"a":1}"#)))),
            ("seed-first-completed", request(first_done.clone(), vec![completed])),
            ("seed-first-failed", request(first_done.clone(), vec![failed, raised])),
        ]
    }

    pub fn batches() -> Vec<(&'static str, Vec<u8>)> {
        let operation = |name: &str, input: Option<&str>| OperationRequest {
            operation: name.into(),
            request_id: format!("r-{name}"),
            input: input.map(Into::into),
            ..Default::default()
        };
        let batch = |state: Option<&str>, operations: Vec<OperationRequest>| {
            EntityBatchRequest {
                instance_id: "@counter@c1".into(),
                entity_state: state.map(Into::into),
                operations,
                ..Default::default()
            }
            .encode_to_vec()
        };
        vec![
            (
                "seed-operations",
                batch(
                    Some("5"),
                    vec![
                        operation("add", Some("2")),
                        operation("get", None),
                        operation("bogus", None),
                        operation("reset", None),
                    ],
                ),
            ),
            ("seed-no-state", batch(None, vec![operation("add", Some("\"x\""))])),
        ]
    }
}

#[cfg(feature = "durable")]
#[test]
fn durable_histories_never_panic() {
    ensure_seeds("durable_history", durable_seeds::histories());
    run("durable_history", targets::durable_history, 5_000);
}

#[cfg(feature = "durable")]
#[test]
fn durable_entity_batches_never_panic() {
    ensure_seeds("durable_entity_batch", durable_seeds::batches());
    run("durable_entity_batch", targets::durable_entity_batch, 5_000);
}

/// The seeds of the gRPC target: the host's half of a stream, framed, built from the protocol's
/// messages (kept as the Durable seeds are).
#[cfg(feature = "native")]
mod stream_seeds {
    use azfn::native::codec::encode;
    use azfn::native::proto::streaming_message::Content;
    use azfn::native::proto::typed_data::Data;
    use azfn::native::proto::*;

    fn message(request_id: &str, content: Content) -> StreamingMessage {
        StreamingMessage {
            request_id: request_id.into(),
            content: Some(content),
        }
    }

    fn load(id: &str) -> StreamingMessage {
        message(
            "load",
            Content::FunctionLoadRequest(FunctionLoadRequest {
                function_id: id.into(),
                ..Default::default()
            }),
        )
    }

    fn invoke(id: &str, function: &str, name: &str, data: Data) -> StreamingMessage {
        message(
            "invoke",
            Content::InvocationRequest(InvocationRequest {
                invocation_id: id.into(),
                function_id: function.into(),
                input_data: vec![ParameterBinding {
                    name: name.into(),
                    rpc_data: Some(parameter_binding::RpcData::Data(TypedData { data: Some(data) })),
                }],
                ..Default::default()
            }),
        )
    }

    fn http(body: &[u8]) -> Data {
        Data::Http(Box::new(RpcHttp {
            method: "POST".into(),
            url: "http://localhost/api/echo".into(),
            body: Some(Box::new(TypedData {
                data: Some(Data::Bytes(body.to_vec())),
            })),
            ..Default::default()
        }))
    }

    fn frames(messages: &[StreamingMessage]) -> Vec<u8> {
        messages.iter().flat_map(|m| encode(m).to_vec()).collect()
    }

    pub fn streams() -> Vec<(&'static str, Vec<u8>)> {
        let init = message("init", Content::WorkerInitRequest(WorkerInitRequest::default()));
        let metadata = message(
            "metadata",
            Content::FunctionsMetadataRequest(FunctionsMetadataRequest::default()),
        );
        let session = vec![
            init.clone(),
            metadata,
            load("fuzz_echo"),
            load("fuzz_queue"),
            invoke("i-1", "fuzz_echo", "request", http(b"hello")),
            invoke("i-2", "fuzz_echo", "request", http(b"")),
            invoke("i-3", "fuzz_queue", "message", Data::Json("{\"a\":1}".into())),
            invoke("i-4", "fuzz_queue", "message", Data::String("plain".into())),
            message(
                "cancel",
                Content::InvocationCancel(InvocationCancel {
                    invocation_id: "i-4".into(),
                    ..Default::default()
                }),
            ),
            message("status", Content::WorkerStatusRequest(WorkerStatusRequest::default())),
        ];
        let mut terminated = session.clone();
        terminated.push(message("bye", Content::WorkerTerminate(WorkerTerminate::default())));
        terminated.push(invoke("i-5", "fuzz_echo", "request", http(b"late")));
        let mut garbled = frames(&[init, load("fuzz_echo")]);
        garbled.extend_from_slice(&[0, 0, 0, 0, 3, 0xff, 0xff, 0xff]);
        garbled.extend(frames(&[invoke("i-6", "unloaded", "request", http(b"x"))]));
        vec![
            ("seed-session", frames(&session)),
            ("seed-terminated", frames(&terminated)),
            ("seed-garbled", garbled),
        ]
    }
}

#[cfg(feature = "native")]
#[test]
fn worker_streams_never_panic() {
    use azfn::native::proto::streaming_message::Content;

    // The session seed reaches the functions: each of its invocations is answered, and one of
    // them succeeds (so the target runs user code, not only refusals).
    let (_, session) = &stream_seeds::streams()[0];
    let exchange = azfn::native::offline::exchange(azfn::Registry::global().unwrap(), session);
    let responses: Vec<_> = exchange
        .answers
        .iter()
        .filter_map(|answer| match &answer.content {
            Some(Content::InvocationResponse(response)) => Some(response),
            _ => None,
        })
        .collect();
    let ids: Vec<&str> = responses.iter().map(|r| r.invocation_id.as_str()).collect();
    for id in ["i-1", "i-2", "i-3", "i-4"] {
        assert!(ids.contains(&id), "{id} unanswered in {ids:?}");
    }
    let echoed = responses.iter().find(|r| r.invocation_id == "i-1").unwrap();
    assert_eq!(echoed.result.as_ref().unwrap().status, 1, "{echoed:?}");
    ensure_seeds("worker_stream", stream_seeds::streams());
    run("worker_stream", targets::worker_stream, 300);
}

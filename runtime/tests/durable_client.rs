//! The durable client against the exported mock `TaskHubSidecarService`
//! (`azfn::durable::testing::MockSidecar`): a plaintext HTTP/2 gRPC server on 127.0.0.1 that
//! records each call (path, headers, request message) and answers as the test says.
#![cfg(feature = "durable")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use azfn::HttpRequest;
use azfn::durable::client::{
    ClientError, DurableClient, EntityFilter, GrpcCode, InstanceFilter, PurgeFilter, RuntimeStatus,
};
use azfn::durable::entity::EntityId;
use azfn::durable::proto::{
    CleanEntityStorageRequest, CleanEntityStorageResponse, CreateInstanceRequest, CreateInstanceResponse,
    EntityMetadata, GetEntityRequest, GetEntityResponse, GetInstanceRequest, GetInstanceResponse, OrchestrationState,
    PurgeInstancesRequest, PurgeInstancesResponse, QueryEntitiesRequest, QueryEntitiesResponse, QueryInstancesRequest,
    QueryInstancesResponse, RaiseEventRequest, RestartInstanceRequest, RestartInstanceResponse, ResumeRequest,
    RewindInstanceRequest, SignalEntityRequest, SuspendRequest, TerminateRequest, purge_instances_request,
};
use azfn::durable::proto::{OrchestrationStatus, TaskFailureDetails};
use azfn::durable::testing::{MockSidecar as Sidecar, SidecarCall, SidecarReply as Reply};
use azfn::grpc::wkt::{BoolValue, Timestamp};
use http::StatusCode;
use prost::Message;

// ---------------------------------------------------------------------------------------------
// The mock sidecar: `azfn::durable::testing::MockSidecar`
// ---------------------------------------------------------------------------------------------

fn reply<M: Message>(message: &M) -> Reply {
    Reply::message(message)
}

/// A client bound to the sidecar, from a binding value with every field the extension writes
/// (and one it may add later, which the client ignores).
fn client(sidecar: &Sidecar) -> DurableClient {
    DurableClient::from_json(&serde_json::json!({
        "taskHubName": "TestHub",
        "connectionName": "MyStorage",
        "rpcBaseUrl": format!("http://{}", sidecar.address()),
        "requiredQueryStringParameters": "code=sys%2Fkey",
        "httpBaseUrl": "http://localhost:7071/runtime/webhooks/durabletask",
        "maxGrpcMessageSizeInBytes": null,
        "grpcHttpClientTimeout": "00:00:05",
        "somethingNew": {"ignored": true}
    }))
    .expect("a client")
}

fn ts(seconds: i64) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos: 0 })
}

fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

fn state(id: &str, status: OrchestrationStatus) -> OrchestrationState {
    OrchestrationState {
        instance_id: id.into(),
        name: "Hello".into(),
        orchestration_status: status as i32,
        created_timestamp: ts(1_700_000_000),
        last_updated_timestamp: ts(1_700_000_060),
        input: Some("\"Tokyo\"".into()),
        output: Some("[\"Hello Tokyo!\"]".into()),
        custom_status: Some("{\"step\":3}".into()),
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Calls, headers and messages
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn start_new_sends_start_instance_with_the_durable_headers() {
    let sidecar = Sidecar::start(|path, message| {
        assert_eq!(path, "/TaskHubSidecarService/StartInstance");
        let request = CreateInstanceRequest::decode(message).unwrap();
        reply(&CreateInstanceResponse {
            instance_id: request.instance_id,
        })
    })
    .await;
    let client = client(&sidecar);
    let id = client
        .start_new("Hello", &serde_json::json!({"city": "Tokyo"}))
        .await
        .unwrap();

    let call = sidecar.only_call();
    assert_eq!(call.path, "/TaskHubSidecarService/StartInstance");
    assert_eq!(call.headers["content-type"], "application/grpc");
    assert_eq!(call.headers["te"], "trailers");
    assert_eq!(call.headers["durable-taskhub"], "TestHub");
    assert_eq!(call.headers["durable-connectionname"], "MyStorage");
    let deadline = call.headers["grpc-timeout"].to_str().unwrap();
    assert_eq!(deadline, "5000m", "the binding's grpcHttpClientTimeout");

    let request: CreateInstanceRequest = call.decode();
    assert_eq!(request.name, "Hello");
    assert_eq!(request.input.unwrap().value, r#"{"city":"Tokyo"}"#);
    assert_eq!(request.instance_id, id);
    assert_eq!(id.len(), 32);
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    assert!(request.request_time.is_some());
    assert!(request.scheduled_start_timestamp.is_none());
    assert!(request.version.is_none());
}

#[tokio::test]
async fn a_start_with_options_sends_them() {
    let sidecar = Sidecar::start(|_, _| {
        reply(&CreateInstanceResponse {
            instance_id: "order-7".into(),
        })
    })
    .await;
    let client = client(&sidecar);
    let id = client
        .start("Process")
        .instance_id("order-7")
        .input(&())
        .start_at(at(2_000_000_000))
        .version("2.0")
        .tag("tenant", "contoso")
        .send()
        .await
        .unwrap();
    assert_eq!(id, "order-7");
    let request: CreateInstanceRequest = sidecar.only_call().decode();
    assert_eq!(request.instance_id, "order-7");
    assert!(request.input.is_none(), "() is no input");
    assert_eq!(request.scheduled_start_timestamp, ts(2_000_000_000));
    assert_eq!(request.version.unwrap().value, "2.0");
    assert_eq!(request.tags["tenant"], "contoso");
}

#[tokio::test]
async fn get_status_is_typed_and_none_for_an_unknown_instance() {
    let sidecar = Sidecar::start(|_, message| {
        let request = GetInstanceRequest::decode(message).unwrap();
        if request.instance_id == "missing" {
            return reply(&GetInstanceResponse::default());
        }
        let mut state = state(&request.instance_id, OrchestrationStatus::Failed);
        state.failure_details = Some(TaskFailureDetails {
            error_type: "Boom".into(),
            error_message: "it broke".into(),
            ..Default::default()
        });
        state.execution_id = Some("exec-1".into());
        reply(&GetInstanceResponse {
            exists: true,
            orchestration_state: Some(state),
        })
    })
    .await;
    let client = client(&sidecar);

    let status = client.get_status("abc", true).await.unwrap().expect("exists");
    assert_eq!(status.instance_id, "abc");
    assert_eq!(status.name, "Hello");
    assert_eq!(status.runtime_status, RuntimeStatus::Failed);
    assert_eq!(status.created_at, Some(at(1_700_000_000)));
    assert_eq!(status.last_updated_at, Some(at(1_700_000_060)));
    assert_eq!(status.input::<String>().unwrap().as_deref(), Some("Tokyo"));
    assert_eq!(
        status.output::<Vec<String>>().unwrap(),
        Some(vec!["Hello Tokyo!".to_owned()])
    );
    assert_eq!(status.custom_status::<serde_json::Value>().unwrap().unwrap()["step"], 3);
    assert_eq!(status.failure_details.as_ref().unwrap().error_message, "it broke");
    assert_eq!(status.execution_id.as_deref(), Some("exec-1"));
    let e = status.output::<u32>().unwrap_err();
    assert!(
        e.to_string()
            .contains("the output of `abc` does not deserialize as u32"),
        "{e}"
    );

    assert!(client.get_status("missing", false).await.unwrap().is_none());
    let calls = sidecar.calls();
    assert!(calls.iter().all(|c| c.path == "/TaskHubSidecarService/GetInstance"));
    let requests: Vec<GetInstanceRequest> = calls.iter().map(SidecarCall::decode).collect();
    assert!(requests[0].get_inputs_and_outputs);
    assert!(!requests[1].get_inputs_and_outputs);
}

#[tokio::test]
async fn management_calls_send_their_messages() {
    let sidecar = Sidecar::start(|path, _| match path {
        "/TaskHubSidecarService/RestartInstance" => reply(&RestartInstanceResponse {
            instance_id: "new-id".into(),
        }),
        _ => Reply::Message(Vec::new()),
    })
    .await;
    let client = client(&sidecar);
    client
        .raise_event("abc", "Approval", &serde_json::json!({"ok": true}))
        .await
        .unwrap();
    client.raise_event("abc", "Ping", &()).await.unwrap();
    client.terminate("abc", "user asked").await.unwrap();
    client.suspend("abc", "maintenance").await.unwrap();
    client.resume("abc", "").await.unwrap();
    client.rewind("abc", "fixed").await.unwrap();
    assert_eq!(client.restart("abc", true).await.unwrap(), "new-id");

    let calls = sidecar.calls();
    let paths: Vec<&str> = calls.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/TaskHubSidecarService/RaiseEvent",
            "/TaskHubSidecarService/RaiseEvent",
            "/TaskHubSidecarService/TerminateInstance",
            "/TaskHubSidecarService/SuspendInstance",
            "/TaskHubSidecarService/ResumeInstance",
            "/TaskHubSidecarService/RewindInstance",
            "/TaskHubSidecarService/RestartInstance",
        ]
    );
    assert_eq!(
        calls[0].decode::<RaiseEventRequest>(),
        RaiseEventRequest {
            instance_id: "abc".into(),
            name: "Approval".into(),
            input: Some(r#"{"ok":true}"#.into()),
        }
    );
    assert!(calls[1].decode::<RaiseEventRequest>().input.is_none());
    assert_eq!(
        calls[2].decode::<TerminateRequest>(),
        TerminateRequest {
            instance_id: "abc".into(),
            output: Some("\"user asked\"".into()),
            recursive: false,
        }
    );
    assert_eq!(
        calls[3].decode::<SuspendRequest>(),
        SuspendRequest {
            instance_id: "abc".into(),
            reason: Some("maintenance".into()),
        }
    );
    assert_eq!(
        calls[4].decode::<ResumeRequest>(),
        ResumeRequest {
            instance_id: "abc".into(),
            reason: None,
        }
    );
    assert_eq!(
        calls[5].decode::<RewindInstanceRequest>().reason.unwrap().value,
        "fixed"
    );
    assert_eq!(
        calls[6].decode::<RestartInstanceRequest>(),
        RestartInstanceRequest {
            instance_id: "abc".into(),
            restart_with_new_instance_id: true,
        }
    );
    assert_eq!(sidecar.connections(), 1, "one connection for every call");
}

#[tokio::test]
async fn queries_and_purges_send_their_filters() {
    let sidecar = Sidecar::start(|path, _| match path {
        "/TaskHubSidecarService/QueryInstances" => reply(&QueryInstancesResponse {
            orchestration_state: vec![
                state("a", OrchestrationStatus::Running),
                state("b", OrchestrationStatus::Suspended),
            ],
            continuation_token: Some("next-page".into()),
        }),
        "/TaskHubSidecarService/PurgeInstances" => reply(&PurgeInstancesResponse {
            deleted_instance_count: 3,
            is_complete: Some(BoolValue { value: true }),
        }),
        other => panic!("unexpected {other}"),
    })
    .await;
    let client = client(&sidecar);
    let filter = InstanceFilter {
        created_from: Some(at(1_600_000_000)),
        statuses: vec![RuntimeStatus::Running, RuntimeStatus::Suspended],
        instance_id_prefix: Some("order-".into()),
        page_size: Some(2),
        continuation_token: Some("this-page".into()),
        fetch_inputs_and_outputs: true,
        ..Default::default()
    };
    let page = client.query_instances(&filter).await.unwrap();
    assert_eq!(page.continuation_token.as_deref(), Some("next-page"));
    assert_eq!(
        page.instances
            .iter()
            .map(|i| (i.instance_id.as_str(), i.runtime_status))
            .collect::<Vec<_>>(),
        [("a", RuntimeStatus::Running), ("b", RuntimeStatus::Suspended)]
    );

    let purged = client.purge("abc").await.unwrap();
    assert_eq!((purged.deleted_instance_count, purged.is_complete), (3, Some(true)));
    client
        .purge_instances(&PurgeFilter {
            created_to: Some(at(1_650_000_000)),
            statuses: vec![RuntimeStatus::Completed, RuntimeStatus::Failed],
            ..Default::default()
        })
        .await
        .unwrap();

    let calls = sidecar.calls();
    let query = calls[0].decode::<QueryInstancesRequest>().query.unwrap();
    assert_eq!(
        query.runtime_status,
        [
            OrchestrationStatus::Running as i32,
            OrchestrationStatus::Suspended as i32
        ]
    );
    assert_eq!(query.created_time_from, ts(1_600_000_000));
    assert!(query.created_time_to.is_none());
    assert_eq!(query.max_instance_count, 2);
    assert_eq!(query.continuation_token.unwrap().value, "this-page");
    assert_eq!(query.instance_id_prefix.unwrap().value, "order-");
    assert!(query.fetch_inputs_and_outputs);

    let one = calls[1].decode::<PurgeInstancesRequest>();
    assert_eq!(
        one.request,
        Some(purge_instances_request::Request::InstanceId("abc".into()))
    );
    assert!(one.is_orchestration);
    let Some(purge_instances_request::Request::PurgeInstanceFilter(filter)) =
        calls[2].decode::<PurgeInstancesRequest>().request
    else {
        panic!("a filter purge");
    };
    assert_eq!(filter.created_time_to, ts(1_650_000_000));
    assert_eq!(
        filter.runtime_status,
        [
            OrchestrationStatus::Completed as i32,
            OrchestrationStatus::Failed as i32
        ]
    );
}

#[tokio::test]
async fn recursive_terminate_and_purge_set_the_flag() {
    let sidecar = Sidecar::start(|path, _| match path {
        "/TaskHubSidecarService/PurgeInstances" => reply(&PurgeInstancesResponse {
            deleted_instance_count: 2,
            is_complete: None,
        }),
        _ => Reply::Message(Vec::new()),
    })
    .await;
    let client = client(&sidecar);
    client.terminate_recursive("abc", "x").await.unwrap();
    let purged = client.purge_recursive("abc").await.unwrap();
    assert_eq!(purged.deleted_instance_count, 2);
    client
        .purge_instances(&PurgeFilter {
            recursive: true,
            ..Default::default()
        })
        .await
        .unwrap();

    let calls = sidecar.calls();
    // instanceId "abc", output StringValue("\"x\""), recursive true.
    assert_eq!(
        calls[0].message.as_ref(),
        b"\x0a\x03abc\x12\x05\x0a\x03\"x\"\x18\x01".as_slice()
    );
    // instanceId "abc", recursive true, isOrchestration true.
    assert_eq!(calls[1].message.as_ref(), b"\x0a\x03abc\x18\x01\x28\x01".as_slice());
    let by_filter = calls[2].decode::<PurgeInstancesRequest>();
    assert!(by_filter.recursive);
    assert!(!by_filter.is_orchestration);
}

/// An entity written as a type, for the typed signal.
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Counter(i64);

#[azfn::entity]
impl Counter {
    pub fn add(&mut self, amount: i64) {
        self.0 += amount;
    }
}

#[tokio::test]
async fn a_typed_signal_sends_what_the_string_signal_does() {
    let sidecar = Sidecar::start(|path, _| match path {
        "/TaskHubSidecarService/SignalEntity" => Reply::Message(Vec::new()),
        other => panic!("unexpected {other}"),
    })
    .await;
    let client = client(&sidecar);
    client.signal_operation(Counter::ADD, "a", &5).await.unwrap();
    client
        .signal_entity(&EntityId::new("Counter", "a"), "add", &5)
        .await
        .unwrap();
    let calls = sidecar.calls();
    let [typed, by_name]: [SignalEntityRequest; 2] = [calls[0].decode(), calls[1].decode()];
    assert_eq!(typed.instance_id, "@counter@a");
    let same = |r: &SignalEntityRequest| (r.instance_id.clone(), r.name.clone(), r.input.clone(), r.scheduled_time);
    assert_eq!(same(&typed), same(&by_name));
}

#[tokio::test]
async fn entities_are_signaled_read_queried_and_cleaned() {
    let cleaned = Arc::new(AtomicUsize::new(0));
    let cleaned2 = cleaned.clone();
    let sidecar = Sidecar::start(move |path, message| match path {
        "/TaskHubSidecarService/SignalEntity" => Reply::Message(Vec::new()),
        "/TaskHubSidecarService/GetEntity" => {
            let request = GetEntityRequest::decode(message).unwrap();
            if request.instance_id == "@counter@none" {
                return reply(&GetEntityResponse::default());
            }
            reply(&GetEntityResponse {
                exists: true,
                entity: Some(EntityMetadata {
                    instance_id: request.instance_id,
                    last_modified_time: ts(1_700_000_000),
                    backlog_queue_size: 2,
                    locked_by: Some("orch-1".into()),
                    serialized_state: request.include_state.then(|| "42".into()),
                }),
            })
        }
        "/TaskHubSidecarService/QueryEntities" => reply(&QueryEntitiesResponse {
            entities: vec![EntityMetadata {
                instance_id: "@counter@a".into(),
                serialized_state: Some("1".into()),
                ..Default::default()
            }],
            continuation_token: None,
        }),
        "/TaskHubSidecarService/CleanEntityStorage" => {
            let first = cleaned2.fetch_add(1, Ordering::SeqCst) == 0;
            reply(&CleanEntityStorageResponse {
                continuation_token: first.then(|| "more".into()),
                empty_entities_removed: 2,
                orphaned_locks_released: 1,
            })
        }
        other => panic!("unexpected {other}"),
    })
    .await;
    let client = client(&sidecar);
    let counter = EntityId::new("Counter", "a");
    client.signal_entity(&counter, "add", &5).await.unwrap();
    client
        .signal_entity_at(&counter, "reset", &(), at(2_000_000_000))
        .await
        .unwrap();

    let entity = client.get_entity(&counter, true).await.unwrap().expect("exists");
    assert_eq!(entity.id, counter);
    assert_eq!(entity.state::<i64>().unwrap(), Some(42));
    assert_eq!(entity.backlog_queue_size, 2);
    assert_eq!(entity.locked_by.as_deref(), Some("orch-1"));
    assert_eq!(entity.last_modified_at, Some(at(1_700_000_000)));
    let without_state = client.get_entity(&counter, false).await.unwrap().unwrap();
    assert_eq!(without_state.state::<i64>().unwrap(), None);
    assert_eq!(client.get_entity_state::<i64>(&counter).await.unwrap(), Some(42));
    assert!(
        client
            .get_entity(&EntityId::new("counter", "none"), true)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        client
            .get_entity_state::<i64>(&EntityId::new("counter", "none"))
            .await
            .unwrap(),
        None
    );

    let page = client
        .query_entities(&EntityFilter {
            instance_id_starts_with: Some("Counter".into()),
            include_state: true,
            page_size: Some(10),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.entities.len(), 1);
    assert_eq!(page.entities[0].state::<i64>().unwrap(), Some(1));
    assert_eq!(page.continuation_token, None);

    let result = client.clean_entity_storage(true, false).await.unwrap();
    assert_eq!((result.empty_entities_removed, result.orphaned_locks_released), (4, 2));

    let calls = sidecar.calls();
    let signal: SignalEntityRequest = calls[0].decode();
    assert_eq!(signal.instance_id, "@counter@a");
    assert_eq!(signal.name, "add");
    assert_eq!(signal.input.unwrap().value, "5");
    let groups: Vec<usize> = signal.request_id.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12], "a GUID: {}", signal.request_id);
    assert!(signal.scheduled_time.is_none());
    let scheduled: SignalEntityRequest = calls[1].decode();
    assert_eq!(scheduled.scheduled_time, ts(2_000_000_000));
    assert!(scheduled.input.is_none());
    assert_ne!(scheduled.request_id, signal.request_id);

    let query = calls
        .iter()
        .find(|c| c.path.ends_with("/QueryEntities"))
        .unwrap()
        .decode::<QueryEntitiesRequest>()
        .query
        .unwrap();
    assert_eq!(query.instance_id_starts_with.unwrap().value, "@counter");
    assert_eq!(query.page_size.unwrap().value, 10);
    assert!(query.include_state);

    let cleans: Vec<CleanEntityStorageRequest> = calls
        .iter()
        .filter(|c| c.path.ends_with("/CleanEntityStorage"))
        .map(SidecarCall::decode)
        .collect();
    assert_eq!(cleans.len(), 2);
    assert!(cleans[0].continuation_token.is_none());
    assert_eq!(cleans[1].continuation_token.as_ref().unwrap().value, "more");
    assert!(cleans[1].remove_empty_entities && !cleans[1].release_orphaned_locks);
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn grpc_error_statuses_become_clear_errors() {
    let sidecar = Sidecar::start(|path, _| match path {
        "/TaskHubSidecarService/StartInstance" => {
            Reply::Status(6, "An Orchestration instance with the ID abc already exists.".into())
        }
        "/TaskHubSidecarService/RaiseEvent" => Reply::TrailersOnly(5, "no%20instance%20%22abc%22".into()),
        "/TaskHubSidecarService/RestartInstance" => Reply::TrailersOnly(12, "".into()),
        "/TaskHubSidecarService/SuspendInstance" => Reply::Http(StatusCode::SERVICE_UNAVAILABLE),
        "/TaskHubSidecarService/ResumeInstance" => Reply::Messages(vec![vec![], vec![]]),
        "/TaskHubSidecarService/GetInstance" => Reply::Message(vec![0xff, 0xff]),
        other => panic!("unexpected {other}"),
    })
    .await;
    let client = client(&sidecar);

    let e = client.start("Hello").instance_id("abc").send().await.unwrap_err();
    assert!(e.is_already_exists());
    assert_eq!(
        e.to_string(),
        "the Durable extension answered StartInstance with ALREADY_EXISTS: An Orchestration instance with the ID abc already exists."
    );

    let e = client.raise_event("abc", "x", &1).await.unwrap_err();
    assert_eq!(
        e,
        ClientError::Status {
            method: "RaiseEvent",
            code: GrpcCode::NotFound,
            message: "no instance \"abc\"".into(),
        }
    );
    assert!(e.is_not_found());

    let e = client.restart("abc", false).await.unwrap_err();
    assert_eq!(e.code(), Some(GrpcCode::Unimplemented));
    assert!(
        e.to_string()
            .starts_with("the Durable extension does not implement RestartInstance"),
        "{e}"
    );

    let e = client.suspend("abc", "").await.unwrap_err();
    assert_eq!(e.code(), Some(GrpcCode::Unavailable));
    assert!(e.to_string().contains("HTTP status 503"), "{e}");

    let e = client.resume("abc", "").await.unwrap_err();
    assert!(
        matches!(
            e,
            ClientError::Protocol {
                method: "ResumeInstance",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("more than one message"), "{e}");

    let e = client.get_status("abc", false).await.unwrap_err();
    assert!(e.to_string().contains("does not decode"), "{e}");

    // The connection survives error statuses.
    assert_eq!(sidecar.connections(), 1);
    // And the errors convert into azfn::Error.
    let as_azfn: azfn::Error = ClientError::InstanceNotFound {
        instance_id: "x".into(),
    }
    .into();
    assert_eq!(as_azfn.to_string(), "no orchestration instance has the id `x`");
}

#[tokio::test]
async fn responses_over_the_size_limit_are_refused() {
    let sidecar = Sidecar::start(|_, _| {
        reply(&CreateInstanceResponse {
            instance_id: "x".repeat(200),
        })
    })
    .await;
    let client = DurableClient::from_json(&serde_json::json!({
        "taskHubName": "TestHub",
        "rpcBaseUrl": format!("http://{}", sidecar.address()),
        "maxGrpcMessageSizeInBytes": 100,
    }))
    .unwrap();
    let e = client.start_new("Hello", &()).await.unwrap_err();
    assert!(e.to_string().contains("over the limit of 100"), "{e}");
    let call = sidecar.only_call();
    assert!(
        call.headers.get("durable-connectionname").is_none(),
        "no connection name, no header"
    );
}

#[tokio::test]
async fn a_slow_call_times_out() {
    let sidecar = Sidecar::start(|_, _| Reply::After(Duration::from_secs(5), Box::new(Reply::Message(vec![])))).await;
    let client = DurableClient::from_json(&serde_json::json!({
        "taskHubName": "TestHub",
        "rpcBaseUrl": format!("http://{}", sidecar.address()),
        "grpcHttpClientTimeout": "00:00:00.2",
    }))
    .unwrap();
    let started = std::time::Instant::now();
    let e = client.raise_event("abc", "x", &1).await.unwrap_err();
    assert_eq!(
        e,
        ClientError::Timeout {
            method: "RaiseEvent",
            after: Duration::from_millis(200)
        }
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let client = DurableClient::from_json(&serde_json::json!({"rpcBaseUrl": format!("http://{address}")})).unwrap();
    let e = client.get_status("abc", false).await.unwrap_err();
    assert!(matches!(e, ClientError::Connect { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with(&format!("cannot connect to the Durable extension at {address}"))
    );
}

#[tokio::test]
async fn the_connection_is_reused_and_reopened_when_it_breaks() {
    let sidecar = Sidecar::start(|_, _| reply(&GetInstanceResponse::default())).await;
    let client = client(&sidecar);
    for _ in 0..3 {
        assert!(client.get_status("a", false).await.unwrap().is_none());
    }
    let clone = client.clone();
    let (a, b) = tokio::join!(client.get_status("b", false), clone.get_status("c", false));
    assert!(a.unwrap().is_none() && b.unwrap().is_none());
    assert_eq!(sidecar.connections(), 1);

    sidecar.drop_connections();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(client.get_status("d", false).await.unwrap().is_none());
    assert_eq!(sidecar.connections(), 2);
    assert_eq!(sidecar.calls().len(), 6);
}

// ---------------------------------------------------------------------------------------------
// Waiting
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn wait_for_completion_uses_the_extensions_wait() {
    let sidecar = Sidecar::start(|path, message| {
        assert_eq!(path, "/TaskHubSidecarService/WaitForInstanceCompletion");
        let request = GetInstanceRequest::decode(message).unwrap();
        match request.instance_id.as_str() {
            "done" => reply(&GetInstanceResponse {
                exists: true,
                orchestration_state: Some(state("done", OrchestrationStatus::Completed)),
            }),
            "missing" => reply(&GetInstanceResponse::default()),
            _ => Reply::After(Duration::from_secs(10), Box::new(Reply::Message(vec![]))),
        }
    })
    .await;
    let client = client(&sidecar);
    let done = client
        .wait_for_completion("done", Duration::from_secs(3))
        .await
        .unwrap();
    assert_eq!(done.runtime_status, RuntimeStatus::Completed);
    assert_eq!(done.output::<Vec<String>>().unwrap().unwrap(), ["Hello Tokyo!"]);
    let call = &sidecar.calls()[0];
    assert_eq!(call.headers["grpc-timeout"], "3000m");
    assert!(call.decode::<GetInstanceRequest>().get_inputs_and_outputs);

    let e = client
        .wait_for_completion("missing", Duration::from_secs(3))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        ClientError::InstanceNotFound {
            instance_id: "missing".into()
        }
    );
    assert!(e.is_not_found());

    let e = client
        .wait_for_completion("slow", Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ClientError::Timeout {
                method: "WaitForInstanceCompletion",
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn without_the_extensions_wait_the_client_polls() {
    let polls = Arc::new(AtomicUsize::new(0));
    let polls2 = polls.clone();
    let sidecar = Sidecar::start(move |path, message| match path {
        "/TaskHubSidecarService/WaitForInstanceCompletion" | "/TaskHubSidecarService/WaitForInstanceStart" => {
            Reply::Status(12, "".into())
        }
        "/TaskHubSidecarService/GetInstance" => {
            let request = GetInstanceRequest::decode(message).unwrap();
            let status = if polls2.fetch_add(1, Ordering::SeqCst) < 1 {
                OrchestrationStatus::Pending
            } else {
                OrchestrationStatus::Terminated
            };
            reply(&GetInstanceResponse {
                exists: true,
                orchestration_state: Some(state(&request.instance_id, status)),
            })
        }
        other => panic!("unexpected {other}"),
    })
    .await;
    let client = client(&sidecar);
    let status = client.wait_for_completion("abc", Duration::from_secs(5)).await.unwrap();
    assert_eq!(status.runtime_status, RuntimeStatus::Terminated);
    assert_eq!(polls.load(Ordering::SeqCst), 2);
    let status = client.wait_for_start("abc", Duration::from_secs(5)).await.unwrap();
    assert_eq!(status.runtime_status, RuntimeStatus::Terminated);
}

// ---------------------------------------------------------------------------------------------
// The HTTP API links
// ---------------------------------------------------------------------------------------------

fn offline_client(binding: serde_json::Value) -> DurableClient {
    DurableClient::from_json(&binding).unwrap()
}

#[test]
fn check_status_responses_link_the_http_api_exactly() {
    let client = offline_client(serde_json::json!({
        "taskHubName": "My Hub",
        "connectionName": "Storage",
        "rpcBaseUrl": "http://localhost:4001",
        "requiredQueryStringParameters": "code=k3y%3D%3D",
        "httpBaseUrl": "http://localhost:7071/runtime/webhooks/durabletask/",
    }));
    let request = HttpRequest::builder()
        .url("https://myapp.azurewebsites.net/api/orchestrators/Hello?x=1")
        .build();
    let response = client.create_check_status_response(&request, "abc 1/2");
    let base = "https://myapp.azurewebsites.net/runtime/webhooks/durabletask/instances/abc%201%2F2";
    let query = "taskHub=My%20Hub&connection=Storage&code=k3y%3D%3D";
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(response.header_value("retry-after"), Some("10"));
    assert_eq!(response.header_value("content-type"), Some("application/json"));
    assert_eq!(
        response.header_value("location"),
        Some(format!("{base}?{query}").as_str())
    );
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "id": "abc 1/2",
            "statusQueryGetUri": format!("{base}?{query}"),
            "sendEventPostUri": format!("{base}/raiseEvent/{{eventName}}?{query}"),
            "terminatePostUri": format!("{base}/terminate?reason={{text}}&{query}"),
            "purgeHistoryDeleteUri": format!("{base}?{query}"),
            "restartPostUri": format!("{base}/restart?{query}"),
            "suspendPostUri": format!("{base}/suspend?reason={{text}}&{query}"),
            "resumePostUri": format!("{base}/resume?reason={{text}}&{query}"),
            "rewindPostUri": format!("{base}/rewind?reason={{text}}&{query}"),
        })
    );

    // Without a request origin: httpBaseUrl as it is.
    let payload = client.create_http_management_payload("abc").unwrap();
    assert_eq!(
        payload.terminate_post_uri,
        "http://localhost:7071/runtime/webhooks/durabletask/instances/abc/terminate?reason={text}&taskHub=My%20Hub&connection=Storage&code=k3y%3D%3D"
    );
}

#[test]
fn links_fall_back_to_the_default_connection_and_webhook_path() {
    let client = offline_client(serde_json::json!({
        "taskHubName": "Hub",
        "connectionName": null,
        "rpcBaseUrl": "http://localhost:4001",
        "requiredQueryStringParameters": "",
        "httpBaseUrl": null,
    }));
    let request = HttpRequest::builder().url("http://localhost:7071/api/start").build();
    let response = client.create_check_status_response(&request, "i");
    assert_eq!(
        response.header_value("location"),
        Some("http://localhost:7071/runtime/webhooks/durabletask/instances/i?taskHub=Hub&connection=Storage")
    );
    let e = client.create_http_management_payload("i").unwrap_err();
    assert!(e.to_string().contains("no `httpBaseUrl`"), "{e}");
}

#[tokio::test]
async fn wait_or_check_status_answers_like_the_http_api() {
    let sidecar = Sidecar::start(|_, message| {
        let request = GetInstanceRequest::decode(message).unwrap();
        let status = match request.instance_id.as_str() {
            "done" => OrchestrationStatus::Completed,
            "failed" => OrchestrationStatus::Failed,
            _ => OrchestrationStatus::Running,
        };
        reply(&GetInstanceResponse {
            exists: true,
            orchestration_state: Some(state(&request.instance_id, status)),
        })
    })
    .await;
    let client = client(&sidecar);
    let request = HttpRequest::builder().url("http://localhost:7071/api/start").build();
    let wait = |id: &'static str| {
        let (client, request) = (client.clone(), request.clone());
        async move {
            client
                .wait_for_completion_or_create_check_status_response(
                    &request,
                    id,
                    Duration::from_millis(300),
                    Duration::from_millis(50),
                )
                .await
                .unwrap()
        }
    };

    let done = wait("done").await;
    assert_eq!(done.status(), StatusCode::OK);
    assert_eq!(done.body(), br#"["Hello Tokyo!"]"#);
    assert_eq!(done.header_value("content-type"), Some("application/json"));

    let failed = wait("failed").await;
    assert_eq!(failed.status(), StatusCode::OK);
    let body: serde_json::Value = serde_json::from_slice(failed.body()).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "name": "Hello",
            "instanceId": "failed",
            "runtimeStatus": "Failed",
            "input": "Tokyo",
            "customStatus": {"step": 3},
            "output": ["Hello Tokyo!"],
            "createdTime": "2023-11-14T22:13:20Z",
            "lastUpdatedTime": "2023-11-14T22:14:20Z",
        })
    );

    let calls_before = sidecar.calls().len();
    let running = wait("running").await;
    assert_eq!(running.status(), StatusCode::ACCEPTED);
    assert_eq!(
        running.header_value("location"),
        Some(
            "http://localhost:7071/runtime/webhooks/durabletask/instances/running?taskHub=TestHub&connection=MyStorage&code=sys%2Fkey"
        )
    );
    let polls = sidecar.calls().len() - calls_before;
    assert!((3..=8).contains(&polls), "polled {polls} times in 300 ms every 50 ms");
}

// ---------------------------------------------------------------------------------------------
// The binding's value
// ---------------------------------------------------------------------------------------------

#[test]
fn the_binding_value_is_read_as_the_host_sends_it() {
    let inner = r#"{"taskHubName":"Hub","connectionName":"Conn","rpcBaseUrl":"http://localhost:4001","requiredQueryStringParameters":"?code=k","httpBaseUrl":"https://h/runtime/webhooks/durabletask","maxGrpcMessageSizeInBytes":0,"grpcHttpClientTimeout":"00:01:40","creationUrls":null}"#;
    // `Data.<name>` after the body is parsed: the JSON, quoted once more.
    let quoted = serde_json::to_string(inner).unwrap();
    for value in [inner.to_owned(), quoted.clone()] {
        let client = DurableClient::from_binding(&value).unwrap();
        assert_eq!(client.task_hub_name(), "Hub");
        assert_eq!(client.connection_name(), Some("Conn"));
        assert_eq!(client.rpc_base_url(), "http://localhost:4001");
        assert_eq!(client.http_base_url(), Some("https://h/runtime/webhooks/durabletask"));
        assert_eq!(client.required_query_string_parameters(), "code=k");
    }
    let parsed: serde_json::Value = serde_json::from_str(&quoted).unwrap();
    assert!(DurableClient::from_json(&parsed).is_ok());

    for bad in [
        "",
        "[1]",
        r#"{"taskHubName":"Hub"}"#,
        r#"{"rpcBaseUrl":"ftp://localhost:4001"}"#,
        r#"{"rpcBaseUrl":"http://"}"#,
        r#"{"rpcBaseUrl":null}"#,
    ] {
        let e = DurableClient::from_binding(bad).unwrap_err();
        assert!(matches!(e, ClientError::Config(_)), "{bad}: {e:?}");
    }
    // An https endpoint needs the `durable-tls` feature (tests/durable_tls.rs connects to one).
    let https = DurableClient::from_binding(r#"{"rpcBaseUrl":"https://localhost:4001"}"#);
    if cfg!(feature = "durable-tls") {
        assert!(https.is_ok());
    } else {
        assert!(matches!(https, Err(ClientError::Config(message)) if message.contains("durable-tls")));
    }
    let without_scheme = DurableClient::from_binding(r#"{"rpcBaseUrl":"localhost:4001"}"#).unwrap();
    assert_eq!(without_scheme.task_hub_name(), "");
}

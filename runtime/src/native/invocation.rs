//! One invocation over gRPC: `InvocationRequest` → [`Invocation`] → the function →
//! `InvocationResponse`.

use std::future::Future;
use std::pin::Pin;

use super::answer::Answer;
use super::http_uri::RawRequest;
use super::proto::{
    InvocationRequest, InvocationResponse, ParameterBinding, RpcHttp, RpcLog, parameter_binding::RpcData, rpc_log,
    typed_data::Data,
};
use super::responses::{cancelled, failure, invocation_exception, invocation_log, success};
use super::typed_data::{self, either_map_owned};
use crate::CancellationToken;
use crate::data::BindingData;
use crate::error::InvocationError;
use crate::function::FunctionDescription;
use crate::http::HttpResponse;
use crate::invocation::{Invocation, OutputValue, Outputs, RetryContext, TraceContext};

/// That the invocation owes its HTTP response to a request forwarded through `HttpUri`: the
/// request's task writes the one [`conclude`] gives back.
#[derive(Debug)]
pub(crate) struct Caller;

/// Builds the invocation, taking what it needs out of `request`; with `HttpUri` (`http_uri`), an
/// HTTP trigger's request is the forwarded one (`None`: it never came).
///
/// Synchronous: only a forwarded body that must be read whole has anything to wait for, and
/// that is given back as a boxed future; an invocation's future then holds no message, and
/// awaits nothing for an empty body.
pub(crate) fn prepare(
    function: &'static FunctionDescription,
    request: &mut InvocationRequest,
    cancellation: CancellationToken,
    http_uri: bool,
    forwarded: Option<RawRequest>,
) -> Result<Prepared, InvocationError> {
    let (mut invocation, route) = decode(function, request, cancellation, http_uri)?;
    let Some((key, route)) = route else {
        return Ok(Prepared::Ready(invocation));
    };
    let Some(mut forwarded) = forwarded else {
        return Err(InvocationError::MalformedRequest(
            "the host's forwarded HTTP request for this invocation did not arrive".to_owned(),
        ));
    };
    if forwarded.must_read_body(function.streams_request_body) {
        return Ok(Prepared::ReadingBody(Box::pin(async move {
            forwarded.read_body().await?;
            attach_forwarded_request(&mut invocation, key, *route, forwarded);
            Ok(invocation)
        })));
    }
    attach_forwarded_request(&mut invocation, key, *route, forwarded);
    Ok(Prepared::Ready(invocation))
}

/// An invocation built, or still reading its forwarded body.
#[expect(
    clippy::large_enum_variant,
    reason = "the ready invocation is the hot path: boxing it would cost every invocation an allocation"
)]
pub(crate) enum Prepared {
    Ready(Invocation),
    ReadingBody(Pin<Box<dyn Future<Output = Result<Invocation, InvocationError>> + Send>>),
}

impl Prepared {
    /// The invocation, once its body is read.
    #[cfg(test)]
    pub(crate) async fn invocation(self) -> Result<Invocation, InvocationError> {
        match self {
            Prepared::Ready(invocation) => Ok(invocation),
            Prepared::ReadingBody(reading) => reading.await,
        }
    }
}

/// Whether `request` is an HTTP trigger's whose request comes through `HttpUri`.
pub(crate) fn is_forwarded(request: &InvocationRequest) -> bool {
    request.input_data.iter().any(|input| {
        matches!(&input.rpc_data, Some(RpcData::Data(data)) if matches!(&data.data, Some(Data::Http(http)) if is_route_only(http)))
    })
}

/// With `HttpUri`, the host sends an HTTP trigger's `RpcHttp` without a URL: only the route's
/// values, the request itself coming over HTTP.
fn is_route_only(http: &RpcHttp) -> bool {
    http.url.is_empty()
}

/// The trigger's binding name and route of an HTTP request that comes through `HttpUri`.
type ForwardedRoute = (String, Box<RpcHttp>);

/// The invocation a request describes, and with `http_uri`, the route of an HTTP trigger whose
/// request comes over HTTP.
fn decode(
    function: &'static FunctionDescription,
    request: &mut InvocationRequest,
    cancellation: CancellationToken,
    http_uri: bool,
) -> Result<(Invocation, Option<ForwardedRoute>), InvocationError> {
    let invocation_id = std::mem::take(&mut request.invocation_id);
    let mut invocation = Invocation::with_cancellation(function, invocation_id, cancellation);
    invocation.retry = request.retry_context.take().map(|retry| RetryContext {
        retry_count: i64::from(retry.retry_count),
        max_retry_count: i64::from(retry.max_retry_count),
        exception: retry.exception.map(|e| e.message),
    });
    invocation.trace = request.trace_context.take().map(|trace| TraceContext {
        trace_parent: trace.trace_parent,
        trace_state: trace.trace_state,
        attributes: trace.attributes,
    });
    let mut forwarded = None;
    for input in std::mem::take(&mut request.input_data) {
        // Invokers look values up by the declared name, whatever casing the host used.
        let key = match function.binding(&input.name) {
            Some(binding) if binding.name != input.name => binding.name.to_owned(),
            _ => input.name,
        };
        let data = match input.rpc_data {
            None => BindingData::Null,
            Some(RpcData::RpcSharedMemory(_)) => {
                return Err(InvocationError::MalformedRequest(format!(
                    "binding `{key}` arrived in shared memory, which this worker did not ask for"
                )));
            }
            Some(RpcData::Data(mut data)) => {
                if let Some(Data::Http(http)) = &mut data.data {
                    route_values_from_metadata(function, http, &request.trigger_metadata);
                }
                match (http_uri, data.data) {
                    // With `HttpUri`, the request itself comes over HTTP; this is only its route.
                    (true, Some(Data::Http(http))) if is_route_only(&http) => {
                        forwarded = Some((key, http));
                        continue;
                    }
                    (_, data) => typed_data::binding_data(super::proto::TypedData { data }).map_err(|message| {
                        InvocationError::Binding {
                            binding: key.clone(),
                            message,
                        }
                    })?,
                }
            }
        };
        invocation.data.insert(key, data);
    }
    // None for an HTTP trigger (`RpcHttpTriggerMetadataRemoved`).
    if !request.trigger_metadata.is_empty() {
        invocation.metadata = std::mem::take(&mut request.trigger_metadata)
            .into_iter()
            .filter_map(|(key, value)| Some((key, typed_data::metadata_json(value)?)))
            .collect();
    }
    Ok((invocation, forwarded))
}

/// Route values for hosts that send them only in the trigger metadata.
///
/// Current hosts put an HTTP trigger's route values in `RpcHttp`'s `params` (`nullable_params`
/// with `UseNullableValueDictionaryForHttp`; with `HttpUri`, only when they honour
/// `RequiresRouteParameters`). Older hosts leave them out there, but every route value is also
/// trigger binding data, which goes into `trigger_metadata` under the parameter's name, as a
/// string (the host adds query and route parameters to the binding data as strings; a value the
/// host serialized as JSON is read as its text). So when `RpcHttp` carries no route value at
/// all, the route template's parameters are looked up there (names compared ignoring ASCII
/// case, as the host's binding data is); `RpcHttp`'s own values, when there are any, win.
fn route_values_from_metadata(
    function: &FunctionDescription,
    http: &mut RpcHttp,
    metadata: &std::collections::BTreeMap<String, super::proto::TypedData>,
) {
    if !http.params.is_empty() || !http.nullable_params.is_empty() || metadata.is_empty() {
        return;
    }
    let trigger = function.trigger();
    if !trigger.kind.is_http_trigger() {
        return;
    }
    let Some(azfn_bindings::PropertyValue::Str(route)) = trigger.property("route") else {
        return;
    };
    let Ok(template) = azfn_bindings::route::parse_route(route) else {
        return;
    };
    for parameter in template.parameters() {
        let value = metadata
            .get(&parameter.name)
            .or_else(|| {
                metadata
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(&parameter.name))
                    .map(|(_, value)| value)
            })
            .and_then(route_value);
        if let Some(value) = value {
            http.params.insert(parameter.name.clone(), value);
        }
    }
}

/// A route value's text, from the metadata entry holding it.
fn route_value(value: &super::proto::TypedData) -> Option<String> {
    match value.data.as_ref()? {
        Data::String(text) => Some(text.clone()),
        Data::Json(text) => match serde_json::from_str(text) {
            Ok(serde_json::Value::String(text)) => Some(text),
            Ok(value @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => Some(value.to_string()),
            Ok(_) => None,
            Err(_) => Some(text.clone()),
        },
        Data::Int(n) => Some(n.to_string()),
        Data::Double(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Makes the HTTP request the host forwarded for this invocation the trigger's value, with the
/// route parameters of the gRPC half.
fn attach_forwarded_request(invocation: &mut Invocation, key: String, route: RpcHttp, forwarded: RawRequest) {
    let RpcHttp {
        nullable_params,
        params,
        ..
    } = route;
    let params = either_map_owned(nullable_params, params);
    let (request, body) = forwarded.into_http_request(params, invocation.function.streams_request_body);
    invocation.data.insert(key, BindingData::Http(request));
    if let Some(body) = body {
        invocation.attach_request_body(body);
    }
}

/// How an invocation ends: its log lines, its answer to the host, and the response its forwarded
/// request gets, if it owes one.
#[derive(Debug)]
pub(crate) struct Ending {
    pub(crate) logs: Vec<RpcLog>,
    pub(crate) answer: Answer,
    pub(crate) http_response: Option<HttpResponse>,
}

/// The messages that end an invocation, and for a `caller`, its HTTP response.
pub(crate) fn conclude(
    function: &'static FunctionDescription,
    invocation_id: &str,
    result: Result<Outputs, InvocationError>,
    cancelled_by_host: bool,
    caller: Option<Caller>,
) -> Ending {
    match result {
        Ok(outputs) => succeeded(function, invocation_id, outputs, caller),
        Err(error) => {
            let (logs, answer) = failed(function, invocation_id, &error, cancelled_by_host);
            Ending {
                logs,
                answer,
                // The details go to the logs, not to the caller.
                http_response: caller.map(|Caller| crate::dispatch::failure_response(&error)),
            }
        }
    }
}

/// The host's level for a `tracing` level: the .NET `LogLevel` names, one to one.
fn rpc_level(level: tracing::Level) -> rpc_log::Level {
    match level {
        tracing::Level::ERROR => rpc_log::Level::Error,
        tracing::Level::WARN => rpc_log::Level::Warning,
        tracing::Level::INFO => rpc_log::Level::Information,
        tracing::Level::DEBUG => rpc_log::Level::Debug,
        tracing::Level::TRACE => rpc_log::Level::Trace,
    }
}

fn succeeded(
    function: &'static FunctionDescription,
    invocation_id: &str,
    outputs: Outputs,
    caller: Option<Caller>,
) -> Ending {
    let logs = outputs
        .logs
        .into_iter()
        .map(|line| {
            let message = format!("{}: {}", line.target(), line.message());
            invocation_log(invocation_id, function, rpc_level(line.level()), message, None)
        })
        .collect();
    let mut forwarded = caller.map(|Caller| None);
    let mut output_data = Vec::with_capacity(outputs.named.len());
    for (name, value) in outputs.named {
        let Some(value) = answer_forwarded(&mut forwarded, value) else {
            continue;
        };
        // The host finds each output under the exact `function.json` spelling.
        let name = function.binding(name).map_or(name, |b| b.name);
        output_data.push(ParameterBinding {
            name: name.to_owned(),
            rpc_data: Some(RpcData::Data(typed_data::output(value))),
        });
    }
    // An HTTP response returned goes into the frame as it is (`answer.rs`).
    let (return_value, http_return) = match outputs
        .return_value
        .and_then(|value| answer_forwarded(&mut forwarded, value))
    {
        Some(OutputValue::Http(response)) => (None, Some(response)),
        other => (other.map(typed_data::output), None),
    };
    let response = InvocationResponse {
        invocation_id: invocation_id.to_owned(),
        output_data,
        result: Some(success()),
        return_value,
    };
    Ending {
        logs,
        answer: Answer { response, http_return },
        // A function that wrote no HTTP response still answers the caller.
        http_response: forwarded.map(|given| given.unwrap_or_else(HttpResponse::ok)),
    }
}

/// The first HTTP response among the outputs goes to the forwarded request (`forwarded` is
/// `Some` when there is one, holding the response once given); returns the value if it is still
/// to be sent over gRPC.
fn answer_forwarded(forwarded: &mut Option<Option<HttpResponse>>, value: OutputValue) -> Option<OutputValue> {
    match (forwarded, value) {
        (Some(response @ None), OutputValue::Http(http)) => {
            *response = Some(http);
            None
        }
        (_, other) => Some(other),
    }
}

fn failed(
    function: &'static FunctionDescription,
    invocation_id: &str,
    error: &InvocationError,
    cancelled_by_host: bool,
) -> (Vec<RpcLog>, Answer) {
    let exception = invocation_exception(function, error);
    let log = invocation_log(
        invocation_id,
        function,
        rpc_log::Level::Error,
        format!(
            "function `{}` invocation {invocation_id} failed: {error}",
            function.name
        ),
        Some(exception.clone()),
    );
    let result = if cancelled_by_host {
        cancelled(exception)
    } else {
        failure(exception)
    };
    let response = InvocationResponse {
        invocation_id: invocation_id.to_owned(),
        result: Some(result),
        ..InvocationResponse::default()
    };
    (vec![log], Answer::of(response))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use azfn_bindings::{BindingDescription, PropertyValue, catalog};
    use serde_json::json;

    use super::*;
    use crate::function::InvokeFuture;
    use crate::invocation::LogLine;
    use crate::native::proto::{
        NullableString, RetryContext as RpcRetryContext, RpcException, RpcTraceContext, TypedData,
    };

    fn never_called(_: Invocation) -> InvokeFuture {
        Box::pin(async { Ok(Outputs::default()) })
    }

    static BINDINGS: [BindingDescription; 3] = [
        BindingDescription {
            kind: &catalog::QUEUE_TRIGGER,
            name: "inMsg",
            data_type: None,
            properties: &[("queueName", PropertyValue::Str("in"))],
        },
        BindingDescription {
            kind: &catalog::BLOB_INPUT,
            name: "blobIn",
            data_type: None,
            properties: &[("path", PropertyValue::Str("b/{x}"))],
        },
        BindingDescription {
            kind: &catalog::QUEUE_OUTPUT,
            name: "outMsg",
            data_type: None,
            properties: &[("queueName", PropertyValue::Str("out"))],
        },
    ];

    static FUNCTION: FunctionDescription = FunctionDescription {
        name: "copy",
        rust_path: "tests::copy",
        location: ("src/x.rs", 1),
        bindings: &BINDINGS,
        return_bindings: &[],
        retry: None,
        streams_request_body: false,
        invoke: never_called,
    };

    fn input(name: &str, data: Data) -> ParameterBinding {
        ParameterBinding {
            name: name.into(),
            rpc_data: Some(RpcData::Data(TypedData { data: Some(data) })),
        }
    }

    #[tokio::test]
    async fn requests_become_invocations() {
        let mut request = InvocationRequest {
            invocation_id: "i-1".into(),
            function_id: "copy".into(),
            input_data: vec![
                input("INMSG", Data::String("hello".into())),
                input("blobIn", Data::Bytes(vec![1, 2])),
            ],
            trigger_metadata: BTreeMap::from([
                (
                    "DequeueCount".to_owned(),
                    TypedData {
                        data: Some(Data::Json("2".into())),
                    },
                ),
                (
                    "Id".to_owned(),
                    TypedData {
                        data: Some(Data::String("abc".into())),
                    },
                ),
            ]),
            trace_context: Some(RpcTraceContext {
                trace_parent: "00-abc-def-01".into(),
                trace_state: String::new(),
                attributes: BTreeMap::from([("k".to_owned(), "v".to_owned())]),
            }),
            retry_context: Some(RpcRetryContext {
                retry_count: 1,
                max_retry_count: 3,
                exception: Some(RpcException {
                    message: "earlier".into(),
                    ..RpcException::default()
                }),
            }),
        };
        let token = CancellationToken::new();
        let invocation = prepare(&FUNCTION, &mut request, token.clone(), false, None)
            .expect("decodes")
            .invocation()
            .await
            .expect("ready");
        assert_eq!(invocation.invocation_id, "i-1");
        assert_eq!(invocation.binding("inMsg"), &BindingData::Text("hello".into()));
        assert_eq!(invocation.binding("blobIn"), &BindingData::Bytes(vec![1, 2]));
        assert_eq!(
            serde_json::Value::Object(invocation.metadata.into_map()),
            json!({"DequeueCount": 2, "Id": "abc"})
        );
        let retry = invocation.retry.expect("retry");
        assert_eq!((retry.retry_count, retry.max_retry_count), (1, 3));
        assert_eq!(retry.exception.as_deref(), Some("earlier"));
        assert_eq!(invocation.trace.expect("trace").attributes["k"], "v");
        token.cancel();
        assert!(invocation.cancellation.is_cancelled());
    }

    static GREET_BINDINGS: [BindingDescription; 1] = [BindingDescription {
        kind: &catalog::HTTP_TRIGGER,
        name: "req",
        data_type: None,
        properties: &[("route", PropertyValue::Str("greet/{name}/{id:int}/{rest?}"))],
    }];

    static GREET: FunctionDescription = FunctionDescription {
        name: "greet",
        rust_path: "tests::greet",
        location: ("src/x.rs", 1),
        bindings: &GREET_BINDINGS,
        return_bindings: &[],
        retry: None,
        streams_request_body: false,
        invoke: never_called,
    };

    fn greet_request(http: RpcHttp, metadata: &[(&str, Data)]) -> InvocationRequest {
        InvocationRequest {
            invocation_id: "g-1".into(),
            input_data: vec![input("req", Data::Http(Box::new(http)))],
            trigger_metadata: metadata
                .iter()
                .map(|(key, data)| {
                    (
                        (*key).to_owned(),
                        TypedData {
                            data: Some(data.clone()),
                        },
                    )
                })
                .collect(),
            ..InvocationRequest::default()
        }
    }

    async fn params_of(mut request: InvocationRequest) -> BTreeMap<String, String> {
        let invocation = prepare(&GREET, &mut request, CancellationToken::new(), false, None)
            .expect("decodes")
            .invocation()
            .await
            .expect("ready");
        match invocation.binding("req") {
            BindingData::Http(request) => request.params().clone(),
            other => panic!("expected the HTTP request, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn route_values_only_in_the_trigger_metadata_are_read_from_there() {
        // An older host: nothing in `params`, every route value in the trigger metadata, typed
        // as the host serialized it; other binding data (query values, headers) beside them.
        let old_host = RpcHttp {
            method: "GET".into(),
            url: "http://localhost/api/greet/Bob/7?lang=en".into(),
            ..RpcHttp::default()
        };
        let metadata = [
            ("name", Data::String("Bob".into())),
            ("ID", Data::Json("7".into())),
            ("lang", Data::String("en".into())),
            ("Query", Data::Json(r#"{"lang":"en"}"#.into())),
        ];
        let params = params_of(greet_request(old_host.clone(), &metadata)).await;
        assert_eq!(
            params,
            BTreeMap::from([("id".to_owned(), "7".to_owned()), ("name".to_owned(), "Bob".to_owned())])
        );

        // A current host: `params` (plain or nullable) are the route values, whatever the
        // metadata says.
        let current = RpcHttp {
            nullable_params: [("name".to_owned(), NullableString::new("Ann"))].into(),
            ..old_host.clone()
        };
        let params = params_of(greet_request(current, &metadata)).await;
        assert_eq!(params, BTreeMap::from([("name".to_owned(), "Ann".to_owned())]));
        let plain = RpcHttp {
            params: [("name".to_owned(), "Eve".to_owned())].into(),
            ..old_host.clone()
        };
        let params = params_of(greet_request(plain, &metadata)).await;
        assert_eq!(params, BTreeMap::from([("name".to_owned(), "Eve".to_owned())]));

        // Without metadata, there are none to find.
        assert!(params_of(greet_request(old_host, &[])).await.is_empty());
    }

    #[tokio::test]
    async fn shared_memory_and_bad_http_requests_are_refused() {
        let mut shared = InvocationRequest {
            input_data: vec![ParameterBinding {
                name: "inMsg".into(),
                rpc_data: Some(RpcData::RpcSharedMemory(Default::default())),
            }],
            ..InvocationRequest::default()
        };
        let error = prepare(&FUNCTION, &mut shared, CancellationToken::new(), false, None).err();
        assert!(matches!(error, Some(InvocationError::MalformedRequest(_))), "{error:?}");
        let mut bad_http = InvocationRequest {
            input_data: vec![input("inMsg", Data::Http(Box::default()))],
            ..InvocationRequest::default()
        };
        let error = prepare(&FUNCTION, &mut bad_http, CancellationToken::new(), false, None).err();
        assert!(matches!(error, Some(InvocationError::Binding { .. })), "{error:?}");
    }

    #[test]
    fn outputs_go_to_output_data_and_return_value() {
        let outputs = Outputs {
            named: vec![("OUTMSG", OutputValue::Json(json!({"a": 1})))],
            return_value: Some(OutputValue::Text("r".into())),
            logs: vec![
                LogLine::new(tracing::Level::INFO, "app", "hello"),
                LogLine::new(tracing::Level::WARN, "app::retry", "again"),
                LogLine::new(tracing::Level::ERROR, "app", "lost"),
                LogLine::new(tracing::Level::DEBUG, "app", "detail"),
                LogLine::new(tracing::Level::TRACE, "app", "step"),
            ],
        };
        let Ending { logs, answer, .. } = conclude(&FUNCTION, "i", Ok(outputs), false, None);
        let response = answer.into_response();
        assert_eq!(logs.len(), 5);
        assert_eq!(logs[0].invocation_id, "i");
        assert_eq!(logs[0].category, "Function.copy");
        assert_eq!(logs[0].message, "app: hello");
        let levels: Vec<i32> = logs.iter().map(|log| log.level).collect();
        let expected = [
            rpc_log::Level::Information,
            rpc_log::Level::Warning,
            rpc_log::Level::Error,
            rpc_log::Level::Debug,
            rpc_log::Level::Trace,
        ];
        assert_eq!(levels, expected.map(|level| level as i32));
        assert_eq!(response.output_data.len(), 1);
        assert_eq!(response.output_data[0].name, "outMsg");
        assert_eq!(
            response.return_value,
            Some(TypedData {
                data: Some(Data::String("r".into()))
            })
        );
        assert_eq!(response.result, Some(success()));
    }

    #[test]
    fn failures_log_and_report_and_cancellation_is_told_apart() {
        let Ending { logs, answer, .. } =
            conclude(&FUNCTION, "i", Err(InvocationError::Panic("p".into())), false, None);
        assert_eq!(logs[0].level, rpc_log::Level::Error as i32);
        let result = answer.into_response().result.expect("result");
        assert_eq!(
            result.status,
            crate::native::proto::status_result::Status::Failure as i32
        );
        assert!(result.exception.expect("exception").is_user_exception);
        let Ending { answer, .. } = conclude(&FUNCTION, "i", Err(InvocationError::Panic("p".into())), true, None);
        assert_eq!(
            answer.into_response().result.expect("result").status,
            crate::native::proto::status_result::Status::Cancelled as i32
        );
    }

    #[test]
    fn a_failed_forwarded_request_answers_500_or_504_on_the_deadline() {
        for (error, status, body) in [
            (InvocationError::Panic("p".into()), 500, "internal server error"),
            (
                InvocationError::Function(crate::Error::msg("secret")),
                500,
                "internal server error",
            ),
            (
                InvocationError::Timeout(std::time::Duration::from_secs(1)),
                504,
                "the function timed out",
            ),
        ] {
            let ending = conclude(&FUNCTION, "i", Err(error), false, Some(Caller));
            assert_eq!(
                ending.answer.into_response().result.expect("result").status,
                crate::native::proto::status_result::Status::Failure as i32
            );
            let answer = ending.http_response.expect("answered");
            assert_eq!((answer.status().as_u16(), answer.body()), (status, body.as_bytes()));
        }
    }

    #[test]
    fn forwarded_requests_get_the_http_output() {
        let outputs = Outputs {
            named: vec![("outMsg", OutputValue::Text("q".into()))],
            return_value: Some(OutputValue::Http(HttpResponse::new(http::StatusCode::CREATED))),
            logs: Vec::new(),
        };
        let Ending {
            answer, http_response, ..
        } = conclude(&FUNCTION, "i", Ok(outputs.clone()), false, Some(Caller));
        assert!(answer.http_return.is_none());
        let response = answer.into_response();
        assert_eq!(response.return_value, None);
        assert_eq!(response.output_data.len(), 1);
        assert_eq!(http_response.expect("answered").status(), http::StatusCode::CREATED);
        // Without a forwarded request, the HTTP output goes to the host.
        let Ending {
            answer, http_response, ..
        } = conclude(&FUNCTION, "i", Ok(outputs), false, None);
        assert!(answer.http_return.is_some());
        assert!(http_response.is_none());
        // A function that wrote none still answers its caller.
        let ending = conclude(&FUNCTION, "i", Ok(Outputs::default()), false, Some(Caller));
        assert_eq!(ending.http_response.expect("answered").status(), http::StatusCode::OK);
    }
}

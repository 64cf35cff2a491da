//! The durable client: the value of a `durableClient` input binding, and the management API of
//! orchestrations and entities over the Durable extension's local gRPC endpoint
//! (`TaskHubSidecarService`).
//!
//! Under the passthrough protocol the binding's value is JSON naming the task hub, the
//! connection, the extension's gRPC address (`rpcBaseUrl`) and its public HTTP API
//! (`httpBaseUrl` with `requiredQueryStringParameters`). [`DurableClient`] reads it, talks unary
//! gRPC over one lazily opened HTTP/2 connection (reopened when it breaks), and builds the HTTP
//! management links and "check status" responses of the async HTTP pattern.
//!
//! ```no_run
//! use azfn::durable::client::DurableClient;
//! use azfn::{HttpRequest, HttpResponse};
//!
//! async fn start(req: HttpRequest, client_binding: &str) -> Result<HttpResponse, azfn::Error> {
//!     let client = DurableClient::from_binding(client_binding)?;
//!     let instance_id = client.start_new("Hello", &serde_json::json!({"city": "Tokyo"})).await?;
//!     Ok(client.create_check_status_response(&req, &instance_id))
//! }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use azfn_bindings::percent::encode_component;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, TE, USER_AGENT};
use http::{HeaderMap, HeaderValue, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::{Builder, SendRequest};
use hyper_util::rt::{TokioExecutor, TokioIo};
use prost::Message;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;

use super::entity::{EntityId, guid_hyphenated, guid_simple};
use super::proto::{
    CleanEntityStorageRequest, CleanEntityStorageResponse, CreateInstanceRequest, CreateInstanceResponse, EntityQuery,
    GetEntityRequest, GetEntityResponse, GetInstanceRequest, GetInstanceResponse, InstanceQuery, OrchestrationState,
    PurgeInstanceFilter, PurgeInstancesRequest, PurgeInstancesResponse, QueryEntitiesRequest, QueryEntitiesResponse,
    QueryInstancesRequest, QueryInstancesResponse, RaiseEventRequest, RaiseEventResponse, RestartInstanceRequest,
    RestartInstanceResponse, ResumeRequest, ResumeResponse, RewindInstanceRequest, RewindInstanceResponse,
    SignalEntityRequest, SignalEntityResponse, SuspendRequest, SuspendResponse, TerminateRequest, TerminateResponse,
    method, purge_instances_request,
};
use super::proto::{OrchestrationStatus, TaskFailureDetails};
use crate::grpc::codec::{self, FrameDecoder};
use crate::grpc::wkt::{Int32Value, StringValue, Timestamp};
use crate::{HttpRequest, HttpResponse};

/// The largest response accepted when the binding does not say (gRPC's usual default).
const DEFAULT_MAX_MESSAGE: usize = 4 * 1024 * 1024;
/// The deadline of a call when the binding does not say (.NET's `HttpClient` default).
const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(100);
/// The connection name the extension uses when the binding names none.
const DEFAULT_CONNECTION: &str = "Storage";
/// The path of the Durable HTTP API under the host, when the binding has no `httpBaseUrl`.
const DEFAULT_WEBHOOK_PATH: &str = "/runtime/webhooks/durabletask";
/// How often [`DurableClient::wait_for_completion`] polls when the extension cannot wait itself.
const FALLBACK_POLL_INTERVAL: Duration = Duration::from_secs(1);

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// A gRPC status code.
///
/// ```
/// use azfn::durable::client::GrpcCode;
/// assert_eq!(GrpcCode::from_u32(5), GrpcCode::NotFound);
/// assert_eq!(GrpcCode::NotFound.to_string(), "NOT_FOUND");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrpcCode {
    /// 0.
    Ok,
    /// 1.
    Cancelled,
    /// 2.
    Unknown,
    /// 3.
    InvalidArgument,
    /// 4.
    DeadlineExceeded,
    /// 5.
    NotFound,
    /// 6.
    AlreadyExists,
    /// 7.
    PermissionDenied,
    /// 8.
    ResourceExhausted,
    /// 9.
    FailedPrecondition,
    /// 10.
    Aborted,
    /// 11.
    OutOfRange,
    /// 12.
    Unimplemented,
    /// 13.
    Internal,
    /// 14.
    Unavailable,
    /// 15.
    DataLoss,
    /// 16.
    Unauthenticated,
    /// A code gRPC does not define.
    Other(u32),
}

impl GrpcCode {
    /// The code of a number.
    ///
    /// ```
    /// assert_eq!(azfn::durable::client::GrpcCode::from_u32(99), azfn::durable::client::GrpcCode::Other(99));
    /// ```
    pub fn from_u32(code: u32) -> Self {
        use GrpcCode::*;
        match code {
            0 => Ok,
            1 => Cancelled,
            2 => Unknown,
            3 => InvalidArgument,
            4 => DeadlineExceeded,
            5 => NotFound,
            6 => AlreadyExists,
            7 => PermissionDenied,
            8 => ResourceExhausted,
            9 => FailedPrecondition,
            10 => Aborted,
            11 => OutOfRange,
            12 => Unimplemented,
            13 => Internal,
            14 => Unavailable,
            15 => DataLoss,
            16 => Unauthenticated,
            other => Other(other),
        }
    }

    /// The code gRPC maps an HTTP status to, for responses without `grpc-status`.
    fn from_http(status: StatusCode) -> Self {
        match status.as_u16() {
            400 => GrpcCode::Internal,
            401 => GrpcCode::Unauthenticated,
            403 => GrpcCode::PermissionDenied,
            404 => GrpcCode::Unimplemented,
            429 | 502..=504 => GrpcCode::Unavailable,
            _ => GrpcCode::Unknown,
        }
    }
}

impl fmt::Display for GrpcCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            GrpcCode::Ok => "OK",
            GrpcCode::Cancelled => "CANCELLED",
            GrpcCode::Unknown => "UNKNOWN",
            GrpcCode::InvalidArgument => "INVALID_ARGUMENT",
            GrpcCode::DeadlineExceeded => "DEADLINE_EXCEEDED",
            GrpcCode::NotFound => "NOT_FOUND",
            GrpcCode::AlreadyExists => "ALREADY_EXISTS",
            GrpcCode::PermissionDenied => "PERMISSION_DENIED",
            GrpcCode::ResourceExhausted => "RESOURCE_EXHAUSTED",
            GrpcCode::FailedPrecondition => "FAILED_PRECONDITION",
            GrpcCode::Aborted => "ABORTED",
            GrpcCode::OutOfRange => "OUT_OF_RANGE",
            GrpcCode::Unimplemented => "UNIMPLEMENTED",
            GrpcCode::Internal => "INTERNAL",
            GrpcCode::Unavailable => "UNAVAILABLE",
            GrpcCode::DataLoss => "DATA_LOSS",
            GrpcCode::Unauthenticated => "UNAUTHENTICATED",
            GrpcCode::Other(code) => return write!(f, "status {code}"),
        };
        f.write_str(name)
    }
}

/// Why a durable client call failed. Converts into [`azfn::Error`](crate::Error) with `?`.
///
/// ```
/// use azfn::durable::client::{ClientError, GrpcCode};
/// let e = ClientError::Status { method: "RaiseEvent", code: GrpcCode::NotFound, message: "no instance abc".into() };
/// assert!(e.is_not_found());
/// assert_eq!(e.to_string(), "the Durable extension answered RaiseEvent with NOT_FOUND: no instance abc");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientError {
    /// The binding's value is not a durable client's.
    Config(String),
    /// The extension's endpoint could not be reached.
    Connect {
        /// The address.
        address: String,
        /// What went wrong.
        message: String,
    },
    /// The HTTP/2 exchange failed.
    Transport {
        /// The gRPC method.
        method: &'static str,
        /// What went wrong.
        message: String,
    },
    /// The answer is not a well-formed gRPC response.
    Protocol {
        /// The gRPC method.
        method: &'static str,
        /// What went wrong.
        message: String,
    },
    /// The extension answered with a gRPC error status.
    Status {
        /// The gRPC method.
        method: &'static str,
        /// The status.
        code: GrpcCode,
        /// The `grpc-message`.
        message: String,
    },
    /// No orchestration instance has this id.
    InstanceNotFound {
        /// The id.
        instance_id: String,
    },
    /// The call did not finish in time.
    Timeout {
        /// The gRPC method.
        method: &'static str,
        /// The time allowed.
        after: Duration,
    },
    /// A value to send does not serialize, or one received does not deserialize.
    Payload(String),
}

impl ClientError {
    /// The gRPC status, for [`ClientError::Status`].
    ///
    /// ```
    /// use azfn::durable::client::{ClientError, GrpcCode};
    /// assert_eq!(ClientError::Config("x".into()).code(), None);
    /// ```
    pub fn code(&self) -> Option<GrpcCode> {
        match self {
            ClientError::Status { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Whether the instance or entity does not exist (`NOT_FOUND`, or no such instance).
    ///
    /// ```
    /// let e = azfn::durable::client::ClientError::InstanceNotFound { instance_id: "abc".into() };
    /// assert!(e.is_not_found());
    /// ```
    pub fn is_not_found(&self) -> bool {
        matches!(self, ClientError::InstanceNotFound { .. }) || self.code() == Some(GrpcCode::NotFound)
    }

    /// Whether an instance with the id already exists (`ALREADY_EXISTS`).
    ///
    /// ```
    /// use azfn::durable::client::{ClientError, GrpcCode};
    /// let e = ClientError::Status { method: "StartInstance", code: GrpcCode::AlreadyExists, message: String::new() };
    /// assert!(e.is_already_exists());
    /// ```
    pub fn is_already_exists(&self) -> bool {
        self.code() == Some(GrpcCode::AlreadyExists)
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Config(message) => write!(f, "the durable client binding is not usable: {message}"),
            ClientError::Connect { address, message } => {
                write!(f, "cannot connect to the Durable extension at {address}: {message}")
            }
            ClientError::Transport { method, message } => {
                write!(f, "the call {method} to the Durable extension failed: {message}")
            }
            ClientError::Protocol { method, message } => {
                write!(
                    f,
                    "the Durable extension's answer to {method} is not valid gRPC: {message}"
                )
            }
            ClientError::Status {
                method,
                code: GrpcCode::Unimplemented,
                message,
            } => write!(
                f,
                "the Durable extension does not implement {method} (a newer extension bundle may): {message}"
            ),
            ClientError::Status { method, code, message } => {
                write!(f, "the Durable extension answered {method} with {code}: {message}")
            }
            ClientError::InstanceNotFound { instance_id } => {
                write!(f, "no orchestration instance has the id `{instance_id}`")
            }
            ClientError::Timeout { method, after } => {
                write!(
                    f,
                    "the call {method} to the Durable extension did not finish within {after:?}"
                )
            }
            ClientError::Payload(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for ClientError {}

// ---------------------------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------------------------

/// The binding's JSON, as far as azfn reads it. Unknown fields are ignored; `null` is absent.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BindingValue {
    #[serde(default)]
    task_hub_name: Option<String>,
    #[serde(default)]
    connection_name: Option<String>,
    #[serde(default)]
    rpc_base_url: Option<String>,
    #[serde(default)]
    required_query_string_parameters: Option<String>,
    #[serde(default)]
    http_base_url: Option<String>,
    #[serde(default)]
    max_grpc_message_size_in_bytes: Option<serde_json::Value>,
    #[serde(default)]
    grpc_http_client_timeout: Option<serde_json::Value>,
}

/// A client of the Durable extension: starts, queries and manages orchestration instances,
/// signals and reads entities, and builds the HTTP management links. Cheap to clone; clones
/// share one connection.
///
/// ```
/// use azfn::durable::client::DurableClient;
///
/// let client = DurableClient::from_binding(r#"{
///     "taskHubName": "MyHub", "connectionName": null,
///     "rpcBaseUrl": "http://localhost:4001",
///     "httpBaseUrl": "http://localhost:7071/runtime/webhooks/durabletask",
///     "requiredQueryStringParameters": "code=secret"
/// }"#).unwrap();
/// assert_eq!(client.task_hub_name(), "MyHub");
/// ```
#[derive(Clone)]
pub struct DurableClient {
    inner: Arc<Inner>,
}

struct Inner {
    task_hub_name: String,
    connection_name: Option<String>,
    rpc_base_url: String,
    required_query_string_parameters: String,
    http_base_url: Option<String>,
    call_timeout: Duration,
    rpc: Rpc,
}

impl fmt::Debug for DurableClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DurableClient")
            .field("task_hub_name", &self.inner.task_hub_name)
            .field("connection_name", &self.inner.connection_name)
            .field("rpc_base_url", &self.inner.rpc_base_url)
            .field("http_base_url", &self.inner.http_base_url)
            .finish_non_exhaustive()
    }
}

impl DurableClient {
    /// The client a `durableClient` binding's value describes. The value may be the JSON object
    /// or a JSON string holding it (the custom-handler host encodes string values twice).
    ///
    /// ```
    /// use azfn::durable::client::DurableClient;
    /// let twice = serde_json::to_string(r#"{"taskHubName":"h","rpcBaseUrl":"http://localhost:4001"}"#).unwrap();
    /// assert_eq!(DurableClient::from_binding(&twice).unwrap().rpc_base_url(), "http://localhost:4001");
    /// assert!(DurableClient::from_binding(r#"{"taskHubName":"h"}"#).is_err());
    /// ```
    pub fn from_binding(value: &str) -> Result<Self, ClientError> {
        let json: serde_json::Value = serde_json::from_str(value.trim())
            .map_err(|e| ClientError::Config(format!("the binding's value is not JSON: {e}")))?;
        DurableClient::from_json(&json)
    }

    /// The client a binding's value, already parsed, describes (an object, or a string holding
    /// one).
    ///
    /// ```
    /// use azfn::durable::client::DurableClient;
    /// let value = serde_json::json!({"taskHubName": "h", "rpcBaseUrl": "http://127.0.0.1:4001", "extra": [1]});
    /// assert_eq!(DurableClient::from_json(&value).unwrap().task_hub_name(), "h");
    /// ```
    pub fn from_json(value: &serde_json::Value) -> Result<Self, ClientError> {
        let binding: BindingValue = match value {
            serde_json::Value::String(text) => return DurableClient::from_binding(text),
            serde_json::Value::Object(_) => serde_json::from_value(value.clone())
                .map_err(|e| ClientError::Config(format!("the binding's value is not a durable client's: {e}")))?,
            other => {
                return Err(ClientError::Config(format!(
                    "the binding's value is not a JSON object: {other}"
                )));
            }
        };
        let non_empty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
        let rpc_base_url = non_empty(binding.rpc_base_url).ok_or_else(|| {
            ClientError::Config("it has no `rpcBaseUrl` (the Durable extension's gRPC endpoint)".into())
        })?;
        let max_message = binding
            .max_grpc_message_size_in_bytes
            .as_ref()
            .and_then(serde_json::Value::as_u64)
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| *n > 0)
            .unwrap_or(DEFAULT_MAX_MESSAGE);
        let call_timeout = binding
            .grpc_http_client_timeout
            .as_ref()
            .and_then(parse_timeout)
            .unwrap_or(DEFAULT_CALL_TIMEOUT);
        let task_hub_name = binding.task_hub_name.unwrap_or_default();
        let connection_name = non_empty(binding.connection_name);
        let rpc = Rpc::new(&rpc_base_url, &task_hub_name, connection_name.as_deref(), max_message)?;
        Ok(DurableClient {
            inner: Arc::new(Inner {
                task_hub_name,
                connection_name,
                rpc_base_url,
                required_query_string_parameters: binding
                    .required_query_string_parameters
                    .unwrap_or_default()
                    .trim_start_matches('?')
                    .to_owned(),
                http_base_url: non_empty(binding.http_base_url),
                call_timeout,
                rpc,
            }),
        })
    }

    /// The task hub.
    ///
    /// ```
    /// # let client = azfn::durable::client::DurableClient::from_binding(r#"{"taskHubName":"h","rpcBaseUrl":"http://localhost:4001"}"#).unwrap();
    /// assert_eq!(client.task_hub_name(), "h");
    /// ```
    pub fn task_hub_name(&self) -> &str {
        &self.inner.task_hub_name
    }

    /// The connection name, if the binding names one.
    ///
    /// ```
    /// # let client = azfn::durable::client::DurableClient::from_binding(r#"{"taskHubName":"h","rpcBaseUrl":"http://localhost:4001"}"#).unwrap();
    /// assert_eq!(client.connection_name(), None);
    /// ```
    pub fn connection_name(&self) -> Option<&str> {
        self.inner.connection_name.as_deref()
    }

    /// The extension's gRPC endpoint.
    ///
    /// ```
    /// # let client = azfn::durable::client::DurableClient::from_binding(r#"{"taskHubName":"h","rpcBaseUrl":"http://localhost:4001"}"#).unwrap();
    /// assert_eq!(client.rpc_base_url(), "http://localhost:4001");
    /// ```
    pub fn rpc_base_url(&self) -> &str {
        &self.inner.rpc_base_url
    }

    /// The base URL of the extension's public HTTP API, if the binding has one.
    ///
    /// ```
    /// # let client = azfn::durable::client::DurableClient::from_binding(r#"{"taskHubName":"h","rpcBaseUrl":"http://localhost:4001"}"#).unwrap();
    /// assert_eq!(client.http_base_url(), None);
    /// ```
    pub fn http_base_url(&self) -> Option<&str> {
        self.inner.http_base_url.as_deref()
    }

    /// The query string every HTTP API URL needs (the extension's system key), without `?`.
    ///
    /// ```
    /// # let client = azfn::durable::client::DurableClient::from_binding(r#"{"taskHubName":"h","rpcBaseUrl":"http://localhost:4001","requiredQueryStringParameters":"code=k"}"#).unwrap();
    /// assert_eq!(client.required_query_string_parameters(), "code=k");
    /// ```
    pub fn required_query_string_parameters(&self) -> &str {
        &self.inner.required_query_string_parameters
    }

    async fn call<Req: Message, Resp: Message + Default>(
        &self,
        method: &'static str,
        request: &Req,
    ) -> Result<Resp, ClientError> {
        self.inner.rpc.call(method, request, self.inner.call_timeout).await
    }

    // -- orchestrations ------------------------------------------------------------------------

    /// Starts the orchestrator `name` with `input` (`()` or `None` for none) under a new random
    /// instance id, and returns the id.
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// let id = client.start_new("ProcessOrder", &serde_json::json!({"order": 7})).await?;
    /// # Ok(()) }
    /// ```
    pub async fn start_new<I: Serialize + ?Sized>(&self, name: &str, input: &I) -> Result<String, ClientError> {
        self.start(name).input(input).send().await
    }

    /// A start with options: instance id, scheduled start time, version.
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// use std::time::{Duration, SystemTime};
    /// let id = client
    ///     .start("Reminder")
    ///     .instance_id("reminder-42")
    ///     .input(&"call mum")
    ///     .start_at(SystemTime::now() + Duration::from_secs(3600))
    ///     .send()
    ///     .await?;
    /// assert_eq!(id, "reminder-42");
    /// # Ok(()) }
    /// ```
    pub fn start(&self, name: &str) -> StartOrchestration<'_> {
        StartOrchestration {
            client: self,
            name: name.to_owned(),
            instance_id: None,
            input: Ok(None),
            start_at: None,
            version: None,
            tags: BTreeMap::new(),
        }
    }

    /// The instance's status, `None` when no instance has the id. With `show_input`, the input,
    /// output, custom status and failure details are included.
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// if let Some(status) = client.get_status("abc", true).await? {
    ///     println!("{} is {}", status.instance_id, status.runtime_status);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get_status(
        &self,
        instance_id: &str,
        show_input: bool,
    ) -> Result<Option<OrchestrationMetadata>, ClientError> {
        let request = GetInstanceRequest {
            instance_id: instance_id.to_owned(),
            get_inputs_and_outputs: show_input,
        };
        let response: GetInstanceResponse = self.call(method::GET_INSTANCE, &request).await?;
        Ok(instance_of(response))
    }

    /// Waits until the instance completes, fails, is terminated or is canceled, for at most
    /// `timeout`, and returns its final status with input and output. Fails with
    /// [`ClientError::Timeout`] when time runs out, and [`ClientError::InstanceNotFound`] when
    /// there is no such instance.
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// use std::time::Duration;
    /// let done = client.wait_for_completion("abc", Duration::from_secs(30)).await?;
    /// let total: Option<u64> = done.output()?;
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_completion(
        &self,
        instance_id: &str,
        timeout: Duration,
    ) -> Result<OrchestrationMetadata, ClientError> {
        self.wait(
            method::WAIT_FOR_INSTANCE_COMPLETION,
            instance_id,
            timeout,
            RuntimeStatus::is_terminal,
        )
        .await
    }

    /// Waits until the instance has started (is no longer pending), for at most `timeout`.
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// let status = client.wait_for_start("abc", std::time::Duration::from_secs(10)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_start(
        &self,
        instance_id: &str,
        timeout: Duration,
    ) -> Result<OrchestrationMetadata, ClientError> {
        self.wait(method::WAIT_FOR_INSTANCE_START, instance_id, timeout, |s| {
            *s != RuntimeStatus::Pending
        })
        .await
    }

    /// Waits with the extension's wait method, or, when it does not implement it, by polling.
    async fn wait(
        &self,
        wait_method: &'static str,
        instance_id: &str,
        timeout: Duration,
        done: fn(&RuntimeStatus) -> bool,
    ) -> Result<OrchestrationMetadata, ClientError> {
        let request = GetInstanceRequest {
            instance_id: instance_id.to_owned(),
            get_inputs_and_outputs: true,
        };
        let started = Instant::now();
        match self
            .inner
            .rpc
            .call::<_, GetInstanceResponse>(wait_method, &request, timeout)
            .await
        {
            Ok(response) => {
                return instance_of(response).ok_or_else(|| ClientError::InstanceNotFound {
                    instance_id: instance_id.to_owned(),
                });
            }
            Err(ClientError::Status {
                code: GrpcCode::DeadlineExceeded | GrpcCode::Cancelled,
                ..
            }) => {
                return Err(ClientError::Timeout {
                    method: wait_method,
                    after: timeout,
                });
            }
            Err(ClientError::Status {
                code: GrpcCode::Unimplemented,
                ..
            }) => {}
            Err(other) => return Err(other),
        }
        loop {
            let status = self
                .get_status(instance_id, true)
                .await?
                .ok_or_else(|| ClientError::InstanceNotFound {
                    instance_id: instance_id.to_owned(),
                })?;
            if done(&status.runtime_status) {
                return Ok(status);
            }
            let left = timeout.saturating_sub(started.elapsed());
            if left.is_zero() {
                return Err(ClientError::Timeout {
                    method: wait_method,
                    after: timeout,
                });
            }
            tokio::time::sleep(left.min(FALLBACK_POLL_INTERVAL)).await;
        }
    }

    /// One page of instances matching `filter`.
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// use azfn::durable::client::{InstanceFilter, RuntimeStatus};
    /// let mut filter = InstanceFilter { statuses: vec![RuntimeStatus::Running], ..Default::default() };
    /// loop {
    ///     let page = client.query_instances(&filter).await?;
    ///     for instance in &page.instances {
    ///         println!("{}", instance.instance_id);
    ///     }
    ///     match page.continuation_token {
    ///         Some(token) => filter.continuation_token = Some(token),
    ///         None => break,
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn query_instances(&self, filter: &InstanceFilter) -> Result<InstancePage, ClientError> {
        let request = QueryInstancesRequest {
            query: Some(InstanceQuery {
                runtime_status: filter.statuses.iter().map(|s| s.to_proto()).collect(),
                created_time_from: filter.created_from.map(Timestamp::from_system_time),
                created_time_to: filter.created_to.map(Timestamp::from_system_time),
                task_hub_names: filter
                    .task_hub_names
                    .iter()
                    .map(|n| StringValue::from(n.as_str()))
                    .collect(),
                max_instance_count: i32::try_from(filter.page_size.unwrap_or(100)).unwrap_or(i32::MAX),
                continuation_token: filter.continuation_token.as_deref().map(StringValue::from),
                instance_id_prefix: filter.instance_id_prefix.as_deref().map(StringValue::from),
                fetch_inputs_and_outputs: filter.fetch_inputs_and_outputs,
            }),
        };
        let response: QueryInstancesResponse = self.call(method::QUERY_INSTANCES, &request).await?;
        Ok(InstancePage {
            instances: response
                .orchestration_state
                .into_iter()
                .map(OrchestrationMetadata::from_proto)
                .collect(),
            continuation_token: non_empty(response.continuation_token),
        })
    }

    /// Sends the event `name` with `data` to the instance.
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// client.raise_event("abc", "Approval", &true).await?;
    /// # Ok(()) }
    /// ```
    pub async fn raise_event<D: Serialize + ?Sized>(
        &self,
        instance_id: &str,
        name: &str,
        data: &D,
    ) -> Result<(), ClientError> {
        let request = RaiseEventRequest {
            instance_id: instance_id.to_owned(),
            name: name.to_owned(),
            input: payload(data, "the event's data")?,
        };
        let _: RaiseEventResponse = self.call(method::RAISE_EVENT, &request).await?;
        Ok(())
    }

    /// Terminates the instance; `output` (often a reason text) becomes its output.
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// client.terminate("abc", &"cancelled by the user").await?;
    /// # Ok(()) }
    /// ```
    pub async fn terminate<O: Serialize + ?Sized>(&self, instance_id: &str, output: &O) -> Result<(), ClientError> {
        let request = TerminateRequest {
            instance_id: instance_id.to_owned(),
            output: payload(output, "the termination output")?,
            recursive: false,
        };
        let _: TerminateResponse = self.call(method::TERMINATE_INSTANCE, &request).await?;
        Ok(())
    }

    /// Suspends the instance (`reason` may be empty).
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// client.suspend("abc", "maintenance").await?;
    /// # Ok(()) }
    /// ```
    pub async fn suspend(&self, instance_id: &str, reason: &str) -> Result<(), ClientError> {
        let request = SuspendRequest {
            instance_id: instance_id.to_owned(),
            reason: reason_of(reason),
        };
        let _: SuspendResponse = self.call(method::SUSPEND_INSTANCE, &request).await?;
        Ok(())
    }

    /// Resumes a suspended instance (`reason` may be empty).
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// client.resume("abc", "").await?;
    /// # Ok(()) }
    /// ```
    pub async fn resume(&self, instance_id: &str, reason: &str) -> Result<(), ClientError> {
        let request = ResumeRequest {
            instance_id: instance_id.to_owned(),
            reason: reason_of(reason),
        };
        let _: ResumeResponse = self.call(method::RESUME_INSTANCE, &request).await?;
        Ok(())
    }

    /// Rewinds a failed instance to its last good state (`reason` may be empty).
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// client.rewind("abc", "fixed the bug").await?;
    /// # Ok(()) }
    /// ```
    pub async fn rewind(&self, instance_id: &str, reason: &str) -> Result<(), ClientError> {
        let request = RewindInstanceRequest {
            instance_id: instance_id.to_owned(),
            reason: reason_of(reason),
        };
        let _: RewindInstanceResponse = self.call(method::REWIND_INSTANCE, &request).await?;
        Ok(())
    }

    /// Restarts the instance with its original input, under the same id or a new one, and
    /// returns the id it runs under.
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// let new_id = client.restart("abc", true).await?;
    /// # Ok(()) }
    /// ```
    pub async fn restart(&self, instance_id: &str, new_instance_id: bool) -> Result<String, ClientError> {
        let request = RestartInstanceRequest {
            instance_id: instance_id.to_owned(),
            restart_with_new_instance_id: new_instance_id,
        };
        let response: RestartInstanceResponse = self.call(method::RESTART_INSTANCE, &request).await?;
        Ok(response.instance_id)
    }

    /// Deletes the instance's history and state.
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// let purged = client.purge("abc").await?;
    /// assert!(purged.deleted_instance_count <= 1);
    /// # Ok(()) }
    /// ```
    pub async fn purge(&self, instance_id: &str) -> Result<PurgeResult, ClientError> {
        let request = PurgeInstancesRequest {
            request: Some(purge_instances_request::Request::InstanceId(instance_id.to_owned())),
            recursive: false,
            is_orchestration: true,
        };
        self.purge_with(request).await
    }

    /// Deletes the history and state of the instances matching `filter`.
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// use std::time::{Duration, SystemTime};
    /// use azfn::durable::client::{PurgeFilter, RuntimeStatus};
    /// let filter = PurgeFilter {
    ///     created_to: Some(SystemTime::now() - Duration::from_secs(30 * 86400)),
    ///     statuses: vec![RuntimeStatus::Completed],
    ///     ..Default::default()
    /// };
    /// client.purge_instances(&filter).await?;
    /// # Ok(()) }
    /// ```
    pub async fn purge_instances(&self, filter: &PurgeFilter) -> Result<PurgeResult, ClientError> {
        let request = PurgeInstancesRequest {
            request: Some(purge_instances_request::Request::PurgeInstanceFilter(
                PurgeInstanceFilter {
                    created_time_from: filter.created_from.map(Timestamp::from_system_time),
                    created_time_to: filter.created_to.map(Timestamp::from_system_time),
                    runtime_status: filter.statuses.iter().map(|s| s.to_proto()).collect(),
                    timeout: None,
                },
            )),
            recursive: false,
            is_orchestration: false,
        };
        self.purge_with(request).await
    }

    async fn purge_with(&self, request: PurgeInstancesRequest) -> Result<PurgeResult, ClientError> {
        let response: PurgeInstancesResponse = self.call(method::PURGE_INSTANCES, &request).await?;
        Ok(PurgeResult {
            deleted_instance_count: u32::try_from(response.deleted_instance_count).unwrap_or(0),
            is_complete: response.is_complete.map(|b| b.value),
        })
    }

    // -- entities ------------------------------------------------------------------------------

    /// Sends a signal (a one-way operation) to an entity; `()` or `None` sends no input.
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// use azfn::durable::entity::EntityId;
    /// client.signal_entity(&EntityId::new("counter", "a"), "add", &5).await?;
    /// # Ok(()) }
    /// ```
    pub async fn signal_entity<I: Serialize + ?Sized>(
        &self,
        entity: &EntityId,
        operation: &str,
        input: &I,
    ) -> Result<(), ClientError> {
        self.signal(entity, operation, input, None).await
    }

    /// Sends a signal to an entity, delivered at `at`.
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// use std::time::{Duration, SystemTime};
    /// use azfn::durable::entity::EntityId;
    /// let at = SystemTime::now() + Duration::from_secs(60);
    /// client.signal_entity_at(&EntityId::new("counter", "a"), "reset", &(), at).await?;
    /// # Ok(()) }
    /// ```
    pub async fn signal_entity_at<I: Serialize + ?Sized>(
        &self,
        entity: &EntityId,
        operation: &str,
        input: &I,
        at: SystemTime,
    ) -> Result<(), ClientError> {
        self.signal(entity, operation, input, Some(at)).await
    }

    async fn signal<I: Serialize + ?Sized>(
        &self,
        entity: &EntityId,
        operation: &str,
        input: &I,
        at: Option<SystemTime>,
    ) -> Result<(), ClientError> {
        let request = SignalEntityRequest {
            instance_id: entity.to_string(),
            name: operation.to_owned(),
            input: payload(input, "the signal's input")?,
            request_id: guid_hyphenated(),
            scheduled_time: at.map(Timestamp::from_system_time),
            parent_trace_context: None,
            request_time: Some(Timestamp::from_system_time(SystemTime::now())),
        };
        let _: SignalEntityResponse = self.call(method::SIGNAL_ENTITY, &request).await?;
        Ok(())
    }

    /// The entity's metadata, and its state when `include_state`; `None` when it does not
    /// exist.
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// use azfn::durable::entity::EntityId;
    /// if let Some(entity) = client.get_entity(&EntityId::new("counter", "a"), true).await? {
    ///     let value: Option<i64> = entity.state()?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get_entity(
        &self,
        entity: &EntityId,
        include_state: bool,
    ) -> Result<Option<EntityMetadata>, ClientError> {
        let request = GetEntityRequest {
            instance_id: entity.to_string(),
            include_state,
        };
        let response: GetEntityResponse = self.call(method::GET_ENTITY, &request).await?;
        match response.entity {
            Some(metadata) if response.exists => EntityMetadata::from_proto(metadata, method::GET_ENTITY).map(Some),
            _ => Ok(None),
        }
    }

    /// The entity's state, typed; `None` when the entity does not exist or has no state.
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// use azfn::durable::entity::EntityId;
    /// let count: Option<i64> = client.get_entity_state(&EntityId::new("counter", "a")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn get_entity_state<S: DeserializeOwned>(&self, entity: &EntityId) -> Result<Option<S>, ClientError> {
        match self.get_entity(entity, true).await? {
            Some(metadata) => metadata.state(),
            None => Ok(None),
        }
    }

    /// One page of entities matching `filter`.
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// use azfn::durable::client::EntityFilter;
    /// let filter = EntityFilter { instance_id_starts_with: Some("counter".into()), include_state: true, ..Default::default() };
    /// let page = client.query_entities(&filter).await?;
    /// # Ok(()) }
    /// ```
    pub async fn query_entities(&self, filter: &EntityFilter) -> Result<EntityPage, ClientError> {
        let request = QueryEntitiesRequest {
            query: Some(EntityQuery {
                instance_id_starts_with: filter
                    .instance_id_starts_with
                    .as_deref()
                    .map(entity_prefix)
                    .map(StringValue::from),
                last_modified_from: filter.last_modified_from.map(Timestamp::from_system_time),
                last_modified_to: filter.last_modified_to.map(Timestamp::from_system_time),
                include_state: filter.include_state,
                include_transient: filter.include_transient,
                page_size: filter.page_size.map(|n| Int32Value {
                    value: i32::try_from(n).unwrap_or(i32::MAX),
                }),
                continuation_token: filter.continuation_token.as_deref().map(StringValue::from),
            }),
        };
        let response: QueryEntitiesResponse = self.call(method::QUERY_ENTITIES, &request).await?;
        Ok(EntityPage {
            entities: response
                .entities
                .into_iter()
                .map(|e| EntityMetadata::from_proto(e, method::QUERY_ENTITIES))
                .collect::<Result<_, _>>()?,
            continuation_token: non_empty(response.continuation_token),
        })
    }

    /// Removes entities without state and releases locks held by orchestrations that no longer
    /// run, going through every page.
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// let cleaned = client.clean_entity_storage(true, true).await?;
    /// println!("{} empty entities removed", cleaned.empty_entities_removed);
    /// # Ok(()) }
    /// ```
    pub async fn clean_entity_storage(
        &self,
        remove_empty_entities: bool,
        release_orphaned_locks: bool,
    ) -> Result<CleanEntityStorageResult, ClientError> {
        let mut total = CleanEntityStorageResult::default();
        let mut continuation_token = None;
        loop {
            let request = CleanEntityStorageRequest {
                continuation_token: continuation_token.take(),
                remove_empty_entities,
                release_orphaned_locks,
            };
            let response: CleanEntityStorageResponse = self.call(method::CLEAN_ENTITY_STORAGE, &request).await?;
            total.empty_entities_removed += u32::try_from(response.empty_entities_removed).unwrap_or(0);
            total.orphaned_locks_released += u32::try_from(response.orphaned_locks_released).unwrap_or(0);
            match non_empty(response.continuation_token) {
                Some(token) => continuation_token = Some(StringValue::from(token)),
                None => return Ok(total),
            }
        }
    }

    // -- the HTTP API --------------------------------------------------------------------------

    /// The management links of an instance, on the extension's HTTP API at `httpBaseUrl`.
    /// Fails when the binding has no `httpBaseUrl`.
    ///
    /// ```
    /// use azfn::durable::client::DurableClient;
    /// let client = DurableClient::from_binding(r#"{"taskHubName":"Hub","connectionName":"Storage",
    ///     "rpcBaseUrl":"http://localhost:4001","requiredQueryStringParameters":"code=k",
    ///     "httpBaseUrl":"http://localhost:7071/runtime/webhooks/durabletask"}"#).unwrap();
    /// let links = client.create_http_management_payload("abc").unwrap();
    /// assert_eq!(
    ///     links.status_query_get_uri,
    ///     "http://localhost:7071/runtime/webhooks/durabletask/instances/abc?taskHub=Hub&connection=Storage&code=k"
    /// );
    /// ```
    pub fn create_http_management_payload(&self, instance_id: &str) -> Result<HttpManagementPayload, ClientError> {
        let base =
            self.inner.http_base_url.as_deref().ok_or_else(|| {
                ClientError::Config("it has no `httpBaseUrl`, so there is no HTTP API to link to".into())
            })?;
        Ok(self.management_payload(base.trim_end_matches('/'), instance_id))
    }

    /// The `202 Accepted` answer of the async HTTP pattern: the management links as JSON, with
    /// `Location` (the status URL) and `Retry-After: 10`. The links use the origin (scheme, host
    /// and port) the caller used for `request`, and the path of `httpBaseUrl`.
    ///
    /// ```
    /// use azfn::HttpRequest;
    /// use azfn::durable::client::DurableClient;
    /// let client = DurableClient::from_binding(r#"{"taskHubName":"Hub","rpcBaseUrl":"http://localhost:4001",
    ///     "httpBaseUrl":"http://localhost:7071/runtime/webhooks/durabletask"}"#).unwrap();
    /// let req = HttpRequest::builder().url("https://app.example.com/api/start").build();
    /// let res = client.create_check_status_response(&req, "abc");
    /// assert_eq!(res.status(), http::StatusCode::ACCEPTED);
    /// assert_eq!(
    ///     res.header_value("location"),
    ///     Some("https://app.example.com/runtime/webhooks/durabletask/instances/abc?taskHub=Hub&connection=Storage")
    /// );
    /// assert_eq!(res.header_value("retry-after"), Some("10"));
    /// ```
    pub fn create_check_status_response(&self, request: &HttpRequest, instance_id: &str) -> HttpResponse {
        let payload = self.management_payload_for(request, instance_id);
        HttpResponse::new(StatusCode::ACCEPTED)
            .header("location", &payload.status_query_get_uri)
            .header("retry-after", "10")
            .json(&payload)
    }

    /// Waits up to `timeout`, polling every `interval`, for the instance to finish, and answers
    /// like the extension's HTTP API: `200` with the output when it completed, `200` with its
    /// status when it failed, was terminated or canceled, and otherwise the `202` of
    /// [`create_check_status_response`](Self::create_check_status_response).
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient, req: azfn::HttpRequest) -> Result<azfn::HttpResponse, azfn::Error> {
    /// use std::time::Duration;
    /// let id = client.start_new("Quick", &()).await?;
    /// Ok(client
    ///     .wait_for_completion_or_create_check_status_response(&req, &id, Duration::from_secs(10), Duration::from_secs(1))
    ///     .await?)
    /// # }
    /// ```
    pub async fn wait_for_completion_or_create_check_status_response(
        &self,
        request: &HttpRequest,
        instance_id: &str,
        timeout: Duration,
        interval: Duration,
    ) -> Result<HttpResponse, ClientError> {
        let started = Instant::now();
        loop {
            let status = self.get_status(instance_id, true).await?;
            match status {
                Some(status) if status.runtime_status == RuntimeStatus::Completed => {
                    let output = status.serialized_output.unwrap_or_else(|| "null".to_owned());
                    return Ok(HttpResponse::ok()
                        .header("content-type", "application/json")
                        .bytes(output));
                }
                Some(status) if status.runtime_status.is_terminal() => {
                    return Ok(HttpResponse::ok().json(&status.to_json()));
                }
                _ => {}
            }
            let left = timeout.saturating_sub(started.elapsed());
            if left.is_zero() {
                return Ok(self.create_check_status_response(request, instance_id));
            }
            tokio::time::sleep(left.min(interval.max(Duration::from_millis(1)))).await;
        }
    }

    /// The links for a request: its origin, and the path of `httpBaseUrl`.
    fn management_payload_for(&self, request: &HttpRequest, instance_id: &str) -> HttpManagementPayload {
        let configured = self.inner.http_base_url.as_deref().map(|b| b.trim_end_matches('/'));
        let request_origin = origin_of(request.url());
        let base = match (request_origin, configured) {
            (Some(origin), Some(base)) => match origin_of(base) {
                Some(base_origin) => format!("{origin}{}", &base[base_origin.len()..]),
                None => base.to_owned(),
            },
            (Some(origin), None) => format!("{origin}{DEFAULT_WEBHOOK_PATH}"),
            (None, Some(base)) => base.to_owned(),
            (None, None) => DEFAULT_WEBHOOK_PATH.to_owned(),
        };
        self.management_payload(&base, instance_id)
    }

    fn management_payload(&self, base: &str, instance_id: &str) -> HttpManagementPayload {
        let instance = format!("{base}/instances/{}", encode_component(instance_id));
        let mut query = String::new();
        if !self.inner.task_hub_name.is_empty() {
            query.push_str("taskHub=");
            query.push_str(&encode_component(&self.inner.task_hub_name));
            query.push('&');
        }
        query.push_str("connection=");
        query.push_str(&encode_component(
            self.inner.connection_name.as_deref().unwrap_or(DEFAULT_CONNECTION),
        ));
        if !self.inner.required_query_string_parameters.is_empty() {
            query.push('&');
            query.push_str(&self.inner.required_query_string_parameters);
        }
        HttpManagementPayload {
            id: instance_id.to_owned(),
            status_query_get_uri: format!("{instance}?{query}"),
            send_event_post_uri: format!("{instance}/raiseEvent/{{eventName}}?{query}"),
            terminate_post_uri: format!("{instance}/terminate?reason={{text}}&{query}"),
            rewind_post_uri: format!("{instance}/rewind?reason={{text}}&{query}"),
            purge_history_delete_uri: format!("{instance}?{query}"),
            restart_post_uri: format!("{instance}/restart?{query}"),
            suspend_post_uri: format!("{instance}/suspend?reason={{text}}&{query}"),
            resume_post_uri: format!("{instance}/resume?reason={{text}}&{query}"),
        }
    }
}

/// An orchestration start with options, from [`DurableClient::start`].
///
/// ```no_run
/// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
/// let id = client.start("Hello").input(&"Tokyo").version("2").send().await?;
/// # Ok(()) }
/// ```
#[must_use = "a start does nothing until it is sent"]
pub struct StartOrchestration<'c> {
    client: &'c DurableClient,
    name: String,
    instance_id: Option<String>,
    input: Result<Option<String>, ClientError>,
    start_at: Option<SystemTime>,
    version: Option<String>,
    tags: BTreeMap<String, String>,
}

impl fmt::Debug for StartOrchestration<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StartOrchestration")
            .field("name", &self.name)
            .field("instance_id", &self.instance_id)
            .field("input", &self.input)
            .field("start_at", &self.start_at)
            .finish_non_exhaustive()
    }
}

impl StartOrchestration<'_> {
    /// The instance id (a new random one when not set).
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// client.start("Hello").instance_id("hello-1").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn instance_id(mut self, instance_id: impl Into<String>) -> Self {
        self.instance_id = Some(instance_id.into());
        self
    }

    /// The input; `()` or `None` is none.
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// client.start("Hello").input(&vec![1, 2, 3]).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn input<I: Serialize + ?Sized>(mut self, input: &I) -> Self {
        self.input = json_text(input).map_err(|e| ClientError::Payload(format!("the input does not serialize: {e}")));
        self
    }

    /// When the instance starts (now when not set).
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// use std::time::{Duration, SystemTime};
    /// client.start("Later").start_at(SystemTime::now() + Duration::from_secs(60)).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn start_at(mut self, at: SystemTime) -> Self {
        self.start_at = Some(at);
        self
    }

    /// The orchestrator's version.
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// client.start("Hello").version("1.1").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// A tag of the instance.
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// client.start("Hello").tag("tenant", "contoso").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn tag(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(name.into(), value.into());
        self
    }

    /// Starts the instance and returns its id.
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// let id = client.start("Hello").send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<String, ClientError> {
        let instance_id = self.instance_id.filter(|id| !id.is_empty()).unwrap_or_else(guid_simple);
        let request = CreateInstanceRequest {
            instance_id: instance_id.clone(),
            name: self.name,
            version: self.version.map(StringValue::from),
            input: self.input?.map(StringValue::from),
            scheduled_start_timestamp: self.start_at.map(Timestamp::from_system_time),
            tags: self.tags,
            request_time: Some(Timestamp::from_system_time(SystemTime::now())),
            ..Default::default()
        };
        let response: CreateInstanceResponse = self.client.call(method::START_INSTANCE, &request).await?;
        Ok(if response.instance_id.is_empty() {
            instance_id
        } else {
            response.instance_id
        })
    }
}

// ---------------------------------------------------------------------------------------------
// What the client returns
// ---------------------------------------------------------------------------------------------

/// An orchestration instance's runtime status.
///
/// ```
/// use azfn::durable::client::RuntimeStatus;
/// assert!(RuntimeStatus::Failed.is_terminal());
/// assert!(!RuntimeStatus::Suspended.is_terminal());
/// assert_eq!(RuntimeStatus::ContinuedAsNew.to_string(), "ContinuedAsNew");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuntimeStatus {
    /// Running, or waiting for work.
    Running,
    /// Completed with an output.
    Completed,
    /// Restarted with new input.
    ContinuedAsNew,
    /// Failed.
    Failed,
    /// Canceled.
    Canceled,
    /// Terminated by a client.
    Terminated,
    /// Scheduled, not started yet.
    Pending,
    /// Suspended by a client.
    Suspended,
    /// A status this version of azfn does not know.
    Unknown(i32),
}

impl RuntimeStatus {
    /// Whether the instance has finished: completed, failed, terminated or canceled.
    ///
    /// ```
    /// assert!(azfn::durable::client::RuntimeStatus::Completed.is_terminal());
    /// ```
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            RuntimeStatus::Completed | RuntimeStatus::Failed | RuntimeStatus::Terminated | RuntimeStatus::Canceled
        )
    }

    /// The status of the protocol's number.
    ///
    /// ```
    /// use azfn::durable::client::RuntimeStatus;
    /// assert_eq!(RuntimeStatus::from_proto(7), RuntimeStatus::Suspended);
    /// assert_eq!(RuntimeStatus::from_proto(42), RuntimeStatus::Unknown(42));
    /// ```
    pub fn from_proto(status: i32) -> Self {
        match OrchestrationStatus::try_from(status) {
            Ok(OrchestrationStatus::Running) => RuntimeStatus::Running,
            Ok(OrchestrationStatus::Completed) => RuntimeStatus::Completed,
            Ok(OrchestrationStatus::ContinuedAsNew) => RuntimeStatus::ContinuedAsNew,
            Ok(OrchestrationStatus::Failed) => RuntimeStatus::Failed,
            Ok(OrchestrationStatus::Canceled) => RuntimeStatus::Canceled,
            Ok(OrchestrationStatus::Terminated) => RuntimeStatus::Terminated,
            Ok(OrchestrationStatus::Pending) => RuntimeStatus::Pending,
            Ok(OrchestrationStatus::Suspended) => RuntimeStatus::Suspended,
            Err(_) => RuntimeStatus::Unknown(status),
        }
    }

    fn to_proto(self) -> i32 {
        let status = match self {
            RuntimeStatus::Running => OrchestrationStatus::Running,
            RuntimeStatus::Completed => OrchestrationStatus::Completed,
            RuntimeStatus::ContinuedAsNew => OrchestrationStatus::ContinuedAsNew,
            RuntimeStatus::Failed => OrchestrationStatus::Failed,
            RuntimeStatus::Canceled => OrchestrationStatus::Canceled,
            RuntimeStatus::Terminated => OrchestrationStatus::Terminated,
            RuntimeStatus::Pending => OrchestrationStatus::Pending,
            RuntimeStatus::Suspended => OrchestrationStatus::Suspended,
            RuntimeStatus::Unknown(other) => return other,
        };
        status as i32
    }
}

impl fmt::Display for RuntimeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuntimeStatus::Running => f.write_str("Running"),
            RuntimeStatus::Completed => f.write_str("Completed"),
            RuntimeStatus::ContinuedAsNew => f.write_str("ContinuedAsNew"),
            RuntimeStatus::Failed => f.write_str("Failed"),
            RuntimeStatus::Canceled => f.write_str("Canceled"),
            RuntimeStatus::Terminated => f.write_str("Terminated"),
            RuntimeStatus::Pending => f.write_str("Pending"),
            RuntimeStatus::Suspended => f.write_str("Suspended"),
            RuntimeStatus::Unknown(n) => write!(f, "Unknown({n})"),
        }
    }
}

/// An orchestration instance's status. Inputs, outputs and custom status are kept as the JSON
/// text the extension stores; the typed getters deserialize them.
///
/// ```
/// use azfn::durable::client::{OrchestrationMetadata, RuntimeStatus};
/// let status = OrchestrationMetadata {
///     instance_id: "abc".into(),
///     runtime_status: RuntimeStatus::Completed,
///     serialized_output: Some("[1,2]".into()),
///     ..Default::default()
/// };
/// assert_eq!(status.output::<Vec<u8>>().unwrap(), Some(vec![1, 2]));
/// assert_eq!(status.input::<String>().unwrap(), None);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OrchestrationMetadata {
    /// The orchestrator's name.
    pub name: String,
    /// The instance id.
    pub instance_id: String,
    /// The runtime status.
    pub runtime_status: RuntimeStatus,
    /// When it was created.
    pub created_at: Option<SystemTime>,
    /// When it last changed.
    pub last_updated_at: Option<SystemTime>,
    /// When it completed.
    pub completed_at: Option<SystemTime>,
    /// When it was scheduled to start.
    pub scheduled_start_at: Option<SystemTime>,
    /// The input as JSON text.
    pub serialized_input: Option<String>,
    /// The output as JSON text.
    pub serialized_output: Option<String>,
    /// The custom status as JSON text.
    pub serialized_custom_status: Option<String>,
    /// Why it failed, when it did.
    pub failure_details: Option<TaskFailureDetails>,
    /// The current execution's id.
    pub execution_id: Option<String>,
    /// The parent's instance id, for a sub-orchestration.
    pub parent_instance_id: Option<String>,
    /// The orchestrator's version.
    pub version: Option<String>,
    /// Tags of the instance.
    pub tags: BTreeMap<String, String>,
}

impl Default for OrchestrationMetadata {
    fn default() -> Self {
        OrchestrationMetadata {
            name: String::new(),
            instance_id: String::new(),
            runtime_status: RuntimeStatus::Pending,
            created_at: None,
            last_updated_at: None,
            completed_at: None,
            scheduled_start_at: None,
            serialized_input: None,
            serialized_output: None,
            serialized_custom_status: None,
            failure_details: None,
            execution_id: None,
            parent_instance_id: None,
            version: None,
            tags: BTreeMap::new(),
        }
    }
}

impl OrchestrationMetadata {
    fn from_proto(state: OrchestrationState) -> Self {
        let time = |t: Option<Timestamp>| t.map(Timestamp::to_system_time);
        OrchestrationMetadata {
            runtime_status: RuntimeStatus::from_proto(state.orchestration_status),
            name: state.name,
            instance_id: state.instance_id,
            created_at: time(state.created_timestamp),
            last_updated_at: time(state.last_updated_timestamp),
            completed_at: time(state.completed_timestamp),
            scheduled_start_at: time(state.scheduled_start_timestamp),
            serialized_input: non_empty(state.input),
            serialized_output: non_empty(state.output),
            serialized_custom_status: non_empty(state.custom_status),
            failure_details: state.failure_details,
            execution_id: non_empty(state.execution_id),
            parent_instance_id: non_empty(state.parent_instance_id),
            version: non_empty(state.version),
            tags: state.tags,
        }
    }

    /// The input, deserialized; `None` when there is none (or it was not asked for).
    ///
    /// ```
    /// let status = azfn::durable::client::OrchestrationMetadata { serialized_input: Some("\"Tokyo\"".into()), ..Default::default() };
    /// assert_eq!(status.input::<String>().unwrap().as_deref(), Some("Tokyo"));
    /// ```
    pub fn input<T: DeserializeOwned>(&self) -> Result<Option<T>, ClientError> {
        typed(self.serialized_input.as_deref(), "input", &self.instance_id)
    }

    /// The output, deserialized; `None` when there is none.
    ///
    /// ```
    /// let status = azfn::durable::client::OrchestrationMetadata { serialized_output: Some("3".into()), ..Default::default() };
    /// assert_eq!(status.output::<u32>().unwrap(), Some(3));
    /// ```
    pub fn output<T: DeserializeOwned>(&self) -> Result<Option<T>, ClientError> {
        typed(self.serialized_output.as_deref(), "output", &self.instance_id)
    }

    /// The custom status, deserialized; `None` when there is none.
    ///
    /// ```
    /// let status = azfn::durable::client::OrchestrationMetadata { serialized_custom_status: Some("{\"step\":2}".into()), ..Default::default() };
    /// assert_eq!(status.custom_status::<serde_json::Value>().unwrap().unwrap()["step"], 2);
    /// ```
    pub fn custom_status<T: DeserializeOwned>(&self) -> Result<Option<T>, ClientError> {
        typed(
            self.serialized_custom_status.as_deref(),
            "custom status",
            &self.instance_id,
        )
    }

    /// The status as the extension's HTTP API shows it: `name`, `instanceId`, `runtimeStatus`,
    /// `input`, `customStatus`, `output`, `createdTime`, `lastUpdatedTime`.
    ///
    /// ```
    /// use azfn::durable::client::{OrchestrationMetadata, RuntimeStatus};
    /// let status = OrchestrationMetadata { instance_id: "abc".into(), runtime_status: RuntimeStatus::Failed, ..Default::default() };
    /// assert_eq!(status.to_json()["runtimeStatus"], "Failed");
    /// ```
    pub fn to_json(&self) -> serde_json::Value {
        let value = |text: &Option<String>| {
            text.as_deref()
                .map(|t| serde_json::from_str(t).unwrap_or_else(|_| serde_json::Value::String(t.to_owned())))
                .unwrap_or(serde_json::Value::Null)
        };
        let time = |t: Option<SystemTime>| t.map(format_time).map_or(serde_json::Value::Null, Into::into);
        serde_json::json!({
            "name": self.name,
            "instanceId": self.instance_id,
            "runtimeStatus": self.runtime_status.to_string(),
            "input": value(&self.serialized_input),
            "customStatus": value(&self.serialized_custom_status),
            "output": value(&self.serialized_output),
            "createdTime": time(self.created_at),
            "lastUpdatedTime": time(self.last_updated_at),
        })
    }
}

/// Which instances [`DurableClient::query_instances`] lists.
///
/// ```
/// use azfn::durable::client::{InstanceFilter, RuntimeStatus};
/// let filter = InstanceFilter { statuses: vec![RuntimeStatus::Failed], page_size: Some(20), ..Default::default() };
/// assert!(filter.continuation_token.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstanceFilter {
    /// Only instances created at or after this time.
    pub created_from: Option<SystemTime>,
    /// Only instances created at or before this time.
    pub created_to: Option<SystemTime>,
    /// Only instances in these statuses (all when empty).
    pub statuses: Vec<RuntimeStatus>,
    /// Only instances whose id starts with this.
    pub instance_id_prefix: Option<String>,
    /// Only instances of these task hubs.
    pub task_hub_names: Vec<String>,
    /// The page size (100 when not set).
    pub page_size: Option<u32>,
    /// Where the previous page ended.
    pub continuation_token: Option<String>,
    /// Whether to include inputs and outputs.
    pub fetch_inputs_and_outputs: bool,
}

/// One page of instances.
///
/// ```
/// let page = azfn::durable::client::InstancePage::default();
/// assert!(page.instances.is_empty() && page.continuation_token.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstancePage {
    /// The instances.
    pub instances: Vec<OrchestrationMetadata>,
    /// Where the next page starts; `None` on the last page.
    pub continuation_token: Option<String>,
}

/// Which instances [`DurableClient::purge_instances`] deletes.
///
/// ```
/// use azfn::durable::client::{PurgeFilter, RuntimeStatus};
/// let filter = PurgeFilter { statuses: vec![RuntimeStatus::Completed], ..Default::default() };
/// assert!(filter.created_from.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PurgeFilter {
    /// Only instances created at or after this time.
    pub created_from: Option<SystemTime>,
    /// Only instances created at or before this time.
    pub created_to: Option<SystemTime>,
    /// Only instances in these statuses (all when empty).
    pub statuses: Vec<RuntimeStatus>,
}

/// What a purge deleted.
///
/// ```
/// let result = azfn::durable::client::PurgeResult { deleted_instance_count: 1, is_complete: None };
/// assert_eq!(result.deleted_instance_count, 1);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeResult {
    /// How many instances were deleted.
    pub deleted_instance_count: u32,
    /// Whether the purge finished (`None` when the backend does not say).
    pub is_complete: Option<bool>,
}

/// An entity's metadata, and its state when asked for.
///
/// ```
/// use azfn::durable::client::EntityMetadata;
/// use azfn::durable::entity::EntityId;
/// let entity = EntityMetadata {
///     id: EntityId::new("counter", "a"),
///     last_modified_at: None,
///     backlog_queue_size: 0,
///     locked_by: None,
///     serialized_state: Some("5".into()),
/// };
/// assert_eq!(entity.state::<i64>().unwrap(), Some(5));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct EntityMetadata {
    /// The entity.
    pub id: EntityId,
    /// When it was last modified.
    pub last_modified_at: Option<SystemTime>,
    /// How many operations wait for it.
    pub backlog_queue_size: u32,
    /// The orchestration holding its lock, if any.
    pub locked_by: Option<String>,
    /// Its state as JSON text, when asked for and present.
    pub serialized_state: Option<String>,
}

impl EntityMetadata {
    fn from_proto(entity: super::proto::EntityMetadata, method: &'static str) -> Result<Self, ClientError> {
        let id = EntityId::parse(&entity.instance_id).map_err(|e| ClientError::Protocol {
            method,
            message: e.to_string(),
        })?;
        Ok(EntityMetadata {
            id,
            last_modified_at: entity.last_modified_time.map(Timestamp::to_system_time),
            backlog_queue_size: u32::try_from(entity.backlog_queue_size).unwrap_or(0),
            locked_by: non_empty(entity.locked_by),
            serialized_state: non_empty(entity.serialized_state),
        })
    }

    /// The state, deserialized; `None` when there is none (or it was not asked for).
    ///
    /// ```
    /// # use azfn::durable::client::EntityMetadata;
    /// # let entity = EntityMetadata { id: "@c@k".parse().unwrap(), last_modified_at: None, backlog_queue_size: 0, locked_by: None, serialized_state: None };
    /// assert_eq!(entity.state::<i64>().unwrap(), None);
    /// ```
    pub fn state<S: DeserializeOwned>(&self) -> Result<Option<S>, ClientError> {
        typed(self.serialized_state.as_deref(), "state", &self.id.to_string())
    }
}

/// Which entities [`DurableClient::query_entities`] lists.
///
/// ```
/// let filter = azfn::durable::client::EntityFilter { instance_id_starts_with: Some("counter@".into()), ..Default::default() };
/// assert!(!filter.include_state);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntityFilter {
    /// Only entities whose instance id (`@name@key`) starts with this. A leading `@` is added
    /// when missing, and the name part is lower-cased, so `"Counter"` lists every counter.
    pub instance_id_starts_with: Option<String>,
    /// Only entities modified at or after this time.
    pub last_modified_from: Option<SystemTime>,
    /// Only entities modified at or before this time.
    pub last_modified_to: Option<SystemTime>,
    /// Whether to include the states.
    pub include_state: bool,
    /// Whether to include entities without state.
    pub include_transient: bool,
    /// The page size (the backend's default when not set).
    pub page_size: Option<u32>,
    /// Where the previous page ended.
    pub continuation_token: Option<String>,
}

/// One page of entities.
///
/// ```
/// let page = azfn::durable::client::EntityPage::default();
/// assert!(page.entities.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntityPage {
    /// The entities.
    pub entities: Vec<EntityMetadata>,
    /// Where the next page starts; `None` on the last page.
    pub continuation_token: Option<String>,
}

/// What [`DurableClient::clean_entity_storage`] did.
///
/// ```
/// let result = azfn::durable::client::CleanEntityStorageResult::default();
/// assert_eq!(result.empty_entities_removed + result.orphaned_locks_released, 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanEntityStorageResult {
    /// How many entities without state were removed.
    pub empty_entities_removed: u32,
    /// How many orphaned locks were released.
    pub orphaned_locks_released: u32,
}

/// The management links of an instance on the extension's HTTP API, as the check-status
/// response carries them. `{eventName}` and `{text}` are placeholders for the caller to fill.
///
/// ```
/// let links = azfn::durable::client::HttpManagementPayload::default();
/// assert_eq!(serde_json::to_value(&links).unwrap()["statusQueryGetUri"], "");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpManagementPayload {
    /// The instance id.
    pub id: String,
    /// `GET`: the status.
    pub status_query_get_uri: String,
    /// `POST`: raises the event `{eventName}`.
    pub send_event_post_uri: String,
    /// `POST`: terminates, with the reason `{text}`.
    pub terminate_post_uri: String,
    /// `DELETE`: purges the history.
    pub purge_history_delete_uri: String,
    /// `POST`: restarts.
    pub restart_post_uri: String,
    /// `POST`: suspends, with the reason `{text}`.
    pub suspend_post_uri: String,
    /// `POST`: resumes, with the reason `{text}`.
    pub resume_post_uri: String,
    /// `POST`: rewinds, with the reason `{text}`.
    pub rewind_post_uri: String,
}

// ---------------------------------------------------------------------------------------------
// Unary gRPC over one HTTP/2 connection
// ---------------------------------------------------------------------------------------------

type Sender = SendRequest<Full<Bytes>>;

struct Rpc {
    /// `host:port`, for connecting.
    authority: String,
    /// `http://host:port[/prefix]`, before the method's path.
    uri_prefix: String,
    headers: HeaderMap,
    max_message: usize,
    sender: tokio::sync::Mutex<Option<Sender>>,
}

impl Rpc {
    fn new(
        rpc_base_url: &str,
        task_hub: &str,
        connection: Option<&str>,
        max_message: usize,
    ) -> Result<Self, ClientError> {
        let with_scheme = if rpc_base_url.contains("://") {
            rpc_base_url.to_owned()
        } else {
            format!("http://{rpc_base_url}")
        };
        let uri: Uri = with_scheme
            .parse()
            .map_err(|e| ClientError::Config(format!("`rpcBaseUrl` {rpc_base_url} is not a URL: {e}")))?;
        if uri.scheme_str() != Some("http") {
            return Err(ClientError::Config(format!(
                "`rpcBaseUrl` {rpc_base_url} is not an http:// URL (the extension's endpoint is plaintext gRPC)"
            )));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| ClientError::Config(format!("`rpcBaseUrl` {rpc_base_url} has no host")))?;
        let authority = match authority.port_u16() {
            Some(_) => authority.as_str().to_owned(),
            None => format!("{}:80", authority.as_str()),
        };
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert(TE, HeaderValue::from_static("trailers"));
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("azfn/", env!("CARGO_PKG_VERSION"))),
        );
        let header = |name: &str, value: &str| {
            HeaderValue::from_str(value)
                .map_err(|_| ClientError::Config(format!("the {name} `{value}` cannot be sent as a header")))
        };
        if !task_hub.is_empty() {
            headers.insert("durable-taskhub", header("task hub name", task_hub)?);
        }
        if let Some(connection) = connection {
            headers.insert("durable-connectionname", header("connection name", connection)?);
        }
        Ok(Rpc {
            authority,
            uri_prefix: format!(
                "http://{}{}",
                uri.authority().map(|a| a.as_str()).unwrap_or_default(),
                uri.path().trim_end_matches('/')
            ),
            headers,
            max_message,
            sender: tokio::sync::Mutex::new(None),
        })
    }

    /// One unary call, within `timeout`.
    async fn call<Req: Message, Resp: Message + Default>(
        &self,
        method: &'static str,
        request: &Req,
        timeout: Duration,
    ) -> Result<Resp, ClientError> {
        let name = method.rsplit('/').next().unwrap_or(method);
        let body = codec::encode(request);
        let bytes = match tokio::time::timeout(timeout, self.exchange(name, method, body, timeout)).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(ClientError::Timeout {
                    method: name,
                    after: timeout,
                });
            }
        };
        Resp::decode(bytes).map_err(|e| ClientError::Protocol {
            method: name,
            message: format!("the response message does not decode: {e}"),
        })
    }

    /// Sends the request on the shared connection, opening it first if needed, and reads the
    /// response's one message. A request that never left (the connection had closed) is retried
    /// once on a new connection.
    async fn exchange(
        &self,
        name: &'static str,
        path: &'static str,
        body: Bytes,
        timeout: Duration,
    ) -> Result<Bytes, ClientError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut sender = self.sender().await?;
            if let Err(e) = sender.ready().await {
                self.forget().await;
                if attempt == 1 {
                    continue;
                }
                return Err(ClientError::Transport {
                    method: name,
                    message: format!("the connection is not usable: {e}"),
                });
            }
            let mut request = http::Request::new(Full::new(body.clone()));
            *request.method_mut() = http::Method::POST;
            *request.uri_mut() = format!("{}{path}", self.uri_prefix)
                .parse()
                .map_err(|e| ClientError::Config(format!("cannot build the URL of {name}: {e}")))?;
            *request.headers_mut() = self.headers.clone();
            request.headers_mut().insert("grpc-timeout", grpc_timeout(timeout));
            match sender.send_request(request).await {
                Ok(response) => return read_response(name, response, self.max_message).await,
                Err(e) => {
                    self.forget().await;
                    if e.is_canceled() && attempt == 1 {
                        continue;
                    }
                    return Err(ClientError::Transport {
                        method: name,
                        message: e.to_string(),
                    });
                }
            }
        }
    }

    /// The open connection's sender, connecting when there is none or it closed.
    async fn sender(&self) -> Result<Sender, ClientError> {
        let mut guard = self.sender.lock().await;
        if let Some(sender) = guard.as_ref()
            && !sender.is_closed()
        {
            return Ok(sender.clone());
        }
        let connect_error = |message: String| ClientError::Connect {
            address: self.authority.clone(),
            message,
        };
        let tcp = TcpStream::connect(&self.authority)
            .await
            .map_err(|e| connect_error(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        let (sender, connection) = Builder::new(TokioExecutor::new())
            .handshake(TokioIo::new(tcp))
            .await
            .map_err(|e| connect_error(format!("the HTTP/2 handshake failed: {e}")))?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!("the HTTP/2 connection to the Durable extension ended: {error}");
            }
        });
        *guard = Some(sender.clone());
        Ok(sender)
    }

    /// Drops the connection, so the next call opens a new one.
    async fn forget(&self) {
        *self.sender.lock().await = None;
    }
}

/// Reads a unary gRPC response: one message, then `grpc-status` in the trailers (or in the
/// headers, for a Trailers-Only response).
async fn read_response(
    method: &'static str,
    response: http::Response<hyper::body::Incoming>,
    max_message: usize,
) -> Result<Bytes, ClientError> {
    let protocol = |message: String| ClientError::Protocol { method, message };
    let (parts, mut body) = response.into_parts();
    if let Some(status) = grpc_status(method, &parts.headers) {
        status?;
        return Err(protocol(
            "a Trailers-Only response with status OK carries no message".into(),
        ));
    }
    if parts.status != StatusCode::OK {
        return Err(ClientError::Status {
            method,
            code: GrpcCode::from_http(parts.status),
            message: format!("HTTP status {}", parts.status),
        });
    }
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .map(HeaderValue::as_bytes)
        .unwrap_or_default();
    if !content_type.starts_with(b"application/grpc") {
        return Err(protocol(format!(
            "the content type is `{}`, not application/grpc",
            String::from_utf8_lossy(content_type)
        )));
    }
    let mut decoder = FrameDecoder::new(max_message);
    let mut message = None;
    let mut trailers = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ClientError::Transport {
            method,
            message: format!("the response broke off: {e}"),
        })?;
        match frame.into_data() {
            Ok(data) => {
                decoder.push(&data);
                while let Some(next) = decoder.next_message().map_err(|e| protocol(e.to_string()))? {
                    if message.replace(next).is_some() {
                        return Err(protocol("a unary response carries more than one message".into()));
                    }
                }
            }
            Err(frame) => {
                if let Ok(map) = frame.into_trailers() {
                    trailers = Some(map);
                }
            }
        }
    }
    decoder.finish().map_err(|e| protocol(e.to_string()))?;
    let trailers = trailers.ok_or_else(|| protocol("the response ended without trailers".into()))?;
    grpc_status(method, &trailers).ok_or_else(|| protocol("the trailers have no grpc-status".into()))??;
    message.ok_or_else(|| protocol("the response has status OK and no message".into()))
}

/// The `grpc-status` of `headers`, if present: `Ok` for 0, the error otherwise.
fn grpc_status(method: &'static str, headers: &HeaderMap) -> Option<Result<(), ClientError>> {
    let status = codec::GrpcStatus::from_headers(|name| headers.get(name).map(HeaderValue::as_bytes))?;
    if status.is_ok() {
        return Some(Ok(()));
    }
    Some(Err(ClientError::Status {
        method,
        code: GrpcCode::from_u32(status.code),
        message: status.message,
    }))
}

/// `grpc-timeout`: at most 8 digits and a unit.
fn grpc_timeout(timeout: Duration) -> HeaderValue {
    let millis = timeout.as_millis();
    let text = if millis <= 99_999_999 {
        format!("{}m", millis.max(1))
    } else {
        format!("{}S", timeout.as_secs().min(99_999_999))
    };
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("99999999S"))
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

fn instance_of(response: GetInstanceResponse) -> Option<OrchestrationMetadata> {
    match response.orchestration_state {
        Some(state) if response.exists => Some(OrchestrationMetadata::from_proto(state)),
        _ => None,
    }
}

/// JSON text of a value, `None` for `null`.
fn json_text<T: Serialize + ?Sized>(value: &T) -> Result<Option<String>, serde_json::Error> {
    let text = serde_json::to_string(value)?;
    Ok((text != "null").then_some(text))
}

fn payload<T: Serialize + ?Sized>(value: &T, what: &str) -> Result<Option<StringValue>, ClientError> {
    json_text(value)
        .map(|text| text.map(StringValue::from))
        .map_err(|e| ClientError::Payload(format!("{what} does not serialize: {e}")))
}

fn typed<T: DeserializeOwned>(text: Option<&str>, what: &str, owner: &str) -> Result<Option<T>, ClientError> {
    text.map(|t| {
        serde_json::from_str(t).map_err(|e| {
            ClientError::Payload(format!(
                "the {what} of `{owner}` does not deserialize as {}: {e}",
                std::any::type_name::<T>()
            ))
        })
    })
    .transpose()
}

fn reason_of(reason: &str) -> Option<StringValue> {
    (!reason.is_empty()).then(|| StringValue::from(reason))
}

fn non_empty(value: Option<StringValue>) -> Option<String> {
    value.map(|v| v.value).filter(|v| !v.is_empty())
}

/// An entity-id prefix as the backend compares it: `@`, and the name part lower-cased.
fn entity_prefix(prefix: &str) -> String {
    let rest = prefix.strip_prefix('@').unwrap_or(prefix);
    match rest.split_once('@') {
        Some((name, key)) => format!("@{}@{key}", name.to_lowercase()),
        None => format!("@{}", rest.to_lowercase()),
    }
}

/// `scheme://authority` of an absolute URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme.is_empty() || !scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    (!authority.is_empty()).then(|| format!("{scheme}://{authority}"))
}

/// A .NET `TimeSpan` text (`[d.]hh:mm:ss[.fffffff]`) or a number of seconds.
fn parse_timeout(value: &serde_json::Value) -> Option<Duration> {
    if let Some(seconds) = value.as_f64() {
        return (seconds > 0.0 && seconds.is_finite()).then(|| Duration::from_secs_f64(seconds));
    }
    let text = value.as_str()?.trim();
    let (days, clock) = match text.split_once(':') {
        Some((head, _)) if head.contains('.') => {
            let (days, rest) = text.split_once('.')?;
            (days.parse::<u64>().ok()?, rest)
        }
        _ => (0, text),
    };
    let mut parts = clock.split(':');
    let hours: u64 = parts.next()?.parse().ok()?;
    let minutes: u64 = parts.next()?.parse().ok()?;
    let seconds: f64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(0.0..60.0).contains(&seconds) {
        return None;
    }
    let total = Duration::from_secs(days * 86_400 + hours * 3_600 + minutes * 60) + Duration::from_secs_f64(seconds);
    (!total.is_zero()).then_some(total)
}

/// RFC 3339 in UTC with seconds, as the HTTP API shows times.
fn format_time(time: SystemTime) -> String {
    let seconds = match time.duration_since(std::time::UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    };
    azfn_bindings::schedule::CivilTime::from_unix(seconds).to_string()
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    #[test]
    fn times_format_as_rfc_3339() {
        assert_eq!(format_time(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_time(UNIX_EPOCH + Duration::from_secs(1_709_251_199)),
            "2024-02-29T23:59:59Z"
        );
        assert_eq!(
            format_time(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(format_time(UNIX_EPOCH - Duration::from_secs(1)), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn timeouts_parse_from_timespans_and_seconds() {
        let parse = |v: serde_json::Value| parse_timeout(&v);
        assert_eq!(parse("00:01:40".into()), Some(Duration::from_secs(100)));
        assert_eq!(parse("1.02:00:00".into()), Some(Duration::from_secs(93_600)));
        assert_eq!(parse("00:00:01.5".into()), Some(Duration::from_millis(1500)));
        assert_eq!(parse(30.into()), Some(Duration::from_secs(30)));
        assert_eq!(parse("soon".into()), None);
        assert_eq!(parse("00:00:00".into()), None);
    }

    #[test]
    fn grpc_timeouts_have_at_most_eight_digits() {
        assert_eq!(grpc_timeout(Duration::from_millis(1500)), "1500m");
        assert_eq!(grpc_timeout(Duration::ZERO), "1m");
        assert_eq!(grpc_timeout(Duration::from_secs(200_000)), "200000S");
    }

    #[test]
    fn origins_and_entity_prefixes() {
        assert_eq!(
            origin_of("https://app.example.com:8443/api/x?y=1").as_deref(),
            Some("https://app.example.com:8443")
        );
        assert_eq!(origin_of("/api/x"), None);
        assert_eq!(entity_prefix("Counter"), "@counter");
        assert_eq!(entity_prefix("@Counter@Key"), "@counter@Key");
    }
}

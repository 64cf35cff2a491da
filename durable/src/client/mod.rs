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
//! The module holds the client and its management calls; beside it are the errors (`error`),
//! the unary gRPC connection (`rpc`), the HTTP API's links and responses (`management`), the
//! start options (`start`) and what the calls return (`types`), all re-exported here.
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

mod error;
mod management;
mod rpc;
mod start;
#[cfg(feature = "tls")]
mod tls;
mod types;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use prost::Message;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::entity::{EntityId, guid_hyphenated};
use super::orchestration::{DurableInput, Entity, Operation, Orchestration};
use super::proto::{
    CleanEntityStorageRequest, CleanEntityStorageResponse, EntityQuery, GetEntityRequest, GetEntityResponse,
    GetInstanceRequest, GetInstanceResponse, InstanceQuery, PurgeInstanceFilter, PurgeInstancesRequest,
    PurgeInstancesResponse, QueryEntitiesRequest, QueryEntitiesResponse, QueryInstancesRequest, QueryInstancesResponse,
    RaiseEventRequest, RaiseEventResponse, RestartInstanceRequest, RestartInstanceResponse, ResumeRequest,
    ResumeResponse, RewindInstanceRequest, RewindInstanceResponse, SignalEntityRequest, SignalEntityResponse,
    SuspendRequest, SuspendResponse, TerminateRequest, TerminateResponse, method, purge_instances_request,
};
use azfn_wire::wkt::{Int32Value, StringValue, Timestamp};

pub use error::{ClientError, GrpcCode};
use rpc::Rpc;
pub use start::StartOrchestration;
pub use types::{
    CleanEntityStorageResult, EntityFilter, EntityMetadata, EntityPage, HttpManagementPayload, InstanceFilter,
    InstancePage, OrchestrationMetadata, PurgeFilter, PurgeResult, RuntimeStatus,
};
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

    /// Starts `orchestrator` (an `#[function(orchestration_trigger)]` function of this app) with
    /// `input` under a new random instance id, and returns the id: the name and the input type
    /// come from the function, so a mistake in either does not compile. It sends exactly what
    /// [`start_new`](Self::start_new) sends with the same name, which remains for orchestrators
    /// of other apps.
    ///
    /// ```no_run
    /// use azfn::durable::{DurableClient, OrchestrationContext};
    /// use azfn::prelude::*;
    ///
    /// #[function(orchestration_trigger)]
    /// async fn process_order(ctx: OrchestrationContext, order: u32) -> Result<u32, azfn::Error> {
    ///     Ok(order)
    /// }
    ///
    /// # async fn f(client: DurableClient) -> Result<(), azfn::Error> {
    /// let id = client.start_orchestration(process_order, &7).await?;
    /// # Ok(()) }
    /// ```
    pub async fn start_orchestration<O>(&self, orchestrator: O, input: &O::Input) -> Result<String, ClientError>
    where
        O: Orchestration,
        O::Input: DurableInput,
    {
        self.start_orchestration_with(orchestrator, input).send().await
    }

    /// [`start_orchestration`](Self::start_orchestration) with options (instance id, start
    /// time, version, tags): the start, its name and input set, to finish and
    /// [`send`](StartOrchestration::send).
    ///
    /// ```no_run
    /// # use azfn::durable::{DurableClient, OrchestrationContext};
    /// # use azfn::prelude::*;
    /// # #[function(orchestration_trigger)]
    /// # async fn refund(ctx: OrchestrationContext, order: u32) -> Result<u32, azfn::Error> {
    /// #     Ok(order)
    /// # }
    /// # async fn f(client: DurableClient) -> Result<(), azfn::Error> {
    /// let id = client.start_orchestration_with(refund, &7).instance_id("refund-7").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn start_orchestration_with<O>(&self, orchestrator: O, input: &O::Input) -> StartOrchestration<'_>
    where
        O: Orchestration,
        O::Input: DurableInput,
    {
        let _ = orchestrator;
        self.start(O::NAME).input_json(input.to_json())
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
        self.terminate_with(instance_id, output, false).await
    }

    /// Terminates the instance and its sub-orchestrations, theirs in turn, and so on
    /// (`TerminateRequest.recursive`, the .NET SDK's `TerminateInstanceOptions.Recursive`).
    ///
    /// Extension 2.13's gRPC endpoint does not read the flag and terminates only the named
    /// instance; the children then run on to their end.
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// client.terminate_recursive("order-7", &"order cancelled").await?;
    /// # Ok(()) }
    /// ```
    pub async fn terminate_recursive<O: Serialize + ?Sized>(
        &self,
        instance_id: &str,
        output: &O,
    ) -> Result<(), ClientError> {
        self.terminate_with(instance_id, output, true).await
    }

    async fn terminate_with<O: Serialize + ?Sized>(
        &self,
        instance_id: &str,
        output: &O,
        recursive: bool,
    ) -> Result<(), ClientError> {
        let request = TerminateRequest {
            instance_id: instance_id.to_owned(),
            output: payload(output, "the termination output")?,
            recursive,
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
        self.purge_one(instance_id, false).await
    }

    /// Deletes the history and state of the instance and of its sub-orchestrations, theirs in
    /// turn, and so on (`PurgeInstancesRequest.recursive`, the .NET SDK's
    /// `PurgeInstanceOptions.Recursive`).
    ///
    /// Extension 2.13's gRPC endpoint does not read the flag and purges only the named
    /// instance.
    ///
    /// ```no_run
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// let purged = client.purge_recursive("order-7").await?;
    /// # Ok(()) }
    /// ```
    pub async fn purge_recursive(&self, instance_id: &str) -> Result<PurgeResult, ClientError> {
        self.purge_one(instance_id, true).await
    }

    async fn purge_one(&self, instance_id: &str, recursive: bool) -> Result<PurgeResult, ClientError> {
        let request = PurgeInstancesRequest {
            request: Some(purge_instances_request::Request::InstanceId(instance_id.to_owned())),
            recursive,
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
            recursive: filter.recursive,
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

    /// Signals `operation` of the `#[entity]` entity with `key`: [`signal_entity`](Self::signal_entity)
    /// with the names and the input type checked by the compiler.
    ///
    /// ```no_run
    /// use azfn::prelude::*;
    ///
    /// #[derive(Default, serde::Serialize, serde::Deserialize)]
    /// pub struct Visits(i64);
    ///
    /// #[entity]
    /// impl Visits {
    ///     pub fn add(&mut self, amount: i64) {
    ///         self.0 += amount;
    ///     }
    /// }
    ///
    /// # async fn f(client: azfn::durable::client::DurableClient) -> Result<(), azfn::Error> {
    /// client.signal_operation(Visits::ADD, "a", &5).await?;
    /// # Ok(()) }
    /// ```
    pub async fn signal_operation<E, I, O>(
        &self,
        operation: Operation<E, I, O>,
        key: &str,
        input: &I,
    ) -> Result<(), ClientError>
    where
        E: Entity,
        I: Serialize,
    {
        self.signal(&operation.entity_id(key), operation.name(), input, None)
            .await
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

/// A .NET `TimeSpan` text (`[d.]hh:mm:ss[.fffffff]`) or a number of seconds; not zero.
fn parse_timeout(value: &serde_json::Value) -> Option<Duration> {
    if let Some(seconds) = value.as_f64() {
        return (seconds > 0.0 && seconds.is_finite()).then(|| Duration::from_secs_f64(seconds));
    }
    let total = azfn_bindings::schedule::parse_time_span(value.as_str()?).ok()?;
    (!total.is_zero()).then_some(total)
}

#[cfg(test)]
mod tests {

    use super::*;

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
    fn entity_prefixes_lower_case_the_name() {
        assert_eq!(entity_prefix("Counter"), "@counter");
        assert_eq!(entity_prefix("@Counter@Key"), "@counter@Key");
    }

    #[test]
    fn rpc_base_urls_are_checked() {
        let client = |url: &str| DurableClient::from_json(&serde_json::json!({"taskHubName": "h", "rpcBaseUrl": url}));
        let error = client("ftp://localhost:4001").unwrap_err().to_string();
        assert!(error.contains("neither an http:// nor an https:// URL"), "{error}");
        assert!(client("localhost:4001").is_ok(), "no scheme means http");
        let https = client("https://example.net");
        if cfg!(feature = "tls") {
            assert!(https.is_ok());
        } else {
            let error = https.unwrap_err().to_string();
            assert!(error.contains("`durable-tls` feature"), "{error}");
        }
    }
}

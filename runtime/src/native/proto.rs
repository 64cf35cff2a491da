//! The messages of the host's language-worker protocol (`FunctionRpc.proto`, v1.10.0), written by
//! hand with `prost` derives so that no build needs `protoc`.
//!
//! Field numbers, types and enum values follow the protocol reference exactly; names follow what
//! `prost-build` would generate (nested enums and oneofs live in a module named after their
//! message), so code read next to the `.proto` file maps one to one. Every message the protocol
//! defines is here, including the ones azfn only receives or ignores, so that a host (or the mock
//! host of the tests) can be written with the same types.
//!
//! `NullableString`, `NullableDouble`, `NullableBool` and `NullableTimestamp` are single-field
//! oneofs in the `.proto`; on the wire that is exactly a field with explicit presence, so they are
//! written as `optional` fields here. `google.protobuf.Duration` and `Timestamp` come from
//! [`crate::grpc::wkt`], which saves depending on `prost-types`.

use std::collections::BTreeMap;

pub use crate::grpc::wkt::{Duration, Timestamp};

/// Every message on the `EventStream`, in both directions.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StreamingMessage {
    /// Correlates `WorkerStatusRequest` and its response; echoed in every response.
    #[prost(string, tag = "1")]
    pub request_id: String,
    /// The message itself.
    #[prost(
        oneof = "streaming_message::Content",
        tags = "2, 4, 5, 6, 7, 8, 9, 12, 13, 14, 15, 16, 17, 20, 21, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34"
    )]
    pub content: Option<streaming_message::Content>,
}

/// The oneof of [`StreamingMessage`].
pub mod streaming_message {
    /// What a [`StreamingMessage`](super::StreamingMessage) carries.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Content {
        /// Worker → host: a log line.
        #[prost(message, tag = "2")]
        RpcLog(super::RpcLog),
        /// Host → worker: run a function.
        #[prost(message, tag = "4")]
        InvocationRequest(super::InvocationRequest),
        /// Worker → host: the invocation's result.
        #[prost(message, tag = "5")]
        InvocationResponse(super::InvocationResponse),
        /// Host → worker: a file changed (not sent by current hosts).
        #[prost(message, tag = "6")]
        FileChangeEventRequest(super::FileChangeEventRequest),
        /// Worker → host: restart or reload (not read by current hosts).
        #[prost(message, tag = "7")]
        WorkerActionResponse(super::WorkerActionResponse),
        /// Host → worker: load one function.
        #[prost(message, tag = "8")]
        FunctionLoadRequest(super::FunctionLoadRequest),
        /// Worker → host: the function is loaded (or not).
        #[prost(message, tag = "9")]
        FunctionLoadResponse(super::FunctionLoadResponse),
        /// Host → worker: a health probe.
        #[prost(message, tag = "12")]
        WorkerStatusRequest(super::WorkerStatusRequest),
        /// Worker → host: the probe's answer.
        #[prost(message, tag = "13")]
        WorkerStatusResponse(super::WorkerStatusResponse),
        /// Host → worker: shut down within the grace period.
        #[prost(message, tag = "14")]
        WorkerTerminate(super::WorkerTerminate),
        /// Unused.
        #[prost(message, tag = "15")]
        WorkerHeartbeat(super::WorkerHeartbeat),
        /// Worker → host: the answer to `WorkerInitRequest`.
        #[prost(message, tag = "16")]
        WorkerInitResponse(super::WorkerInitResponse),
        /// Host → worker: the first message after `StartStream`.
        #[prost(message, tag = "17")]
        WorkerInitRequest(super::WorkerInitRequest),
        /// Worker → host: the first message on the stream.
        #[prost(message, tag = "20")]
        StartStream(super::StartStream),
        /// Host → worker: cancel one invocation.
        #[prost(message, tag = "21")]
        InvocationCancel(super::InvocationCancel),
        /// Host → worker: placeholder specialization.
        #[prost(message, tag = "25")]
        FunctionEnvironmentReloadRequest(super::FunctionEnvironmentReloadRequest),
        /// Worker → host: the specialization's answer.
        #[prost(message, tag = "26")]
        FunctionEnvironmentReloadResponse(super::FunctionEnvironmentReloadResponse),
        /// Host → worker: shared-memory transfer only.
        #[prost(message, tag = "27")]
        CloseSharedMemoryResourcesRequest(super::CloseSharedMemoryResourcesRequest),
        /// Worker → host: shared-memory transfer only.
        #[prost(message, tag = "28")]
        CloseSharedMemoryResourcesResponse(super::CloseSharedMemoryResourcesResponse),
        /// Host → worker: describe your functions (worker indexing).
        #[prost(message, tag = "29")]
        FunctionsMetadataRequest(super::FunctionsMetadataRequest),
        /// Worker → host: the functions.
        #[prost(message, tag = "30")]
        FunctionMetadataResponse(super::FunctionMetadataResponse),
        /// Host → worker: load these functions (with `SupportsLoadResponseCollection`).
        #[prost(message, tag = "31")]
        FunctionLoadRequestCollection(super::FunctionLoadRequestCollection),
        /// Worker → host: the answers to a load collection.
        #[prost(message, tag = "32")]
        FunctionLoadResponseCollection(super::FunctionLoadResponseCollection),
        /// Host → worker: placeholder warm-up.
        #[prost(message, tag = "33")]
        WorkerWarmupRequest(super::WorkerWarmupRequest),
        /// Worker → host: the warm-up's answer.
        #[prost(message, tag = "34")]
        WorkerWarmupResponse(super::WorkerWarmupResponse),
    }

    impl Content {
        /// The message's field name in the protocol (`InvocationRequest`), for log lines.
        pub fn name(&self) -> &'static str {
            match self {
                Content::RpcLog(_) => "RpcLog",
                Content::InvocationRequest(_) => "InvocationRequest",
                Content::InvocationResponse(_) => "InvocationResponse",
                Content::FileChangeEventRequest(_) => "FileChangeEventRequest",
                Content::WorkerActionResponse(_) => "WorkerActionResponse",
                Content::FunctionLoadRequest(_) => "FunctionLoadRequest",
                Content::FunctionLoadResponse(_) => "FunctionLoadResponse",
                Content::WorkerStatusRequest(_) => "WorkerStatusRequest",
                Content::WorkerStatusResponse(_) => "WorkerStatusResponse",
                Content::WorkerTerminate(_) => "WorkerTerminate",
                Content::WorkerHeartbeat(_) => "WorkerHeartbeat",
                Content::WorkerInitResponse(_) => "WorkerInitResponse",
                Content::WorkerInitRequest(_) => "WorkerInitRequest",
                Content::StartStream(_) => "StartStream",
                Content::InvocationCancel(_) => "InvocationCancel",
                Content::FunctionEnvironmentReloadRequest(_) => "FunctionEnvironmentReloadRequest",
                Content::FunctionEnvironmentReloadResponse(_) => "FunctionEnvironmentReloadResponse",
                Content::CloseSharedMemoryResourcesRequest(_) => "CloseSharedMemoryResourcesRequest",
                Content::CloseSharedMemoryResourcesResponse(_) => "CloseSharedMemoryResourcesResponse",
                Content::FunctionsMetadataRequest(_) => "FunctionsMetadataRequest",
                Content::FunctionMetadataResponse(_) => "FunctionMetadataResponse",
                Content::FunctionLoadRequestCollection(_) => "FunctionLoadRequestCollection",
                Content::FunctionLoadResponseCollection(_) => "FunctionLoadResponseCollection",
                Content::WorkerWarmupRequest(_) => "WorkerWarmupRequest",
                Content::WorkerWarmupResponse(_) => "WorkerWarmupResponse",
            }
        }
    }
}

/// The worker's first message: which worker this stream belongs to.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StartStream {
    /// The `--functions-worker-id` the host started the worker with.
    #[prost(string, tag = "2")]
    pub worker_id: String,
}

/// The host's first message.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WorkerInitRequest {
    /// The host's version.
    #[prost(string, tag = "1")]
    pub host_version: String,
    /// The host's capabilities (`MultiStream`, …).
    #[prost(btree_map = "string, string", tag = "2")]
    pub capabilities: BTreeMap<String, String>,
    /// Log levels by category (not filled by current hosts).
    #[prost(btree_map = "string, enumeration(rpc_log::Level)", tag = "3")]
    pub log_categories: BTreeMap<String, i32>,
    /// The folder of `worker.config.json`.
    #[prost(string, tag = "4")]
    pub worker_directory: String,
    /// The function app's folder (the script root).
    #[prost(string, tag = "5")]
    pub function_app_directory: String,
}

/// The answer to [`WorkerInitRequest`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct WorkerInitResponse {
    /// Unused by the host.
    #[prost(string, tag = "1")]
    pub worker_version: String,
    /// The capabilities the worker honours; any non-empty value switches one on.
    #[prost(btree_map = "string, string", tag = "2")]
    pub capabilities: BTreeMap<String, String>,
    /// Success, or why the worker cannot run.
    #[prost(message, optional, tag = "3")]
    pub result: Option<StatusResult>,
    /// What the worker is, for telemetry.
    #[prost(message, optional, tag = "4")]
    pub worker_metadata: Option<WorkerMetadata>,
}

/// What the worker is, for the host's telemetry.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WorkerMetadata {
    /// The language runtime (`rust`).
    #[prost(string, tag = "1")]
    pub runtime_name: String,
    /// The runtime's version.
    #[prost(string, tag = "2")]
    pub runtime_version: String,
    /// The worker's own version.
    #[prost(string, tag = "3")]
    pub worker_version: String,
    /// OS and architecture.
    #[prost(string, tag = "4")]
    pub worker_bitness: String,
    /// Anything else.
    #[prost(btree_map = "string, string", tag = "5")]
    pub custom_properties: BTreeMap<String, String>,
}

/// The outcome of a request.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StatusResult {
    /// Free text.
    #[prost(string, tag = "1")]
    pub result: String,
    /// The failure, if any.
    #[prost(message, optional, tag = "2")]
    pub exception: Option<RpcException>,
    /// Logs (not read by the host).
    #[prost(message, repeated, tag = "3")]
    pub logs: Vec<RpcLog>,
    /// [`status_result::Status`].
    #[prost(enumeration = "status_result::Status", tag = "4")]
    pub status: i32,
}

/// The enum of [`StatusResult`].
pub mod status_result {
    /// How a request ended.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum Status {
        /// It failed.
        Failure = 0,
        /// It succeeded.
        Success = 1,
        /// It was cancelled (the host treats it as a failure).
        Cancelled = 2,
    }
}

/// A failure, as the host records it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcException {
    /// Where it happened.
    #[prost(string, tag = "1")]
    pub stack_trace: String,
    /// What happened.
    #[prost(string, tag = "2")]
    pub message: String,
    /// Who raised it.
    #[prost(string, tag = "3")]
    pub source: String,
    /// Whether the user's code failed (honoured with `EnableUserCodeException`).
    #[prost(bool, tag = "4")]
    pub is_user_exception: bool,
    /// The kind of failure (honoured with `EnableUserCodeException`).
    #[prost(string, tag = "5")]
    pub r#type: String,
}

/// A log line sent to the host.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcLog {
    /// The invocation it belongs to; empty for worker logs.
    #[prost(string, tag = "1")]
    pub invocation_id: String,
    /// Free text (`Function.<name>`, `Worker`).
    #[prost(string, tag = "2")]
    pub category: String,
    /// [`rpc_log::Level`].
    #[prost(enumeration = "rpc_log::Level", tag = "3")]
    pub level: i32,
    /// The line.
    #[prost(string, tag = "4")]
    pub message: String,
    /// An event id.
    #[prost(string, tag = "5")]
    pub event_id: String,
    /// A failure attached to the line.
    #[prost(message, optional, tag = "6")]
    pub exception: Option<RpcException>,
    /// Properties as text.
    #[prost(string, tag = "7")]
    pub properties: String,
    /// [`rpc_log::RpcLogCategory`]: which host logger gets the line.
    #[prost(enumeration = "rpc_log::RpcLogCategory", tag = "8")]
    pub log_category: i32,
    /// Properties as values (metrics).
    #[prost(btree_map = "string, message", tag = "9")]
    pub properties_map: BTreeMap<String, TypedData>,
}

/// The enums of [`RpcLog`].
pub mod rpc_log {
    /// A log level, mapped 1:1 onto .NET's `LogLevel`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum Level {
        /// Trace.
        Trace = 0,
        /// Debug.
        Debug = 1,
        /// Information.
        Information = 2,
        /// Warning.
        Warning = 3,
        /// Error.
        Error = 4,
        /// Critical.
        Critical = 5,
        /// None.
        None = 6,
    }

    /// Which host logger receives a line.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum RpcLogCategory {
        /// The function's logger (needs a running invocation's id).
        User = 0,
        /// The host's worker logger.
        System = 1,
        /// A metric.
        CustomMetric = 2,
    }
}

/// Host → worker: describe your functions.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FunctionsMetadataRequest {
    /// The function app's folder.
    #[prost(string, tag = "1")]
    pub function_app_directory: String,
}

/// The answer to [`FunctionsMetadataRequest`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct FunctionMetadataResponse {
    /// One entry per function.
    #[prost(message, repeated, tag = "1")]
    pub function_metadata_results: Vec<RpcFunctionMetadata>,
    /// Success, or why indexing failed.
    #[prost(message, optional, tag = "2")]
    pub result: Option<StatusResult>,
    /// `true` makes the host read `function.json` files instead.
    #[prost(bool, tag = "3")]
    pub use_default_metadata_indexing: bool,
}

/// One function, as the worker describes it (indexing) or the host loads it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcFunctionMetadata {
    /// The function's folder.
    #[prost(string, tag = "1")]
    pub directory: String,
    /// The file holding the function.
    #[prost(string, tag = "2")]
    pub script_file: String,
    /// The function's entry point.
    #[prost(string, tag = "3")]
    pub entry_point: String,
    /// The function's name.
    #[prost(string, tag = "4")]
    pub name: String,
    /// Binding name → binding (host → worker on load).
    #[prost(btree_map = "string, message", tag = "6")]
    pub bindings: BTreeMap<String, BindingInfo>,
    /// Whether this is a proxy.
    #[prost(bool, tag = "7")]
    pub is_proxy: bool,
    /// Per-function indexing failure.
    #[prost(message, optional, tag = "8")]
    pub status: Option<StatusResult>,
    /// Ignored on indexing (the host uses `FUNCTIONS_WORKER_RUNTIME`).
    #[prost(string, tag = "9")]
    pub language: String,
    /// Each binding as the JSON text of its `function.json` object.
    #[prost(string, repeated, tag = "10")]
    pub raw_bindings: Vec<String>,
    /// The worker's id of the function, used in loads and invocations.
    #[prost(string, tag = "13")]
    pub function_id: String,
    /// A PowerShell feature.
    #[prost(bool, tag = "14")]
    pub managed_dependency_enabled: bool,
    /// The function-level retry policy.
    #[prost(message, optional, tag = "15")]
    pub retry_options: Option<RpcRetryOptions>,
    /// Passed through.
    #[prost(btree_map = "string, string", tag = "16")]
    pub properties: BTreeMap<String, String>,
}

/// One binding of a loaded function.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BindingInfo {
    /// The `function.json` type (`httpTrigger`, `queue`, …).
    #[prost(string, tag = "2")]
    pub r#type: String,
    /// [`binding_info::Direction`].
    #[prost(enumeration = "binding_info::Direction", tag = "3")]
    pub direction: i32,
    /// [`binding_info::DataType`].
    #[prost(enumeration = "binding_info::DataType", tag = "4")]
    pub data_type: i32,
    /// Other properties.
    #[prost(btree_map = "string, string", tag = "5")]
    pub properties: BTreeMap<String, String>,
}

/// The enums of [`BindingInfo`].
pub mod binding_info {
    /// Which way a binding's data flows.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum Direction {
        /// Into the function.
        In = 0,
        /// Out of the function.
        Out = 1,
        /// Both.
        Inout = 2,
    }

    /// The `dataType` of a binding.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum DataType {
        /// Not declared.
        Undefined = 0,
        /// `string`.
        String = 1,
        /// `binary`.
        Binary = 2,
        /// `stream`.
        Stream = 3,
    }
}

/// A function-level retry policy.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcRetryOptions {
    /// Retries before giving up; -1 for no limit.
    #[prost(int32, tag = "2")]
    pub max_retry_count: i32,
    /// The delay of `fixed_delay`.
    #[prost(message, optional, tag = "3")]
    pub delay_interval: Option<Duration>,
    /// The shortest delay of `exponential_backoff`.
    #[prost(message, optional, tag = "4")]
    pub minimum_interval: Option<Duration>,
    /// The longest delay of `exponential_backoff`.
    #[prost(message, optional, tag = "5")]
    pub maximum_interval: Option<Duration>,
    /// [`rpc_retry_options::RetryStrategy`].
    #[prost(enumeration = "rpc_retry_options::RetryStrategy", tag = "6")]
    pub retry_strategy: i32,
}

/// The enum of [`RpcRetryOptions`].
pub mod rpc_retry_options {
    /// How retries are spaced.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum RetryStrategy {
        /// Growing delays between a minimum and a maximum.
        ExponentialBackoff = 0,
        /// The same delay every time.
        FixedDelay = 1,
    }
}

/// Host → worker: load one function.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FunctionLoadRequest {
    /// The id invocations will use.
    #[prost(string, tag = "1")]
    pub function_id: String,
    /// The function.
    #[prost(message, optional, tag = "2")]
    pub metadata: Option<RpcFunctionMetadata>,
    /// A PowerShell feature.
    #[prost(bool, tag = "3")]
    pub managed_dependency_enabled: bool,
}

/// Host → worker: load several functions.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FunctionLoadRequestCollection {
    /// The loads.
    #[prost(message, repeated, tag = "1")]
    pub function_load_requests: Vec<FunctionLoadRequest>,
}

/// The answer to [`FunctionLoadRequest`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct FunctionLoadResponse {
    /// The function's id, as the request gave it.
    #[prost(string, tag = "1")]
    pub function_id: String,
    /// Success, or why the function cannot run.
    #[prost(message, optional, tag = "2")]
    pub result: Option<StatusResult>,
    /// A PowerShell feature.
    #[prost(bool, tag = "3")]
    pub is_dependency_downloaded: bool,
}

/// The answer to [`FunctionLoadRequestCollection`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct FunctionLoadResponseCollection {
    /// One answer per load.
    #[prost(message, repeated, tag = "1")]
    pub function_load_responses: Vec<FunctionLoadResponse>,
}

/// Host → worker: run a function.
#[derive(Clone, PartialEq, prost::Message)]
pub struct InvocationRequest {
    /// The invocation's id.
    #[prost(string, tag = "1")]
    pub invocation_id: String,
    /// The loaded function's id.
    #[prost(string, tag = "2")]
    pub function_id: String,
    /// The trigger's value, then the input bindings'.
    #[prost(message, repeated, tag = "3")]
    pub input_data: Vec<ParameterBinding>,
    /// The trigger's binding data.
    #[prost(btree_map = "string, message", tag = "4")]
    pub trigger_metadata: BTreeMap<String, TypedData>,
    /// The W3C trace context.
    #[prost(message, optional, tag = "5")]
    pub trace_context: Option<RpcTraceContext>,
    /// The retry state, with a retry policy.
    #[prost(message, optional, tag = "6")]
    pub retry_context: Option<RetryContext>,
}

/// A W3C trace context.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcTraceContext {
    /// `traceparent`.
    #[prost(string, tag = "1")]
    pub trace_parent: String,
    /// `tracestate`.
    #[prost(string, tag = "2")]
    pub trace_state: String,
    /// Extra attributes.
    #[prost(btree_map = "string, string", tag = "3")]
    pub attributes: BTreeMap<String, String>,
}

/// Where an invocation stands in its retry policy.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RetryContext {
    /// Retries so far.
    #[prost(int32, tag = "1")]
    pub retry_count: i32,
    /// The most retries allowed.
    #[prost(int32, tag = "2")]
    pub max_retry_count: i32,
    /// The previous attempt's failure.
    #[prost(message, optional, tag = "3")]
    pub exception: Option<RpcException>,
}

/// One binding's value.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ParameterBinding {
    /// The binding name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The value.
    #[prost(oneof = "parameter_binding::RpcData", tags = "2, 3")]
    pub rpc_data: Option<parameter_binding::RpcData>,
}

/// The oneof of [`ParameterBinding`].
pub mod parameter_binding {
    /// Where a binding's value is.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum RpcData {
        /// In the message.
        #[prost(message, tag = "2")]
        Data(super::TypedData),
        /// In shared memory.
        #[prost(message, tag = "3")]
        RpcSharedMemory(super::RpcSharedMemory),
    }
}

/// A value of any type the protocol carries.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TypedData {
    /// The value; `None` is null.
    #[prost(oneof = "typed_data::Data", tags = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13")]
    pub data: Option<typed_data::Data>,
}

/// The oneof of [`TypedData`].
pub mod typed_data {
    /// The value of a [`TypedData`](super::TypedData).
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Data {
        /// Text.
        #[prost(string, tag = "1")]
        String(String),
        /// JSON text.
        #[prost(string, tag = "2")]
        Json(String),
        /// Bytes.
        #[prost(bytes = "vec", tag = "3")]
        Bytes(Vec<u8>),
        /// Bytes of a stream.
        #[prost(bytes = "vec", tag = "4")]
        Stream(Vec<u8>),
        /// An HTTP request or response.
        #[prost(message, tag = "5")]
        Http(Box<super::RpcHttp>),
        /// An integer.
        #[prost(sint64, tag = "6")]
        Int(i64),
        /// A float.
        #[prost(double, tag = "7")]
        Double(f64),
        /// A list of byte strings.
        #[prost(message, tag = "8")]
        CollectionBytes(super::CollectionBytes),
        /// A list of strings.
        #[prost(message, tag = "9")]
        CollectionString(super::CollectionString),
        /// A list of floats.
        #[prost(message, tag = "10")]
        CollectionDouble(super::CollectionDouble),
        /// A list of integers.
        #[prost(message, tag = "11")]
        CollectionSint64(super::CollectionSInt64),
        /// SDK-type binding data.
        #[prost(message, tag = "12")]
        ModelBindingData(super::ModelBindingData),
        /// A list of SDK-type binding data.
        #[prost(message, tag = "13")]
        CollectionModelBindingData(super::CollectionModelBindingData),
    }
}

/// An HTTP request (host → worker) or response (worker → host).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcHttp {
    /// The method.
    #[prost(string, tag = "1")]
    pub method: String,
    /// The full URL.
    #[prost(string, tag = "2")]
    pub url: String,
    /// Headers: lower-case names, repeated values comma-joined.
    #[prost(btree_map = "string, string", tag = "3")]
    pub headers: BTreeMap<String, String>,
    /// The body; a response's status and headers count only when it is set.
    #[prost(message, optional, boxed, tag = "4")]
    pub body: Option<Box<TypedData>>,
    /// Route parameters.
    #[prost(btree_map = "string, string", tag = "10")]
    pub params: BTreeMap<String, String>,
    /// A response's status code as text (`""` is 200).
    #[prost(string, tag = "12")]
    pub status_code: String,
    /// Query parameters.
    #[prost(btree_map = "string, string", tag = "15")]
    pub query: BTreeMap<String, String>,
    /// Response only.
    #[prost(bool, tag = "16")]
    pub enable_content_negotiation: bool,
    /// The raw body (request only, absent with `RpcHttpBodyOnly`).
    #[prost(message, optional, boxed, tag = "17")]
    pub raw_body: Option<Box<TypedData>>,
    /// The caller's identities (request only).
    #[prost(message, repeated, tag = "18")]
    pub identities: Vec<RpcClaimsIdentity>,
    /// Cookies to set (response only).
    #[prost(message, repeated, tag = "19")]
    pub cookies: Vec<RpcHttpCookie>,
    /// Headers with `UseNullableValueDictionaryForHttp` (replaces `headers`).
    #[prost(btree_map = "string, message", tag = "20")]
    pub nullable_headers: BTreeMap<String, NullableString>,
    /// Route parameters with `UseNullableValueDictionaryForHttp` (replaces `params`).
    #[prost(btree_map = "string, message", tag = "21")]
    pub nullable_params: BTreeMap<String, NullableString>,
    /// Query parameters with `UseNullableValueDictionaryForHttp` (replaces `query`).
    #[prost(btree_map = "string, message", tag = "22")]
    pub nullable_query: BTreeMap<String, NullableString>,
}

/// A cookie of an HTTP response.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcHttpCookie {
    /// Its name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Its value.
    #[prost(string, tag = "2")]
    pub value: String,
    /// `Domain`.
    #[prost(message, optional, tag = "3")]
    pub domain: Option<NullableString>,
    /// `Path`.
    #[prost(message, optional, tag = "4")]
    pub path: Option<NullableString>,
    /// `Expires`.
    #[prost(message, optional, tag = "5")]
    pub expires: Option<NullableTimestamp>,
    /// `Secure`.
    #[prost(message, optional, tag = "6")]
    pub secure: Option<NullableBool>,
    /// `HttpOnly`.
    #[prost(message, optional, tag = "7")]
    pub http_only: Option<NullableBool>,
    /// [`rpc_http_cookie::SameSite`].
    #[prost(enumeration = "rpc_http_cookie::SameSite", tag = "8")]
    pub same_site: i32,
    /// `Max-Age`.
    #[prost(message, optional, tag = "9")]
    pub max_age: Option<NullableDouble>,
}

/// The enum of [`RpcHttpCookie`].
pub mod rpc_http_cookie {
    /// `SameSite`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum SameSite {
        /// Not set.
        None = 0,
        /// `Lax`.
        Lax = 1,
        /// `Strict`.
        Strict = 2,
        /// `None`, explicitly.
        ExplicitNone = 3,
    }
}

/// One identity of an HTTP caller.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcClaimsIdentity {
    /// How the caller authenticated.
    #[prost(message, optional, tag = "1")]
    pub authentication_type: Option<NullableString>,
    /// The claim type holding the name.
    #[prost(message, optional, tag = "2")]
    pub name_claim_type: Option<NullableString>,
    /// The claim type holding roles.
    #[prost(message, optional, tag = "3")]
    pub role_claim_type: Option<NullableString>,
    /// The claims.
    #[prost(message, repeated, tag = "4")]
    pub claims: Vec<RpcClaim>,
}

/// One claim.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcClaim {
    /// Its value.
    #[prost(string, tag = "1")]
    pub value: String,
    /// Its type.
    #[prost(string, tag = "2")]
    pub r#type: String,
}

/// A string that may be absent (root package of the protocol).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct NullableString {
    /// The value, if any.
    #[prost(string, optional, tag = "1")]
    pub value: Option<String>,
}

/// A float that may be absent.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NullableDouble {
    /// The value, if any.
    #[prost(double, optional, tag = "1")]
    pub value: Option<f64>,
}

/// A boolean that may be absent.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct NullableBool {
    /// The value, if any.
    #[prost(bool, optional, tag = "1")]
    pub value: Option<bool>,
}

/// A timestamp that may be absent.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct NullableTimestamp {
    /// The value, if any.
    #[prost(message, optional, tag = "1")]
    pub value: Option<Timestamp>,
}

/// A list of strings.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct CollectionString {
    /// The strings.
    #[prost(string, repeated, tag = "1")]
    pub string: Vec<String>,
}

/// A list of byte strings.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct CollectionBytes {
    /// The byte strings.
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub bytes: Vec<Vec<u8>>,
}

/// A list of floats.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CollectionDouble {
    /// The floats.
    #[prost(double, repeated, tag = "1")]
    pub double: Vec<f64>,
}

/// A list of integers.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct CollectionSInt64 {
    /// The integers.
    #[prost(sint64, repeated, tag = "1")]
    pub sint64: Vec<i64>,
}

/// SDK-type binding data: a reference the worker resolves itself.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ModelBindingData {
    /// The format's version.
    #[prost(string, tag = "1")]
    pub version: String,
    /// The extension that produced it.
    #[prost(string, tag = "2")]
    pub source: String,
    /// The content's media type.
    #[prost(string, tag = "3")]
    pub content_type: String,
    /// The content.
    #[prost(bytes = "vec", tag = "4")]
    pub content: Vec<u8>,
}

/// A list of SDK-type binding data.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct CollectionModelBindingData {
    /// The items.
    #[prost(message, repeated, tag = "1")]
    pub model_binding_data: Vec<ModelBindingData>,
}

/// The answer to [`InvocationRequest`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct InvocationResponse {
    /// The invocation's id.
    #[prost(string, tag = "1")]
    pub invocation_id: String,
    /// Values of named output bindings.
    #[prost(message, repeated, tag = "2")]
    pub output_data: Vec<ParameterBinding>,
    /// Success (outputs are bound), failure or cancellation.
    #[prost(message, optional, tag = "3")]
    pub result: Option<StatusResult>,
    /// The value of the `$return` binding.
    #[prost(message, optional, tag = "4")]
    pub return_value: Option<TypedData>,
}

/// Host → worker: cancel one invocation.
#[derive(Clone, PartialEq, prost::Message)]
pub struct InvocationCancel {
    /// Unused.
    #[prost(message, optional, tag = "1")]
    pub grace_period: Option<Duration>,
    /// The invocation to cancel.
    #[prost(string, tag = "2")]
    pub invocation_id: String,
}

/// Host → worker: shut down.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WorkerTerminate {
    /// How long in-flight work may take before the host kills the worker.
    #[prost(message, optional, tag = "1")]
    pub grace_period: Option<Duration>,
}

/// Host → worker: a health probe.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct WorkerStatusRequest {}

/// The answer to [`WorkerStatusRequest`].
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct WorkerStatusResponse {}

/// Unused.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct WorkerHeartbeat {}

/// Host → worker: specialization of a placeholder worker.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FunctionEnvironmentReloadRequest {
    /// The app's environment.
    #[prost(btree_map = "string, string", tag = "1")]
    pub environment_variables: BTreeMap<String, String>,
    /// The app's folder, the new working directory.
    #[prost(string, tag = "2")]
    pub function_app_directory: String,
}

/// The answer to [`FunctionEnvironmentReloadRequest`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct FunctionEnvironmentReloadResponse {
    /// What the worker is.
    #[prost(message, optional, tag = "1")]
    pub worker_metadata: Option<WorkerMetadata>,
    /// The worker's capabilities after specialization.
    #[prost(btree_map = "string, string", tag = "2")]
    pub capabilities: BTreeMap<String, String>,
    /// Success or failure.
    #[prost(message, optional, tag = "3")]
    pub result: Option<StatusResult>,
    /// [`function_environment_reload_response::CapabilitiesUpdateStrategy`].
    #[prost(
        enumeration = "function_environment_reload_response::CapabilitiesUpdateStrategy",
        tag = "4"
    )]
    pub capabilities_update_strategy: i32,
}

/// The enum of [`FunctionEnvironmentReloadResponse`].
pub mod function_environment_reload_response {
    /// How the host combines the new capabilities with the old.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum CapabilitiesUpdateStrategy {
        /// Merge into the init set.
        Merge = 0,
        /// Replace the init set.
        Replace = 1,
    }
}

/// Host → worker: placeholder warm-up.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WorkerWarmupRequest {
    /// The worker's folder.
    #[prost(string, tag = "1")]
    pub worker_directory: String,
}

/// The answer to [`WorkerWarmupRequest`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct WorkerWarmupResponse {
    /// Success or failure.
    #[prost(message, optional, tag = "1")]
    pub result: Option<StatusResult>,
}

/// Host → worker: release shared memory maps.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CloseSharedMemoryResourcesRequest {
    /// The maps.
    #[prost(string, repeated, tag = "1")]
    pub map_names: Vec<String>,
}

/// The answer to [`CloseSharedMemoryResourcesRequest`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct CloseSharedMemoryResourcesResponse {
    /// Map name → whether it was closed.
    #[prost(btree_map = "string, bool", tag = "1")]
    pub close_map_results: BTreeMap<String, bool>,
}

/// A value in shared memory.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcSharedMemory {
    /// The map's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Where the value starts.
    #[prost(int64, tag = "2")]
    pub offset: i64,
    /// Its length.
    #[prost(int64, tag = "3")]
    pub count: i64,
    /// [`RpcDataType`].
    #[prost(enumeration = "RpcDataType", tag = "4")]
    pub r#type: i32,
}

/// The type of a value in shared memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum RpcDataType {
    /// Unknown.
    Unknown = 0,
    /// Text.
    String = 1,
    /// JSON text.
    Json = 2,
    /// Bytes.
    Bytes = 3,
    /// A stream's bytes.
    Stream = 4,
    /// HTTP.
    Http = 5,
    /// An integer.
    Int = 6,
    /// A float.
    Double = 7,
    /// Byte strings.
    CollectionBytes = 8,
    /// Strings.
    CollectionString = 9,
    /// Floats.
    CollectionDouble = 10,
    /// Integers.
    CollectionSint64 = 11,
}

/// Host → worker: a file changed (not sent by current hosts).
#[derive(Clone, PartialEq, prost::Message)]
pub struct FileChangeEventRequest {
    /// [`file_change_event_request::Type`].
    #[prost(enumeration = "file_change_event_request::Type", tag = "1")]
    pub r#type: i32,
    /// The file's path.
    #[prost(string, tag = "2")]
    pub full_path: String,
    /// The file's name.
    #[prost(string, tag = "3")]
    pub name: String,
}

/// The enum of [`FileChangeEventRequest`].
pub mod file_change_event_request {
    /// What happened to the file.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum Type {
        /// Unknown.
        Unknown = 0,
        /// Created.
        Created = 1,
        /// Deleted.
        Deleted = 2,
        /// Changed.
        Changed = 4,
        /// Renamed.
        Renamed = 8,
        /// Any of these.
        All = 15,
    }
}

/// Worker → host: restart or reload (not read by current hosts).
#[derive(Clone, PartialEq, prost::Message)]
pub struct WorkerActionResponse {
    /// [`worker_action_response::Action`].
    #[prost(enumeration = "worker_action_response::Action", tag = "1")]
    pub action: i32,
    /// Why.
    #[prost(string, tag = "2")]
    pub reason: String,
}

/// The enum of [`WorkerActionResponse`].
pub mod worker_action_response {
    /// What the worker asks for.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum Action {
        /// Restart the worker.
        Restart = 0,
        /// Reload the functions.
        Reload = 1,
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    /// Bytes written by hand from the protobuf encoding rules, so the derives are checked
    /// against the wire format rather than against themselves.
    #[test]
    fn field_numbers_match_the_wire_format() {
        let message = StreamingMessage {
            request_id: "r".into(),
            content: Some(streaming_message::Content::StartStream(StartStream {
                worker_id: "w".into(),
            })),
        };
        // field 1 (string) "r"; field 20 (message) { field 2 (string) "w" }.
        assert_eq!(message.encode_to_vec(), [0x0a, 1, b'r', 0xa2, 0x01, 3, 0x12, 1, b'w']);

        let int = TypedData {
            data: Some(typed_data::Data::Int(-2)),
        };
        // field 6, varint, zigzag(-2) = 3.
        assert_eq!(int.encode_to_vec(), [0x30, 3]);

        let status = StatusResult {
            status: status_result::Status::Success as i32,
            ..Default::default()
        };
        // The status is field 4.
        assert_eq!(status.encode_to_vec(), [0x20, 1]);
    }

    #[test]
    fn nested_http_bodies_round_trip() {
        let http = RpcHttp {
            status_code: "201".into(),
            body: Some(Box::new(TypedData {
                data: Some(typed_data::Data::Bytes(b"ok".to_vec())),
            })),
            nullable_query: [(
                "q".to_owned(),
                NullableString {
                    value: Some(String::new()),
                },
            )]
            .into(),
            ..Default::default()
        };
        let data = TypedData {
            data: Some(typed_data::Data::Http(Box::new(http))),
        };
        let decoded = TypedData::decode(data.encode_to_vec().as_slice()).expect("decodes");
        assert_eq!(decoded, data);
    }

    #[test]
    fn durations_convert_to_std_and_back() {
        let five = std::time::Duration::from_millis(5_250);
        assert_eq!(Duration::from_std(five).to_std(), five);
        assert_eq!(Duration { seconds: -1, nanos: 0 }.to_std(), std::time::Duration::ZERO);
    }
}

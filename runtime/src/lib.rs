//! # azfn: Azure Functions in Rust
//!
//! Write ordinary functions, mark them with `#[function(...)]`, and azfn generates the function
//! manifest, checks every binding at compile time, and serves the invocations the Azure
//! Functions host sends.
//!
//! ```no_run
//! use azfn::prelude::*;
//!
//! #[function(http_trigger(route = "hello/{name}", methods = "get", auth_level = "anonymous"))]
//! async fn hello(req: HttpRequest) -> String {
//!     format!("Hello, {}!", req.param("name").unwrap_or("world"))
//! }
//!
//! fn main() {
//!     azfn::App::new().run();
//! }
//! ```
//!
//! The app binary does two jobs. Run with `--write-app <dir>` it writes the function app
//! folder (`host.json`, one `function.json` per function, `local.settings.json` and a copy of
//! itself); started by the host it serves invocations over the custom-handler protocol.
#![forbid(unsafe_code)]
// Examples show `fn main` on purpose: it is where an app calls `App::run`.
#![allow(clippy::needless_doctest_main)]

// Lets the crate's own tests and doctests use the macros, which name `::azfn`.
extern crate self as azfn;

mod app;
pub mod custom_handler;
#[cfg(any(feature = "native", feature = "durable"))]
pub mod grpc;
mod http_service;
mod loopback;
#[cfg(feature = "native")]
pub mod native;
pub mod testing;

/// OpenTelemetry export (feature `opentelemetry`): the `azfn-opentelemetry` crate.
#[cfg(feature = "opentelemetry")]
pub use azfn_opentelemetry as opentelemetry;

/// Durable Functions (feature `durable`): the `azfn-durable` crate.
#[cfg(feature = "durable")]
pub use azfn_durable as durable;
/// Azure Storage connections and the Azure SDK for Rust storage crates (`storage::blob`,
/// `storage::queue`), whose `BlobClient`, `BlobContainerClient` and `QueueClient` can be
/// parameters (feature `storage-clients`; see docs/sdk-clients.md).
#[cfg(feature = "storage-clients")]
pub use azfn_storage as storage;

// The core's modules under the names the transports here use.
pub(crate) use azfn_core::{
    data, dispatch, error, extensions, extract, function, http, invocation, middleware, scoped, triggers,
};
pub use azfn_core::{logging, manifest};

pub use app::{App, StartupError};
pub use azfn_bindings as bindings;
#[cfg(feature = "tables")]
pub use azfn_core::TableEntity;
pub use azfn_core::{
    BindingData, BodyClosed, BodyError, BodySender, CancellationToken, Claim, ClaimsIdentity, DecodeError,
    DuplicateFunctionName, Error, Extensions, FromInputBinding, FromInvocation, FunctionContext, FunctionDescription,
    Headers, HttpRequest, HttpRequestBuilder, HttpResponse, Identities, IntoFunctionError, IntoHttpResponse,
    IntoOutputValue, Invocation, InvocationError, InvokeFuture, Invoker, Json, LogFilter, LogLine, Metadata,
    Middleware, MiddlewareFuture, Next, NextFuture, OutputValue, Outputs, Path, Query, Registry, RequestBody, Result,
    RetryContext, RetryPolicy, ReturnOutputs, Scoped, State, TraceContext, TriggerKind, invoke, kind,
};
pub use azfn_core::{BlobTriggerMetadata, QueueTriggerMetadata, ScheduleStatus, TimerInfo, WarmupContext};
#[cfg(feature = "cosmosdb")]
pub use azfn_core::{ChangeFeedItem, ChangeFeedMetadata};
pub use azfn_core::{ClientPrincipal, Config, ConfigError, OptionalClientPrincipal, Settings};
#[cfg(feature = "eventgrid")]
pub use azfn_core::{CloudEvent, EventGridEvent};
#[cfg(feature = "eventhubs")]
pub use azfn_core::{EventHubBatchMetadata, EventHubEventMetadata, PartitionContext};
#[cfg(feature = "kafka")]
pub use azfn_core::{KafkaEvent, KafkaHeader};
#[cfg(feature = "servicebus")]
pub use azfn_core::{
    MessagePropertyValue, MessageSettler, PropertiesToModify, ServiceBusBatchMetadata, ServiceBusMessageMetadata,
    ServiceBusSettlement, SettleFuture, SettlementChannel, SettlementError, SettlementOperation, SettlementRequest,
};
#[cfg(feature = "rabbitmq")]
pub use azfn_core::{RabbitMqMessageMetadata, RabbitMqProperties};
#[cfg(feature = "signalr")]
pub use azfn_core::{SignalRConnectionInfo, SignalRInvocationContext, SignalRMessage};
#[cfg(any(feature = "sql", feature = "mysql"))]
pub use azfn_core::{SqlChange, SqlChangeOperation};
pub use azfn_macros::{FunctionOutput, entity, function};

/// Everything a function file usually needs.
pub mod prelude {
    pub use crate::{
        BlobTriggerMetadata, ClientPrincipal, Config, FunctionContext, FunctionOutput, Headers, HttpRequest,
        HttpResponse, Json, Path, Query, QueueTriggerMetadata, Scoped, State, TimerInfo, entity, function,
    };
    pub use http::StatusCode;
}

/// What generated code uses. Not part of the API: users never name it.
#[doc(hidden)]
pub mod __private {
    pub use azfn_core::__private::*;

    #[cfg(feature = "durable")]
    pub use azfn_durable::binding::{
        OrchestrationParameter, durable_entity, durable_entity_async, durable_orchestrate, orchestrate_plain,
        orchestrate_with_input,
    };
    #[cfg(feature = "durable")]
    pub use azfn_durable::entity::{EntityContext, OperationOutcome, is_operation};
    #[cfg(feature = "durable")]
    pub use azfn_durable::orchestration::{
        Activity, DurableInput, Entity, Operation, Orchestration, OrchestrationContext, OrchestrationFuture,
    };
}

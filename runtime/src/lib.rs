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
mod cancel;
mod context;
pub mod custom_handler;
mod data;
mod decode;
mod dispatch;
#[cfg(feature = "durable")]
pub mod durable;
mod error;
mod extensions;
mod extract;
mod function;
#[cfg(any(feature = "native", feature = "durable"))]
pub mod grpc;
mod http;
mod http_service;
mod invocation;
pub mod logging;
mod loopback;
pub mod manifest;
mod middleware;
#[cfg(feature = "native")]
pub mod native;
pub mod testing;
mod triggers;

pub use app::App;
pub use azfn_bindings as bindings;
pub use azfn_macros::{FunctionOutput, function};
pub use cancel::CancellationToken;
pub use context::FunctionContext;
pub use data::BindingData;
pub use decode::DecodeError;
pub use dispatch::invoke;
pub use error::{Error, IntoFunctionError, InvocationError};
pub use extensions::Extensions;
pub use extract::{FromInputBinding, FromInvocation, IntoOutputValue, ReturnOutputs, State, TriggerKind, kind};
pub use function::{DuplicateFunctionName, FunctionDescription, InvokeFuture, Invoker, Registry, RetryPolicy};
pub use http::{
    BodyClosed, BodySender, Claim, ClaimsIdentity, Headers, HttpRequest, HttpRequestBuilder, HttpResponse, Identities,
    IntoHttpResponse, Json, Path, Query,
};
pub use invocation::{Invocation, LogLine, Metadata, OutputValue, Outputs, RetryContext, TraceContext};
pub use logging::LogFilter;
pub use middleware::{Middleware, MiddlewareFuture, Next, NextFuture};
#[cfg(any(feature = "sql", feature = "mysql"))]
pub use triggers::changes::{SqlChange, SqlChangeOperation};
#[cfg(feature = "cosmosdb")]
pub use triggers::cosmosdb::{ChangeFeedItem, ChangeFeedMetadata};
#[cfg(feature = "eventgrid")]
pub use triggers::eventgrid::{CloudEvent, EventGridEvent};
#[cfg(feature = "eventhubs")]
pub use triggers::eventhubs::{EventHubBatchMetadata, EventHubEventMetadata, PartitionContext};
#[cfg(feature = "kafka")]
pub use triggers::kafka::{KafkaEvent, KafkaHeader};
#[cfg(feature = "rabbitmq")]
pub use triggers::rabbitmq::{RabbitMqMessageMetadata, RabbitMqProperties};
#[cfg(feature = "servicebus")]
pub use triggers::servicebus::{ServiceBusBatchMetadata, ServiceBusMessageMetadata};
#[cfg(feature = "signalr")]
pub use triggers::signalr::{SignalRConnectionInfo, SignalRInvocationContext, SignalRMessage};
#[cfg(feature = "tables")]
pub use triggers::tables::TableEntity;
pub use triggers::{BlobTriggerMetadata, QueueTriggerMetadata, ScheduleStatus, TimerInfo, WarmupContext};

/// `Result` with [`Error`] as its default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a function file usually needs.
pub mod prelude {
    pub use crate::{
        BlobTriggerMetadata, FunctionContext, FunctionOutput, Headers, HttpRequest, HttpResponse, Json, Path, Query,
        QueueTriggerMetadata, State, TimerInfo, function,
    };
    pub use http::StatusCode;
}

/// What generated code uses. Not part of the API: users never name it.
#[doc(hidden)]
pub mod __private {
    pub use crate::error::{IntoFunctionError, InvocationError};
    pub use crate::extract::{
        Admits, AnyTrigger, DataTypeOf, FromInputBinding, FromInvocation, HTTP_RETURN, IntoOutputValue,
        NoDataTypePreference, Parameter, ReturnOutputs, data_type_or, distinct_binding_names, write_output,
    };
    pub use crate::extract::{CardinalityOf, NoCardinalityPreference, cardinality, is_batch, payload_is_batch};
    pub use crate::function::{FunctionDescription, InvokeFuture, Registration, RetryPolicy};
    pub use crate::invocation::{Invocation, Outputs};
    pub use azfn_bindings::catalog;
    pub use azfn_bindings::{BindingDescription, DataType, PropertyValue};
    pub use inventory;
    pub use std::boxed::Box;
    pub use std::result::Result::{self, Err, Ok};

    #[cfg(feature = "durable")]
    pub use crate::durable::binding::{
        ActivityParameter, OrchestrationParameter, durable_entity, durable_entity_async, durable_orchestrate,
    };

    /// Turns a user function's `Err` into a failed invocation.
    pub fn function_error<E: IntoFunctionError>(error: E) -> InvocationError {
        InvocationError::Function(error.into_function_error())
    }
}

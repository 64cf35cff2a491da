//! # azfn-core: what every azfn app runs, whatever the transport
//!
//! The invocation and its binding data, the extraction traits `#[function]` generates calls
//! through, the function registry, dispatch (deadline, cancellation, panics, log capture),
//! middleware and the manifest (`function.json` from the registry). It knows the binding
//! catalog (`azfn-bindings`) and nothing of any protocol: the transports (custom handler, gRPC)
//! and Durable Functions build on it in their own crates.
//!
//! Users depend on `azfn`, which re-exports all of this; the paths below are the same there.
#![forbid(unsafe_code)]

// `#[function]` names `::azfn`: in this crate's own tests that is the crate itself, whose
// `kind` and `__private` are the ones `azfn` re-exports.
extern crate self as azfn;

// The modules are public for the other azfn crates (the transports and Durable use their
// crate-internal items); hidden ones are not API: the re-exports below are.

#[cfg(feature = "durable")]
#[doc(hidden)]
pub mod activity;
#[doc(hidden)]
pub mod cancel;
#[doc(hidden)]
pub mod clients;
#[doc(hidden)]
pub mod config;
#[doc(hidden)]
pub mod context;
#[doc(hidden)]
pub mod data;
#[doc(hidden)]
pub mod decode;
#[doc(hidden)]
pub mod dispatch;
#[doc(hidden)]
pub mod error;
#[doc(hidden)]
pub mod extensions;
#[doc(hidden)]
pub mod extract;
#[doc(hidden)]
pub mod function;
#[doc(hidden)]
pub mod http;
#[doc(hidden)]
pub mod invocation;
pub mod logging;
pub mod manifest;
#[doc(hidden)]
pub mod middleware;
#[doc(hidden)]
pub mod principal;
#[doc(hidden)]
pub mod request_body;
#[doc(hidden)]
pub mod scoped;
#[doc(hidden)]
pub mod triggers;

pub use cancel::CancellationToken;
pub use config::{Config, ConfigError, Settings};
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
pub use principal::{ClientPrincipal, OptionalClientPrincipal};
pub use request_body::{BodyError, RequestBody};
pub use scoped::Scoped;
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
pub use triggers::servicebus::settlement::{
    MessagePropertyValue, MessageSettler, PropertiesToModify, ServiceBusSettlement, SettleFuture, SettlementChannel,
    SettlementError, SettlementOperation, SettlementRequest,
};
#[cfg(feature = "servicebus")]
pub use triggers::servicebus::{ServiceBusBatchMetadata, ServiceBusMessageMetadata};
#[cfg(feature = "signalr")]
pub use triggers::signalr::{SignalRConnectionInfo, SignalRInvocationContext, SignalRMessage};
#[cfg(feature = "tables")]
pub use triggers::tables::TableEntity;
pub use triggers::{BlobTriggerMetadata, QueueTriggerMetadata, ScheduleStatus, TimerInfo, WarmupContext};

/// `Result` with [`Error`] as its default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What generated code uses, re-exported by `azfn::__private`. Not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::clients::{ParameterOf, ThroughTraits, any_of};
    pub use crate::error::{IntoFunctionError, InvocationError};
    pub use crate::extract::{
        Admits, AnyTrigger, DataTypeOf, FromInputBinding, FromInvocation, HTTP_RETURN, IntoOutputValue,
        NoDataTypePreference, Parameter, ReturnOutputs, data_type_or, distinct_binding_names, write_output,
    };
    pub use crate::extract::{CardinalityOf, NoCardinalityPreference, cardinality, is_batch, payload_is_batch};
    pub use crate::function::{FunctionDescription, InvokeFuture, Registration, RetryPolicy};
    pub use crate::invocation::{Invocation, Outputs};
    pub use azfn_bindings::catalog;
    pub use azfn_bindings::description::SUPPORTS_DEFERRED_BINDING;
    pub use azfn_bindings::{BindingDescription, DataType, PropertyValue};
    pub use inventory;
    pub use std::boxed::Box;
    pub use std::result::Result::{self, Err, Ok};

    #[cfg(feature = "durable")]
    pub use crate::activity::ActivityParameter;

    /// Turns a user function's `Err` into a failed invocation.
    pub fn function_error<E: IntoFunctionError>(error: E) -> InvocationError {
        InvocationError::Function(error.into_function_error())
    }
}

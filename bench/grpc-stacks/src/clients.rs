//! The two clients of `TaskHubSidecarService.GetInstance`, as the Durable client's status poll
//! makes the call: azfn's own [`DurableClient`] (hyper HTTP/2, `azfn_wire::codec` framing,
//! `GrpcStatus`, a deadline) and a tonic client with the same headers and deadline.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use azfn_durable::DurableClient;
use azfn_wire::durable::{GetInstanceRequest, GetInstanceResponse};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};

use crate::tonic_stubs::sidecar::task_hub_sidecar_service_client::TaskHubSidecarServiceClient;

/// The deadline of every call: the Durable client's default (`grpcHttpClientTimeout` unset).
const CALL_TIMEOUT: Duration = Duration::from_secs(100);
const TASK_HUB: &str = "BenchHub";
const CONNECTION: &str = "Storage";
const INSTANCE_ID: &str = "order-7";

/// Which gRPC stack makes the calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stack {
    /// azfn's hand-written client (`azfn_durable::DurableClient`).
    Hand,
    /// tonic 0.14 with its generated client on a `Channel`.
    Tonic,
    /// tonic's generated client and codec on a bare hyper HTTP/2 connection, as azfn opens it:
    /// what is left of tonic's cost without its `Channel` (a tower buffer and a reconnecting
    /// service in front of the connection).
    TonicOnHyper,
    /// The hand-written worker stream with one change: each write of the request body takes
    /// every message already queued (up to 32 KiB), as tonic's encoder does, instead of one.
    /// Stream only: it tests where tonic's streaming advantage comes from.
    HandCoalescing,
}

impl Stack {
    pub fn name(self) -> &'static str {
        match self {
            Stack::Hand => "hand-written",
            Stack::HandCoalescing => "hand-written, coalescing",
            Stack::Tonic => "tonic",
            Stack::TonicOnHyper => "tonic on hyper",
        }
    }

    pub fn arg(self) -> &'static str {
        match self {
            Stack::Hand => "hand",
            Stack::HandCoalescing => "hand-coalescing",
            Stack::Tonic => "tonic",
            Stack::TonicOnHyper => "tonic-on-hyper",
        }
    }

    pub fn from_arg(arg: &str) -> Result<Stack, String> {
        match arg {
            "hand" => Ok(Stack::Hand),
            "hand-coalescing" => Ok(Stack::HandCoalescing),
            "tonic" => Ok(Stack::Tonic),
            "tonic-on-hyper" => Ok(Stack::TonicOnHyper),
            other => Err(format!("unknown stack `{other}`: hand, tonic or tonic-on-hyper")),
        }
    }

    /// The order of `rounds` passes over `stacks`, forwards then backwards: A B B A A B …
    /// (A B C C B A … for three), so that a drift in the machine's load favours none.
    pub fn abba(stacks: &[Stack], rounds: usize) -> Vec<Stack> {
        (0..rounds)
            .flat_map(|round| {
                let mut pass = stacks.to_vec();
                if round % 2 == 1 {
                    pass.reverse();
                }
                pass
            })
            .collect()
    }
}

/// A connected client of either stack; clones share one HTTP/2 connection.
#[derive(Clone)]
pub enum Client {
    Hand(DurableClient),
    Tonic(TaskHubSidecarServiceClient<Channel>),
    TonicOnHyper(TaskHubSidecarServiceClient<HyperConnection>),
}

/// A hyper HTTP/2 connection as a tower service, for tonic's `Grpc` to send on.
#[derive(Clone)]
pub struct HyperConnection(SendRequest<tonic::body::Body>);

impl tower_service::Service<http::Request<tonic::body::Body>> for HyperConnection {
    type Response = http::Response<hyper::body::Incoming>;
    type Error = hyper::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, hyper::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), hyper::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(self.0.send_request(request))
    }
}

impl Client {
    /// A client of the sidecar on `port`, its connection open (one call made).
    pub async fn connect(stack: Stack, port: u16) -> Result<Client, String> {
        let client = match stack {
            Stack::HandCoalescing => return Err("hand-coalescing is a stream variant, not a unary client".into()),
            Stack::Hand => {
                let binding = format!(
                    r#"{{"taskHubName":"{TASK_HUB}","connectionName":"{CONNECTION}","rpcBaseUrl":"http://127.0.0.1:{port}"}}"#
                );
                Client::Hand(DurableClient::from_binding(&binding).map_err(|e| e.to_string())?)
            }
            Stack::Tonic => {
                // tonic's client-side deadline (a tower timeout) and TCP_NODELAY, as the
                // hand-written client has.
                let channel = Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
                    .map_err(|e| e.to_string())?
                    .timeout(CALL_TIMEOUT)
                    .tcp_nodelay(true)
                    .connect()
                    .await
                    .map_err(|e| format!("tonic cannot connect: {e}"))?;
                Client::Tonic(TaskHubSidecarServiceClient::new(channel))
            }
            Stack::TonicOnHyper => {
                let tcp = TcpStream::connect(("127.0.0.1", port))
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = tcp.set_nodelay(true);
                let (sender, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
                    .handshake(TokioIo::new(tcp))
                    .await
                    .map_err(|e| e.to_string())?;
                tokio::spawn(connection);
                // tonic's generated client wants an origin to complete the method's path with.
                let origin = format!("http://127.0.0.1:{port}").parse().map_err(|e| format!("{e}"))?;
                Client::TonicOnHyper(TaskHubSidecarServiceClient::with_origin(
                    HyperConnection(sender),
                    origin,
                ))
            }
        };
        client.get_status().await?;
        Ok(client)
    }

    /// One `GetInstance` call with inputs and outputs, checked.
    pub async fn get_status(&self) -> Result<(), String> {
        let found = match self {
            Client::Hand(client) => client
                .get_status(INSTANCE_ID, true)
                .await
                .map_err(|e| e.to_string())?
                .is_some_and(|status| status.instance_id == INSTANCE_ID),
            Client::Tonic(client) => {
                let response = client
                    .clone()
                    .get_instance(tonic_request())
                    .await
                    .map_err(|e| e.to_string())?;
                found(response.into_inner())
            }
            Client::TonicOnHyper(client) => {
                // No Channel, so no client-side deadline layer: the deadline as azfn sets it.
                let mut client = client.clone();
                let response = tokio::time::timeout(CALL_TIMEOUT, client.get_instance(tonic_request()))
                    .await
                    .map_err(|_| "the call timed out".to_owned())?
                    .map_err(|e| e.to_string())?;
                found(response.into_inner())
            }
        };
        if found {
            Ok(())
        } else {
            Err("the sidecar did not return the instance".into())
        }
    }
}

/// The request the tonic clients send, with the headers the hand-written client sends:
/// `grpc-timeout` and the task hub's.
fn tonic_request() -> tonic::Request<GetInstanceRequest> {
    let mut request = tonic::Request::new(GetInstanceRequest {
        instance_id: INSTANCE_ID.to_owned(),
        get_inputs_and_outputs: true,
    });
    request.set_timeout(CALL_TIMEOUT);
    let metadata = request.metadata_mut();
    metadata.insert("durable-taskhub", MetadataValue::from_static(TASK_HUB));
    metadata.insert("durable-connectionname", MetadataValue::from_static(CONNECTION));
    request
}

/// Whether the response holds the instance asked for.
fn found(response: GetInstanceResponse) -> bool {
    response.exists
        && response
            .orchestration_state
            .is_some_and(|state| state.instance_id == INSTANCE_ID)
}

/// The `calls <hand|tonic|tonic-on-hyper> <port> <count>` subcommand, for callgrind: connects (one call), then
/// makes `count` calls one after the other, on a single-threaded runtime so that the count of
/// instructions does not depend on how threads park and wake.
pub fn calls_in_one_process(args: &[String]) -> Result<(), String> {
    let [stack, port, count] = args else {
        return Err("usage: calls <hand|tonic|tonic-on-hyper> <port> <count>".into());
    };
    let stack = Stack::from_arg(stack)?;
    let port: u16 = port.parse().map_err(|e| format!("port: {e}"))?;
    let count: usize = count.parse().map_err(|e| format!("count: {e}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let client = Client::connect(stack, port).await?;
        for _ in 0..count {
            client.get_status().await?;
        }
        Ok(())
    })
}

/// The command line of [`calls_in_one_process`].
pub fn calls_args(stack: Stack, port: u16, count: usize) -> Vec<String> {
    vec!["calls".into(), stack.arg().into(), port.to_string(), count.to_string()]
}

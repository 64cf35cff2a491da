//! The two clients of `TaskHubSidecarService.GetInstance`, as the Durable client's status poll
//! makes the call: azfn's own [`DurableClient`] (hyper HTTP/2, `azfn_wire::codec` framing,
//! `GrpcStatus`, a deadline) and a tonic client with the same headers and deadline.

use std::time::Duration;

use azfn_durable::DurableClient;
use azfn_wire::durable::GetInstanceRequest;
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
    /// tonic 0.14 with its generated client.
    Tonic,
}

impl Stack {
    pub fn name(self) -> &'static str {
        match self {
            Stack::Hand => "hand-written",
            Stack::Tonic => "tonic",
        }
    }

    fn arg(self) -> &'static str {
        match self {
            Stack::Hand => "hand",
            Stack::Tonic => "tonic",
        }
    }

    fn from_arg(arg: &str) -> Result<Stack, String> {
        match arg {
            "hand" => Ok(Stack::Hand),
            "tonic" => Ok(Stack::Tonic),
            other => Err(format!("unknown stack `{other}`: hand or tonic")),
        }
    }

    /// The order of `rounds` rounds: A B B A A B B A …
    pub fn abba(rounds: usize) -> impl Iterator<Item = Stack> {
        (0..rounds).map(|i| {
            if matches!(i % 4, 0 | 3) {
                Stack::Hand
            } else {
                Stack::Tonic
            }
        })
    }
}

/// A connected client of either stack; clones share one HTTP/2 connection.
#[derive(Clone)]
pub enum Client {
    Hand(DurableClient),
    Tonic(TaskHubSidecarServiceClient<Channel>),
}

impl Client {
    /// A client of the sidecar on `port`, its connection open (one call made).
    pub async fn connect(stack: Stack, port: u16) -> Result<Client, String> {
        let client = match stack {
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
                let mut request = tonic::Request::new(GetInstanceRequest {
                    instance_id: INSTANCE_ID.to_owned(),
                    get_inputs_and_outputs: true,
                });
                // The headers the hand-written client sends: `grpc-timeout` and the task hub's.
                request.set_timeout(CALL_TIMEOUT);
                let metadata = request.metadata_mut();
                metadata.insert("durable-taskhub", MetadataValue::from_static(TASK_HUB));
                metadata.insert("durable-connectionname", MetadataValue::from_static(CONNECTION));
                let response = client.clone().get_instance(request).await.map_err(|e| e.to_string())?;
                let response = response.into_inner();
                response.exists
                    && response
                        .orchestration_state
                        .is_some_and(|state| state.instance_id == INSTANCE_ID)
            }
        };
        if found {
            Ok(())
        } else {
            Err("the sidecar did not return the instance".into())
        }
    }
}

/// The `calls <hand|tonic> <port> <count>` subcommand, for callgrind: connects (one call), then
/// makes `count` calls one after the other, on a single-threaded runtime so that the count of
/// instructions does not depend on how threads park and wake.
pub fn calls_in_one_process(args: &[String]) -> Result<(), String> {
    let [stack, port, count] = args else {
        return Err("usage: calls <hand|tonic> <port> <count>".into());
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

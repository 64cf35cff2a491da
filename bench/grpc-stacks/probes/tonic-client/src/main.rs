//! One `GetInstance` call on tonic, as its generated client makes it (`Grpc::unary` with the
//! prost codec), with a deadline. Built (not run) by `grpc-stacks build`.

use std::time::Duration;

use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Endpoint;

/// `GetInstanceRequest`'s fields, hand-declared so the probe needs no code generator.
#[derive(Clone, PartialEq, prost::Message)]
struct GetInstanceRequest {
    #[prost(string, tag = "1")]
    instance_id: String,
    #[prost(bool, tag = "2")]
    get_inputs_and_outputs: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
struct GetInstanceResponse {
    #[prost(bool, tag = "1")]
    exists: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let address = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:4001".into());
    let channel = Endpoint::from_shared(format!("http://{address}"))?
        .timeout(Duration::from_secs(100))
        .tcp_nodelay(true)
        .connect()
        .await?;
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await?;
    let mut request = tonic::Request::new(GetInstanceRequest {
        instance_id: "order-7".into(),
        get_inputs_and_outputs: true,
    });
    request.set_timeout(Duration::from_secs(100));
    let path = PathAndQuery::from_static("/TaskHubSidecarService/GetInstance");
    let codec = tonic_prost::ProstCodec::<GetInstanceRequest, GetInstanceResponse>::default();
    let response = grpc.unary(request, path, codec).await?;
    println!("exists: {}", response.into_inner().exists);
    Ok(())
}

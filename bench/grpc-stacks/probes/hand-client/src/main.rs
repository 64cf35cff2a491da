//! One `GetInstance` call on azfn's stack: hyper's HTTP/2 client, `azfn_wire::codec` framing,
//! `grpc-status` from the trailers, a deadline. Built (not run) by `grpc-stacks build`.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use prost::Message;

use azfn_wire::codec::{self, FrameDecoder, GrpcStatus};

/// `GetInstanceRequest`'s fields, hand-declared so the probe needs no code generator.
#[derive(Clone, PartialEq, Message)]
struct GetInstanceRequest {
    #[prost(string, tag = "1")]
    instance_id: String,
    #[prost(bool, tag = "2")]
    get_inputs_and_outputs: bool,
}

#[derive(Clone, PartialEq, Message)]
struct GetInstanceResponse {
    #[prost(bool, tag = "1")]
    exists: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let address = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:4001".into());
    let tcp = tokio::net::TcpStream::connect(&address).await?;
    tcp.set_nodelay(true)?;
    let (mut sender, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .handshake(TokioIo::new(tcp))
        .await?;
    tokio::spawn(connection);
    let body = codec::encode(&GetInstanceRequest {
        instance_id: "order-7".into(),
        get_inputs_and_outputs: true,
    });
    let request = http::Request::post(format!("http://{address}/TaskHubSidecarService/GetInstance"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("grpc-timeout", "100000m")
        .body(Full::new(body))?;
    let call = async {
        let response = sender.send_request(request).await?;
        let mut body = response.into_body();
        let mut decoder = FrameDecoder::new(4 << 20);
        let (mut message, mut status) = (None::<Bytes>, None);
        while let Some(frame) = body.frame().await {
            let frame = frame?;
            if let Some(data) = frame.data_ref() {
                decoder.push(data);
                while let Some(next) = decoder.next_message().map_err(|e| e.to_string())? {
                    message = Some(next);
                }
            } else if let Some(trailers) = frame.trailers_ref() {
                status = GrpcStatus::from_headers(|name| trailers.get(name).map(|v| v.as_bytes()));
            }
        }
        Ok::<_, Box<dyn std::error::Error>>((message, status))
    };
    let (message, status) = tokio::time::timeout(Duration::from_secs(100), call).await??;
    match status {
        Some(status) if status.is_ok() => {
            let response = GetInstanceResponse::decode(message.ok_or("no message")?)?;
            println!("exists: {}", response.exists);
            Ok(())
        }
        Some(status) => Err(format!("status {}: {}", status.code, status.message).into()),
        None => Err("no grpc-status".into()),
    }
}

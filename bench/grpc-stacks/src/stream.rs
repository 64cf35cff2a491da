//! `stream`: the worker's side of the language-worker `EventStream`, hand-written (the path of
//! `runtime/src/native/stream.rs`: hyper HTTP/2 with its window sizes, a channel-fed request
//! body framed by `azfn_wire::codec`, the response body split by `FrameDecoder`) against tonic's
//! generated `FunctionRpcClient`, both talking to `azfn_wire::server` (the host side azfn
//! already has) in another process.
//!
//! The host process is an echo: each `InvocationResponse` the worker sends is answered by an
//! `InvocationRequest` with the same invocation id. The worker keeps `lanes` invocations going
//! (it sends one response per lane to start them), answers every request at once, and times
//! each round trip: from handing a response to its stack to reading the next request.

use std::convert::Infallible;
use std::io::Write;
use std::pin::Pin;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use azfn_wire::codec::{self, FrameDecoder, GrpcStatus};
use azfn_wire::rpc::{
    EVENT_STREAM_PATH, InvocationRequest, InvocationResponse, ParameterBinding, StartStream, StatusResult,
    StreamingMessage, TypedData, parameter_binding, status_result, streaming_message::Content, typed_data,
};
use bytes::{Bytes, BytesMut};
use http_body::Frame;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use prost::Message;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Endpoint;

use crate::clients::Stack;
use crate::stats::{median, percentile, process_cpu};
use crate::tonic_stubs::function_rpc::function_rpc_client::FunctionRpcClient;

/// The worker's settings in `runtime/src/native/stream.rs`, given to both stacks.
const OUTBOX_CAPACITY: usize = 1024;
const STREAM_WINDOW: u32 = 8 * 1024 * 1024;
const CONNECTION_WINDOW: u32 = 16 * 1024 * 1024;
const MAX_MESSAGE: usize = 128 * 1024 * 1024;

/// The `host` subcommand: azfn_wire's EventStream server, echoing, until killed.
pub fn serve_host() -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let mut server = azfn_wire::server::Server::start(MAX_MESSAGE)
            .await
            .map_err(|e| e.to_string())?;
        println!("{}", server.port);
        std::io::stdout().flush().map_err(|e| e.to_string())?;
        while let Some(mut call) = server.calls.recv().await {
            tokio::spawn(async move {
                while let Some(Ok(message)) = call.inbound.recv().await {
                    if let Some(Content::InvocationResponse(response)) = message.content {
                        let _ = call.outbound.send(invocation_request(response.invocation_id));
                    }
                }
            });
        }
        Ok(())
    })
}

/// An HTTP-triggered invocation with a small body, as the host sends it.
fn invocation_request(invocation_id: String) -> StreamingMessage {
    let binding = |name: &str, text: &str| ParameterBinding {
        name: name.into(),
        rpc_data: Some(parameter_binding::RpcData::Data(TypedData {
            data: Some(typed_data::Data::String(text.into())),
        })),
    };
    StreamingMessage {
        request_id: String::new(),
        content: Some(Content::InvocationRequest(InvocationRequest {
            invocation_id,
            function_id: "5f0b3a2e-hello".into(),
            input_data: vec![binding("name", "Tokyo")],
            ..InvocationRequest::default()
        })),
    }
}

fn invocation_response(invocation_id: String) -> StreamingMessage {
    StreamingMessage {
        request_id: String::new(),
        content: Some(Content::InvocationResponse(InvocationResponse {
            invocation_id,
            result: Some(StatusResult {
                status: status_result::Status::Success as i32,
                ..StatusResult::default()
            }),
            return_value: Some(TypedData {
                data: Some(typed_data::Data::String("Hello, Tokyo".into())),
            }),
            ..InvocationResponse::default()
        })),
    }
}

/// A running `host` process; killed when dropped.
pub struct HostProcess {
    child: Child,
    _stdout: ChildStdout,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl HostProcess {
    pub fn start() -> Result<HostProcess, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut child = Command::new(exe)
            .arg("host")
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the host: {e}"))?;
        let mut stdout = child.stdout.take().ok_or("the host has no stdout")?;
        let port = crate::sidecar::read_line(&mut stdout)?
            .trim()
            .parse()
            .map_err(|e| format!("the host did not print its port: {e}"))?;
        Ok(HostProcess {
            child,
            _stdout: stdout,
            port,
        })
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The host's half of the stream, as either stack delivers it.
enum Inbox {
    Hand {
        body: Incoming,
        decoder: FrameDecoder,
        // Held so the connection stays up while the stream is read.
        _sender: hyper::client::conn::http2::SendRequest<OutgoingBody>,
    },
    Tonic(tonic::Streaming<StreamingMessage>),
}

impl Inbox {
    /// The next message, `None` at the end of the stream (as `Inbox::next` in the runtime).
    async fn next(&mut self) -> Result<Option<StreamingMessage>, String> {
        match self {
            Inbox::Hand { body, decoder, .. } => loop {
                if let Some(bytes) = decoder.next_message().map_err(|e| e.to_string())? {
                    return StreamingMessage::decode(bytes).map(Some).map_err(|e| e.to_string());
                }
                match body.frame().await {
                    None => return decoder.finish().map(|()| None).map_err(|e| e.to_string()),
                    Some(Err(e)) => return Err(format!("the stream broke: {e}")),
                    Some(Ok(frame)) => match frame.into_data() {
                        Ok(data) => decoder.push(&data),
                        Err(frame) => {
                            let status = frame.trailers_ref().and_then(|trailers| {
                                GrpcStatus::from_headers(|name| trailers.get(name).map(|v| v.as_bytes()))
                            });
                            if let Some(status) = status.filter(|s| !s.is_ok()) {
                                return Err(format!("status {}: {}", status.code, status.message));
                            }
                        }
                    },
                }
            },
            Inbox::Tonic(streaming) => streaming.message().await.map_err(|e| e.to_string()),
        }
    }
}

/// How many bytes of queued messages one write of the coalescing body takes at most (tonic's
/// yield threshold).
const COALESCE_LIMIT: usize = 32 * 1024;

/// The worker's half of the hand-written stream: a channel-fed HTTP/2 request body.
struct OutgoingBody {
    messages: mpsc::Receiver<StreamingMessage>,
    /// Whether a write takes every message already queued, not just one.
    coalesce: bool,
}

impl http_body::Body for OutgoingBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        let first = match this.messages.poll_recv(cx) {
            Poll::Ready(Some(message)) => codec::encode(&message),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => return Poll::Pending,
        };
        if !this.coalesce {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        // Copies each framed message once more; codec has no encode-into-a-buffer.
        let mut data = BytesMut::from(&first[..]);
        while data.len() < COALESCE_LIMIT {
            match this.messages.try_recv() {
                Ok(message) => data.extend_from_slice(&codec::encode(&message)),
                Err(_) => break,
            }
        }
        Poll::Ready(Some(Ok(Frame::data(data.freeze()))))
    }
}

/// Opens `EventStream` on `stack`, `StartStream` queued first: the outbox and the inbox.
async fn open(stack: Stack, port: u16) -> Result<(mpsc::Sender<StreamingMessage>, Inbox), String> {
    let (outbox, outgoing) = mpsc::channel(OUTBOX_CAPACITY);
    let start = StreamingMessage {
        request_id: "start".into(),
        content: Some(Content::StartStream(StartStream {
            worker_id: format!("bench-{}", stack.name()),
        })),
    };
    outbox.send(start).await.map_err(|e| e.to_string())?;
    let inbox = match stack {
        Stack::Hand | Stack::HandCoalescing => {
            let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .map_err(|e| e.to_string())?;
            let _ = tcp.set_nodelay(true);
            let (mut sender, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
                .initial_stream_window_size(STREAM_WINDOW)
                .initial_connection_window_size(CONNECTION_WINDOW)
                .max_send_buf_size(1024 * 1024)
                .handshake(TokioIo::new(tcp))
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(connection);
            let request = http::Request::post(format!("http://127.0.0.1:{port}{EVENT_STREAM_PATH}"))
                .header("content-type", "application/grpc")
                .header("te", "trailers")
                .body(OutgoingBody {
                    messages: outgoing,
                    coalesce: stack == Stack::HandCoalescing,
                })
                .map_err(|e| e.to_string())?;
            sender.ready().await.map_err(|e| e.to_string())?;
            let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
            if response.status() != http::StatusCode::OK {
                return Err(format!("HTTP {}", response.status()));
            }
            Inbox::Hand {
                body: response.into_body(),
                decoder: FrameDecoder::new(MAX_MESSAGE),
                _sender: sender,
            }
        }
        Stack::Tonic | Stack::TonicOnHyper => {
            let channel = Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
                .map_err(|e| e.to_string())?
                .tcp_nodelay(true)
                .initial_stream_window_size(STREAM_WINDOW)
                .initial_connection_window_size(CONNECTION_WINDOW)
                .connect()
                .await
                .map_err(|e| e.to_string())?;
            let mut client = FunctionRpcClient::new(channel)
                .max_decoding_message_size(MAX_MESSAGE)
                .max_encoding_message_size(MAX_MESSAGE);
            let response = client
                .event_stream(ReceiverStream::new(outgoing))
                .await
                .map_err(|e| e.to_string())?;
            Inbox::Tonic(response.into_inner())
        }
    };
    Ok((outbox, inbox))
}

/// A figure of a round: its name in the ratios, and how to read it.
type Figure = (&'static str, fn(&Round) -> f64);

/// What one round measured.
struct Round {
    stack: Stack,
    round_trips_per_second: f64,
    p50: Duration,
    p99: Duration,
    cpu_per_round_trip: Duration,
}

/// One stream: `lanes` invocations echoed back and forth for `length`.
async fn round(stack: Stack, port: u16, lanes: usize, length: Duration) -> Result<Round, String> {
    let (outbox, mut inbox) = open(stack, port).await?;
    let cpu_before = process_cpu();
    let started = Instant::now();
    let deadline = started + length;
    let mut sent_at = vec![started; lanes];
    let mut latencies = Vec::with_capacity(1 << 20);
    for (lane, at) in sent_at.iter_mut().enumerate() {
        *at = Instant::now();
        outbox
            .send(invocation_response(lane.to_string()))
            .await
            .map_err(|e| e.to_string())?;
    }
    let mut in_flight = lanes;
    while in_flight > 0 {
        let message = inbox.next().await?.ok_or("the host ended the stream")?;
        let Some(Content::InvocationRequest(request)) = message.content else {
            continue;
        };
        let lane: usize = request.invocation_id.parse().map_err(|_| "an unknown invocation id")?;
        let now = Instant::now();
        latencies.push(now - sent_at[lane]);
        if now < deadline {
            sent_at[lane] = Instant::now();
            outbox
                .send(invocation_response(request.invocation_id))
                .await
                .map_err(|e| e.to_string())?;
        } else {
            in_flight -= 1;
        }
    }
    let elapsed = started.elapsed();
    let cpu = process_cpu().saturating_sub(cpu_before);
    drop(outbox);
    latencies.sort_unstable();
    Ok(Round {
        stack,
        round_trips_per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&latencies, 50.0),
        p99: percentile(&latencies, 99.0),
        cpu_per_round_trip: cpu / latencies.len().max(1) as u32,
    })
}

/// The stacks compared (tonic on a bare hyper connection is a unary-only variant), the first
/// the reference of the ratios.
const STACKS: &[Stack] = &[Stack::Hand, Stack::Tonic, Stack::HandCoalescing];

pub fn run(quick: bool) -> Result<(), String> {
    let (rounds, length) = if quick {
        (1, Duration::from_millis(300))
    } else {
        (6, Duration::from_secs(2))
    };
    let host = HostProcess::start()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    println!(
        "## EventStream round trips, worker side: hand-written vs. tonic ({rounds} passes of {length:?} per stack, ABBA)\n"
    );
    println!("| invocations in flight | stack | round trips/s | p50 | p99 | worker CPU/round trip |");
    println!("|---|---|---|---|---|---|");
    let mut summary = Vec::new();
    for lanes in [1usize, 32] {
        let mut results = Vec::new();
        for stack in Stack::abba(STACKS, rounds) {
            let round = runtime.block_on(round(stack, host.port, lanes, length))?;
            eprintln!(
                "  lanes={lanes} {:>12}: {:>8.0} round trips/s, p50 {:?}, p99 {:?}, cpu {:?}",
                stack.name(),
                round.round_trips_per_second,
                round.p50,
                round.p99,
                round.cpu_per_round_trip
            );
            results.push(round);
        }
        let figures: [Figure; 4] = [
            ("round trips/s", |r| r.round_trips_per_second),
            ("p50", |r| r.p50.as_secs_f64() * 1e6),
            ("p99", |r| r.p99.as_secs_f64() * 1e6),
            ("cpu", |r| r.cpu_per_round_trip.as_secs_f64() * 1e6),
        ];
        let of = |stack: Stack, figure: fn(&Round) -> f64| {
            median(
                &results
                    .iter()
                    .filter(|r| r.stack == stack)
                    .map(figure)
                    .collect::<Vec<_>>(),
            )
        };
        for &stack in STACKS {
            let [rate, p50, p99, cpu] = figures.map(|(_, f)| of(stack, f));
            println!(
                "| {lanes} | {} | {rate:.0} | {p50:.0} µs | {p99:.0} µs | {cpu:.1} µs |",
                stack.name()
            );
        }
        for &stack in &STACKS[1..] {
            summary.push((
                lanes,
                stack,
                figures.map(|(name, f)| (name, of(stack, f) / of(Stack::Hand, f))),
            ));
        }
    }
    println!("\nMedians of the rounds, each stack ÷ hand-written:\n");
    for (lanes, stack, ratios) in summary {
        let text: Vec<String> = ratios.iter().map(|(name, r)| format!("{name} {r:.2}×")).collect();
        println!("- {lanes} in flight, {}: {}", stack.name(), text.join(", "));
    }
    println!();
    Ok(())
}

/// The `round-trips <hand|tonic|hand-coalescing> <port> <lanes> <count>` subcommand, for
/// callgrind: opens the stream and makes one round trip, then `count` more with `lanes`
/// invocations in flight, on a single-threaded runtime so that the count of instructions does
/// not depend on how threads park and wake.
pub fn round_trips_in_one_process(args: &[String]) -> Result<(), String> {
    let [stack, port, lanes, count] = args else {
        return Err("usage: round-trips <hand|tonic|hand-coalescing> <port> <lanes> <count>".into());
    };
    let stack = Stack::from_arg(stack)?;
    let port: u16 = port.parse().map_err(|e| format!("port: {e}"))?;
    let lanes: usize = lanes.parse().map_err(|e| format!("lanes: {e}"))?;
    let count: usize = count.parse().map_err(|e| format!("count: {e}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let (outbox, mut inbox) = open(stack, port).await?;
        let send = async |lane: usize| {
            outbox
                .send(invocation_response(lane.to_string()))
                .await
                .map_err(|e| e.to_string())
        };
        send(0).await?;
        next_request(&mut inbox).await?;
        let (mut sent, mut received) = (0, 0);
        while sent < lanes.min(count) {
            send(sent).await?;
            sent += 1;
        }
        while received < count {
            next_request(&mut inbox).await?;
            received += 1;
            if sent < count {
                send(sent % lanes).await?;
                sent += 1;
            }
        }
        Ok(())
    })
}

/// Reads up to the next `InvocationRequest`.
async fn next_request(inbox: &mut Inbox) -> Result<(), String> {
    loop {
        let message = inbox.next().await?.ok_or("the host ended the stream")?;
        if let Some(Content::InvocationRequest(_)) = message.content {
            return Ok(());
        }
    }
}

/// The command line of [`round_trips_in_one_process`].
pub fn round_trips_args(stack: Stack, port: u16, lanes: usize, count: usize) -> Vec<String> {
    vec![
        "round-trips".into(),
        stack.arg().into(),
        port.to_string(),
        lanes.to_string(),
        count.to_string(),
    ]
}

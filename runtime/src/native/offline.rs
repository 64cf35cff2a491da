//! The worker without a connection: host messages in, the worker's answers out. For the fuzz
//! targets, which feed the worker arbitrary bytes as the host's half of the stream; not API.

use std::time::Duration;

use prost::Message as _;
use tokio::sync::mpsc;

use super::proto::StreamingMessage;
use super::stream::Outbox;
use super::worker::{Next, Worker};
use crate::function::Registry;
use crate::grpc::codec::FrameDecoder;

/// How long the invocations started by the messages may run before they are cancelled.
const PATIENCE: Duration = Duration::from_secs(5);

/// What the worker made of one stream's bytes.
#[derive(Debug, Default)]
pub struct Exchange {
    /// The messages the worker handled, in order (a message after `WorkerTerminate` or an
    /// environment reload is not handled, as the read loop stops there).
    pub handled: Vec<StreamingMessage>,
    /// Everything the worker sent back, in order.
    pub answers: Vec<StreamingMessage>,
}

/// Feeds `bytes` to a worker as the host's half of `EventStream` (gRPC frames of
/// `StreamingMessage`s): a frame that is not a message is reported and skipped, a broken frame
/// ends the stream, as over a connection. Waits for the invocations to finish (cancelling those
/// still running after a few seconds) and returns what the worker answered.
#[doc(hidden)]
pub fn exchange(registry: &'static Registry, bytes: &[u8]) -> Exchange {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime with timers builds");
    runtime.block_on(async {
        let (frames, mut outbound) = mpsc::channel::<bytes::Bytes>(super::stream::OUTBOX_CAPACITY);
        let collector = tokio::spawn(async move {
            let mut answers = Vec::new();
            let mut decoder = FrameDecoder::new(usize::MAX);
            while let Some(frame) = outbound.recv().await {
                decoder.push(&frame);
                while let Ok(Some(message)) = decoder.next_message() {
                    answers.push(StreamingMessage::decode(message).expect("the worker encodes what it sends"));
                }
            }
            answers
        });
        let mut worker = Worker::new(registry, Outbox::new(frames), None);
        let mut decoder = FrameDecoder::new(super::DEFAULT_MAX_MESSAGE_LENGTH);
        decoder.push(bytes);
        let mut handled = Vec::new();
        while let Ok(Some(frame)) = decoder.next_message() {
            match StreamingMessage::decode(frame) {
                Ok(message) => {
                    handled.push(message.clone());
                    if !matches!(worker.handle(Box::new(message)).await, Next::Continue) {
                        break;
                    }
                }
                Err(error) => worker.malformed(&error.to_string()).await,
            }
        }
        let in_flight = worker.in_flight().clone();
        if tokio::time::timeout(PATIENCE, in_flight.idle()).await.is_err() {
            in_flight.cancel_all();
            let _ = tokio::time::timeout(PATIENCE, in_flight.idle()).await;
        }
        worker.close();
        let answers = tokio::time::timeout(PATIENCE, collector)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        Exchange { handled, answers }
    })
}

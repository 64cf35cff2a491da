//! gRPC's message framing over an HTTP/2 body, for both sides of the stream (the worker here,
//! and the local host of `cargo azfn start --transport grpc`): each message is a 1-byte compression flag, a
//! 4-byte big-endian length, and the protobuf bytes.
//!
//! azfn never asks for compression (it sends no `grpc-accept-encoding`), so a compressed frame
//! is a protocol error, as is a frame longer than the negotiated limit.

use std::fmt;

use azfn_bindings::percent::decode_component;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use prost::Message;

/// The length of the frame header.
const HEADER_LENGTH: usize = 5;

/// How many bytes [`encode_ready`] and [`join_ready`] gather before they stop taking more.
pub const BATCH_BYTES: usize = 64 * 1024;

/// One message, framed.
pub fn encode<M: Message>(message: &M) -> Bytes {
    frame_with(message.encoded_len(), |buffer| message.encode_raw(buffer))
}

/// A frame of `length` protobuf bytes, which `write` puts after the header: for a message
/// encoded by hand, straight from the values it is made of. Written into a `Vec`, whose small
/// writes are cheaper than a `BytesMut`'s, and handed on without a copy (it is filled exactly).
pub fn frame_with(length: usize, write: impl FnOnce(&mut Vec<u8>)) -> Bytes {
    let mut frame = Vec::with_capacity(HEADER_LENGTH + length);
    frame.extend_from_slice(&header(length));
    write(&mut frame);
    debug_assert_eq!(
        frame.len(),
        HEADER_LENGTH + length,
        "the frame's length is what was written"
    );
    Bytes::from(frame)
}

/// `first`, followed by every frame `ready` still has while the batch holds less than `limit`
/// bytes, in one buffer: [`encode_ready`] for messages framed by their senders. A lone frame is
/// handed on as it is, without a copy.
pub fn join_ready(first: Bytes, mut ready: impl FnMut() -> Option<Bytes>, limit: usize) -> Bytes {
    if first.len() >= limit {
        return first;
    }
    let Some(second) = ready() else {
        return first;
    };
    let mut batch = BytesMut::with_capacity((first.len() + second.len()).max(limit.min(16 * 1024)));
    batch.extend_from_slice(&first);
    batch.extend_from_slice(&second);
    while batch.len() < limit {
        match ready() {
            Some(frame) => batch.extend_from_slice(&frame),
            None => break,
        }
    }
    batch.freeze()
}

/// `first`, framed, followed by every message `ready` still has while the buffer holds less
/// than `limit` bytes: one HTTP/2 write for a burst of messages instead of one each, which is
/// what many invocations in flight on one stream produce. (A message taken is always written,
/// so a batch may end up to one message over `limit`.)
pub fn encode_ready<M: Message>(first: &M, mut ready: impl FnMut() -> Option<M>, limit: usize) -> Bytes {
    let mut batch = BytesMut::with_capacity(HEADER_LENGTH + first.encoded_len());
    encode_into(first, &mut batch);
    while batch.len() < limit {
        match ready() {
            Some(message) => encode_into(&message, &mut batch),
            None => break,
        }
    }
    batch.freeze()
}

fn encode_into<M: Message>(message: &M, buffer: &mut BytesMut) {
    let length = message.encoded_len();
    buffer.reserve(HEADER_LENGTH + length);
    buffer.put_slice(&header(length));
    message.encode_raw(buffer);
}

/// The header of a frame of `length` bytes: not compressed, then the length, big-endian.
fn header(length: usize) -> [u8; HEADER_LENGTH] {
    // A message over 4 GiB cannot be framed; prost cannot build one that large in memory anyway.
    let [a, b, c, d] = u32::try_from(length).unwrap_or(u32::MAX).to_be_bytes();
    [0, a, b, c, d]
}

/// What makes a byte stream not a sequence of gRPC frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The frame is compressed, which azfn never negotiates.
    Compressed,
    /// The frame is longer than the limit.
    TooLong {
        /// The frame's length.
        length: usize,
        /// The limit.
        limit: usize,
    },
    /// The stream ended inside a frame.
    Truncated,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Compressed => f.write_str("a compressed gRPC message arrived, which was not negotiated"),
            FrameError::TooLong { length, limit } => {
                write!(f, "a gRPC message of {length} bytes arrived, over the limit of {limit}")
            }
            FrameError::Truncated => f.write_str("the stream ended in the middle of a gRPC message"),
        }
    }
}

/// Splits body chunks, cut anywhere, into whole messages.
#[derive(Debug)]
pub struct FrameDecoder {
    buffer: BytesMut,
    limit: usize,
}

impl FrameDecoder {
    /// A decoder refusing messages longer than `limit` bytes.
    pub fn new(limit: usize) -> Self {
        FrameDecoder {
            buffer: BytesMut::new(),
            limit,
        }
    }

    /// Adds a chunk of the body.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
    }

    /// The next whole message's bytes, if the buffer holds one.
    pub fn next_message(&mut self) -> Result<Option<Bytes>, FrameError> {
        let Some(header) = self.buffer.get(..HEADER_LENGTH) else {
            return Ok(None);
        };
        if header[0] != 0 {
            return Err(FrameError::Compressed);
        }
        let length =
            usize::try_from(u32::from_be_bytes([header[1], header[2], header[3], header[4]])).unwrap_or(usize::MAX);
        if length > self.limit {
            return Err(FrameError::TooLong {
                length,
                limit: self.limit,
            });
        }
        if self.buffer.len() < HEADER_LENGTH + length {
            // Room for the rest, so a large message is not copied over and over as it arrives.
            self.buffer.reserve(HEADER_LENGTH + length - self.buffer.len());
            return Ok(None);
        }
        self.buffer.advance(HEADER_LENGTH);
        Ok(Some(self.buffer.split_to(length).freeze()))
    }

    /// Checks that the body ended between messages.
    pub fn finish(&self) -> Result<(), FrameError> {
        if self.buffer.is_empty() {
            Ok(())
        } else {
            Err(FrameError::Truncated)
        }
    }
}

/// How a gRPC call ended, as the `grpc-status` and `grpc-message` headers (or trailers) say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcStatus {
    /// The status code: 0 is OK; a value that is not a number reads as 2 (UNKNOWN).
    pub code: u32,
    /// The message, percent-decoded (gRPC percent-encodes it); empty when absent.
    pub message: String,
}

impl GrpcStatus {
    /// The code of a call that succeeded.
    pub const OK: u32 = 0;
    /// The code gRPC gives a status it cannot read.
    pub const UNKNOWN: u32 = 2;

    /// The status `header` finds by name (a `HeaderMap`'s `get`), or `None` when there is no
    /// `grpc-status`.
    ///
    /// ```
    /// use azfn_wire::codec::GrpcStatus;
    /// let headers = [("grpc-status", "5"), ("grpc-message", "no%20such%20instance")];
    /// let find = |name: &str| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_bytes());
    /// let status = GrpcStatus::from_headers(find).unwrap();
    /// assert_eq!((status.code, status.message.as_str()), (5, "no such instance"));
    /// ```
    pub fn from_headers<'a>(header: impl Fn(&str) -> Option<&'a [u8]>) -> Option<GrpcStatus> {
        let code = header("grpc-status")?;
        let code = std::str::from_utf8(code)
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(GrpcStatus::UNKNOWN);
        let message = header("grpc-message")
            .map(|text| decode_component(&String::from_utf8_lossy(text)))
            .unwrap_or_default();
        Some(GrpcStatus { code, message })
    }

    /// Whether the call succeeded.
    pub fn is_ok(&self) -> bool {
        self.code == GrpcStatus::OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message shaped like the worker's `StartStream` (one string, field 2).
    #[derive(Clone, PartialEq, prost::Message)]
    struct StartStream {
        #[prost(string, tag = "2")]
        worker_id: String,
    }

    fn start(worker_id: &str) -> StartStream {
        StartStream {
            worker_id: worker_id.into(),
        }
    }

    #[test]
    fn frames_have_a_flag_a_big_endian_length_and_the_message() {
        assert_eq!(&encode(&start("w"))[..], [0, 0, 0, 0, 3, 0x12, 1, b'w']);
    }

    #[test]
    fn a_batch_is_the_frames_of_its_messages_in_order_up_to_the_limit() {
        let mut queued = vec![start("b"), start("c"), start("d")].into_iter();
        let batch = encode_ready(&start("a"), || queued.next(), 1024);
        let one_by_one: Vec<u8> = ["a", "b", "c", "d"]
            .iter()
            .flat_map(|id| encode(&start(id)).to_vec())
            .collect();
        assert_eq!(&batch[..], &one_by_one[..]);
        // Past the limit, the rest waits for the next batch.
        let mut queued = vec![start("b"), start("c")].into_iter();
        let batch = encode_ready(&start("a"), || queued.next(), 10);
        assert_eq!(
            batch.len(),
            16,
            "two 8-byte frames: the second taken while under the limit"
        );
        assert_eq!(queued.next(), Some(start("c")));
    }

    #[test]
    fn joined_frames_are_the_frames_in_order_up_to_the_limit() {
        let frames = |ids: &[&str]| -> Vec<Bytes> { ids.iter().map(|id| encode(&start(id))).collect() };
        let lone = encode(&start("a"));
        let joined = join_ready(lone.clone(), || None, 1024);
        assert_eq!(joined.as_ptr(), lone.as_ptr(), "a lone frame is not copied");
        let mut queued = frames(&["b", "c", "d"]).into_iter();
        let joined = join_ready(lone.clone(), || queued.next(), 1024);
        let one_by_one: Vec<u8> = frames(&["a", "b", "c", "d"]).concat();
        assert_eq!(&joined[..], &one_by_one[..]);
        let mut queued = frames(&["b", "c", "d"]).into_iter();
        let joined = join_ready(lone, || queued.next(), 10);
        assert_eq!(
            joined.len(),
            16,
            "two 8-byte frames: the second taken while under the limit"
        );
        assert_eq!(queued.next(), Some(encode(&start("c"))));
    }

    #[test]
    fn a_frame_written_by_hand_is_framed_as_encode_frames() {
        let message = start("w");
        let by_hand = frame_with(message.encoded_len(), |buffer| message.encode_raw(buffer));
        assert_eq!(by_hand, encode(&message));
    }

    #[test]
    fn messages_cut_anywhere_are_reassembled() {
        let mut stream = Vec::new();
        for id in ["a", "", "ccc"] {
            stream.extend_from_slice(&encode(&start(id)));
        }
        for cut in 1..stream.len() {
            let mut decoder = FrameDecoder::new(1024);
            let mut ids = Vec::new();
            for chunk in stream.chunks(cut) {
                decoder.push(chunk);
                while let Some(bytes) = decoder.next_message().expect("valid frames") {
                    ids.push(StartStream::decode(bytes).expect("a message").worker_id);
                }
            }
            assert_eq!(ids, ["a", "", "ccc"], "cut every {cut} bytes");
            assert_eq!(decoder.finish(), Ok(()));
        }
    }

    #[test]
    fn compressed_long_and_truncated_frames_are_refused() {
        let mut decoder = FrameDecoder::new(4);
        decoder.push(&[1, 0, 0, 0, 1, 0]);
        assert_eq!(decoder.next_message(), Err(FrameError::Compressed));

        let mut decoder = FrameDecoder::new(4);
        decoder.push(&[0, 0, 0, 0, 5]);
        assert_eq!(decoder.next_message(), Err(FrameError::TooLong { length: 5, limit: 4 }));

        let mut decoder = FrameDecoder::new(4);
        decoder.push(&[0, 0, 0, 0, 2, 1]);
        assert_eq!(decoder.next_message(), Ok(None));
        assert_eq!(decoder.finish(), Err(FrameError::Truncated));
    }

    #[test]
    fn statuses_are_read_from_headers_or_trailers() {
        let read = |pairs: &[(&str, &'static str)]| {
            let pairs = pairs.to_vec();
            GrpcStatus::from_headers(move |name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_bytes()))
        };
        assert_eq!(read(&[("grpc-message", "ignored")]), None);
        let ok = read(&[("grpc-status", "0")]).expect("a status");
        assert!(ok.is_ok());
        assert_eq!(ok.message, "");
        assert_eq!(
            read(&[("grpc-status", " 13 "), ("grpc-message", "boom%3A%20%C3%A9+x")]),
            Some(GrpcStatus {
                code: 13,
                message: "boom: é+x".into()
            })
        );
        let odd = read(&[("grpc-status", "thirteen")]).expect("a status");
        assert_eq!(odd.code, GrpcStatus::UNKNOWN);
        assert!(!odd.is_ok());
    }
}

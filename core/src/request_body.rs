//! A request body read as it arrives: [`RequestBody`].
//!
//! An HTTP function that takes a `RequestBody` parameter gets the body as the client sends it,
//! chunk by chunk, where the transport can give it so: requests forwarded or proxied by the
//! host, and `HttpUri` requests over gRPC. The transport learns at compile time that the function
//! streams (`FunctionDescription::streams_request_body`), so it starts the invocation as soon as
//! the head has arrived, and applies the size limit to the chunks as they are read instead of to
//! a buffered whole. Through the JSON envelope (and in `TestApp` with a whole body) the host has
//! already read the body, which then arrives as one chunk.

use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::data::BindingData;
use crate::error::InvocationError;
use crate::extract::{Parameter, kind};
use crate::invocation::Invocation;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
type BoxBody = Pin<Box<dyn Body<Data = Bytes, Error = BoxError> + Send + 'static>>;

/// An HTTP request's body, read chunk by chunk as it arrives, without being buffered whole.
///
/// It is an [`http_body::Body`]; for a `Stream` of chunks wrap it in
/// `http_body_util::BodyDataStream`. The worker's size limit (`App::max_body_bytes`) applies to
/// what is read: past it, reading fails with [`BodyError::is_too_large`], and when the function
/// then fails the caller gets `413 Payload Too Large`.
///
/// ```
/// use azfn::prelude::*;
/// use azfn::RequestBody;
///
/// /// Counts the bytes of an upload of any size, holding one chunk at a time.
/// #[function(http_trigger(methods = "post"))]
/// async fn upload(mut body: RequestBody) -> Result<String, azfn::Error> {
///     let mut total = 0;
///     while let Some(chunk) = body.chunk().await {
///         total += chunk?.len();
///     }
///     Ok(format!("{total} bytes"))
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut body = RequestBody::from_chunks(["ab", "cde"]);
/// assert_eq!(body.chunk().await.unwrap().unwrap(), "ab");
/// assert_eq!(body.collect().await.unwrap(), "cde");
/// # }
/// ```
pub struct RequestBody {
    source: Source,
    /// Bytes read so far, counted against `limit`.
    read: u64,
    limit: Option<u64>,
    /// Set when `limit` was exceeded, for the transport to answer `413`.
    exceeded: Arc<AtomicBool>,
}

enum Source {
    /// The whole body, not yet handed out (`None` once it has been).
    Whole(Option<Bytes>),
    Streamed(BoxBody),
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            Source::Whole(Some(bytes)) => format!("whole ({} bytes)", bytes.len()),
            Source::Whole(None) => "whole (read)".to_owned(),
            Source::Streamed(_) => "streamed".to_owned(),
        };
        f.debug_struct("RequestBody")
            .field("source", &source)
            .field("read", &self.read)
            .field("limit", &self.limit)
            .finish()
    }
}

/// Why a [`RequestBody`] could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError {
    kind: BodyErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum BodyErrorKind {
    TooLarge { limit: u64 },
    Read(String),
}

impl BodyError {
    /// Whether the body is larger than the limit (the caller is answered `413`).
    pub fn is_too_large(&self) -> bool {
        matches!(self.kind, BodyErrorKind::TooLarge { .. })
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            BodyErrorKind::TooLarge { limit } => write!(f, "the request body is larger than {limit} bytes"),
            BodyErrorKind::Read(message) => write!(f, "could not read the request body: {message}"),
        }
    }
}

impl std::error::Error for BodyError {}

impl RequestBody {
    /// A body that is already whole: it arrives as one chunk.
    pub fn whole(bytes: impl Into<Bytes>) -> Self {
        RequestBody::of(Source::Whole(Some(bytes.into())))
    }

    /// A body read from any [`http_body::Body`] (a transport's, or a test's
    /// `http_body_util::StreamBody`).
    pub fn from_body<B>(body: B) -> Self
    where
        B: Body + Send + 'static,
        B::Data: Into<Bytes>,
        B::Error: Into<BoxError>,
    {
        RequestBody::of(Source::Streamed(Box::pin(Converted(Box::pin(body)))))
    }

    /// A body of these chunks, in order: for tests.
    pub fn from_chunks<C: Into<Bytes>>(chunks: impl IntoIterator<Item = C>) -> Self {
        let chunks: std::collections::VecDeque<Bytes> = chunks.into_iter().map(Into::into).collect();
        RequestBody::from_body(Chunks(chunks))
    }

    fn of(source: Source) -> Self {
        RequestBody {
            source,
            read: 0,
            limit: None,
            exceeded: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Fails reading once more than `limit` bytes have arrived, and at once when the declared
    /// length (`Content-Length`) is larger.
    pub fn limited(mut self, limit: usize) -> Self {
        self.limit = Some(limit as u64);
        self
    }

    /// The next chunk of data, `None` at the end of the body. Trailers are skipped.
    pub async fn chunk(&mut self) -> Option<Result<Bytes, BodyError>> {
        loop {
            let frame = std::future::poll_fn(|cx| Pin::new(&mut *self).poll_frame(cx)).await?;
            match frame {
                Ok(frame) => match frame.into_data() {
                    Ok(data) => return Some(Ok(data)),
                    Err(_trailers) => continue,
                },
                Err(error) => return Some(Err(error)),
            }
        }
    }

    /// The rest of the body, read to the end into one buffer (the limit still applies).
    ///
    /// # Errors
    ///
    /// When reading fails or the body is larger than the limit.
    pub async fn collect(mut self) -> Result<Bytes, BodyError> {
        let mut first: Option<Bytes> = None;
        let mut joined: Option<bytes::BytesMut> = None;
        while let Some(chunk) = self.chunk().await {
            let chunk = chunk?;
            match (&mut joined, first.take()) {
                (Some(joined), _) => joined.extend_from_slice(&chunk),
                (None, None) => first = Some(chunk),
                (None, Some(previous)) => {
                    let mut both = bytes::BytesMut::with_capacity(previous.len() + chunk.len());
                    both.extend_from_slice(&previous);
                    both.extend_from_slice(&chunk);
                    joined = Some(both);
                }
            }
        }
        Ok(joined.map(bytes::BytesMut::freeze).or(first).unwrap_or_default())
    }

    fn too_large(&mut self, limit: u64) -> BodyError {
        self.exceeded.store(true, Ordering::Relaxed);
        // Nothing more is read once the limit is passed.
        self.source = Source::Whole(None);
        BodyError {
            kind: BodyErrorKind::TooLarge { limit },
        }
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        if let Some(limit) = this.limit
            && this.read == 0
            && this.source_size_hint().lower() > limit
        {
            return Poll::Ready(Some(Err(this.too_large(limit))));
        }
        let frame = match &mut this.source {
            Source::Whole(bytes) => bytes.take().map(|bytes| Ok(Frame::data(bytes))),
            Source::Streamed(body) => match body.as_mut().poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(frame) => frame.map(|frame| {
                    frame.map_err(|error| BodyError {
                        kind: BodyErrorKind::Read(error.to_string()),
                    })
                }),
            },
        };
        if let Some(Ok(data)) = frame.as_ref().map(|f| f.as_ref().map(Frame::data_ref)) {
            this.read += data.map_or(0, |d| d.len() as u64);
            if let Some(limit) = this.limit
                && this.read > limit
            {
                return Poll::Ready(Some(Err(this.too_large(limit))));
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        match &self.source {
            Source::Whole(bytes) => bytes.is_none(),
            Source::Streamed(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        self.source_size_hint()
    }
}

impl RequestBody {
    fn source_size_hint(&self) -> SizeHint {
        match &self.source {
            Source::Whole(Some(bytes)) => SizeHint::with_exact(bytes.len() as u64),
            Source::Whole(None) => SizeHint::with_exact(0),
            Source::Streamed(body) => body.size_hint(),
        }
    }
}

/// A body whose data and error types are made ours (boxed, so it is `Unpin` whatever `B` is).
struct Converted<B>(Pin<Box<B>>);

impl<B> Body for Converted<B>
where
    B: Body,
    B::Data: Into<Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.0.as_mut().poll_frame(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(frame) => {
                Poll::Ready(frame.map(|frame| frame.map(|f| f.map_data(Into::into)).map_err(Into::into)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.0.size_hint()
    }
}

/// Chunks given up front ([`RequestBody::from_chunks`]).
struct Chunks(std::collections::VecDeque<Bytes>);

impl Body for Chunks {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Poll::Ready(self.0.pop_front().map(|chunk| Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.iter().map(|c| c.len() as u64).sum())
    }
}

/// Where a transport leaves the streamed body for the function's [`RequestBody`] parameter
/// (in the invocation's extensions: extraction borrows the invocation, so the body is taken
/// out through the lock, once), with what dispatch needs to tell a failure caused by the limit.
struct StreamedBodySlot {
    body: Mutex<Option<RequestBody>>,
    limit: Option<u64>,
    exceeded: Arc<AtomicBool>,
}

impl Invocation {
    /// Hands the function its request body as a stream (a transport's call, for a function whose
    /// description says [`streams_request_body`](crate::FunctionDescription::streams_request_body)).
    pub fn attach_request_body(&mut self, body: RequestBody) {
        self.extensions.insert(StreamedBodySlot {
            limit: body.limit,
            exceeded: Arc::clone(&body.exceeded),
            body: Mutex::new(Some(body)),
        });
    }
}

/// When the invocation's streamed body has a limit: its value and the flag reading sets once
/// the body passed it. A function failing after that failed because of the body, and dispatch
/// reports it as [`InvocationError::TooLarge`] (the caller gets `413`, as for a buffered body).
pub(crate) fn body_limit_of(invocation: &Invocation) -> Option<(u64, Arc<AtomicBool>)> {
    let slot = invocation.extensions.get::<StreamedBodySlot>()?;
    Some((slot.limit?, Arc::clone(&slot.exceeded)))
}

impl Parameter for RequestBody {
    type Owner = kind::http_trigger;

    fn read(invocation: &Invocation) -> Result<Self, InvocationError> {
        let binding = invocation.function.trigger().name;
        if let Some(slot) = invocation.extensions.get::<StreamedBodySlot>() {
            return slot
                .body
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
                .ok_or_else(|| InvocationError::Binding {
                    binding: binding.to_owned(),
                    message: "the request body is read once: only one `RequestBody` parameter can take it".to_owned(),
                });
        }
        // The host read the body already (the JSON envelope, a test's whole request).
        match invocation.trigger() {
            BindingData::Http(request) => Ok(RequestBody::whole(request.body_bytes())),
            other => Err(InvocationError::Binding {
                binding: binding.to_owned(),
                message: format!("expected an HTTP request, found {}", other.to_json()),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
            .block_on(future)
    }

    #[test]
    fn chunks_arrive_one_by_one_and_collect_joins_the_rest() {
        block_on(async {
            let mut body = RequestBody::from_chunks(["a", "bc", "def"]);
            assert_eq!(body.size_hint().exact(), Some(6));
            assert_eq!(body.chunk().await.unwrap().unwrap(), "a");
            assert_eq!(body.collect().await.unwrap(), "bcdef");
            assert_eq!(
                RequestBody::from_chunks(Vec::<Bytes>::new()).collect().await.unwrap(),
                ""
            );
            assert_eq!(RequestBody::whole("whole").collect().await.unwrap(), "whole");
        });
    }

    #[test]
    fn the_limit_applies_to_what_arrives_and_flags_the_invocation() {
        block_on(async {
            // The declared length alone is enough to refuse, before reading anything.
            let body = RequestBody::from_chunks(["abc", "def"]).limited(5);
            let flag = Arc::clone(&body.exceeded);
            let error = body.collect().await.unwrap_err();
            assert!(error.is_too_large());
            assert_eq!(error.to_string(), "the request body is larger than 5 bytes");
            assert!(flag.load(Ordering::Relaxed));

            // Without a declared length, the chunk that passes the limit fails.
            let unsized_body = Unsized(Chunks(["abc", "def"].map(Bytes::from).into()));
            let mut body = RequestBody::from_body(unsized_body).limited(5);
            assert_eq!(body.chunk().await.unwrap().unwrap(), "abc");
            assert!(body.chunk().await.unwrap().unwrap_err().is_too_large());
            assert!(body.chunk().await.is_none(), "nothing is read past the limit");

            // At the limit exactly, all is well.
            let body = RequestBody::from_chunks(["abc", "de"]).limited(5);
            assert_eq!(body.collect().await.unwrap(), "abcde");
        });
    }

    /// Chunks with no declared length, as a chunked upload has.
    struct Unsized(Chunks);

    impl Body for Unsized {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Pin::new(&mut self.0).poll_frame(cx)
        }
    }
}

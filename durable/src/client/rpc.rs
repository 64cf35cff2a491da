//! Unary gRPC to the extension's `TaskHubSidecarService` over one HTTP/2 connection,
//! opened lazily and reopened when it breaks.

use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, TE, USER_AGENT};
use http::{HeaderMap, HeaderValue, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::{Builder, SendRequest};
use hyper_util::rt::{TokioExecutor, TokioIo};
use prost::Message;
use tokio::net::TcpStream;

use azfn_wire::codec::{self, FrameDecoder};

use super::{ClientError, GrpcCode};

type Sender = SendRequest<Full<Bytes>>;

pub(super) struct Rpc {
    /// `host:port`, for connecting.
    authority: String,
    /// The host name TLS checks the certificate against; `None` for plaintext.
    server_name: Option<String>,
    /// `http[s]://host:port[/prefix]`, before the method's path.
    uri_prefix: String,
    headers: HeaderMap,
    max_message: usize,
    sender: tokio::sync::Mutex<Option<Sender>>,
}

impl Rpc {
    pub(super) fn new(
        rpc_base_url: &str,
        task_hub: &str,
        connection: Option<&str>,
        max_message: usize,
    ) -> Result<Self, ClientError> {
        let with_scheme = if rpc_base_url.contains("://") {
            rpc_base_url.to_owned()
        } else {
            format!("http://{rpc_base_url}")
        };
        let uri: Uri = with_scheme
            .parse()
            .map_err(|e| ClientError::Config(format!("`rpcBaseUrl` {rpc_base_url} is not a URL: {e}")))?;
        let secure = match uri.scheme_str() {
            Some("http") => false,
            Some("https") if cfg!(feature = "tls") => true,
            Some("https") => {
                return Err(ClientError::Config(format!(
                    "`rpcBaseUrl` {rpc_base_url} is an https URL: build azfn with the `durable-tls` feature \
                     (azfn-durable's `tls`) to connect over TLS"
                )));
            }
            _ => {
                return Err(ClientError::Config(format!(
                    "`rpcBaseUrl` {rpc_base_url} is neither an http:// nor an https:// URL"
                )));
            }
        };
        let authority = uri
            .authority()
            .ok_or_else(|| ClientError::Config(format!("`rpcBaseUrl` {rpc_base_url} has no host")))?;
        let host = uri
            .host()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let authority_with_port = match authority.port_u16() {
            Some(_) => authority.as_str().to_owned(),
            None if secure => format!("{}:443", authority.as_str()),
            None => format!("{}:80", authority.as_str()),
        };
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert(TE, HeaderValue::from_static("trailers"));
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("azfn/", env!("CARGO_PKG_VERSION"))),
        );
        let header = |name: &str, value: &str| {
            HeaderValue::from_str(value)
                .map_err(|_| ClientError::Config(format!("the {name} `{value}` cannot be sent as a header")))
        };
        if !task_hub.is_empty() {
            headers.insert("durable-taskhub", header("task hub name", task_hub)?);
        }
        if let Some(connection) = connection {
            headers.insert("durable-connectionname", header("connection name", connection)?);
        }
        Ok(Rpc {
            authority: authority_with_port,
            server_name: secure.then(|| host.to_owned()),
            uri_prefix: format!(
                "{}://{}{}",
                if secure { "https" } else { "http" },
                authority.as_str(),
                uri.path().trim_end_matches('/')
            ),
            headers,
            max_message,
            sender: tokio::sync::Mutex::new(None),
        })
    }

    /// One unary call, within `timeout`.
    pub(super) async fn call<Req: Message, Resp: Message + Default>(
        &self,
        method: &'static str,
        request: &Req,
        timeout: Duration,
    ) -> Result<Resp, ClientError> {
        let name = method.rsplit('/').next().unwrap_or(method);
        let body = codec::encode(request);
        let bytes = match tokio::time::timeout(timeout, self.exchange(name, method, body, timeout)).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(ClientError::Timeout {
                    method: name,
                    after: timeout,
                });
            }
        };
        Resp::decode(bytes).map_err(|e| ClientError::Protocol {
            method: name,
            message: format!("the response message does not decode: {e}"),
        })
    }

    /// Sends the request on the shared connection, opening it first if needed, and reads the
    /// response's one message. A request that never left (the connection had closed) is retried
    /// once on a new connection.
    async fn exchange(
        &self,
        name: &'static str,
        path: &'static str,
        body: Bytes,
        timeout: Duration,
    ) -> Result<Bytes, ClientError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut sender = self.sender().await?;
            if let Err(e) = sender.ready().await {
                self.forget().await;
                if attempt == 1 {
                    continue;
                }
                return Err(ClientError::Transport {
                    method: name,
                    message: format!("the connection is not usable: {e}"),
                });
            }
            let mut request = http::Request::new(Full::new(body.clone()));
            *request.method_mut() = http::Method::POST;
            *request.uri_mut() = format!("{}{path}", self.uri_prefix)
                .parse()
                .map_err(|e| ClientError::Config(format!("cannot build the URL of {name}: {e}")))?;
            *request.headers_mut() = self.headers.clone();
            request.headers_mut().insert("grpc-timeout", grpc_timeout(timeout));
            match sender.send_request(request).await {
                Ok(response) => return read_response(name, response, self.max_message).await,
                Err(e) => {
                    self.forget().await;
                    if e.is_canceled() && attempt == 1 {
                        continue;
                    }
                    return Err(ClientError::Transport {
                        method: name,
                        message: e.to_string(),
                    });
                }
            }
        }
    }

    /// The open connection's sender, connecting when there is none or it closed.
    async fn sender(&self) -> Result<Sender, ClientError> {
        let mut guard = self.sender.lock().await;
        if let Some(sender) = guard.as_ref()
            && !sender.is_closed()
        {
            return Ok(sender.clone());
        }
        let connect_error = |message: String| ClientError::Connect {
            address: self.authority.clone(),
            message,
        };
        let tcp = TcpStream::connect(&self.authority)
            .await
            .map_err(|e| connect_error(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        let sender = match &self.server_name {
            None => handshake(tcp).await,
            Some(host) => self.secure_handshake(host, tcp).await,
        }
        .map_err(connect_error)?;
        *guard = Some(sender.clone());
        Ok(sender)
    }

    #[cfg(feature = "tls")]
    async fn secure_handshake(&self, host: &str, tcp: TcpStream) -> Result<Sender, String> {
        use tokio_rustls::rustls::pki_types::ServerName;
        let connector = super::tls::connector()?;
        let name = ServerName::try_from(host.to_owned())
            .map_err(|e| format!("`{host}` is not a name TLS can check a certificate against: {e}"))?;
        let stream = connector
            .connect(name, tcp)
            .await
            .map_err(|e| format!("the TLS handshake failed: {e}"))?;
        handshake(stream).await
    }

    #[cfg(not(feature = "tls"))]
    async fn secure_handshake(&self, _host: &str, _tcp: TcpStream) -> Result<Sender, String> {
        // `Rpc::new` refuses https URLs without the feature, so no client gets here.
        Err("TLS needs the `tls` feature".into())
    }

    /// Drops the connection, so the next call opens a new one.
    async fn forget(&self) {
        *self.sender.lock().await = None;
    }
}

/// Opens HTTP/2 over `io` and drives the connection in the background.
async fn handshake<Io>(io: Io) -> Result<Sender, String>
where
    Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (sender, connection) = Builder::new(TokioExecutor::new())
        .handshake(TokioIo::new(io))
        .await
        .map_err(|e| format!("the HTTP/2 handshake failed: {e}"))?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(target: "azfn::durable", "the HTTP/2 connection to the Durable extension ended: {error}");
        }
    });
    Ok(sender)
}

/// Reads a unary gRPC response: one message, then `grpc-status` in the trailers (or in the
/// headers, for a Trailers-Only response).
async fn read_response(
    method: &'static str,
    response: http::Response<hyper::body::Incoming>,
    max_message: usize,
) -> Result<Bytes, ClientError> {
    let protocol = |message: String| ClientError::Protocol { method, message };
    let (parts, mut body) = response.into_parts();
    if let Some(status) = grpc_status(method, &parts.headers) {
        status?;
        return Err(protocol(
            "a Trailers-Only response with status OK carries no message".into(),
        ));
    }
    if parts.status != StatusCode::OK {
        return Err(ClientError::Status {
            method,
            code: GrpcCode::from_http(parts.status),
            message: format!("HTTP status {}", parts.status),
        });
    }
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .map(HeaderValue::as_bytes)
        .unwrap_or_default();
    if !content_type.starts_with(b"application/grpc") {
        return Err(protocol(format!(
            "the content type is `{}`, not application/grpc",
            String::from_utf8_lossy(content_type)
        )));
    }
    let mut decoder = FrameDecoder::new(max_message);
    let mut message = None;
    let mut trailers = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ClientError::Transport {
            method,
            message: format!("the response broke off: {e}"),
        })?;
        match frame.into_data() {
            Ok(data) => {
                decoder.push(&data);
                while let Some(next) = decoder.next_message().map_err(|e| protocol(e.to_string()))? {
                    if message.replace(next).is_some() {
                        return Err(protocol("a unary response carries more than one message".into()));
                    }
                }
            }
            Err(frame) => {
                if let Ok(map) = frame.into_trailers() {
                    trailers = Some(map);
                }
            }
        }
    }
    decoder.finish().map_err(|e| protocol(e.to_string()))?;
    let trailers = trailers.ok_or_else(|| protocol("the response ended without trailers".into()))?;
    grpc_status(method, &trailers).ok_or_else(|| protocol("the trailers have no grpc-status".into()))??;
    message.ok_or_else(|| protocol("the response has status OK and no message".into()))
}

/// The `grpc-status` of `headers`, if present: `Ok` for 0, the error otherwise.
fn grpc_status(method: &'static str, headers: &HeaderMap) -> Option<Result<(), ClientError>> {
    let status = codec::GrpcStatus::from_headers(|name| headers.get(name).map(HeaderValue::as_bytes))?;
    if status.is_ok() {
        return Some(Ok(()));
    }
    Some(Err(ClientError::Status {
        method,
        code: GrpcCode::from_u32(status.code),
        message: status.message,
    }))
}

/// `grpc-timeout`: at most 8 digits and a unit.
fn grpc_timeout(timeout: Duration) -> HeaderValue {
    let millis = timeout.as_millis();
    let text = if millis <= 99_999_999 {
        format!("{}m", millis.max(1))
    } else {
        format!("{}S", timeout.as_secs().min(99_999_999))
    };
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("99999999S"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_have_at_most_eight_digits() {
        assert_eq!(grpc_timeout(Duration::from_millis(1500)), "1500m");
        assert_eq!(grpc_timeout(Duration::ZERO), "1m");
        assert_eq!(grpc_timeout(Duration::from_secs(200_000)), "200000S");
    }
}

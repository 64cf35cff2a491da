//! The durable client over TLS (feature `durable-tls`): an `https` `rpcBaseUrl` served by an
//! HTTP/2 gRPC stand-in with `tests/tls/server.pem`, trusted through `SSL_CERT_FILE`.
//!
//! The client reads the trusted roots from the environment once, so the test runs itself again
//! as a child process with `SSL_CERT_FILE` set (setting it in this process would need
//! `unsafe`).
#![cfg(feature = "durable-tls")]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use azfn::durable::client::{ClientError, DurableClient};
use azfn::durable::proto::TerminateRequest;
use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use prost::Message;
use tokio::net::TcpListener;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

const CHILD: &str = "AZFN_DURABLE_TLS_CHILD";

fn tls_file(name: &str) -> String {
    format!("{}/tests/tls/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Serves every connection over TLS (HTTP/2 by ALPN), answering each gRPC call with an empty
/// message and recording the request messages.
async fn serve(listener: TcpListener, calls: Arc<Mutex<Vec<(String, Bytes)>>>) {
    let certs = CertificateDer::pem_file_iter(tls_file("server.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(tls_file("server.key")).unwrap();
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    while let Ok((tcp, _)) = listener.accept().await {
        let (acceptor, calls) = (acceptor.clone(), calls.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let calls = calls.clone();
                async move {
                    let (parts, body) = request.into_parts();
                    let body = body.collect().await.unwrap().to_bytes();
                    calls.lock().unwrap().push((parts.uri.to_string(), body.slice(5..)));
                    let mut trailers = HeaderMap::new();
                    trailers.insert("grpc-status", "0".parse().unwrap());
                    let body = Full::new(Bytes::from_static(&[0, 0, 0, 0, 0]))
                        .with_trailers(async move { Some(Ok::<_, Infallible>(trailers)) });
                    Ok::<_, Infallible>(
                        Response::builder()
                            .header("content-type", "application/grpc")
                            .body(body)
                            .unwrap(),
                    )
                }
            });
            let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

fn client(url: &str) -> DurableClient {
    DurableClient::from_json(&serde_json::json!({"taskHubName": "TestHub", "rpcBaseUrl": url})).unwrap()
}

#[test]
fn an_https_rpc_base_url_is_reached_over_tls() {
    if std::env::var_os(CHILD).is_none() {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "an_https_rpc_base_url_is_reached_over_tls", "--nocapture"])
            .env(CHILD, "1")
            .env("SSL_CERT_FILE", tls_file("ca.pem"))
            .env_remove("SSL_CERT_DIR")
            .status()
            .unwrap();
        assert!(status.success(), "the child run failed");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let calls = Arc::new(Mutex::new(Vec::new()));
        tokio::spawn(serve(listener, calls.clone()));

        // The certificate names `localhost` and 127.0.0.1; both are checked against it.
        let url = format!("https://localhost:{port}");
        client(&url).terminate("abc", "x").await.unwrap();
        client(&format!("https://127.0.0.1:{port}/"))
            .terminate("def", &())
            .await
            .unwrap();
        let calls = calls.lock().unwrap().clone();
        assert_eq!(calls[0].0, format!("{url}/TaskHubSidecarService/TerminateInstance"));
        assert_eq!(TerminateRequest::decode(calls[0].1.clone()).unwrap().instance_id, "abc");
        assert_eq!(TerminateRequest::decode(calls[1].1.clone()).unwrap().instance_id, "def");

        // A name the certificate does not hold is refused.
        let listener = TcpListener::bind("127.0.0.2:0").await;
        if let Ok(listener) = listener {
            let port = listener.local_addr().unwrap().port();
            tokio::spawn(serve(listener, Arc::new(Mutex::new(Vec::new()))));
            let error = client(&format!("https://127.0.0.2:{port}"))
                .terminate("abc", &())
                .await
                .unwrap_err();
            assert!(
                matches!(&error, ClientError::Connect { message, .. } if message.contains("TLS handshake")),
                "{error}"
            );
        }
    });
}

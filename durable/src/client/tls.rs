//! TLS for an `https` `rpcBaseUrl` (feature `tls`): rustls with the `ring` provider, trusting
//! the operating system's root certificates (and `SSL_CERT_FILE` / `SSL_CERT_DIR`, which
//! `rustls-native-certs` reads), offering HTTP/2 by ALPN as gRPC needs.

use std::sync::{Arc, OnceLock};

use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, RootCertStore};

/// The connector every client shares: loading the root certificates reads files, once.
pub(super) fn connector() -> Result<TlsConnector, String> {
    static CONNECTOR: OnceLock<Result<TlsConnector, String>> = OnceLock::new();
    CONNECTOR.get_or_init(build).clone()
}

fn build() -> Result<TlsConnector, String> {
    let native = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(native.certs);
    if added == 0 {
        let why = native.errors.first().map(|e| format!(": {e}")).unwrap_or_default();
        return Err(format!("no trusted root certificate could be loaded{why}"));
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS cannot be configured: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

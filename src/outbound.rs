//! What every outgoing HTTPS connection is made with (the OpenID Connect provider, the SMS
//! gateway): rustls on aws-lc-rs, the web PKI's roots (Mozilla's list, built in), and
//! HTTP/1.1 only in ALPN, so that no HTTP/2 connection is ever made (deny.toml says why
//! that matters). The SS 12000 sync builds its own, with the municipality's CA and client
//! certificate, on the same terms.

use std::sync::Arc;

/// The TLS settings for a connection to a server with a publicly trusted certificate.
pub fn tls_config() -> Arc<rustls::ClientConfig> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth());
    Arc::new(match config {
        Ok(mut c) => {
            c.alpn_protocols = vec![b"http/1.1".to_vec()];
            c
        }
        // the default provider always offers the safe versions
        Err(e) => unreachable!("rustls: {e}"),
    })
}

/// An HTTP client on [`tls_config`], following no redirects (they would open the door to
/// server-side request forgery), with a time limit for the connection and one in all.
pub fn client(connect: std::time::Duration, total: std::time::Duration) -> awc::Client {
    let connector = awc::Connector::new()
        .rustls_0_23(tls_config())
        .timeout(connect);
    awc::Client::builder()
        .connector(connector)
        .timeout(total)
        .disable_redirects()
        .finish()
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_http_1_1_is_offered() {
        let config = super::tls_config();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }
}

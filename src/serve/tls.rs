//! `rwg serve --tls`: the server's certificate and key, from PEM files
//! (`--cert`, `--key`) or made at start (a self-signed certificate for
//! `localhost` and the bound address, rcgen), and the rustls acceptor that
//! offers by ALPN what the server speaks (`http/1.1`, or `h2` for HTTP/2
//! and gRPC).

use std::path::Path;
use std::sync::Arc;

use monoio_rustls::TlsAcceptor;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

use super::ServeProtocol;

/// A certificate chain and its key, both PEM.
#[derive(Clone, Debug)]
pub struct ServeTls {
    pub cert_pem: String,
    pub key_pem: String,
}

impl ServeTls {
    /// A self-signed certificate naming each of `names` (host names or IP
    /// addresses).
    pub fn self_signed(names: &[String]) -> Result<ServeTls, String> {
        let made = rcgen::generate_simple_self_signed(names.to_vec())
            .map_err(|e| format!("cannot make a self-signed certificate: {e}"))?;
        Ok(ServeTls {
            cert_pem: made.cert.pem(),
            key_pem: made.signing_key.serialize_pem(),
        })
    }

    /// The chain and key in two PEM files.
    pub fn from_files(cert: &Path, key: &Path) -> Result<ServeTls, String> {
        let read = |flag: &str, p: &Path| {
            std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read {flag} '{}': {e}", p.display()))
        };
        let tls = ServeTls {
            cert_pem: read("--cert", cert)?,
            key_pem: read("--key", key)?,
        };
        tls.config(ServeProtocol::Http1)?;
        Ok(tls)
    }

    /// The acceptor for a server speaking `protocol`.
    pub(crate) fn acceptor(&self, protocol: ServeProtocol) -> Result<TlsAcceptor, String> {
        Ok(TlsAcceptor::from(Arc::new(self.config(protocol)?)))
    }

    fn config(&self, protocol: ServeProtocol) -> Result<ServerConfig, String> {
        let certs = CertificateDer::pem_slice_iter(self.cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("--cert: not a PEM certificate chain ({e})"))?;
        if certs.is_empty() {
            return Err("--cert: no certificate in the file".into());
        }
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes())
            .map_err(|e| format!("--key: not a PEM private key ({e})"))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| format!("--cert/--key: {e}"))?;
        config.alpn_protocols = match protocol {
            ServeProtocol::Http1 => vec![b"http/1.1".to_vec()],
            ServeProtocol::H2c | ServeProtocol::Grpc => vec![b"h2".to_vec()],
        };
        Ok(config)
    }
}

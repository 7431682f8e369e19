//! TLS (rustls with the ring provider) for the network fronts and for HTTPS backends.
//!
//! `[serve.tls]` names PEM files; they are read and checked once, when `sluice serve`
//! starts, so a wrong path, an unreadable key or a certificate that does not match its key
//! stops the server with a message naming the file instead of failing the first
//! handshake. The same identity serves gRPC (tonic's rustls acceptor) and MCP over HTTP
//! ([`TlsListener`], which completes handshakes off the accept loop so one slow client
//! cannot stall the others). With `client_ca`, both fronts require a client certificate
//! signed by it (mutual TLS); API keys still name the principal.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::config::TlsConfig;

/// How long a client may take to complete the TLS handshake before it is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshaken connections waiting for the HTTP server to pick them up.
const ACCEPT_QUEUE: usize = 128;

/// Why TLS material could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A configured file could not be read.
    #[error("cannot read the TLS {what} {}", path.display())]
    Read {
        /// Which file: `cert`, `key` or `client_ca`.
        what: &'static str,
        /// Its path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A file held no usable PEM item of the expected type, or malformed PEM.
    #[error("the TLS {what} {} {problem}", path.display())]
    Pem {
        /// Which file.
        what: &'static str,
        /// Its path.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// rustls refused the material (e.g. the key does not match the certificate).
    #[error("the TLS {what} is not usable: {source}")]
    Rejected {
        /// What was being built.
        what: &'static str,
        /// rustls's reason.
        source: rustls::Error,
    },
    /// The client CA could not be turned into a verifier.
    #[error("the TLS client_ca {} cannot verify clients: {message}", path.display())]
    ClientCa {
        /// Its path.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// Makes ring the process's rustls provider (idempotent); reqwest and tonic use it.
pub fn install_crypto_provider() {
    // Err means a provider is already installed, which is all this asks for.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A server identity (and optional client CA) loaded from `[serve.tls]`.
#[derive(Clone)]
pub struct ServerTls {
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
    client_ca_pem: Option<Vec<u8>>,
    /// Checked rustls configuration for HTTP/1.1 (the MCP front).
    http: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("ServerTls")
            .field("mutual", &self.client_ca_pem.is_some())
            .finish_non_exhaustive()
    }
}

impl ServerTls {
    /// Reads and checks the files `config` names.
    pub fn load(config: &TlsConfig) -> Result<Self, TlsError> {
        install_crypto_provider();
        let cert_pem = read("cert", &config.cert)?;
        let key_pem = read("key", &config.key)?;
        let client_ca_pem = match &config.client_ca {
            Some(path) => Some(read("client_ca", path)?),
            None => None,
        };
        let chain = certificates("cert", &config.cert, &cert_pem)?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::Pem {
            what: "key",
            path: config.key.clone(),
            problem: format!("holds no usable private key (PKCS#8, PKCS#1 or SEC1 PEM): {e}"),
        })?;
        let builder = rustls::ServerConfig::builder();
        let builder = match (&client_ca_pem, &config.client_ca) {
            (Some(pem), Some(path)) => {
                let mut roots = RootCertStore::empty();
                for cert in certificates("client_ca", path, pem)? {
                    roots.add(cert).map_err(|e| TlsError::ClientCa {
                        path: path.clone(),
                        message: e.to_string(),
                    })?;
                }
                let verifier = WebPkiClientVerifier::builder(Arc::new(roots))
                    .build()
                    .map_err(|e| TlsError::ClientCa {
                        path: path.clone(),
                        message: e.to_string(),
                    })?;
                builder.with_client_cert_verifier(verifier)
            }
            _ => builder.with_no_client_auth(),
        };
        let mut http =
            builder
                .with_single_cert(chain, key)
                .map_err(|source| TlsError::Rejected {
                    what: "certificate and key",
                    source,
                })?;
        http.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(ServerTls {
            cert_pem,
            key_pem,
            client_ca_pem,
            http: Arc::new(http),
        })
    }

    /// Whether clients must present a certificate.
    pub fn is_mutual(&self) -> bool {
        self.client_ca_pem.is_some()
    }

    /// The same identity as tonic's server TLS configuration (gRPC over HTTP/2).
    pub fn grpc(&self) -> tonic::transport::ServerTlsConfig {
        let identity = tonic::transport::Identity::from_pem(&self.cert_pem, &self.key_pem);
        let config = tonic::transport::ServerTlsConfig::new()
            .identity(identity)
            .timeout(HANDSHAKE_TIMEOUT);
        match &self.client_ca_pem {
            Some(ca) => config.client_ca_root(tonic::transport::Certificate::from_pem(ca)),
            None => config,
        }
    }

    /// Wraps `listener` so that the HTTP server receives decrypted connections.
    pub fn listener(&self, listener: TcpListener) -> io::Result<TlsListener> {
        TlsListener::new(listener, TlsAcceptor::from(Arc::clone(&self.http)))
    }
}

/// Reads the CA certificates in the PEM file at `path` (for HTTPS backends with a private CA).
pub fn read_ca_certificates(path: &Path) -> Result<Vec<Vec<u8>>, TlsError> {
    let pem = read("ca_file", path)?;
    Ok(certificates("ca_file", path, &pem)?
        .into_iter()
        .map(|cert| cert.as_ref().to_vec())
        .collect())
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })
}

fn certificates(
    what: &'static str,
    path: &Path,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            what,
            path: path.to_path_buf(),
            problem: format!("is not valid PEM: {e}"),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            what,
            path: path.to_path_buf(),
            problem: "holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
        });
    }
    Ok(certs)
}

/// A TLS listener for `axum::serve`: a background task accepts TCP connections and runs
/// each handshake as its own task (bounded by [`HANDSHAKE_TIMEOUT`]); finished ones are
/// queued for the server. Failed handshakes are logged and dropped.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    acceptor: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    fn new(listener: TcpListener, tls: TlsAcceptor) -> io::Result<Self> {
        let local = listener.local_addr()?;
        let (queue, ready) = mpsc::channel(ACCEPT_QUEUE);
        let acceptor = tokio::spawn(accept_loop(listener, tls, queue));
        Ok(TlsListener {
            ready,
            local,
            acceptor,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    tls: TlsAcceptor,
    queue: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(%error, "accepting a TLS connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let (acceptor, sender) = (tls.clone(), queue.clone());
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => {
                    let _ = sender.send((stream, peer)).await;
                }
                Ok(Err(error)) => tracing::info!(%peer, %error, "TLS handshake failed"),
                Err(_) => tracing::info!(%peer, "TLS handshake timed out"),
            }
        });
        if queue.is_closed() {
            return;
        }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept loop only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

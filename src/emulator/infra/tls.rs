//! `--tls`: a self-signed certificate for `localhost`/`127.0.0.1`/`::1` made at start, and an
//! axum `Listener` that performs TLS handshakes off the accept loop (a slow or broken client
//! never blocks others).
//!
//! It must not know about routes; clients trust the certificate via the PEM written with
//! `write_ca_pem` (and `GET /_emulator/ca.pem`), which never follows a symlink planted at the
//! predictable `$TMPDIR` path.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::server::TlsStream;

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Certificate generation failed.
    #[error("could not generate the self-signed certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// rustls refused the configuration.
    #[error("could not configure TLS: {0}")]
    Config(#[from] rustls::Error),
    /// The listener has no address.
    #[error("could not read the listener address: {0}")]
    Io(#[from] std::io::Error),
}

/// A generated certificate and the server configuration using it.
pub struct SelfSigned {
    /// The certificate, PEM (what clients must trust).
    pub cert_pem: String,
    /// The certificate, DER (for a client's root store).
    pub cert_der: rustls::pki_types::CertificateDer<'static>,
    config: Arc<rustls::ServerConfig>,
}

/// Makes a fresh self-signed certificate for the loopback names.
pub fn self_signed() -> Result<SelfSigned, TlsError> {
    let names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let certified = rcgen::generate_simple_self_signed(names)?;
    let cert_der = certified.cert.der().clone();
    let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(
        rustls::pki_types::PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der()),
    );
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![cert_der], key_der)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(SelfSigned {
        cert_pem: certified.cert.pem(),
        cert_der: certified.cert.der().clone(),
        config: Arc::new(config),
    })
}

/// Writes the certificate PEM at `path` without following anything planted there: a new file
/// with a random name next to it (created exclusively, mode 0644) is renamed over `path`, which
/// replaces a symlink instead of writing through it.
pub fn write_ca_pem(path: &std::path::Path, pem: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let tmp = dir.join(format!(
        ".gridform-ca-{}.pem.tmp",
        uuid::Uuid::new_v4().simple()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o644);
    }
    let written = options.open(&tmp).and_then(|mut f| {
        f.write_all(pem.as_bytes())?;
        f.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(&tmp, path));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    renamed
}

/// A TLS listener for `axum::serve`.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    addr: SocketAddr,
}

impl TlsListener {
    /// Accepts on `tcp`, handshaking each connection in its own task.
    pub fn new(tcp: TcpListener, cert: &SelfSigned) -> Result<Self, TlsError> {
        let addr = tcp.local_addr()?;
        let acceptor = TlsAcceptor::from(cert.config.clone());
        let (tx, ready) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(pair) => pair,
                    Err(e) => {
                        tracing::debug!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                let (acceptor, conn_tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(tls)) => {
                            let _ = conn_tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(error = %e, %peer, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
                if tx.is_closed() {
                    break;
                }
            }
        });
        Ok(Self { ready, addr })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            if let Some(conn) = self.ready.recv().await {
                return conn;
            }
            // The accept task ended (it never does while the listener lives); wait politely.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_pem_replaces_a_planted_symlink_instead_of_writing_through_it() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let pem = dir.path().join("gridform-emulator-1234.ca.pem");
        std::os::unix::fs::symlink(&victim, &pem).unwrap();
        write_ca_pem(&pem, "-----BEGIN CERTIFICATE-----").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(!std::fs::symlink_metadata(&pem).unwrap().is_symlink());
        assert_eq!(
            std::fs::read_to_string(&pem).unwrap(),
            "-----BEGIN CERTIFICATE-----"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}

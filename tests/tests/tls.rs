//! TLS: with a certificate and key, the port speaks `https://` and `wss://`.
//! A client that trusts the (self-signed) certificate plays over `wss://`;
//! a plain `ws://` client cannot upgrade; a TCP client that never starts the
//! TLS handshake is dropped after the HTTP timeout.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use common::*;
use tickwire_protocol::session::SessionConfig;
use tickwire_server::ServerConfig;
use tickwire_tests::Connection;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// A folder of its own under the system's temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("tickwire-tls-test-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A self-signed certificate for `localhost`, written as PEM files; the
/// certificate's PEM text too, for the client to trust.
fn self_signed(dir: &TempDir) -> anyhow::Result<(PathBuf, PathBuf, String)> {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
    let cert_pem = certified.cert.pem();
    let cert = dir.0.join("cert.pem");
    let key = dir.0.join("key.pem");
    std::fs::write(&cert, &cert_pem)?;
    std::fs::write(&key, certified.signing_key.serialize_pem())?;
    Ok((cert, key, cert_pem))
}

/// A TLS connection to `addr` as `localhost`, trusting only `cert_pem`.
async fn tls_connect(
    addr: std::net::SocketAddr,
    cert_pem: &str,
) -> anyhow::Result<TlsStream<TcpStream>> {
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(cert_pem.as_bytes())?)?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await?;
    let tls = tokio::time::timeout(
        WAIT,
        TlsConnector::from(Arc::new(config)).connect(ServerName::try_from("localhost")?, tcp),
    )
    .await
    .context("TLS handshake timed out")??;
    Ok(tls)
}

#[tokio::test]
async fn a_wss_client_plays_and_a_plain_ws_client_cannot_upgrade() -> anyhow::Result<()> {
    init_tracing();
    let dir = TempDir::new()?;
    let (cert, key, cert_pem) = self_signed(&dir)?;
    let server = TestServer::start(ServerConfig {
        tls: Some((cert, key)),
        http_timeout: Duration::from_secs(1),
        ..small_world((800, 800), (2000, 2000))
    })
    .await?;

    // wss:// over a TLS stream that trusts the certificate.
    let tls = tls_connect(server.addr, &cert_pem).await?;
    let (ws, _) = tokio::time::timeout(
        WAIT,
        tokio_tungstenite::client_async("wss://localhost/ws", tls),
    )
    .await??;
    let mut player = RawClient::hello(ws, SessionConfig::new("secure")).await?;
    let welcome = player.welcomed().await?;
    player.snapshots(5).await?;
    assert!(player.session.view().get(welcome.player).is_some());
    assert_eq!(player.session.desyncs(), 0);

    // https:// on the same port.
    let mut https = tls_connect(server.addr, &cert_pem).await?;
    https
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await?;
    let mut page = Vec::new();
    tokio::time::timeout(WAIT, https.read_to_end(&mut page)).await??;
    let page = String::from_utf8_lossy(&page);
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.ends_with("ok"), "{page}");

    // Plain ws:// to the TLS port gets no WebSocket.
    let plain = tokio::time::timeout(
        WAIT,
        Connection::connect(&server.target(), SessionConfig::new("plain")),
    )
    .await
    .context("a plain client hung on the TLS port")?;
    assert!(
        plain.is_err(),
        "a plain ws:// client upgraded on the TLS port"
    );

    // A TCP client that never starts TLS is dropped after the HTTP timeout.
    let mut idle = TcpStream::connect(server.addr).await?;
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(8), idle.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0) | Err(_))),
        "an idle TCP client was kept past the 1 s TLS deadline: {read:?}"
    );

    // The wss:// player played on through all of it.
    player.snapshots(5).await?;
    assert_eq!(player.session.desyncs(), 0);
    server.stop().await
}

//! Before a connection is a player: slow HTTP requests (slowloris) and
//! clients that never say `Hello` are dropped after their deadlines, and a
//! browser origin that is neither the page's own nor allowed gets HTTP 403.
//! An honest player plays on throughout.

mod common;

use std::time::Duration;

use common::*;
use tickwire_protocol::session::SessionConfig;
use tickwire_server::ServerConfig;
use tickwire_tests::{Behavior, Connection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The deadlines under test: short, so that the tests are quick, and far
/// below the defaults (10 s), so that a close within [`CLOSED_WITHIN`] shows
/// that the configured deadline is the one that applies.
const DEADLINE: Duration = Duration::from_secs(1);
/// Generous bound on when the server must have dropped a slow client.
const CLOSED_WITHIN: Duration = Duration::from_secs(8);

fn config() -> ServerConfig {
    ServerConfig {
        http_timeout: DEADLINE,
        hello_timeout: DEADLINE,
        ..small_world((800, 800), (2000, 2000))
    }
}

/// Reads until the server closes the TCP connection; what it sent meanwhile.
async fn read_to_close(tcp: &mut TcpStream) -> anyhow::Result<Vec<u8>> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(CLOSED_WITHIN, async {
        let mut buf = [0u8; 1024];
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    anyhow::ensure!(
        read.is_ok(),
        "the server kept the connection open past {CLOSED_WITHIN:?}"
    );
    Ok(got)
}

#[tokio::test]
async fn slow_http_requests_are_dropped_after_the_http_timeout() -> anyhow::Result<()> {
    init_tracing();
    let server = TestServer::start(config()).await?;
    let mut honest = Honest::start(&server.target(), "honest", Behavior::Wander).await?;

    // Half a request, then nothing.
    let mut half = TcpStream::connect(server.addr).await?;
    half.write_all(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n")
        .await?;
    // Nothing at all.
    let mut silent = TcpStream::connect(server.addr).await?;
    // Headers trickled one byte at a time, slower than the deadline allows.
    let mut trickle = TcpStream::connect(server.addr).await?;
    let trickled = async {
        for b in b"GET /healthz HTTP/1.1\r\nHost: x\r\n" {
            if trickle.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let (half_got, silent_got, ()) = tokio::join!(
        read_to_close(&mut half),
        read_to_close(&mut silent),
        trickled
    );
    let (half_got, silent_got) = (half_got?, silent_got?);
    // Nothing useful was served: at most an error status, never an upgrade.
    for got in [&half_got, &silent_got] {
        let text = String::from_utf8_lossy(got);
        assert!(!text.contains(" 101 "), "upgraded a slow client: {text}");
    }
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(CLOSED_WITHIN, trickle.read_to_end(&mut rest)).await;
    assert!(
        !String::from_utf8_lossy(&rest).contains(" 200 "),
        "a trickled request was served"
    );

    honest.more_snapshots(10).await?;
    honest.finish().await?;
    server.stop().await
}

#[tokio::test]
async fn a_client_that_never_says_hello_is_closed_with_1008() -> anyhow::Result<()> {
    init_tracing();
    let server = TestServer::start(config()).await?;
    let honest = Honest::start(&server.target(), "honest", Behavior::Wander).await?;

    // Upgraded, but the `Hello` is never flushed.
    let mut mute = tokio::time::timeout(
        WAIT,
        Connection::connect(&server.target(), SessionConfig::new("mute")),
    )
    .await??;
    let err = tokio::time::timeout(CLOSED_WITHIN, closed_silently(&mut mute)).await??;
    assert_eq!(err.close_code(), Some(1008), "{err}");
    assert!(reason_of(&err).contains("Hello"), "{err}");
    let m = metrics(&server).await?;
    assert!(m.value("tickwire_disconnects_total{reason=\"policy\"}") >= 1.0);

    let seen = honest.finish().await?;
    assert_eq!(seen.desyncs, 0);
    server.stop().await
}

#[tokio::test]
async fn a_foreign_origin_gets_403_and_own_or_allowed_origins_play() -> anyhow::Result<()> {
    init_tracing();
    let server = TestServer::start(ServerConfig {
        allowed_origins: vec!["https://game.example".into()],
        ..config()
    })
    .await?;
    let honest = Honest::start(&server.target(), "honest", Behavior::Wander).await?;
    let url = server.target().url().to_owned();

    for evil in ["https://evil.example", "https://game.example.evil", "null"] {
        let refused = upgrade(server.addr, request_with(&url, &[("Origin", evil)])?)
            .await
            .err()
            .ok_or_else(|| anyhow::anyhow!("origin {evil} was upgraded"))?;
        assert_eq!(refused_status(&refused), Some(403), "{evil}: {refused}");
    }
    let m = metrics(&server).await?;
    assert_eq!(
        m.value("tickwire_disconnects_total{reason=\"origin_refused\"}"),
        3.0
    );

    // The page's own origin (matching Host), and the allowed one.
    let own = format!("http://{}", server.addr);
    for origin in [own.as_str(), "https://game.example"] {
        let ws = upgrade(server.addr, request_with(&url, &[("Origin", origin)])?)
            .await
            .map_err(|e| anyhow::anyhow!("origin {origin} refused: {e}"))?;
        let mut client = RawClient::hello(ws, SessionConfig::new("browser")).await?;
        client.welcomed().await?;
        client.snapshots(3).await?;
    }

    let seen = honest.finish().await?;
    assert_eq!(seen.desyncs, 0);
    server.stop().await
}

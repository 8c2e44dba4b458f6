//! The connection cap: past `max_connections`, an upgrade is refused with
//! HTTP 503 before it becomes a WebSocket, and the players already connected
//! play on; a freed slot is usable again.

mod common;

use common::*;
use tickwire_protocol::session::SessionConfig;
use tickwire_server::ServerConfig;
use tickwire_tests::Behavior;

#[tokio::test]
async fn past_the_connection_cap_an_upgrade_gets_503_and_players_play_on() -> anyhow::Result<()> {
    init_tracing();
    let server = TestServer::start(ServerConfig {
        max_connections: 2,
        ..small_world((800, 800), (2000, 2000))
    })
    .await?;
    let target = server.target();
    let mut a = Honest::start(&target, "a", Behavior::Wander).await?;
    let b = Honest::start(&target, "b", Behavior::Wander).await?;

    for _ in 0..3 {
        let refused = upgrade(server.addr, request_with(target.url(), &[])?)
            .await
            .err()
            .ok_or_else(|| anyhow::anyhow!("a third connection was upgraded"))?;
        assert_eq!(refused_status(&refused), Some(503), "{refused}");
    }
    let m = metrics(&server).await?;
    assert_eq!(
        m.value("tickwire_disconnects_total{reason=\"connection_limit\"}"),
        3.0
    );
    a.more_snapshots(10).await?;

    // A slot freed by a clean leave admits the next player.
    b.finish().await?;
    let ws = eventually("a slot is free again", || async {
        match upgrade(server.addr, request_with(target.url(), &[])?).await {
            Ok(ws) => Ok(Some(ws)),
            Err(err) if refused_status(&err) == Some(503) => Ok(None),
            Err(err) => Err(err.into()),
        }
    })
    .await?;
    let mut c = RawClient::hello(ws, SessionConfig::new("c")).await?;
    c.welcomed().await?;
    c.snapshots(3).await?;

    let seen = a.finish().await?;
    assert_eq!(seen.desyncs, 0);
    server.stop().await
}

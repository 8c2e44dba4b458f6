//! Graceful shutdown: every client gets close code 1001 and `run` returns Ok.

mod common;

use std::sync::Arc;

use common::*;
use tickwire_server::ServerConfig;
use tickwire_tests::{Behavior, BotConfig, BotEnd, SwarmStats, run_bot};
use tokio::sync::watch;

#[tokio::test]
async fn shutdown_closes_every_client_with_1001_and_run_returns_ok() -> anyhow::Result<()> {
    init_tracing();
    let mut server = TestServer::start(ServerConfig::default()).await?;
    let target = server.target();
    let mut conns = Vec::new();
    for i in 0..3 {
        let mut conn = connect(&target, &format!("c{i}")).await?;
        welcomed(&mut conn).await?;
        next_snapshot(&mut conn).await?;
        conns.push(conn);
    }
    // And one through the bot library, which records why it ended.
    let stats = Arc::new(SwarmStats::new());
    let (_stop_tx, stop) = watch::channel(false);
    let bot = tokio::spawn({
        let (target, stats) = (target.clone(), stats.clone());
        async move { run_bot(&target, BotConfig::new("w", Behavior::Wander), stats, stop).await }
    });
    let mut watcher = connect(&target, "watcher").await?;
    welcomed(&mut watcher).await?;
    while stats.connected_now() == 0 {
        next_snapshot(&mut watcher).await?;
    }
    conns.push(watcher);

    server.trigger_shutdown();
    for conn in &mut conns {
        let err = closed(conn).await?;
        assert_eq!(err.close_code(), Some(1001), "{err}");
    }
    let outcome = tokio::time::timeout(WAIT, bot).await??;
    match outcome.end {
        BotEnd::Lost(err) => assert_eq!(err.close_code(), Some(1001), "{err}"),
        other => panic!("the bot ended with {other:?}"),
    }
    assert_eq!(stats.snapshot().disconnected, 1);
    server.stop().await
}

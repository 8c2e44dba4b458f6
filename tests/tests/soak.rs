//! A tiny soak against an in-process server: bots join, play a moment and
//! leave (half cleanly, half by dropping the connection) for a few seconds,
//! and afterwards the server holds no session and no player.

mod common;

use std::time::Duration;

use common::*;
use tickwire_server::ServerConfig;
use tickwire_tests::soak::{SoakConfig, run_soak};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_soak_leaks_no_session_and_no_player() -> anyhow::Result<()> {
    init_tracing();
    let server = TestServer::start(ServerConfig {
        resume_window: Duration::ZERO,
        empty_room_grace: Duration::from_millis(500),
        ..small_world((1200, 1200), (800, 600))
    })
    .await?;
    let config = SoakConfig {
        url: server.target().url().to_owned(),
        seconds: 5.0,
        concurrency: 10,
        drop_fraction: 0.5,
        min_play: Duration::from_millis(200),
        max_play: Duration::from_millis(1500),
        settle_margin: Duration::from_secs(2),
        ..SoakConfig::default()
    };
    let mut lines = 0;
    let report =
        tokio::time::timeout(Duration::from_secs(60), run_soak(config, |_| lines += 1)).await??;
    assert!(lines >= 4, "progress about once a second: {lines} lines");
    assert!(report.joins >= 20, "bots came and went: {report}");
    assert_eq!(report.errors, 0, "{report}");
    assert!(report.left_clean > 0 && report.left_dropped > 0, "{report}");
    assert_eq!(
        report.joins,
        report.left_clean + report.left_dropped,
        "{report}"
    );
    assert!(report.snapshots > report.joins, "{report}");
    assert_eq!(report.leaked_sessions, 0, "{report}");
    assert_eq!(report.leaked_players, 0, "{report}");
    assert_eq!(report.desyncs, 0, "{report}");
    assert!(report.is_clean());
    assert!(
        report.rss_start_bytes > 0 && report.rss_end_bytes > 0,
        "{report}"
    );
    // The server saw both kinds of leaving.
    let d = &report.server_disconnects;
    assert!(d.get("client_closed").is_some_and(|n| *n > 0), "{d:?}");
    assert!(d.get("client_gone").is_some_and(|n| *n > 0), "{d:?}");
    server.stop().await
}

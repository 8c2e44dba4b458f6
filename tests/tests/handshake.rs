//! The opening of a session: a bot is welcomed and receives snapshots; a
//! client of another protocol version is refused with a notice and 1002.

mod common;

use std::sync::Arc;

use common::*;
use tickwire_protocol::message::NoticeCode;
use tickwire_protocol::session::{SessionConfig, SessionEvent};
use tickwire_protocol::{EntityKind, PROTOCOL_VERSION};
use tickwire_server::ServerConfig;
use tickwire_tests::{Behavior, BotConfig, BotEnd, SwarmStats, run_bot};
use tokio::sync::watch;

#[tokio::test]
async fn a_bot_is_welcomed_and_receives_snapshots() -> anyhow::Result<()> {
    init_tracing();
    let server = TestServer::start(ServerConfig::default()).await?;
    let mut conn = connect(&server.target(), "ada").await?;
    let welcome = welcomed(&mut conn).await?;
    assert_eq!(welcome.protocol_version, PROTOCOL_VERSION);
    assert!(welcome.tick_rate > 0 && welcome.snapshot_interval_ticks > 0);
    assert!(welcome.view_width > 0 && welcome.view_height > 0);

    let first = next_snapshot(&mut conn).await?;
    let mut last = first;
    for _ in 0..5 {
        let tick = next_snapshot(&mut conn).await?;
        assert!(tick > last, "ticks rise: {tick} after {last}");
        last = tick;
    }
    let me = seen(&conn, welcome.player).expect("a player sees itself");
    assert_eq!(me.kind, EntityKind::Player);
    assert!(me.health > 0);
    assert_eq!(conn.session().name_of(welcome.player), Some("ada"));
    server.stop().await
}

#[tokio::test]
async fn a_swarm_bot_plays_through_the_library() -> anyhow::Result<()> {
    init_tracing();
    let server = TestServer::start(ServerConfig::default()).await?;
    let stats = Arc::new(SwarmStats::new());
    let (_stop_tx, stop) = watch::channel(false);
    let config = BotConfig {
        max_snapshots: Some(30),
        ..BotConfig::new("wanderer", Behavior::Wander)
    };
    let outcome =
        tokio::time::timeout(WAIT, run_bot(&server.target(), config, stats.clone(), stop)).await?;
    assert!(matches!(outcome.end, BotEnd::Done), "{:?}", outcome.end);
    assert!(outcome.welcomed);
    let c = outcome.counters.counts;
    assert!(c.snapshots >= 30 && c.inputs > 0, "{c:?}");
    assert_eq!(c.desyncs + c.decode_errors, 0, "{c:?}");
    let s = stats.snapshot();
    assert!(!s.ack_us.is_empty(), "the server acknowledged inputs");
    assert_eq!(s.disconnected, 0, "{:?}", s.reasons);
    server.stop().await
}

#[tokio::test]
async fn a_wrong_protocol_version_gets_a_notice_and_close_1002() -> anyhow::Result<()> {
    init_tracing();
    let server = TestServer::start(ServerConfig::default()).await?;
    let config = SessionConfig {
        protocol_version: 999,
        ..SessionConfig::new("from-the-future")
    };
    let mut conn = connect_with(&server.target(), config).await?;
    let err = closed(&mut conn).await?;
    assert_eq!(err.close_code(), Some(1002), "{err}");
    let mut notices = Vec::new();
    while let Some(event) = conn.poll_event() {
        match event {
            SessionEvent::Notice(n) => notices.push(n),
            SessionEvent::Welcomed(_) => panic!("welcomed despite the wrong version"),
            _ => {}
        }
    }
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(
        notices[0].code,
        NoticeCode::VersionMismatch {
            server_version: PROTOCOL_VERSION
        }
    );
    // The reason names the server's version (and the client's).
    let tickwire_tests::BotError::Closed { reason, .. } = &err else {
        panic!("no close frame: {err}")
    };
    assert!(
        reason.contains(&PROTOCOL_VERSION.to_string()) && reason.contains("999"),
        "the close reason names both versions: {reason:?}"
    );
    server.stop().await
}

#[tokio::test]
async fn a_server_with_a_token_secret_admits_only_signed_bots() -> anyhow::Result<()> {
    init_tracing();
    let secret: Arc<[u8]> = Arc::from(&b"test secret"[..]);
    let server = TestServer::start(ServerConfig {
        token_secret: Some(secret.clone()),
        ..ServerConfig::default()
    })
    .await?;
    let expiry = tickwire_server::auth::unix_now() + 600;
    let signed = BotConfig {
        auth_token: Some(tickwire_server::auth::mint(&secret, "signed", expiry)),
        ..BotConfig::new("signed", Behavior::Idle)
    };
    let mut conn = connect_with(&server.target(), signed.session_config()).await?;
    let welcome = welcomed(&mut conn).await?;
    next_snapshot(&mut conn).await?;
    assert_eq!(conn.session().name_of(welcome.player), Some("signed"));

    let mut unsigned = connect(&server.target(), "unsigned").await?;
    let err = closed(&mut unsigned).await?;
    assert_eq!(err.close_code(), Some(1008), "{err}");
    let refused = std::iter::from_fn(|| unsigned.poll_event())
        .any(|e| matches!(e, SessionEvent::Notice(n) if n.code == NoticeCode::Unauthorized));
    assert!(refused, "an Unauthorized notice comes first");
    server.stop().await
}

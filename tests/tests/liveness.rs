//! Liveness: the server pings every client; a connection from which nothing
//! arrives (not even a pong) for the idle timeout is closed, and with no
//! resume window its player leaves the room at once. A client that answers
//! pings and sends nothing else stays.

mod common;

use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use tickwire_protocol::InputFrame;
use tickwire_protocol::session::SessionConfig;
use tickwire_server::ServerConfig;
use tickwire_tests::Behavior;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

const IDLE_TIMEOUT: Duration = Duration::from_secs(1);

fn config() -> ServerConfig {
    ServerConfig {
        ping_interval: Duration::from_millis(200),
        idle_timeout: IDLE_TIMEOUT,
        resume_window: Duration::ZERO,
        ..small_world((800, 800), (2000, 2000))
    }
}

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_and_its_player_leaves() -> anyhow::Result<()> {
    init_tracing();
    let server = TestServer::start(config()).await?;
    let mut honest = Honest::start(&server.target(), "honest", Behavior::Wander).await?;

    let ws = upgrade(server.addr, request_with(server.target().url(), &[])?).await?;
    let mut silent = RawClient::hello(ws, SessionConfig::new("silent")).await?;
    let player = silent.welcomed().await?.player;
    silent.snapshots(1).await?;
    // From here on `silent` is neither read nor written: no pongs, nothing.
    let stopped = Instant::now();
    honest
        .wait_until("it sees the silent player", |s| s.sees(player))
        .await?;

    honest
        .wait_until("the silent player has left", |s| !s.sees(player))
        .await?;
    let gone_after = stopped.elapsed();
    assert!(
        gone_after >= IDLE_TIMEOUT / 2 && gone_after < Duration::from_secs(10),
        "left after {gone_after:?}; the idle timeout is {IDLE_TIMEOUT:?} (the default is 20 s)"
    );
    eventually("/rooms counts only the honest player", || async {
        Ok((players_in_rooms(&server).await? == 1).then_some(()))
    })
    .await?;
    let m = metrics(&server).await?;
    assert_eq!(
        m.value("tickwire_disconnects_total{reason=\"idle_timeout\"}"),
        1.0
    );
    assert_eq!(m.value("tickwire_players_connected"), 1.0);

    // What the silent client would have read: a close with 1001.
    let (code, reason) = silent.close_frame().await?;
    assert_eq!(code, 1001, "{reason}");
    assert!(reason.contains("idle"), "{reason}");

    let seen = honest.finish().await?;
    assert_eq!(seen.desyncs, 0);
    server.stop().await
}

#[tokio::test]
async fn a_client_that_only_answers_pings_stays_connected() -> anyhow::Result<()> {
    init_tracing();
    let server = TestServer::start(config()).await?;
    let ws = upgrade(server.addr, request_with(server.target().url(), &[])?).await?;
    let mut quiet = RawClient::hello(ws, SessionConfig::new("quiet")).await?;
    quiet.welcomed().await?;
    quiet.snapshots(1).await?;

    // Read for three idle timeouts' worth of snapshots (20 a second), sending
    // nothing but the pongs tungstenite answers pings with.
    let (mut deltas, mut pings) = (0, 0);
    tokio::time::timeout(WAIT, async {
        while deltas < 60 {
            match quiet.ws.next().await {
                Some(Ok(Message::Binary(_))) => deltas += 1,
                Some(Ok(Message::Ping(_))) => pings += 1,
                Some(Ok(Message::Close(frame))) => anyhow::bail!("closed: {frame:?}"),
                Some(Ok(_)) => {}
                Some(Err(err)) => anyhow::bail!("connection broke: {err}"),
                None => anyhow::bail!("connection dropped"),
            }
        }
        anyhow::Ok(())
    })
    .await??;
    assert!(pings >= 5, "the server pinged: {pings} pings");
    let m = metrics(&server).await?;
    assert_eq!(
        m.value("tickwire_disconnects_total{reason=\"idle_timeout\"}"),
        0.0
    );
    assert_eq!(m.value("tickwire_players_connected"), 1.0);
    server.stop().await
}

#[tokio::test]
async fn a_silent_client_gets_no_deltas_until_it_speaks_again() -> anyhow::Result<()> {
    init_tracing();
    let pause = Duration::from_millis(500);
    let server = TestServer::start(ServerConfig {
        // No pings (so no pongs) and no idle timeout within the test.
        ping_interval: Duration::from_secs(60),
        idle_timeout: Duration::from_secs(60),
        pause_silent_after: pause,
        ..small_world((800, 800), (2000, 2000))
    })
    .await?;
    let ws = upgrade(server.addr, request_with(server.target().url(), &[])?).await?;
    let mut client = RawClient::hello(ws, SessionConfig::new("quiet")).await?;
    client.welcomed().await?;
    client.snapshots(1).await?;
    client.flush().await?;

    // Read everything, send nothing (not even the session's acks) for three
    // pauses: deltas stop about one pause after the last message sent.
    let silent_since = Instant::now();
    let mut last_delta = Duration::ZERO;
    let mut deltas = 0;
    let _ = tokio::time::timeout(pause * 3, async {
        loop {
            if client.read_quietly().await? {
                deltas += 1;
                last_delta = silent_since.elapsed();
            }
        }
        #[allow(unreachable_code)]
        anyhow::Ok(())
    })
    .await;
    assert!(deltas >= 5, "deltas kept coming during the pause: {deltas}");
    assert!(
        last_delta < pause * 2,
        "the last delta came {last_delta:?} into the silence (pause {pause:?})"
    );
    let m = metrics(&server).await?;
    assert!(m.value("tickwire_deltas_withheld_total") >= 10.0);

    // Speaking again (an input) brings deltas back, and they apply on the
    // baseline the client holds.
    client.session.push_input(InputFrame::default());
    client.session.flush_inputs();
    client.flush().await?;
    client.snapshots(5).await?;
    server.stop().await
}

//! Reconnection: a player whose connection drops stays in the world for the
//! resume window; its client takes it back with the token from its last
//! `Welcome` (same id, score and place, a full snapshot to restart from); a
//! token works once; after the window, or after a clean close, the player is
//! gone and the token refused.

mod common;

use std::time::Duration;

use anyhow::Context;
use common::*;
use tickwire_protocol::message::{NoticeCode, ResumeToken, Welcome};
use tickwire_protocol::session::{SessionConfig, SessionEvent};
use tickwire_protocol::tuning::PLAYER_RADIUS;
use tickwire_protocol::{EntityState, InputFrame};
use tickwire_server::ServerConfig;
use tickwire_tests::{Behavior, BotConfig, Connection, Mind, Target};
use tokio::time::MissedTickBehavior;

fn config(resume_window: Duration) -> ServerConfig {
    ServerConfig {
        resume_window,
        // A small arena dense with orbs: moving about scores quickly.
        orbs: 60,
        ..small_world((400, 400), (2000, 2000))
    }
}

fn resuming(token: ResumeToken) -> SessionConfig {
    SessionConfig {
        resume: Some(token),
        ..BotConfig::new("phoenix", Behavior::Wander).session_config()
    }
}

/// Plays `conn` one input per tick (from `input`) until `done` holds after a snapshot.
async fn drive(
    conn: &mut Connection,
    welcome: &Welcome,
    mut input: impl FnMut(&Connection) -> InputFrame,
    mut done: impl FnMut(&Connection) -> bool,
) -> anyhow::Result<()> {
    let mut ticker =
        tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(welcome.tick_rate)));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    tokio::time::timeout(WAIT, async {
        loop {
            tokio::select! {
                _ = ticker.tick() => {
                    let frame = input(conn);
                    conn.push_input(frame);
                    conn.session_mut().flush_inputs();
                    conn.flush().await?;
                }
                r = conn.recv() => {
                    r?;
                    conn.flush().await?;
                    let mut applied = false;
                    while let Some(event) = conn.poll_event() {
                        match event {
                            SessionEvent::Snapshot { .. } => applied = true,
                            SessionEvent::Desync(err) => anyhow::bail!("desync: {err}"),
                            _ => {}
                        }
                    }
                    if applied && done(conn) {
                        return Ok(());
                    }
                }
            }
        }
    })
    .await
    .context("drive: the goal was not reached in time")?
}

/// Says `Hello` with `token`; checks it is refused with `ResumeRejected` and 1008.
async fn assert_token_refused(target: &Target, token: ResumeToken) -> anyhow::Result<()> {
    let mut conn = connect_with(target, resuming(token)).await?;
    let err = closed(&mut conn).await?;
    assert_eq!(err.close_code(), Some(1008), "{err}");
    let codes: Vec<_> = notices(&mut conn).into_iter().map(|n| n.code).collect();
    assert_eq!(codes, [NoticeCode::ResumeRejected]);
    Ok(())
}

/// `id`'s own state in `conn`'s view.
fn me(conn: &Connection, welcome: &Welcome) -> anyhow::Result<EntityState> {
    seen(conn, welcome.player).context("a player sees itself")
}

#[tokio::test]
async fn a_dropped_player_resumes_with_its_id_score_and_place() -> anyhow::Result<()> {
    init_tracing();
    let server = TestServer::start(config(Duration::from_secs(5))).await?;
    let target = server.target();
    let mut watcher = Honest::start(&target, "watcher", Behavior::Idle).await?;

    let mut conn = connect_with(&target, SessionConfig::new("phoenix")).await?;
    let first = welcomed(&mut conn).await?;
    assert!(!first.resumed);
    assert_eq!(first.resume_window_ms, 5000);
    // Wander until it has scored, then stand still.
    let mut mind = Mind::new(Behavior::Wander, &first, 7);
    drive(
        &mut conn,
        &first,
        |c| mind.next_input(c.session()),
        |c| seen(c, first.player).is_some_and(|s| s.score > 0 && s.health > 0),
    )
    .await?;
    drive(
        &mut conn,
        &first,
        |_| InputFrame::new(0, 0),
        |c| seen(c, first.player).is_some_and(|s| s.vx == 0 && s.vy == 0),
    )
    .await?;
    let before = me(&conn, &first)?;

    // The connection drops without a close frame; the player stays, uncontrolled.
    drop(conn);
    eventually("the server has noticed the drop", || async {
        let connected = metrics(&server).await?.value("tickwire_players_connected");
        Ok((connected == 1.0).then_some(()))
    })
    .await?;
    let kept = watcher.more_snapshots(10).await?;
    assert!(
        kept.sees(first.player),
        "the dropped player stays for the window"
    );
    assert_eq!(players_in_rooms(&server).await?, 2);

    // Back with the token: the same player, a full snapshot first.
    let mut conn = connect_with(&target, resuming(first.resume_token)).await?;
    let again = welcomed(&mut conn).await?;
    assert!(again.resumed);
    assert_eq!(again.player, first.player);
    assert_eq!(again.room, first.room);
    assert_ne!(
        again.resume_token, first.resume_token,
        "a fresh token each time"
    );
    let full = tokio::time::timeout(WAIT, async {
        loop {
            if let SessionEvent::Snapshot { full, .. } = next_event(&mut conn).await? {
                return anyhow::Ok(full);
            }
        }
    })
    .await??;
    assert!(full, "the first snapshot after a resume is a full one");
    let after = me(&conn, &again)?;
    assert!(
        after.score >= before.score,
        "score kept: {before:?} then {after:?}"
    );
    let moved =
        (i64::from(after.x - before.x).pow(2) + i64::from(after.y - before.y).pow(2)).isqrt();
    assert!(
        moved <= i64::from(PLAYER_RADIUS),
        "it resumes where it stood: moved {moved} units ({before:?} then {after:?})"
    );

    // It plays on from input 1, in sync.
    let mut mind = Mind::new(Behavior::Wander, &again, 8);
    let mut snapshots = 0;
    drive(
        &mut conn,
        &again,
        |c| mind.next_input(c.session()),
        |c| {
            snapshots += 1;
            snapshots >= 30 && c.session().last_input_seq() > 0
        },
    )
    .await?;
    assert_eq!(conn.session().desyncs(), 0);

    // The first token is spent.
    assert_token_refused(&target, first.resume_token).await?;
    next_snapshot(&mut conn).await?;
    let seen_by_watcher = watcher.finish().await?;
    assert!(seen_by_watcher.sees(first.player));
    server.stop().await
}

#[tokio::test]
async fn after_the_window_the_player_is_gone_and_its_token_refused() -> anyhow::Result<()> {
    init_tracing();
    let server = TestServer::start(config(Duration::from_secs(1))).await?;
    let target = server.target();
    let mut watcher = Honest::start(&target, "watcher", Behavior::Idle).await?;
    let mut conn = connect(&target, "fleeting").await?;
    let welcome = welcomed(&mut conn).await?;
    next_snapshot(&mut conn).await?;
    watcher
        .wait_until("it sees the player", |s| s.sees(welcome.player))
        .await?;

    drop(conn);
    watcher
        .wait_until("the player is gone", |s| !s.sees(welcome.player))
        .await?;
    assert_eq!(players_in_rooms(&server).await?, 1);
    assert_token_refused(&target, welcome.resume_token).await?;
    watcher.finish().await?;
    server.stop().await
}

#[tokio::test]
async fn a_clean_close_removes_the_player_at_once() -> anyhow::Result<()> {
    init_tracing();
    // A window far longer than any wait here: the player must go at once.
    let server = TestServer::start(config(Duration::from_secs(120))).await?;
    let target = server.target();
    let mut watcher = Honest::start(&target, "watcher", Behavior::Idle).await?;
    let mut conn = connect(&target, "polite").await?;
    let welcome = welcomed(&mut conn).await?;
    next_snapshot(&mut conn).await?;
    watcher
        .wait_until("it sees the player", |s| s.sees(welcome.player))
        .await?;

    conn.close(1000, "bye").await;
    watcher
        .wait_until("the player is gone", |s| !s.sees(welcome.player))
        .await?;
    assert_eq!(players_in_rooms(&server).await?, 1);
    assert_token_refused(&target, welcome.resume_token).await?;
    watcher.finish().await?;
    server.stop().await
}

//! Snapshot phases: a client whose input batches keep waiting for their
//! acknowledgement is moved to a phase that acknowledges them sooner (with
//! `PhaseAlignment::Landing`, the default, the one they land in, and once
//! more after a slip; with `PhaseAlignment::Margin` the one a tick after
//! they land, at most once), and keeps applying every delta across the moves.

mod common;

use common::*;
use futures_util::future::join_all;
use tickwire_server::ServerConfig;
use tickwire_server::config::PhaseAlignment;
use tickwire_tests::Behavior;

/// Bots dealt round robin, whose batches land at random ticks: about a third
/// wait two ticks where they were dealt, and another third one tick (all but
/// never none of 24).
const BOTS: usize = 24;
const MOVED: &str = "tickwire_phase_moves_total{outcome=\"moved\"}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_clients_move_to_the_phase_after_their_inputs_and_stay_in_sync()
-> anyhow::Result<()> {
    // Not back and forth: a session moves once.
    moves_keep_bots_in_sync(PhaseAlignment::Margin, 1).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiming_at_the_landing_phase_moves_clients_at_most_twice_and_keeps_them_in_sync()
-> anyhow::Result<()> {
    // To where its batches land, and once more after a slip.
    moves_keep_bots_in_sync(PhaseAlignment::Landing, 2).await
}

async fn moves_keep_bots_in_sync(mode: PhaseAlignment, moves_per_bot: usize) -> anyhow::Result<()> {
    init_tracing();
    let config = ServerConfig {
        phase_alignment: mode,
        ..small_world((3000, 3000), (800, 800))
    };
    let server = TestServer::start(config).await?;
    let mut bots = Vec::new();
    for i in 0..BOTS {
        bots.push(Honest::start(&server.target(), &format!("b{i}"), Behavior::Wander).await?);
    }
    eventually("some sessions moved phase", || async {
        let moved = metrics(&server).await?.value(MOVED);
        Ok((moved >= 1.0).then_some(()))
    })
    .await?;
    // After the moves every bot goes on applying deltas and having its inputs
    // acknowledged, with none failing to apply (`finish` checks it is still
    // in sync and receiving snapshots).
    let going_on = bots.iter_mut().map(|bot| {
        let before = bot.now();
        bot.wait_until("more snapshots and acknowledged inputs", move |s| {
            s.snapshots >= before.snapshots + 10 && s.last_input_seq > before.last_input_seq + 9
        })
    });
    for seen in join_all(going_on).await {
        assert_eq!(seen?.desyncs, 0);
    }
    let moved = metrics(&server).await?.value(MOVED);
    assert!(
        moved <= (moves_per_bot * BOTS) as f64,
        "{moved} moves of {BOTS} sessions"
    );
    for seen in join_all(bots.into_iter().map(Honest::finish)).await {
        assert_eq!(seen?.desyncs, 0);
    }
    server.stop().await
}

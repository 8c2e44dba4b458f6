//! Snapshot phases: a client whose input batches keep waiting two ticks for
//! their acknowledgement is moved to the phase a tick after they land, and
//! keeps applying every delta across the move.

mod common;

use common::*;
use futures_util::future::join_all;
use tickwire_tests::Behavior;

/// Bots dealt round robin, whose batches land at random ticks: about a third
/// wait two ticks where they were dealt (all but never none of 24).
const BOTS: usize = 24;
const MOVED: &str = "tickwire_phase_moves_total{outcome=\"moved\"}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_clients_move_to_the_phase_after_their_inputs_and_stay_in_sync()
-> anyhow::Result<()> {
    init_tracing();
    let server = TestServer::start(small_world((3000, 3000), (800, 800))).await?;
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
    // Batches that land steadily move a session once, not back and forth.
    let moved = metrics(&server).await?.value(MOVED);
    assert!(moved <= BOTS as f64, "{moved} moves of {BOTS} sessions");
    for seen in join_all(bots.into_iter().map(Honest::finish)).await {
        assert_eq!(seen?.desyncs, 0);
    }
    server.stop().await
}

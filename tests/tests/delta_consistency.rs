//! Thousands of deltas from random play, each checked against the server's
//! full view: the session verifies every delta's checksum (computed by the
//! server over the complete view it meant the client to have), so a single
//! wrong entity anywhere shows up as a desync.

mod common;

use std::sync::Arc;

use common::*;
use tickwire_server::ServerConfig;
use tickwire_tests::{Behavior, BotConfig, BotEnd, SwarmStats, run_bot};
use tokio::sync::watch;
use tokio::task::JoinSet;

const BOTS: u64 = 20;
const SNAPSHOTS_PER_BOT: u64 = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_play_never_desyncs() -> anyhow::Result<()> {
    init_tracing();
    // A fast room in a small arena with views smaller than it: players, shots
    // and orbs enter, change and leave views all the time.
    let config = ServerConfig {
        tick_rate: 120,
        snapshot_rate: 60,
        input_rate: 1000,
        input_burst: 1000,
        ..small_world((1200, 1200), (500, 400))
    };
    let server = TestServer::start(ServerConfig { orbs: 60, ..config }).await?;
    let target = server.target();
    let stats = Arc::new(SwarmStats::new());
    let (_stop_tx, stop) = watch::channel(false);
    let mut bots = JoinSet::new();
    for i in 0..BOTS {
        // Half wander, half chase: chasers fight, so health, score, deaths and
        // respawns change too, not only positions.
        let behavior = if i % 2 == 0 {
            Behavior::Wander
        } else {
            Behavior::Chase
        };
        let config = BotConfig {
            seed: i,
            max_snapshots: Some(SNAPSHOTS_PER_BOT),
            ..BotConfig::new(format!("bot{i}"), behavior)
        };
        let (target, stats, stop) = (target.clone(), stats.clone(), stop.clone());
        bots.spawn(async move { run_bot(&target, config, stats, stop).await });
    }
    let outcomes = tokio::time::timeout(std::time::Duration::from_secs(120), bots.join_all())
        .await
        .map_err(|_| anyhow::anyhow!("bots did not finish: {:?}", stats.snapshot().counts))?;

    for o in &outcomes {
        assert!(o.welcomed, "{:?}", o.end);
        assert!(
            matches!(o.end, BotEnd::Done),
            "a bot ended early: {:?}",
            o.end
        );
    }
    let s = stats.snapshot();
    let c = s.counts;
    assert_eq!(c.desyncs, 0, "deltas that failed their checksum: {c:?}");
    assert_eq!(c.decode_errors, 0, "{c:?}");
    assert!(c.snapshots >= BOTS * SNAPSHOTS_PER_BOT, "{c:?}");
    assert!(
        c.full_snapshots <= BOTS,
        "one full snapshot per bot, then only deltas: {c:?}"
    );
    assert!(
        c.entity_updates > c.snapshots,
        "the deltas carried changes: {c:?}"
    );
    assert!(c.inputs > 0 && !s.ack_us.is_empty());
    server.stop().await
}

//! Entities enter and leave a client's view as players move.

mod common;

use std::time::Duration;

use common::*;
use tickwire_protocol::session::SessionEvent;
use tickwire_protocol::tuning::PLAYER_RADIUS;
use tickwire_protocol::{EntityId, InputFrame};
use tickwire_tests::Connection;
use tickwire_tests::behavior::buttons_toward;
use tokio::time::MissedTickBehavior;

/// What A is doing, as seen from B.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Going to the corner farthest from B, until B does not see A.
    Away,
    /// Coming to B, until B sees A.
    Approach,
    /// Going back to the far corner, until B no longer sees A.
    Leave,
}

#[tokio::test]
async fn a_player_enters_a_view_when_it_approaches_and_leaves_when_it_goes() -> anyhow::Result<()> {
    init_tracing();
    // A small arena and a tiny view: a player in a far corner is out of view.
    let server = TestServer::start(small_world((1000, 1000), (240, 240))).await?;
    let target = server.target();
    let mut a = connect(&target, "a").await?;
    let wa = welcomed(&mut a).await?;
    let mut b = connect(&target, "b").await?;
    let wb = welcomed(&mut b).await?;
    while seen(&b, wb.player).is_none() {
        next_snapshot(&mut b).await?;
    }
    let b_pos = seen(&b, wb.player).map(|s| (s.x, s.y)).unwrap_or_default();
    // The corner farthest from B: at least half the arena away on each axis.
    let margin = 2 * PLAYER_RADIUS;
    let far = (
        if b_pos.0 < wa.arena_width / 2 {
            wa.arena_width - margin
        } else {
            margin
        },
        if b_pos.1 < wa.arena_height / 2 {
            wa.arena_height - margin
        } else {
            margin
        },
    );

    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(wa.tick_rate)));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut phase = Phase::Away;
    let (mut entered, mut left) = (0u32, 0u32);
    let mut phases = vec![phase];
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            tokio::select! {
                _ = ticker.tick() => {
                    let goal = if phase == Phase::Approach { b_pos } else { far };
                    let buttons = match seen(&a, wa.player) {
                        Some(me) => buttons_toward(goal.0 - me.x, goal.1 - me.y, PLAYER_RADIUS / 2),
                        None => 0,
                    };
                    a.push_input(InputFrame::new(buttons, 0));
                    a.flush().await?;
                }
                r = a.recv() => { r?; while a.poll_event().is_some() {} a.flush().await?; }
                r = b.recv() => {
                    r?;
                    b.flush().await?;
                    while let Some(event) = b.poll_event() {
                        if let SessionEvent::Snapshot { stats, .. } = event {
                            entered += stats.entered;
                            left += stats.left;
                        }
                    }
                    let visible = sees(&b, wa.player);
                    phase = match (phase, visible) {
                        (Phase::Away, false) => Phase::Approach,
                        (Phase::Approach, true) => Phase::Leave,
                        (Phase::Leave, false) => return anyhow::Ok(()),
                        (p, _) => p,
                    };
                    if phases.last() != Some(&phase) {
                        phases.push(phase);
                    }
                }
            }
        }
    })
    .await
    .map_err(|_| anyhow::anyhow!("A never went through the phases; got to {phases:?}"))??;

    assert!(
        entered >= 1 && left >= 1,
        "B's deltas carried entries ({entered}) and exits ({left})"
    );
    assert!(sees(&b, wb.player), "B still sees itself");
    assert_eq!(a.session().desyncs() + b.session().desyncs(), 0);
    server.stop().await
}

fn sees(conn: &Connection, id: EntityId) -> bool {
    conn.view().get(id).is_some()
}

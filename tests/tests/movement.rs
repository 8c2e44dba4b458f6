//! Two bots in one room see each other move.

mod common;

use std::time::Duration;

use common::*;
use tickwire_protocol::InputFrame;
use tickwire_protocol::tuning::UNITS_PER_PIXEL;
use tokio::time::MissedTickBehavior;

/// How far (units) B must see A travel.
const TRAVEL: i32 = 200 * UNITS_PER_PIXEL;

#[tokio::test]
async fn a_bot_holding_right_is_seen_moving_right_by_another() -> anyhow::Result<()> {
    init_tracing();
    // A wide, low arena, all of it in view: A has room to run, B always sees it.
    let server = TestServer::start(small_world((3000, 400), (6400, 1000))).await?;
    let target = server.target();
    let mut a = connect(&target, "a").await?;
    let wa = welcomed(&mut a).await?;
    let mut b = connect(&target, "b").await?;
    welcomed(&mut b).await?;
    // Wait until A has a view of itself, to know which way it has room to go.
    while seen(&a, wa.player).is_none() {
        next_snapshot(&mut a).await?;
    }
    let start_x = seen(&a, wa.player).map(|s| s.x).unwrap_or_default();
    let (buttons, sign) = if start_x < wa.arena_width / 2 {
        (InputFrame::RIGHT, 1)
    } else {
        (InputFrame::LEFT, -1)
    };

    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(wa.tick_rate)));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut xs_seen_by_b: Vec<i32> = Vec::new();
    tokio::time::timeout(WAIT, async {
        loop {
            tokio::select! {
                _ = ticker.tick() => {
                    a.push_input(InputFrame::new(buttons, 0));
                    a.flush().await?;
                }
                r = a.recv() => { r?; while a.poll_event().is_some() {} a.flush().await?; }
                r = b.recv() => {
                    r?;
                    while b.poll_event().is_some() {}
                    b.flush().await?;
                    if let Some(s) = seen(&b, wa.player)
                        && xs_seen_by_b.last() != Some(&s.x)
                    {
                        xs_seen_by_b.push(s.x);
                        if (s.x - xs_seen_by_b[0]) * sign >= TRAVEL {
                            return anyhow::Ok(());
                        }
                    }
                }
            }
        }
    })
    .await
    .map_err(|_| anyhow::anyhow!("B never saw A travel: {xs_seen_by_b:?}"))??;

    assert!(
        xs_seen_by_b.windows(2).all(|w| (w[1] - w[0]) * sign >= 0),
        "A only ever moved one way in B's view: {xs_seen_by_b:?}"
    );
    assert_eq!(b.session().desyncs(), 0);
    server.stop().await
}

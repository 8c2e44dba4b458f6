//! The input rate limit: inputs beyond a connection's rate are dropped and
//! counted in `/metrics`; flooding past the abuse threshold closes the
//! flooder with 1008; a client at the normal rate never loses an input.

mod common;

use std::time::Duration;

use common::*;
use tickwire_protocol::InputFrame;
use tickwire_protocol::codec;
use tickwire_protocol::message::{ClientMessage, InputBatch, MAX_INPUTS_PER_BATCH, NoticeCode};
use tickwire_protocol::session::SessionEvent;
use tickwire_server::ServerConfig;
use tickwire_tests::{Behavior, BotError, Connection};
use tokio_tungstenite::tungstenite::Message;

const DROPPED: &str = "tickwire_inputs_dropped_total";

fn config(abuse_threshold: u32) -> ServerConfig {
    ServerConfig {
        input_rate: 120,
        input_burst: 120,
        abuse_threshold,
        ..small_world((800, 800), (2000, 2000))
    }
}

/// A full batch of inputs from `first_seq` on, as raw bytes.
fn batch(first_seq: u32) -> Message {
    let mut buf = Vec::new();
    codec::encode_client(
        &ClientMessage::Inputs(InputBatch {
            first_seq,
            ack_tick: 0,
            frames: vec![InputFrame::new(InputFrame::UP, 0); MAX_INPUTS_PER_BATCH],
        }),
        &mut buf,
    )
    .expect("a batch fits");
    Message::Binary(buf.into())
}

/// A welcomed connection with its first snapshot.
async fn flooder(server: &TestServer) -> anyhow::Result<Connection> {
    let mut conn = connect(&server.target(), "flooder").await?;
    welcomed(&mut conn).await?;
    next_snapshot(&mut conn).await?;
    Ok(conn)
}

#[tokio::test]
async fn inputs_beyond_the_rate_are_dropped_and_counted_but_never_a_normal_clients()
-> anyhow::Result<()> {
    init_tracing();
    // No abuse threshold to speak of: this test is about dropping, not closing.
    let server = TestServer::start(config(u32::MAX)).await?;
    let mut honest = Honest::start(&server.target(), "honest", Behavior::Wander).await?;
    honest.more_snapshots(20).await?;
    assert_eq!(
        metrics(&server).await?.value(DROPPED),
        0.0,
        "a normal client is never dropped"
    );

    // 100 full batches at once: 800 inputs against a burst of 120.
    let mut flood = flooder(&server).await?;
    for i in 0..100u32 {
        flood
            .send_raw(batch(1 + i * MAX_INPUTS_PER_BATCH as u32))
            .await?;
    }
    // A ping answered after the flood means the server has read all of it
    // (the session's pings go out once a second; one may be dropped too).
    tokio::time::timeout(WAIT, async {
        loop {
            if let SessionEvent::Rtt(_) = next_event(&mut flood).await? {
                return anyhow::Ok(());
            }
        }
    })
    .await??;
    let dropped = metrics(&server).await?.value(DROPPED);
    assert!(dropped >= 500.0, "most of the flood was dropped: {dropped}");
    let before = honest.now();
    flood.close(1000, "done").await;

    // The honest client plays on, its inputs applied, none dropped.
    let seen = honest
        .wait_until("its later inputs are applied", |s| {
            s.last_input_seq > before.last_input_seq + 60 && s.snapshots > before.snapshots + 30
        })
        .await?;
    assert_eq!(seen.desyncs, 0);
    assert_eq!(
        metrics(&server).await?.value(DROPPED),
        dropped,
        "only the flooder lost inputs"
    );
    honest.finish().await?;
    server.stop().await
}

#[tokio::test]
async fn sustained_flooding_closes_the_flooder_with_1008() -> anyhow::Result<()> {
    init_tracing();
    let server = TestServer::start(config(300)).await?;
    let honest = Honest::start(&server.target(), "honest", Behavior::Wander).await?;
    let mut flood = flooder(&server).await?;

    let mut seq = 1u32;
    let end: BotError = tokio::time::timeout(WAIT, async {
        loop {
            if flood.send_raw(batch(seq)).await.is_err() {
                // The server has gone; its close frame may be waiting to be read.
                return match closed_silently(&mut flood).await {
                    Ok(err) => err,
                    Err(e) => BotError::Local(e.to_string()),
                };
            }
            seq += MAX_INPUTS_PER_BATCH as u32;
            // Read whatever has arrived, without waiting.
            if let Ok(Err(err)) = tokio::time::timeout(Duration::ZERO, flood.recv()).await {
                return err;
            }
        }
    })
    .await?;
    assert_eq!(end.close_code(), Some(1008), "{end}");
    assert!(reason_of(&end).contains("rate"), "{end}");
    let notices = notices(&mut flood);
    assert!(
        notices
            .iter()
            .any(|n| n.code == NoticeCode::PolicyViolation),
        "{notices:?}"
    );
    let m = metrics(&server).await?;
    assert!(
        m.value(DROPPED) > 0.0,
        "the flood was dropped before the close"
    );
    assert_eq!(
        m.value("tickwire_disconnects_total{reason=\"policy\"}"),
        1.0
    );

    let seen = honest.finish().await?;
    assert_eq!(seen.desyncs, 0);
    server.stop().await
}

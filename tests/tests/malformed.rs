//! A malformed frame closes only its sender, with a close code and a reason;
//! everyone else plays on.

mod common;

use common::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tickwire_server::ServerConfig;
use tickwire_tests::{BotError, Connection};
use tokio_tungstenite::tungstenite::Message;

/// Sends `frame` from a fresh, welcomed connection; the close it gets and the
/// newest tick it had seen.
async fn send_bad_frame(server: &TestServer, frame: Message) -> anyhow::Result<(BotError, u32)> {
    let mut conn = connect(&server.target(), "rogue").await?;
    welcomed(&mut conn).await?;
    next_snapshot(&mut conn).await?;
    conn.send_raw(frame).await?;
    let err = closed(&mut conn).await?;
    Ok((err, conn.view().tick))
}

fn reason_of(err: &BotError) -> &str {
    match err {
        BotError::Closed { reason, .. } => reason,
        _ => "",
    }
}

#[tokio::test]
async fn random_bytes_and_text_close_only_their_sender() -> anyhow::Result<()> {
    init_tracing();
    let server = TestServer::start(ServerConfig::default()).await?;
    let mut bystander = connect(&server.target(), "bystander").await?;
    welcomed(&mut bystander).await?;
    next_snapshot(&mut bystander).await?;

    // Random bytes that cannot be a message (the first byte names no message type).
    let mut rng = SmallRng::seed_from_u64(42);
    let mut junk: Vec<u8> = (0..32).map(|_| rng.random()).collect();
    junk[0] = 0xf0;
    let (err, tick_a) = send_bad_frame(&server, Message::Binary(junk.into())).await?;
    assert_eq!(err.close_code(), Some(1007), "{err}");
    assert!(!reason_of(&err).is_empty(), "1007 comes with a reason");

    let (err, tick_b) = send_bad_frame(&server, Message::text("{\"hello\": 1}")).await?;
    assert_eq!(err.close_code(), Some(1003), "{err}");
    assert!(!reason_of(&err).is_empty(), "1003 comes with a reason");

    // The bystander keeps getting snapshots from after both closes.
    let after = tick_a.max(tick_b) + 30;
    let mut fresh = 0;
    while fresh < 5 {
        let tick = next_snapshot(&mut bystander).await?;
        if tick > after {
            fresh += 1;
        }
    }
    assert_eq!(bystander.session().desyncs(), 0);
    still_open(&mut bystander).await?;
    server.stop().await
}

/// A ping round trip proves the connection is still served.
async fn still_open(conn: &mut Connection) -> anyhow::Result<()> {
    use tickwire_protocol::session::SessionEvent;
    tokio::time::timeout(WAIT, async {
        loop {
            if let SessionEvent::Rtt(_) = next_event(conn).await? {
                return anyhow::Ok(());
            }
        }
    })
    .await?
}

//! Frames that break the rules close only their sender, each with its own
//! code: too big (1009), text (1003), undecodable (1007), out of order or
//! out of bounds (1008); before the `Hello` and after the `Welcome` alike.
//! (`malformed.rs` covers random bytes and text after the `Welcome`.)

mod common;

use common::*;
use tickwire_protocol::codec::{self, MAX_CLIENT_MESSAGE_BYTES};
use tickwire_protocol::message::{ClientMessage, Hello, InputBatch, Ping, RoomRequest};
use tickwire_protocol::session::SessionConfig;
use tickwire_protocol::{InputFrame, PROTOCOL_VERSION};
use tickwire_tests::{Behavior, BotError, Connection};
use tokio_tungstenite::tungstenite::Message;

fn encode(msg: &ClientMessage) -> Vec<u8> {
    let mut buf = Vec::new();
    codec::encode_client(msg, &mut buf).expect("fits the client limit");
    buf
}

fn inputs(frames: usize) -> Message {
    // Encoded by hand: the codec itself would not check the batch size.
    Message::Binary(
        encode(&ClientMessage::Inputs(InputBatch {
            first_seq: 1,
            ack_tick: 0,
            frames: vec![InputFrame::new(InputFrame::RIGHT, 0); frames],
        }))
        .into(),
    )
}

/// Sends `frame` as the very first message, before any `Hello`; the close.
async fn first_frame(server: &TestServer, frame: Message) -> anyhow::Result<BotError> {
    let mut conn = tokio::time::timeout(
        WAIT,
        Connection::connect(&server.target(), SessionConfig::new("early")),
    )
    .await??;
    conn.send_raw(frame).await?;
    closed_silently(&mut conn).await
}

/// Sends `frame` from a welcomed connection that has its first snapshot; the close.
async fn later_frame(server: &TestServer, frame: Message) -> anyhow::Result<BotError> {
    let mut conn = connect(&server.target(), "late").await?;
    welcomed(&mut conn).await?;
    next_snapshot(&mut conn).await?;
    conn.send_raw(frame).await?;
    closed(&mut conn).await
}

#[tokio::test]
async fn oversized_messages_get_1009_before_and_after_the_welcome() -> anyhow::Result<()> {
    init_tracing();
    let server = TestServer::start(small_world((800, 800), (2000, 2000))).await?;
    let honest = Honest::start(&server.target(), "honest", Behavior::Wander).await?;
    let too_big = vec![1u8; MAX_CLIENT_MESSAGE_BYTES + 44];

    let err = later_frame(&server, Message::Binary(too_big.clone().into())).await?;
    assert_eq!(err.close_code(), Some(1009), "{err}");
    assert!(
        reason_of(&err).contains(&MAX_CLIENT_MESSAGE_BYTES.to_string()),
        "the reason names the limit: {err}"
    );
    let err = first_frame(&server, Message::Binary(too_big.into())).await?;
    assert_eq!(err.close_code(), Some(1009), "{err}");

    let m = metrics(&server).await?;
    assert_eq!(
        m.value("tickwire_disconnects_total{reason=\"too_big\"}"),
        2.0
    );
    let seen = honest.finish().await?;
    assert_eq!(seen.desyncs, 0);
    server.stop().await
}

#[tokio::test]
async fn a_message_over_the_websocket_limit_gets_1009_too() -> anyhow::Result<()> {
    init_tracing();
    let config = small_world((800, 800), (2000, 2000));
    let huge = vec![1u8; config.ws_max_message + 1024];
    let server = TestServer::start(config).await?;
    let honest = Honest::start(&server.target(), "honest", Behavior::Wander).await?;

    let err = later_frame(&server, Message::Binary(huge.clone().into())).await?;
    assert_eq!(err.close_code(), Some(1009), "after the Welcome: {err}");
    let err = first_frame(&server, Message::Binary(huge.into())).await?;
    assert_eq!(err.close_code(), Some(1009), "before the Hello: {err}");

    let seen = honest.finish().await?;
    assert_eq!(seen.desyncs, 0);
    server.stop().await
}

#[tokio::test]
async fn a_bad_first_message_is_refused_by_kind() -> anyhow::Result<()> {
    init_tracing();
    let server = TestServer::start(small_world((800, 800), (2000, 2000))).await?;
    let honest = Honest::start(&server.target(), "honest", Behavior::Wander).await?;

    let err = first_frame(&server, Message::text("hello?")).await?;
    assert_eq!(err.close_code(), Some(1003), "text: {err}");

    // A Hello's version, then garbage where the rest of the Hello should be.
    let mut garbage = encode(&ClientMessage::Hello(Hello {
        protocol_version: PROTOCOL_VERSION,
        name: "x".into(),
        room: RoomRequest::JoinOrCreate,
        auth_token: None,
        resume: None,
    }));
    garbage.truncate(3);
    garbage.extend_from_slice(&[0xff; 12]);
    let err = first_frame(&server, Message::Binary(garbage.into())).await?;
    assert_eq!(err.close_code(), Some(1007), "garbage: {err}");
    assert!(
        !reason_of(&err).is_empty(),
        "1007 gives the decoder's reason"
    );

    let ping = encode(&ClientMessage::Ping(Ping { nonce: 7 }));
    let err = first_frame(&server, Message::Binary(ping.into())).await?;
    assert_eq!(err.close_code(), Some(1008), "a Ping before Hello: {err}");

    let seen = honest.finish().await?;
    assert_eq!(seen.desyncs, 0);
    server.stop().await
}

#[tokio::test]
async fn a_second_hello_or_a_bad_batch_size_gets_1008() -> anyhow::Result<()> {
    init_tracing();
    let server = TestServer::start(small_world((800, 800), (2000, 2000))).await?;
    let honest = Honest::start(&server.target(), "honest", Behavior::Wander).await?;

    let hello = encode(&ClientMessage::Hello(Hello {
        protocol_version: PROTOCOL_VERSION,
        name: "again".into(),
        room: RoomRequest::JoinOrCreate,
        auth_token: None,
        resume: None,
    }));
    let err = later_frame(&server, Message::Binary(hello.into())).await?;
    assert_eq!(err.close_code(), Some(1008), "second Hello: {err}");

    let max = tickwire_protocol::message::MAX_INPUTS_PER_BATCH;
    for frames in [0, max + 1] {
        let err = later_frame(&server, inputs(frames)).await?;
        assert_eq!(err.close_code(), Some(1008), "{frames} frames: {err}");
        assert!(reason_of(&err).contains("batch"), "{err}");
    }
    // The largest batch allowed is fine.
    let mut ok = connect(&server.target(), "ok").await?;
    welcomed(&mut ok).await?;
    next_snapshot(&mut ok).await?;
    ok.send_raw(inputs(max)).await?;
    for _ in 0..5 {
        next_snapshot(&mut ok).await?;
    }

    let seen = honest.finish().await?;
    assert_eq!(seen.desyncs, 0);
    server.stop().await
}

#[tokio::test]
async fn a_websocket_ping_before_the_hello_is_no_violation() -> anyhow::Result<()> {
    init_tracing();
    let server = TestServer::start(small_world((800, 800), (2000, 2000))).await?;
    let mut conn = tokio::time::timeout(
        WAIT,
        Connection::connect(&server.target(), SessionConfig::new("keepalive")),
    )
    .await??;
    // Control frames may come at any time (RFC 6455 5.5.2); the Hello follows.
    conn.send_raw(Message::Ping(b"are you there".to_vec().into()))
        .await?;
    conn.flush().await?;
    welcomed(&mut conn).await?;
    next_snapshot(&mut conn).await?;
    server.stop().await
}

#[tokio::test]
async fn a_clean_close_before_the_hello_is_no_violation() -> anyhow::Result<()> {
    init_tracing();
    let server = TestServer::start(small_world((800, 800), (2000, 2000))).await?;
    let mut conn = tokio::time::timeout(
        WAIT,
        Connection::connect(&server.target(), SessionConfig::new("shy")),
    )
    .await??;
    conn.close(1000, "changed my mind").await;
    let counted = eventually("the server counts the disconnect", || async {
        let d = metrics(&server).await?.disconnects();
        Ok((!d.is_empty()).then_some(d))
    })
    .await?;
    assert_eq!(
        counted.keys().map(String::as_str).collect::<Vec<_>>(),
        ["client_closed"],
        "{counted:?}"
    );
    server.stop().await
}

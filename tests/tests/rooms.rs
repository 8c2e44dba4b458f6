//! Rooms: join-or-create fills the fullest room with space and then opens
//! another; a join by id lands in that room, or is refused when it is full
//! (`RoomFull`, 1013) or unknown (`RoomNotFound`, 1013); a create always
//! opens a new room; an emptied room closes after its grace period.

mod common;

use std::time::Duration;

use common::*;
use tickwire_protocol::message::{NoticeCode, Welcome};
use tickwire_protocol::session::SessionConfig;
use tickwire_protocol::{RoomId, RoomRequest};
use tickwire_server::ServerConfig;
use tickwire_tests::{BotError, Connection, Target};

async fn join(
    target: &Target,
    name: &str,
    room: RoomRequest,
) -> anyhow::Result<(Connection, Welcome)> {
    let config = SessionConfig {
        room,
        ..SessionConfig::new(name)
    };
    let mut conn = connect_with(target, config).await?;
    let welcome = welcomed(&mut conn).await?;
    next_snapshot(&mut conn).await?;
    Ok((conn, welcome))
}

/// Asks for `room`; the close and the notices it was refused with.
async fn refused(
    target: &Target,
    room: RoomRequest,
) -> anyhow::Result<(BotError, Vec<NoticeCode>)> {
    let config = SessionConfig {
        room,
        ..SessionConfig::new("hopeful")
    };
    let mut conn = connect_with(target, config).await?;
    let err = closed(&mut conn).await?;
    Ok((
        err,
        notices(&mut conn).into_iter().map(|n| n.code).collect(),
    ))
}

/// `(id, players, capacity)` of each room in `/rooms`.
async fn room_list(server: &TestServer) -> anyhow::Result<Vec<(u32, usize, usize)>> {
    Ok(rooms(server)
        .await?
        .into_iter()
        .map(|r| (r.id, r.players, r.capacity))
        .collect())
}

#[tokio::test]
async fn matchmaking_joins_and_creates_rooms_and_refuses_full_or_unknown_ones() -> anyhow::Result<()>
{
    init_tracing();
    let server = TestServer::start(ServerConfig {
        max_players: 2,
        empty_room_grace: Duration::from_millis(500),
        ..small_world((800, 800), (2000, 2000))
    })
    .await?;
    let target = server.target();

    // Join-or-create: a and b share the first room, c opens a second.
    let (_a, wa) = join(&target, "a", RoomRequest::JoinOrCreate).await?;
    let (_b, wb) = join(&target, "b", RoomRequest::JoinOrCreate).await?;
    assert_eq!(wa.room, wb.room);
    let (_c, wc) = join(&target, "c", RoomRequest::JoinOrCreate).await?;
    assert_ne!(wc.room, wa.room);
    let (r1, r2) = (wa.room.0, wc.room.0);
    eventually("/rooms shows both rooms with their players", || async {
        let list = room_list(&server).await?;
        Ok((list == [(r1, 2, 2), (r2, 1, 2)]).then_some(()))
    })
    .await?;

    // Create opens a room of its own although the second room has space.
    let (mut e, we) = join(&target, "e", RoomRequest::Create).await?;
    assert!(![r1, r2].contains(&we.room.0), "{:?}", we.room);
    let r3 = we.room.0;

    // Join by id lands in that room.
    let (_d, wd) = join(&target, "d", RoomRequest::Join(RoomId(r2))).await?;
    assert_eq!(wd.room.0, r2);

    // A full room refuses a join by id; an unknown room is not found.
    let (err, codes) = refused(&target, RoomRequest::Join(RoomId(r1))).await?;
    assert_eq!(err.close_code(), Some(1013), "{err}");
    assert_eq!(codes, [NoticeCode::RoomFull]);
    let (err, codes) = refused(&target, RoomRequest::Join(RoomId(9999))).await?;
    assert_eq!(err.close_code(), Some(1013), "{err}");
    assert_eq!(codes, [NoticeCode::RoomNotFound]);

    eventually("/rooms shows three rooms", || async {
        let list = room_list(&server).await?;
        Ok((list == [(r1, 2, 2), (r2, 2, 2), (r3, 1, 2)]).then_some(()))
    })
    .await?;

    // The third room's only player leaves: the room closes after its grace.
    e.close(1000, "bye").await;
    eventually("the emptied room is gone from /rooms", || async {
        let list = room_list(&server).await?;
        Ok((list == [(r1, 2, 2), (r2, 2, 2)]).then_some(()))
    })
    .await?;
    let m = metrics(&server).await?;
    assert_eq!(m.value("tickwire_rooms"), 2.0);
    // A closed room cannot be joined by id.
    let (err, codes) = refused(&target, RoomRequest::Join(RoomId(r3))).await?;
    assert_eq!(err.close_code(), Some(1013), "{err}");
    assert_eq!(codes, [NoticeCode::RoomNotFound]);
    server.stop().await
}

#[tokio::test]
async fn past_the_room_limit_a_new_room_is_refused_as_server_full() -> anyhow::Result<()> {
    init_tracing();
    let server = TestServer::start(ServerConfig {
        max_players: 1,
        max_rooms: 1,
        ..small_world((800, 800), (2000, 2000))
    })
    .await?;
    let target = server.target();
    let (mut first, _) = join(&target, "first", RoomRequest::JoinOrCreate).await?;
    for request in [RoomRequest::JoinOrCreate, RoomRequest::Create] {
        let (err, codes) = refused(&target, request).await?;
        assert_eq!(err.close_code(), Some(1013), "{request:?}: {err}");
        assert_eq!(codes, [NoticeCode::ServerFull], "{request:?}");
    }
    next_snapshot(&mut first).await?;
    server.stop().await
}

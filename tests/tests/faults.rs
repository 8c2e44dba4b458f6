//! Connections that die abruptly leave nothing behind: with no resume
//! window, players whose TCP connections end mid-game (a FIN or a reset,
//! with inputs in flight, or right after their `Hello`) leave the room, the
//! room keeps ticking, and an honest player's view holds no stale players.

mod common;

use std::time::Duration;

use common::*;
use tickwire_protocol::InputFrame;
use tickwire_protocol::session::SessionConfig;
use tickwire_server::ServerConfig;
use tickwire_tests::Behavior;
use tokio::net::TcpStream;

/// How each doomed connection ends.
#[derive(Debug, Clone, Copy)]
enum Death {
    /// Dropped (FIN) while its inputs are in flight.
    Fin,
    /// Reset (RST, `SO_LINGER` 0) while its inputs are in flight.
    Reset,
    /// Dropped right after sending its `Hello`, before reading the `Welcome`.
    AfterHello,
}

#[tokio::test]
async fn abruptly_dropped_players_leave_no_orphans_and_the_room_ticks_on() -> anyhow::Result<()> {
    init_tracing();
    let server = TestServer::start(ServerConfig {
        resume_window: Duration::ZERO,
        ..small_world((800, 800), (2000, 2000))
    })
    .await?;
    let mut honest = Honest::start(&server.target(), "honest", Behavior::Wander).await?;
    let me = honest.welcome.player;

    let deaths = [Death::Fin, Death::Reset, Death::AfterHello];
    let mut doomed = Vec::new();
    let mut ids = Vec::new();
    for (i, death) in deaths.iter().cycle().take(9).enumerate() {
        let tcp = TcpStream::connect(server.addr).await?;
        if matches!(death, Death::Reset) {
            tcp.set_zero_linger()?;
        }
        let (ws, _) = tokio_tungstenite::client_async(server.target().url(), tcp).await?;
        let mut client = RawClient::hello(ws, SessionConfig::new(format!("doomed{i}"))).await?;
        if !matches!(death, Death::AfterHello) {
            ids.push(client.welcomed().await?.player);
            client.snapshots(1).await?;
        }
        doomed.push((*death, client));
    }
    honest
        .wait_until("it sees every doomed player that was welcomed", |s| {
            ids.iter().all(|id| s.sees(*id))
        })
        .await?;

    for (death, mut client) in doomed {
        if !matches!(death, Death::AfterHello) {
            // Inputs in flight as the connection dies.
            for _ in 0..4 {
                client
                    .session
                    .push_input(InputFrame::new(InputFrame::LEFT, 0));
            }
            client.session.flush_inputs();
            client.flush().await?;
        }
        drop(client);
    }

    let seen = honest
        .wait_until("only itself is left in its view", |s| s.players == [me])
        .await?;
    assert_eq!(seen.desyncs, 0);
    eventually(
        "/rooms and /metrics count only the honest player",
        || async {
            let connected = metrics(&server).await?.value("tickwire_players_connected");
            Ok((players_in_rooms(&server).await? == 1 && connected == 1.0).then_some(()))
        },
    )
    .await?;

    // The room ticks on (its figures in /rooms refresh about once a second).
    let tick = rooms(&server).await?[0].tick;
    eventually("the room's tick advances", || async {
        Ok((rooms(&server).await?[0].tick > tick).then_some(()))
    })
    .await?;
    let seen = honest.finish().await?;
    assert_eq!(seen.players, [me], "no stale player came back");
    server.stop().await
}

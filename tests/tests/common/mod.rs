//! Shared by the integration tests: a real server on `127.0.0.1:0`, and
//! helpers that await session events with bounded waits (never sleeps).
#![allow(dead_code, unused_imports)] // each test file uses a different part of this

mod honest;
mod raw;

pub use honest::{Honest, Seen};
pub use raw::{RawClient, refused_status, request_with, upgrade};

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use tickwire_protocol::message::Welcome;
use tickwire_protocol::session::{SessionConfig, SessionEvent};
use tickwire_protocol::{EntityId, EntityState};
use tickwire_server::ServerConfig;
use tickwire_tests::{Behavior, BotConfig, BotError, Connection, Target};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The longest any single wait in a test may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// A server running inside the test.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl TestServer {
    /// Starts `tickwire_server::run` on a fresh port.
    pub async fn start(config: ServerConfig) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(tickwire_server::run(listener, config, async move {
            let _ = rx.await;
        }));
        Ok(Self {
            addr,
            shutdown: Some(tx),
            task,
        })
    }

    /// The WebSocket endpoint.
    pub fn target(&self) -> Target {
        Target::local(self.addr)
    }

    /// Completes the shutdown future.
    pub fn trigger_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Shuts down and waits for `run` to return; its result.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.trigger_shutdown();
        tokio::time::timeout(WAIT, &mut self.task)
            .await
            .context("server did not stop in time")?
            .context("server task panicked")?
    }
}

/// A server config for tests: a small arena, few orbs.
pub fn small_world(arena_px: (i32, i32), view_px: (i32, i32)) -> ServerConfig {
    ServerConfig {
        arena_width_px: arena_px.0,
        arena_height_px: arena_px.1,
        view_width_px: view_px.0,
        view_height_px: view_px.1,
        orbs: 10,
        ..ServerConfig::default()
    }
}

/// A connection whose `Hello` has been sent.
pub async fn connect(target: &Target, name: &str) -> anyhow::Result<Connection> {
    connect_with(
        target,
        BotConfig::new(name, Behavior::Idle).session_config(),
    )
    .await
}

/// A connection with a session config of one's own, `Hello` sent.
pub async fn connect_with(target: &Target, config: SessionConfig) -> anyhow::Result<Connection> {
    let mut conn = tokio::time::timeout(WAIT, Connection::connect(target, config))
        .await
        .context("connect timed out")??;
    conn.flush().await?;
    Ok(conn)
}

/// Receives until the session has an event, answering as the session asks.
/// Errors (including a close) end the wait.
pub async fn next_event(conn: &mut Connection) -> Result<SessionEvent, BotError> {
    loop {
        if let Some(event) = conn.poll_event() {
            return Ok(event);
        }
        conn.recv().await?;
        conn.flush().await?;
    }
}

/// Awaits the `Welcome`.
pub async fn welcomed(conn: &mut Connection) -> anyhow::Result<Welcome> {
    tokio::time::timeout(WAIT, async {
        loop {
            match next_event(conn).await? {
                SessionEvent::Welcomed(w) => return Ok(w),
                SessionEvent::Notice(n) => bail!("notice before welcome: {n:?}"),
                _ => {}
            }
        }
    })
    .await
    .context("no Welcome in time")?
}

/// Awaits the next applied snapshot, failing on a desync; returns its tick.
pub async fn next_snapshot(conn: &mut Connection) -> anyhow::Result<u32> {
    tokio::time::timeout(WAIT, async {
        loop {
            match next_event(conn).await? {
                SessionEvent::Snapshot { tick, .. } => return Ok(tick),
                SessionEvent::Desync(err) => bail!("desync: {err}"),
                _ => {}
            }
        }
    })
    .await
    .context("no snapshot in time")?
}

/// Reads until the server closes the connection; the close error.
pub async fn closed(conn: &mut Connection) -> anyhow::Result<BotError> {
    tokio::time::timeout(WAIT, async {
        loop {
            if let Err(err) = conn.recv().await {
                return err;
            }
            // Keep answering (acks, pongs) while waiting.
            if let Err(err) = conn.flush().await {
                return err;
            }
        }
    })
    .await
    .context("the server did not close the connection in time")
}

/// `id`'s state in the connection's view, if it is there.
pub fn seen(conn: &Connection, id: EntityId) -> Option<EntityState> {
    conn.view().get(id).copied()
}

/// Installs a test log subscriber once (RUST_LOG to see the server's logs).
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}

/// Reads until the server closes the connection, writing nothing (no acks,
/// no pongs): the close error.
pub async fn closed_silently(conn: &mut Connection) -> anyhow::Result<BotError> {
    tokio::time::timeout(WAIT, async {
        loop {
            if let Err(err) = conn.recv().await {
                return err;
            }
            while conn.poll_event().is_some() {}
        }
    })
    .await
    .context("the server did not close the connection in time")
}

/// `/metrics` of a test server.
pub async fn metrics(server: &TestServer) -> anyhow::Result<tickwire_tests::scrape::Metrics> {
    Ok(tickwire_tests::scrape::metrics(server.addr).await?)
}

/// `/rooms` of a test server.
pub async fn rooms(server: &TestServer) -> anyhow::Result<Vec<tickwire_tests::scrape::RoomInfo>> {
    Ok(tickwire_tests::scrape::rooms(server.addr).await?)
}

/// Players in all rooms of a test server, by `/rooms`.
pub async fn players_in_rooms(server: &TestServer) -> anyhow::Result<usize> {
    Ok(rooms(server).await?.iter().map(|r| r.players).sum())
}

/// Asks `check` every 50 ms until it returns `Some`, for conditions that no
/// event announces (an HTTP page changing); fails after [`WAIT`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
{
    let mut poll = tokio::time::interval(Duration::from_millis(50));
    tokio::time::timeout(WAIT, async {
        loop {
            poll.tick().await;
            if let Some(found) = check().await? {
                return anyhow::Ok(found);
            }
        }
    })
    .await
    .with_context(|| format!("timed out waiting until {what}"))?
}

/// The reason of a close, or "" for any other error.
pub fn reason_of(err: &BotError) -> &str {
    match err {
        BotError::Closed { reason, .. } => reason,
        _ => "",
    }
}

/// The notices a connection's session has queued (draining its events).
pub fn notices(conn: &mut Connection) -> Vec<tickwire_protocol::message::Notice> {
    std::iter::from_fn(|| conn.poll_event())
        .filter_map(|e| match e {
            SessionEvent::Notice(n) => Some(n),
            _ => None,
        })
        .collect()
}

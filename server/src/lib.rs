//! The tickwire server: an authoritative fixed-rate game server that keeps
//! every player's view of a room in sync with per-client delta snapshots.
//!
//! - [`config`]: every setting and bound.
//! - [`http`]: the single port: demo files, `/healthz`, and the `/ws` upgrade.
//! - [`session`]: one WebSocket connection (handshake, inputs up, deltas down).
//! - [`lobby`]: every room, matchmaking and room lifecycles.
//! - [`room`]: the tick loop that owns a world, and its snapshots.
//! - [`auth`]: signed join tokens.
//! - [`link`]: an optional link conditioner (latency, jitter) for testing.
//! - [`metrics`]: Prometheus metrics at `/metrics`.

//!
//! Embed it with [`run`]:
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! tickwire_server::run(listener, Default::default(), std::future::pending()).await
//! # }
//! ```

pub mod auth;
pub mod config;

pub mod http;
pub mod link;
pub mod listener;

pub mod lobby;

pub mod metrics;
pub mod priority;

pub mod room;
pub mod session;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

pub use config::ServerConfig;

/// How long shutdown waits for sessions to send their close frames.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Serves `listener` until `shutdown` completes, then closes every session
/// with code 1001 ("going away"), stops the room and returns.
pub async fn run(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let config = Arc::new(config);
    let (stop_tx, stop_rx) = watch::channel(false);
    let metrics = Arc::new(metrics::Metrics::new());
    // Rooms tick on a thread of their own (see `Lobby`).
    let rooms_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("tickwire-rooms")
        .on_thread_start({
            let nice = config.tick_thread_nice;
            move || {
                priority::set_current_thread_nice(nice);
            }
        })
        .enable_all()
        .build()?;
    let lobby = Arc::new(lobby::Lobby::new(
        rooms_runtime.handle().clone(),
        tokio::runtime::Handle::current(),
        config.clone(),
        metrics.clone(),
        stop_rx.clone(),
    ));
    let sessions = TaskTracker::new();
    let ctx = session::SessionContext {
        config: config.clone(),
        lobby: lobby.clone(),
        metrics,
        shutdown: stop_rx,
    };
    let state = http::AppState {
        ctx,
        sessions: sessions.clone(),
        connections: Default::default(),
    };
    let tls = match &config.tls {
        Some((cert, key)) => Some(listener::tls_acceptor(cert, key)?),
        None => None,
    };
    info!(
        addr = %listener.local_addr()?,
        tls = tls.is_some(),
        tick_rate = config.tick_rate,
        snapshot_rate = config.snapshot_rate,
        "listening"
    );
    let stop = stop_tx.clone();
    tokio::spawn(async move {
        shutdown.await;
        info!("shutting down");
        let _ = stop.send(true);
    });
    listener::serve(
        listener,
        http::router(state),
        tls,
        config.http_timeout,
        stop_tx.subscribe(),
    )
    .await;
    let _ = stop_tx.send(true);
    sessions.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, sessions.wait())
        .await
        .is_err()
    {
        warn!(
            left = sessions.len(),
            "sessions still closing after the grace period"
        );
    }
    for room in lobby.take_tasks() {
        room.await?;
    }
    // Dropping a runtime inside async code would block; this does not.
    rooms_runtime.shutdown_background();
    info!("stopped");
    Ok(())
}

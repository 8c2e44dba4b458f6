//! The tickwire server: an authoritative fixed-rate game server that keeps
//! every player's view of a room in sync with per-client delta snapshots.
//!
//! - [`config`]: every setting and bound.
//! - [`http`]: the single port: demo files, `/healthz`, and the `/ws` upgrade.
//! - [`session`]: one WebSocket connection (handshake, inputs up, deltas down).
//! - [`room`]: the tick loop that owns a world, and its snapshots.
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

pub mod config;
pub mod http;
pub mod link;
pub mod metrics;

pub mod room;
pub mod session;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
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
    let (room, room_task) = room::spawn_room(config.clone(), metrics.clone(), stop_rx.clone());
    let sessions = TaskTracker::new();
    let state = http::AppState {
        config: config.clone(),
        room,
        metrics,
        shutdown: stop_rx,
        sessions: sessions.clone(),
    };
    info!(addr = %listener.local_addr()?, tick_rate = config.tick_rate, snapshot_rate = config.snapshot_rate, "listening");
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            warn!(cause = %err, "could not set TCP_NODELAY");
        }
    });
    let stop = stop_tx.clone();
    let signal = async move {
        shutdown.await;
        info!("shutting down");
        let _ = stop.send(true);
    };
    axum::serve(
        listener,
        http::router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal)
    .await?;
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
    room_task.await?;
    info!("stopped");
    Ok(())
}

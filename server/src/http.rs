//! The HTTP side of the single port: the demo's files, health, and the WebSocket upgrade.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use futures_util::FutureExt;
use tokio::sync::watch;
use tokio_util::task::TaskTracker;
use tower_http::services::ServeDir;
use tracing::error;

use crate::config::ServerConfig;
use crate::metrics::Metrics;

use crate::room::RoomHandle;
use crate::session;

/// What every request handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Server settings.
    pub config: Arc<ServerConfig>,
    /// The room new players join.
    pub room: RoomHandle,
    /// The server's metrics.
    pub metrics: Arc<Metrics>,
    /// Turns true when the server shuts down.
    pub shutdown: watch::Receiver<bool>,
    /// Tracks session tasks so shutdown can wait for their close frames.
    pub sessions: TaskTracker,
}

/// The router: `/ws`, `/healthz`, and the demo's files at `/`.
pub fn router(state: AppState) -> Router {
    let demo = ServeDir::new(&state.config.web_root)
        .append_index_html_on_directories(true)
        .not_found_service(get(demo_missing).with_state(state.clone()));
    Router::new()
        .route("/ws", get(upgrade))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .fallback_service(demo)
        .with_state(state)
}

async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ws: WebSocketUpgrade,
) -> Response {
    if *state.shutdown.borrow() {
        return (StatusCode::SERVICE_UNAVAILABLE, "server shutting down").into_response();
    }
    let c = &state.config;
    ws.read_buffer_size(c.ws_read_buffer)
        .write_buffer_size(c.ws_write_buffer)
        .max_write_buffer_size(c.ws_max_write_buffer)
        .max_message_size(c.ws_max_message)
        .max_frame_size(c.ws_max_message)
        .on_upgrade(move |socket| {
            let AppState {
                config,
                room,
                metrics,
                shutdown,
                sessions,
            } = state;
            let task = session::serve(socket, peer, room, config, metrics, shutdown);
            // A panic costs only this session: it is logged, and the player's
            // guard removes its entity from the room as the task unwinds.
            sessions.track_future(std::panic::AssertUnwindSafe(task).catch_unwind().map(
                move |result| {
                    if let Err(panic) = result {
                        let what = panic
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_default();
                        error!(%peer, panic = %what, "session task panicked");
                    }
                },
            ))
        })
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

async fn demo_missing(State(state): State<AppState>) -> impl IntoResponse {
    let root = state.config.web_root.display();
    (
        StatusCode::NOT_FOUND,
        Html(format!(
            "<!doctype html><title>tickwire</title><h1>Not found</h1>\
             <p>If you expected the browser demo here, it has not been built into <code>{root}</code>. \
             Run <code>scripts/run-demo.sh</code> (or <code>scripts/build-web.sh</code>) from the repository.</p>"
        )),
    )
}

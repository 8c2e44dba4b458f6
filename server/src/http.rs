//! The HTTP side of the single port: the demo's files, health, metrics, the
//! room list, and the WebSocket upgrade with its admission checks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::get;
use futures_util::FutureExt;
use tokio_util::task::TaskTracker;
use tower_http::services::ServeDir;
use tracing::{error, info};

use crate::config::ServerConfig;
use crate::session::{self, SessionContext};

/// What every request handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// What sessions need: config, lobby, metrics, shutdown.
    pub ctx: SessionContext,
    /// Tracks session tasks so shutdown can wait for their close frames.
    pub sessions: TaskTracker,
    /// WebSocket connections open now.
    pub connections: Arc<AtomicUsize>,
}

/// The router: `/ws`, `/healthz`, `/metrics`, `/rooms`, and the demo's files at `/`.
pub fn router(state: AppState) -> Router {
    let demo = ServeDir::new(&state.ctx.config.web_root)
        .append_index_html_on_directories(true)
        .not_found_service(get(demo_missing).with_state(state.clone()));
    Router::new()
        .route("/ws", get(upgrade))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .route("/rooms", get(rooms))
        .fallback_service(demo)
        .with_state(state)
}

/// Counts a connection for as long as it lives.
struct ConnectionSlot(Arc<AtomicUsize>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let c = state.ctx.config.clone();
    let metrics = &state.ctx.metrics;
    if *state.ctx.shutdown.borrow() {
        return (StatusCode::SERVICE_UNAVAILABLE, "server shutting down").into_response();
    }
    if let Err(origin) = check_origin(&headers, &c) {
        info!(%peer, %origin, "origin refused");
        metrics.disconnected("origin_refused");
        return (
            StatusCode::FORBIDDEN,
            format!("origin {origin} is not allowed"),
        )
            .into_response();
    }
    let open = state.connections.fetch_add(1, Ordering::Relaxed);
    let slot = ConnectionSlot(state.connections.clone());
    if open >= c.max_connections {
        info!(%peer, open, "connection limit reached");
        metrics.disconnected("connection_limit");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("server full: {} connections", c.max_connections),
        )
            .into_response();
    }
    ws.read_buffer_size(c.ws_read_buffer)
        .write_buffer_size(c.ws_write_buffer)
        .max_write_buffer_size(c.ws_max_write_buffer)
        .max_message_size(c.ws_max_message)
        .max_frame_size(c.ws_max_message)
        .on_upgrade(move |socket| {
            let task = session::serve(socket, peer, state.ctx.clone());
            // A panic costs only this session: it is logged, and the player's
            // guard hands its entity back to the room as the task unwinds.
            state
                .sessions
                .track_future(std::panic::AssertUnwindSafe(task).catch_unwind().map(
                    move |result| {
                        drop(slot);
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

/// Browsers send `Origin`; a page may open a socket only to its own origin or
/// an allowed one. Clients that send no `Origin` (bots, native clients) pass.
fn check_origin(headers: &HeaderMap, config: &ServerConfig) -> Result<(), String> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let same_origin = origin
        .split_once("://")
        .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host));
    if same_origin
        || config
            .allowed_origins
            .iter()
            .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
    {
        Ok(())
    } else {
        Err(origin.to_owned())
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.ctx.metrics.render(),
    )
}

async fn rooms(State(state): State<AppState>) -> impl IntoResponse {
    Json(state.ctx.lobby.list())
}

async fn demo_missing(State(state): State<AppState>) -> impl IntoResponse {
    let root = state.ctx.config.web_root.display();
    (
        StatusCode::NOT_FOUND,
        Html(format!(
            "<!doctype html><title>tickwire</title><h1>Not found</h1>\
             <p>If you expected the browser demo here, it has not been built into <code>{root}</code>. \
             Run <code>scripts/run-demo.sh</code> (or <code>scripts/build-web.sh</code>) from the repository.</p>"
        )),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, host.parse().expect("valid"));
        if let Some(o) = origin {
            h.insert(header::ORIGIN, o.parse().expect("valid"));
        }
        h
    }

    #[test]
    fn same_origin_and_allowlisted_origins_pass_others_do_not() {
        let mut config = ServerConfig::default();
        assert!(check_origin(&headers(None, "a:1"), &config).is_ok());
        assert!(check_origin(&headers(Some("http://a:1"), "a:1"), &config).is_ok());
        assert!(check_origin(&headers(Some("https://evil.example"), "a:1"), &config).is_err());
        config.allowed_origins.push("https://game.example".into());
        assert!(check_origin(&headers(Some("https://game.example"), "a:1"), &config).is_ok());
        assert!(check_origin(&headers(Some("https://game.example.evil"), "a:1"), &config).is_err());
    }
}

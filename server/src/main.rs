//! `tickwire-server`: the command-line entry point.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use tickwire_server::ServerConfig;
use tracing_subscriber::EnvFilter;

/// An authoritative multiplayer game-state server: a fixed-rate tick loop, per-client
/// delta snapshots over WebSocket, and the browser demo on the same port.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on (HTTP demo at /, WebSocket at /ws, health at /healthz).
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// Simulation ticks per second.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u16).range(1..=1000))]
    tick_rate: u16,
    /// Snapshots per second sent to each client (at most the tick rate).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=1000))]
    snapshot_rate: u16,
    /// Most players in the room; later joins are refused (close code 1013).
    #[arg(long, default_value_t = 5000)]
    max_players: usize,
    /// Arena width and height in pixels.
    #[arg(long, default_value_t = 4000, value_parser = clap::value_parser!(i32).range(200..=60_000))]
    arena_size: i32,
    /// Width of each player's area of interest in pixels.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(i32).range(100..=60_000))]
    view_width: i32,
    /// Height of each player's area of interest in pixels.
    #[arg(long, default_value_t = 1300, value_parser = clap::value_parser!(i32).range(100..=60_000))]
    view_height: i32,
    /// Orbs scattered over the arena.
    #[arg(long, default_value_t = 300)]
    orbs: usize,
    /// Folder with the built browser demo, served at /.
    #[arg(long)]
    web_root: Option<PathBuf>,
    /// Link conditioner: added delay in each direction, milliseconds (testing only).
    #[arg(long, default_value_t = 0)]
    lag_ms: u64,
    /// Link conditioner: extra random delay per message up to this many milliseconds (order kept).
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
    /// Log filter, e.g. `info` or `tickwire_server=debug` (RUST_LOG is used when this is absent).
    #[arg(long)]
    log: Option<String>,
}

impl Args {
    fn config(&self) -> ServerConfig {
        let defaults = ServerConfig::default();
        ServerConfig {
            tick_rate: self.tick_rate,
            snapshot_rate: self.snapshot_rate.min(self.tick_rate),
            max_players: self.max_players,
            arena_width_px: self.arena_size,
            arena_height_px: self.arena_size,
            view_width_px: self.view_width,
            view_height_px: self.view_height,
            orbs: self.orbs,
            web_root: self.web_root.clone().unwrap_or(defaults.web_root.clone()),
            lag: Duration::from_millis(self.lag_ms),
            jitter: Duration::from_millis(self.jitter_ms),
            ..defaults
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let filter = match &args.log {
        Some(f) => EnvFilter::try_new(f).context("bad --log filter")?,
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    tickwire_server::run(listener, args.config(), shutdown_signal()).await
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

//! `tickwire-server`: the command-line entry point.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use tickwire_server::config::PhaseAlignment;
use tickwire_server::{ServerConfig, auth};
use tracing_subscriber::EnvFilter;

/// An authoritative multiplayer game-state server: fixed-rate rooms, per-client
/// delta snapshots over WebSocket, and the browser demo on the same port.
#[derive(Debug, Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Mints a signed join token (for tests and tools; production issues its own).
    Token(TokenArgs),
}

#[derive(Debug, Args)]
struct TokenArgs {
    /// The player name the token admits.
    #[arg(long)]
    name: String,
    /// Seconds until the token expires.
    #[arg(long, default_value_t = 3600)]
    ttl_secs: u64,
    /// The shared secret (same as the server's).
    #[arg(long, env = "TICKWIRE_TOKEN_SECRET", hide_env_values = true)]
    token_secret: String,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on (HTTP demo at /, WebSocket at /ws, /healthz, /metrics, /rooms).
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// Simulation ticks per second.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u16).range(1..=1000))]
    tick_rate: u16,
    /// Snapshots per second sent to each client (at most the tick rate).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=1000))]
    snapshot_rate: u16,
    /// Most players in one room; join-or-create opens a new room past this, a join by id is refused (1013).
    #[arg(long, default_value_t = 5000)]
    max_players: usize,
    /// Most concurrent WebSocket connections; more are refused with HTTP 503 before the upgrade.
    #[arg(long, default_value_t = 10_000)]
    max_connections: usize,
    /// Most rooms at once.
    #[arg(long, default_value_t = 1000)]
    max_rooms: usize,
    /// Seconds an empty room lives on before it is disposed of.
    #[arg(long, default_value_t = 30)]
    empty_room_grace_secs: u64,
    /// Seconds a dropped player stays in the world for its client to resume it (0 = leave at once).
    #[arg(long, default_value_t = 15)]
    resume_window_secs: u64,
    /// Arena width and height in pixels.
    #[arg(long, default_value_t = 4000, value_parser = clap::value_parser!(i32).range(200..=60_000))]
    arena_size: i32,
    /// Width of each player's area of interest in pixels.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(i32).range(100..=60_000))]
    view_width: i32,
    /// Height of each player's area of interest in pixels.
    #[arg(long, default_value_t = 1300, value_parser = clap::value_parser!(i32).range(100..=60_000))]
    view_height: i32,
    /// Orbs scattered over each arena.
    #[arg(long, default_value_t = 300)]
    orbs: usize,
    /// Nice value for the tick thread (-20 highest .. 19 lowest; 0 = unchanged). Raising
    /// priority needs CAP_SYS_NICE; without it the server logs that and runs on.
    #[arg(long, default_value_t = -10, allow_negative_numbers = true,
          value_parser = clap::value_parser!(i8).range(-20..=19))]
    tick_nice: i8,
    /// Which snapshot phase a client that sends inputs in batches is moved
    /// to: `landing`, the tick they land in (acknowledgements a tick sooner,
    /// falling back to margin for a client whose batches slip), or `margin`,
    /// a tick after they land from the start.
    #[arg(long, value_enum, default_value_t = PhaseAlignment::Landing)]
    phase_align: PhaseAlignment,
    /// Folder with the built browser demo, served at / (default: target/web in this repository).
    #[arg(long)]
    web_root: Option<PathBuf>,
    /// Secret for signed join tokens; when set, every player needs one (see `token --help`).
    #[arg(long, env = "TICKWIRE_TOKEN_SECRET", hide_env_values = true)]
    token_secret: Option<String>,
    /// Extra origin allowed to open WebSockets, e.g. https://game.example (repeatable; `*` allows any).
    /// The page's own origin is always allowed.
    #[arg(long = "allow-origin")]
    allow_origins: Vec<String>,
    /// Seconds of silence from a client (no message at all) after which it gets no more
    /// deltas until it speaks again; 0 never pauses. The idle timeout still applies.
    #[arg(long, default_value_t = 3)]
    pause_silent_secs: u64,
    /// Seconds a client has to send its Hello after connecting.
    #[arg(long, default_value_t = 10)]
    hello_timeout_secs: u64,
    /// Seconds a client has for the TLS handshake and then its HTTP request headers.
    #[arg(long, default_value_t = 10)]
    http_timeout_secs: u64,
    /// Seconds between WebSocket pings to each client.
    #[arg(long, default_value_t = 5)]
    ping_interval_secs: u64,
    /// Seconds of silence (not even a pong) after which a connection is closed.
    #[arg(long, default_value_t = 20)]
    idle_timeout_secs: u64,
    /// Input frames per second each connection may send, sustained.
    #[arg(long, default_value_t = 120)]
    input_rate: u32,
    /// Input frames a connection may send in a burst above the rate.
    #[arg(long, default_value_t = 120)]
    input_burst: u32,
    /// Dropped input frames within 5 seconds that close a connection (1008).
    #[arg(long, default_value_t = 600)]
    abuse_threshold: u32,
    /// PEM certificate chain: with --tls-key, serve https:// and wss:// on the same port.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
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

impl ServeArgs {
    fn config(&self) -> ServerConfig {
        let defaults = ServerConfig::default();
        let secs = Duration::from_secs;
        ServerConfig {
            tick_rate: self.tick_rate,
            snapshot_rate: self.snapshot_rate.min(self.tick_rate),
            max_players: self.max_players,
            max_connections: self.max_connections,
            max_rooms: self.max_rooms,
            empty_room_grace: secs(self.empty_room_grace_secs),
            resume_window: secs(self.resume_window_secs),
            arena_width_px: self.arena_size,
            arena_height_px: self.arena_size,
            view_width_px: self.view_width,
            view_height_px: self.view_height,
            orbs: self.orbs,
            tick_thread_nice: self.tick_nice,
            phase_alignment: self.phase_align,
            pause_silent_after: secs(self.pause_silent_secs),
            web_root: self.web_root.clone().unwrap_or(defaults.web_root.clone()),
            token_secret: self.token_secret.as_ref().map(|s| Arc::from(s.as_bytes())),
            allowed_origins: self.allow_origins.clone(),
            hello_timeout: secs(self.hello_timeout_secs),
            http_timeout: secs(self.http_timeout_secs),
            ping_interval: secs(self.ping_interval_secs.max(1)),
            idle_timeout: secs(self.idle_timeout_secs),
            input_rate: self.input_rate,
            input_burst: self.input_burst,
            abuse_threshold: self.abuse_threshold,
            tls: self.tls_cert.clone().zip(self.tls_key.clone()),
            lag: Duration::from_millis(self.lag_ms),
            jitter: Duration::from_millis(self.jitter_ms),
            ..defaults
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Token(t)) = cli.command {
        let token = auth::mint(
            t.token_secret.as_bytes(),
            &t.name,
            auth::unix_now() + t.ttl_secs,
        );
        #[allow(clippy::print_stdout)] // the token is this command's output
        {
            println!("{token}");
        }
        return Ok(());
    }
    let args = cli.serve;
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

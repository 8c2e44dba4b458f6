//! Server settings. Every bound and buffer size lives here, with the reason for its value.

use std::path::PathBuf;
use std::time::Duration;

use tickwire_protocol::tuning::{DEFAULT_SNAPSHOT_RATE, DEFAULT_TICK_RATE, UNITS_PER_PIXEL};

/// Which snapshot phase a session whose client sends its inputs in batches
/// aims for (see `session::align`). Also the server's `--phase-align`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum PhaseAlignment {
    /// A tick after the one its batches land in, from the start: a batch
    /// delayed by up to a tick is still acknowledged by the same snapshot,
    /// and acknowledgements wait about a tick longer than with `Landing`.
    Margin,
    /// The tick its batches land in, falling back to `Margin` for a session
    /// once one of its batches slips: acknowledgements a tick sooner. The
    /// default: players held near saturation are the same as with `Margin`
    /// within the machine's noise (bench/README.md).
    #[default]
    Landing,
}

/// Everything a server needs to know to run.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Which snapshot phase a batching client's session aims for (see `session::align`).
    pub phase_alignment: PhaseAlignment,
    /// Simulation ticks per second.
    pub tick_rate: u16,
    /// Snapshots per second sent to each client (rounded to a whole number of ticks).
    pub snapshot_rate: u16,
    /// Most players in one room; later joins go to another room, or are refused
    /// with close code 1013 when they asked for this room.
    pub max_players: usize,
    /// Most concurrent WebSocket connections; more are refused with HTTP 503 before the upgrade.
    pub max_connections: usize,
    /// Most rooms at once.
    pub max_rooms: usize,
    /// How long an empty room lives on before it is disposed of.
    pub empty_room_grace: Duration,
    /// How long a player whose connection dropped stays in the world, awaiting a resume.
    pub resume_window: Duration,
    /// Secret for signed join tokens; when set, every `Hello` needs a valid token.
    pub token_secret: Option<std::sync::Arc<[u8]>>,
    /// Origins allowed to open a WebSocket (exact `scheme://host:port`); the
    /// page's own origin is always allowed, and requests without `Origin` (non-browser clients) too.
    pub allowed_origins: Vec<String>,
    /// Interval between WebSocket pings to each client.
    pub ping_interval: Duration,
    /// A connection from which nothing (not even a pong) arrives for this long is closed.
    pub idle_timeout: Duration,
    /// Input frames per second a connection may send, sustained.
    pub input_rate: u32,
    /// Input frames a connection may send in a burst above the rate.
    pub input_burst: u32,
    /// Input frames dropped by the rate limit, within one 5-second window, that close the connection (1008).
    pub abuse_threshold: u32,
    /// Arena width, pixels.
    pub arena_width_px: i32,
    /// Arena height, pixels.
    pub arena_height_px: i32,
    /// Width of each player's area of interest, pixels (about a wide screen, plus margin).
    pub view_width_px: i32,
    /// Height of each player's area of interest, pixels.
    pub view_height_px: i32,
    /// Orbs scattered over the arena.
    pub orbs: usize,
    /// Folder served at `/` (the built browser demo).
    pub web_root: PathBuf,
    /// Room command queue (joins, inputs, leaves) shared by all sessions of a room.
    /// The room drains it every tick; 8192 holds several ticks of input from thousands of players.
    pub room_queue: usize,
    /// Inputs a player may have waiting in the room. Two ticks' worth absorb jitter; more than
    /// this means the client runs fast or floods, and the oldest are dropped.
    pub max_queued_inputs: usize,
    /// Time a client has to send its `Hello` after the upgrade.
    pub hello_timeout: Duration,
    /// Time a client has to complete the TLS handshake, and then to send its
    /// HTTP request headers (slow clients are dropped).
    pub http_timeout: Duration,
    /// PEM certificate chain and private key: when set, the port speaks HTTPS and WSS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// A client from which nothing has arrived for this long gets no more
    /// deltas until something does (zero: never pause). A client built on the
    /// protocol's session acknowledges at least every ten deltas, so only a
    /// stalled or broken one goes this quiet; sending to it would be encoding
    /// for nobody until the idle timeout drops it.
    pub pause_silent_after: Duration,
    /// Time one write to a client may take before the client counts as stalled and is dropped.
    pub write_timeout: Duration,
    /// WebSocket read buffer per connection. Client messages are at most 256 bytes, so 1 KiB
    /// holds several; tungstenite's default (128 KiB) would dominate memory per player.
    pub ws_read_buffer: usize,
    /// Bytes gathered before a write goes to the socket (we flush once per message anyway).
    pub ws_write_buffer: usize,
    /// Most bytes waiting in a connection's write buffer; a client this far behind is dropped.
    pub ws_max_write_buffer: usize,
    /// Largest WebSocket message accepted before our own (smaller) protocol limit is checked.
    pub ws_max_message: usize,
    /// Nice value asked for the rooms' tick thread (−20 highest … 19 lowest; 0 = unchanged).
    /// A raised priority keeps ticks on time when sessions saturate the CPU; it
    /// needs `CAP_SYS_NICE`, and without it the server runs on at normal priority.
    pub tick_thread_nice: i8,
    /// Added one-way delay per direction, for testing on a poor network (0 = off).
    pub lag: Duration,
    /// Random extra delay, up to this much, per message (order is kept).
    pub jitter: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            tick_rate: DEFAULT_TICK_RATE,
            snapshot_rate: DEFAULT_SNAPSHOT_RATE,
            max_players: 5000,
            max_connections: 10_000,
            max_rooms: 1000,
            empty_room_grace: Duration::from_secs(30),
            resume_window: Duration::from_secs(15),
            token_secret: None,
            allowed_origins: Vec::new(),
            ping_interval: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(20),
            input_rate: 120,
            input_burst: 120,
            abuse_threshold: 600,
            arena_width_px: 4000,
            arena_height_px: 4000,
            view_width_px: 2000,
            view_height_px: 1300,
            orbs: 300,
            tick_thread_nice: -10,
            phase_alignment: PhaseAlignment::Landing,
            pause_silent_after: Duration::from_secs(3),
            web_root: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/web")),
            room_queue: 8192,
            max_queued_inputs: 16,
            hello_timeout: Duration::from_secs(10),
            http_timeout: Duration::from_secs(10),
            tls: None,
            write_timeout: Duration::from_secs(10),
            ws_read_buffer: 1024,
            ws_write_buffer: 16 * 1024,
            ws_max_write_buffer: 256 * 1024,
            ws_max_message: 16 * 1024,
            lag: Duration::ZERO,
            jitter: Duration::ZERO,
        }
    }
}

impl ServerConfig {
    /// Ticks between two snapshots (at least 1).
    pub fn snapshot_interval_ticks(&self) -> u16 {
        (self.tick_rate / self.snapshot_rate.max(1)).max(1)
    }

    /// Duration of one tick.
    pub fn tick_period(&self) -> Duration {
        Duration::from_secs_f64(1.0 / f64::from(self.tick_rate.max(1)))
    }

    /// Arena size in simulation units.
    pub fn arena(&self) -> tickwire_protocol::sim::Arena {
        tickwire_protocol::sim::Arena {
            width: self.arena_width_px * UNITS_PER_PIXEL,
            height: self.arena_height_px * UNITS_PER_PIXEL,
        }
    }

    /// Area of interest (width, height) in simulation units.
    pub fn view_units(&self) -> (i32, i32) {
        (
            self.view_width_px * UNITS_PER_PIXEL,
            self.view_height_px * UNITS_PER_PIXEL,
        )
    }
}

//! Every message on the wire, in both directions.
//!
//! A connection starts with [`ClientMessage::Hello`] and [`ServerMessage::Welcome`].
//! `Hello` is variant 0 and its first field is the protocol version in every
//! version of this protocol, so a server can always read the version of a
//! client it does not otherwise understand and refuse it clearly.
//! All messages are binary WebSocket frames encoded by [`crate::codec`].

use serde::{Deserialize, Serialize};

use crate::entity::EntityId;
use crate::input::InputFrame;

/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u16 = 1;

/// Messages a client sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientMessage {
    /// First message of a connection.
    Hello(Hello),
    /// One or more consecutive inputs, with an acknowledgement.
    Inputs(InputBatch),
    /// Acknowledges the newest delta applied, when no inputs are going out to carry it.
    Ack(Ack),
    /// Round-trip probe; the server answers with [`ServerMessage::Pong`].
    Ping(Ping),
    /// The client's view diverged or lost its baseline: send a full snapshot next.
    Resync(Resync),
}

/// Opens a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Must equal the server's [`PROTOCOL_VERSION`]. Always the first field.
    pub protocol_version: u16,
    /// Display name, at most [`crate::tuning::MAX_NAME_BYTES`] bytes (longer names are cut).
    pub name: String,
    /// Which room to join.
    pub room: RoomRequest,
    /// A signed join token, when the server requires one (see the server's docs for its format).
    pub auth_token: Option<String>,
    /// The token from the last `Welcome`, to take back a player whose connection dropped.
    pub resume: Option<ResumeToken>,
}

/// A room's id.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct RoomId(pub u32);

/// Where a player wants to play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum RoomRequest {
    /// The fullest room with space, or a new room when all are full.
    #[default]
    JoinOrCreate,
    /// This room, or a refusal if it is full or does not exist.
    Join(RoomId),
    /// A new room of one's own.
    Create,
}

/// Lets a client whose connection dropped take back its player within the
/// server's grace window. Valid once: each `Welcome` carries a fresh one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct ResumeToken(pub [u8; 16]);

/// Consecutive inputs `first_seq`, `first_seq + 1`, ... one per simulation tick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputBatch {
    /// Sequence number of `frames[0]`. Sequence numbers start at 1 and rise by one per tick.
    pub first_seq: u32,
    /// Newest snapshot tick the client has applied (0 for none).
    pub ack_tick: u32,
    /// The inputs, oldest first. At most [`MAX_INPUTS_PER_BATCH`].
    pub frames: Vec<InputFrame>,
}

/// Most inputs one [`InputBatch`] may carry.
pub const MAX_INPUTS_PER_BATCH: usize = 8;

/// Acknowledges a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// Newest snapshot tick the client has applied.
    pub tick: u32,
}

/// A round-trip probe, echoed back unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ping {
    /// Any value; the pong carries it back.
    pub nonce: u32,
}

/// Why a client asks for a full snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Resync {
    /// A delta's checksum did not match the view it produced.
    ChecksumMismatch,
    /// A delta named a baseline the client does not hold.
    BaselineMismatch,
    /// A delta could not be applied.
    BadDelta,
}

/// Messages a server sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerMessage {
    /// Accepts a [`Hello`].
    Welcome(Welcome),
    /// The change in the client's view since its baseline.
    Delta(Delta),
    /// Answers a [`Ping`].
    Pong(Ping),
    /// An error, a refusal or a kick; usually followed by a close frame.
    Notice(Notice),
    /// The top players of the room, sent about once a second.
    Leaderboard(Leaderboard),
}

/// The server's answer to a [`Hello`]: who you are and how the room runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The server's protocol version.
    pub protocol_version: u16,
    /// Your player entity.
    pub player: EntityId,
    /// Simulation ticks per second.
    pub tick_rate: u16,
    /// Ticks between two snapshots.
    pub snapshot_interval_ticks: u16,
    /// Arena width, units.
    pub arena_width: i32,
    /// Arena height, units.
    pub arena_height: i32,
    /// Width of the area of interest around you, units.
    pub view_width: i32,
    /// Height of the area of interest around you, units.
    pub view_height: i32,
    /// The room's current tick.
    pub tick: u32,
    /// The room joined.
    pub room: RoomId,
    /// Present this in a `Hello` to take this player back after a dropped connection.
    pub resume_token: ResumeToken,
    /// How long after a drop the resume token stays valid, milliseconds.
    pub resume_window_ms: u32,
    /// Whether this session took back an existing player (score and state kept).
    pub resumed: bool,
}

/// A change of the client's view, against a baseline the client holds.
///
/// The payload is the bit-packed format of [`crate::delta`]: entities leaving,
/// changing (relative to the baseline, positions relative to velocity
/// extrapolation) and entering (in full), plus a checksum of the resulting view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delta {
    /// The tick this delta brings the view to.
    pub tick: u32,
    /// `tick - baseline tick`; 0 means no baseline: a full snapshot against an empty view.
    pub baseline_age: u16,
    /// Sequence number of the last input of yours the server applied (0 for none).
    pub last_input_seq: u32,
    /// Bit-packed entity changes; see [`crate::delta`]. On the wire, a length
    /// and the bytes (read in one piece rather than byte by byte).
    #[serde(with = "serde_bytes")]
    pub payload: Vec<u8>,
}

impl Delta {
    /// The tick of the baseline, or `None` for a full snapshot.
    pub fn baseline_tick(&self) -> Option<u32> {
        (self.baseline_age != 0).then(|| self.tick.wrapping_sub(u32::from(self.baseline_age)))
    }
}

/// A message from the server about the session itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// What happened.
    pub code: NoticeCode,
    /// Words for people.
    pub message: String,
}

/// The reasons the server may give in a [`Notice`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NoticeCode {
    /// The client's protocol version differs from the server's.
    VersionMismatch {
        /// The version the server speaks.
        server_version: u16,
    },
    /// The server or room is full.
    ServerFull,
    /// The client sent something that is not valid protocol.
    Malformed,
    /// The client broke a rule (rate, size, ordering).
    PolicyViolation,
    /// The server is shutting down.
    ShuttingDown,
    /// The room asked for is full.
    RoomFull,
    /// The room asked for does not exist.
    RoomNotFound,
    /// The join token is missing, expired or forged.
    Unauthorized,
    /// The resume token is unknown, used, expired, or not for this player.
    ResumeRejected,
    /// Nothing was heard from the client for too long.
    IdleTimeout,
}

/// The best players of the room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leaderboard {
    /// Highest score first; at most ten entries.
    pub entries: Vec<LeaderboardEntry>,
    /// Players in the room.
    pub players: u32,
}

/// One line of the leaderboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderboardEntry {
    /// The player's entity.
    pub player: EntityId,
    /// The player's name.
    pub name: String,
    /// The player's score.
    pub score: u32,
}

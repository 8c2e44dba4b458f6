//! What a [`super::ClientSession`] reports to its driver.

use thiserror::Error;

use crate::codec::CodecError;
use crate::delta::{DeltaError, DeltaStats};
use crate::message::{Leaderboard, Notice, Welcome};

/// Something the session learned from the server.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    /// The server accepted the `Hello`.
    Welcomed(Welcome),
    /// A delta was applied; the view now shows `tick`.
    Snapshot {
        /// The view's new tick.
        tick: u32,
        /// Entities entering, changing and leaving.
        stats: DeltaStats,
        /// Size of the whole message, bytes.
        bytes: usize,
        /// The last input of ours the server had applied.
        last_input_seq: u32,
        /// Whether this was a full snapshot rather than a delta.
        full: bool,
    },
    /// A delta could not be applied (a desync); a full snapshot was requested.
    Desync(DeltaError),
    /// A round-trip time measurement, milliseconds.
    Rtt(f64),
    /// The room's leaderboard.
    Leaderboard(Leaderboard),
    /// A message from the server: an error, refusal or kick.
    Notice(Notice),
    /// This client could not encode a message it had to send (its config is
    /// out of bounds, e.g. an auth token too long for a `Hello`); the session cannot proceed.
    LocalError(String),
}

/// Why the session cannot go on; the driver should close the connection.
#[derive(Debug, Error)]
pub enum SessionError {
    /// The server sent bytes that are not a valid message.
    #[error("bad message from server: {0}")]
    Codec(#[from] CodecError),
    /// The server sent a valid message at the wrong time.
    #[error("unexpected message from server: {0}")]
    Unexpected(&'static str),
}

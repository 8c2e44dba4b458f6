//! A room: one match, one world, one tick loop.
//!
//! Sessions talk to a room only through its [`RoomHandle`]: commands go in on a
//! bounded channel, snapshots come out on `watch` channels (latest wins), one
//! per phase of sessions, staggered over the ticks (see [`phases`]). The
//! room task alone owns the [`World`].

mod grid;
mod membership;
mod phases;
mod relay;
mod rules;
mod snapshot;
mod tick;
mod world;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use thiserror::Error;
use tickwire_protocol::{EntityId, InputFrame, ResumeToken, RoomId};
use tokio::sync::{mpsc, oneshot, watch};

pub use grid::Grid;
pub use phases::{PhaseReceivers, PhaseSeat};
pub use snapshot::{PlayerInfo, Snapshot, ViewOf};
pub use tick::{TickStats, spawn_room};
pub use world::{EntityKey, World};

use crate::metrics::Metrics;

/// A request from a session to its room.
#[derive(Debug)]
pub enum RoomCommand {
    /// Add a player; the reply says who it is, or why not.
    Join {
        /// Display name, already cleaned and cut to the protocol's limit.
        name: Arc<str>,
        /// Where the answer goes.
        reply: oneshot::Sender<Result<Joined, JoinError>>,
    },
    /// Take back a player whose connection dropped.
    Resume {
        /// The token from the player's last `Welcome`.
        token: ResumeToken,
        /// Where the answer goes.
        reply: oneshot::Sender<Result<Joined, JoinError>>,
    },
    /// Inputs for a player, `first_seq` onward.
    Inputs {
        /// The player.
        key: EntityKey,
        /// The connection's generation (see [`Joined::generation`]).
        generation: u32,
        /// Sequence number of `frames[0]`.
        first_seq: u32,
        /// The inputs, oldest first.
        frames: Vec<InputFrame>,
        /// When the session received them (for the input latency metric).
        received: Instant,
    },
    /// The connection ended on purpose: remove the player now.
    Leave {
        /// The player.
        key: EntityKey,
        /// The connection's generation.
        generation: u32,
    },
    /// The connection dropped: keep the player for the resume window, uncontrolled.
    Detach {
        /// The player.
        key: EntityKey,
        /// The connection's generation.
        generation: u32,
    },
}

/// A player admitted to a room.
#[derive(Debug, Clone, Copy)]
pub struct Joined {
    /// The player's key in the room's world.
    pub key: EntityKey,
    /// The player's wire id.
    pub id: EntityId,
    /// The room's tick at the join.
    pub tick: u32,
    /// Which connection of this player this is (0 for the first, +1 per resume).
    pub generation: u32,
    /// The token for taking the player back after a drop.
    pub resume_token: ResumeToken,
    /// Whether this took back an existing player.
    pub resumed: bool,
}

/// Why a join was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum JoinError {
    /// The room holds its maximum of players.
    #[error("room is full ({0} players)")]
    Full(usize),
    /// The room has closed (empty, or the server is shutting down).
    #[error("room is closed")]
    Closed,
    /// The resume token is unknown, already used, or its player has left.
    #[error("resume token not valid")]
    ResumeRejected,
}

/// How sessions and the lobby reach a room.
#[derive(Debug, Clone)]
pub struct RoomHandle {
    /// The room's id.
    pub id: RoomId,
    /// Most players the room admits.
    pub capacity: usize,
    /// When the room was created.
    pub created: Instant,
    /// Commands into the room.
    pub commands: mpsc::Sender<RoomCommand>,
    /// The latest snapshot of each phase of sessions; [`PhaseReceivers::subscribe`]
    /// deals a new session into one.
    pub snapshots: PhaseReceivers,
    /// The latest tick timing figures.
    pub stats: watch::Receiver<TickStats>,
    occupancy: Arc<AtomicUsize>,
}

impl RoomHandle {
    /// Players in the room, connected or waiting to be resumed (as of the last tick).
    pub fn occupancy(&self) -> usize {
        self.occupancy.load(Ordering::Relaxed)
    }

    /// Whether the room's task has ended.
    pub fn is_closed(&self) -> bool {
        self.commands.is_closed()
    }

    /// Asks the room to admit a new player.
    pub async fn join(&self, name: Arc<str>) -> Result<Joined, JoinError> {
        let (reply, answer) = oneshot::channel();
        self.request(RoomCommand::Join { name, reply }, answer)
            .await
    }

    /// Asks the room to hand back the player `token` belongs to.
    pub async fn resume(&self, token: ResumeToken) -> Result<Joined, JoinError> {
        let (reply, answer) = oneshot::channel();
        self.request(RoomCommand::Resume { token, reply }, answer)
            .await
    }

    async fn request(
        &self,
        cmd: RoomCommand,
        answer: oneshot::Receiver<Result<Joined, JoinError>>,
    ) -> Result<Joined, JoinError> {
        self.commands
            .send(cmd)
            .await
            .map_err(|_| JoinError::Closed)?;
        answer.await.unwrap_or(Err(JoinError::Closed))
    }
}

/// Hands its player back to the room when dropped: on a clean exit, an error
/// or a panic in the session task alike, so no entity is ever orphaned. By
/// default the player is detached (kept for the resume window); call
/// [`PlayerGuard::leave_on_drop`] when the player left on purpose.
#[derive(Debug)]
pub struct PlayerGuard {
    commands: mpsc::Sender<RoomCommand>,
    key: EntityKey,
    generation: u32,
    leave: bool,
    metrics: Arc<Metrics>,
}

impl PlayerGuard {
    /// A guard for a joined player; counts the player as connected.
    pub fn new(
        commands: mpsc::Sender<RoomCommand>,
        joined: &Joined,
        metrics: Arc<Metrics>,
    ) -> Self {
        metrics.players.inc();
        Self {
            commands,
            key: joined.key,
            generation: joined.generation,
            leave: false,
            metrics,
        }
    }

    /// Removes the player at once when dropped, instead of keeping it for a resume.
    pub fn leave_on_drop(&mut self) {
        self.leave = true;
    }
}

impl Drop for PlayerGuard {
    fn drop(&mut self) {
        self.metrics.players.dec();
        let (key, generation) = (self.key, self.generation);
        let cmd = if self.leave {
            RoomCommand::Leave { key, generation }
        } else {
            RoomCommand::Detach { key, generation }
        };
        if let Err(mpsc::error::TrySendError::Full(cmd)) = self.commands.try_send(cmd) {
            // The queue is momentarily full: hand the command to a task that waits for room.
            let commands = self.commands.clone();
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    let _ = commands.send(cmd).await;
                });
            }
        }
    }
}
